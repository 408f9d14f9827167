//! Durable storage timings for `scripts/bench`, each next to its baseline
//! from the same run: a call that writes one 1 KiB kv value and commits it
//! to disk, against the same call in memory and against a bare write and
//! fsync of the same bytes (the floor); then commits per second with 1
//! and with 8 callers at once.
//!
//! Usage: storage_bench <misbehave.wasm> <scratch dir on the disk to measure>

use std::io::Write;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use iso_host::runtime::{Runtime, Wiring, block_on};
use iso_host::*;

const CALLS: usize = 300;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [wasm, scratch] = args.as_slice() else {
        return Err("usage: storage_bench <misbehave.wasm> <scratch dir>".into());
    };
    let bytes = std::fs::read(wasm)?;
    let scratch = Path::new(scratch);
    let engine = Arc::new(IsoEngine::new(EngineOptions::default())?);
    let cache = ComponentCache::new(None);

    let fsync = fsync_floor(&scratch.join("floor"))?;
    let memory = call_times(&engine, &cache, &bytes, None)?;
    let durable_dir = scratch.join("durable");
    let storage = Storage::open(&durable_dir, Durability::EveryCall)?;
    let durable = call_times(&engine, &cache, &bytes, Some(storage))?;
    println!("\nstorage (p50 of {CALLS} calls, each writing 1 KiB to kv)");
    println!("  bare write + fsync of 1 KiB             {:>10.2?}", fsync);
    println!(
        "  the call, in memory                     {:>10.2?}",
        memory
    );
    let ratio = durable.as_secs_f64() / fsync.as_secs_f64();
    let verdict = if ratio <= 1.5 { "ok" } else { "OVER" };
    println!(
        "  the call, committed to disk             {durable:>10.2?} = {ratio:.2}x the bare fsync  (target 1.5x) [{verdict}]"
    );
    for callers in [1, 8] {
        let dir = scratch.join(format!("callers-{callers}"));
        let rate = commits_per_second(&engine, &cache, &bytes, &dir, callers)?;
        println!("  commits per second, {callers} caller(s)          {rate:>10.0}");
    }
    Ok(())
}

/// The p50 of writing 1 KiB to a file and fsyncing it.
fn fsync_floor(path: &Path) -> Result<Duration, Box<dyn std::error::Error>> {
    std::fs::create_dir_all(path.parent().unwrap_or(path))?;
    let mut file = std::fs::File::create(path)?;
    let block = [7u8; 1024];
    let mut times = Vec::with_capacity(CALLS);
    for _ in 0..CALLS {
        let started = Instant::now();
        file.write_all(&block)?;
        file.sync_data()?;
        times.push(started.elapsed());
    }
    Ok(median(times))
}

/// The p50 of `stash("k", 1)` on a runtime with `storage` (in memory without).
fn call_times(
    engine: &Arc<IsoEngine>,
    cache: &ComponentCache,
    bytes: &[u8],
    storage: Option<Storage>,
) -> Result<Duration, Box<dyn std::error::Error>> {
    let mut runtime = Runtime::new(engine.clone(), cache.clone(), Arc::new(NoLog))?;
    if let Some(storage) = storage {
        runtime.set_storage(storage);
    }
    runtime.start("m", bytes, Wiring::new(), Budget::default())?;
    let mut times = Vec::with_capacity(CALLS);
    for i in 0..CALLS {
        let call = format!("stash(\"k{}\", 1)", i % 16);
        let started = Instant::now();
        block_on(runtime.call_wave("m", &call))?;
        times.push(started.elapsed());
    }
    Ok(median(times))
}

/// Durable calls per second with `callers` threads, each calling its own app.
fn commits_per_second(
    engine: &Arc<IsoEngine>,
    cache: &ComponentCache,
    bytes: &[u8],
    dir: &Path,
    callers: usize,
) -> Result<f64, Box<dyn std::error::Error>> {
    let mut runtime = Runtime::new(engine.clone(), cache.clone(), Arc::new(NoLog))?;
    runtime.set_storage(Storage::open(dir, Durability::EveryCall)?);
    for caller in 0..callers {
        runtime.start(
            &format!("m{caller}"),
            bytes,
            Wiring::new(),
            Budget::default(),
        )?;
    }
    let runtime = Arc::new(runtime);
    let per_caller = CALLS / callers.max(1) + 1;
    let started = Instant::now();
    std::thread::scope(|scope| {
        for caller in 0..callers {
            let runtime = runtime.clone();
            scope.spawn(move || {
                let address = format!("m{caller}");
                for _ in 0..per_caller {
                    block_on(runtime.call_wave(&address, "stash(\"k\", 1)"))
                        .expect("the call commits");
                }
            });
        }
    });
    Ok((per_caller * callers) as f64 / started.elapsed().as_secs_f64())
}

fn median(mut times: Vec<Duration>) -> Duration {
    times.sort();
    times[times.len() / 2]
}
