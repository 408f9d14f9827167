//! cargo-iso: build WebAssembly components in Rust and evolve them while they run.
//!
//! The binary is a thin layer over this library: [`cli`] holds the command
//! line, [`commands`] one module per subcommand, and the other modules are the
//! pipeline those commands share (find the guests, pick a toolchain, run cargo,
//! turn the core module into a component).

pub mod adopt;
pub mod cargo_build;
pub mod cli;
pub mod commands;
pub mod componentize;
pub mod links;
pub mod manifest;
pub mod project;
pub mod scaffold;
pub mod sdk;
pub mod shared_target;
pub mod term;
pub mod toolchain;
pub mod wit_deps;

/// The structural WIT comparison behind `check-compat`, in a crate of its
/// own so that the runtime's wiring check can share it.
pub use iso_compat as compat;

/// A failure that was already shown to the user (cargo printed rustc's
/// diagnostics, say): the process ends with `code` and prints nothing more.
#[derive(Debug, thiserror::Error)]
#[error("exit code {code}")]
pub struct AlreadyReported {
    /// The exit code to end with, e.g. cargo's own.
    pub code: u8,
}
