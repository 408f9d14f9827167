//! [`Runtime`]: the one place that owns instances. Each runs under an
//! address (its name) in a store of its own, and an app's imports are
//! filled by the iso host or by other running instances' exports, as its
//! [`Wiring`] says. Wiring is checked before an instance starts (see
//! [`wiring`]); a callee's trap, panic or exceeded budget fails only the
//! caller's call, named ([`HostError::CalleeFailed`]), and the caller
//! restarts from its last good state as after any failed call.
//!
//! A [`RestartIntensity`] stops an instance that keeps failing (see
//! [`supervise`]), and [`Runtime::swap`] replaces the version behind an
//! address while its dependents keep their wiring.
//!
//! Each instance is an actor: it takes one call at a time from its
//! mailbox, calls to different instances run in parallel on a small
//! worker pool (see [`pool`] for why not a thread each, nor tokio), and a
//! call's answer is a future, awaited on any executor. A wired call runs
//! the callee on the caller's worker, under the callee's lock; cycles are
//! refused, so it cannot deadlock.
//!
//! ```no_run
//! use std::sync::Arc;
//! use iso_host::runtime::{Runtime, Wiring, block_on};
//! use iso_host::*;
//!
//! let engine = Arc::new(IsoEngine::new(EngineOptions::default())?);
//! let mut runtime = Runtime::new(engine, ComponentCache::new(None), Arc::new(NoLog))?;
//! let store = std::fs::read("store.wasm").unwrap();
//! let front = std::fs::read("front.wasm").unwrap();
//! runtime.start("store", &store, Wiring::new(), Budget::default())?;
//! let wiring = Wiring::new().import("local:store/api", "store");
//! runtime.start("front", &front, wiring, Budget::default())?;
//! let out = block_on(runtime.call_wave("front", "remember(\"a\", 2)"))?;
//! # Ok::<(), HostError>(())
//! ```

mod actor;
mod call;
mod candidate;
mod forward;
mod nested;
mod pool;
mod remote;
mod remote_app;
mod replay;
pub mod supervise;
mod swap;
mod typed_forward;
pub mod wiring;

use std::collections::BTreeMap;
use std::future::Future;
use std::marker::PhantomData;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use iso_compat::{export_names, import_names};
use wasmtime::component::types::ComponentItem;
use wasmtime::component::{
    Component, ComponentNamedList, Lift, Linker, LinkerInstance, Lower, Val,
};
use wit_parser::decoding::DecodedWasm;
use wit_parser::{Resolve, WorldId};

use crate::app::App;
use crate::budget::Budget;
use crate::cache::ComponentCache;
use crate::engine::IsoEngine;
use crate::error::HostError;
use crate::event_log::EventLog;
use crate::host::{Effect, HostState, KvStore, LogSink, NoLog, PROVIDED, Shared};
use crate::instance::{CallOutput, Instance, Usage};
use crate::session::{Swapped, effects, successor};
use crate::storage::Storage;
use actor::{Actor, Reply, Served};
pub use call::block_on;
pub(crate) use candidate::Request;
use candidate::{Candidate, Logging};
pub use candidate::{CandidateReport, ShadowDivergence};
use forward::forwarder;
use pool::Pool;
pub use remote::{DEFAULT_REMOTE_TIMEOUT, InProcess, Transport, TransportError};
pub use remote_app::RemoteApp;
pub use replay::Replayed;
use rustc_hash::FxHashMap;
pub use supervise::RestartIntensity;
use supervise::Supervised;
pub use wiring::{Provider, Wiring, WiringError};

pub(crate) use forward::CalleeFailed;

/// Running instances by address, with the wiring between them.
pub struct Runtime {
    engine: Arc<IsoEngine>,
    cache: ComponentCache,
    log: Arc<dyn LogSink>,
    intensity: RestartIntensity,
    running: BTreeMap<String, Running>,
    /// The actors by address, for calls (a hash map: every call looks one up).
    actors: FxHashMap<String, Arc<Served>>,
    pool: Arc<Pool>,
    /// System interfaces by the name they fill (with or without a version).
    systems: Vec<(String, SystemInterface)>,
    /// Where apps keep kv and state; in memory when `None`.
    storage: Option<Storage>,
    /// Where calls are logged, if anywhere.
    events: Option<Arc<EventLog>>,
    /// What reaches the apps other hosts serve, if anything.
    transport: Option<Arc<dyn Transport>>,
}

/// What the runtime keeps of an instance besides the instance itself.
struct Running {
    /// The version running.
    app: Arc<App>,
    /// 1, then one more per swap.
    version: u32,
    wiring: Wiring,
    /// Its WIT, to check the imports of those wired to it.
    resolve: Resolve,
    world: WorldId,
    /// The budget it was started under.
    budget: Budget,
}

/// The state a new version starts from.
#[derive(Clone)]
enum Carry {
    /// The running version's.
    Running,
    /// Its default state.
    Fresh,
    /// This one.
    Given(Vec<u8>),
}

/// Whose state a promoted candidate keeps (see [`Runtime::promote`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Keep {
    /// Its own: it ran every mirrored call from a copy of the primary's
    /// state, so it differs from the primary's where it diverged.
    Candidate,
    /// The primary's, carried over as a swap carries it.
    Primary,
}

