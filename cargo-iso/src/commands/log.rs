//! `cargo iso log`: the calls `run` and `dev` logged in the project's data
//! folder (`target/iso/data/events/`), newest last, filtered by app,
//! export, failure or time; `cargo iso log show ID` shows one with the effects
//! it saw and the calls it made to other apps.
//!
//! Exit codes: 0 success; 2 bad input (no such call, an unreadable log).

use std::io::Write;
use std::path::PathBuf;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::Result;
use clap::{Args, Subcommand, ValueEnum};
use iso_host::{Effect, EventLog, LoggedCall};

use crate::AlreadyReported;
use crate::commands::build::data_dir_in;
use crate::project::{self, Selection};
use crate::term::Shell;

/// `cargo iso log`.
#[derive(Args, Debug)]
#[command(after_help = "Examples:
  cargo iso log
  cargo iso log --app store --failed
  cargo iso log --since 10m
  cargo iso log --format json
  cargo iso log show 42")]
pub struct LogArgs {
    /// Show one call whole
    #[command(subcommand)]
    pub show: Option<Show>,

    /// Only calls to this app
    #[arg(long, value_name = "APP")]
    pub app: Option<String>,

    /// Only calls of this export, e.g. `get` or `api.get`
    #[arg(long, value_name = "EXPORT")]
    pub export: Option<String>,

    /// Only calls that failed
    #[arg(long)]
    pub failed: bool,

    /// Only calls made since T: a time such as 2026-12-03T14:00:00Z, or how long ago, such as 10m or 2h
    #[arg(long, value_name = "T")]
    pub since: Option<Since>,

    /// How to print the calls
    #[arg(long, value_name = "FMT", default_value = "human")]
    pub format: Format,

    /// The data folder to read [default: the project's target/iso/data]
    #[arg(long, value_name = "DIR")]
    pub data: Option<PathBuf>,

    #[command(flatten)]
    #[allow(missing_docs)]
    pub manifest: clap_cargo::Manifest,
}

/// `cargo iso log show ID`.
#[derive(Subcommand, Debug)]
pub enum Show {
    /// Show the call with this id, its effects and the calls it made
    Show {
        /// The call's id, as `cargo iso log` lists it
        id: u64,
    },
}

/// A moment, as `--since` takes it: a time, or how long ago.
#[derive(Debug, Clone, Copy)]
pub struct Since(SystemTime);

impl std::str::FromStr for Since {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        if let Ok(time) = humantime::parse_rfc3339_weak(text) {
            return Ok(Since(time));
        }
        match humantime::parse_duration(text) {
            Ok(ago) => Ok(Since(SystemTime::now() - ago)),
            Err(_) => Err(format!(
                "`{text}` is neither a time (2026-12-03T14:00:00Z) nor how long ago (10m, 2h)"
            )),
        }
    }
}

/// How `cargo iso log` prints.
#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// One line per call.
    Human,
    /// One JSON object per line, with the call's `id`.
    Json,
}

impl LogArgs {
    /// Reads the log and prints what was asked.
    pub fn exec(self, shell: &Shell) -> Result<()> {
        let dir = self.data_dir()?;
        let calls = EventLog::read(&dir)?;
        let mut stdout = std::io::stdout().lock();
        if let Some(Show::Show { id }) = self.show {
            let Some(call) = calls.iter().find(|call| call.id == id) else {
                shell.report(&anyhow::anyhow!(
                    "no call {id} in the log in `{}`\nhelp: `cargo iso log` lists the calls it holds",
                    dir.join("events").display()
                ));
                return Err(AlreadyReported { code: 2 }.into());
            };
            return self.show(&mut stdout, call);
        }
        for call in calls.iter().filter(|call| self.selects(call)) {
            match self.format {
                Format::Json => writeln!(stdout, "{}", serde_json::to_string(call)?)?,
                Format::Human => writeln!(stdout, "{}", line(call))?,
            }
        }
        Ok(())
    }

    /// The data folder: `--data`, else the project's (`target/iso/data`).
    fn data_dir(&self) -> Result<PathBuf> {
        if let Some(dir) = &self.data {
            return Ok(dir.clone());
        }
        let selection = Selection {
            manifest_path: self.manifest.manifest_path.clone(),
            workspace: clap_cargo::Workspace::default(),
        };
        let project = project::discover(&selection)?;
        Ok(data_dir_in(&project.iso_dir(None)))
    }

    fn selects(&self, call: &LoggedCall) -> bool {
        let export = call.call.split('(').next().unwrap_or_default();
        self.app.as_ref().is_none_or(|app| *app == call.address)
            && self.export.as_ref().is_none_or(|e| e == export)
            && (!self.failed || !call.ok)
            && self.since.is_none_or(|Since(since)| {
                UNIX_EPOCH + Duration::from_millis(call.time_ms) >= since
            })
    }

    fn show(&self, out: &mut impl Write, call: &LoggedCall) -> Result<()> {
        if self.format == Format::Json {
            writeln!(out, "{}", serde_json::to_string_pretty(call)?)?;
            return Ok(());
        }
        writeln!(out, "{}", line(call))?;
        writeln!(out, "  fuel {}, {} µs", call.fuel, call.elapsed_us)?;
        if let Some(state) = &call.state {
            writeln!(out, "  started from a state of {} bytes", state.len)?;
        }
        if call.effects.is_empty() {
            writeln!(
                out,
                "  saw no clock, random or kv reads and called no other app"
            )?;
        }
        for effect in &call.effects {
            match effect {
                Effect::Call(nested) => writeln!(out, "  called {nested}")?,
                other => writeln!(out, "  saw {other}")?,
            }
        }
        Ok(())
    }
}

/// `42  2026-12-03T13:50:01.123Z  counter v1  increment(5) -> 5`.
fn line(call: &LoggedCall) -> String {
    let time = UNIX_EPOCH + Duration::from_millis(call.time_ms);
    let outcome = match call.ok {
        true => call.outcome.clone(),
        false => format!("error: {}", call.outcome),
    };
    format!(
        "{:>6}  {}  {} v{}  {} -> {outcome}",
        call.id,
        humantime::format_rfc3339_millis(time),
        call.address,
        call.version,
        call.call
    )
}
