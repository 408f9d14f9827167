//! What can go wrong when loading or calling a guest: every guest behaviour is a value, never a panic.

use std::fmt;

use crate::budget::{Fuel, MemorySize, Timeout};

/// Which budget a call ran out of.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BudgetKind {
    /// Fuel per call.
    Fuel,
    /// Linear memory.
    Memory,
    /// Wall-clock time per call.
    Time,
    /// Key and value bytes an app keeps in kv.
    Storage,
}

impl BudgetKind {
    /// Every kind, in order.
    pub const ALL: [BudgetKind; 4] = [
        BudgetKind::Fuel,
        BudgetKind::Memory,
        BudgetKind::Time,
        BudgetKind::Storage,
    ];

    /// Its name: `fuel`, `memory`, `time` or `storage`.
    pub fn name(self) -> &'static str {
        match self {
            BudgetKind::Fuel => "fuel",
            BudgetKind::Memory => "memory",
            BudgetKind::Time => "time",
            BudgetKind::Storage => "storage",
        }
    }

    /// The kind [`BudgetKind::name`] names, if any.
    pub fn from_name(name: &str) -> Option<BudgetKind> {
        BudgetKind::ALL.into_iter().find(|kind| kind.name() == name)
    }
}

impl fmt::Display for BudgetKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A budget's limit or what was used of it, in its own unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Amount {
    /// Fuel units.
    Fuel(Fuel),
    /// Bytes of linear memory.
    Memory(MemorySize),
    /// Wall-clock time.
    Time(Timeout),
    /// Bytes of kv keys and values.
    Storage(MemorySize),
}

impl fmt::Display for Amount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Amount::Fuel(fuel) => fuel.fmt(f),
            Amount::Memory(size) | Amount::Storage(size) => size.fmt(f),
            Amount::Time(time) => write!(f, "{:.1?}", time.0),
        }
    }
}

