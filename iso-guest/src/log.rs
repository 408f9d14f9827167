//! Logging through `iso:host/log`: the host shows each line with the guest's name.
//!
//! ```no_run
//! let user = "ada";
//! iso_guest::info!("signed in");
//! iso_guest::warn!("retrying {} more times", 3; "user" => user);
//! ```

pub use crate::bindings::iso::host::log::Level;
use crate::bindings::iso::host::log::{Field, log};

/// Sends one message with its fields to the host log.
pub fn write(level: Level, message: &str, fields: &[(&str, &str)]) {
    let fields: Vec<Field> = fields
        .iter()
        .map(|(k, v)| Field {
            key: (*k).to_owned(),
            value: (*v).to_owned(),
        })
        .collect();
    log(level, message, &fields);
}

/// Logs at a level: `log!(Level::Info, "text {}", x; "key" => value, ...)`.
#[macro_export]
macro_rules! log {
    ($level:expr, $fmt:literal $(, $arg:expr)* $(,)? $(; $($key:literal => $value:expr),+ $(,)?)?) => {
        $crate::log::write(
            $level,
            &::std::format!($fmt $(, $arg)*),
            &[$($(($key, &::std::string::ToString::to_string(&$value))),+)?],
        )
    };
}

/// Logs at trace level, like [`log!`].
#[macro_export]
macro_rules! trace {
    ($($t:tt)+) => { $crate::log!($crate::log::Level::Trace, $($t)+) };
}

/// Logs at debug level, like [`log!`].
#[macro_export]
macro_rules! debug {
    ($($t:tt)+) => { $crate::log!($crate::log::Level::Debug, $($t)+) };
}

/// Logs at info level, like [`log!`].
#[macro_export]
macro_rules! info {
    ($($t:tt)+) => { $crate::log!($crate::log::Level::Info, $($t)+) };
}

/// Logs at warn level, like [`log!`].
#[macro_export]
macro_rules! warn {
    ($($t:tt)+) => { $crate::log!($crate::log::Level::Warn, $($t)+) };
}

/// Logs at error level, like [`log!`].
#[macro_export]
macro_rules! error {
    ($($t:tt)+) => { $crate::log!($crate::log::Level::Error, $($t)+) };
}
