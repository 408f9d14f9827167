//! The host side of the iso interfaces: log to a sink, clock and random
//! through one recordable effect layer, and a key-value store whose writes
//! wait in the call's overlay until the call commits (to a [`Storage`],
//! or in memory only), under the storage budget. Also the store's
//! resource limiter.

use std::collections::{BTreeMap, VecDeque};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use crate::bindings::iso::host::{clock, kv, log, random};
use crate::budget::MemorySize;
use crate::error::{Amount, BudgetKind, HostError};
use crate::instance::Callees;
use crate::storage::Storage;

/// The interfaces the iso host gives guests.
pub const PROVIDED: [&str; 4] = [
    "iso:host/log@0.1.0",
    "iso:host/clock@0.1.0",
    "iso:host/random@0.1.0",
    "iso:host/kv@0.1.0",
];

/// A log line from a guest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogRecord {
    /// `trace`, `debug`, `info`, `warn` or `error`.
    pub level: &'static str,
    /// The message.
    pub message: String,
    /// Key-value fields.
    pub fields: Vec<(String, String)>,
}

/// Where guest log lines go; the CLI prints them with the guest's name.
pub trait LogSink: Send + Sync {
    /// Receives one line.
    fn log(&self, record: &LogRecord);
}

/// A sink that drops every line.
pub struct NoLog;

impl LogSink for NoLog {
    fn log(&self, _: &LogRecord) {}
}

/// One host effect a guest saw, in the order it saw them.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Effect {
    /// `clock.wall-now`
    WallNow(u64),
    /// `clock.monotonic-now`
    MonotonicNow(u64),
    /// `random.random-u64`
    RandomU64(u64),
    /// `random.random-bytes`
    RandomBytes(Vec<u8>),
    /// `kv.get`
    KvGet(String, Option<Vec<u8>>),
    /// A call to another app through a wired import.
    Call(NestedCall),
}

/// A call one app made to another through a wired import, as WAVE text.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct NestedCall {
    /// The app called.
    pub address: String,
    /// The function called, e.g. `visit` (of `local:store/api@0.1.0`).
    pub function: String,
    /// The arguments, e.g. `"ada", 3`.
    pub args: String,
    /// What it returned (`None` for nothing), or how it failed.
    pub result: Result<Option<String>, String>,
}

impl std::fmt::Display for NestedCall {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}({}) -> ", self.address, self.function, self.args)?;
        match &self.result {
            Ok(Some(result)) => f.write_str(result),
            Ok(None) => f.write_str("()"),
            Err(failure) => write!(f, "error: {failure}"),
        }
    }
}

/// Clock, random and kv reads: recorded when asked, and answered from a
/// recording instead of the world when replaying, or from a
/// [`FixedWorld`] instead of the real one.
pub struct Effects {
    started: Instant,
    recording: Option<Vec<Effect>>,
    replaying: Option<VecDeque<Effect>>,
    world: Option<FixedWorld>,
    /// Answers for calls to other apps, each used once (see [`Effects::set_fakes`]).
    fakes: Vec<(NestedCall, bool)>,
    /// Set once recording or replaying starts, for [`Shared::watched`].
    watched: Arc<AtomicBool>,
}

impl Default for Effects {
    fn default() -> Self {
        Effects {
            started: Instant::now(),
            recording: None,
            replaying: None,
            world: None,
            fakes: Vec::new(),
            watched: Arc::default(),
        }
    }
}

/// A world under control, for tests: both clocks stand still until
/// [advanced](FixedWorld::advance), and random numbers come from a seed
/// (SplitMix64), so a run can be made again to the bit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FixedWorld {
    /// The wall clock, in nanoseconds since the Unix epoch.
    pub wall_ns: u64,
    /// The monotonic clock, in nanoseconds.
    pub monotonic_ns: u64,
    /// The random generator's state.
    pub random: u64,
}