/// One import filled by another instance or by a system interface.
struct Wire {
    /// The import's name, as the importer spells it.
    import: String,
    to: WireTo,
}

/// What fills a wired import.
enum WireTo {
    /// The export of another instance.
    Address {
        /// The provider's address.
        provider: String,
        /// The provider's export that fills it (it may be at another compatible version).
        export: String,
    },
    /// Rust code the embedder registered.
    System(SystemInterface),
    /// The export of an app another host serves.
    Remote {
        /// The remote app's address.
        address: String,
        /// Its export that fills the import.
        export: String,
    },
}

/// An interface implemented in Rust by the embedder, for
/// [`Runtime::provide`]: it defines the interface's functions in the
/// importer's linker, e.g. with
/// [`LinkerInstance::func_wrap`](wasmtime::component::LinkerInstance::func_wrap).
pub type SystemInterface =
    Arc<dyn Fn(&mut LinkerInstance<'_, HostState>) -> wasmtime::Result<()> + Send + Sync + 'static>;

impl Runtime {
    /// An empty runtime on `engine`, with a worker per core; components
    /// are compiled through `cache`, and every instance logs to `log`.
    /// Fails only when the system refuses to start the workers' threads.
    pub fn new(
        engine: Arc<IsoEngine>,
        cache: ComponentCache,
        log: Arc<dyn LogSink>,
    ) -> Result<Runtime, HostError> {
        let pool = Pool::per_core().map_err(|err| HostError::Invalid {
            reason: format!("could not start the runtime's worker threads: {err}"),
        })?;
        Ok(Runtime {
            engine,
            cache,
            log,
            intensity: RestartIntensity::default(),
            running: BTreeMap::new(),
            actors: FxHashMap::default(),
            pool: Arc::new(pool),
            systems: Vec::new(),
            storage: None,
            events: None,
            transport: None,
        })
    }

    /// Keeps the kv entries and state of the apps started from now on in
    /// `storage`, each app under its address: an app started again under
    /// the same address finds them. Without it they live in memory.
    pub fn set_storage(&mut self, storage: Storage) {
        self.storage = Some(storage);
    }

    /// Appends every call made from now on through [`Runtime::call`],
    /// [`Runtime::call_wave`] or a [`Session`](crate::Session) to `log`
    /// (see [`event_log`](crate::event_log)).
    pub fn set_event_log(&mut self, log: EventLog) {
        self.events = Some(Arc::new(log));
    }

    /// Reaches the apps that other hosts serve through `transport`, for
    /// imports wired with [`Wiring::remote`].
    pub fn set_transport(&mut self, transport: Arc<dyn Transport>) {
        self.transport = Some(transport);
    }

    /// The restart intensity of instances started from now on.
    pub fn set_restart_intensity(&mut self, intensity: RestartIntensity) {
        self.intensity = intensity;
    }

    /// Registers `define` as the system interface `interface` (e.g.
    /// `local:clock/api`, or with its version): Rust code that fills that
    /// import in the apps started from now on, unless their [`Wiring`]
    /// names another provider. Its functions run on the caller's thread,
    /// in the caller's store; wasmtime checks their types against the
    /// import when an app is started.
    ///
    /// ```no_run
    /// # use std::sync::Arc;
    /// # use iso_host::runtime::Runtime;
    /// # fn f(runtime: &mut Runtime) {
    /// runtime.provide("local:clock/api", Arc::new(|api| {
    ///     api.func_wrap("now", |_, ()| Ok((1_700_000_000u64,)))?;
    ///     Ok(())
    /// }));
    /// # }
    /// ```
    pub fn provide(&mut self, interface: &str, define: SystemInterface) {
        self.systems.retain(|(name, _)| name != interface);
        self.systems.push((interface.to_owned(), define));
    }

    /// The system interface registered for `import`, if any.
    fn system(&self, import: &str) -> Option<&SystemInterface> {
        self.systems
            .iter()
            .find(|(name, _)| wiring::names_import(name, import))
            .map(|(_, define)| define)
    }

    /// The addresses of the running instances, in order.
    pub fn addresses(&self) -> impl Iterator<Item = &str> {
        self.running.keys().map(String::as_str)
    }

    /// Starts the component `bytes` under `address`, its imports filled as
    /// `wiring` says (the iso host's interfaces need no entry), each call
    /// under `budget`. Refused, with the reason, when the address is taken
    /// or is not one word (empty, or with whitespace), an import has no
    /// provider or a provider that is not running or does not export a
    /// compatible interface, or the app would import from itself.
    pub fn start(
        &mut self,
        address: &str,
        bytes: &[u8],
        wiring: Wiring,
        budget: Budget,
    ) -> Result<(), HostError> {
        self.start_pool(address, bytes, wiring, budget, 1)
    }

    /// Starts `apps` together, providers before the apps that import from
    /// them, whatever their order. A cycle among them (A imports from B,
    /// which imports from A) is refused with its path, and so is any app
    /// [`Runtime::start`] would refuse; then none of them is left running.
    pub fn start_all(&mut self, apps: Vec<Start<'_>>) -> Result<(), HostError> {
        let named: Vec<(&str, &Wiring)> = apps.iter().map(|a| (a.address, &a.wiring)).collect();
        let order = wiring::order(&named)?;
        let mut apps: Vec<Option<Start<'_>>> = apps.into_iter().map(Some).collect();
        let mut started: Vec<&str> = Vec::new();
        for i in order {
            let Some(app) = apps[i].take() else { continue };
            if let Err(err) = self.start(app.address, app.bytes, app.wiring, app.budget) {
                // Importers first, as stop asks.
                for address in started.iter().rev() {
                    let _ = self.stop(&[address]);
                }
                return Err(err);
            }
            started.push(app.address);
        }
        Ok(())
    }

    /// Starts `size` identical instances of a stateless app (one without
    /// `iso:app/state`) behind `address`, as [`Runtime::start`] starts one:
    /// each call goes to an idle instance, or to the next in turn, so up
    /// to `size` calls run at once. An app that keeps state is refused: its
    /// instances would each keep a state of their own (a pool of one is
    /// what [`Runtime::start`] starts).
    pub fn start_pool(
        &mut self,
        address: &str,
        bytes: &[u8],
        wiring: Wiring,
        budget: Budget,
        size: usize,
    ) -> Result<(), HostError> {
        if size == 0 {
            return Err(HostError::Invalid {
                reason: format!(
                    "a pool of 0 instances cannot serve `{address}`: give a size of at least 1"
                ),
            });
        }
        wiring::check_address(address)?;
        if self.running.contains_key(address) {
            return Err(WiringError::AddressInUse {
                address: address.to_owned(),
            }
            .into());
        }
        let (component, _) = self.cache.load(self.engine.engine(), bytes)?;
        let (resolve, world) = decode(bytes)?;
        let wires = self.check_wiring(address, &wiring, &resolve, world)?;
        let app = Arc::new(self.link(&component, &wires, budget)?);
        check_pool(address, &app, size)?;
        // One kv and one log for the address, however many instances serve it.
        let mut shared = Shared::new(self.log.clone());
        if let Some(storage) = &self.storage {
            shared.kv = Arc::new(Mutex::new(KvStore::open(storage, address)?));
        }
        let actors = (0..size)
            .map(|_| {
                let mut instance = Instance::new(app.clone(), budget, shared.clone())?;
                instance.restore_saved()?;
                let supervised = Supervised::new(instance, self.intensity);
                Ok(Actor::new(address, supervised, self.pool.clone()))
            })
            .collect::<Result<_, HostError>>()?;
        self.actors
            .insert(address.to_owned(), Arc::new(Served::new(actors)));
        let running = Running {
            app,
            version: 1,
            wiring,
            resolve,
            world,
            budget,
        };
        self.running.insert(address.to_owned(), running);
        Ok(())
    }

    /// The version running under `address`.
    pub fn app(&self, address: &str) -> Result<Arc<App>, HostError> {
        self.running
            .get(address)
            .map(|running| running.app.clone())
            .ok_or_else(|| no_such_address(address))
    }

    /// The number of the version running under `address`: 1, then one
    /// more per [`Runtime::swap`].
    pub fn version(&self, address: &str) -> Option<u32> {
        self.running.get(address).map(|running| running.version)
    }

    /// Calls the instance at `address` from WAVE text, e.g. `get("a")`.
    /// The call waits in the instance's mailbox behind the calls before
    /// it, and runs on the instance's own thread; the future is its answer.
    pub fn call_wave(
        &self,
        address: &str,
        call: &str,
    ) -> impl Future<Output = Result<CallOutput, HostError>> + Send + 'static + use<> {
        self.ask(address, Request::Wave(call.to_owned()))
    }

    /// Calls export `name` of the instance at `address` with `args`, like
    /// [`Runtime::call_wave`].
    pub fn call(
        &self,
        address: &str,
        name: &str,
        args: Vec<Val>,
    ) -> impl Future<Output = Result<CallOutput, HostError>> + Send + 'static + use<> {
        let name = name.to_owned();
        self.ask(address, Request::Vals { name, args })
    }

    /// Runs `f` on the instance at `address` (e.g. to read its state or set
    /// its budget), between its calls, and waits for the answer. For a
    /// pool, see [`Runtime::with_each_instance`].
    pub fn with_instance<R: Send + 'static>(
        &self,
        address: &str,
        f: impl FnOnce(&mut Instance) -> R + Send + 'static,
    ) -> Result<R, HostError> {
        let served = self.served(address)?;
        let [actor] = served.actors() else {
            return Err(HostError::Invalid {
                reason: format!(
                    "`{address}` is a pool of {} instances: reach them with `with_each_instance`",
                    served.actors().len()
                ),
            });
        };
        actor.ask_blocking(move |supervised| f(&mut supervised.instance))
    }

    /// Runs `f` on each instance at `address` in turn (one, or each of a
    /// pool's), between its calls; their answers, in order.
    pub fn with_each_instance<R: Send + 'static>(
        &self,
        address: &str,
        f: impl Fn(&mut Instance) -> R + Send + Sync + 'static,
    ) -> Result<Vec<R>, HostError> {
        let f = Arc::new(f);
        self.served(address)?
            .actors()
            .iter()
            .map(|actor| {
                let f = f.clone();
                actor.ask_blocking(move |supervised| f(&mut supervised.instance))
            })
            .collect()
    }

    /// A typed handle on export `name` of the instance at `address`, e.g.
    /// `runtime.typed::<(u32,), (u64,)>("counter", "increment")`: the
    /// fastest way to call one export often, with no lookup by name and no
    /// [`Val`]s. Fails when the export's type differs. The handle keeps
    /// working across restarts and swaps (it looks the export up again),
    /// and fails once the address is stopped.
    pub fn typed<P, R>(&self, address: &str, name: &str) -> Result<TypedHandle<P, R>, HostError>
    where
        P: ComponentNamedList + Lower + Send + 'static,
        R: ComponentNamedList + Lift + Send + 'static,
    {
        let served = self.served(address)?.clone();
        let id = next_handle_id();
        for actor in served.actors() {
            let name = name.to_owned();
            actor.ask_blocking(move |supervised| {
                let export = supervised.instance.typed::<P, R>(&name)?;
                supervised.keep_typed(id, export);
                Ok::<_, HostError>(())
            })??;
        }
        Ok(TypedHandle {
            served,
            id,
            types: PhantomData,
        })
    }

    /// A supervised call on the actor at `address`, mirrored to its shadow if any.
    fn ask(
        &self,
        address: &str,
        request: Request,
    ) -> impl Future<Output = Result<CallOutput, HostError>> + Send + 'static + use<> {
        // Sent now, so that calls made one after another queue at once.
        let answer = (self.served(address))
            .map(|served| self.send(served, address, request, candidate::serve));
        async move { answer?.await? }
    }

    /// A supervised call on the actor at `address`, recorded: the state
    /// before it, its result, and the effects it saw (for a [`Session`](crate::Session)).
    pub(crate) fn recorded(
        &self,
        address: &str,
        request: Request,
    ) -> impl Future<Output = Result<Recorded, HostError>> + use<> {
        let answer = self.served(address).map(|served| {
            self.send(
                served,
                address,
                request,
                |supervised, request, shadow, log| {
                    let state_before = match supervised.instance.save_state() {
                        Ok(state) => state,
                        Err(err) => return (None, Err(err), Vec::new()),
                    };
                    effects(supervised.instance.shared()).take_recorded();
                    let result = candidate::serve(supervised, request, shadow, log);
                    (
                        state_before,
                        result,
                        effects(supervised.instance.shared()).take_recorded(),
                    )
                },
            )
        });
        async move { answer?.await }
    }

    /// Sends `job` with `request` to the actor that answers it at
    /// `address` (the primary, or a canary that takes its key), with the
    /// shadow to mirror it to and the log to log it to, if any.
    fn send<R, F>(
        &self,
        served: &Served,
        address: &str,
        request: Request,
        job: F,
    ) -> impl Future<Output = Result<R, HostError>> + Send + 'static + use<R, F>
    where
        R: Send + 'static,
        F: FnOnce(&mut Supervised, Request, Option<Arc<Candidate>>, Option<Logging>) -> R
            + Send
            + 'static,
    {
        let route = Candidate::route(served.candidate(), &request);
        let (shadow, log) = (route.shadow, self.logging(address, &route.canary));
        let job = move |supervised: &mut Supervised| job(supervised, request, shadow, log);
        match &route.canary {
            Some((canary, _)) => canary.ask(job),
            None => served.pick().ask(job),
        }
    }

    /// Where a call to `address` (or to its canary) is logged, if anywhere.
    fn logging(&self, address: &str, canary: &Option<(Actor, u32)>) -> Option<Logging> {
        let events = self.events.as_ref()?;
        let version = match canary {
            Some((_, version)) => *version,
            None => self.version(address).unwrap_or(0),
        };
        Some(Logging {
            events: events.clone(),
            address: address.to_owned(),
            version,
        })
    }

    /// Starts the component `bytes` as a shadow beside the version running
    /// at `address`, which goes on answering every call: each call
    /// through [`Runtime::call`], [`Runtime::call_wave`], a
    /// [`Session`](crate::Session) or another app's wired import is then
    /// mirrored to the shadow, off the caller's path, and compared (see
    /// [`CandidateReport`]); calls through typed handles are not. The
    /// shadow starts from a copy of the primary's state and kv, sees the
    /// effects the primary saw, and keeps its writes to itself. It is
    /// refused as a swap to it would be; a candidate already there is
    /// replaced. End it with [`Runtime::promote`] or [`Runtime::rollback`].
    pub fn shadow(&mut self, address: &str, bytes: &[u8]) -> Result<(), HostError> {
        self.start_candidate(address, bytes, None)
    }

    /// Starts the component `bytes` as a canary beside the version running
    /// at `address`: it answers `percent` of the keys (a call's key is its
    /// first argument), always the same ones, and the primary the rest;
    /// other apps' wired calls too, but not calls through typed handles,
    /// which the primary answers. It starts from a copy of the primary's
    /// state, and shares its kv. It is refused as a swap to it would be,
    /// or when `percent` is over 100; a candidate already there is
    /// replaced. End it with [`Runtime::promote`] or [`Runtime::rollback`].
    pub fn canary(&mut self, address: &str, bytes: &[u8], percent: u8) -> Result<(), HostError> {
        if percent > 100 {
            return Err(WiringError::CanaryShare { percent }.into());
        }
        self.start_candidate(address, bytes, Some(percent))
    }

    /// Starts a shadow (`canary` `None`) or a canary.
    fn start_candidate(
        &mut self,
        address: &str,
        bytes: &[u8],
        canary: Option<u8>,
    ) -> Result<(), HostError> {
        let (app, _, _) = self.next_version(address, bytes)?;
        let served = self.served(address)?.clone();
        let primary = served
            .actors()
            .first()
            .ok_or_else(|| no_such_address(address))?;
        let log = self.log.clone();
        let instance = primary.ask_blocking(move |supervised| {
            let primary = &mut supervised.instance;
            let kv = &primary.shared().kv;
            // A canary's answers are real: so are its logs and kv writes.
            let (log, kv) = match canary {
                Some(_) => (log, kv.clone()),
                None => {
                    let snapshot = crate::host::lock(kv).snapshot();
                    (
                        Arc::new(NoLog) as Arc<dyn LogSink>,
                        Arc::new(Mutex::new(snapshot)),
                    )
                }
            };
            let mut shared = Shared::new(log);
            shared.kv = kv;
            let state = primary.save_state()?;
            successor(primary.budget(), shared, app, state).map(|(next, _)| next)
        })??;
        let version = self.version(address).unwrap_or(0) + 1;
        let supervised = Supervised::new(instance, self.intensity);
        let actor = Actor::new(address, supervised, self.pool.clone());
        let candidate = Candidate::new(actor, bytes, version, canary);
        served.set_candidate(Some(Arc::new(candidate)));
        Ok(())
    }

    /// What the candidate at `address` has seen so far, once the calls
    /// sent to it until now have run; `None` without one.
    pub fn candidate_report(&self, address: &str) -> Result<Option<CandidateReport>, HostError> {
        let served = self.served(address)?;
        let Some(candidate) = served.candidate() else {
            return Ok(None);
        };
        sent_on(served)?;
        candidate.report().map(Some)
    }

    /// Makes the candidate at `address` its running version, as a swap to
    /// it would, keeping the state `keep` names, once the calls sent to it
    /// have run; calls sent before are answered by the version that had
    /// them, and none is lost. The primary's kv is kept either way (a
    /// shadow's writes were its own). Refused when no candidate runs, or
    /// as [`Runtime::swap`] is; then the candidate stays.
    pub fn promote(&mut self, address: &str, keep: Keep) -> Result<Swapped, HostError> {
        let served = self.served(address)?.clone();
        let Some(candidate) = served.candidate() else {
            return Err(no_candidate(address));
        };
        sent_on(&served)?;
        let carry = match keep {
            Keep::Primary => Carry::Running,
            Keep::Candidate => match candidate.settled(|instance| instance.save_state())?? {
                Some(state) => Carry::Given(state),
                None => Carry::Fresh,
            },
        };
        served.set_candidate(None);
        let promoted = self.replace(address, &candidate.bytes, carry);
        if promoted.is_err() {
            served.set_candidate(Some(candidate));
        }
        promoted
    }

    /// Ends the candidate at `address`; the primary goes on alone. Returns
    /// what the candidate had seen.
    pub fn rollback(&mut self, address: &str) -> Result<CandidateReport, HostError> {
        let served = self.served(address)?;
        let report = (self.candidate_report(address)?).ok_or_else(|| no_candidate(address))?;
        served.set_candidate(None);
        Ok(report)
    }

    /// Stops the instances at `addresses` together. Refused, naming them,
    /// when an instance not among them imports from one that is. Calls
    /// still waiting in their mailboxes fail; [`Runtime::drain`] answers
    /// them first.
    pub fn stop(&mut self, addresses: &[&str]) -> Result<(), HostError> {
        self.check_stoppable(addresses)?;
        for address in addresses {
            if let Some(served) = self.actors.remove(*address) {
                served.set_candidate(None);
                served.stop();
            }
            self.running.remove(*address);
        }
        Ok(())
    }

    /// Stops the instances at `addresses` as [`Runtime::stop`] does, once
    /// every call sent to them (and to a candidate beside them) so far
    /// has been answered: none is lost. Typed handles on them refuse new
    /// calls from the start. Refused as [`Runtime::stop`] is, and then
    /// nothing is stopped.
    pub fn drain(&mut self, addresses: &[&str]) -> Result<(), HostError> {
        self.check_stoppable(addresses)?;
        for address in addresses {
            let served = self.served(address)?;
            served.stop();
            sent_on(served)?;
            if let Some(candidate) = served.candidate() {
                candidate.settled(|_| ())?;
            }
        }
        self.stop(addresses)
    }

    /// Refuses to stop `addresses` when one is not running, or another
    /// instance imports from one of them.
    fn check_stoppable(&self, addresses: &[&str]) -> Result<(), HostError> {
        for address in addresses {
            if !self.running.contains_key(*address) {
                return Err(no_such_address(address));
            }
            let dependents: Vec<String> = self
                .running
                .iter()
                .filter(|(other, running)| {
                    !addresses.contains(&other.as_str()) && running.wiring.uses(address)
                })
                .map(|(other, _)| other.clone())
                .collect();
            if !dependents.is_empty() {
                let address = (*address).to_owned();
                return Err(WiringError::HasDependents {
                    address,
                    dependents,
                }
                .into());
            }
        }
        Ok(())
    }

    fn served(&self, address: &str) -> Result<&Arc<Served>, HostError> {
        self.actors
            .get(address)
            .ok_or_else(|| no_such_address(address))
    }

    /// The provider of each import of `world` that the iso host does not
    /// provide, checked against what the provider exports.
    fn check_wiring(
        &self,
        address: &str,
        wiring: &Wiring,
        resolve: &Resolve,
        world: WorldId,
    ) -> Result<Vec<Wire>, WiringError> {
        // A wiring may name an import of types alone, which needs no provider.
        let every_import: Vec<String> = (resolve.worlds[world].imports.keys())
            .map(|key| resolve.name_world_key(key))
            .collect();
        for named in wiring.imports() {
            if !(every_import.iter()).any(|import| wiring::names_import(named, import)) {
                return Err(WiringError::UnknownImport {
                    address: address.to_owned(),
                    import: named.to_owned(),
                    imports: import_names(resolve, world),
                });
            }
        }
        let imports = import_names(resolve, world);
        let foreign = imports.iter().filter(|i| !PROVIDED.contains(&i.as_str()));
        foreign
            .map(|import| self.check_import(address, wiring, resolve, world, import))
            .collect()
    }

    /// The provider of one import, checked.
    fn check_import(
        &self,
        address: &str,
        wiring: &Wiring,
        resolve: &Resolve,
        world: WorldId,
        import: &str,
    ) -> Result<Wire, WiringError> {
        let system = |define: &SystemInterface| Wire {
            import: import.to_owned(),
            to: WireTo::System(define.clone()),
        };
        let provider = match (wiring.provider(import), self.system(import)) {
            (Some(Provider::Remote(remote)), _) => {
                return self.check_remote(address, resolve, world, import, remote);
            }
            (Some(Provider::Address(provider)), _) => provider.clone(),
            (Some(Provider::Host) | None, Some(define)) => return Ok(system(define)),
            (Some(Provider::Host), None) => {
                return Err(WiringError::NoSystemInterface {
                    address: address.to_owned(),
                    import: import.to_owned(),
                });
            }
            (None, None) => {
                return Err(WiringError::MissingProvider {
                    address: address.to_owned(),
                    import: import.to_owned(),
                });
            }
        };
        if provider == address {
            let path = vec![address.to_owned(), address.to_owned()];
            return Err(WiringError::Cycle { path });
        }
        let Some(running) = self.running.get(&provider) else {
            return Err(WiringError::UnknownProvider {
                address: address.to_owned(),
                import: import.to_owned(),
                provider,
            });
        };
        let importer = iso_compat::Side { resolve, world };
        let offered = iso_compat::Side {
            resolve: &running.resolve,
            world: running.world,
        };
        let export = filling_export(address, &importer, import, &provider, &offered)?;
        Ok(Wire {
            import: import.to_owned(),
            to: WireTo::Address { provider, export },
        })
    }

    /// The remote provider of one import, checked against the component
    /// its host describes.
    fn check_remote(
        &self,
        address: &str,
        resolve: &Resolve,
        world: WorldId,
        import: &str,
        remote: &str,
    ) -> Result<Wire, WiringError> {
        let unreachable = |reason: String| WiringError::RemoteUnreachable {
            address: address.to_owned(),
            import: import.to_owned(),
            provider: remote.to_owned(),
            reason,
        };
        let transport = (self.transport.as_ref()).ok_or_else(|| {
            unreachable("this runtime has no transport: give it one with `set_transport`".into())
        })?;
        let bytes = (transport.describe(remote, DEFAULT_REMOTE_TIMEOUT))
            .map_err(|err| unreachable(err.to_string()))?;
        let (offered, offered_world) = decode_description(&bytes)
            .map_err(|err| unreachable(format!("its description does not read: {err}")))?;
        let importer = iso_compat::Side { resolve, world };
        let offered = iso_compat::Side {
            resolve: &offered,
            world: offered_world,
        };
        let export = filling_export(address, &importer, import, remote, &offered)?;
        Ok(Wire {
            import: import.to_owned(),
            to: WireTo::Remote {
                address: remote.to_owned(),
                export,
            },
        })
    }

    /// Whether a new version of `address` (of WIT `world`) still fills every
    /// import that a running instance takes from it.
    fn check_dependents(
        &self,
        address: &str,
        resolve: &Resolve,
        world: WorldId,
    ) -> Result<(), WiringError> {
        let provider = Provider::Address(address.to_owned());
        let offered = iso_compat::Side { resolve, world };
        for (dependent, running) in &self.running {
            let importer = iso_compat::Side {
                resolve: &running.resolve,
                world: running.world,
            };
            for import in import_names(&running.resolve, running.world) {
                if running.wiring.provider(&import) != Some(&provider) {
                    continue;
                }
                let differences =
                    breaking(&iso_compat::check_provider(&importer, &import, &offered));
                if !differences.is_empty() {
                    return Err(WiringError::SwapBreaksDependent {
                        address: address.to_owned(),
                        dependent: dependent.clone(),
                        import,
                        differences,
                    });
                }
            }
        }
        Ok(())
    }

    /// Links `component` against the iso host and a forwarder for each
    /// function of each wired import.
    fn link(
        &self,
        component: &Component,
        wires: &[Wire],
        budget: Budget,
    ) -> Result<App, HostError> {
        let timeout = budget.timeout.map_or(DEFAULT_REMOTE_TIMEOUT, |t| t.0);
        let engine = self.engine.engine();
        let ty = component.component_type();
        let wired: Vec<String> = wires.iter().map(|w| w.import.clone()).collect();
        App::linked(
            self.engine.clone(),
            component,
            &wired,
            |linker: &mut Linker<HostState>| {
                for wire in wires {
                    let item = ty.get_import(engine, &wire.import).map(|import| import.ty);
                    let Some(ComponentItem::ComponentInstance(interface)) = item else {
                        wasmtime::bail!(
                            "only interfaces can be wired: `{}` is not one",
                            wire.import
                        );
                    };
                    let mut instance = linker.instance(&wire.import)?;
                    let (provider, export) = match &wire.to {
                        WireTo::System(define) => {
                            define(&mut instance)?;
                            continue;
                        }
                        WireTo::Remote { address, export } => {
                            let Some(transport) = &self.transport else {
                                wasmtime::bail!("no transport reaches `{address}`");
                            };
                            for (func, _) in interface.exports(engine) {
                                let export = format!("{export}#{func}");
                                let forward = remote::remote_forwarder(
                                    transport.clone(),
                                    address.clone(),
                                    export,
                                    timeout,
                                );
                                instance.func_new(func, forward)?;
                            }
                            continue;
                        }
                        WireTo::Address { provider, export } => (provider, export),
                    };
                    let Some(callee) = self.actors.get(provider) else {
                        wasmtime::bail!("nothing runs under `{provider}`");
                    };
                    for (func, item) in interface.exports(engine) {
                        let export = format!("{export}#{func}");
                        if let ComponentItem::ComponentFunc(ty) = &item.ty
                            && typed_forward::define(
                                &mut instance,
                                func,
                                ty,
                                callee,
                                provider,
                                &export,
                            )?
                        {
                            continue;
                        }
                        let forward = forwarder(callee.clone(), provider.clone(), export);
                        instance.func_new(func, forward)?;
                    }
                }
                Ok(())
            },
        )
    }
}

