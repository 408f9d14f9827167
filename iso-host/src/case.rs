//! Test cases, as `cargo iso test` runs them: calls made in order on a
//! fresh instance of an app, each with the result it should come to, in
//! a world under control (a [`FixedWorld`]: a clock that stands still
//! until a call advances it, random numbers from a seed), from a given
//! state and kv, with the kv expected after. A call may also carry the
//! exact effects it should see (clock, random and kv reads, and the
//! answers of the apps it calls), as a session recorded in `cargo iso dev`
//! does: then it sees those, whatever the world says.
//!
//! A case is read from TOML by the caller (its fields are `serde`'s); this
//! module runs it. A trap, panic or exceeded budget is a call's outcome
//! like any other (`error: panic: ...`), and the calls after it go on
//! from the last good state.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};

use crate::app::App;
use crate::budget::{Budget, Fuel, MemorySize, Timeout};
use crate::error::HostError;
use crate::host::{Effect, FixedWorld, KvStore, LogRecord, LogSink, NestedCall, Shared};
use crate::instance::Instance;
use crate::session::{Outcome, effects, successor};

/// One test case.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Case {
    /// The world, the state and the kv before the first call.
    #[serde(default, skip_serializing_if = "Setup::is_empty")]
    pub setup: Setup,
    /// The calls, in order (`[[call]]` in TOML).
    #[serde(default, rename = "call")]
    pub calls: Vec<CaseCall>,
    /// Every kv entry expected after the last call, when checked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kv_after: Option<BTreeMap<String, KvValue>>,
    /// Answers that stand in for other apps (`[[fake]]` in TOML): calls
    /// to an app that a fake names never reach it.
    #[serde(default, rename = "fake", skip_serializing_if = "Vec::is_empty")]
    pub fakes: Vec<Fake>,
}

/// An answer standing in for another app: when the app under test calls
/// `app` with `call`, it gets `returns` (or fails with `error`). Each fake
/// answers once; list a call twice to answer it twice.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Fake {
    /// The app it stands in for, as the import is wired (e.g. `store`).
    pub app: String,
    /// The call it answers, in WAVE: the function's name and arguments,
    /// e.g. `visit("ada")`.
    pub call: String,
    /// What it returns, in WAVE; nothing for a function without a result.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub returns: Option<String>,
    /// How it fails instead: the caller gets this error.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl Fake {
    /// The call it answers, as the effect layer matches calls.
    fn nested(&self) -> Result<NestedCall, HostError> {
        let open = self.call.find('(');
        let (Some(open), true) = (open, self.call.trim_end().ends_with(')')) else {
            return Err(invalid(format!(
                "fake `{}`: write the call as a function and its arguments, e.g. visit(\"ada\")",
                self.call
            )));
        };
        let close = self.call.trim_end().len() - 1;
        Ok(NestedCall {
            address: self.app.clone(),
            function: self.call[..open].trim().to_owned(),
            args: self.call[open + 1..close].trim().to_owned(),
            result: match &self.error {
                Some(error) => Err(error.clone()),
                None => Ok(self.returns.clone()),
            },
        })
    }
}

/// What a case starts from.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Setup {
    /// The wall clock at the first call, as RFC 3339 (e.g.
    /// `2026-01-01T00:00:00Z`); it stands still until a call advances
    /// it. Default: 2000-01-01T00:00:00Z.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clock: Option<String>,
    /// The seed of the guest's random numbers. Default: 0.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub random_seed: Option<u64>,
    /// The app's state before the first call, in hex, as `cargo iso dev`'s
    /// `:save` writes it. Default: the app's default state.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
    /// The kv entries before the first call.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub kv: BTreeMap<String, KvValue>,
    /// Fuel per call, over the app's budget.
    #[serde(default, skip_serializing)]
    pub fuel: Option<Fuel>,
    /// Memory cap, over the app's budget, e.g. `"16MiB"`.
    #[serde(default, skip_serializing)]
    pub memory: Option<MemorySize>,
    /// Time per call, over the app's budget, e.g. `"100ms"`.
    #[serde(default, skip_serializing)]
    pub timeout: Option<Timeout>,
}

impl Setup {
    fn is_empty(&self) -> bool {
        *self == Setup::default()
    }
}

