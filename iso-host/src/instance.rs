//! [`Instance`]: a running guest that takes calls under a per-call budget and
//! starts itself again, from its last good state, after any trap.
//!
//! Snapshot policy: with [`SnapshotPolicy::EveryCall`] (the default) the
//! guest's state is saved after every successful call, so the call after a
//! trap sees the state as of the last good call. That costs one `save()` per
//! call (about a microsecond for the counter template; `scripts/bench` prints
//! it). [`SnapshotPolicy::Checkpoint`] saves only when [`Instance::checkpoint`]
//! is called, for hosts that batch calls.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use rustc_hash::FxHashMap;
use std::time::{Duration, Instant};

use wasmtime::component::wasm_wave::untyped::UntypedFuncCall;
use wasmtime::component::{ComponentNamedList, Func, Lift, Lower, TypedFunc, Val};
use wasmtime::{Store, Trap};

use crate::app::{App, STATE_INTERFACE};
use crate::budget::{Budget, Fuel, MemorySize, Timeout};
use crate::engine::{CallClock, TICK};
use crate::error::{Amount, BudgetKind, HostError};
use crate::fast::{self, Scalar, TypedCall};
use crate::host::{HostState, MemoryLimiter, Refused, Shared, lock};
use crate::names;
use crate::runtime::CalleeFailed;

/// When the instance saves the state it restarts from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SnapshotPolicy {
    /// After every successful call.
    #[default]
    EveryCall,
    /// Only on [`Instance::checkpoint`] (and at start).
    Checkpoint,
}

/// What one call used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Usage {
    /// Fuel consumed.
    pub fuel: u64,
    /// The largest linear memory during the call, in bytes.
    pub memory_peak: u64,
    /// Wall-clock time of the call: to the nanosecond with
    /// [`EngineOptions::precise_timing`](crate::EngineOptions::precise_timing),
    /// else to the ticker's resolution ([`TICK`](crate::engine::TICK)).
    pub elapsed: Duration,
    /// What the wired calls this call made used in their callees (and
    /// theirs, in turn): each callee runs in a store of its own, so its
    /// fuel is not in `fuel`. Its time is in `elapsed`.
    pub callees: Callees,
}

/// The wired calls one call made, and the fuel they used.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Callees {
    /// Calls made to other instances, nested ones included.
    pub calls: u64,
    /// The fuel those calls consumed.
    pub fuel: u64,
}

impl Callees {
    /// Counts one wired call that used `usage`.
    pub(crate) fn add(&mut self, usage: &Usage) {
        self.calls += 1 + usage.callees.calls;
        self.fuel += usage.fuel + usage.callees.fuel;
    }
}

/// A call's result and what it used.
#[derive(Debug, Clone)]
pub struct CallOutput {
    result: Returned,
    /// What the call used.
    pub usage: Usage,
}

/// A call's result as it came back. A scalar stays plain data until it is
/// asked for: building and then dropping a [`Val`] on every call cost
/// about 3 ns of a 110 ns call.
#[derive(Debug, Clone)]
enum Returned {
    Nothing,
    Scalar(Scalar),
    /// Boxed, so that the output stays small: callers copy it on every call.
    Value(Box<Val>),
}

impl Returned {
    fn into_val(self) -> Option<Val> {
        match self {
            Returned::Nothing => None,
            Returned::Scalar(scalar) => Some(Val::from(scalar)),
            Returned::Value(value) => Some(*value),
        }
    }
}

impl CallOutput {
    /// The result, if the function returns one (component functions
    /// return at most one value). Clones it; see [`CallOutput::into_result`].
    pub fn result(&self) -> Option<Val> {
        self.result.clone().into_val()
    }

    /// The result, if the function returns one.
    pub fn into_result(self) -> Option<Val> {
        self.result.into_val()
    }

    /// The result in WAVE text, e.g. `5` or `"hello"`; empty when there is none.
    pub fn results_wave(&self) -> Vec<String> {
        self.result().iter().map(wave).collect()
    }
}

/// `value` in WAVE text, e.g. `5`, `"hello"` or `some(2)`.
pub fn wave(value: &Val) -> String {
    wasmtime::component::wasm_wave::to_string(value).unwrap_or_else(|e| format!("<{e}>"))
}