impl Drop for Runtime {
    /// Drops the instances, and waits (at most a second) until the pool's
    /// workers let go of the last of them, so that the storage is closed
    /// (and another host may open it) and the event log written when this
    /// returns.
    fn drop(&mut self) {
        self.actors.clear();
        self.running.clear();
        let second = std::time::Duration::from_secs(1);
        if let Some(events) = self.events.take() {
            // Calls answered a moment ago may still hold it, to log themselves.
            let deadline = Instant::now() + second;
            while Arc::strong_count(&events) > 1 && Instant::now() < deadline {
                std::thread::sleep(std::time::Duration::from_millis(1));
            }
        }
        if let Some(storage) = self.storage.take() {
            storage.wait_until_alone(second);
        }
    }
}

/// A recorded call: the state before it, its result, and the effects it saw.
pub(crate) type Recorded = (Option<Vec<u8>>, Result<CallOutput, HostError>, Vec<Effect>);

fn no_such_address(address: &str) -> HostError {
    let address = address.to_owned();
    WiringError::NoSuchAddress { address }.into()
}

/// Waits until the primary actors at `served` have run the calls sent to
/// them so far, and so have sent their shadow what it mirrors (a shadow's
/// call is sent once the primary's caller has its answer).
fn sent_on(served: &Served) -> Result<(), HostError> {
    for actor in served.actors() {
        actor.ask_blocking(|_| ())?;
    }
    Ok(())
}

