//! The data model that cargo-iso guests and hosts share for guest state.
//!
//! - [`Schema`]: a Rust type that can describe itself ([`Type`]), turn a
//!   value into a self-describing [`Value`], and read one back, written by
//!   this version or an older one. `#[derive(Schema)]` implements it.
//! - [`Value::encode`] / [`Value::decode`]: a compact, versioned binary form;
//!   [`Value::to_json`]: a JSON rendering for people.
//! - [`read`]: the evolution rules for reading old data; [`evolve::compare`]:
//!   the same rules applied to two types, for `check-compat`.
//!
//! ```
//! use iso_schema::Schema;
//!
//! #[derive(Schema, Default, Debug, PartialEq)]
//! struct Counter {
//!     count: u64,
//!     #[schema(default)]
//!     step: u32,
//! }
//!
//! let bytes = iso_schema::save(&Counter { count: 5, step: 1 });
//! let restored: Counter = iso_schema::restore(&bytes).unwrap().value;
//! assert_eq!(restored, Counter { count: 5, step: 1 });
//! assert_eq!(iso_schema::schema_text::<Counter>(), "record counter { count: u64, step: u32 = default }");
//! ```
//!
//! The crate is `no_std` with `alloc`; the `std` feature adds `HashMap` and `HashSet`.

#![no_std]

extern crate alloc;
#[cfg(feature = "std")]
extern crate std;

// Lets `#[derive(Schema)]` name `::iso_schema` inside this crate's own tests.
extern crate self as iso_schema;

pub mod evolve;
mod impls;
pub mod read;
pub mod ty;
pub mod value;

use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;

pub use read::{ReadError, Reader};
pub use ty::{Case, Field, Type};
pub use value::{DecodeError, Value};

#[cfg(feature = "derive")]
pub use iso_derive::Schema;

#[doc(hidden)]
pub mod __private {
    pub use alloc::vec;
}

/// A type whose values can be saved and read back by later versions of it.
pub trait Schema: Sized {
    /// The type's description.
    fn schema() -> Type;
    /// The value, self-describing.
    fn to_value(&self) -> Value;
    /// Reads a value written by this type or an older version of it.
    fn from_value(value: Value, reader: &mut Reader) -> Result<Self, ReadError>;
}

/// `T`'s schema in its text form, as `iso:app/state.schema()` returns it.
pub fn schema_text<T: Schema>() -> String {
    alloc::format!("{}", T::schema())
}

/// Encodes `state` for `iso:app/state.save()`.
pub fn save<T: Schema>(state: &T) -> Vec<u8> {
    state.to_value().encode()
}

/// A value read back, with the fields the data had and this version dropped.
#[derive(Debug)]
pub struct Restored<T> {
    /// The value.
    pub value: T,
    /// Paths of the dropped fields, e.g. `state.legacy`.
    pub dropped: Vec<String>,
}

/// Why saved bytes could not be restored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RestoreError {
    /// The bytes are not a valid encoding.
    Decode(DecodeError),
    /// The data does not fit this version of the type.
    Read(ReadError),
}

impl fmt::Display for RestoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RestoreError::Decode(err) => err.fmt(f),
            RestoreError::Read(err) => err.fmt(f),
        }
    }
}

/// Decodes bytes from [`save`] (of this or an older version) as `T`.
pub fn restore<T: Schema>(bytes: &[u8]) -> Result<Restored<T>, RestoreError> {
    let value = Value::decode(bytes).map_err(RestoreError::Decode)?;
    let mut reader = Reader::new();
    let value = T::from_value(value, &mut reader).map_err(RestoreError::Read)?;
    Ok(Restored {
        value,
        dropped: reader.dropped().to_vec(),
    })
}
