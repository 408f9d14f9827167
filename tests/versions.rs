//! Versions side by side: a candidate shadowing the running version on
//! live calls, or a canary, promoted or rolled back; and the event log.

mod support;

use std::sync::{Arc, OnceLock};

use iso_host::runtime::{Keep, Runtime, Wiring, block_on};
use iso_host::{Budget, ComponentCache, Effect, EngineOptions, EventLog, IsoEngine, NoLog};
use predicates::prelude::*;
use support::GuestCrate;

/// The misbehave fixture, and a candidate of it that greets bob (and
/// bob-1, bob-2...) differently, panics in `add`, and stashes one more key; built once.
fn versions() -> &'static (Vec<u8>, Vec<u8>) {
    static BUILT: OnceLock<(Vec<u8>, Vec<u8>)> = OnceLock::new();
    BUILT.get_or_init(|| {
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
        (primary.build_debug(), candidate.build_debug())
    })
}

/// The store fixture, a candidate of it whose `get` and `sum` answer one
/// more, and the front fixture, which imports the store; built once.
fn store_versions() -> &'static [Vec<u8>; 3] {
    static BUILT: OnceLock<[Vec<u8>; 3]> = OnceLock::new();
    BUILT.get_or_init(|| {
        let store = GuestCrate::new("store", "shadow-store");
        let candidate = GuestCrate::new("store", "shadow-store-candidate");
        candidate.edit(
            "src/lib.rs",
            "iso_guest::kv::get_as(&key).ok().flatten()",
            "iso_guest::kv::get_as(&key).ok().flatten().map(|v: u32| v + 1)",
        );
        candidate.edit(
            "src/lib.rs",
            "            .sum()",
            "            .sum::<u32>() + 1",
        );
        let front = GuestCrate::new("front", "shadow-front");
        [
            store.build_debug(),
            candidate.build_debug(),
            front.build_debug(),
        ]
    })
}

/// A runtime with the store running, and the front wired to it; and the
/// store's candidate (which answers one more).
fn front_on_store() -> (Runtime, &'static [u8]) {
    let [store, candidate, front] = store_versions();
    let engine = Arc::new(IsoEngine::new(EngineOptions::default()).unwrap());
    let mut runtime = Runtime::new(engine, ComponentCache::new(None), Arc::new(NoLog)).unwrap();
    (runtime.start("store", store, Wiring::new(), Budget::default())).unwrap();
    let to_store = Wiring::new().import("local:store/api", "store");
    (runtime.start("front", front, to_store, Budget::default())).unwrap();
    (runtime, candidate)
}

/// The results of calling the front with the WAVE `text`.
fn call_front(runtime: &Runtime, text: &str) -> String {
    let output = block_on(runtime.call_wave("front", text)).unwrap();
    output.results_wave().join(",")
}

#[test]
fn wired_calls_from_another_app_are_mirrored_to_the_providers_shadow() {
    let (mut runtime, candidate) = front_on_store();
    runtime.shadow("store", candidate).unwrap();
    let call = |text: &str| call_front(&runtime, text);
    // put and get take the typed forwarders, sum the one with `Val`s; the
    // front gets the primary's answers.
    assert_eq!(call("remember(\"a\", 2)"), "1");
    assert_eq!(call("recall(\"a\")"), "some(2)");
    assert_eq!(call("total([\"a\"])"), "2");
    let report = runtime.candidate_report("store").unwrap().unwrap();
    assert_eq!((report.calls, report.diverged), (3, 2), "{report:?}");
    let seen: Vec<(String, String, String)> = (report.divergences.iter())
        .map(|d| {
            (
                d.request.clone(),
                d.primary.to_string(),
                d.candidate.to_string(),
            )
        })
        .collect();
    assert_eq!(
        seen,
        [
            (
                "local:store/api@0.1.0#get(\"a\")".into(),
                "some(2)".into(),
                "some(3)".into()
            ),
            (
                "local:store/api@0.1.0#sum([\"a\"])".into(),
                "2".into(),
                "3".into()
            ),
        ]
    );
}

