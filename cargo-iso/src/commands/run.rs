//! `cargo iso run`: build the guests, start them in the embedded host, each
//! under its budget and wired to the guests that provide its imports, and
//! call `run` or each `--invoke` in order. A call names its app
//! (`store.get("a")`) unless only one app exports it.
//!
//! Exit codes: 0 success; 2 bad input (a bad call, an unknown export, a file
//! that is not a component, an import the host lacks, a state the guest
//! refuses); 101 a build failure (cargo's own code); 10 fuel, 11 memory,
//! 12 time and 13 storage budget exceeded; 20 a guest trap; 21 a guest panic.

use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{Context, Result, bail};
use clap::Args;
use iso_host::codec::RemoteError;
use iso_host::runtime::{Runtime, Start, Wiring, block_on};
use iso_host::{
    Budget, BudgetKind, CallOutput, ComponentCache, Durability, EngineOptions, EventLog, Fuel,
    HostError, IsoEngine, LogRecord, LogSink, MemorySize, RemoteFailure, Storage, Timeout,
    event_log,
};

use crate::AlreadyReported;
use crate::commands::build::{BuildOptions, Pipeline};
use crate::commands::lattice::NatsArgs;
use crate::componentize::write_atomically;
use crate::links::Link;
use crate::term::Shell;

/// `cargo iso run`.
#[derive(Args, Debug)]
#[command(
    after_help = "Exit codes: 0 ok, 2 bad input, 101 build failed, 10/11/12/13 fuel/memory/time/storage budget exceeded, 20 guest trap, 21 guest panic.

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

    /// A call in WAVE syntax, e.g. 'increment(5)'; repeat for several calls, made in order (all are checked first, and a failed call stops the rest) [default: run()]
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
    pub nats: NatsArgs,

    #[command(flatten)]
    #[allow(missing_docs)]
    pub build: BuildOptions,
}

/// The budget and storage flags of the commands that run guests; each
/// budget overrides `[package.metadata.iso]`.
#[derive(Args, Debug, Clone, Default)]
pub struct BudgetArgs {
    /// Fuel per call, e.g. 1e6 or 1_000_000 [default: from [package.metadata.iso], else unlimited]
    #[arg(long, value_name = "N")]
    pub fuel: Option<Fuel>,

    /// Linear memory cap, e.g. 64MiB [default: from [package.metadata.iso], else unlimited]
    #[arg(long, value_name = "SIZE")]
    pub memory: Option<MemorySize>,

    /// Wall-clock time per call, e.g. 500ms [default: from [package.metadata.iso], else 10s in `run` and `dev`, unlimited in `serve`]
    #[arg(long, value_name = "DURATION")]
    pub timeout: Option<Timeout>,

    /// kv key and value bytes each app keeps, e.g. 64MiB [default: from [package.metadata.iso], else unlimited]
    #[arg(long, value_name = "SIZE")]
    pub storage: Option<MemorySize>,

    /// Keep each app's kv and state in the database in DIR, across runs [default: target/iso/data]
    #[arg(long, value_name = "DIR")]
    pub data: Option<PathBuf>,

    /// Keep kv and state in memory only: start empty and keep nothing
    #[arg(long, conflicts_with = "data")]
    pub no_data: bool,

    /// Log no calls (by default each call is logged to the data folder's `events/`, for `cargo iso log`)
    #[arg(long)]
    pub no_log: bool,

    /// Start every app from its default state with no kv entries, forgetting what the data folder kept of them
    #[arg(long, conflicts_with = "no_data")]
    pub fresh: bool,

    /// Start APP from its default state with no kv entries, forgetting what the data folder kept of it; repeatable
    #[arg(long, value_name = "APP", conflicts_with = "no_data")]
    pub reset: Vec<String>,
}

