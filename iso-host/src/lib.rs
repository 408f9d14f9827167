//! The embeddable cargo-iso runtime.
//!
//! Load a component ([`App`], compiled once and cached by content hash),
//! start an [`Instance`] under a per-call [`Budget`] (fuel, linear memory,
//! wall-clock time), call its exports from WAVE text or [`Val`]s, and save,
//! restore and show its state. A trap, a panic or an exceeded budget is a
//! [`HostError`] value; the instance starts again from its last good state.
//!
//! ```no_run
//! use std::sync::Arc;
//! use iso_host::*;
//!
//! let engine = Arc::new(IsoEngine::new(EngineOptions::default())?);
//! let cache = ComponentCache::new(None);
//! let bytes = std::fs::read("target/iso/debug/counter.wasm").unwrap();
//! let (app, _) = App::load(engine, &cache, &bytes)?;
//! let budget = Budget { fuel: Some(Fuel(1_000_000)), ..Budget::default() };
//! let mut instance = Instance::new(Arc::new(app), budget, Shared::new(Arc::new(NoLog)))?;
//! let out = instance.call_wave("increment(5)")?;
//! assert_eq!(out.results_wave(), ["5"]);
//! println!("fuel used: {}", out.usage.fuel);
//! assert_eq!(instance.call("get", &[])?.into_result(), Some(Val::U64(5)));
//! // An export called often: typed, with no conversion to and from `Val`.
//! let mut get = instance.typed::<(), (u64,)>("get")?;
//! let ((count,), usage) = instance.call_typed(&mut get, ())?;
//! assert_eq!(count, 5);
//! # Ok::<(), HostError>(())
//! ```
//!
//! This crate knows nothing of cargo or terminals: the CLI and any server that
//! embeds guests use it the same way.

pub mod app;
pub mod budget;
pub mod cache;
pub mod case;
pub mod codec;
pub mod effect_text;
pub mod engine;
pub mod error;
pub mod event_log;
mod fast;
pub mod guest_tests;
pub mod host;
pub mod instance;
pub mod names;
pub mod runtime;
pub mod session;
pub mod storage;
pub mod stub;
pub mod suggest;
mod wave_check;
pub mod wave_value;

pub use app::{App, ExportFunc};
pub use budget::{Budget, BudgetParseError, Fuel, MemorySize, Timeout};
pub use cache::{CacheHit, ComponentCache};
pub use engine::{Compiler, EngineOptions, IsoEngine};
pub use error::{Amount, BudgetKind, HostError, RemoteFailure};
pub use event_log::{EventLog, LoggedCall, StateRef};
pub use host::{Effect, FixedWorld, LogRecord, LogSink, NestedCall, NoLog, Shared};
pub use instance::{CallOutput, Callees, Instance, SnapshotPolicy, TypedExport, Usage, wave};
pub use session::{CallRecord, Divergence, ExportChanges, Outcome, Session, Swapped};
pub use storage::{Durability, Storage};
pub use wasmtime::component::Val;

/// Host bindings for the iso WIT packages (`iso:app/guest`).
#[allow(missing_docs)]
pub mod bindings {
    wasmtime::component::bindgen!({
        path: "../wit/app",
        world: "iso:app/guest",
        // A write past the storage budget fails the call.
        imports: { "iso:host/kv.set": trappable, "iso:host/kv.delete": trappable },
    });
}
