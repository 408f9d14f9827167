//! Save and restore timings for `scripts/bench`: the counter template's state
//! and a state holding a 10,000-entry map, each next to a `clone()` of the
//! same state measured in the same run as the raw baseline.

use std::collections::BTreeMap;
use std::hint::black_box;
use std::time::{Duration, Instant};

use iso_schema::{Schema, restore, save};

#[derive(Schema, Default, Clone)]
struct Counter {
    count: u64,
    #[schema(default)]
    changes: u32,
}

#[derive(Schema, Clone)]
struct Visitor {
    name: String,
    visits: u32,
    last_seen_ns: u64,
}

#[derive(Schema, Clone)]
struct Directory {
    visitors: BTreeMap<String, Visitor>,
}

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

fn time(runs: usize, mut f: impl FnMut()) -> Duration {
    median(
        (0..runs)
            .map(|_| {
                let start = Instant::now();
                f();
                start.elapsed()
            })
            .collect(),
    )
}

fn report<T: Schema + Clone>(label: &str, state: &T, runs: usize) {
    let bytes = save(state);
    let save_time = time(runs, || drop(black_box(save(black_box(state)))));
    let restore_time = time(runs, || {
        drop(black_box(restore::<T>(black_box(&bytes)).unwrap()))
    });
    let clone_time = time(runs, || drop(black_box(black_box(state).clone())));
    let both = save_time + restore_time;
    println!("{label}");
    println!("  bytes            {}", bytes.len());
    println!("  save             {save_time:?}");
    println!("  restore          {restore_time:?}");
    println!(
        "  save + restore   {both:?}  = {:.1}x a clone() ({clone_time:?})",
        both.as_secs_f64() / clone_time.as_secs_f64().max(1e-9)
    );
}

fn main() {
    report(
        "counter state (native, release)",
        &Counter {
            count: 12_345,
            changes: 17,
        },
        10_001,
    );
    let visitors = (0..10_000)
        .map(|i| {
            let name = format!("visitor-{i:05}");
            (
                name.clone(),
                Visitor {
                    name,
                    visits: i,
                    last_seen_ns: 1_700_000_000_000_000_000 + u64::from(i),
                },
            )
        })
        .collect();
    report(
        "\n10,000-entry map state (native, release)",
        &Directory { visitors },
        51,
    );
}