fn no_candidate(address: &str) -> HostError {
    let address = address.to_owned();
    WiringError::NoCandidate { address }.into()
}

/// One app for [`Runtime::start_all`]: what [`Runtime::start`] takes.
pub struct Start<'a> {
    /// The address to start it under.
    pub address: &'a str,
    /// The component's bytes.
    pub bytes: &'a [u8],
    /// Who fills its imports.
    pub wiring: Wiring,
    /// The budget of each call.
    pub budget: Budget,
}

/// A typed handle on one export of one address, from [`Runtime::typed`].
/// Cheap to clone.
pub struct TypedHandle<P, R> {
    served: Arc<Served>,
    /// The key of the export in each instance's cache of typed exports.
    id: u64,
    types: PhantomData<fn(P) -> R>,
}

impl<P, R> Clone for TypedHandle<P, R> {
    fn clone(&self) -> Self {
        TypedHandle {
            served: self.served.clone(),
            id: self.id,
            types: PhantomData,
        }
    }
}

impl<P, R> TypedHandle<P, R>
where
    P: ComponentNamedList + Lower + Send + 'static,
    R: ComponentNamedList + Lift + Send + 'static,
{
    /// Calls the export with `params` under the instance's budget, like
    /// [`Runtime::call`]; the future is its results and what it used.
    pub fn call(
        &self,
        params: P,
    ) -> impl Future<Output = Result<(R, Usage), HostError>> + Send + 'static + use<P, R> {
        let id = self.id;
        match self.served.is_stopped() {
            true => Reply::refused(no_such_address(self.served.address())),
            false => Reply::Sent(
                self.served
                    .pick()
                    .ask(move |supervised| supervised.call_typed(id, params)),
            ),
        }
    }

    /// Calls the export like [`TypedHandle::call`], and waits for the
    /// answer on this thread. When the instance (one of a pool) is free
    /// and no call waits for it, the call runs right here, as a wired call
    /// does, which saves the hand-off to a worker and back (see
    /// `scripts/bench` for what a server's request threads reach this
    /// way). Otherwise the call takes its turn in the mailbox.
    /// For threads that may block; async code awaits [`TypedHandle::call`].
    pub fn call_blocking(&self, params: P) -> Result<(R, Usage), HostError> {
        if let Some(mut supervised) = self.served.try_lock_idle() {
            let result = supervised.call_typed(self.id, params);
            supervised.run_after_answer();
            return result;
        }
        block_on(self.call(params))
    }

    /// Makes one call per item of `params`, one after another on one
    /// instance, each under its own budget and supervised on its own (a
    /// failed call restarts the instance before the next). The calls cost
    /// one hand-off to the instance's worker instead of one each: for bulk
    /// work, this reaches the raw loop's throughput (see `scripts/bench`).
    pub fn call_many(
        &self,
        params: Vec<P>,
    ) -> impl Future<Output = Result<Vec<TypedOutcome<R>>, HostError>> + Send + 'static + use<P, R>
    {
        let id = self.id;
        let answer = match self.served.is_stopped() {
            true => Err(no_such_address(self.served.address())),
            false => Ok(self.served.pick().ask(move |supervised| {
                let calls = params.into_iter();
                calls
                    .map(|params| supervised.call_typed(id, params))
                    .collect()
            })),
        };
        async move { answer?.await }
    }
}

