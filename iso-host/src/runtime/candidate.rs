//! A candidate version beside the primary behind one address: a shadow,
//! or a canary.
//!
//! A **canary** answers a share of the calls for real, chosen by their
//! first argument, so that one user (one key) always meets one version.
//! It starts from a copy of the primary's state, and shares its kv.
//!
//! A **shadow** answers nothing. The primary answers every call; once it
//! has, the same call goes to the candidate's mailbox, so the caller never
//! waits for the candidate. The candidate runs from its own state (a copy
//! of the primary's when it started), sees the clock, random and kv reads
//! and the calls to other apps that the primary saw (answered from the
//! primary's recording of that call, so nothing of the world is asked
//! twice), and writes kv to an overlay of its own: nothing it does reaches
//! the primary, the database or another app. Each call whose outcomes
//! differ is kept as a [`ShadowDivergence`]; a trap or exceeded budget of
//! the candidate is one such divergence, never a failure of the call.
//!
//! Calls through [`Runtime::call`](crate::runtime::Runtime::call),
//! [`Runtime::call_wave`](crate::runtime::Runtime::call_wave), a
//! [`Session`](crate::Session) and other apps' wired imports are mirrored
//! to a shadow, and go to a canary when it takes their key; calls through
//! typed handles are answered by the primary alone.

use std::collections::VecDeque;
use std::hash::Hasher;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use wasmtime::component::{Val, wasm_wave};

use crate::error::HostError;
use crate::event_log::{Entry, EventLog};
use crate::host::{Effect, Shared, lock};
use crate::instance::{CallOutput, Instance};
use crate::runtime::actor::Actor;
use crate::runtime::supervise::Supervised;
use crate::session::{Outcome, effects};

/// The most divergences a shadow keeps; older ones are dropped (and counted).
const KEPT: usize = 1024;

/// A call that can be made again, on another version.
#[derive(Clone)]
pub(crate) enum Request {
    /// WAVE text, e.g. `get("a")`.
    Wave(String),
    /// An export by name, with its arguments.
    Vals {
        /// The export.
        name: String,
        /// The arguments.
        args: Vec<Val>,
    },
}

impl Request {
    /// Makes the call on `instance`.
    pub(crate) fn run(&self, instance: &mut Instance) -> Result<CallOutput, HostError> {
        match self {
            Request::Wave(text) => instance.call_wave(text),
            Request::Vals { name, args } => instance.call(name, args),
        }
    }

    /// The hash of the text of its first argument, which picks a canary's
    /// calls: the same for `get("a")` as WAVE text and as `Val`s. The
    /// text is written into the hasher, never allocated.
    fn key_hash(&self) -> u64 {
        let mut hasher = HashWriter(std::hash::DefaultHasher::new());
        match self {
            Request::Wave(text) => hasher.0.write(first_argument(text).as_bytes()),
            Request::Vals { args, .. } => {
                if let Some(arg) = args.first() {
                    let _ = wasm_wave::writer::Writer::new(&mut hasher).write_value(arg);
                }
            }
        }
        hasher.0.finish()
    }

    /// The call as WAVE text.
    pub(crate) fn text(&self) -> String {
        match self {
            Request::Wave(text) => text.clone(),
            Request::Vals { name, args } => {
                let args: Vec<String> = args.iter().map(crate::instance::wave).collect();
                format!("{name}({})", args.join(", "))
            }
        }
    }
}

/// Text written straight into a hasher.
struct HashWriter(std::hash::DefaultHasher);

impl std::fmt::Write for HashWriter {
    fn write_str(&mut self, text: &str) -> std::fmt::Result {
        self.0.write(text.as_bytes());
        Ok(())
    }
}

/// A call on which the candidate's outcome differed from the primary's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShadowDivergence {
    /// The call's number among those mirrored since the candidate started, from 1.
    pub call: u64,
    /// The primary's call in the event log, when the runtime has one: for
    /// `cargo iso log show` and `cargo iso replay`.
    pub id: Option<u64>,
    /// The call, as WAVE text.
    pub request: String,
    /// What the primary's call came to (what the caller got).
    pub primary: Outcome,
    /// What the candidate's came to.
    pub candidate: Outcome,
    /// The first effect on which they parted, if they did before the
    /// outcome: e.g. `effect 2: primary kv.get("b") -> none, candidate none`.
    pub first_effect: Option<String>,
}

/// What a candidate has seen so far.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CandidateReport {
    /// The candidate's version number (the primary's plus one).
    pub version: u32,
    /// For a canary, the percentage of keys it answers; `None` for a shadow.
    pub canary: Option<u8>,
    /// Calls mirrored to a shadow, or answered by a canary, so far.
    pub calls: u64,
    /// Calls on which the candidate diverged, all of them, even those no
    /// longer kept.
    pub diverged: u64,
    /// The latest divergences, oldest first (at most 1,024).
    pub divergences: Vec<ShadowDivergence>,
}

