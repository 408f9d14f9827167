//! `cargo iso run` and the `iso-host` runtime end to end: real guests built by
//! the real toolchain, run in real wasmtime under budgets.

mod support;

use std::path::PathBuf;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use iso_host::runtime::block_on;
use iso_host::runtime::{Runtime, Wiring};
use iso_host::{
    Budget, BudgetKind, EngineOptions, ExportChanges, Fuel, HostError, Instance, MemorySize, NoLog,
    Shared, SnapshotPolicy, Timeout, Val,
};
use predicates::prelude::*;
use support::{GuestCrate, cargo_iso};

/// Fixture `fixture` copied as crate `name` and built; the crate and its component.
fn build_fixture(fixture: &str, name: &str) -> (GuestCrate, PathBuf) {
    let guest = GuestCrate::new(fixture, name);
    guest.cargo_iso(&["build", "-q"]).assert().success();
    let path = guest.component_path("debug");
    (guest, path)
}

/// The misbehave fixture, built once for the whole file; returns its component.
fn misbehave() -> PathBuf {
    static BUILT: OnceLock<(GuestCrate, PathBuf)> = OnceLock::new();
    let built = BUILT.get_or_init(|| build_fixture("misbehave", "run-misbehave"));
    built.1.clone()
}

fn run_wasm(wasm: &PathBuf, args: &[&str]) -> assert_cmd::assert::Assert {
    cargo_iso().arg("run").arg(wasm).args(args).assert()
}

fn instance(budget: Budget) -> Instance {
    instance_on(EngineOptions::default(), budget)
}

fn instance_on(options: EngineOptions, budget: Budget) -> Instance {
    let app = support::load_app(options, &std::fs::read(misbehave()).unwrap());
    Instance::new(app, budget, Shared::new(Arc::new(NoLog))).unwrap()
}

/// Asserts that `err` is an exceeded budget of `kind`.
#[track_caller]
fn assert_exceeded(err: &HostError, kind: BudgetKind) {
    assert!(
        matches!(err, HostError::BudgetExceeded { kind: k, .. } if *k == kind),
        "{err}"
    );
}

fn total(instance: &mut Instance) -> String {
    instance
        .call_wave("total()")
        .unwrap()
        .results_wave()
        .join(",")
}

#[test]
fn a_new_counter_runs_increment_then_get() {
    let scratch = tempfile::tempdir().unwrap();
    let shared = support::shared_target_dir().join("shared");
    cargo_iso()
        .current_dir(scratch.path())
        .args(["new", "-q", "counter"])
        .assert()
        .success();
    cargo_iso()
        .current_dir(scratch.path().join("counter"))
        .env("CARGO_ISO_SHARED_TARGET_DIR", &shared)
        .args([
            "run",
            "--fuel",
            "1e6",
            "--invoke",
            "increment(5)",
            "--invoke",
            "get()",
        ])
        .assert()
        .success()
        .stdout("5\n5\n")
        .stderr(predicate::str::contains("Usage increment(5): fuel "))
        .stderr(predicate::str::contains(
            "[counter] info: incremented by 5 count=5",
        ));
}

#[test]
fn the_host_keeps_serving_with_the_last_good_state_after_every_failure() {
    let mut guest = instance(Budget {
        fuel: Some(Fuel(50_000_000)),
        memory: Some(MemorySize(8 << 20)),
        timeout: Some(Timeout(Duration::from_secs(5))),
        storage: None,
    });
    assert_eq!(guest.call_wave("add(5)").unwrap().results_wave(), ["5"]);

    let fuel = guest.call_wave("spin()").unwrap_err();
    assert_exceeded(&fuel, BudgetKind::Fuel);
    assert_eq!(total(&mut guest), "5");

    let memory = guest.call_wave("hog(64)").unwrap_err();
    assert_exceeded(&memory, BudgetKind::Memory);
    assert_eq!(total(&mut guest), "5");

    let recursion = guest.call_wave("recurse(0)").unwrap_err();
    assert!(
        matches!(&recursion, HostError::Trap { message, .. } if message.contains("call stack exhausted")),
        "{recursion}"
    );
    assert_eq!(total(&mut guest), "5");

    let panic = guest.call_wave("boom(\"on purpose\")").unwrap_err();
    let HostError::GuestPanic { message, location } = &panic else {
        panic!("expected a panic, got {panic}")
    };
    assert_eq!(message, "on purpose");
    assert!(location.contains("src/lib.rs"), "{location}");
    assert_eq!(
        total(&mut guest),
        "5",
        "the panicking call's state change is not kept"
    );
    assert_eq!(guest.restarts(), 4);
}

#[test]
fn typed_calls_meter_like_dynamic_ones_and_survive_a_restart() {
    let mut guest = instance(Budget {
        fuel: Some(Fuel(50_000_000)),
        ..Budget::default()
    });
    let mut add = guest.typed::<(u64,), (u64,)>("add").unwrap();
    let ((sum,), usage) = guest.call_typed(&mut add, (5,)).unwrap();
    assert_eq!(sum, 5);
    assert!(usage.fuel > 0, "{usage:?}");

    assert!(guest.call_wave("spin()").is_err());
    assert_eq!(guest.restarts(), 1);
    // The handle belonged to the trapped store; it looks itself up again.
    let ((sum,), _) = guest.call_typed(&mut add, (2,)).unwrap();
    assert_eq!(sum, 7);

    let wrong = guest.typed::<(u32,), (u64,)>("add").err().unwrap();
    assert!(
        matches!(&wrong, HostError::BadArguments { expected, .. } if expected.contains("add: func(n: u64) -> u64")),
        "{wrong}"
    );
}

#[test]
fn arguments_of_the_wrong_type_are_refused_on_the_fast_path_too() {
    let mut guest = instance(Budget::default());
    // `add` takes a u64: a u32 value must not slip through the typed fast path.
    let err = guest.call("add", &[Val::U32(5)]).unwrap_err();
    assert!(
        matches!(&err, HostError::BadArguments { what, .. } if what == "add"),
        "{err}"
    );
    let output = guest.call("add", &[Val::U64(5)]).unwrap();
    assert_eq!(output.result(), Some(Val::U64(5)));
    assert_eq!(output.into_result(), Some(Val::U64(5)));
    assert_eq!(total(&mut guest), "5");
}

#[test]
fn results_come_back_from_both_paths_and_none_from_a_function_without_one() {
    let mut guest = instance(Budget::default());
    // `greet` takes a string: the dynamic path.
    let greeting = guest.call("greet", &[Val::String("ada".into())]).unwrap();
    assert_eq!(greeting.result(), Some(Val::String("hello, ada".into())));
    assert_eq!(greeting.results_wave(), ["\"hello, ada\""]);
    assert_eq!(
        greeting.into_result(),
        Some(Val::String("hello, ada".into()))
    );
    // `clear: func()` takes the fast path and returns nothing.
    guest.call("add", &[Val::U64(3)]).unwrap();
    let nothing = guest.call("clear", &[]).unwrap();
    assert_eq!(nothing.result(), None);
    assert!(nothing.results_wave().is_empty());
    assert_eq!(total(&mut guest), "0");
}

#[test]
fn an_unlimited_budget_meters_each_call_and_a_later_budget_applies() {
    let mut guest = instance(Budget::default());
    // No snapshot between calls: the store stays armed from one call to the next.
    guest.set_snapshot_policy(SnapshotPolicy::Checkpoint);
    let fuel = |guest: &mut Instance| guest.call("add", &[Val::U64(1)]).unwrap().usage.fuel;
    fuel(&mut guest); // the first call also sets up the guest's state
    let steady = fuel(&mut guest);
    assert!(steady > 0);
    assert_eq!(fuel(&mut guest), steady, "each call reports its own fuel");
    guest.checkpoint().unwrap(); // a host call under the internal budget in between
    assert_eq!(fuel(&mut guest), steady);
    assert!(guest.call_wave("recurse(0)").is_err()); // a trap: a new store
    let after = fuel(&mut guest);
    assert!(
        after < 10 * steady,
        "{after} fuel for one add after a restart"
    );
    assert_eq!(fuel(&mut guest), steady);
    guest.set_budget(Budget {
        fuel: Some(Fuel(1_000_000)),
        ..Budget::default()
    });
    let err = guest.call_wave("spin()").unwrap_err();
    assert_exceeded(&err, BudgetKind::Fuel);
    assert_eq!(total(&mut guest), "3", "back to the checkpoint");
}

