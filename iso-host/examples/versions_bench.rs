//! Versions side by side, for `scripts/bench`: the p50 latency of a call
//! to the primary with a candidate shadowing it, against the same call
//! with no shadow, in alternating rounds so that both see the same
//! machine weather. The primary must not wait for its shadow.
//!
//! Usage: versions_bench <misbehave.wasm>

use std::sync::Arc;
use std::time::{Duration, Instant};

use iso_host::runtime::{Runtime, Wiring, block_on};
use iso_host::*;

const ROUNDS: usize = 40;
const CALLS: usize = 250;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [wasm] = args.as_slice() else {
        return Err("usage: versions_bench <misbehave.wasm>".into());
    };
    let bytes = std::fs::read(wasm)?;
    let engine = Arc::new(IsoEngine::new(EngineOptions::default())?);
    let cache = ComponentCache::new(None);
    let start = || -> Result<Runtime, HostError> {
        let mut runtime = Runtime::new(engine.clone(), cache.clone(), Arc::new(NoLog))?;
        runtime.start("m", &bytes, Wiring::new(), Budget::default())?;
        Ok(runtime)
    };
    let alone = start()?;
    let mut shadowed = start()?;
    shadowed.shadow("m", &bytes)?;
    let (mut without, mut with) = (Vec::new(), Vec::new());
    for _ in 0..ROUNDS {
        without.extend(latencies(&alone)?);
        with.extend(latencies(&shadowed)?);
    }
    let report = shadowed.candidate_report("m")?.unwrap_or_default();
    let (without, with) = (median(without), median(with));
    let ratio = with.as_secs_f64() / without.as_secs_f64();
    let verdict = if ratio <= 1.1 { "ok" } else { "OVER" };
    println!(
        "\nversions (p50 of {} calls of add(1) each way)",
        ROUNDS * CALLS
    );
    println!("  the call, no shadow                     {without:>10.2?}");
    println!(
        "  the call, with a shadow                 {with:>10.2?} = {ratio:.2}x  (target 1.1x) [{verdict}]"
    );
    println!(
        "  calls mirrored to the candidate         {:>10}  ({} divergences)",
        report.calls, report.diverged
    );
    Ok(())
}

/// The latency of each of `CALLS` calls made one after another.
fn latencies(runtime: &Runtime) -> Result<Vec<Duration>, HostError> {
    (0..CALLS)
        .map(|_| {
            let started = Instant::now();
            block_on(runtime.call("m", "add", vec![Val::U64(1)]))?;
            Ok(started.elapsed())
        })
        .collect()
}

fn median(mut times: Vec<Duration>) -> Duration {
    times.sort();
    times[times.len() / 2]
}
