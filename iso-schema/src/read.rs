//! Reading a [`Value`] written by an older version into a Rust type, by the evolution rules.
//!
//! - fields match by name (a `rename` keeps an old name);
//! - a field the data lacks takes its default, or is an error naming its path;
//! - a field the data has but the type does not is dropped and reported;
//! - integers and floats may widen (`u32` data into a `u64` field), never narrow;
//! - an enum case the type no longer has is an error only if the data holds it.

use alloc::boxed::Box;
use alloc::string::{String, ToString};
use alloc::vec::Vec;
use core::fmt;

use crate::Value;

/// Data that the type cannot read, with the path to it, e.g. `state.users[3].email`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadError {
    /// Where in the value, from `state`.
    pub path: String,
    /// What was wrong, e.g. `missing required field "email" (it has no default)`.
    pub reason: String,
}

impl fmt::Display for ReadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path, self.reason)
    }
}

enum Segment {
    Field(String),
    Index(usize),
    Case(String),
}

/// Tracks where reading is, and what it dropped.
pub struct Reader {
    path: Vec<Segment>,
    dropped: Vec<String>,
}

impl Default for Reader {
    fn default() -> Self {
        Reader::new()
    }
}

impl Reader {
    /// A reader at the root, `state`.
    pub fn new() -> Reader {
        Reader {
            path: Vec::new(),
            dropped: Vec::new(),
        }
    }

    /// Paths of the fields the data had and the type dropped, e.g. `state.legacy`.
    pub fn dropped(&self) -> &[String] {
        &self.dropped
    }

    /// The current path, e.g. `state.users[3]`.
    pub fn path(&self) -> String {
        let mut path = String::from("state");
        for segment in &self.path {
            match segment {
                Segment::Field(name) => {
                    path.push('.');
                    path.push_str(name);
                }
                Segment::Index(i) => path.push_str(&alloc::format!("[{i}]")),
                Segment::Case(name) => path.push_str(&alloc::format!("({name})")),
            }
        }
        path
    }

    /// An error at the current path.
    pub fn error(&self, reason: impl ToString) -> ReadError {
        ReadError {
            path: self.path(),
            reason: reason.to_string(),
        }
    }

    fn within<T>(&mut self, segment: Segment, read: impl FnOnce(&mut Reader) -> T) -> T {
        self.path.push(segment);
        let result = read(self);
        self.path.pop();
        result
    }

    /// Reads element `index` of a list or tuple.
    pub fn element<T: crate::Schema>(
        &mut self,
        index: usize,
        value: Value,
    ) -> Result<T, ReadError> {
        self.within(Segment::Index(index), |r| T::from_value(value, r))
    }

    /// An error for a value of the wrong shape.
    pub fn mismatch(&self, expected: &str, found: &Value) -> ReadError {
        self.error(alloc::format!(
            "expected {expected}, found {}",
            describe(found)
        ))
    }

    /// Starts reading a record; errors if `value` is not one.
    pub fn record(&mut self, value: Value) -> Result<RecordReader, ReadError> {
        match value {
            Value::Record(fields) => Ok(RecordReader { fields }),
            other => Err(self.mismatch("a record", &other)),
        }
    }

    /// Starts reading a variant or enum: its case name and data.
    pub fn variant(&mut self, value: Value) -> Result<(String, Option<Value>), ReadError> {
        match value {
            Value::Variant(case, payload) => Ok((case, payload.map(|b| *b))),
            Value::Enum(case) => Ok((case, None)),
            other => Err(self.mismatch("an enum case", &other)),
        }
    }

    /// Reads the data of case `case`, which must have some.
    pub fn payload<T: crate::Schema>(
        &mut self,
        case: &str,
        payload: Option<Value>,
    ) -> Result<T, ReadError> {
        self.payload_with(case, payload, |reader, value| T::from_value(value, reader))
    }

    /// Reads the data of case `case` with `read`; the data must be there.
    pub fn payload_with<T>(
        &mut self,
        case: &str,
        payload: Option<Value>,
        read: impl FnOnce(&mut Reader, Value) -> Result<T, ReadError>,
    ) -> Result<T, ReadError> {
        self.within(Segment::Case(case.to_string()), |r| match payload {
            Some(value) => read(r, value),
            None => {
                Err(r.error("the saved case carries no data, but this version's case expects some"))
            }
        })
    }

    /// Checks that case `case` carries no data, as this version expects.
    pub fn no_payload(&mut self, case: &str, payload: Option<Value>) -> Result<(), ReadError> {
        match payload {
            None => Ok(()),
            Some(_) => Err(self.within(Segment::Case(case.to_string()), |r| {
                r.error("the saved case carries data, but this version's case has none")
            })),
        }
    }

