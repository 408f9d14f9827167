//! {{name}}: a token-bucket rate limiter. Its settings are the app's state;
//! the buckets live in the host's key-value store, stamped with the host clock.

iso_guest::generate!();

use iso_guest::{Schema, clock, kv};

/// The limiter's settings, kept across hot reloads.
#[derive(Schema)]
struct Limits {
    capacity: u32,
    per_second: u32,
}

impl Default for Limits {
    fn default() -> Self {
        Limits { capacity: 10, per_second: 1 }
    }
}

/// One key's bucket, stored in kv under `bucket/<key>`.
#[derive(Schema)]
struct Bucket {
    tokens: f64,
    /// Host wall-clock time of the last refill, in nanoseconds.
    updated_ns: u64,
}

iso_guest::state!(Limits);

/// The key's bucket, refilled for the time since it was last seen.
fn refilled(key: &str) -> Bucket {
    let (capacity, per_second) = {
        let limits = state();
        (f64::from(limits.capacity), f64::from(limits.per_second))
    };
    let now = clock::now().as_nanos() as u64;
    let stored = kv::get_as::<Bucket>(&format!("bucket/{key}")).ok().flatten();
    let bucket = stored.unwrap_or(Bucket { tokens: capacity, updated_ns: now });
    let seconds = now.saturating_sub(bucket.updated_ns) as f64 / 1e9;
    Bucket { tokens: (bucket.tokens + seconds * per_second).min(capacity), updated_ns: now }
}

struct Component;

impl Guest for Component {
    fn check(key: String) -> bool {
        let mut bucket = refilled(&key);
        let allowed = bucket.tokens >= 1.0;
        if allowed {
            bucket.tokens -= 1.0;
        } else {
            iso_guest::warn!("rate limited"; "key" => key);
        }
        kv::set_as(&format!("bucket/{key}"), &bucket);
        allowed
    }

    fn configure(capacity: u32, per_second: u32) {
        with_state(|limits| *limits = Limits { capacity, per_second });
        iso_guest::info!("configured"; "capacity" => capacity, "per-second" => per_second);
    }

    fn tokens(key: String) -> u32 {
        refilled(&key).tokens as u32
    }

    fn run() -> String {
        let allowed = (0..12).filter(|_| Self::check("demo".into())).count();
        format!("{allowed} of 12 requests allowed")
    }
}

export!(Component);

/// Unit tests, which `cargo iso test` runs inside the host, each on a fresh
/// limiter with an empty kv and a clock that stands still.
mod tests {
    use super::*;

    #[iso_guest::test]
    fn a_full_bucket_allows_its_capacity() {
        let allowed = (0..12).filter(|_| Component::check("k".into())).count();
        assert_eq!(allowed, 10);
    }
}
