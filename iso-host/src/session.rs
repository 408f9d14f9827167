//! A live session on the apps of a [`Runtime`], as the dev host runs it:
//! every call goes through the runtime (its actor, supervision and
//! budget, as any call) and is recorded with the state before it and the
//! effects it saw; the running version can be swapped for a new one that
//! keeps the state, behind the same address; and the recorded calls can
//! be replayed on another version to find where it behaves differently
//! (shadow testing).

use std::sync::{Arc, MutexGuard};
use std::time::Duration;

use crate::app::App;
use crate::budget::Budget;
use crate::error::HostError;
use crate::host::{Effect, Effects, NestedCall, NoLog, Shared, lock};
use crate::instance::{CallOutput, Instance};
use crate::runtime::{Request, Runtime, block_on};

/// Apps running in a runtime, and the calls made to them.
pub struct Session {
    runtime: Runtime,
    addresses: Vec<String>,
    history: Vec<CallRecord>,
}

/// One call of the session, as it happened.
#[derive(Debug, Clone)]
pub struct CallRecord {
    /// The app called.
    pub address: String,
    /// The call, e.g. `increment(5)`.
    pub call: String,
    /// What it returned, or how it failed.
    pub outcome: Outcome,
    /// The clock, random and kv reads it saw, in order.
    pub effects: Vec<Effect>,
    /// The guest's state just before the call, when it has state.
    state_before: Option<Vec<u8>>,
}

impl CallRecord {
    /// The guest's state just before the call, when it has state.
    pub fn state_before(&self) -> Option<&[u8]> {
        self.state_before.as_deref()
    }

    /// The calls it made to other apps, in order.
    pub fn nested_calls(&self) -> impl Iterator<Item = &NestedCall> {
        self.effects.iter().filter_map(|effect| match effect {
            Effect::Call(call) => Some(call),
            _ => None,
        })
    }
}

/// What a call came to, in a form that compares across versions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Its results, as WAVE.
    Returned(Vec<String>),
    /// How it failed: the kind of failure and its message, without timings.
    Failed(String),
}

impl std::fmt::Display for Outcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Outcome::Returned(results) if results.is_empty() => f.write_str("()"),
            Outcome::Returned(results) => f.write_str(&results.join(", ")),
            Outcome::Failed(failure) => write!(f, "error: {failure}"),
        }
    }
}

impl Outcome {
    pub(crate) fn of(result: &Result<CallOutput, HostError>) -> Outcome {
        match result {
            Ok(output) => Outcome::Returned(output.results_wave()),
            Err(error) => Outcome::Failed(Outcome::failure(error)),
        }
    }

    /// How a call failed, without timings: `fuel budget exceeded`, `trap: ...`.
    pub(crate) fn failure(error: &HostError) -> String {
        match error {
            HostError::BudgetExceeded { kind, .. } => format!("{kind} budget exceeded"),
            HostError::Trap { message, .. } => format!("trap: {message}"),
            HostError::GuestPanic { message, .. } => format!("panic: {message}"),
            other => other.to_string(),
        }
    }
}

/// A replayed call whose outcome differs from the recorded one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Divergence {
    /// The call's number in the session, from 1.
    pub number: usize,
    /// The call.
    pub call: String,
    /// What it came to when recorded.
    pub old: Outcome,
    /// What it comes to now.
    pub new: Outcome,
}

/// What a swap to a new version changed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Swapped {
    /// The new version's number.
    pub version: u32,
    /// Whether the old state was carried over (false: the new version starts from default state).
    pub state_kept: bool,
    /// How the exports changed.
    pub exports: ExportChanges,
    /// Saving, instantiating, restoring and swapping.
    pub took: Duration,
}

/// Exports added, removed or retyped between two versions.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExportChanges {
    /// New exports, with their signatures.
    pub added: Vec<String>,
    /// Exports the new version lacks.
    pub removed: Vec<String>,
    /// Exports whose signature changed: `get: was func() -> u64, now func() -> u32`.
    pub changed: Vec<String>,
}

impl ExportChanges {
    /// The changes from `old`'s exports to `new`'s. The host's own
    /// interfaces (`iso:app/state`, `iso:app/tests`) are left out: they
    /// come and go with the SDK and with state, not with the app's API.
    pub fn between(old: &App, new: &App) -> ExportChanges {
        let find = |app: &App, name: &str| -> Option<String> {
            let export = app.exports().iter().find(|e| e.name == name)?;
            Some(export.ty.clone())
        };
        let mut changes = ExportChanges::default();
        for export in new.user_exports() {
            match find(old, &export.name) {
                None => changes.added.push(export.signature.clone()),
                Some(before) if before != export.ty => changes
                    .changed
                    .push(format!("{}: was {before}, now {}", export.short, export.ty)),
                Some(_) => {}
            }
        }
        for export in old.user_exports() {
            if find(new, &export.name).is_none() {
                changes.removed.push(export.short.clone());
            }
        }
        changes
    }

    /// Whether nothing changed.
    pub fn is_empty(&self) -> bool {
        self.added.is_empty() && self.removed.is_empty() && self.changed.is_empty()
    }
}

impl Session {
    /// A session on the apps running under `addresses` in `runtime`; the
    /// calls made through it, and their effects, are recorded from now on.
    pub fn new(runtime: Runtime, addresses: &[&str]) -> Result<Session, HostError> {
        for address in addresses {
            runtime.with_instance(address, |instance| effects(instance.shared()).record())?;
        }
        Ok(Session {
            runtime,
            addresses: addresses.iter().map(|a| (*a).to_owned()).collect(),
            history: Vec::new(),
        })
    }

