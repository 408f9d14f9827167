//! Randomness from `iso:host/random`. The host records it in dev sessions, so replays see the same values.
//!
//! ```no_run
//! let roll = iso_guest::random::u64() % 6 + 1;
//! let token = iso_guest::random::bytes(16);
//! ```

use crate::bindings::iso::host::random;

/// A random 64-bit number.
pub fn u64() -> u64 {
    random::random_u64()
}

/// `len` random bytes.
pub fn bytes(len: u32) -> Vec<u8> {
    random::random_bytes(len)
}
