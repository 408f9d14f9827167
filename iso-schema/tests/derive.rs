//! `#[derive(Schema)]` on every kind of type, and the evolution rules on real
//! Rust types: data saved by a v1 type restored as its v2.

#![allow(clippy::box_collection)]

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet, VecDeque};

use iso_schema::{Restored, Schema, Type, restore, save, schema_text};

fn round_trip<T: Schema + PartialEq + std::fmt::Debug>(value: T) {
    let restored: Restored<T> = restore(&save(&value)).unwrap();
    assert_eq!(restored.value, value);
    assert!(restored.dropped.is_empty());
    assert_eq!(
        Type::parse(&schema_text::<T>()),
        Ok(T::schema()),
        "the schema text parses back"
    );
}

/// v1 data read as v2: each module below is one version of a type.
fn migrate<Old: Schema, New: Schema>(old: &Old) -> Result<Restored<New>, String> {
    restore::<New>(&save(old)).map_err(|e| e.to_string())
}

#[derive(Schema, Debug, PartialEq, Clone)]
struct Everything {
    flag: bool,
    small: u8,
    medium: i32,
    big: u64,
    ratio: f64,
    letter: char,
    text: String,
    list: Vec<u16>,
    queue: VecDeque<i8>,
    maybe: Option<Box<String>>,
    hashed: HashMap<String, u32>,
    sorted: BTreeMap<u8, Vec<String>>,
    set: HashSet<u64>,
    sorted_set: BTreeSet<char>,
    pair: (u8, String),
    array: [u32; 3],
    outcome: Result<u8, String>,
    nested: Inner,
    mode: Mode,
    color: Color,
}

#[derive(Schema, Debug, PartialEq, Default, Clone)]
struct Inner {
    #[schema(rename = "identifier")]
    id: u32,
    #[schema(skip)]
    cache: Vec<u8>,
}

#[derive(Schema, Debug, PartialEq, Default, Clone)]
enum Mode {
    #[default]
    Off,
    Every(u32),
    Between(u8, u8),
    Custom {
        every: u32,
        label: Option<String>,
    },
}

#[derive(Schema, Debug, PartialEq, Default, Clone)]
enum Color {
    #[default]
    Red,
    DarkBlue,
}

#[derive(Schema, Debug, PartialEq)]
struct Meters(f64);

#[derive(Schema, Debug, PartialEq)]
struct Marker;

#[derive(Schema, Debug, PartialEq)]
struct Wrapper<T> {
    items: Vec<T>,
}

fn everything() -> Everything {
    Everything {
        flag: true,
        small: 7,
        medium: -40,
        big: u64::MAX,
        ratio: 0.25,
        letter: 'λ',
        text: "hello".into(),
        list: vec![1, 2],
        queue: VecDeque::from([-1, 1]),
        maybe: Some(Box::new("boxed".into())),
        hashed: HashMap::from([("a".into(), 1)]),
        sorted: BTreeMap::from([(1, vec!["x".into()])]),
        set: HashSet::from([9]),
        sorted_set: BTreeSet::from(['a', 'b']),
        pair: (1, "one".into()),
        array: [1, 2, 3],
        outcome: Err("nope".into()),
        nested: Inner {
            id: 5,
            cache: vec![],
        },
        mode: Mode::Custom {
            every: 3,
            label: Some("x".into()),
        },
        color: Color::DarkBlue,
    }
}

#[test]
fn every_supported_type_round_trips() {
    round_trip(everything());
    for mode in [Mode::Off, Mode::Every(4), Mode::Between(1, 2)] {
        round_trip(Everything {
            mode,
            ..everything()
        });
    }
    round_trip(Meters(1.5));
    round_trip(Marker);
    round_trip(Wrapper {
        items: vec![Color::Red, Color::DarkBlue],
    });
}

#[test]
fn schema_text_uses_kebab_case_names_and_renames() {
    assert_eq!(schema_text::<Inner>(), "record inner { identifier: u32 }");
    assert_eq!(schema_text::<Color>(), "enum color { red, dark-blue }");
    assert_eq!(
        schema_text::<Mode>(),
        "variant mode { off, every(u32), between(tuple<u8, u8>), custom(record custom { every: u32, label: option<string> }) }"
    );
    assert_eq!(schema_text::<Meters>(), "tuple<f64>");
    assert_eq!(
        schema_text::<Wrapper<u8>>(),
        "record wrapper { items: list<u8> }"
    );
}

#[test]
fn skipped_fields_come_back_as_their_default() {
    let restored: Restored<Inner> = restore(&save(&Inner {
        id: 1,
        cache: vec![1, 2, 3],
    }))
    .unwrap();
    assert_eq!(
        restored.value,
        Inner {
            id: 1,
            cache: vec![]
        }
    );
}

