//! `cargo iso dev`: a live dev host. It builds the project's guests, starts
//! them wired together, serves calls typed (or piped) one per line
//! (`app.export(args)`, or `export(args)` when one app has it), and with
//! `--watch` rebuilds only the guests a save touched and hot-reloads each
//! behind its address, providers first, keeping its state while the others
//! keep running; calls are recorded so they can be replayed against a new
//! version.
//!
//! Results go to stdout, one WAVE line per result; guest logs, usage and
//! status go to stderr. The main loop owns the running guest and takes
//! [`Event`]s from three threads: the line reader, the file watcher, and
//! the builder, so calls are served by the old version while a new one builds.

mod input;
mod live;
mod save;
mod watch;

use std::collections::HashMap;
use std::io::Write;
use std::sync::Arc;
use std::sync::mpsc::{self, Receiver, Sender};
use std::time::Instant;

use anyhow::{Result, bail};
use clap::Args;
use iso_host::runtime::{Runtime, Start, WiringError};
use iso_host::{
    App, Budget, Compiler, ComponentCache, Durability, EngineOptions, HostError, IsoEngine,
    Session, Swapped,
};

use crate::commands::build::{BuildOptions, BuiltComponent, Pipeline};
use crate::commands::lattice::NatsArgs;
use crate::commands::run::{BudgetArgs, StderrLog, address_call, fail, wiring_of};
use crate::links::Link;
use crate::project::Guest;
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

    /// Run each reloaded version beside the old one, which keeps answering: the calls that follow go to both and are compared, until `:promote` or `:rollback`
    #[arg(long)]
    pub shadow_live: bool,

    #[command(flatten)]
    #[allow(missing_docs)]
    pub budget: BudgetArgs,

    #[command(flatten)]
    #[allow(missing_docs)]
    pub nats: NatsArgs,

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
    /// Source files of these guests changed, first at this time.
    Changed(Instant, Vec<String>),
    /// A build finished, answering this request and those before it.
    Built(Request, Box<Result<Vec<Built>>>),
}

