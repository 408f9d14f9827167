//! `cargo iso replay ID...`: makes calls from the event log again, on the
//! project's current build, on a given component (`--against`), or on the
//! project as of a git revision (`--rev`), each from the state it started
//! from and with the effects it saw, and prints each call whose outcome
//! differs from the logged one.
//!
//! Exit codes: 0 no call diverged; 1 some did; 2 bad input (no such call,
//! an unreadable log, a component that does not fit); 101 a build failure.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use anyhow::{Context, Result, bail};
use clap::Args;
use iso_host::runtime::{Replayed, Runtime, Wiring};
use iso_host::{Budget, EventLog, LoggedCall};

use crate::AlreadyReported;
use crate::commands::build::BuildOptions;
use crate::commands::run::{RunApp, fail, project_apps, start_in_memory};
use crate::term::Shell;

/// Past this many calls, a terminal shows a progress bar.
const PROGRESS_FROM: usize = 300;

/// `cargo iso replay`.
#[derive(Args, Debug)]
#[command(
    after_help = "Exit codes: 0 no call diverged, 1 some did, 2 bad input, 101 build failed.

Examples:
  cargo iso replay 42
  cargo iso replay 1..=500 --against target/iso/debug/counter.wasm
  cargo iso replay 40.. --rev HEAD~1"
)]
pub struct ReplayArgs {
    /// The calls to replay: ids as `cargo iso log` lists them, or ranges such as 10..20, 10..=20 or 10..
    #[arg(value_name = "ID", required = true)]
    pub ids: Vec<CallIds>,

    /// Replay on this component instead of the project's current build
    #[arg(long, value_name = "WASM", conflicts_with = "rev")]
    pub against: Option<PathBuf>,

    /// Replay on the project as of this git revision, built in target/iso/rev/
    #[arg(long, value_name = "REV")]
    pub rev: Option<String>,

    /// The data folder to read the log from [default: the project's target/iso/data]
    #[arg(long, value_name = "DIR")]
    pub data: Option<PathBuf>,

    #[command(flatten)]
    #[allow(missing_docs)]
    pub build: BuildOptions,
}

/// Call ids: one, or an inclusive range.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CallIds {
    first: u64,
    last: u64,
}

impl FromStr for CallIds {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let number = |text: &str, default: u64| match text {
            "" => Ok(default),
            text => text.parse::<u64>().map_err(|_| {
                format!("`{text}` is not a call id: give a number as `cargo iso log` lists them")
            }),
        };
        let (first, last) = if let Some((first, last)) = text.split_once("..=") {
            (number(first, 1)?, number(last, u64::MAX)?)
        } else if let Some((first, last)) = text.split_once("..") {
            let end = number(last, u64::MAX)?;
            let last = if last.is_empty() {
                end
            } else {
                end.saturating_sub(1)
            };
            (number(first, 1)?, last)
        } else {
            let id = number(text, 0)?;
            (id, id)
        };
        Ok(CallIds { first, last })
    }
}

impl CallIds {
    fn single(&self) -> Option<u64> {
        (self.first == self.last).then_some(self.first)
    }

    fn holds(&self, id: u64) -> bool {
        (self.first..=self.last).contains(&id)
    }
}

impl ReplayArgs {
    /// Replays the calls and prints the divergences.
    pub fn exec(self, shell: &Shell) -> Result<()> {
        let (apps, project_data) = self.apps(shell)?;
        let dir = match (&self.data, project_data) {
            (Some(dir), _) => dir.clone(),
            (None, Some(dir)) => dir,
            (None, None) => {
                let err =
                    anyhow::anyhow!("give the data folder to read the log from, with `--data DIR`");
                return Err(bad_input(shell, err));
            }
        };
        let calls = self.calls(shell, &dir)?;
        let runtime = self.runtime(shell, apps, &calls)?;
        let against = self.against_label();
        shell.status(
            "Replaying",
            format_args!("{} {} on {against}", calls.len(), plural(calls.len())),
        );
        let progress =
            (calls.len() > PROGRESS_FROM).then(|| shell.progress("Replaying", calls.len() as u64));
        let mut stdout = std::io::stdout().lock();
        let mut diverged = 0;
        for call in &calls {
            let replayed = replay(&runtime, &dir, call).map_err(|err| fail(shell, err))?;
            if let Some(progress) = &progress {
                progress.advance();
            }
            if replayed.diverged() {
                diverged += 1;
                print_divergence(&mut stdout, call, &replayed)?;
            }
        }
        drop(progress);
        let same = calls.len() - diverged;
        writeln!(
            stdout,
            "replay result: {}. {diverged} diverged; {same} same",
            if diverged == 0 { "ok" } else { "DIVERGED" }
        )?;
        if diverged > 0 {
            return Err(AlreadyReported { code: 1 }.into());
        }
        Ok(())
    }

