//! Calls and their answers as bytes, for hosts that talk over a
//! transport: no networking here, only the encoding.
//!
//! Values use the component model's value encoding, as wRPC's
//! specification defines it: `bool`, `u8` and `s8` as one byte, other
//! integers as LEB128 (signed ones as signed LEB128), floats as
//! little-endian IEEE 754, `char` as UTF-8, strings and lists as a LEB128
//! length and then their bytes or elements, records and tuples as their
//! members in order, variants, enums, options and results as a LEB128 case
//! index and then the case's payload, and flags as a bitset of
//! `ceil(n / 8)` little-endian bytes. A map travels as a list of
//! key-value tuples. Resources, futures and streams do not travel.
//!
//! The encoding follows the wasmtime [`Type`] of each value (an export's
//! parameter and result types), so the bytes carry no type information.
//! Decoding checks every length against the bytes left before it
//! allocates, and every byte it reads: garbage is a [`CodecError`] that
//! says what did not read and where, never a panic.
//!
//! A call is a [`CallHeader`] (format version, call id, address, export,
//! budget and deadline) followed by its arguments; an answer is an
//! [`AnswerHeader`] followed by a `result` of the results or a
//! [`RemoteError`], itself a variant, so errors travel as typed values.

use wasmtime::component::{Type, Val};

/// The format of the calls and answers this module writes; the first byte
/// of each.
pub const FORMAT: u8 = 1;

/// Lists of values that take no bytes (such as empty tuples) are refused
/// past this length: the input gives no bound on them.
const MAX_EMPTY_ELEMENTS: u64 = 1 << 16;

/// Bytes that do not read as what they should be.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{what} at byte {at}: {problem}")]
pub struct CodecError {
    /// What was being read or written, e.g. `list<u32> length`.
    pub what: String,
    /// How many bytes had been read (0 when writing).
    pub at: usize,
    /// What was wrong.
    pub problem: String,
}

/// Writes `val`, a value of type `ty`, to `out`.
pub fn encode_value(ty: &Type, val: &Val, out: &mut Vec<u8>) -> Result<(), CodecError> {
    Encoder { out }.value(ty, val)
}

/// Reads a value of type `ty` from the front of `bytes`; returns it and
/// how many bytes it took.
pub fn decode_value(ty: &Type, bytes: &[u8]) -> Result<(Val, usize), CodecError> {
    let mut reader = Reader { bytes, at: 0 };
    let val = reader.value(ty)?;
    Ok((val, reader.at))
}

/// Writes `vals`, one of each of `types`, in order.
pub fn encode_values(types: &[Type], vals: &[Val], out: &mut Vec<u8>) -> Result<(), CodecError> {
    if types.len() != vals.len() {
        return Err(CodecError {
            what: "values".into(),
            at: 0,
            problem: format!("{} values for {} types", vals.len(), types.len()),
        });
    }
    let mut encoder = Encoder { out };
    types
        .iter()
        .zip(vals)
        .try_for_each(|(ty, val)| encoder.value(ty, val))
}

/// Reads one value of each of `types`, in order, from all of `bytes`:
/// bytes left over are an error.
pub fn decode_values(types: &[Type], bytes: &[u8]) -> Result<Vec<Val>, CodecError> {
    let mut reader = Reader { bytes, at: 0 };
    let vals = (types.iter())
        .map(|ty| reader.value(ty))
        .collect::<Result<_, _>>()?;
    reader.finish()?;
    Ok(vals)
}

/// What precedes a call's arguments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallHeader {
    /// The caller's id for the call, echoed in the answer.
    pub id: u64,
    /// The app called.
    pub address: String,
    /// The export called, by its full name (e.g. `local:store/api@0.1.0#get`).
    pub export: String,
    /// Fuel the call may burn, if limited.
    pub fuel: Option<u64>,
    /// Time the call may take, in microseconds, if limited.
    pub timeout_us: Option<u64>,
    /// When the caller stops waiting, in milliseconds since the Unix epoch.
    pub deadline_ms: Option<u64>,
}

/// What precedes an answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AnswerHeader {
    /// The id of the call it answers.
    pub id: u64,
}