impl BudgetArgs {
    /// The data folder: the one `--data` names, else `default` (the
    /// project's `target/iso/data`); `None` (in memory) with `--no-data`.
    pub fn data_dir(&self, default: Option<PathBuf>) -> Option<PathBuf> {
        match self.no_data {
            true => None,
            false => self.data.clone().or(default),
        }
    }

    /// Keeps `runtime`'s kv and state in the data folder (see
    /// [`BudgetArgs::data_dir`]), committed with `durability`, and logs its
    /// calls there unless `--no-log`.
    /// `--fresh` and `--reset` forget what it kept of `apps` first.
    pub fn keep_in(
        &self,
        runtime: &mut Runtime,
        default: Option<PathBuf>,
        durability: Durability,
        apps: &[String],
    ) -> Result<(), HostError> {
        let Some(dir) = self.data_dir(default) else {
            return Ok(());
        };
        let storage = Storage::open(&dir, durability)?;
        for app in apps
            .iter()
            .filter(|app| self.fresh || self.reset.contains(app))
        {
            storage.reset(app)?;
        }
        runtime.set_storage(storage);
        if !self.no_log {
            runtime.set_event_log(EventLog::open(&dir, event_log::DEFAULT_BOUND)?);
        }
        Ok(())
    }

    /// How to start each of `apps`: its budget with these flags over it.
    pub fn starts<'a>(&self, apps: &'a [RunApp]) -> Vec<Start<'a>> {
        (apps.iter())
            .map(|app| Start {
                address: &app.name,
                bytes: &app.bytes,
                wiring: app.wiring.clone(),
                budget: self.over(app.budget),
            })
            .collect()
    }

    /// `manifest`'s budget with these flags over it.
    pub fn over(&self, manifest: Budget) -> Budget {
        manifest.overridden_by(Budget {
            fuel: self.fuel,
            memory: self.memory,
            timeout: self.timeout,
            storage: self.storage,
        })
    }
}

/// The time budget of `run` and `dev` for an app that sets none, so that a
/// guest that loops stops instead of hanging the command.
pub const DEFAULT_TIMEOUT: Timeout = Timeout(std::time::Duration::from_secs(10));