/// A typed handle on one export, from [`Instance::typed`].
pub struct TypedExport<P, R> {
    name: String,
    func: TypedFunc<P, R>,
    /// The store `func` belongs to (see [`Instance::store_id`]).
    store: u64,
}

/// An export looked up once, with its parameter and result counts.
struct Export {
    name: Box<str>,
    func: Func,
    params: usize,
    results: usize,
    /// The fast path, for arguments that fit it.
    typed: TypedCall,
}

/// Up to this many exports in use, comparing names is faster than hashing one.
const LINEAR_LOOKUP: usize = 8;

/// Fuel and time for the host's own calls into the guest (`save`, `restore`, `schema`).
const INTERNAL_FUEL: u64 = 10_000_000_000;
const INTERNAL_TIMEOUT: Duration = Duration::from_secs(10);

/// A running guest.
pub struct Instance {
    app: Arc<App>,
    shared: Shared,
    budget: Budget,
    policy: SnapshotPolicy,
    store: Store<HostState>,
    instance: wasmtime::component::Instance,
    /// Exports looked up so far, by name, as indexes into `exports`
    /// (used when there are more than [`LINEAR_LOOKUP`]).
    funcs: FxHashMap<String, usize>,
    exports: Vec<Export>,
    snapshot: Option<Vec<u8>>,
    restarts: u64,
    /// Unique among all stores of the process, so that a typed handle
    /// looked up in another store (before a restart, or in another
    /// instance) is looked up again instead of used: wasmtime panics on a
    /// function from another store.
    store_id: u64,
    clock: CallClock,
    /// The budget's timeout in epoch ticks.
    ticks: u64,
    /// Whether the app's kv commits to a [`Storage`](crate::Storage) (so
    /// the state is committed with it).
    kv_kept: bool,
    /// Fuel left after the last call while the store stays armed for a
    /// budget with neither fuel nor time limits; `None` when the next call
    /// must set its fuel and deadline.
    armed_unlimited: Option<u64>,
}

impl Instance {
    /// Instantiates `app` under `budget`; logs, effects and kv go through `shared`.
    pub fn new(app: Arc<App>, budget: Budget, shared: Shared) -> Result<Instance, HostError> {
        let (store, instance) = start(&app, budget, shared.clone())?;
        let clock = app.engine.clock().clone();
        let kv_kept = lock(&shared.kv).is_kept();
        // No snapshot yet: restarting before the first call gives the same default state.
        Ok(Instance {
            app,
            shared,
            budget,
            policy: SnapshotPolicy::default(),
            store,
            instance,
            funcs: FxHashMap::default(),
            exports: Vec::new(),
            snapshot: None,
            restarts: 0,
            store_id: next_store_id(),
            clock,
            ticks: ticks(budget.timeout.map(|t| t.0)),
            kv_kept,
            armed_unlimited: None,
        })
    }

    /// Sets the snapshot policy.
    pub fn set_snapshot_policy(&mut self, policy: SnapshotPolicy) {
        self.policy = policy;
    }

    /// The app this instance runs.
    pub fn app(&self) -> &Arc<App> {
        &self.app
    }

    /// Logs, effects and kv, shared with the instances that replace this one.
    pub fn shared(&self) -> &Shared {
        &self.shared
    }

    /// The per-call budget.
    pub fn budget(&self) -> Budget {
        self.budget
    }

    /// Changes the per-call budget, from the next call on.
    pub fn set_budget(&mut self, budget: Budget) {
        self.budget = budget;
        self.ticks = ticks(budget.timeout.map(|t| t.0));
        self.armed_unlimited = None;
        self.store.data_mut().limiter.limit = budget.memory.map(|m| m.0 as usize);
        self.store.data_mut().storage_limit = budget.storage.map(|s| s.0);
    }

    /// How many times the instance started again after a trap.
    pub fn restarts(&self) -> u64 {
        self.restarts
    }

