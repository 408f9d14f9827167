//! `cargo iso serve`: a long-running host that serves the project's guests
//! (or given `.wasm` files) on NATS, each under the budget of its
//! manifest, until it is stopped: then it drains, answering every call
//! already sent to it before it exits.
//!
//! Its kv, state and event log are kept in `target/iso/serve/` (not in
//! `target/iso/data/`, so that `run` and `dev` of the project work while
//! it serves), or in `--data DIR`. Hosts serving one app share its calls. Calls are at most once: a call
//! in flight on a host that dies fails at the caller (no reply within its
//! time budget) and is not sent again.

use std::path::PathBuf;
use std::sync::{Arc, mpsc};
use std::time::Duration;

use anyhow::{Context, Result};
use clap::Args;
use iso_host::runtime::Transport;
use iso_host::runtime::{RestartIntensity, Start};
use iso_host::{Budget, Durability, EngineOptions, Fuel, MemorySize, Timeout};
use iso_nats::ConnectionEvent;

use crate::commands::build::BuildOptions;
use crate::commands::lattice::NatsArgs;
use crate::commands::run::{BudgetArgs, RunApp, compiled_runtime, fail, project_apps};
use crate::term::Shell;

/// How long a stopping host waits for the calls in flight.
const DRAIN_WITHIN: Duration = Duration::from_secs(30);

/// How long a new host waits to hear itself answer.
const ANSWER_WITHIN: Duration = Duration::from_secs(5);

/// `cargo iso serve`.
#[derive(Args, Debug)]
#[command(
    after_help = "Stops on Ctrl-C or SIGTERM, after answering the calls in flight.

Examples:
  cargo iso serve -p store
  cargo iso serve --nats nats://10.0.0.5:4222 --fuel 1e7
  cargo iso serve target/iso/release/store.wasm --no-data"
)]
pub struct ServeArgs {
    /// Built components to serve instead of the project's guests, each under its file name
    #[arg(value_name = "WASM")]
    pub wasm: Vec<PathBuf>,

    #[command(flatten)]
    #[allow(missing_docs)]
    pub nats: NatsArgs,

    #[command(flatten)]
    #[allow(missing_docs)]
    pub budget: BudgetArgs,

    #[command(flatten)]
    #[allow(missing_docs)]
    pub build: BuildOptions,
}

/// The limits of a served app that its manifest and the flags leave
/// unset: whoever can reach the NATS server can call it, so nothing
/// served runs without a budget.
pub const SERVED_DEFAULTS: Budget = Budget {
    fuel: Some(Fuel(1_000_000_000)),
    memory: Some(MemorySize(64 << 20)),
    timeout: Some(Timeout(Duration::from_secs(5))),
    storage: Some(MemorySize(64 << 20)),
};

/// Fills each limit of `starts` that is unset from [`SERVED_DEFAULTS`],
/// and says so for each app that had one unset.
fn bound_served(shell: &Shell, starts: &mut [Start]) {
    for start in starts {
        let budget = start.budget;
        let filled = SERVED_DEFAULTS.overridden_by(budget);
        if filled != budget {
            shell.note(format_args!(
                "`{}` is served under the default budget where it sets none: {}; set `fuel`, `memory`, `timeout` and `storage` under `[package.metadata.iso]`, or pass the flags, to change it",
                start.address,
                filled
            ));
            start.budget = filled;
        }
    }
}

impl ServeArgs {
    /// Builds (unless given `.wasm` files), starts every guest, serves
    /// them, and drains on a signal.
    pub fn exec(self, shell: &Shell) -> Result<()> {
        let (apps, data_dir) = self.components(shell)?;
        let mut runtime = compiled_runtime(shell, EngineOptions::default(), &apps)?;
        // One caller's failing calls must not stop an app for the others.
        runtime.set_restart_intensity(RestartIntensity::NEVER_STOP);
        let names: Vec<String> = apps.iter().map(|app| app.name.clone()).collect();
        (self.budget)
            .keep_in(&mut runtime, data_dir, Durability::EveryCall, &names)
            .map_err(|e| fail(shell, e))?;
        let watcher = shell.clone();
        let (url, _) = iso_nats::Credentials::from_url(self.nats.url());
        let nats = Arc::new(self.nats.connect_watched(move |event| match event {
            ConnectionEvent::Lost => watcher.warn(format_args!(
                "lost the connection to {url}; reconnecting, and serving again once it is back"
            )),
            ConnectionEvent::Back => {
                watcher.status("Reconnected", format_args!("to {url}; serving again"))
            }
        })?);
        if apps.iter().any(|app| app.wiring.remotes().next().is_some()) {
            runtime.set_transport(nats.clone());
        }
        let mut starts = self.budget.starts(&apps);
        bound_served(shell, &mut starts);
        runtime.start_all(starts).map_err(|err| fail(shell, err))?;
        let stop = stop_signal()?;
        let warn_shell = shell.clone();
        let serving = nats.serve(Arc::new(runtime), move |warning| warn_shell.warn(warning))?;
        for app in &serving.info().apps {
            // Heard answering through the server: it is reachable.
            (nats.describe(&app.address, ANSWER_WITHIN))
                .with_context(|| format!("`{}` does not answer on {}", app.address, nats.url()))?;
            shell.status(
                "Serving",
                format_args!(
                    "{} ({}) on {}",
                    app.address,
                    app.exports.join(", "),
                    nats.url()
                ),
            );
        }
        let _ = stop.recv();
        shell.status("Draining", "the calls in flight");
        let stopped = serving.stop(DRAIN_WITHIN);
        if !stopped.drained {
            shell.warn(format_args!(
                "some calls were not answered within {DRAIN_WITHIN:?}"
            ));
        }
        let answered = stopped.answered;
        shell.status("Stopped", format_args!("after answering {answered} calls"));
        Ok(())
    }

    /// The apps to serve: the given `.wasm` files, each under its file
    /// name, or every selected guest, built and wired; and the data folder
    /// (the project's, or none for `.wasm` files).
    fn components(&self, shell: &Shell) -> Result<(Vec<RunApp>, Option<PathBuf>)> {
        if self.wasm.is_empty() {
            let (apps, data) = project_apps(&self.build, shell)?;
            // Not `data` itself: `run` and `dev` of the project keep using it.
            return Ok((apps, Some(data.with_file_name("serve"))));
        }
        let apps = self.wasm.iter().map(|path| RunApp::from_wasm(path));
        let apps = apps.collect::<Result<_>>()?;
        Ok((apps, None))
    }
}

/// A channel that receives once on Ctrl-C or SIGTERM.
fn stop_signal() -> Result<mpsc::Receiver<()>> {
    let (stop, stopped) = mpsc::channel();
    ctrlc::set_handler(move || {
        let _ = stop.send(());
    })
    .context("could not take Ctrl-C and SIGTERM")?;
    Ok(stopped)
}