#[test]
fn exports_are_found_however_many_are_in_use() {
    let mut guest = instance(Budget::default());
    let snapshot = guest.save_state().unwrap().unwrap();
    guest.restore_state(&snapshot).unwrap();
    assert!(guest.schema().unwrap().is_some());
    for call in ["add(2)", "hog(1)", "greet(\"ada\")"] {
        guest.call_wave(call).unwrap();
    }
    assert_eq!(total(&mut guest), "2");
    // A wrong argument count still looks the export up: ten in use, past the linear scan.
    assert!(guest.call("spin", &[Val::U32(1)]).is_err());
    assert!(guest.call("boom", &[]).is_err());
    assert!(guest.call("recurse", &[]).is_err());
    assert_eq!(guest.call_wave("add(3)").unwrap().results_wave(), ["5"]);
    assert_eq!(total(&mut guest), "5");
    assert_eq!(guest.restarts(), 0);
}

#[test]
fn the_pooling_allocator_runs_guests_and_enforces_memory() {
    let options = EngineOptions {
        pooling: true,
        ..EngineOptions::default()
    };
    let mut guest = instance_on(
        options,
        Budget {
            memory: Some(MemorySize(8 << 20)),
            ..Budget::default()
        },
    );
    assert_eq!(guest.call_wave("add(3)").unwrap().results_wave(), ["3"]);
    let err = guest.call_wave("hog(64)").unwrap_err();
    assert_exceeded(&err, BudgetKind::Memory);
    assert_eq!(total(&mut guest), "3");
}

#[test]
fn a_timeout_stops_a_loop_within_twice_its_limit() {
    let mut guest = instance(Budget {
        timeout: Some(Timeout(Duration::from_millis(200))),
        ..Budget::default()
    });
    let started = Instant::now();
    let err = guest.call_wave("spin()").unwrap_err();
    let elapsed = started.elapsed();
    assert_exceeded(&err, BudgetKind::Time);
    assert!(
        elapsed < Duration::from_millis(400),
        "stopped after {elapsed:?}"
    );
    assert_eq!(
        guest.call_wave("greet(\"ada\")").unwrap().results_wave(),
        ["\"hello, ada\""]
    );
}

#[test]
fn fuel_exhaustion_has_its_exit_code_and_names_the_limit() {
    run_wasm(&misbehave(), &["--fuel", "1e6", "--invoke", "spin()"])
        .code(10)
        .stderr(predicate::str::contains(
            "fuel budget exceeded: limit 1000000, used 1000000",
        ))
        .stderr(predicate::str::contains(
            "note: raise it with `--fuel N`, or `fuel = N` under `[package.metadata.iso]`",
        ));
}

#[test]
fn time_memory_trap_and_panic_have_their_exit_codes() {
    let wasm = misbehave();
    run_wasm(&wasm, &["--timeout", "100ms", "--invoke", "spin()"])
        .code(12)
        .stderr(predicate::str::contains(
            "time budget exceeded: limit 100.0ms",
        ))
        .stderr(predicate::str::contains("raise it with `--timeout DUR`"));
    run_wasm(&wasm, &["--memory", "4MiB", "--invoke", "hog(16)"])
        .code(11)
        .stderr(predicate::str::contains(
            "memory budget exceeded: limit 4.0 MiB",
        ))
        .stderr(predicate::str::contains("raise it with `--memory SIZE`"));
    run_wasm(&wasm, &["--invoke", "recurse(0)"])
        .code(20)
        .stderr(predicate::str::contains("call stack exhausted"));
    run_wasm(&wasm, &["--invoke", "boom(\"kaput\")"])
        .code(21)
        .stderr(predicate::str::contains("guest panicked at src/lib.rs:"))
        .stderr(predicate::str::contains("kaput"));
    // The first call of a fresh instance, before the state is touched.
    run_wasm(&wasm, &["--invoke", "panic-now(\"early\")"])
        .code(21)
        .stderr(predicate::str::contains("guest panicked at src/lib.rs:"))
        .stderr(predicate::str::contains("early"));
}

#[test]
fn a_guest_with_no_time_budget_stops_at_the_default_and_a_zero_budget_is_refused() {
    let wasm = misbehave();
    run_wasm(&wasm, &["--invoke", "spin()"])
        .code(12)
        .stderr(predicate::str::contains(
            "note: no time budget set for run_misbehave; using 10s, set `timeout = \"DUR\"` under `[package.metadata.iso]` or pass `--timeout DUR` to change it",
        ))
        .stderr(predicate::str::contains("time budget exceeded: limit 10"));
    for flag in ["--fuel=0", "--timeout=0s"] {
        run_wasm(&wasm, &[flag, "--invoke", "total()"])
            .code(2)
            .stderr(predicate::str::contains(
                "a budget of zero stops every call; leave the budget out for no limit",
            ));
    }
}

#[test]
fn every_call_is_checked_before_the_first_is_made_and_a_failed_call_stops_the_rest() {
    let wasm = misbehave();
    let data = tempfile::tempdir().unwrap();
    let run = |calls: &[&str]| {
        let mut args = vec!["--data", data.path().to_str().unwrap()];
        for call in calls {
            args.extend(["--invoke", call]);
        }
        run_wasm(&wasm, &args)
    };
    run(&["add(1)", "add(2)", "ad(3)"])
        .code(2)
        .stdout("")
        .stderr(predicate::str::contains("`ad`"));
    run(&["add(1)", "add(\"two\")"]).code(2).stdout("");
    run(&["total()"]).success().stdout("0\n");
    // A call that fails at run time stops the ones after it.
    run(&["add(1)", "panic-now(\"stop\")", "add(2)"])
        .code(21)
        .stdout("1\n");
    run(&["total()"]).success().stdout("1\n");
}

#[test]
fn a_memory_budget_too_small_to_start_says_so() {
    run_wasm(&misbehave(), &["--memory", "512KiB", "--invoke", "total()"])
        .code(11)
        .stderr(predicate::str::contains(
            "memory budget 512.0 KiB is below the",
        ))
        .stderr(predicate::str::contains("raise the memory budget"));
}

#[test]
fn malformed_wave_points_at_the_problem() {
    run_wasm(&misbehave(), &["--invoke", "add(5"])
        .code(2)
        .stderr(predicate::str::contains("bad arguments for add(5"))
        .stderr(predicate::str::contains("    add(5\n"));
    run_wasm(&misbehave(), &["--invoke", "add(\"five\")"])
        .code(2)
        .stderr(predicate::str::contains(
            "expected add: func(n: u64) -> u64",
        ));
}

#[test]
fn run_help_lists_every_exit_code() {
    cargo_iso()
        .args(["run", "--help"])
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "10/11/12/13 fuel/memory/time/storage budget",
        ));
}

#[test]
fn an_unknown_export_lists_the_available_ones() {
    run_wasm(&misbehave(), &["--invoke", "nope()"])
        .code(2)
        .stderr(predicate::str::contains("no export named `nope`"))
        .stderr(predicate::str::contains("add, total, spin"));
    run_wasm(&misbehave(), &["--invoke", "totl()"])
        .code(2)
        .stderr(predicate::str::contains(
            "no export named `totl` (did you mean `total`?); the component exports:",
        ));
}

#[test]
fn an_import_the_host_lacks_is_named() {
    let guest = GuestCrate::new("needs-import", "run-needs-import");
    guest.cargo_iso(&["build", "-q"]).assert().success();
    run_wasm(&guest.component_path("debug"), &["--invoke", "go()"])
        .code(2)
        .stderr(predicate::str::contains(
            "imports `local:needs-import/secret`, which the iso host does not provide",
        ));
}

