//! The codec: round trips of random values of every WIT type kind, byte
//! vectors written by hand from the component model's value encoding (as
//! wRPC's specification uses it), and garbage, which must be a clear
//! error and never a panic.

use iso_host::codec::{
    AnswerHeader, CallHeader, RemoteError, decode_answer, decode_call_header, decode_value,
    decode_values, encode_answer, encode_call, encode_value,
};
use wasmtime::component::types::ComponentItem;
use wasmtime::component::{Component, Type, Val};
use wasmtime::{Config, Engine};

const WIT: &str = r#"
package test:codec;

world kinds {
    record point { x: s32, y: s32, label: string }
    variant shape { empty, circle(f64), poly(list<point>) }
    enum color { red, green, blue }
    flags perms { read, write, exec }
    flags many { f0, f1, f2, f3, f4, f5, f6, f7, f8, f9 }

    export all: func(
        a: bool, b: s8, c: u8, d: s16, e: u16, f: s32, g: u32, h: s64, i: u64,
        j: f32, k: f64, l: char, m: string, n: list<u32>, o: point,
        p: tuple<u8, string, option<bool>>, q: shape, r: color, s: option<u64>,
        t: result<string, u8>, u: perms, v: many, w: result, x: list<list<shape>>,
        y: result<_, string>, z: option<option<char>>,
    );
}
"#;

/// The parameter types of `all`, named.
fn kinds() -> Vec<(String, Type)> {
    let bytes = iso_host::stub::component(WIT, Some("kinds")).unwrap();
    let engine = Engine::new(&Config::new()).unwrap();
    let component = Component::new(&engine, bytes).unwrap();
    let Some(ComponentItem::ComponentFunc(all)) =
        (component.component_type().get_export(&engine, "all")).map(|export| export.ty)
    else {
        panic!("no export `all`");
    };
    all.params()
        .map(|(name, ty)| (name.to_owned(), ty))
        .collect()
}

fn ty(kinds: &[(String, Type)], name: &str) -> Type {
    kinds.iter().find(|(n, _)| n == name).unwrap().1.clone()
}

/// SplitMix64, so a failure can be run again.
struct Random(u64);

impl Random {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    fn text(&mut self) -> String {
        let chars = ['a', 'é', '\u{10348}', '"', '\0', 'z', '日'];
        (0..self.below(6))
            .map(|_| chars[self.below(chars.len() as u64) as usize])
            .collect()
    }

    /// A random value of `ty`.
    fn val(&mut self, ty: &Type, depth: u32) -> Val {
        let n = if depth > 2 { 0 } else { self.below(4) };
        match ty {
            Type::Bool => Val::Bool(self.next() & 1 == 1),
            Type::S8 => Val::S8(self.next() as i8),
            Type::U8 => Val::U8(self.next() as u8),
            Type::S16 => Val::S16(self.next() as i16),
            Type::U16 => Val::U16(self.next() as u16),
            Type::S32 => Val::S32(self.next() as i32),
            Type::U32 => Val::U32(self.next() as u32),
            Type::S64 => Val::S64(self.next() as i64),
            Type::U64 => Val::U64(self.next()),
            Type::Float32 => Val::Float32(self.next() as f32 / 7.0),
            Type::Float64 => Val::Float64(f64::from_bits(self.next() >> 2)),
            Type::Char => Val::Char(self.text().chars().next().unwrap_or('x')),
            Type::String => Val::String(self.text()),
            Type::List(list) => {
                Val::List((0..n).map(|_| self.val(&list.ty(), depth + 1)).collect())
            }
            Type::Record(record) => Val::Record(
                (record.fields())
                    .map(|f| (f.name.to_owned(), self.val(&f.ty, depth + 1)))
                    .collect(),
            ),
            Type::Tuple(tuple) => {
                Val::Tuple(tuple.types().map(|t| self.val(&t, depth + 1)).collect())
            }
            Type::Variant(variant) => {
                let cases: Vec<_> = variant.cases().collect();
                let case = &cases[self.below(cases.len() as u64) as usize];
                let payload = case.ty.as_ref().map(|t| Box::new(self.val(t, depth + 1)));
                Val::Variant(case.name.to_owned(), payload)
            }
            Type::Enum(e) => {
                let names: Vec<&str> = e.names().collect();
                Val::Enum(names[self.below(names.len() as u64) as usize].to_owned())
            }
            Type::Option(o) => {
                Val::Option((self.next() & 1 == 1).then(|| Box::new(self.val(&o.ty(), depth + 1))))
            }
            Type::Result(r) => {
                let ok = self.next() & 1 == 1;
                let side = if ok { r.ok() } else { r.err() };
                let payload = side.map(|t| Box::new(self.val(&t, depth + 1)));
                Val::Result(if ok { Ok(payload) } else { Err(payload) })
            }
            Type::Flags(flags) => Val::Flags(
                (flags.names())
                    .filter(|_| self.next() & 1 == 1)
                    .map(str::to_owned)
                    .collect(),
            ),
            other => panic!("no values of {other:?} here"),
        }
    }
}

