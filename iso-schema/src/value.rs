//! [`Value`]: a self-describing value, its compact binary encoding and its JSON rendering.
//!
//! The encoding starts with a version byte; every value starts with a tag
//! byte; integers and lengths are LEB128 (signed ones zigzagged); field and
//! case names are written once and then referred to by number, so a list of
//! ten thousand records does not repeat its field names.

use alloc::boxed::Box;
use alloc::string::{String, ToString};
use alloc::vec::Vec;
use core::fmt::Write;

/// A value that carries its own shape: enough to read it back with a newer type.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// `bool`
    Bool(bool),
    /// `u8`
    U8(u8),
    /// `u16`
    U16(u16),
    /// `u32`
    U32(u32),
    /// `u64`
    U64(u64),
    /// `s8`
    S8(i8),
    /// `s16`
    S16(i16),
    /// `s32`
    S32(i32),
    /// `s64`
    S64(i64),
    /// `f32`
    F32(f32),
    /// `f64`
    F64(f64),
    /// `char`
    Char(char),
    /// `string`
    String(String),
    /// `list<T>`
    List(Vec<Value>),
    /// `option<T>`
    Option(Option<Box<Value>>),
    /// `result<T, E>`
    Result(Result<Box<Value>, Box<Value>>),
    /// `tuple<...>`
    Tuple(Vec<Value>),
    /// `map<K, V>`, as key-value pairs.
    Map(Vec<(Value, Value)>),
    /// A record: field names and values.
    Record(Vec<(String, Value)>),
    /// A variant case and its data.
    Variant(String, Option<Box<Value>>),
    /// An enum case.
    Enum(String),
    /// The flags that are set.
    Flags(Vec<String>),
}

/// The first byte of every encoding; bumped when the format changes.
pub const FORMAT_VERSION: u8 = 1;

mod tag {
    pub const BOOL: u8 = 0;
    pub const U8: u8 = 1;
    pub const U16: u8 = 2;
    pub const U32: u8 = 3;
    pub const U64: u8 = 4;
    pub const S8: u8 = 5;
    pub const S16: u8 = 6;
    pub const S32: u8 = 7;
    pub const S64: u8 = 8;
    pub const F32: u8 = 9;
    pub const F64: u8 = 10;
    pub const CHAR: u8 = 11;
    pub const STRING: u8 = 12;
    pub const LIST: u8 = 13;
    pub const NONE: u8 = 14;
    pub const SOME: u8 = 15;
    pub const OK: u8 = 16;
    pub const ERR: u8 = 17;
    pub const TUPLE: u8 = 18;
    pub const MAP: u8 = 19;
    pub const RECORD: u8 = 20;
    pub const VARIANT: u8 = 21;
    pub const VARIANT_EMPTY: u8 = 22;
    pub const ENUM: u8 = 23;
    pub const FLAGS: u8 = 24;
}

impl Value {
    /// The binary encoding, with its version byte.
    pub fn encode(&self) -> Vec<u8> {
        let mut encoder = Encoder {
            out: alloc::vec![FORMAT_VERSION],
            names: Default::default(),
        };
        encoder.value(self);
        encoder.out
    }

    /// Reads an encoding made by [`Value::encode`]; any bytes are safe to pass.
    pub fn decode(bytes: &[u8]) -> Result<Value, DecodeError> {
        let mut reader = Reader {
            bytes,
            pos: 0,
            names: Vec::new(),
        };
        match reader.byte()? {
            FORMAT_VERSION => {}
            other => {
                let message = alloc::format!(
                    "unknown format version {other} (this build reads {FORMAT_VERSION})"
                );
                return Err(DecodeError { offset: 0, message });
            }
        }
        let value = reader.value(0)?;
        if reader.pos != bytes.len() {
            return Err(reader.error("trailing bytes after the value".into()));
        }
        Ok(value)
    }

    /// The value as JSON: records are objects, cases are `{"case": data}` or `"case"`.
    pub fn to_json(&self) -> String {
        let mut out = String::new();
        write_json(&mut out, self);
        out
    }
}

struct Encoder {
    out: Vec<u8>,
    names: alloc::collections::BTreeMap<String, u64>,
}