const HELP: &str = "\
Calls, one per line, in WAVE syntax:  increment(5)   get()   greet(\"ada\")
  a function inside an exported interface: put(\"a\", 2), api.put(\"a\", 2) or local:store/api@0.1.0#put(\"a\", 2)
  with several apps, a call names its app unless only one exports it: store.api.put(\"a\", 2)
  :apps              each app, its version, state size, and what it imports from whom
  :state [APP]       the app's state, as JSON
  :exports [APP]     the app's exports, with their WIT signatures
  :reload            rebuild every app now and reload, keeping the state
  :reload --fresh    rebuild now and start the new versions from default state
  :reset [APP]       start the app again from its default state, with no kv entries (forgets both in the data folder)
  :budget [APP] [fuel=N] [memory=SIZE] [timeout=DURATION]   show or set the per-call budget (`none` lifts one)
  :history           the calls so far and what they returned
  :replay [APP]      replay the session's calls on the running versions and show what differs
  :save [APP] NAME   write the session's calls to the app as the test case tests/iso/NAME.toml, for `cargo iso test`
  :divergences [APP] with --shadow-live: the calls on which the new version differed from the running one
  :promote [APP] [--primary-state]   make the new version answer, with its own state (or the running one's)
  :rollback [APP]    drop the new version; the running one goes on alone
  :route [APP] percent=N | shadow   the new version answers N% of the keys (first argument), or shadows again
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
    /// The apps, providers before their importers.
    names: Vec<String>,
    /// Which app provides each import of the others.
    links: Vec<Link>,
    /// The guests served, to copy a reloaded provider's WIT to its importers.
    guests: Vec<Guest>,
    session: Session,
    builds: Sender<Request>,
    /// How many builds have been asked for.
    requests: u64,
    shadow: Option<usize>,
    /// `--shadow-live`: a reload starts a candidate instead of swapping.
    shadow_live: bool,
    /// The component of the candidate beside each app, for `:route`.
    candidates: HashMap<String, Vec<u8>>,
    /// New builds refused because they did not fit the running versions of
    /// the apps they are wired to: tried again with the next build.
    refused: Vec<Built>,
    /// The export spellings the line editor completes, kept to the running versions'.
    completions: input::Exports,
}

impl DevArgs {
    /// Builds the guests, serves them, and reloads them on change until input ends.
    pub fn exec(self, shell: &Shell) -> Result<()> {
        let mut pipeline = Pipeline::prepare(&self.build, shell)?;
        pipeline.for_host = true;
        let guests = pipeline.guests().to_vec();
        let links = pipeline.links().to_vec();
        // Winch compiles several times faster than Cranelift: the dev loop compiles on every save.
        let engine = Arc::new(IsoEngine::new(EngineOptions {
            compiler: Compiler::Baseline,
            precise_timing: true,
            ..EngineOptions::default()
        })?);
        let cache = ComponentCache::new(None).keep_at_most(4 * guests.len());
        let components = first_build(&pipeline, shell)?;
        let names: Vec<String> = guests.iter().map(|g| g.name.clone()).collect();
        let log = Arc::new(StderrLog {
            guest: names.join(","),
        });
        let compiling: Vec<(&str, &[u8])> = (guests.iter().zip(&components))
            .map(|(guest, bytes)| (guest.name.as_str(), bytes.as_slice()))
            .collect();
        super::run::compile_all(shell, &engine, &cache, &compiling);
        let mut runtime = Runtime::new(engine.clone(), cache.clone(), log)?;
        // Commits reach the disk when the session ends: a crash loses the last calls.
        (self.budget)
            .keep_in(
                &mut runtime,
                Some(pipeline.data_dir()),
                Durability::Batched,
                &names,
            )
            .map_err(|e| fail(shell, e))?;
        let running: Vec<&str> = names.iter().map(String::as_str).collect();
        let mut starts: Vec<Start> = guests
            .iter()
            .zip(&components)
            .map(|(guest, bytes)| Start {
                address: &guest.name,
                bytes,
                wiring: wiring_of(&guest.name, &links, &running),
                budget: self.budget.over(guest.settings.budget()),
            })
            .collect();
        super::run::bound_time(shell, &mut starts);
        let _nats = (self.nats).connect_for(&mut runtime, starts.iter().map(|s| &s.wiring))?;
        runtime.start_all(starts).map_err(|e| fail(shell, e))?;
        let session = Session::new(runtime, &running).map_err(|e| fail(shell, e))?;

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
            true => Some(watch::watch(&guests, events.clone())?),
            false => None,
        };
        let completions = input::Exports::new();
        let (done, lines_done) = mpsc::channel();
        input::spawn_reader(events.clone(), lines_done, completions.clone())?;
        let interrupts = events.clone();
        // Without a terminal (or between lines) Ctrl-C is a signal: leave as cleanly as on `:quit`.
        let _ = ctrlc::set_handler(move || {
            let _ = interrupts.send(Event::Interrupted);
        });

        let mut dev = Dev {
            shell: shell.clone(),
            names: dependency_order(names, &links),
            links,
            guests: guests.clone(),
            session,
            builds,
            requests: 0,
            shadow: self.shadow,
            shadow_live: self.shadow_live,
            candidates: HashMap::new(),
            refused: Vec::new(),
            completions,
        };
        dev.complete();
        dev.greet(&guests, self.watch);
        dev.serve(inbox, done);
        Ok(())
    }
}

/// `names` with each provider before the apps that import from it.
fn dependency_order(mut names: Vec<String>, links: &[Link]) -> Vec<String> {
    let mut ordered: Vec<String> = Vec::new();
    while !names.is_empty() {
        let ready = names.iter().position(|name| {
            links
                .iter()
                .filter(|link| link.importer == *name)
                .all(|link| !names.contains(&link.provider) || link.provider == *name)
        });
        // A cycle cannot start, so this only keeps the loop finite.
        ordered.push(names.remove(ready.unwrap_or(0)));
    }
    ordered
}

/// The first build, saying first when it will rebuild the guests'
/// dependencies for the lean profile; each guest's component, in order.
fn first_build(pipeline: &Pipeline, shell: &Shell) -> Result<Vec<Vec<u8>>> {
    if let Some(profile) = pipeline.first_lean_build() {
        shell.status(
            "Building",
            format_args!(
                "the guest's dependencies once more, without debug info (profile `{profile}`): \
                 this first start is slow, later starts and reloads reuse them"
            ),
        );
    }
    pipeline
        .build(shell)?
        .iter()
        .map(BuiltComponent::read)
        .collect()
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
                Event::Changed(since, guests) => {
                    self.request(since, false, guests);
                }
                Event::Built(request, result) => {
                    let number = request.number;
                    self.built(request, *result);
                    // A build that started before the `:reload` does not answer it.
                    if awaiting.is_some_and(|awaited| number >= awaited) {
                        awaiting = None;
                        done.send(()).unwrap_or_default();
                    }
                }
                Event::EndOfInput | Event::Interrupted => break,
            }
        }
    }

    /// Whether the project has one app (then nothing needs its name).
    fn single(&self) -> bool {
        self.names.len() == 1
    }

    fn greet(&self, guests: &[Guest], watching: bool) {
        let serving: Vec<String> = guests
            .iter()
            .map(|guest| format!("{} v{} (v1)", guest.name, guest.version))
            .collect();
        self.shell.status(
            "Serving",
            format_args!(
                "{}: type a call such as `{}`, or `:help`",
                serving.join(", "),
                self.example_call()
            ),
        );
        if watching {
            let whose = match self.single() {
                true => "the guest",
                false => "each guest",
            };
            self.shell.status(
                "Watching",
                format_args!(
                    "src/, wit/, Cargo.toml and build.rs of {whose} and its path dependencies"
                ),
            );
        }
    }

    /// A call to suggest: the first export that takes no arguments.
    fn example_call(&self) -> String {
        for name in self.names.iter().rev() {
            if let Ok(app) = self.session.app(name)
                && let Some(export) = app.user_exports().find(|e| e.ty.starts_with("func()"))
            {
                return match self.single() {
                    true => format!("{}()", export.short),
                    false => format!("{name}.{}()", export.short),
                };
            }
        }
        "name(args)".to_owned()
    }

    /// Asks for a build of `guests` as they are now and returns its number.
    fn request(&mut self, since: Instant, fresh: bool, guests: Vec<String>) -> u64 {
        self.requests += 1;
        let request = Request {
            number: self.requests,
            since,
            fresh,
            guests,
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
            ("apps", []) => self.show_apps(),
            ("state", app) => self.on_app(app, Dev::show_state),
            ("exports", app) => self.on_app(app, Dev::show_exports),
            ("history", _) => self.show_history(),
            ("replay", []) => self.replay_all(),
            ("replay", app) => self.on_app(app, Dev::replay),
            ("save", words) => self.save(words),
            ("budget", settings) => self.budget(settings),
            ("divergences", app) => self.on_app(app, Dev::show_divergences),
            ("promote", words) => self.promote(words),
            ("rollback", app) => self.on_app(app, Dev::rollback),
            ("reset", app) => self.on_app(app, Dev::reset),
            ("route", words) => self.route(words),
            ("reload", []) | ("reload", ["--fresh"]) => {
                let everyone = self.names.clone();
                let number = self.request(Instant::now(), !rest.is_empty(), everyone);
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

    /// Runs `f` on the app `words` names: the only app when it names none.
    fn on_app(&mut self, words: &[&str], f: fn(&mut Dev, &str)) {
        if let Some(app) = self.app_named(words) {
            f(self, &app);
        }
    }

    /// The app `words` names, the only app when it names none, or says
    /// which apps there are.
    fn app_named(&self, words: &[&str]) -> Option<String> {
        match (words, self.names.as_slice()) {
            ([], [only]) => Some(only.clone()),
            ([app], names) if names.iter().any(|name| name == app) => Some((*app).to_owned()),
            _ => {
                self.shell.report(&anyhow::anyhow!(
                    "say which app: {}\nhelp: `:apps` lists them",
                    self.names.join(", ")
                ));
                None
            }
        }
    }

    fn call(&mut self, call: &str) {
        let (address, text) = match address_call(self.session.runtime(), &self.names, call) {
            Ok((address, text)) => (address.to_owned(), text.to_owned()),
            Err(err) => {
                self.shell.report(&err);
                return;
            }
        };
        match self.session.call(&address, &text) {
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

    /// `:apps`: each app, its running version, the size of its state, and
    /// what it imports from whom.
    fn show_apps(&mut self) {
        for name in self.names.clone() {
            let state = self
                .session
                .with_instance(&name, |instance| instance.save_state());
            let state = match state {
                Ok(Ok(Some(bytes))) => format!("state {} B", bytes.len()),
                Ok(Ok(None)) => "no state".to_owned(),
                Ok(Err(err)) | Err(err) => format!("state unreadable: {err}"),
            };
            let imports: Vec<String> = (self.links.iter())
                .filter(|link| link.importer == name)
                .map(|link| format!("{} from {}", link.interface, link.provider))
                .collect();
            let imports = match imports.is_empty() {
                true => "imports nothing from other apps".to_owned(),
                false => format!("imports {}", imports.join(", ")),
            };
            println!(
                "{name} v{}  {state}  {imports}",
                self.session.version(&name)
            );
        }
    }

    fn show_state(&mut self, address: &str) {
        match (self.session).with_instance(address, |instance| instance.state_json()) {
            Ok(Ok(Some(json))) => println!("{json}"),
            Ok(Ok(None)) => self.shell.warn(format_args!(
                "`{address}` exports no iso:app/state, so it has no state to show"
            )),
            Ok(Err(err)) | Err(err) => self.report(err),
        }
    }

    fn reset(&mut self, address: &str) {
        match (self.session).with_instance(address, |instance| instance.reset()) {
            Ok(Ok(())) => self.shell.status(
                "Reset",
                format_args!("{address}: default state, no kv entries"),
            ),
            Ok(Err(err)) | Err(err) => self.report(err),
        }
    }

    fn show_exports(&mut self, address: &str) {
        match self.session.app(address) {
            Ok(app) => print!("{}", exports_listing(&app)),
            Err(err) => self.report(err),
        }
    }

    fn show_history(&self) {
        for (number, record) in (1..).zip(self.session.history()) {
            let app = match self.single() {
                true => String::new(),
                false => format!("{}.", record.address),
            };
            println!("{number:>4}  {app}{} -> {}", record.call, record.outcome);
            for nested in record.nested_calls() {
                println!("          {nested}");
            }
        }
    }

    /// `:replay` with no app: every app that was called.
    fn replay_all(&mut self) {
        let called: Vec<String> = (self.names.iter())
            .filter(|name| self.session.history().iter().any(|r| r.address == **name))
            .cloned()
            .collect();
        if called.is_empty() && self.single() {
            // Says "0 calls", as a single app's replay always did.
            return self.replay(&self.names[0].clone());
        }
        for name in called {
            self.replay(&name);
        }
    }

    fn replay(&mut self, address: &str) {
        match self.session.app(address) {
            Ok(app) => self.replay_on(address, &app, None, "Replayed"),
            Err(err) => self.report(err),
        }
    }

    /// Replays the last `last` calls to `address` on `app` and prints each divergence.
    fn replay_on(&mut self, address: &str, app: &Arc<App>, last: Option<usize>, verb: &str) {
        match self.session.replay(address, app, last) {
            Ok((count, divergences)) => {
                for d in &divergences {
                    println!("call {}: {} was {}, now {}", d.number, d.call, d.old, d.new);
                }
                let plural = |n: usize| if n == 1 { "" } else { "s" };
                let whose = match self.single() {
                    true => String::new(),
                    false => format!("{address} "),
                };
                self.shell.status(
                    verb,
                    format_args!(
                        "{count} call{} on {whose}v{}: {} divergence{}",
                        plural(count),
                        self.session.version(address),
                        divergences.len(),
                        plural(divergences.len())
                    ),
                );
            }
            Err(err) => self.report(err),
        }
    }

    /// `:budget [APP] [settings]`.
    fn budget(&mut self, words: &[&str]) {
        let (address, settings) = match (words, self.names.as_slice()) {
            ([first, rest @ ..], names) if names.iter().any(|name| name == first) => {
                ((*first).to_owned(), rest)
            }
            (settings, [only]) => (only.clone(), settings),
            _ => {
                self.shell.report(&anyhow::anyhow!(
                    "say which app's budget: `:budget APP fuel=1e6`; the apps are {}",
                    self.names.join(", ")
                ));
                return;
            }
        };
        let mut budget = match (self.session).with_instance(&address, |i| i.budget()) {
            Ok(budget) => budget,
            Err(err) => return self.report(err),
        };
        for setting in settings {
            if let Err(err) = set_budget(&mut budget, setting) {
                self.shell.report(&err);
                return;
            }
        }
        match (self.session).with_instance(&address, move |i| i.set_budget(budget)) {
            Ok(()) => self.shell.status("Budget", budget),
            Err(err) => self.report(err),
        }
    }

    /// Swaps in finished builds, providers first, or says why the old
    /// versions keep serving.
    fn built(&mut self, request: Request, result: Result<Vec<Built>>) {
        let built = match result {
            Ok(built) => built,
            Err(err) => {
                self.shell.report(&err);
                let serving = self.serving(&self.names);
                self.shell
                    .warn(format_args!("the build failed; still serving {serving}"));
                return;
            }
        };
        let together = !self.shadow_live || request.fresh;
        // A build refused earlier may have waited for this one: a provider
        // and its importer saved one after the other. Try them as one step.
        let waiting = std::mem::take(&mut self.refused);
        let waiting: Vec<Built> = (waiting.into_iter())
            .filter(|old| built.iter().all(|new| new.name != old.name))
            .collect();
        if together && !waiting.is_empty() {
            let both: Vec<Built> = built.iter().cloned().chain(waiting.clone()).collect();
            let changed = self.in_order(&both);
            if self.swap_together(&request, &changed, &both, false) {
                self.complete();
                return flush();
            }
            self.refused = waiting;
        }
        match self.in_order(&built).as_slice() {
            changed @ [_, _, ..] if together => {
                self.swap_together(&request, changed, &built, true);
            }
            changed => {
                for new in changed {
                    self.swap(&request, new, &built);
                }
            }
        }
        self.complete();
        flush();
    }

    /// The builds of `built`, providers first, as the apps are ordered.
    fn in_order(&self, built: &[Built]) -> Vec<Built> {
        (self.names.iter())
            .filter_map(|name| built.iter().find(|b| b.name == *name).cloned())
            .collect()
    }

    /// Swaps the new builds of several apps as one step, so a provider and
    /// its importer that changed together fit each other; whether they
    /// were swapped. When they were not, they wait for the next build,
    /// and `report` says why.
    fn swap_together(
        &mut self,
        request: &Request,
        changed: &[Built],
        all: &[Built],
        report: bool,
    ) -> bool {
        let swaps: Vec<(&str, &[u8])> = (changed.iter())
            .map(|new| (new.name.as_str(), new.bytes.as_slice()))
            .collect();
        match self.session.swap_all(&swaps, !request.fresh) {
            Ok(swapped) => {
                for (new, swapped) in changed.iter().zip(&swapped) {
                    self.reloaded(request, new, all, swapped);
                }
                true
            }
            Err(_) if !report => false,
            Err(err) => {
                self.refused.extend(changed.iter().cloned());
                let names: Vec<String> = changed.iter().map(|new| new.name.clone()).collect();
                let running = self.serving(&names);
                let help = match err {
                    HostError::StateRejected { .. } => {
                        "\nhelp: `:reload --fresh` starts the new builds from default state"
                    }
                    _ => "",
                };
                self.shell.warn(format_args!(
                    "still serving {running}: the new builds did not start together: {err}{help}"
                ));
                false
            }
        }
    }

    /// `v3`, for one app; `store v3, front v1` for several.
    fn serving(&self, names: &[String]) -> String {
        let versions: Vec<String> = names
            .iter()
            .map(|name| match self.single() {
                true => format!("v{}", self.session.version(name)),
                false => format!("{name} v{}", self.session.version(name)),
            })
            .collect();
        versions.join(", ")
    }

    /// Swaps `new` in behind its address; `all` is every guest this build made.
    fn swap(&mut self, request: &Request, new: &Built, all: &[Built]) {
        if self.shadow_live && !request.fresh {
            return self.start_shadow(request, new);
        }
        let running = self.serving(std::slice::from_ref(&new.name));
        match self.session.swap(&new.name, &new.bytes, !request.fresh) {
            Ok(swapped) => self.reloaded(request, new, all, &swapped),
            Err(HostError::StateRejected { reason }) => self.shell.warn(format_args!(
                "still serving {running}: the new build cannot take its state: {reason}\n\
                 help: `:reload --fresh` starts the new build from default state"
            )),
            Err(err) => {
                // It may fit the next build of an app it imports from or
                // provides to: its importers build against its new WIT
                // now, and the next build of one is swapped in with it.
                let breaks_importers = matches!(&err, HostError::Wiring(wiring) if matches!(**wiring, WiringError::SwapBreaksDependent { .. }));
                self.refused.push(new.clone());
                self.shell.warn(format_args!(
                    "still serving {running}: the new build did not start: {err}"
                ));
                if breaks_importers {
                    self.shell.note(format_args!(
                        "its importers build against its new WIT now; once they are changed to fit it, they are swapped in with it as one step"
                    ));
                    self.share_wit(new);
                }
            }
        }
    }

    fn reloaded(&mut self, request: &Request, built: &Built, all: &[Built], swapped: &Swapped) {
        let ms = |d: std::time::Duration| d.as_millis();
        let unchanged: Vec<&str> = (self.names.iter())
            .filter(|name| all.iter().all(|b| b.name != **name))
            .map(String::as_str)
            .collect();
        let others = match unchanged.is_empty() {
            true => String::new(),
            false => format!("; {} unchanged", unchanged.join(", ")),
        };
        let has_state = (self.session.app(&built.name)).is_ok_and(|app| app.has_state());
        self.shell.status(
            "Reloaded",
            format_args!(
                "{} (v{}) in {} ms: build {}, componentize {}, compile {}, swap {}; {}{others}",
                built.name,
                swapped.version,
                ms(request.since.elapsed()),
                ms(built.cargo),
                ms(built.componentize),
                ms(built.compile),
                ms(swapped.took),
                match (swapped.state_kept, has_state) {
                    (true, _) => "state kept",
                    (false, true) => "state reset",
                    (false, false) => "no state to keep",
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
            && self
                .session
                .history()
                .iter()
                .any(|r| r.address == built.name)
        {
            match self.session.app(&built.name) {
                Ok(app) => self.replay_on(&built.name, &app, Some(last), "Shadowed"),
                Err(err) => self.report(err),
            }
        }
        self.share_wit(built);
    }

    /// Copies the WIT of a provider now running, as it was built, to its
    /// importers' `wit/deps/`: they build against what runs. The watcher
    /// sees an importer's copy change, and rebuilds it.
    fn share_wit(&self, built: &Built) {
        let Some(wit) = &built.wit else {
            return;
        };
        if let Err(err) = wit.copy_to_importers(&self.links, &self.guests) {
            self.shell.warn(format_args!("{err:#}"));
        }
    }

    /// Offers the running versions' exports to the line editor.
    fn complete(&self) {
        let mut entries = Vec::new();
        for name in &self.names {
            if let Ok(app) = self.session.app(name) {
                let prefix = (!self.single()).then_some(name.as_str());
                entries.extend(completion_entries(&app, prefix));
            }
        }
        self.completions.set(entries);
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

/// The exports as `:exports` lists them, by the names a user types: the
/// world's own functions, then each interface with its functions under it.
fn exports_listing(app: &App) -> String {
    let mut out = String::new();
    for export in app.user_exports().filter(|e| e.interface.is_none()) {
        out += &format!("{}\n", export.signature);
    }
    let mut interface = None;
    for export in app.user_exports() {
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
/// short name, `interface.function`, and the full name; each also after
/// `APP.` when `prefix` names the app.
fn completion_entries(app: &App, prefix: Option<&str>) -> Vec<input::ExportEntry> {
    app.user_exports()
        .flat_map(|export| {
            let spellings = iso_host::names::spellings(app.exports(), export);
            let prefixed: Vec<String> = match prefix {
                Some(app) => spellings.iter().map(|s| format!("{app}.{s}")).collect(),
                None => Vec::new(),
            };
            (spellings.into_iter().chain(prefixed)).map(|spelling| input::ExportEntry {
                spelling,
                signature: export.ty.clone(),
            })
        })
        .collect()
}

fn flush() {
    let _ = std::io::stdout().flush();
}
