//! Budgets: fuel, linear memory and wall-clock time per call, and the
//! bytes an app keeps in kv.
//!
//! ```
//! use iso_host::{Fuel, MemorySize, Timeout};
//! use std::time::Duration;
//!
//! assert_eq!("1e6".parse::<Fuel>().unwrap(), Fuel(1_000_000));
//! assert_eq!("1_000_000".parse::<Fuel>().unwrap(), Fuel(1_000_000));
//! assert_eq!("64MiB".parse::<MemorySize>().unwrap(), MemorySize(64 << 20));
//! assert_eq!("500ms".parse::<Timeout>().unwrap(), Timeout(Duration::from_millis(500)));
//! ```

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use serde::Deserialize;
use serde::de::{self, Deserializer, Visitor};

/// What one call into a guest may use. `None` means unlimited.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Budget {
    /// Wasm fuel per call (roughly, instructions executed).
    pub fuel: Option<Fuel>,
    /// Cap on the instance's linear memory.
    pub memory: Option<MemorySize>,
    /// Wall-clock time per call.
    pub timeout: Option<Timeout>,
    /// Key and value bytes the app may keep in kv, over all its calls.
    pub storage: Option<MemorySize>,
}

impl Budget {
    /// This budget with every limit that `other` sets taken from `other`.
    ///
    /// Used to lay CLI flags over the manifest's settings.
    pub fn overridden_by(self, other: Budget) -> Budget {
        Budget {
            fuel: other.fuel.or(self.fuel),
            memory: other.memory.or(self.memory),
            timeout: other.timeout.or(self.timeout),
            storage: other.storage.or(self.storage),
        }
    }
}

/// `fuel 1000000, memory 64.0 MiB, timeout 500ms, storage unlimited`.
impl fmt::Display for Budget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fn show(f: &mut fmt::Formatter<'_>, limit: Option<impl fmt::Display>) -> fmt::Result {
            match limit {
                Some(limit) => write!(f, "{limit}"),
                None => f.write_str("unlimited"),
            }
        }
        f.write_str("fuel ")?;
        show(f, self.fuel)?;
        f.write_str(", memory ")?;
        show(f, self.memory)?;
        f.write_str(", timeout ")?;
        show(f, self.timeout)?;
        f.write_str(", storage ")?;
        show(f, self.storage)
    }
}

/// A value that does not parse as a budget limit, with what was expected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid {what} {input:?}: {reason} (expected {example})")]
pub struct BudgetParseError {
    what: &'static str,
    input: String,
    reason: String,
    example: &'static str,
}

impl BudgetParseError {
    fn new(what: &'static str, input: &str, reason: impl fmt::Display) -> Self {
        let example = match what {
            "fuel" => "a whole number such as 1000000, 1_000_000 or 1e6",
            "memory size" => "a size such as \"64MiB\", \"512KiB\" or a number of bytes",
            _ => "a duration such as \"500ms\", \"2s\" or \"1m\"",
        };
        BudgetParseError {
            what,
            input: input.to_owned(),
            reason: reason.to_string(),
            example,
        }
    }
}

/// Wasm fuel: how much work one call may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Fuel(pub u64);

impl Fuel {
    fn from_f64(value: f64, input: &str) -> Result<Fuel, BudgetParseError> {
        let bad = |reason| Err(BudgetParseError::new("fuel", input, reason));
        if !value.is_finite() || value < 0.0 {
            return bad("fuel must be a non-negative number");
        }
        if value.fract() != 0.0 {
            return bad("fuel must be a whole number");
        }
        if value >= u64::MAX as f64 {
            return bad("fuel is larger than 2^64");
        }
        Fuel::positive(value as u64, input)
    }

    /// `Fuel(value)`, unless it is zero: a budget that stops every call.
    fn positive(value: u64, input: &str) -> Result<Fuel, BudgetParseError> {
        match value {
            0 => Err(BudgetParseError::new("fuel", input, STOPS_EVERY_CALL)),
            _ => Ok(Fuel(value)),
        }
    }
}

/// Why a zero fuel or time budget is refused.
const STOPS_EVERY_CALL: &str =
    "a budget of zero stops every call; leave the budget out for no limit";

impl FromStr for Fuel {
    type Err = BudgetParseError;

    fn from_str(input: &str) -> Result<Fuel, BudgetParseError> {
        let digits = input.trim().replace('_', "");
        if let Ok(whole) = digits.parse::<u64>() {
            return Fuel::positive(whole, input);
        }
        match digits.parse::<f64>() {
            Ok(value) => Fuel::from_f64(value, input),
            Err(_) => Err(BudgetParseError::new("fuel", input, "not a number")),
        }
    }
}