/// An error from loading, instantiating or calling a guest.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum HostError {
    /// The call used more than its budget allows; the instance was restarted from its last good state.
    #[error("{kind} budget exceeded: limit {limit}, used {used}")]
    BudgetExceeded {
        /// Which budget.
        kind: BudgetKind,
        /// The limit.
        limit: Amount,
        /// What the call used (at least the limit, or what it asked for).
        used: Amount,
    },
    /// The guest trapped; the instance was restarted from its last good state.
    #[error("guest trapped: {message}{}", backtrace_suffix(.backtrace))]
    Trap {
        /// What happened, e.g. `wasm trap: call stack exhausted`.
        message: String,
        /// The guest's wasm backtrace, innermost frame first, if known.
        backtrace: Vec<String>,
    },
    /// The guest panicked; the instance was restarted from its last good state.
    #[error("guest panicked at {location}: {message}")]
    GuestPanic {
        /// The panic message.
        message: String,
        /// `file:line:column` in the guest's source.
        location: String,
    },
    /// The arguments do not fit the export's parameters.
    #[error("bad arguments for {what}: {detail}\n  expected {expected}")]
    BadArguments {
        /// The call, e.g. `increment(x)`.
        what: String,
        /// What was wrong, pointing at the problem.
        detail: String,
        /// The expected parameters, e.g. `increment(by: u32)`.
        expected: String,
    },
    /// No export has this name.
    #[error("no export named `{name}`{}; the component exports: {}", crate::suggest::did_you_mean(.name, .available.iter().map(String::as_str)), .available.join(", "))]
    NoSuchExport {
        /// The name asked for.
        name: String,
        /// What the component does export.
        available: Vec<String>,
    },
    /// More than one export has this name: `candidates` are spellings that each name one.
    #[error("`{name}` names more than one export; write one of {}", .candidates.iter().map(|c| format!("`{c}`")).collect::<Vec<_>>().join(", "))]
    AmbiguousExport {
        /// The name asked for.
        name: String,
        /// The spellings that tell the exports apart, e.g. `api.get`, `admin.get`.
        candidates: Vec<String>,
    },
    /// A wired call failed in the app that provides the import; the
    /// caller's call fails with it, and both restart from their last good state.
    #[error("`{address}` failed in `{export}`: {error}")]
    CalleeFailed {
        /// The provider's address.
        address: String,
        /// The provider's export that was called, e.g. `local:store/api@0.1.0#get`.
        export: String,
        /// How it failed.
        error: Box<HostError>,
    },
    /// The database that keeps kv and state failed: it is held by another
    /// process, corrupt, or its disk is full. The call's writes are not kept.
    #[error("storage `{}`: {reason}", .path.display())]
    Storage {
        /// The database file.
        path: std::path::PathBuf,
        /// What went wrong, and what to do.
        reason: String,
    },
    /// The database is held by another process (another host on the same
    /// folder); nothing was started.
    #[error("storage `{}` is held by {}; stop that process, or use another folder", .path.display(), .holder.as_deref().unwrap_or("another process"))]
    StorageHeld {
        /// The database file.
        path: std::path::PathBuf,
        /// The process that holds it, with its command line, when it said.
        holder: Option<String>,
    },
    /// A kv write the host refuses (a key or value too large); the call fails.
    #[error("kv write refused: {reason}")]
    KvRefused {
        /// Why.
        reason: String,
    },
    /// A wired call answered from a recording, in a replay: how it failed
    /// when it was recorded, or that the recording has no such call.
    #[error("{failure}")]
    Recorded {
        /// The failure, as it was recorded.
        failure: String,
    },
    /// A call from another host waited in the mailbox past its caller's
    /// deadline: it was not made, since nobody waits for its answer.
    #[error(
        "time budget exceeded: the caller's deadline passed while the call waited its turn; it was not made"
    )]
    DeadlinePassed,
    /// The instance failed too often and was stopped (see
    /// [`RestartIntensity`](crate::runtime::RestartIntensity)); start it again to use it.
    #[error("stopped after {restarts} restarts in {within:.1?}: {last}")]
    Stopped {
        /// The restarts within the window.
        restarts: usize,
        /// From the first of them to the last.
        within: std::time::Duration,
        /// The last failure.
        last: String,
    },
    /// The runtime refused to start or stop an instance. Boxed, so that
    /// every call's `Result` stays small.
    #[error(transparent)]
    Wiring(Box<crate::runtime::WiringError>),
    /// The component imports something the host does not provide.
    #[error("the component imports `{name}`, which the iso host does not provide (it provides {})", crate::host::PROVIDED.join(", "))]
    MissingImport {
        /// The import's name.
        name: String,
    },
    /// The memory budget is below what the component needs to start.
    #[error(
        "memory budget {limit} is below the {needed} this component needs just to start (a Rust guest reserves about 1.1 MiB, mostly its stack): raise the memory budget"
    )]
    MemoryBelowMinimum {
        /// The budget.
        limit: MemorySize,
        /// What instantiation asked for.
        needed: MemorySize,
    },
    /// The guest's `restore` refused the state (it names the path and the reason).
    #[error("the guest could not restore the state: {reason}")]
    StateRejected {
        /// The guest's message, e.g. `state.limit: missing required field "limit"`.
        reason: String,
    },
    /// A core wasm module, not a component.
    #[error(
        "this is a core wasm module, not a component: build it with `cargo iso build`, which componentizes it"
    )]
    NotAComponent,
    /// Not wasm, or a component wasmtime rejects.
    #[error("invalid component: {reason}")]
    Invalid {
        /// Why.
        reason: String,
    },
    /// A call to an app another host serves failed there, or could not
    /// reach it.
    #[error("remote `{address}`: {failure}")]
    Remote {
        /// The remote app.
        address: String,
        /// What happened (boxed: errors travel by value on every call path).
        failure: Box<RemoteFailure>,
    },
    /// A test case whose setup cannot be made (see [`Case`](crate::case::Case)).
    #[error("bad test case: {reason}")]
    BadTestCase {
        /// What is wrong, naming the field.
        reason: String,
    },
}

impl From<crate::runtime::WiringError> for HostError {
    fn from(err: crate::runtime::WiringError) -> HostError {
        HostError::Wiring(Box::new(err))
    }
}

fn backtrace_suffix(backtrace: &[String]) -> String {
    if backtrace.is_empty() {
        String::new()
    } else {
        format!("\nguest backtrace:\n  {}", backtrace.join("\n  "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every call returns a `Result<CallOutput, HostError>`: a large error
    /// makes every call copy more (see `Instance::call`).
    #[test]
    fn the_error_stays_small() {
        assert!(
            std::mem::size_of::<HostError>() <= 72,
            "{} bytes",
            std::mem::size_of::<HostError>()
        );
    }

    /// The names travel in a remote failure and are read back on the caller's host.
    #[test]
    fn each_budget_kind_is_read_back_from_its_name() {
        for kind in BudgetKind::ALL {
            assert_eq!(BudgetKind::from_name(kind.name()), Some(kind));
        }
        assert_eq!(BudgetKind::from_name("gas"), None);
    }
}

/// Why a call to a remote app failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RemoteFailure {
    /// The call did not reach the app, or its answer did not come back.
    #[error(transparent)]
    Transport(#[from] crate::runtime::TransportError),
    /// The call reached the app and failed there.
    #[error(transparent)]
    Failed(#[from] crate::codec::RemoteError),
    /// The call or its answer could not be put into bytes or read back.
    #[error("{0}")]
    Codec(String),
}
