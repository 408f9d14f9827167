//! Host timings for `scripts/bench`, each next to its raw wasmtime baseline
//! measured in the same run on the same engine configuration.
//!
//! Usage: host_bench <component.wasm> (one exporting `get: func() -> u64`, such as the counter template)

use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

use iso_host::bindings::Guest;
use iso_host::host::HostState;
use iso_host::*;
use wasmtime::component::{Component, HasSelf, Linker};

fn per_op(runs: u32, mut f: impl FnMut()) -> Duration {
    // Median of 7 batches, per operation.
    let mut batches: Vec<Duration> = (0..7)
        .map(|_| {
            let start = Instant::now();
            for _ in 0..runs {
                f();
            }
            start.elapsed() / runs
        })
        .collect();
    batches.sort();
    batches[3]
}

/// Batches of `raw` and `ours`, interleaved so that the machine's drift
/// hits both alike: their median per-operation times, and the median of
/// the ratios of adjacent batches.
fn paired(runs: u32, mut raw: impl FnMut(), mut ours: impl FnMut()) -> Pair {
    const PAIRS: usize = 21;
    let batch = |f: &mut dyn FnMut()| {
        let start = Instant::now();
        for _ in 0..runs {
            f();
        }
        start.elapsed() / runs
    };
    let (mut raws, mut ourss): (Vec<Duration>, Vec<Duration>) = (0..PAIRS)
        .map(|_| (batch(&mut raw), batch(&mut ours)))
        .unzip();
    let mut ratios: Vec<f64> = raws
        .iter()
        .zip(&ourss)
        .map(|(raw, ours)| ours.as_secs_f64() / raw.as_secs_f64())
        .collect();
    raws.sort();
    ourss.sort();
    ratios.sort_by(f64::total_cmp);
    Pair {
        raw: raws[PAIRS / 2],
        ours: ourss[PAIRS / 2],
        ratio: ratios[PAIRS / 2],
    }
}

/// One paired measurement.
struct Pair {
    raw: Duration,
    ours: Duration,
    ratio: f64,
}

fn line(label: &str, pair: Pair, bound: f64) {
    let Pair { raw, ours, ratio } = pair;
    let verdict = if ratio <= bound { "ok" } else { "OVER" };
    println!(
        "  {label:<48} {ours:>10.2?} vs raw {raw:>10.2?} = {ratio:.2}x  (target {bound}x) [{verdict}]"
    );
}