#[test]
fn wired_calls_from_another_app_go_to_the_providers_canary_when_it_takes_their_key() {
    let (mut runtime, candidate) = front_on_store();
    assert_eq!(call_front(&runtime, "remember(\"a\", 2)"), "1");
    runtime.canary("store", candidate, 100).unwrap();
    // The canary shares the primary's kv, and answers one more: put and
    // get take the typed forwarders, sum the one with `Val`s.
    assert_eq!(call_front(&runtime, "recall(\"a\")"), "some(3)");
    assert_eq!(call_front(&runtime, "total([\"a\"])"), "3");
    assert_eq!(call_front(&runtime, "remember(\"b\", 4)"), "3");
    assert_eq!(call_front(&runtime, "recall(\"b\")"), "some(5)");
    let report = runtime.candidate_report("store").unwrap().unwrap();
    assert_eq!((report.canary, report.calls), (Some(100), 4), "{report:?}");
    runtime.canary("store", candidate, 0).unwrap();
    assert_eq!(
        call_front(&runtime, "recall(\"a\")"),
        "some(2)",
        "a canary of 0% took a call"
    );
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
    println!("the canary answered {by_canary} of 2000 calls");
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

#[test]
fn draining_under_load_answers_every_call_sent_before() {
    let mut runtime = primary();
    let handle = runtime.typed::<(u64,), (u64,)>("m", "add").unwrap();
    let answers: Vec<_> = (0..1000)
        .map(|_| runtime.call("m", "add", vec![iso_host::Val::U64(1)]))
        .collect();
    runtime.drain(&["m"]).unwrap();
    let totals: Vec<String> = (answers.into_iter())
        .map(|answer| block_on(answer).unwrap().results_wave().join(","))
        .collect();
    // In order, none lost: 5 + 1 ... 5 + 1000.
    assert_eq!(totals.first().map(String::as_str), Some("6"));
    assert_eq!(totals.last().map(String::as_str), Some("1005"));
    let err = block_on(handle.call((1,))).unwrap_err().to_string();
    assert!(err.contains("`m`"), "{err}");
    let err = block_on(runtime.call_wave("m", "total()"))
        .unwrap_err()
        .to_string();
    assert!(err.contains("`m`"), "{err}");
}

/// The primary under `m`, logging its calls to `dir` within `bound` bytes.
fn logged(dir: &std::path::Path, bound: u64) -> Runtime {
    let engine = Arc::new(IsoEngine::new(EngineOptions::default()).unwrap());
    let mut runtime = Runtime::new(engine, ComponentCache::new(None), Arc::new(NoLog)).unwrap();
    runtime.set_event_log(EventLog::open(dir, bound).unwrap());
    (runtime.start("m", &versions().0, Wiring::new(), Budget::default())).unwrap();
    runtime
}

#[test]
fn the_event_log_survives_a_restart_and_rotates_at_its_bound() {
    let data = tempfile::tempdir().unwrap();
    let runtime = logged(data.path(), 1 << 20);
    runtime.call_wave_blocking("greet(\"ada\")");
    runtime.call_wave_blocking("stash(\"a\", 1)");
    runtime.call_wave_blocking("stashed(\"a\")");
    assert!(block_on(runtime.call_wave("m", "boom(\"no\")")).is_err());
    drop(runtime);
    let calls = EventLog::read(data.path()).unwrap();
    let ids: Vec<u64> = calls.iter().map(|c| c.id).collect();
    assert_eq!(ids, [1, 2, 3, 4]);
    assert_eq!(
        (
            calls[0].address.as_str(),
            calls[0].version,
            calls[0].call.as_str()
        ),
        ("m", 1, "greet(\"ada\")")
    );
    assert_eq!(
        (calls[0].ok, calls[0].outcome.as_str()),
        (true, "\"hello, ada\"")
    );
    assert_eq!(calls[2].effects.len(), 1, "{:?}", calls[2].effects);
    assert!(
        matches!(&calls[2].effects[0], Effect::KvGet(key, Some(_)) if key == "a"),
        "{:?}",
        calls[2].effects
    );
    assert!(
        !calls[3].ok && calls[3].outcome.contains("panic: no"),
        "{:?}",
        calls[3]
    );

    // After a restart, ids go on; a line a crash cut short is skipped.
    let events = data.path().join("events");
    let last = events.join("00000001.jsonl");
    let mut file = std::fs::OpenOptions::new()
        .append(true)
        .open(&last)
        .unwrap();
    std::io::Write::write_all(&mut file, b"{\"id\": 5, \"addr").unwrap();
    let runtime = logged(data.path(), 16 << 10);
    for _ in 0..200 {
        runtime.call_wave_blocking("greet(\"ada\")");
    }
    drop(runtime);
    let calls = EventLog::read(data.path()).unwrap();
    assert_eq!(calls.last().unwrap().id, 204);
    // Rotated: the oldest calls are gone, and the files keep near the bound.
    assert!(calls.first().unwrap().id > 1, "nothing rotated away");
    assert!(
        size_of(&events) <= (16 << 10) + (4 << 10),
        "{} bytes kept",
        size_of(&events)
    );
}

/// The bytes of the files in `folder` and the folders in it.
fn size_of(folder: &std::path::Path) -> u64 {
    (std::fs::read_dir(folder).unwrap())
        .map(|entry| entry.unwrap())
        .map(|entry| match entry.file_type().unwrap().is_dir() {
            true => size_of(&entry.path()),
            false => entry.metadata().unwrap().len(),
        })
        .sum()
}

#[test]
fn a_logged_call_replays_to_its_outcome_on_its_version_and_diverges_on_another() {
    let data = tempfile::tempdir().unwrap();
    let runtime = logged(data.path(), 1 << 20);
    for call in [
        "add(5)",
        "greet(\"bob\")",
        "total()",
        "stash(\"a\", 1)",
        "stashed(\"a\")",
    ] {
        runtime.call_wave_blocking(call);
    }
    drop(runtime);
    let calls = EventLog::read(data.path()).unwrap();
    assert_eq!(calls.len(), 5);
    // Replayed in runtimes of their own: fresh state, empty kv.
    let replay = |bytes: &[u8]| -> Vec<iso_host::runtime::Replayed> {
        let engine = Arc::new(IsoEngine::new(EngineOptions::default()).unwrap());
        let mut runtime = Runtime::new(engine, ComponentCache::new(None), Arc::new(NoLog)).unwrap();
        (runtime.start("m", bytes, Wiring::new(), Budget::default())).unwrap();
        (calls.iter())
            .map(|call| {
                let state = EventLog::state(data.path(), call).unwrap();
                runtime.replay("m", call, state).unwrap()
            })
            .collect()
    };
    let same = replay(&versions().0);
    let diverged: Vec<u64> = same.iter().filter(|r| r.diverged()).map(|r| r.id).collect();
    assert!(diverged.is_empty(), "{same:?}");
    // total() read the state add(5) left; stashed("a") the kv read it saw.
    assert_eq!(same[2].replayed, "5");
    assert_eq!(same[4].replayed, "1024");

    let changed = replay(&versions().1);
    let diverged: Vec<&iso_host::runtime::Replayed> =
        changed.iter().filter(|r| r.diverged()).collect();
    assert_eq!(diverged.len(), 2, "{changed:?}");
    assert_eq!(
        (
            diverged[0].id,
            diverged[0].logged.as_str(),
            diverged[0].replayed.as_str()
        ),
        (1, "5", "error: panic: add is broken")
    );
    assert_eq!(
        (
            diverged[1].id,
            diverged[1].logged.as_str(),
            diverged[1].replayed.as_str()
        ),
        (2, "\"hello, bob\"", "\"hi, bob\"")
    );
}

#[test]
fn cargo_iso_log_lists_the_calls_run_made_and_shows_one() {
    let guest = GuestCrate::new("misbehave", "logged");
    guest
        .cargo_iso(&[
            "run",
            "-q",
            "--invoke",
            "add(2)",
            "--invoke",
            "stashed(\"k\")",
        ])
        .assert()
        .success();
    guest
        .cargo_iso(&["run", "-q", "--invoke", "boom(\"oh\")"])
        .assert()
        .code(21);
    let listed = guest.cargo_iso(&["log"]).assert().success();
    let out = String::from_utf8(listed.get_output().stdout.clone()).unwrap();
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 3, "{out}");
    assert!(
        lines[0].trim_start().starts_with("1  ") && lines[0].ends_with("logged v1  add(2) -> 2"),
        "{out}"
    );
    assert!(
        lines[2].contains("boom(\"oh\") -> error: panic: oh"),
        "{out}"
    );
    guest
        .cargo_iso(&["log", "--failed", "--format", "json"])
        .assert()
        .success()
        .stdout(predicate::str::contains("\"id\":3").and(predicate::str::contains("\"ok\":false")))
        .stdout(predicate::str::contains("add(2)").not());
    guest
        .cargo_iso(&["log", "show", "2"])
        .assert()
        .success()
        .stdout(predicate::str::contains("stashed(\"k\") -> 0"))
        .stdout(predicate::str::contains("  saw kv.get(\"k\") -> none"));
    guest
        .cargo_iso(&["log", "show", "9"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("error: no call 9 in the log in `"))
        .stderr(predicate::str::contains(
            "help: `cargo iso log` lists the calls it holds",
        ));
    // --no-log logs nothing more.
    guest
        .cargo_iso(&["run", "-q", "--no-log", "--invoke", "total()"])
        .assert()
        .success();
    let listed = guest.cargo_iso(&["log"]).assert().success();
    assert_eq!(
        String::from_utf8_lossy(&listed.get_output().stdout)
            .lines()
            .count(),
        3
    );
    guest
        .cargo_iso(&["log", "--since", "1h"])
        .assert()
        .success()
        .stdout(predicate::str::contains("add(2)"));
    guest
        .cargo_iso(&["log", "--since", "2999-01-01T00:00:00Z"])
        .assert()
        .success()
        .stdout(predicate::str::is_empty());
    guest
        .cargo_iso(&["log", "--since", "yesterday-ish"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("is neither a time"));
}

#[test]
fn cargo_iso_replay_replays_logged_calls_on_another_version_or_revision() {
    let guest = GuestCrate::new("misbehave", "replayed");
    let invokes = ["add(2)", "greet(\"bob\")", "total()", "boom(\"oh\")"];
    let mut run = vec!["run", "-q"];
    for call in &invokes {
        run.extend(["--invoke", call]);
    }
    // The run stops at the panic, which is logged too.
    guest.cargo_iso(&run).assert().code(21);
    guest
        .cargo_iso(&["replay", "1.."])
        .assert()
        .success()
        .stdout("replay result: ok. 0 diverged; 4 same\n")
        .stderr(predicate::str::contains(
            "Replaying 4 calls on the current build",
        ));

    let candidate = guest.path().join("candidate.wasm");
    std::fs::write(&candidate, &versions().1).unwrap();
    let data = guest.path().join("target/iso/data");
    let against = [
        "replay",
        "1",
        "2..=3",
        "--against",
        candidate.to_str().unwrap(),
        "--data",
        data.to_str().unwrap(),
    ];
    guest
        .cargo_iso(&against)
        .assert()
        .code(1)
        .stdout(predicate::str::contains(
            "call 1  replayed v1  add(2) ... diverged\n    logged:   2\n    replayed: error: panic: add is broken\n",
        ))
        .stdout(predicate::str::contains(
            "call 2  replayed v1  greet(\"bob\") ... diverged\n    logged:   \"hello, bob\"\n    replayed: \"hi, bob\"\n",
        ))
        .stdout(predicate::str::contains("replay result: DIVERGED. 2 diverged; 1 same"));
    guest
        .cargo_iso(&["replay", "7"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("error: no call 7 in the log in `"));
    guest
        .cargo_iso(&["replay", "x"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("`x` is not a call id"));

    // --rev: the committed version, though the work tree has changed.
    let git = |args: &[&str]| {
        let status = std::process::Command::new("git")
            .args(["-c", "user.name=iso", "-c", "user.email=iso@example.com"])
            .args(args)
            .current_dir(guest.path())
            .status()
            .unwrap();
        assert!(status.success(), "git {args:?}");
    };
    git(&["init", "-q"]);
    git(&["add", "Cargo.toml", "src", "wit"]);
    git(&["commit", "-q", "-m", "logged version"]);
    guest.edit(
        "src/lib.rs",
        "format!(\"hello, {name}\")",
        "format!(\"hey, {name}\")",
    );
    guest.cargo_iso(&["replay", "2"]).assert().code(1);
    guest
        .cargo_iso(&["replay", "2", "--rev", "HEAD"])
        .assert()
        .success()
        .stderr(predicate::str::contains(
            "Replaying 1 call on revision `HEAD`",
        ));
    guest
        .cargo_iso(&["replay", "2", "--rev", "no-such-rev"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("`no-such-rev` names no commit"));
}
