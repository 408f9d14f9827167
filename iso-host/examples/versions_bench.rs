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
//! Then a call routed by a policy that sends it to the primary against a
//! direct call, and the cost of logging each call to the event log: the
//! p50 of calls made back to back, and the time per call of calls sent in
//! batches (amortized), with a log and without, in alternating rounds.
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
    // Compared addresses share one runtime, so that one worker pool
    // serves both sides, as it would in a host.
    let start = || -> Result<Runtime, HostError> {
        let mut runtime = Runtime::new(engine.clone(), cache.clone(), Arc::new(NoLog))?;
        runtime.start("m", &bytes, Wiring::new(), Budget::default())?;
        runtime.start("other", &bytes, Wiring::new(), Budget::default())?;
        Ok(runtime)
    };
    println!(
        "\nversions (p50 of {} calls of add(1) each way)",
        ROUNDS * CALLS
    );
    // VERSIONS_BENCH=log runs the logging part alone (e.g. under a profiler).
    let only_log = std::env::var("VERSIONS_BENCH").is_ok_and(|only| only == "log");
    if !only_log {
        shadow(&start, &bytes)?;
        routing(&start, &bytes)?;
    }
    logging(&start, std::path::Path::new(scratch))
}

/// A call with a shadow running, against the same call without.
fn shadow(
    start: &dyn Fn() -> Result<Runtime, HostError>,
    bytes: &[u8],
) -> Result<(), Box<dyn std::error::Error>> {
    let mut runtime = start()?;
    runtime.shadow("other", bytes)?;
    for (label, spacing) in [("every 50 µs", Some(SPACING)), ("back to back", None)] {
        let (mut without, mut with) = (Vec::new(), Vec::new());
        for _ in 0..ROUNDS {
            without.extend(latencies(&runtime, "m", spacing)?);
            with.extend(latencies(&runtime, "other", spacing)?);
        }
        let (without, with) = (median(without), median(with));
        let ratio = with.as_secs_f64() / without.as_secs_f64();
        let verdict = match spacing {
            None => String::new(),
            Some(_) => format!("  (target 1.1x) [{}]", verdict(ratio <= 1.1)),
        };
        println!("  {label}: the call, no shadow        {without:>10.2?}");
        println!("  {label}: the call, with a shadow    {with:>10.2?} = {ratio:.2}x{verdict}");
    }
    let report = runtime.candidate_report("other")?.unwrap_or_default();
    println!(
        "  calls mirrored to the candidate         {:>10}  ({} divergences)",
        report.calls, report.diverged
    );
    Ok(())
}

/// A call routed by a policy that sends every call to the primary (a
/// canary of 0%: each call's key is hashed, and none is taken), against
/// the same call with no policy: the time per call of calls sent in
/// batches, where what routing costs the caller is not hidden by waits.
fn routing(
    start: &dyn Fn() -> Result<Runtime, HostError>,
    bytes: &[u8],
) -> Result<(), Box<dyn std::error::Error>> {
    let mut runtime = start()?;
    runtime.canary("other", bytes, 0)?;
    let (mut without, mut with) = (Vec::new(), Vec::new());
    for _ in 0..ROUNDS {
        without.push(batch(&runtime, "m")?);
        with.push(batch(&runtime, "other")?);
    }
    let (without, with) = (median(without), median(with));
    let ratio = with.as_secs_f64() / without.as_secs_f64();
    println!("  in batches, per call: direct           {without:>10.2?}");
    println!(
        "  in batches, per call: routed (primary) {with:>10.2?} = {ratio:.2}x  (target 1.05x) [{}]",
        verdict(ratio <= 1.05)
    );
    Ok(())
}

/// A call logged to the event log, against the same call not logged: the
/// p50 of calls made back to back, and the mean of calls sent in batches
/// (what logging adds to each call, amortized).
fn logging(
    start: &dyn Fn() -> Result<Runtime, HostError>,
    scratch: &std::path::Path,
) -> Result<(), Box<dyn std::error::Error>> {
    let plain = start()?;
    let mut logged = start()?;
    logged.set_event_log(EventLog::open(scratch, event_log::DEFAULT_BOUND)?);
    let (mut without, mut with) = (Vec::new(), Vec::new());
    for _ in 0..ROUNDS {
        without.extend(latencies(&plain, "m", None)?);
        with.extend(latencies(&logged, "m", None)?);
    }
    println!(
        "  back to back, p50: not logged {:.2?}, logged {:.2?}",
        median(without),
        median(with)
    );
    let (mut without, mut with) = (Vec::new(), Vec::new());
    for _ in 0..ROUNDS {
        without.push(batch(&plain, "m")?);
        with.push(batch(&logged, "m")?);
    }
    let (without, with) = (median(without), median(with));
    let added = with.saturating_sub(without);
    println!("  in batches, per call: not logged       {without:>10.2?}");
    println!(
        "  in batches, per call: logged           {with:>10.2?} = {added:.2?} more  (target 1 µs) [{}]",
        verdict(added <= Duration::from_micros(1))
    );
    Ok(())
}

fn verdict(met: bool) -> &'static str {
    if met { "ok" } else { "OVER" }
}

/// The time per call of `CALLS` calls to `address` sent at once, then awaited.
fn batch(runtime: &Runtime, address: &str) -> Result<Duration, HostError> {
    let started = Instant::now();
    let answers: Vec<_> = (0..CALLS)
        .map(|_| runtime.call(address, "add", vec![Val::U64(1)]))
        .collect();
    for answer in answers {
        block_on(answer)?;
    }
    Ok(started.elapsed() / CALLS as u32)
}

/// The latency of each of `CALLS` calls to `address`, one every
/// `spacing`, or one after another.
fn latencies(
    runtime: &Runtime,
    address: &str,
    spacing: Option<Duration>,
) -> Result<Vec<Duration>, HostError> {
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
            block_on(runtime.call(address, "add", vec![Val::U64(1)]))?;
            Ok(started.elapsed())
        })
        .collect()
}

fn median(mut times: Vec<Duration>) -> Duration {
    times.sort();
    times[times.len() / 2]
}
