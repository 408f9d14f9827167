//! `cargo iso run`: build a guest, run it in the embedded host under a budget,
//! and call its `run` export or each `--invoke` in order on one instance.
//!
//! Exit codes: 0 success; 2 bad input (a bad call, an unknown export, a file
//! that is not a component, an import the host lacks, a state the guest
//! refuses); 101 a build failure (cargo's own code); 10 fuel, 11 memory and
//! 12 time budget exceeded; 20 a guest trap; 21 a guest panic.

use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{Context, Result, bail};
use clap::Args;
use iso_host::runtime::{Runtime, Wiring, block_on};
use iso_host::{
    Budget, BudgetKind, CallOutput, ComponentCache, EngineOptions, Fuel, HostError, IsoEngine,
    LogRecord, LogSink, MemorySize, Timeout,
};

use crate::AlreadyReported;
use crate::commands::build::{BuildOptions, Pipeline};
use crate::componentize::write_atomically;
use crate::term::Shell;

/// `cargo iso run`.
#[derive(Args, Debug)]
#[command(
    after_help = "Exit codes: 0 ok, 2 bad input, 101 build failed, 10/11/12 fuel/memory/time budget exceeded, 20 guest trap, 21 guest panic.

Examples:
  cargo iso run --fuel 1e6 --invoke 'increment(5)' --invoke 'get()'
  cargo iso run target/iso/debug/counter.wasm --state counter.state"
)]
pub struct RunArgs {
    /// A built component to run instead of building the guest here
    #[arg(value_name = "WASM")]
    pub wasm: Option<PathBuf>,

    #[command(flatten)]
    #[allow(missing_docs)]
    pub budget: BudgetArgs,

    /// A call in WAVE syntax, e.g. 'increment(5)'; repeat for several calls on one instance [default: run()]
    #[arg(long = "invoke", value_name = "CALL")]
    pub invokes: Vec<String>,

    /// Load the guest's state from FILE before the calls (if it exists) and save it there after
    #[arg(long, value_name = "FILE")]
    pub state: Option<PathBuf>,

    /// Print each call's results and usage as one JSON object on stdout
    #[arg(long)]
    pub json: bool,

    #[command(flatten)]
    #[allow(missing_docs)]
    pub build: BuildOptions,
}

/// The budget flags of the commands that run guests; each overrides `[package.metadata.iso]`.
#[derive(Args, Debug, Clone, Default)]
pub struct BudgetArgs {
    /// Fuel per call, e.g. 1e6 or 1_000_000 [default: from [package.metadata.iso], else unlimited]
    #[arg(long, value_name = "N")]
    pub fuel: Option<Fuel>,

    /// Linear memory cap, e.g. 64MiB [default: from [package.metadata.iso], else unlimited]
    #[arg(long, value_name = "SIZE")]
    pub memory: Option<MemorySize>,

    /// Wall-clock time per call, e.g. 500ms [default: from [package.metadata.iso], else unlimited]
    #[arg(long, value_name = "DURATION")]
    pub timeout: Option<Timeout>,
}

impl BudgetArgs {
    /// `manifest`'s budget with these flags over it.
    pub fn over(&self, manifest: Budget) -> Budget {
        manifest.overridden_by(Budget {
            fuel: self.fuel,
            memory: self.memory,
            timeout: self.timeout,
        })
    }
}

/// Prints guest log lines on stderr with the guest's name.
pub struct StderrLog {
    /// The guest's name.
    pub guest: String,
}

impl LogSink for StderrLog {
    fn log(&self, record: &LogRecord) {
        let fields: String = record
            .fields
            .iter()
            .map(|(k, v)| format!(" {k}={v}"))
            .collect();
        let mut stderr = anstream::stderr().lock();
        let _ = writeln!(
            stderr,
            "{:>12} {}: {}{fields}",
            format!("[{}]", self.guest),
            record.level,
            record.message
        );
    }
}

/// The process exit code for a host error.
pub fn exit_code(err: &HostError) -> u8 {
    match err {
        HostError::BudgetExceeded {
            kind: BudgetKind::Fuel,
            ..
        } => 10,
        HostError::BudgetExceeded {
            kind: BudgetKind::Memory,
            ..
        }
        | HostError::MemoryBelowMinimum { .. } => 11,
        HostError::BudgetExceeded {
            kind: BudgetKind::Time,
            ..
        } => 12,
        HostError::Trap { .. } => 20,
        HostError::GuestPanic { .. } => 21,
        HostError::CalleeFailed { error, .. } => exit_code(error),
        _ => 2,
    }
}