impl Encoder {
    fn uint(&mut self, mut n: u64) {
        loop {
            let byte = (n & 0x7f) as u8;
            n >>= 7;
            if n == 0 {
                self.out.push(byte);
                return;
            }
            self.out.push(byte | 0x80);
        }
    }

    fn sint(&mut self, n: i64) {
        self.uint(((n << 1) ^ (n >> 63)) as u64);
    }

    fn string(&mut self, s: &str) {
        self.uint(s.len() as u64);
        self.out.extend_from_slice(s.as_bytes());
    }

    /// A name: its number if seen before, else 0 and the text.
    fn name(&mut self, name: &str) {
        if let Some(&index) = self.names.get(name) {
            self.uint(index + 1);
        } else {
            self.uint(0);
            self.string(name);
            let next = self.names.len() as u64;
            self.names.insert(name.to_string(), next);
        }
    }

    fn tagged(&mut self, tag: u8) {
        self.out.push(tag);
    }

    fn tag_uint(&mut self, tag: u8, n: u64) {
        self.tagged(tag);
        self.uint(n);
    }

    fn tag_sint(&mut self, tag: u8, n: i64) {
        self.tagged(tag);
        self.sint(n);
    }

    fn items(&mut self, tag: u8, items: &[Value]) {
        self.tagged(tag);
        self.uint(items.len() as u64);
        items.iter().for_each(|v| self.value(v));
    }

    fn value(&mut self, value: &Value) {
        match value {
            Value::Bool(b) => {
                self.tagged(tag::BOOL);
                self.out.push(u8::from(*b));
            }
            Value::U8(n) => {
                self.tagged(tag::U8);
                self.out.push(*n);
            }
            Value::U16(n) => self.tag_uint(tag::U16, (*n).into()),
            Value::U32(n) => self.tag_uint(tag::U32, (*n).into()),
            Value::U64(n) => self.tag_uint(tag::U64, *n),
            Value::S8(n) => self.tag_sint(tag::S8, (*n).into()),
            Value::S16(n) => self.tag_sint(tag::S16, (*n).into()),
            Value::S32(n) => self.tag_sint(tag::S32, (*n).into()),
            Value::S64(n) => self.tag_sint(tag::S64, *n),
            Value::F32(x) => {
                self.tagged(tag::F32);
                self.out.extend_from_slice(&x.to_le_bytes());
            }
            Value::F64(x) => {
                self.tagged(tag::F64);
                self.out.extend_from_slice(&x.to_le_bytes());
            }
            Value::Char(c) => self.tag_uint(tag::CHAR, u64::from(*c)),
            Value::String(s) => {
                self.tagged(tag::STRING);
                self.string(s);
            }
            Value::List(items) => self.items(tag::LIST, items),
            Value::Tuple(items) => self.items(tag::TUPLE, items),
            Value::Option(None) => self.tagged(tag::NONE),
            Value::Option(Some(v)) => {
                self.tagged(tag::SOME);
                self.value(v);
            }
            Value::Result(Ok(v)) => {
                self.tagged(tag::OK);
                self.value(v);
            }
            Value::Result(Err(v)) => {
                self.tagged(tag::ERR);
                self.value(v);
            }
            Value::Map(entries) => {
                self.tagged(tag::MAP);
                self.uint(entries.len() as u64);
                for (k, v) in entries {
                    self.value(k);
                    self.value(v);
                }
            }
            Value::Record(fields) => {
                self.tagged(tag::RECORD);
                self.uint(fields.len() as u64);
                for (name, v) in fields {
                    self.name(name);
                    self.value(v);
                }
            }
            Value::Variant(case, None) => {
                self.tagged(tag::VARIANT_EMPTY);
                self.name(case);
            }
            Value::Variant(case, Some(v)) => {
                self.tagged(tag::VARIANT);
                self.name(case);
                self.value(v);
            }
            Value::Enum(case) => {
                self.tagged(tag::ENUM);
                self.name(case);
            }
            Value::Flags(flags) => {
                self.tagged(tag::FLAGS);
                self.uint(flags.len() as u64);
                flags.iter().for_each(|f| self.name(f));
            }
        }
    }
}