/// A candidate beside the primary at one address.
pub(crate) struct Candidate {
    actor: Actor,
    /// The candidate's component, to promote it.
    pub(crate) bytes: Arc<[u8]>,
    pub(crate) version: u32,
    /// A canary's share of the keys, in percent; `None` for a shadow.
    canary: Option<u8>,
    /// Calls mirrored to it (a shadow) or answered by it (a canary).
    calls: AtomicU64,
    seen: Arc<Mutex<Seen>>,
}

#[derive(Default)]
struct Seen {
    diverged: u64,
    kept: VecDeque<ShadowDivergence>,
}

impl Candidate {
    /// A candidate run by `actor`, from the component `bytes`; a canary
    /// of `canary` percent, or a shadow.
    pub(crate) fn new(actor: Actor, bytes: &[u8], version: u32, canary: Option<u8>) -> Candidate {
        Candidate {
            actor,
            bytes: bytes.into(),
            version,
            canary,
            calls: AtomicU64::new(0),
            seen: Arc::default(),
        }
    }

    /// Where `request` goes: to the canary's actor when `this` is a canary
    /// that takes the request's key (`None`: to the primary), and to
    /// `this` to mirror to, when it is a shadow.
    pub(crate) fn route(this: Option<Arc<Candidate>>, request: &Request) -> Route {
        match this {
            Some(canary) if canary.canary.is_some() => {
                let takes = canary.takes(request);
                if takes {
                    canary.calls.fetch_add(1, Ordering::Relaxed);
                }
                Route {
                    canary: takes.then(|| (canary.actor.clone(), canary.version)),
                    shadow: None,
                }
            }
            shadow => Route {
                canary: None,
                shadow,
            },
        }
    }

    /// Whether this canary answers calls with `request`'s key.
    fn takes(&self, request: &Request) -> bool {
        let percent = self.canary.unwrap_or(0);
        request.key_hash() % 100 < u64::from(percent)
    }

    /// Hands the candidate the call the primary made, the primary's
    /// result and the effects it saw; does not wait for the candidate,
    /// which also turns the results into comparable text, off the
    /// primary's path.
    fn mirror(
        &self,
        request: Request,
        primary: Result<CallOutput, HostError>,
        effects_seen: Vec<Effect>,
        id: Option<u64>,
    ) {
        let call = self.calls.fetch_add(1, Ordering::Relaxed) + 1;
        let seen = self.seen.clone();
        // The answer is dropped unawaited: the job runs all the same.
        drop(self.actor.ask(move |supervised: &mut Supervised| {
            let shared = supervised.instance.shared().clone();
            let (candidate, own) = rerun(&shared, effects_seen.clone(), || {
                supervised.call(|instance| request.run(instance))
            });
            let primary = Outcome::of(&primary);
            if candidate != primary {
                lock(&seen).keep(ShadowDivergence {
                    call,
                    id,
                    request: request.text(),
                    first_effect: first_difference(&effects_seen, &own),
                    primary,
                    candidate,
                });
            }
        }));
    }

    /// Waits until the candidate has run every call mirrored so far, then
    /// runs `f` on it.
    pub(crate) fn settled<R: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Instance) -> R + Send + 'static,
    ) -> Result<R, HostError> {
        self.actor
            .ask_blocking(move |supervised| f(&mut supervised.instance))
    }

    /// What it has seen so far, once the calls sent to it until now have run.
    pub(crate) fn report(&self) -> Result<CandidateReport, HostError> {
        self.settled(|_| ())?;
        let seen = lock(&self.seen);
        Ok(CandidateReport {
            version: self.version,
            canary: self.canary,
            calls: self.calls.load(Ordering::Relaxed),
            diverged: seen.diverged,
            divergences: seen.kept.iter().cloned().collect(),
        })
    }
}

impl Seen {
    fn keep(&mut self, divergence: ShadowDivergence) {
        self.diverged += 1;
        if self.kept.len() == KEPT {
            self.kept.pop_front();
        }
        self.kept.push_back(divergence);
    }
}

/// Where a call goes (see [`Candidate::route`]).
pub(crate) struct Route {
    /// The canary that answers it, and its version; `None`: the primary does.
    pub(crate) canary: Option<(Actor, u32)>,
    /// The shadow to mirror it to once answered.
    pub(crate) shadow: Option<Arc<Candidate>>,
}

/// Where a call is logged: the log, and the address and version called.
pub(crate) struct Logging {
    pub(crate) events: Arc<EventLog>,
    pub(crate) address: String,
    pub(crate) version: u32,
}

