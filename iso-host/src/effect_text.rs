//! How an [`Effect`] reads to a person, in `cargo iso log show` and in a
//! replay's or a shadow's divergences: times as RFC 3339, durations with
//! units, kv values decoded where they carry their schema (what
//! `kv::set_as` stores), else as text, else as hex.

use std::fmt;
use std::time::{Duration, UNIX_EPOCH};

use crate::host::Effect;

/// Bytes shown of a value that is neither typed nor text.
const HEX_SHOWN: usize = 32;

impl fmt::Display for Effect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Effect::WallNow(nanos) => {
                let time = UNIX_EPOCH + Duration::from_nanos(*nanos);
                write!(
                    f,
                    "clock.wall-now -> {}",
                    humantime::format_rfc3339_nanos(time)
                )
            }
            Effect::MonotonicNow(nanos) => write!(
                f,
                "clock.monotonic-now -> {}",
                humantime::format_duration(Duration::from_nanos(*nanos))
            ),
            Effect::RandomU64(n) => write!(f, "random.random-u64 -> {n:#018x}"),
            Effect::RandomBytes(bytes) => write!(f, "random.random-bytes -> {}", hex(bytes)),
            Effect::KvGet(key, None) => write!(f, "kv.get({key:?}) -> none"),
            Effect::KvGet(key, Some(value)) => write!(f, "kv.get({key:?}) -> {}", kv_value(value)),
            Effect::Call(call) => write!(f, "{call}"),
        }
    }
}

/// A kv value as a person reads it: the typed value `kv::set_as` stored
/// (as JSON), else UTF-8 text, else hex.
pub fn kv_value(bytes: &[u8]) -> String {
    if let Ok(value) = iso_schema::Value::decode(bytes) {
        return value.to_json();
    }
    match std::str::from_utf8(bytes) {
        Ok(text) if !text.chars().any(char::is_control) => format!("{text:?}"),
        _ => hex(bytes),
    }
}

/// `0x0a1b2c (3 bytes)`, the first [`HEX_SHOWN`] bytes of longer ones.
fn hex(bytes: &[u8]) -> String {
    let shown: String = bytes
        .iter()
        .take(HEX_SHOWN)
        .map(|b| format!("{b:02x}"))
        .collect();
    let more = if bytes.len() > HEX_SHOWN { "…" } else { "" };
    format!("0x{shown}{more} ({} bytes)", bytes.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn effects_read_as_times_typed_values_text_and_hex() {
        let typed = iso_schema::save(&7u32);
        let cases = [
            (
                Effect::WallNow(1_796_598_760_272_504_248),
                "clock.wall-now -> 2026-12-06T23:12:40.272504248Z",
            ),
            (
                Effect::MonotonicNow(1_500_000_000),
                "clock.monotonic-now -> 1s 500ms",
            ),
            (Effect::KvGet("k".into(), None), "kv.get(\"k\") -> none"),
            (Effect::KvGet("n".into(), Some(typed)), "kv.get(\"n\") -> 7"),
            (
                Effect::KvGet("t".into(), Some(b"2 litres".to_vec())),
                "kv.get(\"t\") -> \"2 litres\"",
            ),
            (
                Effect::KvGet("b".into(), Some(vec![0, 159, 255])),
                "kv.get(\"b\") -> 0x009fff (3 bytes)",
            ),
        ];
        for (effect, text) in cases {
            assert_eq!(effect.to_string(), text);
        }
    }
}