impl FixedWorld {
    /// A world whose wall clock reads `wall` and whose random numbers
    /// come from `seed`.
    pub fn new(wall: SystemTime, seed: u64) -> FixedWorld {
        FixedWorld {
            wall_ns: wall
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos() as u64),
            monotonic_ns: 0,
            random: seed,
        }
    }

    /// Moves both clocks on by `by`.
    pub fn advance(&mut self, by: std::time::Duration) {
        let by = by.as_nanos() as u64;
        self.wall_ns = self.wall_ns.saturating_add(by);
        self.monotonic_ns = self.monotonic_ns.saturating_add(by);
    }

    /// The next random number.
    fn next_u64(&mut self) -> u64 {
        self.random = self.random.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.random;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn fill(&mut self, bytes: &mut [u8]) {
        for chunk in bytes.chunks_mut(8) {
            let word = self.next_u64().to_le_bytes();
            chunk.copy_from_slice(&word[..chunk.len()]);
        }
    }
}

impl Effects {
    /// Answers clock and random reads from `world` from now on (`None`:
    /// from the real world), unless replaying.
    pub fn set_world(&mut self, world: Option<FixedWorld>) {
        self.world = world;
    }

    /// The world under control, if any, e.g. to advance its clocks.
    pub fn world_mut(&mut self) -> Option<&mut FixedWorld> {
        self.world.as_mut()
    }

    /// Stops answering reads from a recording: they go to the world again.
    pub fn stop_replay(&mut self) {
        self.replaying = None;
        self.update_watched();
    }

    /// Answers calls to other apps from `fakes` when not replaying, for
    /// tests: a call to an app that some fake names is answered by the
    /// first unused fake with its function and arguments (compared but
    /// for spaces), and fails when none is left; the app is not called.
    /// Calls to other apps go through.
    pub fn set_fakes(&mut self, fakes: Vec<NestedCall>) {
        self.fakes = fakes.into_iter().map(|fake| (fake, false)).collect();
        self.update_watched();
    }

    /// Wired calls take the watched path while anything needs to see them.
    fn update_watched(&self) {
        let watched =
            self.recording.is_some() || self.replaying.is_some() || !self.fakes.is_empty();
        self.watched.store(watched, Ordering::Relaxed);
    }

    /// The fake answer to a call, when fakes stand in for `address`.
    fn faked_call(
        &mut self,
        address: &str,
        function: &str,
        args: &str,
    ) -> Option<Result<Option<String>, String>> {
        if !self.fakes.iter().any(|(fake, _)| fake.address == address) {
            return None;
        }
        let squeezed = |text: &str| text.split_whitespace().collect::<String>();
        let found = self.fakes.iter_mut().find(|(fake, used)| {
            !*used
                && fake.address == address
                && fake.function == function
                && squeezed(&fake.args) == squeezed(args)
        });
        let result = match found {
            Some((fake, used)) => {
                *used = true;
                fake.result.clone()
            }
            None => Err(format!(
                "no fake answers `{address}.{function}({args})`: add one to the test case"
            )),
        };
        self.note_call(address, function, args, result.clone());
        Some(result)
    }

    /// Starts recording every effect (clearing an earlier recording).
    pub fn record(&mut self) {
        self.recording = Some(Vec::new());
        self.watched.store(true, Ordering::Relaxed);
    }

    /// The effects recorded so far, and recording goes on.
    pub fn take_recorded(&mut self) -> Vec<Effect> {
        self.recording
            .as_mut()
            .map(std::mem::take)
            .unwrap_or_default()
    }

    /// Where the recording stands, to take what a call adds with
    /// [`Effects::since`]; starts recording if it was not.
    pub(crate) fn mark(&mut self) -> Mark {
        match &self.recording {
            Some(recording) => Mark {
                at: recording.len(),
                was_recording: true,
            },
            None => {
                self.record();
                Mark {
                    at: 0,
                    was_recording: false,
                }
            }
        }
    }

    /// The effects recorded since `mark`. They stay in the recording if it
    /// was on at the mark (someone else takes them too); else recording stops.
    pub(crate) fn since(&mut self, mark: Mark) -> Vec<Effect> {
        if mark.was_recording {
            let recording = self.recording.as_deref().unwrap_or_default();
            return recording.get(mark.at..).unwrap_or_default().to_vec();
        }
        let recorded = self.recording.take().unwrap_or_default();
        self.update_watched();
        recorded
    }