/// Makes `request` on `supervised`; once the caller has the answer, logs
/// it when `log` is given, and mirrors it to `shadow` when given (with
/// the id the log gave it).
pub(crate) fn serve(
    supervised: &mut Supervised,
    request: Request,
    shadow: Option<Arc<Candidate>>,
    log: Option<Logging>,
) -> Result<CallOutput, HostError> {
    if shadow.is_none() && log.is_none() {
        return supervised.call(|instance| request.run(instance));
    }
    let time = std::time::SystemTime::now();
    let state = match log {
        Some(_) => supervised.instance.state_before_call().ok().flatten(),
        None => None,
    };
    let shared = supervised.instance.shared().clone();
    let mark = effects(&shared).mark();
    let result = supervised.call(|instance| request.run(instance));
    let seen = effects(&shared).since(mark);
    let entry = log.map(|log| {
        let entry = Entry {
            time,
            address: log.address,
            version: log.version,
            request: request.clone(),
            result: result.clone(),
            effects: seen.clone(),
            state,
        };
        (log.events, entry)
    });
    let primary = shadow.is_some().then(|| result.clone());
    // Once the caller has its answer: logging, and waking the candidate's
    // worker, would otherwise come first.
    supervised.after_answer(move || {
        let id = entry.map(|(events, entry)| events.append(entry));
        if let (Some(shadow), Some(primary)) = (shadow, primary) {
            shadow.mirror(request, primary, seen, id);
        }
    });
    result
}

/// Makes another app's wired call on `supervised`, the provider's primary,
/// and mirrors it to `shadow` if given, as [`serve`] does. What `serve`
/// leaves for after the answer runs at once: the caller's worker makes
/// the call, and the provider's may not run again soon.
pub(crate) fn serve_wired(
    supervised: &mut Supervised,
    request: Request,
    shadow: Option<Arc<Candidate>>,
) -> Result<CallOutput, HostError> {
    let result = serve(supervised, request, shadow, None);
    supervised.run_after_answer();
    result
}

/// The first argument of a WAVE call such as `get("a", 3)`: up to the
/// first comma or closing parenthesis outside quotes and brackets.
fn first_argument(call: &str) -> &str {
    let Some(open) = call.find('(') else {
        return "";
    };
    let args = &call[open + 1..];
    let (mut depth, mut quote, mut escaped) = (0usize, None, false);
    for (at, c) in args.char_indices() {
        match (quote, c) {
            _ if escaped => escaped = false,
            (Some(_), '\\') => escaped = true,
            (Some(open), c) if c == open => quote = None,
            (Some(_), _) => {}
            (None, '"' | '\'') => quote = Some(c),
            (None, '(' | '[' | '{') => depth += 1,
            (None, ')' | ']' | '}' | ',') if depth == 0 => return args[..at].trim(),
            (None, ')' | ']' | '}') => depth -= 1,
            _ => {}
        }
    }
    args.trim()
}

/// Makes a call again with `run`, its clock, random and kv reads and its
/// calls to other apps answered from `effects_seen` (another run's); what
/// it came to, and the effects it saw.
pub(crate) fn rerun(
    shared: &Shared,
    effects_seen: Vec<Effect>,
    run: impl FnOnce() -> Result<CallOutput, HostError>,
) -> (Outcome, Vec<Effect>) {
    {
        let mut effects = effects(shared);
        effects.record();
        effects.replay(effects_seen);
    }
    let outcome = Outcome::of(&run());
    (outcome, effects(shared).take_recorded())
}

/// Where two runs' effects first differ, described; `None` when one's are
/// the other's.
pub(crate) fn first_difference(primary: &[Effect], candidate: &[Effect]) -> Option<String> {
    first_difference_of(("primary", primary), ("candidate", candidate))
}

/// Where two named runs' effects first differ, described.
pub(crate) fn first_difference_of(
    (one, primary): (&str, &[Effect]),
    (other, candidate): (&str, &[Effect]),
) -> Option<String> {
    let at =
        (0..primary.len().max(candidate.len())).find(|&i| primary.get(i) != candidate.get(i))?;
    let show =
        |effect: Option<&Effect>| effect.map_or_else(|| "none".to_owned(), Effect::to_string);
    Some(format!(
        "effect {}: {one} {}, {other} {}",
        at + 1,
        show(primary.get(at)),
        show(candidate.get(at))
    ))
}

#[cfg(test)]
mod tests {
    use super::first_argument;

    #[test]
    fn a_key_hashes_alike_as_wave_text_and_as_vals() {
        use super::Request;
        use wasmtime::component::Val;
        let wave = Request::Wave(r#"get("a\"b", 3)"#.into());
        let vals = Request::Vals {
            name: "get".into(),
            args: vec![Val::String("a\"b".into()), Val::U32(3)],
        };
        assert_eq!(wave.key_hash(), vals.key_hash());
        let other = Request::Wave(r#"get("b", 3)"#.into());
        assert_ne!(wave.key_hash(), other.key_hash());
    }

    #[test]
    fn the_first_argument_is_found_past_quotes_and_brackets() {
        assert_eq!(first_argument(r#"get("a", 3)"#), r#""a""#);
        assert_eq!(first_argument(r#"get( "a,)\"" , 3)"#), r#""a,)\"""#);
        assert_eq!(first_argument("put([1, 2], 3)"), "[1, 2]");
        assert_eq!(first_argument("put({a: 1, b: 2})"), "{a: 1, b: 2}");
        assert_eq!(first_argument("get('\"', 1)"), "'\"'");
        assert_eq!(first_argument("get()"), "");
        assert_eq!(first_argument("nope"), "");
    }
}