#[test]
fn random_values_of_every_kind_round_trip() {
    let kinds = kinds();
    assert_eq!(kinds.len(), 26);
    let mut random = Random(7);
    for (name, ty) in &kinds {
        for _ in 0..300 {
            let val = random.val(ty, 0);
            let mut bytes = Vec::new();
            encode_value(ty, &val, &mut bytes).unwrap();
            let (back, used) = decode_value(ty, &bytes)
                .unwrap_or_else(|err| panic!("{name}: {val:?} as {bytes:?}: {err}"));
            assert_eq!(back, val, "{name}: {bytes:?}");
            assert_eq!(used, bytes.len(), "{name}");
        }
    }
}

/// The bytes of `val` as a value of parameter `name`.
fn bytes_of(kinds: &[(String, Type)], name: &str, val: Val) -> Vec<u8> {
    let mut out = Vec::new();
    encode_value(&ty(kinds, name), &val, &mut out).unwrap();
    let (back, _) = decode_value(&ty(kinds, name), &out).unwrap();
    assert_eq!(back, val);
    out
}

#[test]
fn values_are_the_bytes_the_spec_gives() {
    let k = kinds();
    let some = |v: Val| Val::Option(Some(Box::new(v)));
    let cases: Vec<(&str, Val, Vec<u8>)> = vec![
        ("a", Val::Bool(true), vec![0x01]),
        ("b", Val::S8(-1), vec![0xff]),
        ("c", Val::U8(200), vec![200]),
        // LEB128: 300 = 0b1_0010_1100.
        ("g", Val::U32(300), vec![0xac, 0x02]),
        ("e", Val::U16(127), vec![0x7f]),
        ("e", Val::U16(128), vec![0x80, 0x01]),
        // Signed LEB128.
        ("f", Val::S32(-1), vec![0x7f]),
        ("f", Val::S32(63), vec![0x3f]),
        ("f", Val::S32(64), vec![0xc0, 0x00]),
        ("h", Val::S64(-129), vec![0xff, 0x7e]),
        (
            "i",
            Val::U64(u64::MAX),
            vec![0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01],
        ),
        // Floats: little-endian IEEE 754.
        ("j", Val::Float32(1.0), vec![0x00, 0x00, 0x80, 0x3f]),
        ("k", Val::Float64(-2.0), vec![0, 0, 0, 0, 0, 0, 0, 0xc0]),
        // char: UTF-8.
        ("l", Val::Char('é'), vec![0xc3, 0xa9]),
        // string: length, then UTF-8 bytes.
        ("m", Val::String("hi".into()), vec![0x02, b'h', b'i']),
        (
            "n",
            Val::List(vec![Val::U32(1), Val::U32(300)]),
            vec![0x02, 0x01, 0xac, 0x02],
        ),
        (
            "o",
            Val::Record(vec![
                ("x".into(), Val::S32(1)),
                ("y".into(), Val::S32(-2)),
                ("label".into(), Val::String("p".into())),
            ]),
            vec![0x01, 0x7e, 0x01, b'p'],
        ),
        (
            "p",
            Val::Tuple(vec![
                Val::U8(9),
                Val::String("".into()),
                some(Val::Bool(false)),
            ]),
            vec![0x09, 0x00, 0x01, 0x00],
        ),
        // Variant: case index, then payload.
        ("q", Val::Variant("empty".into(), None), vec![0x00]),
        (
            "q",
            Val::Variant("circle".into(), Some(Box::new(Val::Float64(1.0)))),
            vec![0x01, 0, 0, 0, 0, 0, 0, 0xf0, 0x3f],
        ),
        ("r", Val::Enum("blue".into()), vec![0x02]),
        ("s", Val::Option(None), vec![0x00]),
        ("s", some(Val::U64(5)), vec![0x01, 0x05]),
        (
            "t",
            Val::Result(Err(Some(Box::new(Val::U8(3))))),
            vec![0x01, 0x03],
        ),
        (
            "t",
            Val::Result(Ok(Some(Box::new(Val::String("a".into()))))),
            vec![0x00, 0x01, b'a'],
        ),
        // Flags: a bitset, flag i at bit i, little-endian bytes.
        (
            "u",
            Val::Flags(vec!["read".into(), "exec".into()]),
            vec![0b101],
        ),
        (
            "v",
            Val::Flags(vec!["f1".into(), "f9".into()]),
            vec![0b10, 0b10],
        ),
        ("w", Val::Result(Ok(None)), vec![0x00]),
        (
            "y",
            Val::Result(Err(Some(Box::new(Val::String("x".into()))))),
            vec![0x01, 0x01, b'x'],
        ),
    ];
    for (name, val, expected) in cases {
        assert_eq!(bytes_of(&k, name, val.clone()), expected, "{name}: {val:?}");
    }
}

