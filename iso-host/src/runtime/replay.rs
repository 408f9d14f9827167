//! Replaying a call from the [event log](crate::event_log) on the version
//! running at an address: from the state the logged call started from,
//! with the effects it saw (its clock, random and kv reads, and the
//! answers of the apps it called), in an instance of its own, so that
//! the running instance, its kv and the apps it calls are not touched.

use std::sync::Arc;

use crate::error::HostError;
use crate::event_log::LoggedCall;
use crate::host::{NoLog, Shared};
use crate::runtime::candidate::{first_difference_of, rerun};
use crate::runtime::{Request, Runtime};
use crate::session::{Outcome, successor};

/// A logged call made again, and what it came to each time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Replayed {
    /// The logged call's id.
    pub id: u64,
    /// What it came to when logged, as [`Outcome`] shows it.
    pub logged: String,
    /// What it comes to now.
    pub replayed: String,
    /// The first effect on which the two runs parted, if they did, e.g.
    /// `effect 2: logged kv.get("b") -> none, replayed none`.
    pub first_effect: Option<String>,
}

impl Replayed {
    /// Whether the replay came to another outcome than the logged call.
    pub fn diverged(&self) -> bool {
        self.logged != self.replayed
    }
}

impl Runtime {
    /// Makes `call`, read from the event log, again on the version running
    /// at `address`, from `state` (the state it started from, as
    /// [`EventLog::state`](crate::EventLog::state) gives it; `None` for
    /// the default state), under that instance's budget and with the
    /// effects it saw, in an instance of its own. A version that cannot
    /// take the state replays to that failure.
    pub fn replay(
        &self,
        address: &str,
        call: &LoggedCall,
        state: Option<Vec<u8>>,
    ) -> Result<Replayed, HostError> {
        let app = self.app(address)?;
        let running = (self.running.get(address)).ok_or_else(|| super::no_such_address(address))?;
        let budget = running.budget;
        let shared = Shared::new(Arc::new(NoLog));
        let request = Request::Wave(call.call.clone());
        let (outcome, effects) = match successor(budget, shared.clone(), app, state) {
            Ok((mut instance, _)) => {
                // Touching the state installs iso-guest's panic hook, as the
                // logged run's earlier calls had: else a panic in the first
                // call of a fresh instance shows as a bare trap.
                let _ = instance.save_state();
                rerun(&shared, call.effects.clone(), || request.run(&mut instance))
            }
            Err(err) => (
                Outcome::Failed(format!("cannot start from the logged state: {err}")),
                Vec::new(),
            ),
        };
        Ok(Replayed {
            id: call.id,
            logged: call.outcome_text(),
            replayed: outcome.to_string(),
            first_effect: first_difference_of(("logged", &call.effects), ("replayed", &effects)),
        })
    }
}