    /// Saves the state now as the one to restart from (and, when its kv
    /// is kept in a [`Storage`](crate::Storage), commits it there).
    pub fn checkpoint(&mut self) -> Result<(), HostError> {
        let state = self.save_state()?;
        self.commit(Some(state))
    }

    /// Starts the app again from its default state, with no kv entries,
    /// forgetting both here and in its [`Storage`](crate::Storage).
    pub fn reset(&mut self) -> Result<(), HostError> {
        lock(&self.shared.kv).reset()?;
        self.snapshot = None;
        self.replace_store()
    }

    /// Restores the state last committed to the app's
    /// [`Storage`](crate::Storage), if there is one; whether there was.
    pub fn restore_saved(&mut self) -> Result<bool, HostError> {
        let saved = lock(&self.shared.kv).saved_state()?;
        match saved {
            Some(state) if self.app.has_state() => self.restore_state(&state).map(|()| true),
            _ => Ok(false),
        }
    }

    /// Ends a successful call: commits its kv writes and, under
    /// [`SnapshotPolicy::EveryCall`], the state after it, together.
    #[inline]
    fn finish_call(&mut self) -> Result<(), HostError> {
        let snapshot = self.policy == SnapshotPolicy::EveryCall;
        if !snapshot && self.store.data().kv_writes.is_empty() {
            return Ok(());
        }
        let state = match snapshot {
            true => Some(self.save_state()?),
            false => None,
        };
        self.commit(state)
    }

    /// Commits the call's kv writes with the `state` just taken (`None`:
    /// none was), which becomes the state to restart from; if the commit
    /// fails, the instance goes back to the last committed state and
    /// nothing of the call is kept.
    fn commit(&mut self, state: Option<Option<Vec<u8>>>) -> Result<(), HostError> {
        let writes = std::mem::take(&mut self.store.data_mut().kv_writes);
        let result = if writes.is_empty() && !self.kv_kept {
            Ok(())
        } else {
            let durable = state
                .as_ref()
                .filter(|_| self.kv_kept)
                .and_then(Option::as_deref);
            lock(&self.shared.kv).commit(writes, durable)
        };
        match result {
            Ok(()) => {
                if let Some(state) = state {
                    self.snapshot = state;
                }
                Ok(())
            }
            Err(err) => {
                self.restart()?;
                Err(err)
            }
        }
    }

    /// Calls export `name` (`increment`, or `iso:app/state@0.1.0#save`) with `args`.
    // Inlined, with the lookup and `call_func`, so that the output is built
    // where the caller keeps it: copying it out of a callee's frame just
    // after it was written stalls store forwarding.
    #[inline(always)]
    pub fn call(&mut self, name: &str, args: &[Val]) -> Result<CallOutput, HostError> {
        let export = self.func(name)?;
        let params = self.exports[export].params;
        if args.len() != params {
            return Err(HostError::BadArguments {
                what: name.to_owned(),
                detail: format!("{} arguments given, {params} expected", args.len()),
                expected: self.signature(name),
            });
        }
        self.call_func(name, export, args)
    }

    /// Calls an export from WAVE text, e.g. `increment(5)`, `greet("ada")`
    /// or `api.put("a", 2)` (see [`crate::names`] for the spellings).
    pub fn call_wave(&mut self, call: &str) -> Result<CallOutput, HostError> {
        let call = call.trim();
        let (name, parsed) = parse_call(call)?;
        let export = self.func(name)?;
        let func = self.exports[export].func;
        let types: Vec<wasmtime::component::Type> =
            func.ty(&self.store).params().map(|(_, ty)| ty).collect();
        let args = parsed.args(call, &types, || self.signature(name))?;
        self.call_func(name, export, &args)
    }

    fn signature(&self, name: &str) -> String {
        self.app
            .resolve(name)
            .map_or_else(|_| name.to_owned(), |e| e.signature.clone())
    }

    /// The index in `exports` of export `name`, looked up on first use.
    #[inline(always)]
    fn func(&mut self, name: &str) -> Result<usize, HostError> {
        let known = if self.exports.len() <= LINEAR_LOOKUP {
            self.exports.iter().position(|export| *export.name == *name)
        } else {
            self.funcs.get(name).copied()
        };
        match known {
            Some(index) => Ok(index),
            None => self.look_up(name),
        }
    }