#[test]
fn json_rendering_shows_the_state() {
    let json = Inner {
        id: 5,
        cache: vec![],
    }
    .to_value()
    .to_json();
    assert_eq!(json, r#"{"identifier":5}"#);
}

mod v1 {
    use iso_schema::Schema;

    #[derive(Schema)]
    pub struct State {
        pub count: u32,
        pub users: Vec<User>,
        pub legacy: String,
        pub level: Level,
    }

    #[derive(Schema)]
    pub struct User {
        pub name: String,
    }

    #[derive(Schema)]
    pub enum Level {
        Low,
        High,
        Retired,
    }
}

fn v1_state(level: v1::Level) -> v1::State {
    v1::State {
        count: 3,
        users: vec![
            v1::User { name: "ada".into() },
            v1::User { name: "bob".into() },
        ],
        legacy: "old".into(),
        level,
    }
}

mod v2_defaults {
    use iso_schema::Schema;

    #[derive(Schema, Debug)]
    pub struct State {
        pub count: u64,
        pub users: Vec<User>,
        pub level: Level,
        #[schema(default = "ten")]
        pub limit: u32,
    }

    fn ten() -> u32 {
        10
    }

    #[derive(Schema, Debug)]
    pub struct User {
        #[schema(rename = "name")]
        pub display_name: String,
        #[schema(default)]
        pub email: Option<String>,
    }

    #[derive(Schema, Debug, PartialEq)]
    pub enum Level {
        Low,
        High,
    }
}

#[test]
fn evolution_fields_match_by_name_or_rename_and_take_defaults() {
    let restored = migrate::<_, v2_defaults::State>(&v1_state(v1::Level::High)).unwrap();
    let state = restored.value;
    assert_eq!(state.count, 3, "u32 widens to u64");
    assert_eq!(
        state.users[1].display_name, "bob",
        "renamed field keeps its old name"
    );
    assert_eq!(state.users[0].email, None, "new field takes Default");
    assert_eq!(state.limit, 10, "new field takes its default path");
    assert_eq!(state.level, v2_defaults::Level::High);
    assert_eq!(
        restored.dropped,
        ["state.legacy"],
        "removed fields are dropped and reported"
    );
}

#[test]
fn evolution_a_removed_case_fails_only_when_the_data_holds_it() {
    let err = migrate::<_, v2_defaults::State>(&v1_state(v1::Level::Retired)).unwrap_err();
    assert_eq!(
        err,
        "state.level: case \"retired\" is not in this version (it has \"low\", \"high\")"
    );
}

mod v2_required {
    use iso_schema::Schema;

    #[derive(Schema, Debug)]
    pub struct State {
        pub count: u32,
        pub users: Vec<User>,
    }

    #[derive(Schema, Debug)]
    pub struct User {
        pub name: String,
        pub email: String,
    }
}

#[test]
fn evolution_a_missing_required_field_names_its_path() {
    let err = migrate::<_, v2_required::State>(&v1_state(v1::Level::Low)).unwrap_err();
    assert_eq!(
        err,
        "state.users[0].email: missing required field \"email\" (it has no default)"
    );
}

mod v2_narrow {
    use iso_schema::Schema;

    #[derive(Schema, Debug)]
    pub struct State {
        pub count: u16,
    }
}

#[test]
fn evolution_narrowing_is_an_error() {
    let err = migrate::<_, v2_narrow::State>(&v1_state(v1::Level::Low)).unwrap_err();
    assert_eq!(
        err,
        "state.count: u32 3 cannot be read as u16: only widening is allowed"
    );
}

#[test]
fn evolution_floats_widen() {
    let value: f64 = restore(&save(&1.5f32)).unwrap().value;
    assert_eq!(value, 1.5);
    assert!(restore::<f32>(&save(&1.5f64)).is_err());
}

#[test]
fn type_comparison_agrees_with_reading() {
    use iso_schema::evolve::{Severity, compare};
    let old = v1::State::schema();
    let findings = compare(&old, &v2_required::State::schema());
    let breaking: Vec<_> = findings
        .iter()
        .filter(|f| f.severity == Severity::Breaking)
        .map(|f| f.path.as_str())
        .collect();
    assert_eq!(breaking, ["state.users[].email"]);
    let findings = compare(&old, &v2_defaults::State::schema());
    assert!(
        findings.iter().all(|f| f.severity != Severity::Breaking),
        "{findings:?}"
    );
    assert!(
        findings
            .iter()
            .any(|f| f.rule == "case-removed" && f.severity == Severity::Warning)
    );
    assert!(
        compare(&old, &v2_narrow::State::schema())
            .iter()
            .any(|f| f.rule == "number-narrowed")
    );
}

#[test]
fn garbage_bytes_are_an_error() {
    let err = restore::<Everything>(b"garbage").unwrap_err().to_string();
    assert!(err.starts_with("invalid state bytes at offset 0"), "{err}");
}