    /// Answers the reads that follow from `effects`, each from the first
    /// unused one of its kind; a read with none left gets a fixed value
    /// (zero, or the kv store's own), so replay is deterministic.
    pub fn replay(&mut self, effects: Vec<Effect>) {
        self.replaying = Some(effects.into());
        self.watched.store(true, Ordering::Relaxed);
    }

    /// The recorded answer of the next call to `function` of `address`,
    /// when replaying (an error when the recording has no such call
    /// left), or its fake (see [`Effects::set_fakes`]); `None` when live.
    /// Noted as the call's effect either way.
    pub(crate) fn replayed_call(
        &mut self,
        address: &str,
        function: &str,
        args: &str,
    ) -> Option<Result<Option<String>, String>> {
        if self.replaying.is_none() {
            return self.faked_call(address, function, args);
        }
        let replayed = self.replayed(|effect| match effect {
            Effect::Call(call) if call.address == address && call.function == function => {
                Some(call.result.clone())
            }
            _ => None,
        })?;
        let result = replayed.unwrap_or_else(|| {
            Err(format!(
                "the recording has no call to `{address}.{function}` here"
            ))
        });
        self.note_call(address, function, args, result.clone());
        Some(result)
    }

    /// Notes a call to another app, when recording.
    pub(crate) fn note_call(
        &mut self,
        address: &str,
        function: &str,
        args: &str,
        result: Result<Option<String>, String>,
    ) {
        self.note(Effect::Call(NestedCall {
            address: address.to_owned(),
            function: function.to_owned(),
            args: args.to_owned(),
            result,
        }));
    }

    /// The recorded answer `pick` accepts, when replaying; `None` when live.
    fn replayed<T>(&mut self, pick: impl Fn(&Effect) -> Option<T>) -> Option<Option<T>> {
        let queue = self.replaying.as_mut()?;
        let found = queue.iter().position(|e| pick(e).is_some());
        Some(found.and_then(|at| queue.remove(at)).and_then(|e| pick(&e)))
    }

    /// A replayed answer (or `T::default()` when the recording has none), else `live()`; noted.
    fn answer<T: Default + Clone>(
        &mut self,
        pick: impl Fn(&Effect) -> Option<T>,
        live: impl FnOnce(&mut Self) -> T,
        effect: impl FnOnce(T) -> Effect,
    ) -> T {
        let value = match self.replayed(pick) {
            Some(replayed) => replayed.unwrap_or_default(),
            None => live(self),
        };
        self.note(effect(value.clone()));
        value
    }

    fn note(&mut self, effect: Effect) {
        if let Some(recording) = &mut self.recording {
            recording.push(effect);
        }
    }
}

/// A place in a recording: see [`Effects::mark`].
pub(crate) struct Mark {
    at: usize,
    was_recording: bool,
}

/// The longest kv key, in bytes.
pub const MAX_KEY: usize = 1 << 10;
/// The largest kv value, in bytes (the storage budget may allow less).
pub const MAX_VALUE: usize = 16 << 20;

/// An app's committed kv entries, in memory, and the [`Storage`] that
/// keeps them (none: in memory only). One per app, shared by its instances.
#[derive(Default)]
pub struct KvStore {
    entries: BTreeMap<String, Vec<u8>>,
    /// Key and value bytes of `entries`: what counts against the storage budget.
    used: u64,
    kept: Option<(Storage, String)>,
}

impl KvStore {
    /// A copy of the committed entries in memory, kept nowhere: writes to
    /// it reach neither this store nor its storage.
    pub fn snapshot(&self) -> KvStore {
        KvStore {
            entries: self.entries.clone(),
            used: self.used,
            kept: None,
        }
    }

    /// `app`'s entries in `storage`, read now; calls commit to it.
    pub fn open(storage: &Storage, app: &str) -> Result<KvStore, HostError> {
        let entries = storage.entries(app)?;
        let used = entries.iter().map(|(k, v)| entry_size(k, v)).sum();
        Ok(KvStore {
            entries,
            used,
            kept: Some((storage.clone(), app.to_owned())),
        })
    }

    /// A store in memory holding `entries`, kept nowhere.
    pub fn with_entries(entries: BTreeMap<String, Vec<u8>>) -> KvStore {
        let used = entries.iter().map(|(k, v)| entry_size(k, v)).sum();
        KvStore {
            entries,
            used,
            kept: None,
        }
    }