    /// Finds export `name` in the instance and adds it to `exports`.
    #[cold]
    #[inline(never)]
    fn look_up(&mut self, name: &str) -> Result<usize, HostError> {
        let full = self.app.resolve(name)?.name.clone();
        let found = match full.split_once('#') {
            Some((interface, func)) => self
                .instance
                .get_export_index(&mut self.store, None, interface)
                .and_then(|index| {
                    self.instance
                        .get_export_index(&mut self.store, Some(&index), func)
                })
                .and_then(|index| self.instance.get_func(&mut self.store, index)),
            None => self.instance.get_func(&mut self.store, &full),
        };
        let func = found.ok_or_else(|| HostError::Invalid {
            reason: format!(
                "the component lists `{full}` among its exports but has no such function"
            ),
        })?;
        let ty = func.ty(&self.store);
        self.exports.push(Export {
            name: name.into(),
            func,
            params: ty.params().len(),
            results: ty.results().len(),
            typed: fast::typed_call(func, &self.store),
        });
        let index = self.exports.len() - 1;
        self.funcs.insert(name.to_owned(), index);
        Ok(index)
    }

    /// Calls export number `export` with `args`: through its typed function
    /// when they fit it, else dynamically.
    #[inline(always)]
    fn call_func(
        &mut self,
        name: &str,
        export: usize,
        args: &[Val],
    ) -> Result<CallOutput, HostError> {
        if self.exports[export].typed.fits(args) {
            let (scalar, usage) = self.metered(name, |store, exports| {
                exports[export].typed.call(store, args)
            })?;
            let result = scalar.map_or(Returned::Nothing, Returned::Scalar);
            return Ok(CallOutput { result, usage });
        }
        let (value, usage) = self.metered(name, |store, exports| {
            let export = &exports[export];
            let mut slot = [Val::Bool(false)];
            export.func.call(store, args, &mut slot[..export.results])?;
            let [value] = slot;
            Ok((export.results == 1).then_some(value))
        })?;
        let result = value.map_or(Returned::Nothing, |value| Returned::Value(Box::new(value)));
        Ok(CallOutput { result, usage })
    }

    /// A handle on export `name` with parameters `P` and results `R`, e.g.
    /// `instance.typed::<(u32,), (u64,)>("increment")`, for
    /// [`Instance::call_typed`]. Fails when the export's type differs.
    pub fn typed<P, R>(&mut self, name: &str) -> Result<TypedExport<P, R>, HostError>
    where
        P: ComponentNamedList + Lower,
        R: ComponentNamedList + Lift,
    {
        let index = self.func(name)?;
        let func = self.exports[index]
            .func
            .typed::<P, R>(&self.store)
            .map_err(|err| HostError::BadArguments {
                what: name.to_owned(),
                detail: format!("{err:#}"),
                expected: self.signature(name),
            })?;
        Ok(TypedExport {
            name: name.to_owned(),
            func,
            store: self.store_id,
        })
    }

    /// Calls a typed export under the budget, like [`Instance::call`] but with
    /// no conversion to and from [`Val`]: the fastest way to call one export often.
    pub fn call_typed<P, R>(
        &mut self,
        export: &mut TypedExport<P, R>,
        params: P,
    ) -> Result<(R, Usage), HostError>
    where
        P: ComponentNamedList + Lower,
        R: ComponentNamedList + Lift,
    {
        if export.store != self.store_id {
            // A restart replaced the store the handle belonged to, or it
            // comes from another instance.
            *export = self.typed(&export.name)?;
        }
        let func = export.func;
        self.metered(&export.name, |store, _| func.call(store, params))
    }