#[test]
fn core_modules_and_garbage_are_clear_errors() {
    let core = support::shared_target_dir().join("wasm32-unknown-unknown/debug/run_misbehave.wasm");
    misbehave();
    run_wasm(&core, &[])
        .code(2)
        .stderr(predicate::str::contains(
            "core wasm module, not a component",
        ));
    let garbage = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(garbage.path(), b"this is not wasm at all").unwrap();
    run_wasm(&garbage.path().to_owned(), &[])
        .code(2)
        .stderr(predicate::str::contains(format!(
            "error: `{}` is not a wasm file",
            garbage.path().display()
        )));
}

#[test]
fn state_files_carry_state_between_runs() {
    let state = tempfile::tempdir().unwrap().keep().join("tally.state");
    run_wasm(
        &misbehave(),
        &["--state", state.to_str().unwrap(), "--invoke", "add(7)"],
    )
    .success()
    .stdout("7\n");
    run_wasm(
        &misbehave(),
        &[
            "--state",
            state.to_str().unwrap(),
            "--json",
            "--invoke",
            "add(1)",
        ],
    )
    .success()
    .stdout(predicate::str::contains("\"results\":[\"8\"]"))
    .stdout(predicate::str::contains("\"fuel\":"));
    std::fs::write(&state, b"garbage").unwrap();
    run_wasm(
        &misbehave(),
        &["--state", state.to_str().unwrap(), "--invoke", "total()"],
    )
    .code(2)
    .stderr(predicate::str::contains(
        "could not restore the state: invalid state bytes",
    ));
}

