//! `cargo iso dev`: a live dev host. It builds the guest, serves calls typed
//! (or piped) one per line, and with `--watch` rebuilds and hot-reloads the
//! guest on every save, keeping its state; calls are recorded so they can
//! be replayed against a new version.
//!
//! Results go to stdout, one WAVE line per result; guest logs, usage and
//! status go to stderr. The main loop owns the running guest and takes
//! [`Event`]s from three threads: the line reader, the file watcher, and
//! the builder, so calls are served by the old version while a new one builds.

mod input;
mod watch;

use std::io::Write;
use std::sync::Arc;
use std::sync::mpsc::{self, Receiver, Sender};
use std::time::Instant;

use anyhow::{Result, bail};
use clap::Args;
use iso_host::runtime::{Runtime, Wiring};
use iso_host::{
    App, Budget, Compiler, ComponentCache, EngineOptions, ExportFunc, HostError, IsoEngine,
    Session, Swapped,
};

use crate::commands::build::{BuildOptions, Pipeline};
use crate::commands::run::{BudgetArgs, StderrLog, fail};
use crate::term::Shell;
use watch::{Built, Request};

/// `cargo iso dev`.
#[derive(Args, Debug)]
#[command(
    after_help = "Type a call such as `increment(5)`, or `:help` for the meta commands.

Examples:
  cargo iso dev --watch
  cargo iso dev --watch --shadow 20 --fuel 1e6
  printf 'increment(5)\\nget()\\n' | cargo iso dev"
)]
pub struct DevArgs {
    /// Rebuild and hot-reload the guest, keeping its state, when its sources change
    #[arg(long)]
    pub watch: bool,

    /// After each reload, replay the last N calls on the new version and report where it differs
    #[arg(long, value_name = "N")]
    pub shadow: Option<usize>,

    #[command(flatten)]
    #[allow(missing_docs)]
    pub budget: BudgetArgs,

    #[command(flatten)]
    #[allow(missing_docs)]
    pub build: BuildOptions,
}

/// What the main loop hears from the other threads.
pub enum Event {
    /// A line of input.
    Line(String),
    /// Stdin ended.
    EndOfInput,
    /// Ctrl-C.
    Interrupted,
    /// A source file changed, first at this time.
    Changed(Instant),
    /// A build finished, answering this request and those before it.
    Built(Request, Box<Result<Built>>),
}