/// Why a call made over a transport failed, as it travels back.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RemoteError {
    /// A budget ran out: which (`fuel`, `memory`, `time`, `storage`), and the detail.
    #[error("{kind} budget exceeded: {detail}")]
    BudgetExceeded {
        /// `fuel`, `memory`, `time` or `storage`.
        kind: String,
        /// The limit and what was used.
        detail: String,
    },
    /// The guest trapped.
    #[error("trap: {0}")]
    Trap(String),
    /// The guest panicked.
    #[error("panic: {0}")]
    Panic(String),
    /// The app was stopped (after too many restarts, or drained).
    #[error("stopped: {0}")]
    Stopped(String),
    /// Nothing is served under the address.
    #[error("no app `{0}` is served here")]
    NoSuchAddress(String),
    /// The app has no such export.
    #[error("no export `{0}`")]
    NoSuchExport(String),
    /// The call's bytes did not read.
    #[error("bad request: {0}")]
    BadRequest(String),
    /// Any other failure, as text.
    #[error("{0}")]
    Other(String),
}

impl RemoteError {
    /// The budget that ran out, when that is the failure and its kind is one this host knows.
    pub fn budget_kind(&self) -> Option<crate::error::BudgetKind> {
        match self {
            RemoteError::BudgetExceeded { kind, .. } => crate::error::BudgetKind::from_name(kind),
            _ => None,
        }
    }
}

/// Writes a call: its header, then `args`, one of each of `params`.
pub fn encode_call(
    header: &CallHeader,
    params: &[Type],
    args: &[Val],
) -> Result<Vec<u8>, CodecError> {
    let mut out = vec![FORMAT];
    let mut encoder = Encoder { out: &mut out };
    encoder.u64(header.id);
    encoder.string(&header.address);
    encoder.string(&header.export);
    for limit in [header.fuel, header.timeout_us, header.deadline_ms] {
        encoder.option_u64(limit);
    }
    encode_values(params, args, &mut out)?;
    Ok(out)
}

/// Reads a call's header; returns it and the bytes of its arguments, to
/// read with [`decode_values`] once the export's parameter types are known.
pub fn decode_call_header(bytes: &[u8]) -> Result<(CallHeader, &[u8]), CodecError> {
    let mut reader = Reader { bytes, at: 0 };
    reader.format()?;
    let header = CallHeader {
        id: reader.uleb("call id", 64)?,
        address: reader.string("address")?,
        export: reader.string("export")?,
        fuel: reader.option_u64("fuel")?,
        timeout_us: reader.option_u64("timeout")?,
        deadline_ms: reader.option_u64("deadline")?,
    };
    Ok((header, &bytes[reader.at..]))
}

/// Writes an answer: its header, then `ok` (one value of each of
/// `results`) or the error.
pub fn encode_answer(
    header: &AnswerHeader,
    results: &[Type],
    answer: &Result<Vec<Val>, RemoteError>,
) -> Result<Vec<u8>, CodecError> {
    let mut out = vec![FORMAT];
    let mut encoder = Encoder { out: &mut out };
    encoder.u64(header.id);
    match answer {
        Ok(vals) => {
            encoder.out.push(0);
            encode_values(results, vals, &mut out)?;
        }
        Err(error) => {
            encoder.out.push(1);
            encoder.remote_error(error);
        }
    }
    Ok(out)
}

/// Reads an answer whose results are of `results`.
pub fn decode_answer(
    bytes: &[u8],
    results: &[Type],
) -> Result<(AnswerHeader, Result<Vec<Val>, RemoteError>), CodecError> {
    let mut reader = Reader { bytes, at: 0 };
    reader.format()?;
    let header = AnswerHeader {
        id: reader.uleb("call id", 64)?,
    };
    let answer = match reader.byte("answer")? {
        0 => {
            let vals = (results.iter())
                .map(|ty| reader.value(ty))
                .collect::<Result<_, _>>()?;
            Ok(vals)
        }
        1 => Err(reader.remote_error()?),
        other => {
            return Err(reader.error("answer", format!("case {other}, not 0 (ok) or 1 (error)")));
        }
    };
    reader.finish()?;
    Ok((header, answer))
}