#[test]
fn state_shows_as_json_through_the_schema() {
    let mut guest = instance(Budget::default());
    guest.call_wave("add(3)").unwrap();
    assert_eq!(
        guest.state_json().unwrap().as_deref(),
        Some(r#"{"total":3}"#)
    );
    assert_eq!(
        guest.schema().unwrap().as_deref(),
        Some("record tally { total: u64 }")
    );
}

#[test]
fn kv_persists_in_the_database_and_effects_are_recorded() {
    use iso_host::host::KvStore;
    use iso_host::{Durability, Effect, Storage};

    let (scratch, dir) = support::scaffold("limiter", Some("rate-limiter"));
    let bytes = support::build_component(&dir);
    let app = support::load_app(EngineOptions::default(), &bytes);
    let data = scratch.path().join("data");
    let kept = |storage: &Storage| {
        let mut shared = Shared::new(Arc::new(NoLog));
        let kv = KvStore::open(storage, "limiter").unwrap();
        shared.kv = Arc::new(std::sync::Mutex::new(kv));
        shared
    };

    let storage = Storage::open(&data, Durability::EveryCall).unwrap();
    let shared = kept(&storage);
    shared.effects.lock().unwrap().record();
    let mut first = Instance::new(app.clone(), Budget::default(), shared.clone()).unwrap();
    assert_eq!(
        first.call_wave("check(\"ada\")").unwrap().results_wave(),
        ["true"]
    );
    let effects = shared.effects.lock().unwrap().take_recorded();
    assert!(
        effects.iter().any(|e| matches!(e, Effect::WallNow(_))),
        "{effects:?}"
    );
    assert!(
        effects
            .iter()
            .any(|e| matches!(e, Effect::KvGet(key, None) if key == "bucket/ada")),
        "{effects:?}"
    );
    drop((first, shared, storage));

    let storage = Storage::open(&data, Durability::EveryCall).unwrap();
    let mut second = Instance::new(app, Budget::default(), kept(&storage)).unwrap();
    assert_eq!(
        second.call_wave("tokens(\"ada\")").unwrap().results_wave(),
        ["9"],
        "the bucket came back from the database"
    );
}

/// The dev host compiles with Winch: its budgets must hold there too.
#[test]
fn the_baseline_compiler_enforces_fuel_and_time() {
    let options = EngineOptions {
        compiler: iso_host::Compiler::Baseline,
        ..EngineOptions::default()
    };
    let mut guest = instance_on(
        options,
        Budget {
            fuel: Some(iso_host::Fuel(1_000_000)),
            ..Budget::default()
        },
    );
    let err = guest.call_wave("spin()").unwrap_err();
    assert_exceeded(&err, BudgetKind::Fuel);
    guest.set_budget(Budget {
        timeout: Some(Timeout(Duration::from_millis(100))),
        ..Budget::default()
    });
    let err = guest.call_wave("spin()").unwrap_err();
    assert_exceeded(&err, BudgetKind::Time);
    assert_eq!(
        guest.call_wave("greet(\"ada\")").unwrap().results_wave(),
        ["\"hello, ada\""]
    );
}

/// The store fixture (no kept state, only an interface exported), built once.
fn store() -> PathBuf {
    static BUILT: OnceLock<(GuestCrate, PathBuf)> = OnceLock::new();
    let built = BUILT.get_or_init(|| build_fixture("store", "run-store"));
    built.1.clone()
}

#[test]
fn functions_inside_an_exported_interface_are_called_by_each_spelling() {
    let (_, exports) = support::component_world(&std::fs::read(store()).unwrap());
    assert_eq!(
        exports,
        ["iso:app/tests@0.1.0", "local:store/api@0.1.0"],
        "no iso:app/state export; iso:app/stateless gives iso:app/tests"
    );
    run_wasm(
        &store(),
        &[
            "--invoke",
            "put(\"a\", 2)",
            "--invoke",
            "api.get(\"a\")",
            "--invoke",
            "local:store/api@0.1.0#get(\"a\")",
            "--invoke",
            "local:store/api#get(\"b\")",
        ],
    )
    .success()
    .stdout("some(2)\nsome(2)\nnone\n");
}

#[test]
fn a_bad_argument_after_a_long_name_points_into_the_text_typed() {
    run_wasm(&store(), &["--invoke", "api.put(\"a\", x)"])
        .code(2)
        .stderr(predicate::str::contains("invalid value type at 13..14\n"))
        .stderr(predicate::str::contains("    api.put(\"a\", x)\n"))
        .stderr(predicate::str::contains(format!(
            "\n{}^",
            " ".repeat(4 + 13)
        )))
        .stderr(predicate::str::contains(
            "expected put: func(key: string, value: u32)",
        ));
    run_wasm(&store(), &["--invoke", "nope.put(1)"])
        .code(2)
        .stderr(predicate::str::contains(
            "no export named `nope.put`; the component exports: put, get",
        ));
}

#[test]
fn a_world_with_state_but_no_state_macro_names_the_fix() {
    let guest = GuestCrate::new("store", "run-store-stateful");
    guest.edit(
        "wit/world.wit",
        "include iso:app/stateless@0.1.0;",
        "include iso:app/guest@0.1.0;",
    );
    guest
        .cargo_iso(&["build", "-q"])
        .assert()
        .failure()
        .stderr(predicate::str::contains(
            "this guest's world exports `iso:app/state`, but the crate keeps no state",
        ))
        .stderr(predicate::str::contains(
            "add `iso_guest::state!(YourState);` after `iso_guest::generate!();`",
        ))
        .stderr(predicate::str::contains("include iso:app/stateless@0.1.0;"));
}

#[test]
fn a_name_two_interfaces_share_lists_the_spellings_that_tell_them_apart() {
    let scratch = tempfile::tempdir().unwrap();
    let wasm = scratch.path().join("names.wasm");
    let wit = "package test:names@0.1.0;
        interface admin { reset: func(); }
        interface api { reset: func(); get: func() -> u32; }
        world names { export admin; export api; }";
    std::fs::write(&wasm, iso_host::stub::component(wit, None).unwrap()).unwrap();
    run_wasm(&wasm, &["--invoke", "reset()"])
        .code(2)
        .stderr(predicate::str::contains(
            "`reset` names more than one export; write one of `admin.reset`, `api.reset`",
        ));
    run_wasm(&wasm, &["--invoke", "nope()"])
        .code(2)
        .stderr(predicate::str::contains(
            "the component exports: admin.reset, api.reset, get",
        ));
}

/// From a guest with state (misbehave) to one without (store) and back:
/// the changes list the apps' own exports, never the host's interfaces
/// (`iso:app/state` comes and goes with state, `iso:app/tests` with the SDK).
#[test]
fn export_changes_leave_out_the_hosts_own_interfaces() {
    let load = |path| support::load_app(EngineOptions::default(), &std::fs::read(path).unwrap());
    let (with_state, without) = (load(misbehave()), load(store()));
    let host_own = |app: &iso_host::App| -> Vec<String> {
        let exports = app.exports().iter().filter(|e| e.is_host_own());
        exports.map(|e| e.short.clone()).collect()
    };
    let state_and_tests = host_own(&with_state);
    assert!(
        state_and_tests.len() > host_own(&without).len(),
        "{state_and_tests:?}"
    );

    let changes = ExportChanges::between(&with_state, &without);
    let store_api = [
        "put: func(key: string, value: u32)",
        "get: func(key: string) -> option<u32>",
        "sum: func(keys: list<string>) -> u32",
        "entries: func(keys: list<string>) -> list<record { key: string, value: u32 }>",
    ];
    assert_eq!(changes.added, store_api);
    assert!(changes.removed.contains(&"greet".to_owned()), "{changes:?}");
    assert!(
        changes
            .removed
            .iter()
            .all(|name| !state_and_tests.contains(name)),
        "{changes:?}"
    );

    let back = ExportChanges::between(&without, &with_state);
    assert_eq!(back.removed, ["put", "get", "sum", "entries"]);
    assert_eq!(back.added.len(), changes.removed.len(), "{back:?}");
    assert!(
        back.added
            .iter()
            .all(|signature| !signature.contains("iso:app")),
        "{back:?}"
    );
}

/// The front fixture: its `local:store/api` import is wired to the store app.
fn front() -> PathBuf {
    static BUILT: OnceLock<(GuestCrate, PathBuf)> = OnceLock::new();
    let built = BUILT.get_or_init(|| build_fixture("front", "run-front"));
    built.1.clone()
}

/// A runtime on a fresh engine with nothing running.
fn runtime() -> Runtime {
    let engine = Arc::new(iso_host::IsoEngine::new(EngineOptions::default()).unwrap());
    Runtime::new(engine, iso_host::ComponentCache::new(None), Arc::new(NoLog)).unwrap()
}

/// Starts the component at `path` under `address`, which must succeed.
#[track_caller]
fn start(runtime: &mut Runtime, address: &str, path: PathBuf, wiring: Wiring, budget: Budget) {
    let bytes = std::fs::read(path).unwrap();
    if let Err(err) = runtime.start(address, &bytes, wiring, budget) {
        panic!("{address}: {err}");
    }
}

/// Front's store import wired to the store app.
fn to_store() -> Wiring {
    Wiring::new().import("local:store/api", "store")
}

/// `store`, and `front` with its import wired to `store`.
fn wired_runtime() -> Runtime {
    let mut runtime = runtime();
    start(
        &mut runtime,
        "store",
        store(),
        Wiring::new(),
        Budget::default(),
    );
    start(
        &mut runtime,
        "front",
        front(),
        to_store(),
        Budget::default(),
    );
    runtime
}

/// The one result of a call through the runtime, as WAVE.
#[track_caller]
fn wave(runtime: &Runtime, address: &str, call: &str) -> String {
    match block_on(runtime.call_wave(address, call)) {
        Ok(output) => output.results_wave().join(","),
        Err(err) => panic!("{address}: {call}: {err}"),
    }
}

#[test]
fn a_wired_call_reaches_the_provider_and_comes_back() {
    let runtime = wired_runtime();
    assert_eq!(wave(&runtime, "front", "remember(\"a\", 2)"), "1");
    assert_eq!(wave(&runtime, "front", "recall(\"a\")"), "some(2)");
    assert_eq!(
        wave(&runtime, "store", "get(\"a\")"),
        "some(2)",
        "the store keeps what front put"
    );
    assert_eq!(wave(&runtime, "front", "calls()"), "2");

    // `sum` takes a list: its forwarder is the dynamic one, with `Val`s.
    assert_eq!(wave(&runtime, "front", "remember(\"b\", 3)"), "3");
    assert_eq!(wave(&runtime, "front", "total([\"a\", \"b\", \"c\"])"), "5");
    let front = block_on(runtime.call_wave("front", "recall(\"a\")")).unwrap();
    let store = block_on(runtime.call_wave("store", "get(\"a\")")).unwrap();
    assert_eq!(front.usage.callees.calls, 1, "{:?}", front.usage);
    assert_eq!(
        front.usage.callees.fuel, store.usage.fuel,
        "the caller's usage reports the callee's fuel"
    );
    assert_eq!(store.usage.callees, iso_host::Callees::default());
}

#[test]
fn a_session_records_calls_between_apps_and_replays_them_without_the_callee() {
    let mut session = iso_host::Session::new(wired_runtime(), &["store", "front"]).unwrap();
    let call = |session: &mut iso_host::Session, call: &str| {
        let output = session.call("front", call).unwrap();
        output.results_wave().join(",")
    };
    assert_eq!(call(&mut session, "remember(\"a\", 2)"), "1");
    assert_eq!(call(&mut session, "recall(\"a\")"), "some(2)");
    assert_eq!(call(&mut session, "total([\"a\", \"b\"])"), "2");
    let nested: Vec<Vec<String>> = (session.history().iter())
        .map(|record| record.nested_calls().map(|c| c.to_string()).collect())
        .collect();
    assert_eq!(
        nested,
        [
            vec!["store.put(\"a\", 2) -> ()"],
            vec!["store.get(\"a\") -> some(2)"],
            vec!["store.sum([\"a\", \"b\"]) -> 2"],
        ],
        "typed and dynamic forwarders both record"
    );

    // The store changes under the front; a replay of the front still sees
    // the recorded answers, and does not call the store.
    session.call("store", "put(\"a\", 7)").unwrap();
    let front = session.app("front").unwrap();
    let (count, divergences) = session.replay("front", &front, None).unwrap();
    assert_eq!((count, divergences), (3, Vec::new()));
    let store_calls = session.call("store", "get(\"a\")").unwrap();
    assert_eq!(store_calls.results_wave(), ["some(7)"]);
}

#[test]
fn a_pool_of_stateless_instances_shares_calls_and_kv_and_serves_a_wired_caller() {
    let mut runtime = runtime();
    let bytes = std::fs::read(store()).unwrap();
    runtime
        .start_pool("store", &bytes, Wiring::new(), Budget::default(), 3)
        .unwrap();
    // All sent before any is awaited, so that they spread over the pool.
    let puts: Vec<_> = (0..30)
        .map(|i| runtime.call_wave("store", &format!("put(\"k{i}\", {i})")))
        .collect();
    for put in puts {
        block_on(put).unwrap();
    }
    for i in 0..30 {
        let got = wave(&runtime, "store", &format!("get(\"k{i}\")"));
        assert_eq!(got, format!("some({i})"), "every instance sees one kv");
    }
    let served = runtime
        .with_each_instance("store", |i| i.restarts())
        .unwrap();
    assert_eq!(served, vec![0, 0, 0]);
    let err = runtime
        .with_instance("store", |i| i.restarts())
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("`store` is a pool of 3 instances: reach them with `with_each_instance`"),
        "{err}"
    );
    let wiring = Wiring::new().import("local:store/api", "store");
    start(&mut runtime, "front", front(), wiring, Budget::default());
    assert_eq!(wave(&runtime, "front", "remember(\"a\", 2)"), "1");
    assert_eq!(wave(&runtime, "front", "recall(\"a\")"), "some(2)");
}