/// Gives each of `starts` without a time budget [`DEFAULT_TIMEOUT`], and
/// says so once, naming them.
pub fn bound_time(shell: &Shell, starts: &mut [Start]) {
    let unbounded: Vec<&str> = (starts.iter_mut())
        .filter(|start| start.budget.timeout.is_none())
        .map(|start| {
            start.budget.timeout = Some(DEFAULT_TIMEOUT);
            start.address
        })
        .collect();
    if !unbounded.is_empty() {
        shell.note(format_args!(
            "no time budget set for {}; using {DEFAULT_TIMEOUT}, set `timeout = \"DUR\"` under `[package.metadata.iso]` or pass `--timeout DUR` to change it",
            unbounded.join(", ")
        ));
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

/// A runtime for `apps` on an engine with `options`, which prints their
/// log lines on stderr, with their components compiled into the
/// machine's cache ahead of starting them.
pub fn compiled_runtime(shell: &Shell, options: EngineOptions, apps: &[RunApp]) -> Result<Runtime> {
    let engine = Arc::new(IsoEngine::new(options)?);
    let cache = ComponentCache::new(
        crate::shared_target::root().map(|root| root.with_file_name("compiled")),
    );
    let names: Vec<String> = apps.iter().map(|app| app.name.clone()).collect();
    let log = Arc::new(StderrLog {
        guest: names.join(","),
    });
    let compiling: Vec<(&str, &[u8])> = (apps.iter())
        .map(|app| (app.name.as_str(), app.bytes.as_slice()))
        .collect();
    compile_all(shell, &engine, &cache, &compiling);
    Ok(Runtime::new(engine, cache, log)?)
}

/// Compiles each app's component into `cache` ahead of starting them, with
/// a progress bar when there are several: starting then finds them
/// compiled. A component that does not compile is left for the start to report.
pub fn compile_all(
    shell: &Shell,
    engine: &IsoEngine,
    cache: &ComponentCache,
    apps: &[(&str, &[u8])],
) {
    let progress = (apps.len() > 1).then(|| shell.progress("Compiling", apps.len() as u64));
    for (name, bytes) in apps {
        if let Some(progress) = &progress {
            progress.step(name);
        }
        let _ = cache.load(engine.engine(), bytes);
        if let Some(progress) = &progress {
            progress.advance();
        }
    }
}

/// The process exit code for a host error.
pub fn exit_code(err: &HostError) -> u8 {
    match err {
        HostError::BudgetExceeded { kind, .. } => budget_exit_code(*kind),
        HostError::MemoryBelowMinimum { .. } => budget_exit_code(BudgetKind::Memory),
        HostError::Trap { .. } => 20,
        HostError::GuestPanic { .. } => 21,
        HostError::CalleeFailed { error, .. } => exit_code(error),
        HostError::Remote { failure, .. } => match &**failure {
            RemoteFailure::Failed(failed) => remote_exit_code(failed),
            _ => 2,
        },
        _ => 2,
    }
}

/// The exit code of a budget of `kind` exceeded: 10 fuel, 11 memory, 12 time, 13 storage.
fn budget_exit_code(kind: BudgetKind) -> u8 {
    match kind {
        BudgetKind::Fuel => 10,
        BudgetKind::Memory => 11,
        BudgetKind::Time => 12,
        BudgetKind::Storage => 13,
    }
}

/// The exit code of a call that failed on a remote host: `run`'s code for
/// the same failure made here.
fn remote_exit_code(failed: &RemoteError) -> u8 {
    match failed {
        RemoteError::BudgetExceeded { .. } => failed.budget_kind().map_or(13, budget_exit_code),
        RemoteError::Trap(_) => 20,
        RemoteError::Panic(_) => 21,
        _ => 2,
    }
}

impl RunArgs {
    /// Builds (unless given a `.wasm`), starts every guest wired in one
    /// runtime, and makes the calls.
    pub fn exec(self, shell: &Shell) -> Result<()> {
        let (apps, data_dir) = self.components(shell)?;
        let precise = EngineOptions {
            precise_timing: true,
            ..EngineOptions::default()
        };
        let mut runtime = compiled_runtime(shell, precise, &apps)?;
        let names: Vec<String> = apps.iter().map(|app| app.name.clone()).collect();
        // Each call's writes are on disk before its result is printed.
        (self.budget)
            .keep_in(&mut runtime, data_dir, Durability::EveryCall, &names)
            .map_err(|e| fail(shell, e))?;
        let _nats = (self.nats).connect_for(&mut runtime, apps.iter().map(|app| &app.wiring))?;
        let mut starts = self.budget.starts(&apps);
        bound_time(shell, &mut starts);
        runtime.start_all(starts).map_err(|err| fail(shell, err))?;
        let state_of = match (&self.state, names.as_slice()) {
            (None, _) => None,
            (Some(path), [name]) => Some((path, name.as_str())),
            (Some(_), _) => bail!(
                "`--state` works on one guest, but this runs {}\nhelp: choose one with `-p <name>`",
                names.join(", ")
            ),
        };
        if let Some((path, name)) = state_of
            && path.exists()
        {
            let saved = std::fs::read(path)
                .with_context(|| format!("could not read state file `{}`", path.display()))?;
            runtime
                .with_instance(name, move |instance| instance.restore_state(&saved))
                .and_then(|restored| restored)
                .map_err(|err| fail(shell, err))?;
            shell.status("Restored", format_args!("state from {}", path.display()));
        }
        let calls = if self.invokes.is_empty() {
            vec!["run()".to_owned()]
        } else {
            self.invokes.clone()
        };
        // Every call is checked before the first is made: a typo in the
        // last leaves nothing of the others committed.
        let checked = (calls.iter())
            .map(|call| check_call(&runtime, &names, call))
            .collect::<Result<Vec<_>>>()
            .map_err(|err| {
                shell.report(&err);
                AlreadyReported { code: 2 }
            })?;
        // A failed call stops the rest: they may depend on what it did.
        for ((address, text), call) in checked.into_iter().zip(&calls) {
            let output =
                block_on(runtime.call_wave(address, text)).map_err(|err| fail(shell, err))?;
            self.report(shell, call, &output)?;
        }
        if let Some((path, name)) = state_of {
            let saved = runtime
                .with_instance(name, |instance| instance.save_state())
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

    /// The components to run: the given `.wasm`, or every selected guest,
    /// built, each with its wiring and the budget its manifest sets; and
    /// the project's data folder (none for a given `.wasm`).
    fn components(&self, shell: &Shell) -> Result<(Vec<RunApp>, Option<PathBuf>)> {
        if let Some(path) = &self.wasm {
            let app = RunApp::from_wasm(path).map_err(|err| {
                shell.report(&err);
                AlreadyReported { code: 2 }
            })?;
            return Ok((vec![app], None));
        }
        let (apps, data) = project_apps(&self.build, shell)?;
        Ok((apps, Some(data)))
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

/// One app to start: its address, component, wiring and budget.
pub struct RunApp {
    /// Its address: the guest's name.
    pub name: String,
    /// Its component.
    pub bytes: Vec<u8>,
    /// Who fills its imports.
    pub wiring: Wiring,
    /// The budget its manifest sets.
    pub budget: Budget,
    /// The guest crate's folder, when built from one.
    pub folder: Option<PathBuf>,
}

impl RunApp {
    /// The component in the file at `path`, named by the file, unwired,
    /// with no budget of its own.
    pub fn from_wasm(path: &std::path::Path) -> Result<RunApp> {
        let bytes =
            std::fs::read(path).with_context(|| format!("could not read `{}`", path.display()))?;
        if !bytes.starts_with(b"\0asm") {
            bail!(
                "`{}` is not a wasm file: it does not start with the `\\0asm` magic bytes\nhelp: give a component that `cargo iso build` wrote, such as target/iso/debug/NAME.wasm",
                path.display()
            );
        }
        let name = path
            .file_stem()
            .map_or_else(|| "guest".to_owned(), |s| s.to_string_lossy().into_owned());
        Ok(RunApp {
            name,
            bytes,
            wiring: Wiring::new(),
            budget: Budget::default(),
            folder: None,
        })
    }
}

/// A runtime in memory that logs nothing, with `apps` started, for the
/// commands that make calls of their own (`replay`, `test`).
pub fn start_in_memory(shell: &Shell, apps: &[RunApp]) -> Result<Runtime> {
    let engine = Arc::new(IsoEngine::new(EngineOptions::default())?);
    let cache = ComponentCache::new(
        crate::shared_target::root().map(|root| root.with_file_name("compiled")),
    );
    let mut runtime = Runtime::new(engine, cache, Arc::new(iso_host::NoLog))?;
    let starts = (apps.iter())
        .map(|app| Start {
            address: &app.name,
            bytes: &app.bytes,
            wiring: app.wiring.clone(),
            budget: app.budget,
        })
        .collect();
    runtime.start_all(starts).map_err(|err| fail(shell, err))?;
    Ok(runtime)
}

/// Every selected guest of the project, built, each with its wiring and
/// the budget its manifest sets; and the project's data folder.
pub fn project_apps(build: &BuildOptions, shell: &Shell) -> Result<(Vec<RunApp>, PathBuf)> {
    let pipeline = Pipeline::prepare(build, shell)?;
    let built = pipeline.build(shell)?;
    let names: Vec<String> = built.iter().map(|c| c.guest.name.clone()).collect();
    let selected: Vec<&str> = names.iter().map(String::as_str).collect();
    let apps = built
        .into_iter()
        .map(|component| {
            let bytes = component.read()?;
            let guest = component.guest;
            Ok(RunApp {
                wiring: wiring_of(&guest.name, pipeline.links(), &selected),
                budget: guest.settings.budget(),
                folder: guest.manifest_path.parent().map(|dir| dir.into()),
                name: guest.name,
                bytes,
            })
        })
        .collect::<Result<_>>()?;
    Ok((apps, pipeline.data_dir()))
}

/// The wiring of guest `name`: each of its links to a remote provider,
/// or to a provider that runs too (one of `running`); any other import
/// must be a system interface.
pub fn wiring_of(name: &str, links: &[Link], running: &[&str]) -> Wiring {
    let links = links.iter().filter(|link| link.importer == name);
    links.fold(Wiring::new(), |wiring, link| match link.remote {
        true => wiring.remote(&link.interface, &link.provider),
        false if running.contains(&link.provider.as_str()) => {
            wiring.import(&link.interface, &link.provider)
        }
        false => wiring,
    })
}

/// The address a call goes to, and the call without its app prefix:
/// `store.get("a")` goes to `store`; `get("a")` to the one app that
/// exports `get`.
pub fn address_call<'a>(
    runtime: &Runtime,
    apps: &'a [String],
    call: &'a str,
) -> Result<(&'a str, &'a str)> {
    if let [app] = apps {
        let text = call
            .strip_prefix(app.as_str())
            .and_then(|rest| rest.strip_prefix('.'))
            .unwrap_or(call);
        return Ok((app, text));
    }
    if let Some((prefix, rest)) = call.split_once('.')
        && let Some(app) = apps.iter().find(|app| app.as_str() == prefix.trim())
    {
        return Ok((app, rest));
    }
    let name = call.split('(').next().unwrap_or(call).trim();
    let exporters: Vec<&String> = apps
        .iter()
        .filter(|app| runtime.app(app).is_ok_and(|a| a.resolve(name).is_ok()))
        .collect();
    match exporters.as_slice() {
        [app] => Ok((app, call)),
        [] => bail!(
            "no app exports `{name}`\nhelp: the apps are {}; address a call to one as `APP.{name}(...)`",
            apps.join(", ")
        ),
        several => {
            let options: Vec<String> = several.iter().map(|a| format!("`{a}.{name}`")).collect();
            bail!(
                "`{name}` is exported by {} apps\nhelp: say which: {}",
                several.len(),
                options.join(" or ")
            )
        }
    }
}

/// The app `call` goes to and the call's text without the app, checked
/// against the export it names (see [`address_call`]).
fn check_call<'a>(
    runtime: &Runtime,
    apps: &'a [String],
    call: &'a str,
) -> Result<(&'a str, &'a str)> {
    let (address, text) = address_call(runtime, apps, call)?;
    if let Ok(app) = runtime.app(address) {
        app.check_call(text)?;
    }
    Ok((address, text))
}

/// Shows a host error, with how to raise a budget it exceeded, and ends with its exit code.
pub fn fail(shell: &Shell, err: HostError) -> anyhow::Error {
    let code = exit_code(&err);
    let raise = match &err {
        HostError::BudgetExceeded { kind, .. } => Some(raise_hint(*kind)),
        HostError::StateRejected { .. } => Some(
            "start the app from its default state with `--reset APP` (`--fresh` for every app), or `:reset APP` in `cargo iso dev`; this forgets its state and kv entries",
        ),
        HostError::StorageHeld { .. } => {
            Some("or run with `--data DIR` for a folder of its own, or `--no-data` to keep nothing")
        }
        _ => None,
    };
    shell.report(&anyhow::Error::new(err));
    if let Some(hint) = raise {
        shell.error_note(hint);
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
        BudgetKind::Storage => {
            "nothing of the call was kept; raise it with `--storage SIZE`, or `storage = \"SIZE\"` under `[package.metadata.iso]`"
        }
    }
}