    /// The committed entries, by key.
    pub fn entries(&self) -> &BTreeMap<String, Vec<u8>> {
        &self.entries
    }

    /// The committed value at `key`.
    pub fn get(&self, key: &str) -> Option<Vec<u8>> {
        self.entries.get(key).cloned()
    }

    /// Key and value bytes committed.
    pub fn used(&self) -> u64 {
        self.used
    }

    /// The app's state as last committed, when its storage keeps one.
    pub fn saved_state(&self) -> Result<Option<Vec<u8>>, HostError> {
        match &self.kept {
            Some((storage, app)) => storage.state(app),
            None => Ok(None),
        }
    }

    /// Whether commits go to a [`Storage`].
    pub fn is_kept(&self) -> bool {
        self.kept.is_some()
    }

    /// Forgets every entry, and the app's saved state, here and in the
    /// storage that keeps them.
    pub fn reset(&mut self) -> Result<(), HostError> {
        if let Some((storage, app)) = &self.kept {
            storage.reset(app)?;
        }
        self.entries.clear();
        self.used = 0;
        Ok(())
    }

    /// Commits a call's `writes`, and `state` when given, in one
    /// transaction; on an error nothing of them is kept.
    pub(crate) fn commit(
        &mut self,
        writes: KvWrites,
        state: Option<&[u8]>,
    ) -> Result<(), HostError> {
        if let Some((storage, app)) = &self.kept
            && (!writes.changes.is_empty() || state.is_some())
        {
            storage.commit(app, &writes.changes, state)?;
        }
        for (key, value) in writes.changes {
            let old = match value {
                Some(value) => self.entries.insert(key.clone(), value),
                None => self.entries.remove(&key),
            };
            let new = self.entries.get(&key);
            self.used = self.used + new.map_or(0, |v| entry_size(&key, v))
                - old.map_or(0, |v| entry_size(&key, &v));
        }
        Ok(())
    }
}

fn entry_size(key: &str, value: &[u8]) -> u64 {
    (key.len() + value.len()) as u64
}

/// One call's kv writes, not yet committed: the call reads them back, and
/// they are committed when it succeeds or dropped when it fails.
#[derive(Debug, Default)]
pub struct KvWrites {
    /// Each key written, to its value, or `None` when deleted.
    changes: BTreeMap<String, Option<Vec<u8>>>,
    /// What the writes add to the committed bytes (negative: free).
    delta: i64,
}

impl KvWrites {
    /// Whether the call wrote nothing.
    pub fn is_empty(&self) -> bool {
        self.changes.is_empty()
    }
}

/// A host function's refusal that fails the call with this error (a
/// storage budget exceeded, a key too long).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub(crate) struct Refused(pub(crate) HostError);

/// What outlives a store: instances restart after traps, but logs, effects and kv go on.
#[derive(Clone)]
pub struct Shared {
    /// Where log lines go.
    pub log: Arc<dyn LogSink>,
    /// Clock and random.
    pub effects: Arc<Mutex<Effects>>,
    /// The app's key-value store.
    pub kv: Arc<Mutex<KvStore>>,
    /// The effects' flag: whether they record or replay.
    watched: Arc<AtomicBool>,
}

impl Shared {
    /// Logs to `log`, with fresh effects and an in-memory kv store.
    pub fn new(log: Arc<dyn LogSink>) -> Shared {
        let effects = Effects::default();
        Shared {
            log,
            watched: effects.watched.clone(),
            effects: Arc::new(Mutex::new(effects)),
            kv: Arc::default(),
        }
    }

    /// Whether the effects record or replay, read without locking them:
    /// a wired call takes its slower, recorded path only then.
    pub(crate) fn watched(&self) -> bool {
        self.watched.load(Ordering::Relaxed)
    }
}

/// Locks `mutex`, even one a panicking thread poisoned.
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// The memory budget, and what linear memory did under it.
#[derive(Debug, Default)]
pub struct MemoryLimiter {
    /// The cap, in bytes.
    pub limit: Option<usize>,
    /// Current linear memory, in bytes.
    pub current: usize,
    /// The largest linear memory since the last reset.
    pub peak: usize,
    /// A growth the budget denied (the size asked for): classifies the trap that follows.
    pub denied: Option<usize>,
}

