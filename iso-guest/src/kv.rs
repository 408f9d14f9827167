//! The host's key-value store (`iso:host/kv`), one namespace per app.
//!
//! Values are bytes; [`get_as`] and [`set_as`] store any [`Schema`] type in
//! the iso-schema encoding, so stored values evolve by the same rules as state.
//!
//! ```no_run
//! iso_guest::kv::set("greeting", b"hello");
//! assert_eq!(iso_guest::kv::get("greeting").as_deref(), Some(&b"hello"[..]));
//! iso_guest::kv::set_as("visits", &3u32);
//! let visits: Option<u32> = iso_guest::kv::get_as("visits").unwrap();
//! for key in iso_guest::kv::keys("user/") {
//!     iso_guest::kv::delete(&key);
//! }
//! ```

use iso_schema::{RestoreError, Schema};

use crate::bindings::iso::host::kv;

/// The bytes stored at `key`.
pub fn get(key: &str) -> Option<Vec<u8>> {
    kv::get(key)
}

/// Stores `value` at `key`.
pub fn set(key: &str, value: &[u8]) {
    kv::set(key, value);
}

/// Removes `key`; returns whether it was there.
pub fn delete(key: &str) -> bool {
    kv::delete(key)
}

/// The keys starting with `prefix`, in ascending order.
pub fn keys(prefix: &str) -> Vec<String> {
    kv::list_keys(prefix)
}

/// Reads a typed value stored with [`set_as`] (by this or an older version of `T`).
pub fn get_as<T: Schema>(key: &str) -> Result<Option<T>, RestoreError> {
    get(key)
        .map(|bytes| iso_schema::restore(&bytes).map(|r| r.value))
        .transpose()
}

/// Stores a typed value.
pub fn set_as<T: Schema>(key: &str, value: &T) {
    set(key, &iso_schema::save(value));
}