/// What one typed call returned: its results and usage, or its error.
pub type TypedOutcome<R> = Result<(R, Usage), HostError>;

/// A number no typed handle had before.
fn next_handle_id() -> u64 {
    static HANDLES: AtomicU64 = AtomicU64::new(0);
    HANDLES.fetch_add(1, Ordering::Relaxed)
}

/// Refuses a pool of more than one instance of an app that keeps state.
fn check_pool(address: &str, app: &App, size: usize) -> Result<(), HostError> {
    if size > 1 && app.has_state() {
        return Err(HostError::Invalid {
            reason: format!(
                "`{address}` keeps state (it exports iso:app/state), so it cannot run as a pool of {size} identical instances: start one instance, or keep the state in kv"
            ),
        });
    }
    Ok(())
}

/// The export of `provider` (the app `offered` describes) that fills
/// `import` of `address` (`importer`): the same interface, perhaps at
/// another compatible version; or what breaks between them.
fn filling_export(
    address: &str,
    importer: &iso_compat::Side,
    import: &str,
    provider: &str,
    offered: &iso_compat::Side,
) -> Result<String, WiringError> {
    let differences = breaking(&iso_compat::check_provider(importer, import, offered));
    if !differences.is_empty() {
        return Err(WiringError::IncompatibleProvider {
            address: address.to_owned(),
            import: import.to_owned(),
            provider: provider.to_owned(),
            differences,
        });
    }
    let exports = export_names(offered.resolve, offered.world);
    let export = iso_compat::linked_name(import, exports.iter().map(String::as_str));
    Ok(export.unwrap_or(import).to_owned())
}