/// Bytes that are not a valid encoding, with where it went wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecodeError {
    /// Byte offset of the problem.
    pub offset: usize,
    /// What was wrong.
    pub message: String,
}

impl core::fmt::Display for DecodeError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(
            f,
            "invalid state bytes at offset {}: {}",
            self.offset, self.message
        )
    }
}

const MAX_DEPTH: usize = 128;

struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
    names: Vec<String>,
}

impl Reader<'_> {
    fn error(&self, message: String) -> DecodeError {
        DecodeError {
            offset: self.pos,
            message,
        }
    }

    fn take(&mut self, n: usize) -> Result<&[u8], DecodeError> {
        if self.bytes.len() - self.pos < n {
            return Err(self.error("unexpected end of data".into()));
        }
        let slice = &self.bytes[self.pos..self.pos + n];
        self.pos += n;
        Ok(slice)
    }

    fn byte(&mut self) -> Result<u8, DecodeError> {
        Ok(self.take(1)?[0])
    }

    fn uint(&mut self) -> Result<u64, DecodeError> {
        let mut n: u64 = 0;
        for shift in (0..64).step_by(7) {
            let byte = self.byte()?;
            n |= u64::from(byte & 0x7f).checked_shl(shift).unwrap_or(0);
            if byte & 0x80 == 0 {
                return Ok(n);
            }
        }
        Err(self.error("integer is too long".into()))
    }

    fn sint(&mut self) -> Result<i64, DecodeError> {
        let n = self.uint()?;
        Ok(((n >> 1) as i64) ^ -((n & 1) as i64))
    }

    /// Reads an unsigned integer that must fit `T`, named `what` in the error.
    fn uint_as<T: TryFrom<u64>>(&mut self, what: &str) -> Result<T, DecodeError> {
        let n = self.uint()?;
        T::try_from(n).map_err(|_| self.error(alloc::format!("{n} is out of range for {what}")))
    }

    /// Reads a signed integer that must fit `T`, named `what` in the error.
    fn sint_as<T: TryFrom<i64>>(&mut self, what: &str) -> Result<T, DecodeError> {
        let n = self.sint()?;
        T::try_from(n).map_err(|_| self.error(alloc::format!("{n} is out of range for {what}")))
    }

    /// A count of items, each at least one byte: more than the bytes left is corrupt data.
    fn count(&mut self) -> Result<usize, DecodeError> {
        let n = self.uint()?;
        let left = (self.bytes.len() - self.pos) as u64;
        if n > left {
            return Err(self.error(alloc::format!(
                "a count of {n} items is more than the {left} bytes left"
            )));
        }
        Ok(n as usize)
    }

    fn string(&mut self) -> Result<String, DecodeError> {
        let len = self.count()?;
        let start = self.pos;
        let bytes = self.take(len)?;
        core::str::from_utf8(bytes)
            .map(ToString::to_string)
            .map_err(|_| DecodeError {
                offset: start,
                message: "string is not UTF-8".into(),
            })
    }

    fn name(&mut self) -> Result<String, DecodeError> {
        match self.uint()? {
            0 => {
                let name = self.string()?;
                self.names.push(name.clone());
                Ok(name)
            }
            n => {
                let name = self.names.get((n - 1) as usize).cloned();
                name.ok_or_else(|| self.error(alloc::format!("name number {n} was never defined")))
            }
        }
    }

    fn items(&mut self, depth: usize) -> Result<Vec<Value>, DecodeError> {
        let n = self.count()?;
        (0..n).map(|_| self.value(depth + 1)).collect()
    }

    fn boxed(&mut self, depth: usize) -> Result<Box<Value>, DecodeError> {
        self.value(depth + 1).map(Box::new)
    }

    fn value(&mut self, depth: usize) -> Result<Value, DecodeError> {
        if depth > MAX_DEPTH {
            return Err(self.error("values nest too deeply".into()));
        }
        let at = self.pos;
        Ok(match self.byte()? {
            tag::BOOL => match self.byte()? {
                0 => Value::Bool(false),
                1 => Value::Bool(true),
                other => return Err(self.error(alloc::format!("{other} is not a bool"))),
            },
            tag::U8 => Value::U8(self.byte()?),
            tag::U16 => Value::U16(self.uint_as("u16")?),
            tag::U32 => Value::U32(self.uint_as("u32")?),
            tag::U64 => Value::U64(self.uint()?),
            tag::S8 => Value::S8(self.sint_as("s8")?),
            tag::S16 => Value::S16(self.sint_as("s16")?),
            tag::S32 => Value::S32(self.sint_as("s32")?),
            tag::S64 => Value::S64(self.sint()?),
            tag::F32 => Value::F32(f32::from_le_bytes(
                self.take(4)?.try_into().expect("4 bytes"),
            )),
            tag::F64 => Value::F64(f64::from_le_bytes(
                self.take(8)?.try_into().expect("8 bytes"),
            )),
            tag::CHAR => {
                let n = self.uint()?;
                let c = u32::try_from(n).ok().and_then(char::from_u32);
                Value::Char(c.ok_or_else(|| self.error(alloc::format!("{n} is not a char")))?)
            }
            tag::STRING => Value::String(self.string()?),
            tag::LIST => Value::List(self.items(depth)?),
            tag::TUPLE => Value::Tuple(self.items(depth)?),
            tag::NONE => Value::Option(None),
            tag::SOME => Value::Option(Some(self.boxed(depth)?)),
            tag::OK => Value::Result(Ok(self.boxed(depth)?)),
            tag::ERR => Value::Result(Err(self.boxed(depth)?)),
            tag::MAP => {
                let n = self.count()?;
                let mut entries = Vec::with_capacity(n);
                for _ in 0..n {
                    entries.push((self.value(depth + 1)?, self.value(depth + 1)?));
                }
                Value::Map(entries)
            }
            tag::RECORD => {
                let n = self.count()?;
                let mut fields = Vec::with_capacity(n);
                for _ in 0..n {
                    fields.push((self.name()?, self.value(depth + 1)?));
                }
                Value::Record(fields)
            }
            tag::VARIANT => Value::Variant(self.name()?, Some(self.boxed(depth)?)),
            tag::VARIANT_EMPTY => Value::Variant(self.name()?, None),
            tag::ENUM => Value::Enum(self.name()?),
            tag::FLAGS => {
                let n = self.count()?;
                Value::Flags((0..n).map(|_| self.name()).collect::<Result<_, _>>()?)
            }
            other => {
                return Err(DecodeError {
                    offset: at,
                    message: alloc::format!("unknown value tag {other}"),
                });
            }
        })
    }
}