#[test]
fn start_all_starts_providers_first_and_leaves_nothing_running_when_one_is_refused() {
    use iso_host::runtime::Start;
    let (front_bytes, store_bytes) = (
        std::fs::read(front()).unwrap(),
        std::fs::read(store()).unwrap(),
    );
    let app = |address, bytes, wiring| Start {
        address,
        bytes,
        wiring,
        budget: Budget::default(),
    };
    let to_store = || Wiring::new().import("local:store/api", "store");
    let mut runtime = runtime();
    runtime
        .start_all(vec![
            app("front", &front_bytes, to_store()),
            app("store", &store_bytes, Wiring::new()),
        ])
        .unwrap();
    assert_eq!(wave(&runtime, "front", "remember(\"a\", 2)"), "1");

    let mut runtime = self::runtime();
    let err = runtime
        .start_all(vec![
            app("front", &front_bytes, to_store()),
            app("store", &store_bytes, Wiring::new()),
            app("other", &front_bytes, Wiring::new()),
        ])
        .unwrap_err();
    assert!(
        err.to_string().contains("`other`") && err.to_string().contains("local:store/api"),
        "{err}"
    );
    assert_eq!(
        runtime.addresses().count(),
        0,
        "the started ones were stopped"
    );
}

#[test]
fn a_pool_is_refused_for_an_app_with_state_and_for_no_instances() {
    let mut runtime = runtime();
    let counter = std::fs::read(misbehave()).unwrap();
    let err = runtime
        .start_pool("m", &counter, Wiring::new(), Budget::default(), 2)
        .unwrap_err();
    assert!(
        err.to_string().contains(
            "`m` keeps state (it exports iso:app/state), so it cannot run as a pool of 2 identical instances"
        ),
        "{err}"
    );
    let store = std::fs::read(store()).unwrap();
    let err = runtime
        .start_pool("s", &store, Wiring::new(), Budget::default(), 0)
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("a pool of 0 instances cannot serve `s`"),
        "{err}"
    );
    assert_eq!(runtime.addresses().count(), 0, "nothing was started");
}

#[test]
fn a_provider_out_of_fuel_fails_only_the_callers_call_and_names_itself() {
    let runtime = wired_runtime();
    assert_eq!(wave(&runtime, "front", "remember(\"a\", 2)"), "1");
    let starve = |budget| {
        runtime
            .with_instance("store", move |store| store.set_budget(budget))
            .unwrap()
    };
    starve(Budget {
        fuel: Some(Fuel(10)),
        ..Budget::default()
    });
    let err = block_on(runtime.call_wave("front", "remember(\"b\", 3)")).unwrap_err();
    let HostError::CalleeFailed {
        address,
        export,
        error,
    } = &err
    else {
        panic!("expected the callee's failure, got {err}");
    };
    assert_eq!(
        (address.as_str(), export.as_str()),
        ("store", "local:store/api@0.1.0#put")
    );
    assert_exceeded(error, BudgetKind::Fuel);
    assert!(
        err.to_string()
            .starts_with("`store` failed in `local:store/api@0.1.0#put`: fuel budget exceeded"),
        "{err}"
    );
    // The caller started again from its last good state; the callee kept its kv.
    assert_eq!(wave(&runtime, "front", "calls()"), "1");
    starve(Budget::default());
    assert_eq!(wave(&runtime, "front", "remember(\"b\", 3)"), "2");
    assert_eq!(wave(&runtime, "front", "recall(\"a\")"), "some(2)");
}

#[test]
fn wiring_is_refused_with_the_import_and_the_reason_named() {
    let mut runtime = runtime();
    start(
        &mut runtime,
        "store",
        store(),
        Wiring::new(),
        Budget::default(),
    );
    start(
        &mut runtime,
        "odd",
        misbehave(),
        Wiring::new(),
        Budget::default(),
    );
    let (store, front) = (
        std::fs::read(store()).unwrap(),
        std::fs::read(front()).unwrap(),
    );
    let refused = |runtime: &mut Runtime, address: &str, wiring: Wiring| {
        let bytes = if address == "store" { &store } else { &front };
        let err = runtime.start(address, bytes, wiring, Budget::default());
        err.unwrap_err().to_string()
    };
    let api = |to: &str| Wiring::new().import("local:store/api", to);
    for (address, wiring, expected) in [
        (
            "front",
            Wiring::new(),
            "`front` imports `local:store/api@0.1.0`, which the iso host does not provide",
        ),
        (
            "front",
            api("nowhere"),
            "from `nowhere`, but nothing runs under `nowhere`: start the provider first",
        ),
        ("front", api("front"), "wiring cycle: front -> front"),
        (
            "front",
            api("odd"),
            "`odd` cannot fill `front`'s import `local:store/api@0.1.0`:\n  export local:store/api@0.1.0: the provider does not export it at a compatible version [export-missing]",
        ),
        (
            "front",
            api("store").import("local:nope/api", "store"),
            "the wiring of `front` names `local:nope/api`, which it does not import",
        ),
        (
            "store",
            Wiring::new(),
            "an instance already runs under `store`",
        ),
        (
            "",
            Wiring::new(),
            "an address cannot be empty; name the app with letters, digits, `-` and `_`",
        ),
        (
            "my store",
            Wiring::new(),
            "the address `my store` has whitespace; name the app",
        ),
        (
            "store\n",
            Wiring::new(),
            "the address `store\\n` has a control character; name the app",
        ),
    ] {
        let err = refused(&mut runtime, address, wiring);
        assert!(err.contains(expected), "{err}\nexpected: {expected}");
    }
    assert_eq!(runtime.addresses().collect::<Vec<_>>(), ["odd", "store"]);
}

#[test]
fn a_provider_with_dependents_stops_only_with_them() {
    let mut runtime = wired_runtime();
    let err = runtime.stop(&["store"]).unwrap_err().to_string();
    assert!(
        err.contains("`store` provides imports of `front`: stop them with it"),
        "{err}"
    );
    assert_eq!(wave(&runtime, "front", "remember(\"a\", 1)"), "1");
    runtime.stop(&["store", "front"]).unwrap();
    assert_eq!(runtime.addresses().count(), 0);
    let err = block_on(runtime.call_wave("front", "calls()")).unwrap_err();
    assert!(
        err.to_string().contains("nothing runs under `front`"),
        "{err}"
    );
}

/// The store fixture built with `get` returning `option<u64>`: a provider of
/// `local:store/api` that no longer fits front's import.
fn wider_store() -> PathBuf {
    static BUILT: OnceLock<(GuestCrate, PathBuf)> = OnceLock::new();
    let built = BUILT.get_or_init(|| {
        let wider = GuestCrate::new("store", "run-store-wider");
        wider.edit("wit/world.wit", "-> option<u32>", "-> option<u64>");
        wider.edit("src/lib.rs", "-> Option<u32>", "-> Option<u64>");
        wider.cargo_iso(&["build", "-q"]).assert().success();
        let path = wider.component_path("debug");
        (wider, path)
    });
    built.1.clone()
}

#[test]
fn a_swap_keeps_state_and_wiring_and_refuses_to_break_a_dependent() {
    let mut runtime = wired_runtime();
    assert_eq!(wave(&runtime, "front", "remember(\"a\", 2)"), "1");
    let front_bytes = std::fs::read(front()).unwrap();
    let swapped = runtime.swap("front", &front_bytes, true).unwrap();
    assert_eq!((swapped.version, swapped.state_kept), (2, true));
    assert_eq!(
        wave(&runtime, "front", "calls()"),
        "1",
        "front's state was kept"
    );
    let store_bytes = std::fs::read(store()).unwrap();
    assert_eq!(
        runtime.swap("store", &store_bytes, true).unwrap().version,
        2
    );
    assert_eq!(
        wave(&runtime, "front", "recall(\"a\")"),
        "some(2)",
        "front still reaches the store, which kept its kv"
    );
    let wider = std::fs::read(wider_store()).unwrap();
    let err = runtime.swap("store", &wider, true).unwrap_err().to_string();
    assert!(
        err.contains(
            "the new version of `store` cannot fill `front`'s import `local:store/api@0.1.0`"
        ),
        "{err}"
    );
    assert!(err.contains("[type-changed]"), "{err}");
    let odd = std::fs::read(misbehave()).unwrap();
    let err = runtime.swap("store", &odd, false).unwrap_err().to_string();
    assert!(err.contains("[export-missing]"), "{err}");
    assert_eq!(
        wave(&runtime, "front", "recall(\"a\")"),
        "some(2)",
        "v2 still serves"
    );
}