const HELP: &str = "\
Calls, one per line, in WAVE syntax:  increment(5)   get()   greet(\"ada\")
  a function inside an exported interface: put(\"a\", 2), api.put(\"a\", 2) or local:store/api@0.1.0#put(\"a\", 2)
  :state             the guest's state, as JSON
  :exports           the exports, with their WIT signatures
  :reload            rebuild now and reload, keeping the state
  :reload --fresh    rebuild now and start the new version from default state
  :budget [fuel=N] [memory=SIZE] [timeout=DURATION]   show or set the per-call budget (`none` lifts one)
  :history           the calls so far and what they returned
  :replay            replay the session's calls on the running version and show what differs
  :help              this list
  :quit              leave (so do Ctrl-D and Ctrl-C)";

/// Whether the main loop goes on after a line.
enum Flow {
    /// Read the next line.
    Next,
    /// Read the next line once the build of this request is done.
    AfterReload(u64),
    /// Leave.
    Quit,
}

/// The running dev host.
struct Dev {
    shell: Shell,
    name: String,
    session: Session,
    builds: Sender<Request>,
    /// How many builds have been asked for.
    requests: u64,
    shadow: Option<usize>,
    /// The export spellings the line editor completes, kept to the running version's.
    completions: input::Exports,
}

impl DevArgs {
    /// Builds the guest, serves it, and reloads it on change until input ends.
    pub fn exec(self, shell: &Shell) -> Result<()> {
        let mut pipeline = Pipeline::prepare(&self.build, shell)?;
        pipeline.for_host = true;
        let guest = pipeline
            .single_guest("dev", "choose one with `-p <name>`")?
            .clone();
        // Winch compiles several times faster than Cranelift: the dev loop compiles on every save.
        let engine = Arc::new(IsoEngine::new(EngineOptions {
            compiler: Compiler::Baseline,
            precise_timing: true,
            ..EngineOptions::default()
        })?);
        let cache = ComponentCache::new(None).keep_at_most(4);
        let bytes = first_build(&pipeline, shell)?;
        let budget = self.budget.over(guest.settings.budget());
        let log = Arc::new(StderrLog {
            guest: guest.name.clone(),
        });
        let mut runtime = Runtime::new(engine.clone(), cache.clone(), log)?;
        runtime
            .start(&guest.name, &bytes, Wiring::new(), budget)
            .map_err(|e| fail(shell, e))?;
        let session = Session::new(runtime, &guest.name).map_err(|e| fail(shell, e))?;
        let completions = input::Exports::new();
        let app = session.app()?;
        completions.set(completion_entries(&app));

        let (events, inbox) = mpsc::channel();
        let (builds, requests) = mpsc::channel();
        watch::spawn_builder(
            pipeline,
            shell.clone(),
            engine,
            cache,
            requests,
            events.clone(),
        )?;
        let _watcher = match self.watch {
            true => Some(watch::watch(&guest, events.clone())?),
            false => None,
        };
        let (done, lines_done) = mpsc::channel();
        input::spawn_reader(events.clone(), lines_done, completions.clone())?;
        let interrupts = events.clone();
        // Without a terminal (or between lines) Ctrl-C is a signal: leave as cleanly as on `:quit`.
        let _ = ctrlc::set_handler(move || {
            let _ = interrupts.send(Event::Interrupted);
        });

        let mut dev = Dev {
            shell: shell.clone(),
            name: guest.name.clone(),
            session,
            builds,
            requests: 0,
            shadow: self.shadow,
            completions,
        };
        dev.greet(&guest.version, self.watch);
        dev.serve(inbox, done);
        Ok(())
    }
}

/// The first build, saying first when it will rebuild the guest's
/// dependencies for the lean profile; the component's bytes.
fn first_build(pipeline: &Pipeline, shell: &Shell) -> Result<Vec<u8>> {
    if let Some(profile) = pipeline.first_lean_build() {
        shell.status(
            "Building",
            format_args!(
                "the guest's dependencies once more, without debug info (profile `{profile}`): \
                 this first start is slow, later starts and reloads reuse them"
            ),
        );
    }
    let (_, bytes) = pipeline.build_single(shell)?;
    Ok(bytes)
}

impl Dev {
    /// Takes events until input ends: lines, changes and finished builds;
    /// `done` releases the reader for the next line.
    fn serve(&mut self, inbox: Receiver<Event>, done: Sender<()>) {
        // The `:reload` whose build the next input line waits for.
        let mut awaiting = None;
        for event in inbox {
            match event {
                Event::Line(line) => match self.line(&line) {
                    Flow::Next => done.send(()).unwrap_or_default(),
                    Flow::AfterReload(number) => awaiting = Some(number),
                    Flow::Quit => break,
                },
                Event::Changed(since) => {
                    self.request(since, false);
                }
                Event::Built(request, result) => {
                    self.built(request, *result);
                    // A build that started before the `:reload` does not answer it.
                    if awaiting.is_some_and(|number| request.number >= number) {
                        awaiting = None;
                        done.send(()).unwrap_or_default();
                    }
                }
                Event::EndOfInput | Event::Interrupted => break,
            }
        }
    }

    fn greet(&self, version: &str, watching: bool) {
        self.shell.status(
            "Serving",
            format_args!(
                "{} v{version} (v1): type a call such as `{}`, or `:help`",
                self.name,
                self.session
                    .app()
                    .map_or_else(|_| "name(args)".to_owned(), |app| example_call(&app))
            ),
        );
        if watching {
            self.shell.status(
                "Watching",
                "src/, wit/, Cargo.toml and build.rs of the guest and its path dependencies",
            );
        }
    }

    /// Asks for a build of the files as they are now and returns its number.
    fn request(&mut self, since: Instant, fresh: bool) -> u64 {
        self.requests += 1;
        let request = Request {
            number: self.requests,
            since,
            fresh,
        };
        // The builder lives as long as the loop; a send cannot fail before it ends.
        let _ = self.builds.send(request);
        self.requests
    }

    /// Handles one line: a call, a meta command, or nothing.
    fn line(&mut self, line: &str) -> Flow {
        let line = line.trim();
        let Some(meta) = line.strip_prefix(':') else {
            if !line.is_empty() {
                self.call(line);
            }
            return Flow::Next;
        };
        let mut words = meta.split_whitespace();
        let command = words.next().unwrap_or("");
        let rest: Vec<&str> = words.collect();
        match (command, rest.as_slice()) {
            ("quit" | "q" | "exit", _) => return Flow::Quit,
            ("help" | "h", _) => println!("{HELP}"),
            ("state", _) => self.show_state(),
            ("exports", _) => self.show_exports(),
            ("history", _) => self.show_history(),
            ("replay", _) => self.replay(),
            ("budget", settings) => self.budget(settings),
            ("reload", []) | ("reload", ["--fresh"]) => {
                let number = self.request(Instant::now(), !rest.is_empty());
                return Flow::AfterReload(number);
            }
            _ => {
                self.shell.report(&anyhow::anyhow!(
                    "unknown command `:{meta}`\nhelp: `:help` lists the commands"
                ));
            }
        }
        flush();
        Flow::Next
    }

    fn call(&mut self, call: &str) {
        match self.session.call(call) {
            Ok(output) => {
                let mut stdout = std::io::stdout().lock();
                for result in output.results_wave() {
                    let _ = writeln!(stdout, "{result}");
                }
                let _ = stdout.flush();
                let usage = output.usage;
                self.shell.verbose_status(
                    "Usage",
                    format_args!(
                        "fuel {}, memory peak {}, {:.2?}",
                        usage.fuel,
                        bytesize::ByteSize(usage.memory_peak).display().iec(),
                        usage.elapsed
                    ),
                );
            }
            Err(err) => {
                self.shell.report(&anyhow::Error::new(err));
            }
        }
    }

    fn show_state(&mut self) {
        match self.session.with_instance(|instance| instance.state_json()) {
            Ok(Ok(Some(json))) => println!("{json}"),
            Ok(Ok(None)) => self.shell.warn(format_args!(
                "`{}` exports no iso:app/state, so it has no state to show",
                self.name
            )),
            Ok(Err(err)) | Err(err) => self.report(err),
        }
    }

    fn show_exports(&mut self) {
        match self.session.app() {
            Ok(app) => print!("{}", exports_listing(&app)),
            Err(err) => self.report(err),
        }
    }

    fn show_history(&self) {
        for (number, record) in (1..).zip(self.session.history()) {
            println!("{number:>4}  {} -> {}", record.call, record.outcome);
        }
    }

    fn replay(&mut self) {
        match self.session.app() {
            Ok(app) => self.replay_on(&app, None, "Replayed"),
            Err(err) => self.report(err),
        }
    }

    /// Replays the last `last` calls on `app` and prints each divergence.
    fn replay_on(&mut self, app: &Arc<App>, last: Option<usize>, verb: &str) {
        match self.session.replay(app, last) {
            Ok((count, divergences)) => {
                for d in &divergences {
                    println!("call {}: {} was {}, now {}", d.number, d.call, d.old, d.new);
                }
                let plural = |n: usize| if n == 1 { "" } else { "s" };
                self.shell.status(
                    verb,
                    format_args!(
                        "{count} call{} on v{}: {} divergence{}",
                        plural(count),
                        self.session.version(),
                        divergences.len(),
                        plural(divergences.len())
                    ),
                );
            }
            Err(err) => self.report(err),
        }
    }

    fn budget(&mut self, settings: &[&str]) {
        let mut budget = match self.session.with_instance(|instance| instance.budget()) {
            Ok(budget) => budget,
            Err(err) => return self.report(err),
        };
        for setting in settings {
            if let Err(err) = set_budget(&mut budget, setting) {
                self.shell.report(&err);
                return;
            }
        }
        match self
            .session
            .with_instance(move |instance| instance.set_budget(budget))
        {
            Ok(()) => self.shell.status("Budget", describe_budget(budget)),
            Err(err) => self.report(err),
        }
    }

    /// Swaps in a finished build, or says why the old version keeps serving.
    fn built(&mut self, request: Request, result: Result<Built>) {
        let running = self.session.version();
        let built = match result {
            Ok(built) => built,
            Err(err) => {
                self.shell.report(&err);
                self.shell
                    .warn(format_args!("the build failed; still serving v{running}"));
                return;
            }
        };
        match self.session.swap(&built.bytes, !request.fresh) {
            Ok(swapped) => self.reloaded(request, &built, &swapped),
            Err(HostError::StateRejected { reason }) => self.shell.warn(format_args!(
                "still serving v{running}: the new build cannot take its state: {reason}\n\
                 help: `:reload --fresh` starts the new build from default state"
            )),
            Err(err) => self.shell.warn(format_args!(
                "still serving v{running}: the new build did not start: {err}"
            )),
        }
        flush();
    }

    fn reloaded(&mut self, request: Request, built: &Built, swapped: &Swapped) {
        self.completions.set(completion_entries(&built.app));
        let ms = |d: std::time::Duration| d.as_millis();
        self.shell.status(
            "Reloaded",
            format_args!(
                "{} (v{}) in {} ms: build {}, componentize {}, compile {}, swap {}; {}",
                self.name,
                swapped.version,
                ms(request.since.elapsed()),
                ms(built.cargo),
                ms(built.componentize),
                ms(built.compile),
                ms(swapped.took),
                if swapped.state_kept {
                    "state kept"
                } else {
                    "state reset"
                }
            ),
        );
        let changes = &swapped.exports;
        if !changes.is_empty() {
            let mut parts = Vec::new();
            parts.extend(changes.added.iter().map(|s| format!("added `{s}`")));
            parts.extend(changes.removed.iter().map(|s| format!("removed `{s}`")));
            parts.extend(changes.changed.iter().map(|s| format!("changed `{s}`")));
            self.shell
                .note(format_args!("exports changed: {}", parts.join("; ")));
        }
        if let Some(last) = self.shadow
            && !self.session.history().is_empty()
        {
            self.replay_on(&built.app, Some(last), "Shadowed");
        }
    }

    fn report(&self, err: HostError) {
        self.shell.report(&anyhow::Error::new(err));
    }
}

/// Applies one `:budget` setting such as `fuel=1e6` or `timeout=none`.
fn set_budget(budget: &mut Budget, setting: &str) -> Result<()> {
    let Some((key, value)) = setting.split_once('=') else {
        bail!(
            "`{setting}` is not a budget setting\nhelp: write `fuel=1e6`, `memory=64MiB` or `timeout=1s`"
        );
    };
    let lifted = matches!(value, "none" | "unlimited");
    match key {
        "fuel" => budget.fuel = if lifted { None } else { Some(value.parse()?) },
        "memory" => budget.memory = if lifted { None } else { Some(value.parse()?) },
        "timeout" => budget.timeout = if lifted { None } else { Some(value.parse()?) },
        _ => bail!("unknown budget `{key}`\nhelp: the budgets are `fuel`, `memory` and `timeout`"),
    }
    Ok(())
}

fn describe_budget(budget: Budget) -> String {
    let show = |value: Option<String>| value.unwrap_or_else(|| "unlimited".into());
    format!(
        "fuel {}, memory {}, timeout {}",
        show(budget.fuel.map(|f| f.to_string())),
        show(budget.memory.map(|m| m.to_string())),
        show(budget.timeout.map(|t| format!("{:?}", t.0))),
    )
}

/// The guest's own exports, without the host's `iso:app/state`.
fn user_exports(app: &App) -> impl Iterator<Item = &ExportFunc> {
    app.exports().iter().filter(|e| !e.is_host_state())
}

/// The exports as `:exports` lists them, by the names a user types: the
/// world's own functions, then each interface with its functions under it.
fn exports_listing(app: &App) -> String {
    let mut out = String::new();
    for export in user_exports(app).filter(|e| e.interface.is_none()) {
        out += &format!("{}\n", export.signature);
    }
    let mut interface = None;
    for export in user_exports(app) {
        let Some(this) = export.interface.as_deref() else {
            continue;
        };
        if interface != Some(this) {
            out += &format!("{this}:\n");
            interface = Some(this);
        }
        out += &format!("  {}\n", export.signature);
    }
    out
}

/// Every spelling of every export the user may type, for completion: the
/// short name, `interface.function`, and the full name.
fn completion_entries(app: &App) -> Vec<input::ExportEntry> {
    user_exports(app)
        .flat_map(|export| {
            let spellings = iso_host::names::spellings(app.exports(), export);
            spellings.into_iter().map(|spelling| input::ExportEntry {
                spelling,
                signature: export.ty.clone(),
            })
        })
        .collect()
}

/// A call to suggest in the greeting: the first export that takes no arguments.
fn example_call(app: &App) -> String {
    user_exports(app)
        .find(|e| e.ty.starts_with("func()"))
        .map_or_else(|| "name(args)".to_owned(), |e| format!("{}()", e.short))
}

fn flush() {
    let _ = std::io::stdout().flush();
}
