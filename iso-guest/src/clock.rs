//! Time from `iso:host/clock`. The host records it in dev sessions, so replays see the same time.
//!
//! ```no_run
//! let since_epoch = iso_guest::clock::now();
//! let started = iso_guest::clock::monotonic();
//! let elapsed = iso_guest::clock::monotonic() - started;
//! ```

use std::time::Duration;

use crate::bindings::iso::host::clock;

/// Wall-clock time since the Unix epoch.
pub fn now() -> Duration {
    Duration::from_nanos(clock::wall_now())
}

/// Monotonic time from an arbitrary start; never goes backwards.
pub fn monotonic() -> Duration {
    Duration::from_nanos(clock::monotonic_now())
}
