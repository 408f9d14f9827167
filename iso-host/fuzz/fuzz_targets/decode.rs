//! Arbitrary bytes fed to the codec's decoders, as values of every WIT
//! type kind, as a call header and as an answer: each must be a value or
//! a clear error, never a panic, and never an allocation the input does
//! not pay for (libFuzzer's `-rss_limit_mb` catches those).

#![no_main]

use std::sync::OnceLock;

use iso_host::codec::{decode_answer, decode_call_header, decode_value, decode_values};
use libfuzzer_sys::fuzz_target;
use wasmtime::component::{Component, Type};

const WIT: &str = r#"
package fuzz:codec;
world kinds {
    record point { x: s32, y: s32, label: string }
    variant shape { empty, circle(f64), poly(list<point>) }
    enum color { red, green, blue }
    flags many { f0, f1, f2, f3, f4, f5, f6, f7, f8, f9 }
    export all: func(
        a: bool, b: s16, c: u64, d: f32, e: char, f: string, g: list<list<shape>>,
        h: point, i: tuple<u8, option<string>>, j: color, k: result<string, u8>, l: many,
    );
}
"#;

/// The parameter types of `all`, made once.
fn types() -> &'static [Type] {
    static TYPES: OnceLock<Vec<Type>> = OnceLock::new();
    TYPES.get_or_init(|| {
        let bytes = iso_host::stub::component(WIT, Some("kinds")).unwrap();
        let engine = wasmtime::Engine::default();
        let component = Component::new(&engine, bytes).unwrap();
        let component_type = component.component_type();
        let export = component_type.get_export(&engine, "all").unwrap();
        let wasmtime::component::types::ComponentItem::ComponentFunc(all) = export.ty else {
            unreachable!("`all` is a function")
        };
        all.params().map(|(_, ty)| ty).collect()
    })
}

fuzz_target!(|data: &[u8]| {
    let types = types();
    let Some((&pick, rest)) = data.split_first() else {
        return;
    };
    let _ = decode_value(&types[pick as usize % types.len()], rest);
    let _ = decode_values(&types[..4], rest);
    let _ = decode_call_header(rest);
    let _ = decode_answer(rest, &types[..3]);
});