    /// An error for a case the type does not have.
    pub fn unknown_case(&self, case: &str, known: &[&str]) -> ReadError {
        self.error(alloc::format!(
            "case \"{case}\" is not in this version (it has {})",
            known
                .iter()
                .map(|c| alloc::format!("\"{c}\""))
                .collect::<Vec<_>>()
                .join(", ")
        ))
    }

    /// Reads a list's elements.
    pub fn list<T: crate::Schema>(&mut self, value: Value) -> Result<Vec<T>, ReadError> {
        match value {
            Value::List(items) => items
                .into_iter()
                .enumerate()
                .map(|(i, v)| self.element(i, v))
                .collect(),
            other => Err(self.mismatch("a list", &other)),
        }
    }

    /// Reads a map's entries.
    pub fn map<K: crate::Schema, V: crate::Schema>(
        &mut self,
        value: Value,
    ) -> Result<Vec<(K, V)>, ReadError> {
        match value {
            Value::Map(entries) => entries
                .into_iter()
                .enumerate()
                .map(|(i, (k, v))| {
                    self.within(Segment::Index(i), |r| {
                        Ok((K::from_value(k, r)?, V::from_value(v, r)?))
                    })
                })
                .collect(),
            other => Err(self.mismatch("a map", &other)),
        }
    }

    /// Reads a tuple of exactly `len` items.
    pub fn tuple(&mut self, value: Value, len: usize) -> Result<Vec<Value>, ReadError> {
        match value {
            Value::Tuple(items) if items.len() == len => Ok(items),
            Value::Tuple(items) => Err(self.error(alloc::format!(
                "expected a tuple of {len}, found a tuple of {}",
                items.len()
            ))),
            other => Err(self.mismatch("a tuple", &other)),
        }
    }
}

/// The fields of a record being read; each is taken by name.
pub struct RecordReader {
    fields: Vec<(String, Value)>,
}

impl RecordReader {
    fn take(&mut self, name: &str) -> Option<Value> {
        let index = self.fields.iter().position(|(n, _)| n == name)?;
        Some(self.fields.swap_remove(index).1)
    }

    /// A field the data must have.
    pub fn required<T: crate::Schema>(
        &mut self,
        reader: &mut Reader,
        name: &str,
    ) -> Result<T, ReadError> {
        match self.take(name) {
            Some(value) => reader.within(Segment::Field(name.to_string()), |r| {
                T::from_value(value, r)
            }),
            None => Err(reader.within(Segment::Field(name.to_string()), |r| {
                r.error(alloc::format!(
                    "missing required field \"{name}\" (it has no default)"
                ))
            })),
        }
    }

    /// A field that takes `default()` when the data lacks it.
    pub fn or_default<T: crate::Schema>(
        &mut self,
        reader: &mut Reader,
        name: &str,
        default: impl FnOnce() -> T,
    ) -> Result<T, ReadError> {
        match self.take(name) {
            Some(value) => reader.within(Segment::Field(name.to_string()), |r| {
                T::from_value(value, r)
            }),
            None => Ok(default()),
        }
    }

    /// Reports the fields the data had that the type does not.
    pub fn finish(self, reader: &mut Reader) {
        for (name, _) in self.fields {
            let path = reader.within(Segment::Field(name), |r| r.path());
            reader.dropped.push(path);
        }
    }
}

/// A short description of a value's shape, for messages.
pub fn describe(value: &Value) -> String {
    match value {
        Value::Bool(_) => "a bool".into(),
        Value::U8(n) => alloc::format!("u8 {n}"),
        Value::U16(n) => alloc::format!("u16 {n}"),
        Value::U32(n) => alloc::format!("u32 {n}"),
        Value::U64(n) => alloc::format!("u64 {n}"),
        Value::S8(n) => alloc::format!("s8 {n}"),
        Value::S16(n) => alloc::format!("s16 {n}"),
        Value::S32(n) => alloc::format!("s32 {n}"),
        Value::S64(n) => alloc::format!("s64 {n}"),
        Value::F32(_) => "an f32".into(),
        Value::F64(_) => "an f64".into(),
        Value::Char(_) => "a char".into(),
        Value::String(_) => "a string".into(),
        Value::List(_) => "a list".into(),
        Value::Option(_) => "an option".into(),
        Value::Result(_) => "a result".into(),
        Value::Tuple(_) => "a tuple".into(),
        Value::Map(_) => "a map".into(),
        Value::Record(_) => "a record".into(),
        Value::Variant(case, _) | Value::Enum(case) => alloc::format!("case \"{case}\""),
        Value::Flags(_) => "flags".into(),
    }
}

/// Boxes a value, for derive-generated code.
pub fn boxed(value: Value) -> Option<Box<Value>> {
    Some(Box::new(value))
}