/// Writes values.
struct Encoder<'a> {
    out: &'a mut Vec<u8>,
}

impl Encoder<'_> {
    fn value(&mut self, ty: &Type, val: &Val) -> Result<(), CodecError> {
        match (ty, val) {
            (Type::Bool, Val::Bool(v)) => self.out.push(u8::from(*v)),
            (Type::S8, Val::S8(v)) => self.out.push(*v as u8),
            (Type::U8, Val::U8(v)) => self.out.push(*v),
            (Type::S16, Val::S16(v)) => self.sleb(i64::from(*v)),
            (Type::U16, Val::U16(v)) => self.u64(u64::from(*v)),
            (Type::S32, Val::S32(v)) => self.sleb(i64::from(*v)),
            (Type::U32, Val::U32(v)) => self.u64(u64::from(*v)),
            (Type::S64, Val::S64(v)) => self.sleb(*v),
            (Type::U64, Val::U64(v)) => self.u64(*v),
            (Type::Float32, Val::Float32(v)) => self.out.extend(v.to_le_bytes()),
            (Type::Float64, Val::Float64(v)) => self.out.extend(v.to_le_bytes()),
            (Type::Char, Val::Char(v)) => {
                let mut buf = [0; 4];
                self.out.extend(v.encode_utf8(&mut buf).as_bytes());
            }
            (Type::String, Val::String(v)) => self.string(v),
            (Type::List(list), Val::List(vals)) => {
                self.u64(vals.len() as u64);
                let ty = list.ty();
                for val in vals {
                    self.value(&ty, val)?;
                }
            }
            (Type::FixedLengthList(list), Val::FixedLengthList(vals)) => {
                if vals.len() != list.len() as usize {
                    return Err(mismatch(ty, val));
                }
                let ty = list.ty();
                for val in vals {
                    self.value(&ty, val)?;
                }
            }
            (Type::Map(map), Val::Map(pairs)) => {
                self.u64(pairs.len() as u64);
                let (key, value) = (map.key(), map.value());
                for (k, v) in pairs {
                    self.value(&key, k)?;
                    self.value(&value, v)?;
                }
            }
            (Type::Record(record), Val::Record(fields)) => {
                if record.fields().len() != fields.len() {
                    return Err(mismatch(ty, val));
                }
                for (field, (name, val)) in record.fields().zip(fields) {
                    if field.name != name {
                        return Err(mismatch(ty, val));
                    }
                    self.value(&field.ty, val)?;
                }
            }
            (Type::Tuple(tuple), Val::Tuple(vals)) => {
                if tuple.types().len() != vals.len() {
                    return Err(mismatch(ty, val));
                }
                for (ty, val) in tuple.types().zip(vals) {
                    self.value(&ty, val)?;
                }
            }
            (Type::Variant(variant), Val::Variant(name, payload)) => {
                let Some((index, case)) = variant.cases().enumerate().find(|(_, c)| c.name == name)
                else {
                    return Err(mismatch(ty, val));
                };
                self.u64(index as u64);
                self.payload(ty, case.ty.as_ref(), payload.as_deref(), val)?;
            }
            (Type::Enum(enumeration), Val::Enum(name)) => {
                let Some(index) = enumeration.names().position(|n| n == name) else {
                    return Err(mismatch(ty, val));
                };
                self.u64(index as u64);
            }
            (Type::Option(option), Val::Option(inner)) => match inner {
                None => self.out.push(0),
                Some(inner) => {
                    self.out.push(1);
                    self.value(&option.ty(), inner)?;
                }
            },
            (Type::Result(result), Val::Result(outcome)) => match outcome {
                Ok(payload) => {
                    self.out.push(0);
                    self.payload(ty, result.ok().as_ref(), payload.as_deref(), val)?;
                }
                Err(payload) => {
                    self.out.push(1);
                    self.payload(ty, result.err().as_ref(), payload.as_deref(), val)?;
                }
            },
            (Type::Flags(flags), Val::Flags(set)) => {
                let names: Vec<&str> = flags.names().collect();
                let mut bits = vec![0u8; names.len().div_ceil(8)];
                for name in set {
                    let Some(i) = names.iter().position(|n| n == name) else {
                        return Err(mismatch(ty, val));
                    };
                    bits[i / 8] |= 1 << (i % 8);
                }
                self.out.extend(bits);
            }
            (
                Type::Own(_)
                | Type::Borrow(_)
                | Type::Future(_)
                | Type::Stream(_)
                | Type::ErrorContext,
                _,
            ) => {
                return Err(CodecError {
                    what: type_name(ty),
                    at: 0,
                    problem: "resources, futures, streams and error contexts do not travel".into(),
                });
            }
            _ => return Err(mismatch(ty, val)),
        }
        Ok(())
    }

    /// A case's payload: present exactly when the case has a type.
    fn payload(
        &mut self,
        ty: &Type,
        case: Option<&Type>,
        payload: Option<&Val>,
        val: &Val,
    ) -> Result<(), CodecError> {
        match (case, payload) {
            (Some(case), Some(payload)) => self.value(case, payload),
            (None, None) => Ok(()),
            _ => Err(mismatch(ty, val)),
        }
    }

    fn u64(&mut self, mut v: u64) {
        loop {
            let byte = (v & 0x7f) as u8;
            v >>= 7;
            if v == 0 {
                self.out.push(byte);
                return;
            }
            self.out.push(byte | 0x80);
        }
    }

    fn sleb(&mut self, mut v: i64) {
        loop {
            let byte = (v & 0x7f) as u8;
            v >>= 7;
            let done = (v == 0 && byte & 0x40 == 0) || (v == -1 && byte & 0x40 != 0);
            if done {
                self.out.push(byte);
                return;
            }
            self.out.push(byte | 0x80);
        }
    }

    fn string(&mut self, text: &str) {
        self.u64(text.len() as u64);
        self.out.extend(text.as_bytes());
    }

    fn option_u64(&mut self, v: Option<u64>) {
        match v {
            None => self.out.push(0),
            Some(v) => {
                self.out.push(1);
                self.u64(v);
            }
        }
    }

    fn remote_error(&mut self, error: &RemoteError) {
        let (case, texts): (u64, Vec<&str>) = match error {
            RemoteError::BudgetExceeded { kind, detail } => (0, vec![kind, detail]),
            RemoteError::Trap(text) => (1, vec![text]),
            RemoteError::Panic(text) => (2, vec![text]),
            RemoteError::Stopped(text) => (3, vec![text]),
            RemoteError::NoSuchAddress(text) => (4, vec![text]),
            RemoteError::NoSuchExport(text) => (5, vec![text]),
            RemoteError::BadRequest(text) => (6, vec![text]),
            RemoteError::Other(text) => (7, vec![text]),
        };
        self.u64(case);
        for text in texts {
            self.string(text);
        }
    }
}

