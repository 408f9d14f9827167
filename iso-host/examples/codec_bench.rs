//! The codec, for `scripts/bench`: encoding and decoding a record of about
//! 1 KiB (numbers, a string, a list of numbers and an option) as a call's
//! argument, against copying its bytes (the floor).

use std::hint::black_box;
use std::time::Instant;

use iso_host::codec::{decode_values, encode_values};
use wasmtime::component::{Component, Type, Val};

const WIT: &str = r#"
package bench:codec;
world orders {
    record order { id: u64, customer: string, lines: list<u32>, note: option<string>, paid: bool }
    export put: func(o: order);
}
"#;

const ROUNDS: u32 = 20_000;

fn main() {
    let ty = order_type();
    let order = Val::Record(vec![
        ("id".into(), Val::U64(1_234_567_890)),
        ("customer".into(), Val::String("ada lovelace ".repeat(56))),
        (
            "lines".into(),
            Val::List((0..100).map(|i| Val::U32(i * 1_000)).collect()),
        ),
        (
            "note".into(),
            Val::Option(Some(Box::new(Val::String("leave at door".into())))),
        ),
        ("paid".into(), Val::Bool(true)),
    ]);
    let types = [ty];
    let mut bytes = Vec::new();
    encode_values(&types, std::slice::from_ref(&order), &mut bytes).unwrap();
    let started = Instant::now();
    for _ in 0..ROUNDS {
        let mut out = Vec::with_capacity(bytes.len());
        encode_values(&types, black_box(std::slice::from_ref(&order)), &mut out).unwrap();
        black_box(decode_values(&types, black_box(&out)).unwrap());
    }
    let codec = started.elapsed() / ROUNDS;
    let started = Instant::now();
    for _ in 0..ROUNDS {
        black_box(black_box(&bytes).to_vec());
    }
    let copy = started.elapsed() / ROUNDS;
    println!(
        "\ncodec (a record of {} bytes, mean of {ROUNDS})",
        bytes.len()
    );
    println!("  copying its bytes                {copy:>10.2?}");
    println!("  encode + decode                  {codec:>10.2?}");
}

/// The type of `put`'s parameter, from a component made of the WIT alone.
fn order_type() -> Type {
    let bytes = iso_host::stub::component(WIT, Some("orders")).unwrap();
    let engine = wasmtime::Engine::default();
    let component = Component::new(&engine, bytes).unwrap();
    let component_type = component.component_type();
    let export = component_type.get_export(&engine, "put").unwrap();
    let wasmtime::component::types::ComponentItem::ComponentFunc(put) = export.ty else {
        unreachable!("`put` is a function")
    };
    put.params().next().unwrap().1
}