impl fmt::Display for Fuel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// A size of linear memory, in bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct MemorySize(pub u64);

impl FromStr for MemorySize {
    type Err = BudgetParseError;

    fn from_str(input: &str) -> Result<MemorySize, BudgetParseError> {
        let trimmed = input.trim();
        if trimmed.starts_with('-') {
            return Err(BudgetParseError::new(
                "memory size",
                input,
                "it is negative",
            ));
        }
        trimmed
            .replace('_', "")
            .parse::<bytesize::ByteSize>()
            .map(|size| MemorySize(size.as_u64()))
            .map_err(|reason| BudgetParseError::new("memory size", input, reason))
    }
}

impl fmt::Display for MemorySize {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        bytesize::ByteSize(self.0).display().iec().fmt(f)
    }
}

/// Wall-clock time that one call may take.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Timeout(pub Duration);

impl FromStr for Timeout {
    type Err = BudgetParseError;

    fn from_str(input: &str) -> Result<Timeout, BudgetParseError> {
        let bad = |reason: &dyn fmt::Display| BudgetParseError::new("timeout", input, reason);
        match humantime::parse_duration(input.trim()) {
            Ok(Duration::ZERO) => Err(bad(&STOPS_EVERY_CALL)),
            Ok(duration) => Ok(Timeout(duration)),
            Err(reason) => Err(bad(&reason)),
        }
    }
}

impl fmt::Display for Timeout {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        humantime::format_duration(self.0).fmt(f)
    }
}

/// Accepts what `FromStr` accepts, plus plain numbers where they are unambiguous.
struct LimitVisitor<T>(std::marker::PhantomData<T>);

/// How each limit reads a plain number (TOML `1_000_000` or `1e6`).
trait FromNumber: Sized {
    const EXPECTING: &'static str;
    fn from_u64(value: u64) -> Result<Self, String>;
    fn from_f64(value: f64) -> Result<Self, String>;
}

impl FromNumber for Fuel {
    const EXPECTING: &'static str = "fuel as a whole number (1000000, 1_000_000 or 1e6)";
    fn from_u64(value: u64) -> Result<Self, String> {
        Fuel::positive(value, &value.to_string()).map_err(|e| e.to_string())
    }
    fn from_f64(value: f64) -> Result<Self, String> {
        Fuel::from_f64(value, &value.to_string()).map_err(|e| e.to_string())
    }
}

impl FromNumber for MemorySize {
    const EXPECTING: &'static str = "a memory size such as \"64MiB\" or a number of bytes";
    fn from_u64(value: u64) -> Result<Self, String> {
        Ok(MemorySize(value))
    }
    fn from_f64(value: f64) -> Result<Self, String> {
        match Fuel::from_f64(value, &value.to_string()) {
            Ok(Fuel(bytes)) => Ok(MemorySize(bytes)),
            Err(_) => Err(format!(
                "invalid memory size {value}: write \"64MiB\" or a whole number of bytes"
            )),
        }
    }
}

impl FromNumber for Timeout {
    const EXPECTING: &'static str = "a duration with a unit, such as \"500ms\" or \"2s\"";
    fn from_u64(value: u64) -> Result<Self, String> {
        Err(format!(
            "timeout {value} has no unit: write \"{value}ms\" or \"{value}s\""
        ))
    }
    fn from_f64(value: f64) -> Result<Self, String> {
        Err(format!(
            "timeout {value} has no unit: write it as \"500ms\" or \"2s\""
        ))
    }
}

impl<T> Visitor<'_> for LimitVisitor<T>
where
    T: FromNumber + FromStr<Err = BudgetParseError>,
{
    type Value = T;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(T::EXPECTING)
    }

    fn visit_u64<E: de::Error>(self, value: u64) -> Result<T, E> {
        T::from_u64(value).map_err(E::custom)
    }

    fn visit_i64<E: de::Error>(self, value: i64) -> Result<T, E> {
        match u64::try_from(value) {
            Ok(value) => self.visit_u64(value),
            Err(_) => Err(E::custom(format!(
                "{value} is negative; expected {}",
                T::EXPECTING
            ))),
        }
    }

    fn visit_f64<E: de::Error>(self, value: f64) -> Result<T, E> {
        T::from_f64(value).map_err(E::custom)
    }

    fn visit_str<E: de::Error>(self, value: &str) -> Result<T, E> {
        value.parse().map_err(E::custom)
    }
}

macro_rules! deserialize_via_visitor {
    ($($ty:ty),*) => {$(
        impl<'de> Deserialize<'de> for $ty {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                deserializer.deserialize_any(LimitVisitor(std::marker::PhantomData))
            }
        }
    )*};
}