    /// Runs `call` under the per-call budget and measures it; after a
    /// failure the instance restarts from its last good state.
    #[inline]
    fn metered<T>(
        &mut self,
        name: &str,
        call: impl FnOnce(&mut Store<HostState>, &[Export]) -> wasmtime::Result<T>,
    ) -> Result<(T, Usage), HostError> {
        let fuel = self.arm_call();
        let started = self.clock.now();
        let outcome = call(&mut self.store, &self.exports);
        let elapsed = self.clock.since(started);
        match outcome {
            Ok(value) => {
                let left = self.store.get_fuel().unwrap_or(0);
                if self.budget.fuel.is_none() && self.budget.timeout.is_none() {
                    self.armed_unlimited = Some(left);
                }
                let data = self.store.data();
                let usage = Usage {
                    fuel: fuel - left,
                    memory_peak: data.limiter.peak as u64,
                    elapsed,
                    callees: data.callees,
                };
                self.finish_call()?;
                Ok((value, usage))
            }
            Err(err) => Err(self.recover(name, err, elapsed)),
        }
    }

    /// The error for a failed call, after restarting from the last good state.
    #[cold]
    #[inline(never)]
    fn recover(&mut self, name: &str, err: wasmtime::Error, elapsed: Duration) -> HostError {
        let error = self.classify(name, err, elapsed);
        match self.restart() {
            Ok(()) => error,
            Err(restart) => restart,
        }
    }

    /// Arms the store for one call under the budget and returns the fuel it
    /// starts with. Without fuel and time limits the store stays armed from
    /// call to call (2^64 fuel does not run out), which saves the reset; a
    /// host call in between (such as the snapshot of
    /// [`SnapshotPolicy::EveryCall`]) arms it again.
    #[inline]
    fn arm_call(&mut self) -> u64 {
        if let Some(left) = self.armed_unlimited {
            self.reset_call_state();
            return left;
        }
        let fuel = self.budget.fuel.map_or(u64::MAX, |f| f.0);
        self.arm(fuel, self.ticks);
        fuel
    }

    /// Sets fuel, the epoch deadline (in ticks) and the memory peak for the next call.
    fn arm(&mut self, fuel: u64, ticks: u64) {
        let _ = self.store.set_fuel(fuel);
        self.store.set_epoch_deadline(ticks);
        self.armed_unlimited = None;
        self.reset_call_state();
    }

    /// Clears what one call records: the memory peak, a denied growth and a panic.
    #[inline]
    fn reset_call_state(&mut self) {
        let data = self.store.data_mut();
        data.limiter.peak = data.limiter.current;
        data.limiter.denied = None;
        data.last_panic = None;
        data.callees = Callees::default();
    }

    fn classify(&mut self, name: &str, err: wasmtime::Error, elapsed: Duration) -> HostError {
        let err = match err.downcast::<Refused>() {
            Ok(Refused(error)) => return error,
            Err(err) => err,
        };
        let err = match err.downcast::<CalleeFailed>() {
            Ok(failed) => {
                return HostError::CalleeFailed {
                    address: failed.address,
                    export: failed.export,
                    error: Box::new(failed.error),
                };
            }
            Err(err) => err,
        };
        let data = self.store.data_mut();
        if let Some(desired) = data.limiter.denied.take() {
            let limit = self.budget.memory.unwrap_or(MemorySize(0));
            return HostError::BudgetExceeded {
                kind: BudgetKind::Memory,
                limit: Amount::Memory(limit),
                used: Amount::Memory(MemorySize(desired as u64)),
            };
        }
        match err.downcast_ref::<Trap>() {
            Some(Trap::OutOfFuel) => {
                let limit = self.budget.fuel.unwrap_or(Fuel(u64::MAX));
                HostError::BudgetExceeded {
                    kind: BudgetKind::Fuel,
                    limit: Amount::Fuel(limit),
                    used: Amount::Fuel(limit),
                }
            }
            Some(Trap::Interrupt) => HostError::BudgetExceeded {
                kind: BudgetKind::Time,
                limit: Amount::Time(self.budget.timeout.unwrap_or(Timeout(INTERNAL_TIMEOUT))),
                used: Amount::Time(Timeout(elapsed)),
            },
            Some(trap) => match data.last_panic.take() {
                Some((message, location)) => HostError::GuestPanic { message, location },
                None => HostError::Trap {
                    message: trap.to_string(),
                    backtrace: backtrace(&err),
                },
            },
            None => HostError::BadArguments {
                what: name.to_owned(),
                detail: format!("{err:#}"),
                expected: self.signature(name),
            },
        }
    }