/// The breaking findings, one line each.
fn breaking(findings: &[iso_compat::Finding]) -> Vec<String> {
    findings
        .iter()
        .filter(|f| f.severity == iso_schema::evolve::Severity::Breaking)
        .map(ToString::to_string)
        .collect()
}

/// The world a remote host describes: a WIT package of one world (or a component).
pub(crate) fn decode_description(bytes: &[u8]) -> Result<(Resolve, WorldId), HostError> {
    match wit_parser::decoding::decode(bytes) {
        Ok(DecodedWasm::WitPackage(resolve, package)) => {
            let world = resolve.packages[package].worlds.values().next().copied();
            let world = world.ok_or_else(|| HostError::Invalid {
                reason: "the package holds no world".into(),
            })?;
            Ok((resolve, world))
        }
        _ => decode(bytes),
    }
}

/// The WIT world of a component's bytes.
fn decode(bytes: &[u8]) -> Result<(Resolve, WorldId), HostError> {
    match wit_parser::decoding::decode(bytes) {
        Ok(DecodedWasm::Component(resolve, world)) => Ok((resolve, world)),
        Ok(DecodedWasm::WitPackage(..)) => Err(HostError::Invalid {
            reason: "this holds WIT packages, not a component".into(),
        }),
        Err(err) => Err(HostError::Invalid {
            reason: format!("could not read the component's WIT: {err:#}"),
        }),
    }
}