#[test]
fn a_provider_of_another_type_is_refused_with_what_differs() {
    let mut runtime = runtime();
    start(
        &mut runtime,
        "store",
        wider_store(),
        Wiring::new(),
        Budget::default(),
    );
    let front = std::fs::read(front()).unwrap();
    let err = runtime
        .start("front", &front, to_store(), Budget::default())
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("func get: result.option: type changed from u32 to u64 [type-changed]"),
        "{err}"
    );
}

#[test]
fn an_instance_that_keeps_failing_is_stopped_and_its_callers_are_told() {
    let mut runtime = runtime();
    runtime.set_restart_intensity(iso_host::runtime::RestartIntensity {
        restarts: 2,
        within: Duration::from_secs(60),
    });
    let starved = Budget {
        fuel: Some(Fuel(10)),
        ..Budget::default()
    };
    start(&mut runtime, "store", store(), Wiring::new(), starved);
    start(
        &mut runtime,
        "front",
        front(),
        to_store(),
        Budget::default(),
    );
    for _ in 0..3 {
        let err = block_on(runtime.call_wave("store", "get(\"a\")")).unwrap_err();
        assert_exceeded(&err, BudgetKind::Fuel);
    }
    let err = block_on(runtime.call_wave("store", "get(\"a\")")).unwrap_err();
    assert!(
        matches!(err, HostError::Stopped { restarts: 3, .. }),
        "{err}"
    );
    assert!(
        err.to_string().starts_with("stopped after 3 restarts in "),
        "{err}"
    );
    assert!(err.to_string().contains(": fuel budget exceeded"), "{err}");
    for _ in 0..4 {
        let err = block_on(runtime.call_wave("front", "recall(\"a\")")).unwrap_err();
        assert!(
            matches!(&err, HostError::CalleeFailed { error, .. } if matches!(**error, HostError::Stopped { .. })),
            "{err}"
        );
    }
    assert_eq!(
        wave(&runtime, "front", "calls()"),
        "0",
        "the callee's failures do not stop the caller"
    );
}

#[test]
fn a_thousand_concurrent_calls_over_fifty_instances_are_each_answered_once() {
    let mut runtime = runtime();
    start(
        &mut runtime,
        "store",
        store(),
        Wiring::new(),
        Budget::default(),
    );
    let fronts: Vec<String> = (0..50).map(|i| format!("front-{i}")).collect();
    for address in &fronts {
        start(
            &mut runtime,
            address,
            front(),
            to_store(),
            Budget::default(),
        );
    }
    // Every call is sent before any answer is awaited.
    let calls: Vec<_> = (0..1000)
        .map(|i| {
            let address = &fronts[i % fronts.len()];
            let call = runtime.call_wave(address, &format!("remember(\"k{i}\", {i})"));
            (i % fronts.len(), call)
        })
        .collect();
    let mut counts = vec![Vec::new(); fronts.len()];
    for (front, call) in calls {
        let output = block_on(call).unwrap();
        counts[front].push(output.results_wave()[0].parse::<u32>().unwrap());
    }
    for (address, mut seen) in fronts.iter().zip(counts) {
        seen.sort_unstable();
        assert_eq!(seen, (1..=20).collect::<Vec<u32>>(), "{address}");
        assert_eq!(wave(&runtime, address, "calls()"), "20");
    }
    for i in (0..1000).step_by(37) {
        assert_eq!(
            wave(&runtime, "store", &format!("get(\"k{i}\")")),
            format!("some({i})")
        );
    }
}

#[test]
fn guests_stuck_until_their_time_budget_delay_no_other_instance() {
    // More stuck guests than the pool has workers: the pool must add some.
    const STUCK: usize = 4;
    let mut runtime = runtime();
    let stuck = Budget {
        timeout: Some(Timeout(Duration::from_secs(5))),
        ..Budget::default()
    };
    for i in 0..STUCK {
        start(
            &mut runtime,
            &format!("stuck-{i}"),
            misbehave(),
            Wiring::new(),
            stuck,
        );
    }
    start(
        &mut runtime,
        "store",
        store(),
        Wiring::new(),
        Budget::default(),
    );
    let done = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let waiters: Vec<_> = (0..STUCK)
        .map(|i| {
            let spinning = runtime.call_wave(&format!("stuck-{i}"), "spin()");
            let done = done.clone();
            std::thread::spawn(move || {
                let result = block_on(spinning);
                done.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                result
            })
        })
        .collect();
    for i in 0..20 {
        assert_eq!(wave(&runtime, "store", &format!("put(\"k\", {i})")), "");
    }
    assert_eq!(wave(&runtime, "store", "get(\"k\")"), "some(19)");
    assert_eq!(
        done.load(std::sync::atomic::Ordering::SeqCst),
        0,
        "the store answered only after a stuck guest's 5 s budget ran out"
    );
    for waiter in waiters {
        let err = waiter.join().unwrap().unwrap_err();
        assert_exceeded(&err, BudgetKind::Time);
    }
}

/// The relay fixture: it imports `local:store/api`, exports the same api
/// (each call passed on) and `local:relay/api`, whose `fail` misbehaves on request.
fn relay() -> PathBuf {
    static BUILT: OnceLock<(GuestCrate, PathBuf)> = OnceLock::new();
    let built = BUILT.get_or_init(|| build_fixture("relay", "run-relay"));
    built.1.clone()
}

/// The fan fixture: it keeps state and imports both `local:store/api` and `local:relay/api`.
fn fan() -> PathBuf {
    static BUILT: OnceLock<(GuestCrate, PathBuf)> = OnceLock::new();
    let built = BUILT.get_or_init(|| build_fixture("fan", "run-fan"));
    built.1.clone()
}

/// Fan's two imports wired to `store_api` and `relay_api`.
fn fan_wiring(store_api: &str, relay_api: &str) -> Wiring {
    Wiring::new()
        .import("local:store/api", store_api)
        .import("local:relay/api", relay_api)
}

#[test]
fn three_apps_wired_in_a_chain_pass_calls_along() {
    let mut runtime = runtime();
    let none = Budget::default();
    start(&mut runtime, "store", store(), Wiring::new(), none);
    start(&mut runtime, "relay", relay(), to_store(), none);
    let to_relay = Wiring::new().import("local:store/api", "relay");
    start(&mut runtime, "front", front(), to_relay, none);
    assert_eq!(wave(&runtime, "front", "remember(\"a\", 2)"), "1");
    assert_eq!(wave(&runtime, "store", "get(\"a\")"), "some(2)");
    let recall = block_on(runtime.call_wave("front", "recall(\"a\")")).unwrap();
    assert_eq!(recall.results_wave(), ["some(2)"]);
    assert_eq!(
        recall.usage.callees.calls, 2,
        "front -> relay -> store: two wired calls"
    );
    // A list crosses both hops through the dynamic forwarder.
    assert_eq!(wave(&runtime, "front", "total([\"a\", \"b\"])"), "2");
    let err = runtime.stop(&["relay"]).unwrap_err().to_string();
    assert!(err.contains("stop them with it"), "{err}");
    runtime.stop(&["front", "relay"]).unwrap();
    assert_eq!(wave(&runtime, "store", "get(\"a\")"), "some(2)");
}