    /// A fresh store and instance, with the last good state restored into it.
    fn restart(&mut self) -> Result<(), HostError> {
        self.replace_store()?;
        if let Some(snapshot) = self.snapshot.clone() {
            self.restore_state(&snapshot)?;
        }
        Ok(())
    }

    /// A fresh store and instance in default state: a trapped store refuses every later call.
    fn replace_store(&mut self) -> Result<(), HostError> {
        (self.store, self.instance) = start(&self.app, self.budget, self.shared.clone())?;
        self.funcs.clear();
        self.exports.clear();
        self.armed_unlimited = None;
        self.restarts += 1;
        self.store_id = next_store_id();
        Ok(())
    }

    /// The guest's state schema (`iso:app/state.schema()`), if it exports one.
    pub fn schema(&mut self) -> Result<Option<String>, HostError> {
        if !self.app.has_state() {
            return Ok(None);
        }
        let (schema,): (String,) = self.internal_call(&format!("{STATE_INTERFACE}#schema"), ())?;
        Ok(Some(schema))
    }

    /// The state the next call starts from, for the event log: the last
    /// good state, which under [`SnapshotPolicy::EveryCall`] is the state
    /// now (saved after the last call, no guest call needed); `None` for
    /// the default state, or an app without `iso:app/state`.
    pub(crate) fn state_before_call(&mut self) -> Result<Option<Vec<u8>>, HostError> {
        match self.policy {
            SnapshotPolicy::EveryCall => Ok(self.snapshot.clone()),
            SnapshotPolicy::Checkpoint => self.save_state(),
        }
    }

    /// The guest's state in the iso-schema encoding, if it exports `iso:app/state`.
    pub fn save_state(&mut self) -> Result<Option<Vec<u8>>, HostError> {
        if !self.app.has_state() {
            return Ok(None);
        }
        let (bytes,): (Vec<u8>,) = self.internal_call(&format!("{STATE_INTERFACE}#save"), ())?;
        Ok(Some(bytes))
    }

    /// Replaces the guest's state with `bytes`; it becomes the state to restart from.
    pub fn restore_state(&mut self, bytes: &[u8]) -> Result<(), HostError> {
        if !self.app.has_state() {
            return Err(HostError::Invalid {
                reason: "the component does not export iso:app/state".into(),
            });
        }
        let (outcome,): (Result<(), String>,) =
            self.internal_call(&format!("{STATE_INTERFACE}#restore"), (bytes,))?;
        match outcome {
            Ok(()) => {
                self.snapshot = Some(bytes.to_vec());
                Ok(())
            }
            Err(reason) => Err(HostError::StateRejected { reason }),
        }
    }

    /// The guest's state as JSON, read through its schema; `None` without `iso:app/state`.
    pub fn state_json(&mut self) -> Result<Option<String>, HostError> {
        let Some(bytes) = self.save_state()? else {
            return Ok(None);
        };
        let value = iso_schema::Value::decode(&bytes).map_err(|err| HostError::Invalid {
            reason: format!("the guest's saved state: {err}"),
        })?;
        Ok(Some(value.to_json()))
    }

    /// A typed call the host makes for itself, under a generous fixed budget.
    fn internal_call<P, R>(&mut self, name: &str, params: P) -> Result<R, HostError>
    where
        P: ComponentNamedList + Lower + Send + Sync,
        R: ComponentNamedList + Lift + Send + Sync + 'static,
    {
        let index = self.func(name)?;
        let func = self.exports[index].func;
        let typed = func
            .typed::<P, R>(&self.store)
            .map_err(|err| HostError::Invalid {
                reason: format!("`{name}` does not have the iso:app/state type: {err:#}"),
            })?;
        self.arm(INTERNAL_FUEL, ticks(Some(INTERNAL_TIMEOUT)));
        let started = Instant::now();
        match typed.call(&mut self.store, params) {
            Ok(results) => Ok(results),
            Err(err) => {
                let error = self.classify(name, err, started.elapsed());
                // `restart` restores through this function; a failure here must not recurse.
                self.replace_store()?;
                Err(error)
            }
        }
    }
}