impl wasmtime::ResourceLimiter for MemoryLimiter {
    fn memory_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if self.limit.is_some_and(|limit| desired > limit) {
            self.denied = Some(desired);
            return Ok(false);
        }
        self.current = desired;
        self.peak = self.peak.max(desired);
        Ok(true)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        _desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        Ok(true)
    }
}

/// The data of one store.
pub struct HostState {
    /// Logs, effects and kv.
    pub shared: Shared,
    /// The memory budget.
    pub limiter: MemoryLimiter,
    /// The last panic the guest reported (message, location), from iso-guest's panic hook.
    pub last_panic: Option<(String, String)>,
    /// What the current call's wired calls used so far.
    pub callees: Callees,
    /// The current call's kv writes, not yet committed.
    pub kv_writes: KvWrites,
    /// The storage budget: key and value bytes the app may keep.
    pub storage_limit: Option<u64>,
}

impl log::Host for HostState {
    fn log(&mut self, level: log::Level, message: String, fields: Vec<log::Field>) {
        let level = match level {
            log::Level::Trace => "trace",
            log::Level::Debug => "debug",
            log::Level::Info => "info",
            log::Level::Warn => "warn",
            log::Level::Error => "error",
        };
        let fields: Vec<(String, String)> = fields.into_iter().map(|f| (f.key, f.value)).collect();
        // iso-guest's panic hook logs `panicked: <message>` with a `location` field just before the trap.
        if let Some(panic) = message.strip_prefix("panicked: ") {
            let location = fields
                .iter()
                .find(|(k, _)| k == "location")
                .map(|(_, v)| v.clone())
                .unwrap_or_default();
            self.last_panic = Some((panic.to_owned(), location));
        }
        self.shared.log.log(&LogRecord {
            level,
            message,
            fields,
        });
    }
}

impl clock::Host for HostState {
    fn wall_now(&mut self) -> u64 {
        lock(&self.shared.effects).answer(
            |e| match e {
                Effect::WallNow(now) => Some(*now),
                _ => None,
            },
            |effects| match &effects.world {
                Some(world) => world.wall_ns,
                None => SystemTime::now()
                    .duration_since(UNIX_EPOCH)
                    .map_or(0, |d| d.as_nanos() as u64),
            },
            Effect::WallNow,
        )
    }

    fn monotonic_now(&mut self) -> u64 {
        lock(&self.shared.effects).answer(
            |e| match e {
                Effect::MonotonicNow(now) => Some(*now),
                _ => None,
            },
            |effects| match &effects.world {
                Some(world) => world.monotonic_ns,
                None => effects.started.elapsed().as_nanos() as u64,
            },
            Effect::MonotonicNow,
        )
    }
}

impl random::Host for HostState {
    fn random_u64(&mut self) -> u64 {
        lock(&self.shared.effects).answer(
            |e| match e {
                Effect::RandomU64(value) => Some(*value),
                _ => None,
            },
            |effects| match &mut effects.world {
                Some(world) => world.next_u64(),
                None => {
                    let mut bytes = [0u8; 8];
                    getrandom::fill(&mut bytes).expect("the OS random source works");
                    u64::from_le_bytes(bytes)
                }
            },
            Effect::RandomU64,
        )
    }

    fn random_bytes(&mut self, len: u32) -> Vec<u8> {
        // Bounded so a guest cannot make the host allocate without limit.
        let len = len.min(1 << 20) as usize;
        let mut bytes = lock(&self.shared.effects).answer(
            |e| match e {
                Effect::RandomBytes(bytes) if bytes.len() == len => Some(bytes.clone()),
                _ => None,
            },
            |effects| {
                let mut bytes = vec![0u8; len];
                match &mut effects.world {
                    Some(world) => world.fill(&mut bytes),
                    None => getrandom::fill(&mut bytes).expect("the OS random source works"),
                }
                bytes
            },
            Effect::RandomBytes,
        );
        bytes.resize(len, 0);
        bytes
    }
}