    /// The runtime the apps run in.
    pub fn runtime(&self) -> &Runtime {
        &self.runtime
    }

    /// The runtime, to change what runs (see [`Runtime::shadow`]).
    pub fn runtime_mut(&mut self) -> &mut Runtime {
        &mut self.runtime
    }

    /// The apps' addresses, in the order given.
    pub fn addresses(&self) -> &[String] {
        &self.addresses
    }

    /// Runs `f` on the instance running under `address`, between its
    /// calls (to read its state, or set its budget).
    pub fn with_instance<R: Send + 'static>(
        &self,
        address: &str,
        f: impl FnOnce(&mut Instance) -> R + Send + 'static,
    ) -> Result<R, HostError> {
        self.runtime.with_instance(address, f)
    }

    /// The version running under `address`.
    pub fn app(&self, address: &str) -> Result<Arc<App>, HostError> {
        self.runtime.app(address)
    }

    /// The number of the version running under `address`: 1, then one
    /// more per swap.
    pub fn version(&self, address: &str) -> u32 {
        self.runtime.version(address).unwrap_or(0)
    }

    /// The calls so far, oldest first.
    pub fn history(&self) -> &[CallRecord] {
        &self.history
    }

    /// Calls the app at `address` from WAVE text, e.g. `increment(5)`,
    /// through the runtime, and records the call. Calls that never reached
    /// the guest (bad text, unknown export) are not recorded.
    pub fn call(&mut self, address: &str, call: &str) -> Result<CallOutput, HostError> {
        let recorded = (self.runtime).recorded(address, Request::Wave(call.to_owned()));
        let (state_before, result, effects) = block_on(recorded)?;
        if !matches!(
            result,
            Err(HostError::BadArguments { .. }
                | HostError::NoSuchExport { .. }
                | HostError::AmbiguousExport { .. })
        ) {
            self.history.push(CallRecord {
                address: address.to_owned(),
                call: call.to_owned(),
                outcome: Outcome::of(&result),
                effects,
                state_before,
            });
        }
        result
    }

    /// Makes the component `bytes` the version running at `address`, as
    /// [`Runtime::swap`] does: with `keep_state` the old version's state is
    /// restored into the new one first; if that fails, or the new version
    /// drops what another app imports, the old version keeps running and
    /// the error says why.
    pub fn swap(
        &mut self,
        address: &str,
        bytes: &[u8],
        keep_state: bool,
    ) -> Result<Swapped, HostError> {
        self.runtime.swap(address, bytes, keep_state)
    }

    /// Swaps several apps as one step, as [`Runtime::swap_all`] does: for
    /// a provider and its importer that changed together.
    pub fn swap_all(
        &mut self,
        swaps: &[(&str, &[u8])],
        keep_state: bool,
    ) -> Result<Vec<Swapped>, HostError> {
        self.runtime.swap_all(swaps, keep_state)
    }

    /// Replays the last `last` calls (all when `None`) made to `address`
    /// on `app`, from the state before the first of them and with the
    /// effects they saw, in an instance of its own: the session is not
    /// touched. Returns the calls replayed and the divergences, each
    /// numbered by its place in the history.
    ///
    /// Each call replays on the state the one before it left, so an app
    /// that other apps called in between (its state changed meanwhile)
    /// may diverge where it does not. The calls `app` makes to other apps
    /// are answered from the recording, as its clock and kv reads are: the
    /// other apps are not called.
    pub fn replay(
        &self,
        address: &str,
        app: &Arc<App>,
        last: Option<usize>,
    ) -> Result<(usize, Vec<Divergence>), HostError> {
        let mine: Vec<(usize, &CallRecord)> = (1..)
            .zip(&self.history)
            .filter(|(_, record)| record.address == address)
            .collect();
        let skip = mine.len().saturating_sub(last.unwrap_or(usize::MAX));
        let records = &mine[skip..];
        let Some((_, first)) = records.first() else {
            return Ok((0, Vec::new()));
        };
        let budget = self.with_instance(address, |instance| instance.budget())?;
        let shared = Shared::new(Arc::new(NoLog));
        let mut instance = Instance::new(app.clone(), budget, shared.clone())?;
        if let Some(state) = &first.state_before {
            instance.restore_state(state)?;
        }
        let mut divergences = Vec::new();
        for &(number, record) in records {
            effects(&shared).replay(record.effects.clone());
            let outcome = Outcome::of(&instance.call_wave(&record.call));
            if outcome != record.outcome {
                divergences.push(Divergence {
                    number,
                    call: record.call.clone(),
                    old: record.outcome.clone(),
                    new: outcome,
                });
            }
        }
        Ok((records.len(), divergences))
    }
}

/// An instance of `app` under `budget`, with `shared` (logs, effects and
/// kv), and `state` restored into it. Returns it and whether a state was
/// restored. Refused when `app` cannot take the state.
pub(crate) fn successor(
    budget: Budget,
    shared: Shared,
    app: Arc<App>,
    state: Option<Vec<u8>>,
) -> Result<(Instance, bool), HostError> {
    if state.is_some() && !app.has_state() {
        return Err(HostError::StateRejected {
            reason:
                "the new version does not export iso:app/state, so it cannot take the running state"
                    .into(),
        });
    }
    let mut next = Instance::new(app, budget, shared)?;
    if let Some(bytes) = &state {
        next.restore_state(bytes)?;
    }
    Ok((next, state.is_some()))
}

pub(crate) fn effects(shared: &Shared) -> MutexGuard<'_, Effects> {
    lock(&shared.effects)
}