/// A number no store had before.
fn next_store_id() -> u64 {
    static STORES: AtomicU64 = AtomicU64::new(0);
    STORES.fetch_add(1, Ordering::Relaxed)
}

/// A new store and instance of `app`.
fn start(
    app: &App,
    budget: Budget,
    shared: Shared,
) -> Result<(Store<HostState>, wasmtime::component::Instance), HostError> {
    let limiter = MemoryLimiter {
        limit: budget.memory.map(|m| m.0 as usize),
        ..MemoryLimiter::default()
    };
    let mut store = Store::new(
        app.engine.engine(),
        HostState {
            limiter,
            storage_limit: budget.storage.map(|s| s.0),
            ..HostState::new(shared)
        },
    );
    store.limiter(|state| &mut state.limiter);
    let _ = store.set_fuel(INTERNAL_FUEL);
    store.set_epoch_deadline(ticks(Some(INTERNAL_TIMEOUT)));
    match app.pre.instantiate(&mut store) {
        Ok(instance) => Ok((store, instance)),
        Err(err) => match store.data().limiter.denied {
            Some(needed) => Err(HostError::MemoryBelowMinimum {
                limit: budget.memory.unwrap_or(MemorySize(0)),
                needed: MemorySize(needed as u64),
            }),
            None => Err(HostError::Invalid {
                reason: format!("instantiation failed: {err:#}"),
            }),
        },
    }
}

/// The epoch deadline for `timeout`, in ticks from now; practically never without one.
fn ticks(timeout: Option<Duration>) -> u64 {
    timeout.map_or(u64::MAX / 2, |t| {
        (t.as_nanos() / TICK.as_nanos()).max(1) as u64
    })
}

/// The guest's frames, demangled, innermost first; runs of one frame (recursion) are collapsed.
fn backtrace(err: &wasmtime::Error) -> Vec<String> {
    let Some(trace) = err.downcast_ref::<wasmtime::WasmBacktrace>() else {
        return Vec::new();
    };
    let names = trace.frames().iter().map(|frame| match frame.func_name() {
        Some(name) => format!("{:#}", rustc_demangle::demangle(name)),
        None => format!("func #{}", frame.func_index()),
    });
    let mut lines: Vec<(String, usize)> = Vec::new();
    for name in names {
        match lines.last_mut() {
            Some((last, count)) if *last == name => *count += 1,
            _ => lines.push((name, 1)),
        }
    }
    lines
        .into_iter()
        .take(12)
        .map(|(name, count)| {
            if count > 1 {
                format!("{name} (x{count})")
            } else {
                name
            }
        })
        .collect()
}

/// A call's text parsed: the WAVE call, and where its text came from.
pub(crate) struct ParsedCall {
    call: UntypedFuncCall<'static>,
    source: Source,
}

impl ParsedCall {
    /// The arguments, as values of `types`; `call` is the call as typed,
    /// and `signature` gives the export's, for the error.
    pub(crate) fn args(
        &self,
        call: &str,
        types: &[wasmtime::component::Type],
        signature: impl FnOnce() -> String,
    ) -> Result<Vec<Val>, HostError> {
        let bad = |detail: String, signature: String| HostError::BadArguments {
            what: call.to_owned(),
            detail,
            expected: signature,
        };
        if let Some(problem) = self.problem(types) {
            let detail = point_at_span(call, problem.span, &problem.message, self.source);
            return Err(bad(detail, signature()));
        }
        (self.call.to_wasm_params(types.iter()))
            .map_err(|err| bad(point_at(call, &err, self.source), signature()))
    }

    /// The first problem in the arguments that wasm-wave would let
    /// through or explain poorly (see [`crate::wave_check`]).
    fn problem(&self, types: &[wasmtime::component::Type]) -> Option<crate::wave_check::Problem> {
        let values = self.call.params_node()?.as_tuple().ok()?;
        let src = self.call.source();
        (values.zip(types)).find_map(|(node, ty)| crate::wave_check::check(node, ty, src))
    }
}