/// Reads values from bytes, counting where it is.
struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl Reader<'_> {
    fn value(&mut self, ty: &Type) -> Result<Val, CodecError> {
        Ok(match ty {
            Type::Bool => match self.byte("bool")? {
                0 => Val::Bool(false),
                1 => Val::Bool(true),
                other => return Err(self.error("bool", format!("{other}, not 0 or 1"))),
            },
            Type::S8 => Val::S8(self.byte("s8")? as i8),
            Type::U8 => Val::U8(self.byte("u8")?),
            Type::S16 => Val::S16(self.sleb_as("s16")?),
            Type::U16 => Val::U16(self.uleb_as("u16")?),
            Type::S32 => Val::S32(self.sleb_as("s32")?),
            Type::U32 => Val::U32(self.uleb_as("u32")?),
            Type::S64 => Val::S64(self.sleb("s64", 64)?),
            Type::U64 => Val::U64(self.uleb("u64", 64)?),
            Type::Float32 => Val::Float32(f32::from_le_bytes(self.array("f32")?)),
            Type::Float64 => Val::Float64(f64::from_le_bytes(self.array("f64")?)),
            Type::Char => Val::Char(self.char()?),
            Type::String => Val::String(self.string("string")?),
            Type::List(list) => {
                let ty = list.ty();
                let n = self.length("list", &ty)?;
                Val::List(self.values(&ty, n)?)
            }
            Type::FixedLengthList(list) => {
                let ty = list.ty();
                let n = u64::from(list.len());
                self.check_room("fixed-length list", &ty, n)?;
                Val::FixedLengthList(self.values(&ty, n as usize)?)
            }
            Type::Map(map) => {
                let (key, value) = (map.key(), map.value());
                let n = self.uleb_length("map")?;
                let pair_size = min_size(&key) + min_size(&value);
                self.check_count("map", n, pair_size)?;
                let mut pairs = Vec::with_capacity(n as usize);
                for _ in 0..n {
                    pairs.push((self.value(&key)?, self.value(&value)?));
                }
                Val::Map(pairs)
            }
            Type::Record(record) => Val::Record(
                (record.fields())
                    .map(|field| Ok((field.name.to_owned(), self.value(&field.ty)?)))
                    .collect::<Result<_, CodecError>>()?,
            ),
            Type::Tuple(tuple) => Val::Tuple(
                (tuple.types())
                    .map(|ty| self.value(&ty))
                    .collect::<Result<_, _>>()?,
            ),
            Type::Variant(variant) => {
                let index = self.uleb("variant case", 32)?;
                let Some(case) = variant.cases().nth(index as usize) else {
                    let count = variant.cases().len();
                    return Err(self.error(
                        "variant case",
                        format!("{index}, but the variant has {count} cases"),
                    ));
                };
                let payload = match &case.ty {
                    Some(ty) => Some(Box::new(self.value(ty)?)),
                    None => None,
                };
                Val::Variant(case.name.to_owned(), payload)
            }
            Type::Enum(enumeration) => {
                let index = self.uleb("enum case", 32)?;
                let Some(name) = enumeration.names().nth(index as usize) else {
                    let count = enumeration.names().len();
                    return Err(self.error(
                        "enum case",
                        format!("{index}, but the enum has {count} cases"),
                    ));
                };
                Val::Enum(name.to_owned())
            }
            Type::Option(option) => match self.byte("option")? {
                0 => Val::Option(None),
                1 => Val::Option(Some(Box::new(self.value(&option.ty())?))),
                other => {
                    return Err(
                        self.error("option", format!("case {other}, not 0 (none) or 1 (some)"))
                    );
                }
            },
            Type::Result(result) => match self.byte("result")? {
                0 => Val::Result(Ok(self.payload(result.ok())?)),
                1 => Val::Result(Err(self.payload(result.err())?)),
                other => {
                    return Err(
                        self.error("result", format!("case {other}, not 0 (ok) or 1 (error)"))
                    );
                }
            },
            Type::Flags(flags) => {
                let names: Vec<&str> = flags.names().collect();
                let bits = self.take("flags", names.len().div_ceil(8))?;
                let set = (0..bits.len() * 8).filter(|i| bits[i / 8] & (1 << (i % 8)) != 0);
                let mut chosen = Vec::new();
                for i in set {
                    let Some(name) = names.get(i) else {
                        return Err(self.error(
                            "flags",
                            format!("bit {i} is set, but there are {} flags", names.len()),
                        ));
                    };
                    chosen.push((*name).to_owned());
                }
                Val::Flags(chosen)
            }
            Type::Own(_)
            | Type::Borrow(_)
            | Type::Future(_)
            | Type::Stream(_)
            | Type::ErrorContext => {
                return Err(self.error(
                    &type_name(ty),
                    "resources, futures, streams and error contexts do not travel".into(),
                ));
            }
        })
    }

    /// `n` values of `ty`.
    fn values(&mut self, ty: &Type, n: usize) -> Result<Vec<Val>, CodecError> {
        let mut vals = Vec::with_capacity(n);
        for _ in 0..n {
            vals.push(self.value(ty)?);
        }
        Ok(vals)
    }

    fn payload(&mut self, ty: Option<Type>) -> Result<Option<Box<Val>>, CodecError> {
        ty.map(|ty| self.value(&ty).map(Box::new)).transpose()
    }

    /// A list's length, checked against the bytes left.
    fn length(&mut self, what: &str, element: &Type) -> Result<usize, CodecError> {
        let n = self.uleb_length(what)?;
        self.check_room(what, element, n)?;
        Ok(n as usize)
    }

    fn check_room(&self, what: &str, element: &Type, n: u64) -> Result<(), CodecError> {
        self.check_count(what, n, min_size(element))
    }

    /// Refuses `n` elements of at least `size` bytes each that the bytes
    /// left cannot hold (or, for elements of no bytes, too many).
    fn check_count(&self, what: &str, n: u64, size: usize) -> Result<(), CodecError> {
        let left = (self.bytes.len() - self.at) as u64;
        let fits = match size {
            0 => n <= MAX_EMPTY_ELEMENTS,
            size => n.saturating_mul(size as u64) <= left,
        };
        match fits {
            true => Ok(()),
            false => Err(self.error(
                &format!("{what} length"),
                format!("{n} elements, but only {left} bytes are left"),
            )),
        }
    }

    fn byte(&mut self, what: &str) -> Result<u8, CodecError> {
        Ok(self.take(what, 1)?[0])
    }

    fn array<const N: usize>(&mut self, what: &str) -> Result<[u8; N], CodecError> {
        let bytes = self.take(what, N)?;
        Ok(bytes.try_into().expect("took N bytes"))
    }

    fn take(&mut self, what: &str, n: usize) -> Result<&[u8], CodecError> {
        let left = self.bytes.len() - self.at;
        if n > left {
            return Err(self.error(what, format!("{n} bytes needed, {left} left")));
        }
        let taken = &self.bytes[self.at..self.at + n];
        self.at += n;
        Ok(taken)
    }

    /// An unsigned LEB128 number of at most `bits` bits.
    fn uleb(&mut self, what: &str, bits: u32) -> Result<u64, CodecError> {
        self.uleb_raw(bits)
            .map_err(|problem| self.error(what, problem))
    }

    /// The length of a `what` (a string, list or map).
    fn uleb_length(&mut self, what: &str) -> Result<u64, CodecError> {
        // The label is made only for an error: lengths are read often.
        (self.uleb_raw(32)).map_err(|problem| self.error(&format!("{what} length"), problem))
    }

    fn uleb_raw(&mut self, bits: u32) -> Result<u64, String> {
        let (mut value, mut shift) = (0u64, 0u32);
        loop {
            let Some(&byte) = self.bytes.get(self.at) else {
                return Err("1 bytes needed, 0 left".into());
            };
            self.at += 1;
            let low = u64::from(byte & 0x7f);
            // Bits past `bits` must be zero.
            if shift >= bits || (bits - shift < 7 && low >> (bits - shift) != 0) {
                return Err(format!("does not fit in {bits} bits"));
            }
            value |= low << shift;
            if byte & 0x80 == 0 {
                return Ok(value);
            }
            shift += 7;
        }
    }

    /// A signed LEB128 number of at most `bits` bits.
    fn sleb(&mut self, what: &str, bits: u32) -> Result<i64, CodecError> {
        let (mut value, mut shift) = (0i64, 0u32);
        loop {
            let byte = self.byte(what)?;
            if shift >= bits {
                return Err(self.error(what, format!("does not fit in {bits} bits")));
            }
            value |= i64::from(byte & 0x7f) << shift.min(63);
            shift += 7;
            if byte & 0x80 == 0 {
                if shift < 64 && byte & 0x40 != 0 {
                    value |= -1i64 << shift;
                }
                return Ok(value);
            }
        }
    }

    fn uleb_as<T: TryFrom<u64>>(&mut self, what: &str) -> Result<T, CodecError> {
        let bits = (std::mem::size_of::<T>() * 8) as u32;
        let v = self.uleb(what, bits)?;
        T::try_from(v).map_err(|_| self.error(what, format!("{v} does not fit in {bits} bits")))
    }

    fn sleb_as<T: TryFrom<i64>>(&mut self, what: &str) -> Result<T, CodecError> {
        let bits = (std::mem::size_of::<T>() * 8) as u32;
        let v = self.sleb(what, bits)?;
        T::try_from(v).map_err(|_| self.error(what, format!("{v} does not fit in {bits} bits")))
    }

    fn char(&mut self) -> Result<char, CodecError> {
        let first = *self
            .bytes
            .get(self.at)
            .ok_or_else(|| self.error("char", "1 byte needed, 0 left".into()))?;
        let len = match first {
            0x00..=0x7f => 1,
            0xc0..=0xdf => 2,
            0xe0..=0xef => 3,
            0xf0..=0xf7 => 4,
            _ => return Err(self.error("char", format!("{first:#04x} starts no UTF-8 character"))),
        };
        let at = self.at;
        let bytes = self.take("char", len)?;
        let text = std::str::from_utf8(bytes).map_err(|_| CodecError {
            what: "char".into(),
            at,
            problem: "not UTF-8".into(),
        })?;
        Ok(text.chars().next().expect("one character"))
    }

    fn string(&mut self, what: &str) -> Result<String, CodecError> {
        let n = self.uleb_length(what)?;
        self.check_count(what, n, 1)?;
        let at = self.at;
        let bytes = self.take(what, n as usize)?;
        String::from_utf8(bytes.to_vec()).map_err(|err| CodecError {
            what: what.into(),
            at,
            problem: format!("not UTF-8: {err}"),
        })
    }

    fn option_u64(&mut self, what: &str) -> Result<Option<u64>, CodecError> {
        match self.byte(what)? {
            0 => Ok(None),
            1 => self.uleb(what, 64).map(Some),
            other => Err(self.error(what, format!("case {other}, not 0 (none) or 1 (some)"))),
        }
    }

    fn format(&mut self) -> Result<(), CodecError> {
        match self.byte("format")? {
            FORMAT => Ok(()),
            other => Err(self.error(
                "format",
                format!("version {other}; this host reads version {FORMAT}"),
            )),
        }
    }

    fn remote_error(&mut self) -> Result<RemoteError, CodecError> {
        let case = self.uleb("error case", 32)?;
        Ok(match case {
            0 => RemoteError::BudgetExceeded {
                kind: self.string("budget kind")?,
                detail: self.string("budget detail")?,
            },
            1 => RemoteError::Trap(self.string("trap")?),
            2 => RemoteError::Panic(self.string("panic")?),
            3 => RemoteError::Stopped(self.string("stopped")?),
            4 => RemoteError::NoSuchAddress(self.string("address")?),
            5 => RemoteError::NoSuchExport(self.string("export")?),
            6 => RemoteError::BadRequest(self.string("bad request")?),
            7 => RemoteError::Other(self.string("error")?),
            other => return Err(self.error("error case", format!("{other}, but there are 8"))),
        })
    }

    fn finish(&self) -> Result<(), CodecError> {
        match self.bytes.len() - self.at {
            0 => Ok(()),
            left => Err(self.error("end", format!("{left} bytes left over"))),
        }
    }

    fn error(&self, what: &str, problem: String) -> CodecError {
        CodecError {
            what: what.into(),
            at: self.at,
            problem,
        }
    }
}

/// The fewest bytes a value of `ty` takes.
fn min_size(ty: &Type) -> usize {
    match ty {
        Type::Float32 => 4,
        Type::Float64 => 8,
        Type::Record(record) => record.fields().map(|f| min_size(&f.ty)).sum(),
        Type::Tuple(tuple) => tuple.types().map(|t| min_size(&t)).sum(),
        Type::FixedLengthList(list) => list.len() as usize * min_size(&list.ty()),
        Type::Flags(flags) => flags.names().len().div_ceil(8),
        _ => 1,
    }
}

fn mismatch(ty: &Type, val: &Val) -> CodecError {
    CodecError {
        what: type_name(ty),
        at: 0,
        problem: format!("the value {val:?} is not of this type"),
    }
}

/// A short name of `ty`, for errors.
fn type_name(ty: &Type) -> String {
    let name = format!("{ty:?}");
    name.split(['(', ' '])
        .next()
        .unwrap_or(&name)
        .to_lowercase()
}
