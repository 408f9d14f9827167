//! Supervision, as in OTP: a failed call restarts the instance from its
//! last good state (the [`Instance`] does that), and a [`RestartIntensity`]
//! stops an instance that keeps failing. Calls to a stopped instance fail
//! at once with [`HostError::Stopped`], which names the last failure.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use crate::error::HostError;
use crate::instance::Instance;

/// How many restarts within how long stop an instance: more than
/// `restarts` within `within`. The default is at most 5 in 10 s.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RestartIntensity {
    /// The restarts allowed within the window.
    pub restarts: usize,
    /// The window.
    pub within: Duration,
}

impl Default for RestartIntensity {
    fn default() -> Self {
        RestartIntensity {
            restarts: 5,
            within: Duration::from_secs(10),
        }
    }
}

/// An instance, the times of its recent restarts, and whether it was stopped.
pub(crate) struct Supervised {
    pub(crate) instance: Instance,
    intensity: RestartIntensity,
    recent: VecDeque<Instant>,
    stopped: Option<HostError>,
}

impl Supervised {
    pub(crate) fn new(instance: Instance, intensity: RestartIntensity) -> Supervised {
        Supervised {
            instance,
            intensity,
            recent: VecDeque::new(),
            stopped: None,
        }
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
        if self.instance.restarts() > before
            && let Err(err) = &result
            && !matches!(err, HostError::CalleeFailed { .. })
        {
            self.restarted(err);
        }
        result
    }

    /// Counts a restart after `err`, and stops the instance past the intensity.
    fn restarted(&mut self, err: &HostError) {
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