/// Where the parsed text came from: the call as typed, or its argument list
/// after a one-letter stand-in for a name WAVE does not take.
#[derive(Debug, Clone, Copy)]
enum Source {
    Typed,
    StandIn {
        /// Where the argument list starts in the call typed.
        open: usize,
        /// The length of the name the stand-in replaced.
        name_len: usize,
    },
}

impl Source {
    /// A span in the parsed text as a span in the call typed; a span on the
    /// stand-in covers the name it replaced.
    fn span(self, span: std::ops::Range<usize>) -> std::ops::Range<usize> {
        match self {
            Source::Typed => span,
            Source::StandIn { open, name_len } => {
                let at = |p: usize| if p == 0 { 0 } else { p - 1 + open };
                let end = if span.end <= 1 {
                    name_len
                } else {
                    at(span.end)
                };
                at(span.start)..end.max(at(span.start))
            }
        }
    }
}

/// Splits the export's name off `call` and parses the arguments as WAVE.
/// Names WAVE does not take (`api.put`, `local:store/api@0.1.0#put`) are
/// swapped for a stand-in first.
pub(crate) fn parse_call(call: &str) -> Result<(&str, ParsedCall), HostError> {
    let bad = |detail: String| HostError::BadArguments {
        what: call.to_owned(),
        detail,
        expected: "a call such as `name(arg, ...)` in WAVE syntax".to_owned(),
    };
    let (name, text, source) = match names::split_call(call) {
        Some((name, args)) if !names::is_wave_name(name) => {
            let open = call.len() - args.len();
            let source = Source::StandIn {
                open,
                name_len: name.len(),
            };
            (name, format!("f{args}"), source)
        }
        Some((name, _)) => (name, call.to_owned(), Source::Typed),
        None if !call.is_empty() && !call.contains(char::is_whitespace) => {
            return Err(bad(format!(
                "it has no argument list: write `{call}()`, with the arguments inside"
            )));
        }
        None => (call, call.to_owned(), Source::Typed),
    };
    let parsed = UntypedFuncCall::parse(&text)
        .map_err(|err| bad(point_at(call, &err, source)))?
        .into_owned();
    Ok((
        name,
        ParsedCall {
            call: parsed,
            source,
        },
    ))
}

/// The WAVE error with the call text and a caret under the problem, its
/// span moved from the parsed text into `text` (see [`Source`]).
fn point_at(
    text: &str,
    err: &wasmtime::component::wasm_wave::parser::ParserError,
    source: Source,
) -> String {
    let span = err.span();
    let message = err.to_string();
    let message = message
        .strip_suffix(&format!(" at {span:?}"))
        .unwrap_or(&message);
    point_at_span(text, span, message, source)
}

/// `message` with the call text and a caret under `span` of the parsed
/// text, moved into `text` (see [`Source`]).
fn point_at_span(
    text: &str,
    span: std::ops::Range<usize>,
    message: &str,
    source: Source,
) -> String {
    let moved = source.span(span);
    let (start, end) = (moved.start.min(text.len()), moved.end.min(text.len()));
    let at = (0..=start)
        .rev()
        .find(|i| text.is_char_boundary(*i))
        .unwrap_or(0);
    format!(
        "{message} at {start}..{end}\n    {text}\n    {}^",
        " ".repeat(text[..at].chars().count())
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spans_on_a_stand_in_point_into_the_call_typed() {
        let (name, parsed) = parse_call("api.put(\"a\", x)").unwrap();
        assert_eq!(name, "api.put");
        assert_eq!(parsed.source.span(7..8), 13..14, "the `x`");
        assert_eq!(parsed.source.span(0..1), 0..7, "the stand-in is the name");
        let (_, typed) = parse_call("put(1)").unwrap();
        assert_eq!(typed.source.span(4..5), 4..5);
    }

    #[test]
    fn a_call_without_an_argument_list_says_how_to_write_one() {
        let err = parse_call("api.get").err().unwrap().to_string();
        assert!(err.contains("write `api.get()`"), "{err}");
        let err = parse_call("api.put(\"a\"").err().unwrap().to_string();
        assert!(err.contains("    api.put(\"a\"\n"), "{err}");
    }
}