fn write_json(out: &mut String, value: &Value) {
    match value {
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::U8(n) => write_num(out, n),
        Value::U16(n) => write_num(out, n),
        Value::U32(n) => write_num(out, n),
        Value::U64(n) => write_num(out, n),
        Value::S8(n) => write_num(out, n),
        Value::S16(n) => write_num(out, n),
        Value::S32(n) => write_num(out, n),
        Value::S64(n) => write_num(out, n),
        Value::F32(x) if x.is_finite() => write_num(out, x),
        Value::F64(x) if x.is_finite() => write_num(out, x),
        Value::F32(_) | Value::F64(_) | Value::Option(None) => out.push_str("null"),
        Value::Char(c) => write_str(out, c.encode_utf8(&mut [0; 4])),
        Value::String(s) | Value::Enum(s) | Value::Variant(s, None) => write_str(out, s),
        Value::List(items) | Value::Tuple(items) => write_array(out, items, write_json),
        Value::Option(Some(v)) => write_json(out, v),
        Value::Result(Ok(v)) => write_object(out, [("ok", &**v)]),
        Value::Result(Err(v)) => write_object(out, [("err", &**v)]),
        Value::Variant(case, Some(v)) => write_object(out, [(case.as_str(), &**v)]),
        Value::Record(fields) => write_object(out, fields.iter().map(|(k, v)| (k.as_str(), v))),
        Value::Map(entries) => match string_keyed(entries) {
            Some(object) => write_object(out, object),
            None => write_array(out, entries, |out, (k, v)| {
                write_array(out, [k, v], write_json)
            }),
        },
        Value::Flags(flags) => write_array(out, flags, |out, flag| write_str(out, flag)),
    }
}