deserialize_via_visitor!(Fuel, MemorySize, Timeout);

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Deserialize, Debug)]
    struct Limits {
        fuel: Option<Fuel>,
        memory: Option<MemorySize>,
        timeout: Option<Timeout>,
    }

    fn from_toml(text: &str) -> Result<Limits, String> {
        toml::from_str(text).map_err(|e| e.to_string())
    }

    #[test]
    fn fuel_accepts_the_written_forms() {
        for input in ["1000000", "1_000_000", "1e6", "1.0e6", " 1e6 "] {
            assert_eq!(input.parse::<Fuel>(), Ok(Fuel(1_000_000)), "{input}");
        }
    }

    #[test]
    fn fuel_rejects_fractions_negatives_and_words() {
        for input in ["1.5", "-3", "lots", "1e30", ""] {
            let err = input.parse::<Fuel>().unwrap_err().to_string();
            assert!(err.contains("invalid fuel"), "{input}: {err}");
            assert!(err.contains("1e6"), "the error shows an example: {err}");
        }
    }

    #[test]
    fn a_zero_fuel_or_time_budget_is_refused() {
        for err in [
            "0".parse::<Fuel>().unwrap_err().to_string(),
            "0e6".parse::<Fuel>().unwrap_err().to_string(),
            "0s".parse::<Timeout>().unwrap_err().to_string(),
            "0ms".parse::<Timeout>().unwrap_err().to_string(),
            from_toml("fuel = 0").unwrap_err(),
        ] {
            assert!(err.contains("a budget of zero stops every call"), "{err}");
        }
    }

    #[test]
    fn memory_accepts_units_and_bytes() {
        assert_eq!("64MiB".parse(), Ok(MemorySize(64 << 20)));
        assert_eq!("64 MiB".parse(), Ok(MemorySize(64 << 20)));
        assert_eq!("1GiB".parse(), Ok(MemorySize(1 << 30)));
        assert_eq!("65536".parse(), Ok(MemorySize(65536)));
        assert_eq!(MemorySize(64 << 20).to_string(), "64.0 MiB");
    }

    #[test]
    fn memory_rejects_unknown_units() {
        let err = "64 potatoes".parse::<MemorySize>().unwrap_err().to_string();
        assert!(err.contains("invalid memory size \"64 potatoes\""), "{err}");
        assert!("-1MiB".parse::<MemorySize>().is_err());
    }

    #[test]
    fn timeout_accepts_units() {
        assert_eq!("500ms".parse(), Ok(Timeout(Duration::from_millis(500))));
        assert_eq!("2s".parse(), Ok(Timeout(Duration::from_secs(2))));
        assert!("500".parse::<Timeout>().is_err());
    }

    #[test]
    fn toml_numbers_and_strings_both_work() {
        let limits =
            from_toml("fuel = 1_000_000\nmemory = \"64MiB\"\ntimeout = \"500ms\"").unwrap();
        assert_eq!(limits.fuel, Some(Fuel(1_000_000)));
        assert_eq!(limits.memory, Some(MemorySize(64 << 20)));
        assert_eq!(limits.timeout, Some(Timeout(Duration::from_millis(500))));
        assert_eq!(from_toml("fuel = 1e6").unwrap().fuel, Some(Fuel(1_000_000)));
        assert_eq!(
            from_toml("fuel = \"1e6\"").unwrap().fuel,
            Some(Fuel(1_000_000))
        );
        assert_eq!(
            from_toml("memory = 1048576").unwrap().memory,
            Some(MemorySize(1 << 20))
        );
    }

    #[test]
    fn toml_bad_values_say_what_to_write() {
        assert!(
            from_toml("timeout = 500")
                .unwrap_err()
                .contains("\"500ms\"")
        );
        assert!(from_toml("fuel = -1").unwrap_err().contains("negative"));
        assert!(
            from_toml("fuel = 2.5")
                .unwrap_err()
                .contains("whole number")
        );
        assert!(from_toml("fuel = true").unwrap_err().contains("1e6"));
    }

    #[test]
    fn flags_override_the_manifest() {
        let manifest = Budget {
            fuel: Some(Fuel(1)),
            memory: Some(MemorySize(2)),
            timeout: None,
            storage: Some(MemorySize(3)),
        };
        let flags = Budget {
            fuel: Some(Fuel(9)),
            storage: Some(MemorySize(4)),
            ..Budget::default()
        };
        let merged = manifest.overridden_by(flags);
        assert_eq!(merged.fuel, Some(Fuel(9)));
        assert_eq!(merged.memory, Some(MemorySize(2)));
        assert_eq!(merged.timeout, None);
        assert_eq!(merged.storage, Some(MemorySize(4)));
    }
}
