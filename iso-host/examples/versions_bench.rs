//! Versions side by side, for `scripts/bench`: the p50 latency of a call
//! to the primary with a candidate shadowing it, against the same call
//! with no shadow, in alternating rounds so that both see the same
//! machine weather. The primary must not wait for its shadow.
//!
//! Calls arrive at a steady rate (one every 50 µs), as requests reach a
//! server, so that the candidate's work, which doubles the CPU each call
//! takes, has a core to run on; the same calls made back to back (a
//! closed loop, where the caller's spin takes the second core) are shown
//! too.
//!
//! Then the cost of logging each call to the event log: the mean time of
//! a call made back to back, with a log and without, in alternating rounds.
//!
//! Usage: versions_bench <misbehave.wasm> <scratch dir for the event log>

use std::sync::Arc;
use std::time::{Duration, Instant};

use iso_host::runtime::{Runtime, Wiring, block_on};
use iso_host::*;

const ROUNDS: usize = 40;
const CALLS: usize = 250;
const SPACING: Duration = Duration::from_micros(50);

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [wasm, scratch] = args.as_slice() else {
        return Err("usage: versions_bench <misbehave.wasm> <scratch dir>".into());
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
    println!(
        "\nversions (p50 of {} calls of add(1) each way)",
        ROUNDS * CALLS
    );
    // VERSIONS_BENCH=log runs the logging part alone (e.g. under a profiler).
    let only_log = std::env::var("VERSIONS_BENCH").is_ok_and(|only| only == "log");
    let shadow_rounds = if only_log {
        Vec::new()
    } else {
        vec![("every 50 µs", Some(SPACING)), ("back to back", None)]
    };
    for (label, spacing) in shadow_rounds {
        let (mut without, mut with) = (Vec::new(), Vec::new());
        for _ in 0..ROUNDS {
            without.extend(latencies(&alone, spacing)?);
            with.extend(latencies(&shadowed, spacing)?);
        }
        let (without, with) = (median(without), median(with));
        let ratio = with.as_secs_f64() / without.as_secs_f64();
        let verdict = match (spacing, ratio <= 1.1) {
            (None, _) => "",
            (Some(_), true) => "  (target 1.1x) [ok]",
            (Some(_), false) => "  (target 1.1x) [OVER]",
        };
        println!("  {label}: the call, no shadow        {without:>10.2?}");
        println!("  {label}: the call, with a shadow    {with:>10.2?} = {ratio:.2}x{verdict}");
    }
    let report = shadowed.candidate_report("m")?.unwrap_or_default();
    println!(
        "  calls mirrored to the candidate         {:>10}  ({} divergences)",
        report.calls, report.diverged
    );
    let mut logged = start()?;
    logged.set_event_log(EventLog::open(
        std::path::Path::new(scratch),
        event_log::DEFAULT_BOUND,
    )?);
    let (mut without, mut with) = (Vec::new(), Vec::new());
    for _ in 0..ROUNDS {
        without.extend(latencies(&alone, None)?);
        with.extend(latencies(&logged, None)?);
    }
    println!(
        "  back to back, p50: not logged {:.2?}, logged {:.2?}",
        median(without.clone()),
        median(with.clone())
    );
    let calls = (ROUNDS * CALLS) as u32;
    let mean = |times: Vec<Duration>| times.iter().sum::<Duration>() / calls;
    let (without, with) = (mean(without), mean(with));
    let added = with.saturating_sub(without);
    let verdict = if added <= Duration::from_micros(1) {
        "ok"
    } else {
        "OVER"
    };
    println!("  back to back, mean: the call, not logged {without:>10.2?}");
    println!(
        "  back to back, mean: the call, logged     {with:>10.2?} = {added:.2?} more  (target 1 µs) [{verdict}]"
    );
    Ok(())
}

/// The latency of each of `CALLS` calls, one every `spacing`, or one
/// after another.
fn latencies(runtime: &Runtime, spacing: Option<Duration>) -> Result<Vec<Duration>, HostError> {
    let begun = Instant::now();
    (0..CALLS)
        .map(|i| {
            if let Some(spacing) = spacing {
                let due = begun + spacing * i as u32;
                while Instant::now() < due {
                    std::hint::spin_loop();
                }
            }
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