/// A map whose keys are all strings, as object entries; `None` for other keys.
fn string_keyed(entries: &[(Value, Value)]) -> Option<Vec<(&str, &Value)>> {
    entries
        .iter()
        .map(|(k, v)| match k {
            Value::String(k) => Some((k.as_str(), v)),
            _ => None,
        })
        .collect()
}

fn write_array<T>(
    out: &mut String,
    items: impl IntoIterator<Item = T>,
    mut each: impl FnMut(&mut String, T),
) {
    out.push('[');
    for (i, item) in items.into_iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        each(out, item);
    }
    out.push(']');
}

fn write_num(out: &mut String, n: impl core::fmt::Display) {
    let _ = write!(out, "{n}");
}

fn write_object<'a>(out: &mut String, entries: impl IntoIterator<Item = (&'a str, &'a Value)>) {
    out.push('{');
    for (i, (key, value)) in entries.into_iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        write_str(out, key);
        out.push(':');
        write_json(out, value);
    }
    out.push('}');
}

fn write_str(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;

    fn sample() -> Value {
        Value::Record(vec![
            ("name".into(), Value::String("ada \"the\" first\n".into())),
            ("age".into(), Value::U8(36)),
            ("delta".into(), Value::S64(-5)),
            ("ratio".into(), Value::F64(0.5)),
            (
                "tags".into(),
                Value::List(vec![Value::Char('x'), Value::Option(None)]),
            ),
            (
                "mode".into(),
                Value::Variant("every".into(), Some(Box::new(Value::U32(3)))),
            ),
            (
                "scores".into(),
                Value::Map(vec![(
                    Value::String("a".into()),
                    Value::Result(Ok(Box::new(Value::Bool(true)))),
                )]),
            ),
            ("flags".into(), Value::Flags(vec!["read".into()])),
            ("kind".into(), Value::Enum("admin".into())),
        ])
    }

    #[test]
    fn encoding_round_trips() {
        assert_eq!(Value::decode(&sample().encode()), Ok(sample()));
    }

    #[test]
    fn names_are_written_once() {
        let record = |n| Value::Record(vec![("a-long-field-name".into(), Value::U32(n))]);
        let one = Value::List(vec![record(1)]).encode().len();
        let two = Value::List(vec![record(1), record(2)]).encode().len();
        assert!(
            two - one < 6,
            "the second record repeats no name: {one} then {two} bytes"
        );
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        assert!(Value::decode(&[]).is_err());
        assert!(
            Value::decode(&[9])
                .unwrap_err()
                .message
                .contains("unknown format version 9")
        );
        assert!(
            Value::decode(&[1, 13, 0xff, 0xff, 0xff, 0xff, 0x0f])
                .unwrap_err()
                .message
                .contains("more than")
        );
        assert!(
            Value::decode(&[1, 200])
                .unwrap_err()
                .message
                .contains("unknown value tag 200")
        );
        let deep: Vec<u8> = core::iter::once(1)
            .chain(core::iter::repeat_n(tag::SOME, 1000))
            .collect();
        assert!(
            Value::decode(&deep)
                .unwrap_err()
                .message
                .contains("nest too deeply")
        );
        let mut trailing = sample().encode();
        trailing.push(0);
        assert!(
            Value::decode(&trailing)
                .unwrap_err()
                .message
                .contains("trailing")
        );
    }

    #[test]
    fn maps_with_other_keys_render_as_pairs() {
        let map = Value::Map(vec![
            (Value::U8(1), Value::String("a".into())),
            (Value::U8(2), Value::Option(None)),
        ]);
        assert_eq!(map.to_json(), r#"[[1,"a"],[2,null]]"#);
    }

    #[test]
    fn renders_json() {
        assert_eq!(
            sample().to_json(),
            r#"{"name":"ada \"the\" first\n","age":36,"delta":-5,"ratio":0.5,"tags":["x",null],"mode":{"every":3},"scores":{"a":{"ok":true}},"flags":["read"],"kind":"admin"}"#
        );
    }
}
