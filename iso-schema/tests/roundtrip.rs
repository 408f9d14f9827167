//! Property tests: any value encodes and decodes to itself, and derived
//! types restore what they saved.

use iso_schema::{Schema, Value, restore, save};
use proptest::prelude::*;

fn name() -> impl Strategy<Value = String> {
    "[a-z][a-z0-9-]{0,8}"
}

fn value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        any::<bool>().prop_map(Value::Bool),
        any::<u8>().prop_map(Value::U8),
        any::<u16>().prop_map(Value::U16),
        any::<u32>().prop_map(Value::U32),
        any::<u64>().prop_map(Value::U64),
        any::<i8>().prop_map(Value::S8),
        any::<i16>().prop_map(Value::S16),
        any::<i32>().prop_map(Value::S32),
        any::<i64>().prop_map(Value::S64),
        any::<f32>()
            .prop_filter("NaN != NaN", |x| !x.is_nan())
            .prop_map(Value::F32),
        any::<f64>()
            .prop_filter("NaN != NaN", |x| !x.is_nan())
            .prop_map(Value::F64),
        any::<char>().prop_map(Value::Char),
        ".*".prop_map(Value::String),
        name().prop_map(Value::Enum),
        prop::collection::vec(name(), 0..4).prop_map(Value::Flags),
    ];
    leaf.prop_recursive(4, 64, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::List),
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Tuple),
            prop::option::of(inner.clone().prop_map(Box::new)).prop_map(Value::Option),
            inner.clone().prop_map(|v| Value::Result(Ok(Box::new(v)))),
            inner.clone().prop_map(|v| Value::Result(Err(Box::new(v)))),
            prop::collection::vec((inner.clone(), inner.clone()), 0..4).prop_map(Value::Map),
            prop::collection::vec((name(), inner.clone()), 0..5).prop_map(Value::Record),
            (name(), prop::option::of(inner.prop_map(Box::new)))
                .prop_map(|(c, p)| Value::Variant(c, p)),
        ]
    })
}

#[derive(Schema, Debug, Clone, PartialEq)]
struct Account {
    id: u64,
    name: String,
    balance: i64,
    tags: Vec<String>,
    limits: std::collections::BTreeMap<String, u32>,
    status: Status,
}

#[derive(Schema, Debug, Clone, PartialEq)]
enum Status {
    Active,
    Frozen { reason: String },
    Closed(u32),
}

fn account() -> impl Strategy<Value = Account> {
    let status = prop_oneof![
        Just(Status::Active),
        ".*".prop_map(|reason| Status::Frozen { reason }),
        any::<u32>().prop_map(Status::Closed),
    ];
    (
        any::<u64>(),
        ".*",
        any::<i64>(),
        prop::collection::vec(".*", 0..4),
        prop::collection::btree_map(".*", any::<u32>(), 0..4),
        status,
    )
        .prop_map(|(id, name, balance, tags, limits, status)| Account {
            id,
            name,
            balance,
            tags,
            limits,
            status,
        })
}

proptest! {
    #[test]
    fn any_value_round_trips(value in value()) {
        prop_assert_eq!(Value::decode(&value.encode()), Ok(value));
    }

    #[test]
    fn derived_types_round_trip(accounts in prop::collection::vec(account(), 0..5)) {
        prop_assert_eq!(restore::<Vec<Account>>(&save(&accounts)).unwrap().value, accounts);
    }

    #[test]
    fn any_bytes_decode_without_panicking(bytes in prop::collection::vec(any::<u8>(), 0..64)) {
        let _ = Value::decode(&bytes);
        let mut with_version = vec![1u8];
        with_version.extend(bytes);
        let _ = Value::decode(&with_version);
    }
}
