//! Durable storage timings for `scripts/bench`, each next to its baseline
//! from the same run: a call that writes one 1 KiB kv value and commits it
//! to disk, on an `Instance`, against a bare write and fsync of the same
//! bytes (the floor, interleaved with it), and against the same call in
//! memory; the same call through the `Runtime` (its mailbox adds a
//! thread hand-off, which waits out the fsync parked); then commits per
//! second with 1 and with 8 callers at once.
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

    let memory = call_times(&engine, &cache, &bytes, None, None)?;
    let durable_dir = scratch.join("durable");
    let storage = Storage::open(&durable_dir, Durability::EveryCall)?;
    // The floor's fsyncs interleaved with the durable calls: the same disk weather.
    let mut floor = Floor::new(&scratch.join("floor"))?;
    let durable = instance_call_times(&engine, &cache, &bytes, storage, &mut floor)?;
    let fsync = median(floor.times);
    let through_runtime_dir = scratch.join("runtime");
    let storage = Storage::open(&through_runtime_dir, Durability::EveryCall)?;
    let through_runtime = call_times(&engine, &cache, &bytes, Some(storage), None)?;
    let batched_dir = scratch.join("batched");
    let batched = Storage::open(&batched_dir, Durability::Batched)?;
    let batched = call_times(&engine, &cache, &bytes, Some(batched), None)?;
    println!("\nstorage (p50 of {CALLS} calls, each writing 1 KiB to kv)");
    println!("  bare write + fsync of 1 KiB             {:>10.2?}", fsync);
    println!(
        "  the call, in memory                     {:>10.2?}",
        memory
    );
    println!("  the call, batched (dev: synced at exit) {batched:>10.2?}");
    let ratio = durable.as_secs_f64() / fsync.as_secs_f64();
    let verdict = if ratio <= 1.5 { "ok" } else { "OVER" };
    println!(
        "  the call, committed to disk             {durable:>10.2?} = {ratio:.2}x the bare fsync  (target 1.5x) [{verdict}]"
    );
    println!("  the same through the Runtime's mailbox  {through_runtime:>10.2?}");
    for callers in [1, 8] {
        let dir = scratch.join(format!("callers-{callers}"));
        let rate = commits_per_second(&engine, &cache, &bytes, &dir, callers)?;
        println!("  commits per second, {callers} caller(s)          {rate:>10.0}");
    }
    Ok(())
}

/// Writes of 1 KiB to a file, each synced: the floor of a durable call.
struct Floor {
    file: std::fs::File,
    times: Vec<Duration>,
}

impl Floor {
    fn new(path: &Path) -> std::io::Result<Floor> {
        std::fs::create_dir_all(path.parent().unwrap_or(path))?;
        Ok(Floor {
            file: std::fs::File::create(path)?,
            times: Vec::new(),
        })
    }

    fn once(&mut self) -> std::io::Result<()> {
        let started = Instant::now();
        self.file.write_all(&[7u8; 1024])?;
        self.file.sync_data()?;
        self.times.push(started.elapsed());
        Ok(())
    }
}

/// The p50 of `stash("k", 1)` on a runtime with `storage` (in memory
/// without), each call followed by one write of `floor`, when given.
fn call_times(
    engine: &Arc<IsoEngine>,
    cache: &ComponentCache,
    bytes: &[u8],
    storage: Option<Storage>,
    mut floor: Option<&mut Floor>,
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
        if let Some(floor) = floor.as_deref_mut() {
            floor.once()?;
        }
    }
    Ok(median(times))
}

/// The p50 of `stash("k", 1)` on an instance whose kv commits to
/// `storage`, called on this thread, each call followed by one write of `floor`.
fn instance_call_times(
    engine: &Arc<IsoEngine>,
    cache: &ComponentCache,
    bytes: &[u8],
    storage: Storage,
    floor: &mut Floor,
) -> Result<Duration, Box<dyn std::error::Error>> {
    let (app, _) = App::load(engine.clone(), cache, bytes)?;
    let mut shared = Shared::new(Arc::new(NoLog));
    shared.kv = Arc::new(std::sync::Mutex::new(host::KvStore::open(&storage, "m")?));
    let mut instance = Instance::new(Arc::new(app), Budget::default(), shared)?;
    let mut times = Vec::with_capacity(CALLS);
    for i in 0..CALLS {
        let call = format!("stash(\"k{}\", 1)", i % 16);
        let started = Instant::now();
        instance.call_wave(&call)?;
        times.push(started.elapsed());
        floor.once()?;
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