#[test]
fn a_diamond_of_four_apps_starts_in_any_order_and_shares_one_store() {
    let mut runtime = runtime();
    let bytes = |path: PathBuf| std::fs::read(path).unwrap();
    let (store_bytes, relay_bytes, fan_bytes) = (bytes(store()), bytes(relay()), bytes(fan()));
    let app = |address, bytes, wiring| iso_host::runtime::Start {
        address,
        bytes,
        wiring,
        budget: Budget::default(),
    };
    // Listed top first: start_all must start the store, then the relays.
    runtime
        .start_all(vec![
            app("fan", &fan_bytes, fan_wiring("left", "right")),
            app("left", &relay_bytes, to_store()),
            app("right", &relay_bytes, to_store()),
            app("store", &store_bytes, Wiring::new()),
        ])
        .unwrap();
    assert_eq!(wave(&runtime, "fan", "put(\"a\", 5)"), "");
    let both = block_on(runtime.call_wave("fan", "both(\"a\")")).unwrap();
    assert_eq!(
        both.results_wave(),
        ["10"],
        "the same value down both sides"
    );
    assert_eq!(
        both.usage.callees.calls, 4,
        "fan -> left -> store, fan -> right -> store"
    );
    let relayed = wave(&runtime, "right", "local:relay/api#get(\"a\")");
    assert_eq!(relayed, "some(5)");
}

#[test]
fn a_callee_that_traps_panics_or_exceeds_a_budget_fails_only_the_callers_call() {
    let mut runtime = runtime();
    // Eight failures below: more than the default intensity allows.
    runtime.set_restart_intensity(iso_host::runtime::RestartIntensity {
        restarts: 100,
        within: Duration::from_secs(60),
    });
    let tight = Budget {
        fuel: Some(Fuel(50_000_000)),
        memory: Some(MemorySize(16 << 20)),
        ..Budget::default()
    };
    start(
        &mut runtime,
        "store",
        store(),
        Wiring::new(),
        Budget::default(),
    );
    start(&mut runtime, "relay", relay(), to_store(), tight);
    let wiring = fan_wiring("relay", "relay");
    start(&mut runtime, "fan", fan(), wiring, Budget::default());
    start(
        &mut runtime,
        "bystander",
        front(),
        to_store(),
        Budget::default(),
    );
    assert_eq!(wave(&runtime, "fan", "put(\"k\", 1)"), "");
    assert_eq!(wave(&runtime, "fan", "fail(\"nothing\")"), "7");
    assert_eq!(wave(&runtime, "bystander", "remember(\"b\", 3)"), "1");
    type Expected = fn(&HostError) -> bool;
    let kinds: [(&str, Expected); 4] = [
        ("trap", |e| matches!(e, HostError::Trap { .. })),
        (
            "panic",
            |e| matches!(e, HostError::GuestPanic { message, .. } if message == "the relay was asked to panic"),
        ),
        ("hog", |e| {
            matches!(
                e,
                HostError::BudgetExceeded {
                    kind: BudgetKind::Memory,
                    ..
                }
            )
        }),
        ("spin", |e| {
            matches!(
                e,
                HostError::BudgetExceeded {
                    kind: BudgetKind::Fuel,
                    ..
                }
            )
        }),
    ];
    for (how, expected) in kinds {
        let err = block_on(runtime.call_wave("fan", &format!("fail(\"{how}\")"))).unwrap_err();
        let HostError::CalleeFailed {
            address,
            export,
            error,
        } = &err
        else {
            panic!("{how}: expected the callee's failure, got {err}");
        };
        assert_eq!(
            (address.as_str(), export.as_str()),
            ("relay", "local:relay/api@0.1.0#fail"),
            "{how}"
        );
        assert!(expected(error), "{how}: {error}");
        // Where the WIT returns result<_, string>, the guest gets the failure.
        let handled = wave(&runtime, "fan", &format!("try-fail(\"{how}\")"));
        assert!(
            handled.starts_with("\"failed: `relay` failed in `local:relay/api@0.1.0#try-fail`: "),
            "{how}: {handled}"
        );
        assert_eq!(
            wave(&runtime, "fan", "calls()"),
            "1",
            "{how}: fan's state is its last good one"
        );
        assert_eq!(
            wave(&runtime, "fan", "both(\"k\")"),
            "2",
            "{how}: the relay serves again"
        );
        assert_eq!(
            wave(&runtime, "bystander", "recall(\"b\")"),
            "some(3)",
            "{how}"
        );
    }
    assert_eq!(
        wave(&runtime, "bystander", "calls()"),
        "5",
        "no other instance was touched"
    );
}

#[test]
fn swaps_under_concurrent_calls_lose_none() {
    let mut runtime = wired_runtime();
    let front_bytes = std::fs::read(front()).unwrap();
    let store_bytes = std::fs::read(store()).unwrap();
    let mut calls = Vec::new();
    let mut send = |runtime: &Runtime, from: usize| {
        for i in from..from + 500 {
            calls.push(runtime.call_wave("front", &format!("remember(\"k{i}\", {i})")));
        }
    };
    // Each swap waits in the mailbox behind the calls sent before it.
    send(&runtime, 0);
    assert_eq!(
        runtime.swap("store", &store_bytes, true).unwrap().version,
        2
    );
    send(&runtime, 500);
    let swapped = runtime.swap("front", &front_bytes, true).unwrap();
    assert_eq!((swapped.version, swapped.state_kept), (2, true));
    send(&runtime, 1000);
    let counts: Vec<String> = calls
        .into_iter()
        .map(|call| block_on(call).unwrap().results_wave().join(""))
        .collect();
    let expected: Vec<String> = (1..=1500).map(|n| n.to_string()).collect();
    assert_eq!(counts, expected, "every call answered once, in order");
    for i in (0..1500).step_by(7) {
        assert_eq!(
            wave(&runtime, "store", &format!("get(\"k{i}\")")),
            format!("some({i})")
        );
    }
}

/// `local:store/api` written in Rust, over a map: a system interface.
fn rust_store() -> iso_host::runtime::SystemInterface {
    type Map = Arc<std::sync::Mutex<std::collections::HashMap<String, u32>>>;
    let map: Map = Map::default();
    Arc::new(move |api| {
        let puts = map.clone();
        api.func_wrap("put", move |_, (key, value): (String, u32)| {
            puts.lock().unwrap().insert(key, value);
            Ok(())
        })?;
        let gets = map.clone();
        api.func_wrap("get", move |_, (key,): (String,)| {
            Ok((gets.lock().unwrap().get(&key).copied(),))
        })?;
        let sums = map.clone();
        api.func_wrap("sum", move |_, (keys,): (Vec<String>,)| {
            let map = sums.lock().unwrap();
            Ok((keys.iter().filter_map(|k| map.get(k)).sum::<u32>(),))
        })?;
        Ok(())
    })
}

#[test]
fn an_import_is_filled_by_a_system_interface_written_in_rust() {
    let mut runtime = runtime();
    let err = runtime
        .start(
            "front",
            &std::fs::read(front()).unwrap(),
            Wiring::new().system("local:store/api"),
            Budget::default(),
        )
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("no system interface of that name is registered"),
        "{err}"
    );
    runtime.provide("local:store/api", rust_store());
    start(
        &mut runtime,
        "front",
        front(),
        Wiring::new(),
        Budget::default(),
    );
    assert_eq!(wave(&runtime, "front", "remember(\"a\", 2)"), "1");
    assert_eq!(wave(&runtime, "front", "remember(\"b\", 3)"), "2");
    assert_eq!(wave(&runtime, "front", "recall(\"a\")"), "some(2)");
    assert_eq!(wave(&runtime, "front", "total([\"a\", \"b\"])"), "5");

    // A system interface of the wrong type is refused when the app starts.
    let mut runtime = self::runtime();
    runtime.provide(
        "local:store/api",
        Arc::new(|api| api.func_wrap("get", |_, (_key,): (String,)| Ok((7u64,)))),
    );
    let err = runtime
        .start(
            "front",
            &std::fs::read(front()).unwrap(),
            Wiring::new(),
            Budget::default(),
        )
        .unwrap_err()
        .to_string();
    assert!(err.contains("local:store/api@0.1.0"), "{err}");
}

