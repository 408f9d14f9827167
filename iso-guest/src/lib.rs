//! The cargo-iso guest SDK.
//!
//! A guest crate depends on `iso-guest` (which is also how `cargo iso build`
//! recognises it) and generates its bindings through the re-exported
//! wit-bindgen, so it needs no other dependency:
//!
//! ```ignore
//! iso_guest::wit_bindgen::generate!({ path: "wit", runtime_path: "iso_guest::wit_bindgen::rt" });
//! ```

pub use wit_bindgen;
