//! Supervision, as in OTP: a failed call restarts the instance from its
//! last good state (the [`Instance`] does that), and a [`RestartIntensity`]
//! stops an instance that keeps failing. Calls to a stopped instance fail
//! at once with [`HostError::Stopped`], which names the last failure.

use std::any::Any;
use std::collections::VecDeque;
use std::time::{Duration, Instant};

use wasmtime::component::{ComponentNamedList, Lift, Lower};

use crate::error::HostError;
use crate::instance::{Instance, TypedExport, Usage};

/// How many restarts within how long stop an instance: more than
/// `restarts` within `within`. The default is at most 5 in 10 s.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RestartIntensity {
    /// The restarts allowed within the window.
    pub restarts: usize,
    /// The window.
    pub within: Duration,
}

impl RestartIntensity {
    /// Never stop: each failed call restarts the instance from its last
    /// good state, and the next call is answered. For a server, where a
    /// caller whose calls fail must not stop the app for every other
    /// caller; what failing calls cost is bounded by the calls admitted,
    /// each paying its own restart.
    pub const NEVER_STOP: RestartIntensity = RestartIntensity {
        restarts: usize::MAX,
        within: Duration::ZERO,
    };
}

impl Default for RestartIntensity {
    fn default() -> Self {
        RestartIntensity {
            restarts: 5,
            within: Duration::from_secs(10),
        }
    }
}

/// An instance, the times of its recent restarts, whether it was
/// stopped, and the typed exports that typed handles call.
pub(crate) struct Supervised {
    pub(crate) instance: Instance,
    intensity: RestartIntensity,
    recent: VecDeque<Instant>,
    stopped: Option<HostError>,
    /// Typed exports by the id of their handle. Kept here, not in the
    /// handle, so that a call carries no shared reference count: a count
    /// touched by the caller and then by the worker cost a cache-line
    /// transfer each way on every call.
    typed: Vec<(u64, Box<dyn Any + Send>)>,
    /// Work a job left for after its caller has the answer.
    after_answer: Vec<Box<dyn FnOnce() + Send>>,
}

impl Supervised {
    pub(crate) fn new(instance: Instance, intensity: RestartIntensity) -> Supervised {
        Supervised {
            instance,
            intensity,
            recent: VecDeque::new(),
            stopped: None,
            typed: Vec::new(),
            after_answer: Vec::new(),
        }
    }

    /// Runs `f` once the job running now has handed its answer over, so
    /// that the caller does not wait for it.
    pub(crate) fn after_answer(&mut self, f: impl FnOnce() + Send + 'static) {
        self.after_answer.push(Box::new(f));
    }

    /// Runs what the last job left for after its answer.
    #[inline]
    pub(crate) fn run_after_answer(&mut self) {
        if !self.after_answer.is_empty() {
            for f in std::mem::take(&mut self.after_answer) {
                f();
            }
        }
    }

    /// Runs `next` from now on, as a new version (no restarts counted,
    /// not stopped); typed handles keep working (each looks its export
    /// up again in the new store).
    pub(crate) fn replace(&mut self, next: Instance) {
        let typed = std::mem::take(&mut self.typed);
        *self = Supervised::new(next, self.intensity);
        self.typed = typed;
    }

    /// Keeps `export` for the typed handle `id`.
    pub(crate) fn keep_typed<P, R>(&mut self, id: u64, export: TypedExport<P, R>)
    where
        P: Send + 'static,
        R: Send + 'static,
    {
        self.typed.retain(|(kept, _)| *kept != id);
        self.typed.push((id, Box::new(export)));
    }

    /// A supervised call of the typed export kept for handle `id`.
    #[inline]
    pub(crate) fn call_typed<P, R>(&mut self, id: u64, params: P) -> Result<(R, Usage), HostError>
    where
        P: ComponentNamedList + Lower + Send + 'static,
        R: ComponentNamedList + Lift + Send + 'static,
    {
        let Some(export) = self
            .typed
            .iter_mut()
            .find(|(kept, _)| *kept == id)
            .and_then(|(_, export)| export.downcast_mut::<TypedExport<P, R>>())
        else {
            return Err(HostError::Invalid {
                reason: "this typed handle was made for another instance".into(),
            });
        };
        if let Some(stopped) = &self.stopped {
            return Err(stopped.clone());
        }
        let before = self.instance.restarts();
        let result = self.instance.call_typed(export, params);
        self.count_restart(before, &result);
        result
    }

    /// Makes a call with `call`, unless the instance was stopped; a call
    /// that restarted the instance counts against the intensity, unless
    /// the failure was a callee's (it counts against the callee's).
    pub(crate) fn call<T>(
        &mut self,
        call: impl FnOnce(&mut Instance) -> Result<T, HostError>,
    ) -> Result<T, HostError> {
        if let Some(stopped) = &self.stopped {
            return Err(stopped.clone());
        }
        let before = self.instance.restarts();
        let result = call(&mut self.instance);
        self.count_restart(before, &result);
        result
    }

    /// Counts a restart if the call that left `result` restarted the
    /// instance (it had made `before` restarts), unless a callee failed.
    fn count_restart<T>(&mut self, before: u64, result: &Result<T, HostError>) {
        if self.instance.restarts() > before
            && let Err(err) = result
            && !matches!(err, HostError::CalleeFailed { .. })
        {
            self.restarted(err);
        }
    }

    /// Counts a restart after `err`, and stops the instance past the intensity.
    fn restarted(&mut self, err: &HostError) {
        if self.intensity == RestartIntensity::NEVER_STOP {
            return;
        }
        let now = Instant::now();
        self.recent.push_back(now);
        while self
            .recent
            .front()
            .is_some_and(|first| now.duration_since(*first) > self.intensity.within)
        {
            self.recent.pop_front();
        }
        if self.recent.len() > self.intensity.restarts {
            let first = self.recent.front().copied().unwrap_or(now);
            self.stopped = Some(HostError::Stopped {
                restarts: self.recent.len(),
                within: now.duration_since(first),
                last: err.to_string(),
            });
        }
    }
}