/// One call of a case.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct CaseCall {
    /// The call in WAVE, e.g. `increment(5)`.
    pub call: String,
    /// How long the clocks move on before the call, e.g. `"5s"`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub advance: Option<String>,
    /// What it should come to, in WAVE (`5`, `some("a")`; `()` for
    /// nothing), or `error: ...` for a failure. Without it, the call must
    /// not fail.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expect: Option<String>,
    /// The exact effects it sees, in order (from a recorded session), each
    /// as a line of JSON (TOML integers stop short of a `u64`).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "effects_as_json"
    )]
    pub effects: Option<Vec<Effect>>,
}

/// A kv value: text, bytes, or a typed value in WAVE.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum KvValue {
    /// UTF-8 text.
    Text(String),
    /// Any bytes.
    Bytes(Vec<u8>),
    /// A value of a schema type, as `kv::set_as` stores it, written
    /// `{ wave = "7", type = "u32" }` (see [`crate::wave_value`]).
    Typed {
        /// The value in WAVE.
        wave: String,
        /// Its type in the schema's text form, e.g. `u32` or
        /// `record todo { title: string }`.
        #[serde(rename = "type")]
        ty: String,
    },
}

impl KvValue {
    /// Its bytes; for a typed value, its encoding, or why it has none.
    pub fn bytes(&self) -> Result<Vec<u8>, String> {
        match self {
            KvValue::Text(text) => Ok(text.as_bytes().to_vec()),
            KvValue::Bytes(bytes) => Ok(bytes.clone()),
            KvValue::Typed { wave, ty } => {
                let ty = iso_schema::Type::parse(ty)
                    .map_err(|err| format!("type `{ty}` does not read: {err}"))?;
                let value = crate::wave_value::parse(wave, &ty)
                    .map_err(|err| format!("`{wave}` is no value of the type: {err}"))?;
                Ok(value.encode())
            }
        }
    }

    /// `bytes` as text when they are printable UTF-8.
    pub fn from_bytes(bytes: &[u8]) -> KvValue {
        match std::str::from_utf8(bytes) {
            Ok(text) if !text.chars().any(char::is_control) => KvValue::Text(text.to_owned()),
            _ => KvValue::Bytes(bytes.to_vec()),
        }
    }
}

impl std::fmt::Display for KvValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let bytes = match self {
            KvValue::Text(text) => return write!(f, "{text:?}"),
            KvValue::Typed { wave, ty } => return write!(f, "{wave} (type {ty})"),
            KvValue::Bytes(bytes) => bytes,
        };
        match bytes.len() {
            0..=32 => write!(f, "{bytes:?}"),
            len => write!(f, "{:?}... ({len} bytes)", &bytes[..32]),
        }?;
        // What `kv::set_as` stored, read through the schema it carries.
        match iso_schema::Value::decode(bytes) {
            Ok(value) => write!(f, " (typed: {})", value.to_json()),
            Err(_) => Ok(()),
        }
    }
}

/// What a case came to.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CaseReport {
    /// Each call's outcome as [`Outcome`] shows it (`5`, `error: panic:
    /// ...`), in order.
    pub outcomes: Vec<String>,
    /// Where it differed from the case; none when it passed.
    pub failures: Vec<CaseFailure>,
    /// What the guest logged, one line each.
    pub logs: Vec<String>,
}

/// One way a case failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CaseFailure {
    /// A call came to another outcome than the case expects.
    Call {
        /// Its number in the case, from 1.
        number: usize,
        /// The call.
        call: String,
        /// What the case expects (`a success` when it names nothing).
        expected: String,
        /// What it came to.
        actual: String,
    },
    /// A kv entry after the last call differed (`None`: absent).
    Kv {
        /// The key.
        key: String,
        /// What the case expects.
        expected: Option<KvValue>,
        /// What the app left.
        actual: Option<KvValue>,
    },
}

impl std::fmt::Display for CaseFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let show = |value: &Option<KvValue>| {
            value
                .as_ref()
                .map_or_else(|| "(none)".to_owned(), ToString::to_string)
        };
        match self {
            CaseFailure::Call {
                number,
                call,
                expected,
                actual,
            } => write!(
                f,
                "call {number}: {call}\n  expected: {expected}\n  actual:   {actual}"
            ),
            CaseFailure::Kv {
                key,
                expected,
                actual,
            } => write!(
                f,
                "kv after the last call, key {key:?}\n  expected: {}\n  actual:   {}",
                show(expected),
                show(actual)
            ),
        }
    }
}

