//! A guest's own unit tests: its `#[iso_guest::test]` functions, behind
//! the `iso:app/tests` export. Each runs on a fresh instance in the same
//! world under control as a test case ([`crate::case`]: a clock that
//! stands still, random numbers from seed 0, an empty kv), under the
//! budget it is given. A panic, an exceeded budget or a trap is the
//! test's failure, with its reason.

use std::sync::Arc;

use wasmtime::component::Val;

use crate::app::{App, TESTS_INTERFACE};
use crate::budget::Budget;
use crate::case::Case;
use crate::error::HostError;
use crate::session::Outcome;

/// How one unit test went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TestRun {
    /// Why it failed (`panicked at src/lib.rs:9:5:\nassertion failed`, the
    /// error it returned, `fuel budget exceeded`); `None` when it passed.
    pub failure: Option<String>,
    /// What the guest logged, one line each, but for the panic, which
    /// `failure` shows.
    pub logs: Vec<String>,
}

/// The app's unit tests, by name (`tests::counts_up`), sorted; none when
/// it exports no `iso:app/tests` (a build of an SDK without it) or was
/// built without debug assertions.
pub fn names(app: &Arc<App>, budget: Budget) -> Result<Vec<String>, HostError> {
    let names = format!("{TESTS_INTERFACE}#names");
    if !app.exports().iter().any(|export| export.name == names) {
        return Ok(Vec::new());
    }
    let mut fresh = Case::default().fresh(app.clone(), budget)?;
    let output = fresh.instance.call(&names, &[])?;
    let Some(Val::List(listed)) = output.into_result() else {
        return Err(unexpected(&names));
    };
    listed
        .into_iter()
        .map(|name| match name {
            Val::String(name) => Ok(name),
            _ => Err(unexpected(&names)),
        })
        .collect()
}

/// Runs the unit test `name` of `app` on a fresh instance under `budget`.
/// An error is a test that could not start (the instance could not be
/// made); how the test itself went is in the [`TestRun`].
pub fn run(app: Arc<App>, name: &str, budget: Budget) -> Result<TestRun, HostError> {
    let run = format!("{TESTS_INTERFACE}#run");
    let mut fresh = Case::default().fresh(app, budget)?;
    let outcome = fresh.instance.call(&run, &[Val::String(name.to_owned())]);
    let failure = match outcome {
        Ok(output) => match output.into_result() {
            Some(Val::Result(Ok(_))) => None,
            Some(Val::Result(Err(Some(error)))) => Some(match *error {
                Val::String(text) => text,
                other => crate::wave(&other),
            }),
            _ => return Err(unexpected(&run)),
        },
        Err(HostError::GuestPanic { message, location }) => {
            Some(format!("panicked at {location}:\n{message}"))
        }
        Err(other) => Some(Outcome::failure(&other)),
    };
    let logs = (fresh.logs.take().into_iter())
        .filter(|line| !line.starts_with("error: panicked: "))
        .collect();
    Ok(TestRun { failure, logs })
}

/// The error for an `iso:app/tests` function that returned what its type does not allow.
fn unexpected(name: &str) -> HostError {
    HostError::Invalid {
        reason: format!("`{name}` returned a value of another type than iso:app/tests gives it"),
    }
}
