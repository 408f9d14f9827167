//! {{name}}: a counter whose count survives hot reloads.
//!
//! A guest has no stdout: `println!` and `dbg!` print nothing. Log with
//! `iso_guest::info!` (and `debug!`, `warn!`, `error!`), which the host shows.

iso_guest::generate!();

use iso_guest::Schema;

/// The app's state. The host saves it before a reload and restores it into
/// the new version, so a field added later needs `#[schema(default)]`.
#[derive(Schema, Default)]
struct Counter {
    count: u64,
    /// How many calls changed the count.
    #[schema(default)]
    changes: u32,
}

iso_guest::state!(Counter);

struct Component;

impl Guest for Component {
    fn increment(by: u32) -> u64 {
        let count = with_state(|s| {
            s.count += u64::from(by);
            s.changes += 1;
            s.count
        });
        iso_guest::info!("incremented by {}", by; "count" => count);
        count
    }

    fn get() -> u64 {
        state().count
    }

    fn reset() {
        with_state(|s| {
            s.count = 0;
            s.changes += 1;
        });
        iso_guest::info!("reset");
    }

    fn run() -> String {
        let count = Self::increment(1);
        format!("count is {count}")
    }
}

export!(Component);

/// Unit tests, which `cargo iso test` runs inside the host, each on a fresh
/// counter. Plain `cargo test` leaves them out: they need the host.
mod tests {
    use super::*;

    #[iso_guest::test]
    fn increment_adds_to_the_count() {
        assert_eq!(Component::increment(2), 2);
        assert_eq!(Component::increment(3), 5);
        assert_eq!(state().changes, 2);
    }
}