    /// The apps to start, and the project's data folder: with `--against`
    /// and `--data`, the given component alone, and no project.
    fn apps(&self, shell: &Shell) -> Result<(Vec<RunApp>, Option<PathBuf>)> {
        if self.against.is_some() && self.data.is_some() {
            return Ok((Vec::new(), None));
        }
        let (apps, data) = match &self.rev {
            Some(rev) => crate::commands::replay_rev::apps_at(rev, &self.build, shell)?,
            None => project_apps(&self.build, shell)?,
        };
        Ok((apps, Some(data)))
    }

    /// The logged calls the ids name, oldest first; an id that names no
    /// call is an error.
    fn calls(&self, shell: &Shell, dir: &Path) -> Result<Vec<LoggedCall>> {
        let logged = EventLog::read(dir)?;
        for id in self.ids.iter().filter_map(CallIds::single) {
            if !logged.iter().any(|call| call.id == id) {
                shell.report(&anyhow::anyhow!(
                    "no call {id} in the log in `{}`\nhelp: `cargo iso log` lists the calls it holds",
                    dir.join("events").display()
                ));
                return Err(AlreadyReported { code: 2 }.into());
            }
        }
        let calls: Vec<LoggedCall> = (logged.into_iter())
            .filter(|call| self.ids.iter().any(|ids| ids.holds(call.id)))
            .collect();
        if calls.is_empty() {
            shell.report(&anyhow::anyhow!(
                "the log in `{}` holds no call in those ranges\nhelp: `cargo iso log` lists the calls it holds",
                dir.join("events").display()
            ));
            return Err(AlreadyReported { code: 2 }.into());
        }
        Ok(calls)
    }

    /// A runtime, in memory and logging nothing, with `apps` started and
    /// the component `--against` gives at the address of the calls.
    fn runtime(&self, shell: &Shell, apps: Vec<RunApp>, calls: &[LoggedCall]) -> Result<Runtime> {
        let mut runtime = start_in_memory(shell, &apps)?;
        if let Some(path) = &self.against {
            let address = one_address(calls).map_err(|err| bad_input(shell, err))?;
            let bytes = std::fs::read(path)
                .with_context(|| format!("could not read `{}`", path.display()))?;
            let started = match runtime.version(address) {
                Some(_) => runtime.swap(address, &bytes, false).map(drop),
                None => runtime.start(address, &bytes, Wiring::new(), Budget::default()),
            };
            started.map_err(|err| fail(shell, err))?;
        }
        if let Some(call) = calls.iter().find(|c| runtime.version(&c.address).is_none()) {
            let err = anyhow::anyhow!(
                "call {} is to `{}`, which this project does not build\nhelp: replay it with `--against PATH.wasm`",
                call.id,
                call.address
            );
            return Err(bad_input(shell, err));
        }
        Ok(runtime)
    }

    /// What the calls replay on, for the status line.
    fn against_label(&self) -> String {
        match (&self.against, &self.rev) {
            (Some(path), _) => format!("`{}`", path.display()),
            (None, Some(rev)) => format!("revision `{rev}`"),
            (None, None) => "the current build".to_owned(),
        }
    }
}

/// Replays one call, from the state the log kept for it.
fn replay(
    runtime: &Runtime,
    dir: &Path,
    call: &LoggedCall,
) -> Result<Replayed, iso_host::HostError> {
    let state = EventLog::state(dir, call)?;
    runtime.replay(&call.address, call, state)
}

/// The one address all `calls` went to; `--against` gives one component.
fn one_address(calls: &[LoggedCall]) -> Result<&str> {
    let first = calls.first().map_or("", |call| call.address.as_str());
    if let Some(other) = calls.iter().find(|call| call.address != first) {
        bail!(
            "`--against` gives one component, but these calls are to `{first}` and `{}`\nhelp: pick the calls of one app (`cargo iso log --app {first}` lists them)",
            other.address
        );
    }
    Ok(first)
}

/// `call 2  m v1  greet("bob")` with both outcomes, and where the effects parted.
fn print_divergence(out: &mut impl Write, call: &LoggedCall, replayed: &Replayed) -> Result<()> {
    writeln!(
        out,
        "call {}  {} v{}  {} ... diverged",
        call.id, call.address, call.version, call.call
    )?;
    writeln!(out, "    logged:   {}", replayed.logged)?;
    writeln!(out, "    replayed: {}", replayed.replayed)?;
    if let Some(effect) = &replayed.first_effect {
        writeln!(out, "    first different {effect}")?;
    }
    Ok(())
}

/// Reports `err` as bad input: exit code 2.
pub(crate) fn bad_input(shell: &Shell, err: anyhow::Error) -> anyhow::Error {
    shell.report(&err);
    AlreadyReported { code: 2 }.into()
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "call" } else { "calls" }
}
