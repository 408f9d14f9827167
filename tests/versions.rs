//! Versions side by side: a candidate shadowing the running version on
//! live calls, promoted or rolled back.

mod support;

use std::sync::{Arc, OnceLock};

use iso_host::runtime::{Keep, Runtime, Wiring, block_on};
use iso_host::{Budget, ComponentCache, EngineOptions, IsoEngine, NoLog};
use support::GuestCrate;

/// The misbehave fixture, and a candidate of it that greets bob (and
/// bob-1, bob-2...) differently, panics in `add`, and stashes one more key; built once.
fn versions() -> &'static (Vec<u8>, Vec<u8>) {
    static BUILT: OnceLock<(Vec<u8>, Vec<u8>)> = OnceLock::new();
    BUILT.get_or_init(|| {
        let build = |guest: &GuestCrate| {
            guest.cargo_iso(&["build", "-q"]).assert().success();
            std::fs::read(guest.component_path("debug")).unwrap()
        };
        let primary = GuestCrate::new("misbehave", "shadow-primary");
        let candidate = GuestCrate::new("misbehave", "shadow-candidate");
        candidate.edit(
            "src/lib.rs",
            "format!(\"hello, {name}\")",
            "if name.starts_with(\"bob\") { format!(\"hi, {name}\") } else { format!(\"hello, {name}\") }",
        );
        candidate.edit(
            "src/lib.rs",
            "    fn add(n: u64) -> u64 {",
            "    fn add(n: u64) -> u64 {\n        if n > 0 { panic!(\"add is broken\") }",
        );
        candidate.edit(
            "src/lib.rs",
            "        iso_guest::kv::set(&key, &vec![7u8; kib as usize * 1024]);",
            "        iso_guest::kv::set(&key, &vec![7u8; kib as usize * 1024]);\n        iso_guest::kv::set(\"candidate-was-here\", b\"!\");",
        );
        (build(&primary), build(&candidate))
    })
}

/// A runtime with the primary running under `m`, its total at 5.
fn primary() -> Runtime {
    let engine = Arc::new(IsoEngine::new(EngineOptions::default()).unwrap());
    let mut runtime = Runtime::new(engine, ComponentCache::new(None), Arc::new(NoLog)).unwrap();
    (runtime.start("m", &versions().0, Wiring::new(), Budget::default())).unwrap();
    runtime.call_wave_blocking("add(5)");
    runtime
}

/// The primary, shadowed by the candidate.
fn shadowed() -> Runtime {
    let mut runtime = primary();
    runtime.shadow("m", &versions().1).unwrap();
    runtime
}

trait Calls {
    fn call_wave_blocking(&self, text: &str) -> String;
}

impl Calls for Runtime {
    fn call_wave_blocking(&self, text: &str) -> String {
        let output = block_on(self.call_wave("m", text)).unwrap();
        output.results_wave().join(",")
    }
}

#[test]
fn a_shadow_logs_exactly_the_call_it_answers_differently_and_touches_nothing() {
    let runtime = shadowed();
    let answers: Vec<String> = [
        "greet(\"ada\")",
        "greet(\"bob\")",
        "stash(\"a\", 1)",
        "stashed(\"a\")",
        "stashed(\"candidate-was-here\")",
        "greet(\"cy\")",
    ]
    .iter()
    .map(|call| runtime.call_wave_blocking(call))
    .collect();
    // The caller gets the primary's answers, and its kv has only its own writes.
    assert_eq!(
        answers,
        [
            "\"hello, ada\"",
            "\"hello, bob\"",
            "",
            "1024",
            "0",
            "\"hello, cy\""
        ]
    );
    let report = runtime.candidate_report("m").unwrap().unwrap();
    assert_eq!((report.version, report.calls, report.diverged), (2, 6, 1));
    let [divergence] = report.divergences.as_slice() else {
        panic!("{:?}", report.divergences);
    };
    assert_eq!(divergence.call, 2);
    assert_eq!(divergence.request, "greet(\"bob\")");
    assert_eq!(divergence.primary.to_string(), "\"hello, bob\"");
    assert_eq!(divergence.candidate.to_string(), "\"hi, bob\"");
    // The primary's state is its own: the candidate started from a copy.
    assert_eq!(runtime.call_wave_blocking("total()"), "5");
}