/// One unpaired measurement against its baseline.
fn unpaired(ours: Duration, raw: Duration) -> Pair {
    Pair {
        raw,
        ours,
        ratio: ours.as_secs_f64() / raw.as_secs_f64(),
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let path = std::env::args()
        .nth(1)
        .ok_or("usage: host_bench <component.wasm>")?;
    let bytes = std::fs::read(&path)?;
    let engine = Arc::new(IsoEngine::new(EngineOptions::default())?);

    let cold = per_op(1, || {
        drop(black_box(Component::new(engine.engine(), &bytes).unwrap()))
    });
    let dir = tempfile::tempdir()?;
    ComponentCache::new(Some(dir.path().to_owned())).load(engine.engine(), &bytes)?;
    let disk = per_op(3, || {
        let (_, hit) = ComponentCache::new(Some(dir.path().to_owned()))
            .load(engine.engine(), &bytes)
            .unwrap();
        assert_eq!(hit, CacheHit::Disk);
    });
    let baseline = IsoEngine::new(EngineOptions {
        compiler: Compiler::Baseline,
        ..EngineOptions::default()
    })?;
    let winch = per_op(3, || {
        drop(black_box(
            Component::new(baseline.engine(), &bytes).unwrap(),
        ))
    });
    println!("component load ({} KiB)", bytes.len() / 1024);
    println!("  cold compile (Cranelift)                     {cold:>10.2?}");
    println!("  cold compile (Winch, the dev host's)         {winch:>10.2?}");
    println!(
        "  cached load from disk                        {disk:>10.2?}  = {:.1}x faster",
        cold.as_secs_f64() / disk.as_secs_f64()
    );

    let component = Component::new(engine.engine(), &bytes)?;
    let app = Arc::new(App::from_component(engine.clone(), &component)?);
    let shared = Shared::new(Arc::new(NoLog));

    // Raw wasmtime: the same engine, linker and component; a typed function.
    let mut linker = Linker::<HostState>::new(engine.engine());
    Guest::add_to_linker::<HostState, HasSelf<HostState>>(&mut linker, |s| s)?;
    let pre = linker.instantiate_pre(&component)?;
    let new_store = || {
        let state = HostState::new(shared.clone());
        let mut store = wasmtime::Store::new(engine.engine(), state);
        store.limiter(|s| &mut s.limiter);
        store.set_fuel(u64::MAX).unwrap();
        store.set_epoch_deadline(u64::MAX / 2);
        store
    };
    let mut store = new_store();
    let instance = pre.instantiate(&mut store)?;
    let get = instance.get_typed_func::<(), (u64,)>(&mut store, "get")?;
    let dynamic = instance.get_func(&mut store, "get").unwrap();
    let mut raw = || {
        black_box(get.call(&mut store, ()).unwrap());
    };

    let mut ours = Instance::new(app.clone(), Budget::default(), shared.clone())?;
    ours.set_snapshot_policy(SnapshotPolicy::Checkpoint);
    let mut typed = ours.typed::<(), (u64,)>("get")?;
    println!("\ncall `get()` (median per call, batches interleaved with the raw TypedFunc)");
    let pair = paired(50_000, &mut raw, || {
        black_box(ours.call_typed(&mut typed, ()).unwrap());
    });
    line("Instance::call_typed", pair, 1.10);
    let pair = paired(50_000, &mut raw, || {
        drop(black_box(ours.call("get", &[]).unwrap()))
    });
    line("Instance::call (&[Val])", pair, 1.10);
    let budget = Budget {
        fuel: Some(Fuel(1_000_000)),
        memory: Some(MemorySize(64 << 20)),
        timeout: Some(Timeout(Duration::from_millis(500))),
        storage: None,
    };
    ours.set_budget(budget);
    let pair = paired(50_000, &mut raw, || {
        black_box(ours.call_typed(&mut typed, ()).unwrap());
    });
    line("Instance::call_typed, per-call budget reset", pair, 1.25);
    let pair = paired(50_000, &mut raw, || {
        drop(black_box(ours.call("get", &[]).unwrap()))
    });
    line("Instance::call (&[Val]), per-call budget reset", pair, 1.25);
    ours.set_snapshot_policy(SnapshotPolicy::EveryCall);
    let pair = paired(10_000, &mut raw, || {
        drop(black_box(ours.call("get", &[]).unwrap()))
    });
    line(
        "Instance::call, budget + snapshot every call",
        pair,
        f64::INFINITY,
    );
    let mut results = [Val::Bool(false)];
    let raw_dynamic = per_op(100_000, || {
        dynamic.call(&mut store, &[], &mut results).unwrap()
    });
    let raw_typed = per_op(100_000, || {
        black_box(get.call(&mut store, ()).unwrap());
    });
    line(
        "(raw dynamic Func::call, for reference)",
        unpaired(raw_dynamic, raw_typed),
        f64::INFINITY,
    );

    let instantiate = paired(
        500,
        || {
            let mut store = new_store();
            black_box(pre.instantiate(&mut store).unwrap());
        },
        || {
            drop(black_box(
                Instance::new(app.clone(), budget, shared.clone()).unwrap(),
            ))
        },
    );
    println!("\ninstantiate (median)");
    line("Instance::new", instantiate, 1.2);

    ours.call("increment", &[Val::U32(5)])?;
    ours.set_budget(Budget {
        fuel: Some(Fuel(1)),
        ..budget
    });
    let restart = per_op(200, || {
        assert!(ours.call("increment", &[Val::U32(1)]).is_err())
    });
    ours.set_budget(budget);
    assert_eq!(
        ours.call("get", &[])?.results_wave(),
        ["5"],
        "state as of the last good call"
    );
    println!("\nrestart after a trap (fuel exhausted, new store, state restored)  {restart:.2?}");
    Ok(())
}