impl HostState {
    /// The state of a store whose logs, effects and kv go through `shared`,
    /// with no limits: set them on its fields.
    pub fn new(shared: Shared) -> HostState {
        HostState {
            shared,
            limiter: MemoryLimiter::default(),
            last_panic: None,
            callees: Callees::default(),
            kv_writes: KvWrites::default(),
            storage_limit: None,
        }
    }

    /// The value `key` has for this call: its own write, else the committed one.
    fn kv_value(&self, key: &str) -> Option<Vec<u8>> {
        match self.kv_writes.changes.get(key) {
            Some(written) => written.clone(),
            None => lock(&self.shared.kv).get(key),
        }
    }

    /// The key and value bytes `key` takes for this call, if it is set:
    /// [`HostState::kv_value`] without copying the value.
    fn kv_size(&self, key: &str) -> Option<u64> {
        match self.kv_writes.changes.get(key) {
            Some(written) => written.as_ref().map(|v| entry_size(key, v)),
            None => lock(&self.shared.kv)
                .entries
                .get(key)
                .map(|v| entry_size(key, v)),
        }
    }

    /// Records that the call sets `key` to `value` (`None`: deletes it), if
    /// the storage budget allows.
    fn kv_write(&mut self, key: String, value: Option<Vec<u8>>) -> wasmtime::Result<()> {
        if key.len() > MAX_KEY {
            return Err(Refused(HostError::KvRefused {
                reason: format!(
                    "a key of {} bytes is longer than {MAX_KEY} bytes",
                    key.len()
                ),
            })
            .into());
        }
        let new = value.as_ref().map_or(0, |v| entry_size(&key, v));
        if value.as_ref().is_some_and(|v| v.len() > MAX_VALUE) {
            return Err(Refused(HostError::KvRefused {
                reason: format!(
                    "a value of {} for `{key}` is larger than {}",
                    MemorySize(new),
                    MemorySize(MAX_VALUE as u64)
                ),
            })
            .into());
        }
        let old = self.kv_size(&key).unwrap_or(0);
        let committed = lock(&self.shared.kv).used();
        let used =
            (committed as i64 + self.kv_writes.delta + new as i64 - old as i64).max(0) as u64;
        if let Some(limit) = self.storage_limit
            && new > old
            && used > limit
        {
            return Err(Refused(HostError::BudgetExceeded {
                kind: BudgetKind::Storage,
                limit: Amount::Storage(MemorySize(limit)),
                used: Amount::Storage(MemorySize(used)),
            })
            .into());
        }
        self.kv_writes.delta += new as i64 - old as i64;
        self.kv_writes.changes.insert(key, value);
        Ok(())
    }
}

impl kv::Host for HostState {
    fn get(&mut self, key: String) -> Option<Vec<u8>> {
        let mut effects = lock(&self.shared.effects);
        let replayed = effects.replayed(|e| match e {
            Effect::KvGet(k, value) if *k == key => Some(value.clone()),
            _ => None,
        });
        // A read the recording lacks is answered by the store (the replay's own, when replaying).
        let value = match replayed.flatten() {
            Some(value) => value,
            None => self.kv_value(&key),
        };
        effects.note(Effect::KvGet(key, value.clone()));
        value
    }

    fn set(&mut self, key: String, value: Vec<u8>) -> wasmtime::Result<()> {
        self.kv_write(key, Some(value))
    }

    fn delete(&mut self, key: String) -> wasmtime::Result<bool> {
        let present = self.kv_size(&key).is_some();
        if present {
            self.kv_write(key, None)?;
        }
        Ok(present)
    }

    fn list_keys(&mut self, prefix: String) -> Vec<String> {
        let committed: Vec<String> = lock(&self.shared.kv)
            .entries
            .range(prefix.clone()..)
            .take_while(|(k, _)| k.starts_with(&prefix))
            .map(|(k, _)| k.clone())
            .collect();
        let mut keys: std::collections::BTreeSet<String> = committed.into_iter().collect();
        let written = (self.kv_writes.changes.range(prefix.clone()..))
            .take_while(|(k, _)| k.starts_with(&prefix));
        for (key, value) in written {
            match value {
                Some(_) => keys.insert(key.clone()),
                None => keys.remove(key),
            };
        }
        keys.into_iter().collect()
    }
}