#[test]
fn a_candidate_that_fails_every_call_costs_the_primary_nothing_but_time() {
    let mut runtime = shadowed();
    for n in 1..=20u64 {
        assert_eq!(
            runtime.call_wave_blocking("add(1)"),
            (5 + n).to_string(),
            "call {n}"
        );
    }
    let report = runtime.rollback("m").unwrap();
    assert_eq!((report.calls, report.diverged), (20, 20));
    let first = &report.divergences[0];
    assert_eq!(first.primary.to_string(), "6");
    assert!(
        first.candidate.to_string().contains("add is broken"),
        "{}",
        first.candidate
    );
    // Rolled back: no candidate, and the primary goes on.
    assert!(runtime.candidate_report("m").unwrap().is_none());
    assert_eq!(runtime.call_wave_blocking("total()"), "25");
    let err = runtime.rollback("m").unwrap_err();
    assert_eq!(
        err.to_string(),
        "no candidate runs beside `m`: start one with `shadow` or `canary` first"
    );
}

#[test]
fn promote_makes_the_candidate_answer_with_the_state_asked_for() {
    // Its own state: `add` failed on the candidate, so its total stayed 5.
    let mut runtime = shadowed();
    runtime.call_wave_blocking("add(1)");
    let swapped = runtime.promote("m", Keep::Candidate).unwrap();
    assert_eq!(swapped.version, 2);
    assert_eq!(runtime.version("m"), Some(2));
    assert_eq!(runtime.call_wave_blocking("greet(\"bob\")"), "\"hi, bob\"");
    assert_eq!(runtime.call_wave_blocking("total()"), "5");
    assert!(runtime.candidate_report("m").unwrap().is_none());

    // The primary's state, when asked.
    let mut runtime = shadowed();
    runtime.call_wave_blocking("add(1)");
    runtime.promote("m", Keep::Primary).unwrap();
    assert_eq!(runtime.call_wave_blocking("total()"), "6");
}

#[test]
fn a_canary_answers_its_share_of_the_keys_and_each_key_always_from_one_version() {
    let mut runtime = primary();
    runtime.canary("m", &versions().1, 10).unwrap();
    let mut by_canary = 0;
    for key in 0..500 {
        let answers: Vec<String> = (0..4)
            .map(|_| runtime.call_wave_blocking(&format!("greet(\"bob-{key}\")")))
            .collect();
        let canary = answers[0].starts_with("\"hi");
        assert!(
            answers.iter().all(|a| a.starts_with("\"hi") == canary),
            "bob-{key} met both versions: {answers:?}"
        );
        by_canary += 4 * usize::from(canary);
    }
    // 10% ± 3% of the 2,000 calls.
    assert!((140..=260).contains(&by_canary), "{by_canary} of 2000");
    let report = runtime.candidate_report("m").unwrap().unwrap();
    assert_eq!((report.canary, report.calls), (Some(10), by_canary as u64));
    let err = runtime.canary("m", &versions().1, 101).unwrap_err();
    assert_eq!(
        err.to_string(),
        "a canary takes 0 to 100 percent of the calls, not 101"
    );
}

#[test]
fn promoting_under_load_loses_no_call() {
    let mut runtime = primary();
    runtime.canary("m", &versions().1, 50).unwrap();
    let runtime = Arc::new(std::sync::RwLock::new(runtime));
    let callers: Vec<_> = (0..4)
        .map(|caller| {
            let runtime = runtime.clone();
            std::thread::spawn(move || {
                (0..300)
                    .map(|i| {
                        let call = format!("greet(\"bob-{caller}-{i}\")");
                        let answer = runtime.read().unwrap().call_wave("m", &call);
                        block_on(answer).map(|output| output.results_wave().join(","))
                    })
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    std::thread::sleep(std::time::Duration::from_millis(20));
    let swapped = (runtime.write().unwrap())
        .promote("m", Keep::Primary)
        .unwrap();
    assert_eq!(swapped.version, 2);
    for caller in callers {
        for (i, answer) in caller.join().unwrap().into_iter().enumerate() {
            let answer = answer.unwrap_or_else(|err| panic!("call {i} failed: {err}"));
            assert!(answer.contains("bob-"), "{answer}");
        }
    }
    let runtime = runtime.read().unwrap();
    assert_eq!(runtime.call_wave_blocking("greet(\"bob\")"), "\"hi, bob\"");
}