#[test]
fn calls_and_answers_round_trip_with_their_headers() {
    let k = kinds();
    let params = [ty(&k, "m"), ty(&k, "g")];
    let header = CallHeader {
        id: 42,
        address: "store".into(),
        export: "local:store/api@0.1.0#get".into(),
        fuel: Some(1_000_000),
        timeout_us: None,
        deadline_ms: Some(1_767_225_600_000),
    };
    let args = [Val::String("a".into()), Val::U32(7)];
    let call = encode_call(&header, &params, &args).unwrap();
    assert_eq!(call[0], 1, "the format version comes first");
    let (read, rest) = decode_call_header(&call).unwrap();
    assert_eq!(read, header);
    assert_eq!(decode_values(&params, rest).unwrap(), args);

    let results = [ty(&k, "s")];
    for answer in [
        Ok(vec![Val::Option(Some(Box::new(Val::U64(9))))]),
        Err(RemoteError::BudgetExceeded {
            kind: "fuel".into(),
            detail: "limit 10, used 10".into(),
        }),
        Err(RemoteError::Trap("unreachable".into())),
        Err(RemoteError::NoSuchExport("nope".into())),
    ] {
        let bytes = encode_answer(&AnswerHeader { id: 42 }, &results, &answer).unwrap();
        let (header, back) = decode_answer(&bytes, &results).unwrap();
        assert_eq!((header.id, back), (42, answer));
    }
}

#[test]
fn bad_bytes_are_clear_errors() {
    let k = kinds();
    let err =
        |name: &str, bytes: &[u8]| decode_value(&ty(&k, name), bytes).unwrap_err().to_string();
    assert_eq!(err("a", &[2]), "bool at byte 1: 2, not 0 or 1");
    assert_eq!(
        err("m", &[5, b'a']),
        "string length at byte 1: 5 elements, but only 1 bytes are left"
    );
    assert_eq!(
        err("m", &[1, 0xff]),
        "string at byte 1: not UTF-8: invalid utf-8 sequence of 1 bytes from index 0"
    );
    assert_eq!(
        err("g", &[0xff, 0xff, 0xff, 0xff, 0x7f]),
        "u32 at byte 5: does not fit in 32 bits"
    );
    assert_eq!(
        err("e", &[0xff, 0xff, 0x07]),
        "u16 at byte 3: does not fit in 16 bits"
    );
    assert_eq!(
        err("r", &[3]),
        "enum case at byte 1: 3, but the enum has 3 cases"
    );
    assert_eq!(
        err("u", &[0b1000]),
        "flags at byte 1: bit 3 is set, but there are 3 flags"
    );
    assert_eq!(err("k", &[0, 0]), "f64 at byte 0: 8 bytes needed, 2 left");
    assert_eq!(
        err("l", &[0xff]),
        "char at byte 0: 0xff starts no UTF-8 character"
    );
    // A list claiming four billion elements allocates nothing.
    assert_eq!(
        err("x", &[0xff, 0xff, 0xff, 0xff, 0x0f]),
        "list length at byte 5: 4294967295 elements, but only 0 bytes are left"
    );
    let empty = encode_call(&header(), &[], &[]).unwrap();
    let (_, rest) = decode_call_header(&empty).unwrap();
    assert!(rest.is_empty());
    let mut old = encode_call(&header(), &[], &[]).unwrap();
    old[0] = 9;
    assert_eq!(
        decode_call_header(&old).unwrap_err().to_string(),
        "format at byte 1: version 9; this host reads version 1"
    );
    assert_eq!(
        decode_values(&[ty(&k, "c")], &[1, 2])
            .unwrap_err()
            .to_string(),
        "end at byte 1: 1 bytes left over"
    );
}

fn header() -> CallHeader {
    CallHeader {
        id: 1,
        address: "a".into(),
        export: "f".into(),
        fuel: None,
        timeout_us: None,
        deadline_ms: None,
    }
}

#[test]
fn garbage_never_panics() {
    let kinds = kinds();
    let types: Vec<Type> = kinds.iter().map(|(_, ty)| ty.clone()).collect();
    let mut random = Random(11);
    for round in 0..20_000 {
        let len = random.below(24) as usize;
        let bytes: Vec<u8> = (0..len).map(|_| random.next() as u8).collect();
        let ty = &types[round % types.len()];
        let _ = decode_value(ty, &bytes);
        let _ = decode_call_header(&bytes);
        let _ = decode_answer(&bytes, &types[..3]);
        let _ = decode_values(&types[..4], &bytes);
    }
}