#[test]
fn a_typed_handle_survives_restarts_and_swaps_and_fails_once_stopped() {
    let mut runtime = runtime();
    start(
        &mut runtime,
        "m",
        misbehave(),
        Wiring::new(),
        Budget::default(),
    );
    let add = runtime.typed::<(u64,), (u64,)>("m", "add").unwrap();
    let call = |handle: &iso_host::runtime::TypedHandle<(u64,), (u64,)>, n| {
        block_on(handle.call((n,))).map(|((total,), _)| total)
    };
    assert_eq!(call(&add, 2).unwrap(), 2);
    let err = block_on(runtime.call_wave("m", "boom(\"no\")")).unwrap_err();
    assert!(matches!(err, HostError::GuestPanic { .. }), "{err}");
    assert_eq!(
        call(&add.clone(), 3).unwrap(),
        5,
        "from the last good state"
    );
    let bytes = std::fs::read(misbehave()).unwrap();
    assert_eq!(runtime.swap("m", &bytes, true).unwrap().version, 2);
    assert_eq!(call(&add, 1).unwrap(), 6, "the new version, with the state");
    let wrong = runtime.typed::<(u32,), (u64,)>("m", "add").err().unwrap();
    assert!(matches!(wrong, HostError::BadArguments { .. }), "{wrong}");
    // On this thread: a panic restarts the instance here, and the next
    // call finds the last good state.
    let boom = runtime.typed::<(&str,), ()>("m", "boom").unwrap();
    let err = boom.call_blocking(("here",)).unwrap_err();
    assert!(matches!(err, HostError::GuestPanic { .. }), "{err}");
    assert_eq!(add.call_blocking((1,)).unwrap().0, (7,));
    runtime.stop(&["m"]).unwrap();
    let err = call(&add, 1).unwrap_err().to_string();
    assert_eq!(err, "nothing runs under `m`");
    let err = add.call_blocking((1,)).unwrap_err().to_string();
    assert_eq!(err, "nothing runs under `m`");
}

#[test]
fn blocking_calls_from_many_threads_and_queued_calls_are_each_made_once() {
    let mut runtime = runtime();
    start(
        &mut runtime,
        "m",
        misbehave(),
        Wiring::new(),
        Budget::default(),
    );
    let add = runtime.typed::<(u64,), (u64,)>("m", "add").unwrap();
    let threads: Vec<_> = (0..4)
        .map(|_| {
            let add = add.clone();
            std::thread::spawn(move || {
                (0..250)
                    .map(|_| add.call_blocking((1,)).unwrap().0.0)
                    .collect::<Vec<u64>>()
            })
        })
        .collect();
    let queued: Vec<_> = (0..250).map(|_| add.call((1,))).collect();
    let mut totals: Vec<u64> = queued
        .into_iter()
        .map(|call| block_on(call).unwrap().0.0)
        .collect();
    for thread in threads {
        totals.extend(thread.join().unwrap());
    }
    totals.sort_unstable();
    assert_eq!(totals, (1..=1250).collect::<Vec<u64>>());
}

/// Fault: a call from another host waits in the mailbox behind a long
/// one until its caller has given up. It is not made when its turn comes.
#[test]
fn a_remote_call_whose_caller_gave_up_while_it_waited_is_not_made() {
    use iso_host::runtime::{InProcess, RemoteApp};
    let mut server = runtime();
    let budget = Budget {
        timeout: Some(iso_host::Timeout(Duration::from_secs(1))),
        ..Budget::default()
    };
    start(&mut server, "m", misbehave(), Wiring::new(), budget);
    let server = Arc::new(server);
    let transport = Arc::new(InProcess::new());
    transport.serve(server.clone());
    let busy = server.call_wave("m", "spin()");
    let remote = RemoteApp::connect(transport, "m", Duration::from_secs(1)).unwrap();
    let err = remote
        .call_wave("add(1)", Duration::from_millis(200))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("the caller's deadline passed while the call waited its turn"),
        "{err}"
    );
    assert!(block_on(busy).is_err(), "spin() ran out of time");
    assert_eq!(wave(&server, "m", "total()"), "0", "add(1) was not made");
}

#[test]
fn a_remote_provider_over_a_transport_is_used_like_a_local_one() {
    use iso_host::codec::{RemoteError, decode_answer};
    use iso_host::runtime::InProcess;
    // The store on one host...
    let mut server = runtime();
    start(
        &mut server,
        "store",
        store(),
        Wiring::new(),
        Budget::default(),
    );
    let front_bytes = std::fs::read(front()).unwrap();
    (server.start("not-a-store", &front_bytes, to_store(), Budget::default())).unwrap();
    let server = Arc::new(server);
    let transport = Arc::new(InProcess::new());
    transport.serve(server.clone());
    // ...and the front on another, its import filled by the remote store.
    let mut client = runtime();
    client.set_transport(transport);
    let remote = |address: &str| Wiring::new().remote("local:store/api", address);
    (client.start("front", &front_bytes, remote("store"), Budget::default())).unwrap();
    assert_eq!(wave(&client, "front", "remember(\"a\", 2)"), "1");
    assert_eq!(wave(&client, "front", "recall(\"a\")"), "some(2)");
    assert_eq!(wave(&client, "front", "total([\"a\", \"b\"])"), "2");
    assert_eq!(
        wave(&server, "store", "get(\"a\")"),
        "some(2)",
        "the remote store keeps it"
    );

    // Checked at start against what the remote serves, the import named.
    let err = (client.start("front-2", &front_bytes, remote("nobody"), Budget::default()))
        .unwrap_err()
        .to_string();
    assert_eq!(
        err,
        "`front-2` imports `local:store/api@0.1.0` from the remote `nobody`, which cannot be checked: no host serves `nobody`"
    );
    let err = (client.start(
        "front-3",
        &front_bytes,
        remote("not-a-store"),
        Budget::default(),
    ))
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("local:store/api@0.1.0") && err.contains("not-a-store"),
        "{err}"
    );
    // Garbage sent to a host is answered with a typed error.
    let reply = block_on(server.answer(b"\x01garbage"));
    let (_, answer) = decode_answer(&reply, &[]).unwrap();
    assert!(
        matches!(&answer, Err(RemoteError::BadRequest(why)) if why.contains("at byte")),
        "{answer:?}"
    );

    // A call that reaches the host after its caller's deadline is
    // answered with that failure, and not made.
    let put = "local:store/api@0.1.0#put";
    let ty = server.app("store").unwrap().func_type(put).unwrap();
    let params: Vec<_> = ty.params().map(|(_, ty)| ty).collect();
    let put_late = |deadline_ms| {
        let header = iso_host::codec::CallHeader {
            id: 7,
            address: "store".into(),
            export: put.into(),
            fuel: None,
            timeout_us: None,
            deadline_ms,
        };
        let args = [Val::String("late".into()), Val::U32(9)];
        iso_host::codec::encode_call(&header, &params, &args).unwrap()
    };
    let (_, answer) = decode_answer(&block_on(server.answer(&put_late(Some(1)))), &[]).unwrap();
    assert!(
        matches!(&answer, Err(RemoteError::BudgetExceeded { kind, .. }) if kind == "time"),
        "{answer:?}"
    );
    assert_eq!(
        wave(&server, "store", "get(\"late\")"),
        "none",
        "never made"
    );
    // Made on the transport's thread only when the app has a time budget.
    assert_eq!(server.try_answer_here(&put_late(None)), None);
    let mut timed = runtime();
    let budget = Budget {
        timeout: Some(Timeout(Duration::from_secs(1))),
        ..Budget::default()
    };
    start(&mut timed, "store", store(), Wiring::new(), budget);
    let reply = timed.try_answer_here(&put_late(None)).expect("made here");
    assert_eq!(decode_answer(&reply, &[]).unwrap().1, Ok(vec![]));
    assert_eq!(wave(&timed, "store", "get(\"late\")"), "some(9)");
}