impl Case {
    /// Runs the case on a fresh instance of `app`, under `budget` with the
    /// case's limits over it. A setup that cannot be made (a clock that is
    /// not a time, a state that is not hex or that the app refuses) is an
    /// error naming the field.
    pub fn run(&self, app: Arc<App>, budget: Budget) -> Result<CaseReport, HostError> {
        let Fresh {
            mut instance,
            shared,
            logs,
        } = self.fresh(app, budget)?;
        let mut report = CaseReport::default();
        for (number, step) in (1..).zip(&self.calls) {
            step.prepare(&shared)?;
            let actual = Outcome::of(&instance.call_wave(&step.call)).to_string();
            if let Some(failure) = step.check(number, &actual) {
                report.failures.push(failure);
            }
            report.outcomes.push(actual);
        }
        if let Some(expected) = &self.kv_after {
            let bytes = kv_bytes(expected, "kv-after")?;
            let kv = crate::host::lock(&shared.kv);
            report
                .failures
                .extend(kv_differences(expected, &bytes, kv.entries()));
        }
        report.logs = logs.take();
        Ok(report)
    }

    /// A fresh instance of `app` in the world, kv, fakes and state of the
    /// case's setup, under `budget` with the setup's limits over it.
    pub(crate) fn fresh(&self, app: Arc<App>, budget: Budget) -> Result<Fresh, HostError> {
        let world = self.setup.world()?;
        let logs = Arc::new(Captured::default());
        let mut shared = Shared::new(logs.clone());
        let entries = kv_bytes(&self.setup.kv, "setup.kv")?;
        shared.kv = Arc::new(Mutex::new(KvStore::with_entries(entries)));
        let fakes = self
            .fakes
            .iter()
            .map(Fake::nested)
            .collect::<Result<_, _>>()?;
        {
            let mut effects = effects(&shared);
            effects.set_world(Some(world));
            effects.set_fakes(fakes);
        }
        let state = self.setup.state_bytes()?;
        let (instance, _) = successor(self.setup.budget_over(budget), shared.clone(), app, state)?;
        Ok(Fresh {
            instance,
            shared,
            logs,
        })
    }
}

/// An instance made for a case, with what it shares with the host and its log.
pub(crate) struct Fresh {
    pub(crate) instance: Instance,
    pub(crate) shared: Shared,
    pub(crate) logs: Arc<Captured>,
}

impl Setup {
    fn world(&self) -> Result<FixedWorld, HostError> {
        let wall = match &self.clock {
            Some(text) => humantime::parse_rfc3339_weak(text).map_err(|err| invalid(format!(
                "setup.clock `{text}` is not a time ({err}): write one such as 2026-01-01T00:00:00Z"
            )))?,
            None => SystemTime::UNIX_EPOCH + Duration::from_secs(946_684_800),
        };
        Ok(FixedWorld::new(wall, self.random_seed.unwrap_or(0)))
    }

    fn state_bytes(&self) -> Result<Option<Vec<u8>>, HostError> {
        let Some(hex) = &self.state else {
            return Ok(None);
        };
        let digits: Vec<u8> = hex.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
        let bad = || {
            invalid("setup.state is not hex: write the state's bytes as pairs of hex digits, as `:save` does".into())
        };
        if !digits.len().is_multiple_of(2) {
            return Err(bad());
        }
        (digits.chunks(2))
            .map(|pair| {
                let text = std::str::from_utf8(pair).map_err(|_| bad())?;
                u8::from_str_radix(text, 16).map_err(|_| bad())
            })
            .collect::<Result<Vec<u8>, HostError>>()
            .map(Some)
    }

    fn budget_over(&self, budget: Budget) -> Budget {
        budget.overridden_by(Budget {
            fuel: self.fuel,
            memory: self.memory,
            timeout: self.timeout,
            storage: None,
        })
    }
}

impl CaseCall {
    /// Moves the clocks on and sets the effects the call sees.
    fn prepare(&self, shared: &Shared) -> Result<(), HostError> {
        let mut effects = effects(shared);
        if let Some(text) = &self.advance {
            let by = humantime::parse_duration(text).map_err(|err| {
                invalid(format!(
                    "call `{}`: advance `{text}` is not a duration ({err}): write one such as 5s or 250ms",
                    self.call
                ))
            })?;
            if let Some(world) = effects.world_mut() {
                world.advance(by);
            }
        }
        match &self.effects {
            Some(seen) => effects.replay(seen.clone()),
            None => effects.stop_replay(),
        }
        Ok(())
    }

    /// How the call's outcome `actual` fails the case, if it does.
    fn check(&self, number: usize, actual: &str) -> Option<CaseFailure> {
        let passed = match &self.expect {
            Some(expected) => same_wave(expected, actual),
            None => !actual.starts_with("error: "),
        };
        (!passed).then(|| CaseFailure::Call {
            number,
            call: self.call.clone(),
            expected: self.expect.clone().unwrap_or_else(|| "a success".into()),
            actual: actual.to_owned(),
        })
    }
}

