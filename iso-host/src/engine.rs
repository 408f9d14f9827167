//! The wasmtime engine set up for guests: fuel, epoch interruption with a
//! ticker thread, and the sync-only configuration.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use crate::error::HostError;

/// How often the ticker advances the epoch: the resolution of time budgets.
pub const TICK: Duration = Duration::from_millis(1);

/// Engine settings.
#[derive(Debug, Clone, Copy, Default)]
pub struct EngineOptions {
    /// Use wasmtime's pooling allocator (faster instantiation, memory reserved up front).
    pub pooling: bool,
}

/// A wasmtime engine and the thread that ticks its epoch; the thread stops when this is dropped.
pub struct IsoEngine {
    engine: wasmtime::Engine,
    stop: Arc<AtomicBool>,
    ticker: Option<JoinHandle<()>>,
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
        if options.pooling {
            config.allocation_strategy(wasmtime::InstanceAllocationStrategy::pooling());
        }
        let engine = wasmtime::Engine::new(&config).map_err(|err| HostError::Invalid {
            reason: format!("engine: {err:#}"),
        })?;
        let stop = Arc::new(AtomicBool::new(false));
        let ticker = {
            let (engine, stop) = (engine.clone(), stop.clone());
            std::thread::Builder::new()
                .name("iso-epoch-ticker".into())
                .spawn(move || {
                    while !stop.load(Ordering::Relaxed) {
                        std::thread::sleep(TICK);
                        engine.increment_epoch();
                    }
                })
                .map_err(|err| HostError::Invalid {
                    reason: format!("could not start the epoch ticker: {err}"),
                })?
        };
        Ok(IsoEngine {
            engine,
            stop,
            ticker: Some(ticker),
        })
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
