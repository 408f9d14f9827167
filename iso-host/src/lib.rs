//! The embeddable cargo-iso runtime.
//!
//! Today this crate holds the per-call [`Budget`] that every guest runs under:
//! how much fuel, linear memory and wall-clock time one call may use. The
//! values parse from the forms people write by hand (`1e6`, `1_000_000`,
//! `"64MiB"`, `"500ms"`), both from strings (CLI flags) and through serde
//! (`[package.metadata.iso]` in a guest's `Cargo.toml`).
//!
//! This crate knows nothing of cargo or terminals: the CLI and any server that
//! embeds guests use it the same way.

pub mod budget;

pub use budget::{Budget, BudgetParseError, Fuel, MemorySize, Timeout};