/// Whether two WAVE texts are the same but for spaces outside quotes.
fn same_wave(expected: &str, actual: &str) -> bool {
    fn squeezed(text: &str) -> String {
        let (mut out, mut quote, mut escaped) = (String::new(), None, false);
        for c in text.trim().chars() {
            match quote {
                Some(_) if escaped => escaped = false,
                Some(_) if c == '\\' => escaped = true,
                Some(open) if c == open => quote = None,
                Some(_) => {}
                None if c == '"' || c == '\'' => quote = Some(c),
                None if c.is_whitespace() => continue,
                None => {}
            }
            out.push(c);
        }
        out
    }
    expected == actual || squeezed(expected) == squeezed(actual)
}

/// The bytes of each kv value of `entries` (of the case's `table`); a
/// typed value that does not read is a bad case.
fn kv_bytes(
    entries: &BTreeMap<String, KvValue>,
    table: &str,
) -> Result<BTreeMap<String, Vec<u8>>, HostError> {
    (entries.iter())
        .map(|(key, value)| match value.bytes() {
            Ok(bytes) => Ok((key.clone(), bytes)),
            Err(err) => Err(invalid(format!("{table} `{key}`: {err}"))),
        })
        .collect()
}

/// The entries where `actual` differs from `expected` (whose bytes are
/// `expected_bytes`), by key.
fn kv_differences(
    expected: &BTreeMap<String, KvValue>,
    expected_bytes: &BTreeMap<String, Vec<u8>>,
    actual: &BTreeMap<String, Vec<u8>>,
) -> Vec<CaseFailure> {
    let keys: std::collections::BTreeSet<&String> = expected.keys().chain(actual.keys()).collect();
    keys.into_iter()
        .filter_map(|key| {
            let want = expected.get(key);
            let have = actual.get(key);
            (expected_bytes.get(key) != have).then(|| CaseFailure::Kv {
                key: key.clone(),
                expected: want.cloned(),
                actual: have.map(|bytes| KvValue::from_bytes(bytes)),
            })
        })
        .collect()
}

/// [`CaseCall::effects`] as JSON text, one effect per string.
mod effects_as_json {
    use serde::{Deserialize, Deserializer, Serialize, Serializer, de};

    use crate::host::Effect;

    pub(super) fn serialize<S: Serializer>(
        effects: &Option<Vec<Effect>>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        let lines: Option<Vec<String>> = effects.as_ref().map(|effects| {
            (effects.iter())
                .map(|effect| serde_json::to_string(effect).unwrap_or_default())
                .collect()
        });
        lines.serialize(serializer)
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Option<Vec<Effect>>, D::Error> {
        let Some(lines) = Option::<Vec<String>>::deserialize(deserializer)? else {
            return Ok(None);
        };
        (lines.iter())
            .map(|line| {
                serde_json::from_str(line).map_err(|err| {
                    de::Error::custom(format!(
                        "effect `{line}` does not read ({err}): write one such as {{\"WallNow\":1767225600000000000}}"
                    ))
                })
            })
            .collect::<Result<_, _>>()
            .map(Some)
    }
}

fn invalid(reason: String) -> HostError {
    HostError::BadTestCase { reason }
}

/// The guest's log lines, kept for the report.
#[derive(Default)]
pub(crate) struct Captured {
    lines: Mutex<Vec<String>>,
}

impl Captured {
    /// The lines logged so far, one each (`info: message key=value`).
    pub(crate) fn take(&self) -> Vec<String> {
        std::mem::take(&mut *crate::host::lock(&self.lines))
    }
}

impl LogSink for Captured {
    fn log(&self, record: &LogRecord) {
        let fields: String = (record.fields.iter())
            .map(|(key, value)| format!(" {key}={value}"))
            .collect();
        let line = format!("{}: {}{fields}", record.level, record.message);
        crate::host::lock(&self.lines).push(line);
    }
}

#[cfg(test)]
mod tests {
    use super::same_wave;

    #[test]
    fn wave_texts_compare_but_for_spaces_outside_quotes() {
        assert!(same_wave("some( 2 )", "some(2)"));
        assert!(same_wave("[1, 2]", "[1,2]"));
        assert!(!same_wave("\"a b\"", "\"ab\""));
        assert!(!same_wave("2", "4"));
    }
}
