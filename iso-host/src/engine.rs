//! The wasmtime engine set up for guests: fuel, epoch interruption with a
//! ticker thread, and the sync-only configuration.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::error::HostError;

/// How often the ticker advances the epoch: the resolution of time budgets.
pub const TICK: Duration = Duration::from_millis(1);

/// Engine settings.
#[derive(Debug, Clone, Copy, Default)]
pub struct EngineOptions {
    /// Use wasmtime's pooling allocator (faster instantiation, memory reserved up front).
    pub pooling: bool,
    /// Time each call from the CPU's cycle counter instead of at [`TICK`]
    /// resolution. Reading a clock twice costs ~30 ns, a third of a small
    /// call, so hosts serving many calls leave this off and count fuel;
    /// interactive hosts turn it on.
    pub precise_timing: bool,
    /// Which compiler turns guests into machine code.
    pub compiler: Compiler,
}

/// The code generator for guests.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Compiler {
    /// Cranelift: optimized code, for running guests.
    #[default]
    Optimizing,
    /// Winch, wasmtime's baseline compiler: compiles several times faster
    /// and runs slower, for a dev loop that recompiles on every save.
    /// (Cranelift with a warm per-function cache was measured too: its
    /// fixed costs made it slower than Winch for a debug guest.)
    Baseline,
}

/// A wasmtime engine and the thread that ticks its epoch; the thread stops when this is dropped.
pub struct IsoEngine {
    engine: wasmtime::Engine,
    stop: Arc<AtomicBool>,
    ticker: Option<JoinHandle<()>>,
    clock: CallClock,
}

impl IsoEngine {
    /// An engine with fuel and epoch interruption on, and async support off
    /// (sync component calls are several times slower with it on).
    pub fn new(options: EngineOptions) -> Result<IsoEngine, HostError> {
        let mut config = wasmtime::Config::new();
        config
            .consume_fuel(true)
            .epoch_interruption(true)
            .wasm_component_model(true)
            .concurrency_support(false);
        match options.compiler {
            Compiler::Optimizing => {}
            Compiler::Baseline => {
                // Winch still has Cranelift compile the trampolines: fast, not optimized.
                config
                    .strategy(wasmtime::Strategy::Winch)
                    .cranelift_opt_level(wasmtime::OptLevel::None);
            }
        }
        if options.pooling {
            config.allocation_strategy(wasmtime::InstanceAllocationStrategy::pooling());
        }
        let engine = wasmtime::Engine::new(&config).map_err(|err| HostError::Invalid {
            reason: format!("engine: {err:#}"),
        })?;
        let stop = Arc::new(AtomicBool::new(false));
        let ticked = Arc::new(AtomicU64::new(0));
        let ticker = {
            let (engine, stop, ticked) = (engine.clone(), stop.clone(), ticked.clone());
            let started = Instant::now();
            std::thread::Builder::new()
                .name("iso-epoch-ticker".into())
                .spawn(move || {
                    while !stop.load(Ordering::Relaxed) {
                        std::thread::sleep(TICK);
                        engine.increment_epoch();
                        ticked.store(started.elapsed().as_nanos() as u64, Ordering::Relaxed);
                    }
                })
                .map_err(|err| HostError::Invalid {
                    reason: format!("could not start the epoch ticker: {err}"),
                })?
        };
        let clock = if options.precise_timing {
            CallClock::Precise(cycle_clock())
        } else {
            CallClock::Ticks(ticked)
        };
        Ok(IsoEngine {
            engine,
            stop,
            ticker: Some(ticker),
            clock,
        })
    }

    /// How calls on this engine are timed.
    pub(crate) fn clock(&self) -> &CallClock {
        &self.clock
    }

    /// The wasmtime engine.
    pub fn engine(&self) -> &wasmtime::Engine {
        &self.engine
    }
}

impl Drop for IsoEngine {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(ticker) = self.ticker.take() {
            let _ = ticker.join();
        }
    }
}

/// Times calls, precisely or at the ticker's resolution (see [`EngineOptions::precise_timing`]).
#[derive(Clone)]
pub(crate) enum CallClock {
    /// The CPU's cycle counter where there is a stable one, else the OS clock.
    Precise(&'static quanta::Clock),
    /// Nanoseconds since the engine started, as of the ticker's last tick.
    Ticks(Arc<AtomicU64>),
}

impl CallClock {
    /// A reading to pass to [`CallClock::since`].
    #[inline]
    pub(crate) fn now(&self) -> u64 {
        match self {
            CallClock::Precise(clock) => clock.raw(),
            CallClock::Ticks(ticked) => ticked.load(Ordering::Relaxed),
        }
    }

    /// The time since reading `start`.
    #[inline]
    pub(crate) fn since(&self, start: u64) -> Duration {
        match self {
            CallClock::Precise(clock) => clock.delta(start, clock.raw()),
            CallClock::Ticks(ticked) => match ticked.load(Ordering::Relaxed) {
                // Most calls end within the tick they started in.
                now if now == start => Duration::ZERO,
                now => Duration::from_nanos(now.saturating_sub(start)),
            },
        }
    }
}

/// One calibrated cycle clock for the process: calibration takes milliseconds.
fn cycle_clock() -> &'static quanta::Clock {
    static CLOCK: OnceLock<quanta::Clock> = OnceLock::new();
    CLOCK.get_or_init(quanta::Clock::new)
}