impl RunArgs {
    /// Builds (unless given a `.wasm`), starts it in a runtime and makes the calls.
    pub fn exec(self, shell: &Shell) -> Result<()> {
        let (bytes, name, manifest_budget) = self.component(shell)?;
        let budget = self.budget.over(manifest_budget);
        let engine = Arc::new(IsoEngine::new(EngineOptions {
            precise_timing: true,
            ..EngineOptions::default()
        })?);
        let cache = ComponentCache::new(
            crate::shared_target::root().map(|root| root.with_file_name("compiled")),
        );
        let log = Arc::new(StderrLog {
            guest: name.clone(),
        });
        let mut runtime = Runtime::new(engine, cache, log)?;
        runtime
            .start(&name, &bytes, Wiring::new(), budget)
            .map_err(|err| fail(shell, err))?;
        if let Some(path) = &self.state
            && path.exists()
        {
            let saved = std::fs::read(path)
                .with_context(|| format!("could not read state file `{}`", path.display()))?;
            runtime
                .with_instance(&name, move |instance| instance.restore_state(&saved))
                .and_then(|restored| restored)
                .map_err(|err| fail(shell, err))?;
            shell.status("Restored", format_args!("state from {}", path.display()));
        }
        let calls = if self.invokes.is_empty() {
            vec!["run()".to_owned()]
        } else {
            self.invokes.clone()
        };
        for call in &calls {
            let output =
                block_on(runtime.call_wave(&name, call)).map_err(|err| fail(shell, err))?;
            self.report(shell, call, &output)?;
        }
        if let Some(path) = &self.state {
            let saved = runtime
                .with_instance(&name, |instance| instance.save_state())
                .and_then(|saved| saved)
                .map_err(|err| fail(shell, err))?;
            let Some(bytes) = saved else {
                bail!("`--state` needs a guest that exports iso:app/state; `{name}` does not");
            };
            write_atomically(path, &bytes)?;
            shell.status(
                "Saved",
                format_args!("state to {} ({} bytes)", path.display(), bytes.len()),
            );
        }
        Ok(())
    }

    /// The component's bytes, its name, and the budget its manifest sets.
    fn component(&self, shell: &Shell) -> Result<(Vec<u8>, String, Budget)> {
        if let Some(path) = &self.wasm {
            let bytes = std::fs::read(path)
                .with_context(|| format!("could not read `{}`", path.display()))?;
            let name = path
                .file_stem()
                .map_or_else(|| "guest".to_owned(), |s| s.to_string_lossy().into_owned());
            return Ok((bytes, name, Budget::default()));
        }
        let pipeline = Pipeline::prepare(&self.build, shell)?;
        pipeline.single_guest("run", "choose one with `-p <name>`")?;
        let (component, bytes) = pipeline.build_single(shell)?;
        Ok((
            bytes,
            component.guest.name.clone(),
            component.guest.settings.budget(),
        ))
    }

    fn report(&self, shell: &Shell, call: &str, output: &CallOutput) -> Result<()> {
        let usage = &output.usage;
        let mut stdout = std::io::stdout().lock();
        if self.json {
            let line = serde_json::json!({
                "call": call,
                "results": output.results_wave(),
                "fuel": usage.fuel,
                "memory_peak": usage.memory_peak,
                "elapsed_us": usage.elapsed.as_micros() as u64,
            });
            writeln!(stdout, "{line}")?;
        } else {
            for result in output.results_wave() {
                writeln!(stdout, "{result}")?;
            }
        }
        shell.status(
            "Usage",
            format_args!(
                "{call}: fuel {}, memory peak {}, {:.2?}",
                usage.fuel,
                bytesize::ByteSize(usage.memory_peak).display().iec(),
                usage.elapsed
            ),
        );
        Ok(())
    }
}

/// Shows a host error, with how to raise a budget it exceeded, and ends with its exit code.
pub fn fail(shell: &Shell, err: HostError) -> anyhow::Error {
    let code = exit_code(&err);
    let raise = match &err {
        HostError::BudgetExceeded { kind, .. } => Some(raise_hint(*kind)),
        _ => None,
    };
    shell.report(&anyhow::Error::new(err));
    if let Some(hint) = raise {
        shell.note(hint);
    }
    AlreadyReported { code }.into()
}

/// How to raise a budget of `kind`, from the command line or the manifest.
fn raise_hint(kind: BudgetKind) -> &'static str {
    match kind {
        BudgetKind::Fuel => {
            "raise it with `--fuel N`, or `fuel = N` under `[package.metadata.iso]`"
        }
        BudgetKind::Memory => {
            "raise it with `--memory SIZE`, or `memory = \"SIZE\"` under `[package.metadata.iso]`"
        }
        BudgetKind::Time => {
            "raise it with `--timeout DUR`, or `timeout = \"DUR\"` under `[package.metadata.iso]`"
        }
    }
}
