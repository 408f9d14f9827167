//! Durable storage: kv and state in the host's database, one transaction
//! per call, the storage budget, and what happens to the database when the
//! host is killed, or the database is held or corrupt.

mod support;

use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use iso_host::runtime::{Runtime, Wiring, block_on};
use iso_host::{
    Budget, BudgetKind, ComponentCache, Durability, EngineOptions, HostError, IsoEngine,
    MemorySize, NoLog, Storage,
};
use predicates::prelude::*;
use support::{GuestCrate, cargo_iso};

/// The misbehave fixture, built once for the whole file; returns its component.
fn misbehave() -> PathBuf {
    static BUILT: OnceLock<(GuestCrate, PathBuf)> = OnceLock::new();
    let built = BUILT.get_or_init(|| {
        let guest = GuestCrate::new("misbehave", "storage-misbehave");
        guest.cargo_iso(&["build", "-q"]).assert().success();
        let path = guest.component_path("debug");
        (guest, path)
    });
    built.1.clone()
}

/// A runtime that keeps its apps' kv and state in `storage`, with
/// misbehave started under `m`.
fn runtime_on(storage: Storage, budget: Budget) -> Runtime {
    let engine = Arc::new(IsoEngine::new(EngineOptions::default()).unwrap());
    let mut runtime = Runtime::new(engine, ComponentCache::new(None), Arc::new(NoLog)).unwrap();
    runtime.set_storage(storage);
    let bytes = std::fs::read(misbehave()).unwrap();
    runtime.start("m", &bytes, Wiring::new(), budget).unwrap();
    runtime
}

fn call(runtime: &Runtime, text: &str) -> Result<String, HostError> {
    block_on(runtime.call_wave("m", text)).map(|output| output.results_wave().join(","))
}

#[test]
fn a_call_that_fails_leaves_no_writes_and_the_next_sees_the_last_commit() {
    let data = tempfile::tempdir().unwrap();
    let storage = Storage::open(data.path(), Durability::EveryCall).unwrap();
    let runtime = runtime_on(storage, Budget::default());
    assert_eq!(call(&runtime, "add(5)").unwrap(), "5");
    call(&runtime, "stash(\"a\", 1)").unwrap();
    let err = call(&runtime, "boom(\"no\")").unwrap_err();
    assert!(matches!(err, HostError::GuestPanic { .. }), "{err}");
    assert_eq!(call(&runtime, "stashed(\"boom\")").unwrap(), "0");
    assert_eq!(call(&runtime, "total()").unwrap(), "5");
    drop(runtime);

    // A new host on the same folder finds the committed kv and state.
    let storage = Storage::open(data.path(), Durability::EveryCall).unwrap();
    let runtime = runtime_on(storage, Budget::default());
    assert_eq!(call(&runtime, "total()").unwrap(), "5");
    assert_eq!(call(&runtime, "stashed(\"a\")").unwrap(), "1024");
    assert_eq!(call(&runtime, "stashed(\"boom\")").unwrap(), "0");
}

#[test]
fn the_storage_budget_stops_a_flood_and_keeps_nothing_of_the_call() {
    let budget = Budget {
        storage: Some(MemorySize(4 << 20)),
        ..Budget::default()
    };
    let runtime = runtime_on(Storage::in_memory(), budget);
    call(&runtime, "stash(\"small\", 1)").unwrap();
    let err = call(&runtime, "flood(100)").unwrap_err();
    assert!(
        matches!(
            err,
            HostError::BudgetExceeded {
                kind: BudgetKind::Storage,
                ..
            }
        ),
        "{err}"
    );
    assert_eq!(
        err.to_string(),
        "storage budget exceeded: limit 4.0 MiB, used 4.0 MiB"
    );
    assert_eq!(call(&runtime, "stashed(\"flood/0\")").unwrap(), "0");
    assert_eq!(call(&runtime, "stashed(\"small\")").unwrap(), "1024");
    // What is kept still counts: three more MiB fit, four do not.
    call(&runtime, "flood(3)").unwrap();
    assert!(call(&runtime, "stash(\"more\", 1024)").is_err());
}

#[test]
fn a_key_or_value_too_large_fails_the_call_with_its_size() {
    let runtime = runtime_on(Storage::in_memory(), Budget::default());
    let long_key = "k".repeat(2000);
    let err = call(&runtime, &format!("stash(\"{long_key}\", 1)")).unwrap_err();
    assert_eq!(
        err.to_string(),
        "kv write refused: a key of 2000 bytes is longer than 1024 bytes"
    );
    let err = call(&runtime, "stash(\"big\", 20000)").unwrap_err();
    assert!(
        err.to_string()
            .starts_with("kv write refused: a value of 19.5 MiB for `big` is larger than 16.0 MiB"),
        "{err}"
    );
}

#[test]
fn a_held_or_corrupt_database_is_an_error_naming_its_path() {
    let data = tempfile::tempdir().unwrap();
    let held = Storage::open(data.path(), Durability::EveryCall).unwrap();
    let err = Storage::open(data.path(), Durability::EveryCall)
        .err()
        .unwrap();
    let file = data.path().join("iso.redb");
    let holder = format!("process {} (`", std::process::id());
    assert!(
        err.to_string()
            .starts_with(&format!("storage `{}` is held by {holder}", file.display())),
        "{err}"
    );
    assert!(
        err.to_string()
            .ends_with("`); stop that process, or use another folder"),
        "{err}"
    );
    // The CLI says the same, with what to do, and runs nothing.
    let wasm = misbehave();
    cargo_iso()
        .args(["run"])
        .arg(&wasm)
        .arg("--data")
        .arg(data.path())
        .args(["--invoke", "add(1)"])
        .assert()
        .code(2)
        .stdout("")
        .stderr(predicate::str::contains(format!("is held by {holder}")))
        .stderr(predicate::str::contains(
            "note: or run with `--data DIR` for a folder of its own, or `--no-data` to keep nothing",
        ));
    drop(held);

    std::fs::write(&file, vec![0xA5; 64 << 10]).unwrap();
    let err = Storage::open(data.path(), Durability::EveryCall)
        .err()
        .unwrap();
    assert!(
        err.to_string()
            .starts_with(&format!("storage `{}`: ", file.display())),
        "{err}"
    );
}

#[test]
fn run_exits_13_when_the_flood_meets_the_storage_budget_with_host_memory_bounded() {
    let data = tempfile::tempdir().unwrap();
    let child = std::process::Command::new(env!("CARGO_BIN_EXE_cargo-iso"))
        .args(["iso", "run", "-q"])
        .arg(misbehave())
        .arg("--data")
        .arg(data.path())
        .args(["--memory", "16MiB", "--storage", "64MiB"])
        .args(["--invoke", "flood(10000)"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let (code, peak_kib, stderr) = wait_with_peak_rss(child);
    assert_eq!(code, Some(13), "{stderr}");
    assert!(peak_kib > 0, "no RSS was read");
    assert!(
        stderr.contains("storage budget exceeded: limit 64.0 MiB"),
        "{stderr}"
    );
    assert!(
        peak_kib < 2 * 64 * 1024,
        "the host's peak RSS was {peak_kib} KiB, over twice the 64 MiB budget"
    );
}

/// Waits for `child`, returning its exit code, its peak RSS in KiB (the
/// largest `VmHWM` read from `/proc` while it ran, every millisecond), and
/// its stderr.
fn wait_with_peak_rss(mut child: std::process::Child) -> (Option<i32>, u64, String) {
    let mut pipe = child.stderr.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut stderr = String::new();
        std::io::Read::read_to_string(&mut pipe, &mut stderr).unwrap();
        stderr
    });
    let status_file = format!("/proc/{}/status", child.id());
    let mut peak = 0;
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        let status = std::fs::read_to_string(&status_file).unwrap_or_default();
        let hwm = status
            .lines()
            .find_map(|line| line.strip_prefix("VmHWM:"))
            .and_then(|kib| kib.trim().trim_end_matches(" kB").trim().parse().ok());
        peak = peak.max(hwm.unwrap_or(0));
        std::thread::sleep(std::time::Duration::from_millis(1));
    };
    (status.code(), peak, reader.join().unwrap())
}

/// A counter guest, built once; returns its component.
fn counter() -> PathBuf {
    static BUILT: OnceLock<(tempfile::TempDir, PathBuf)> = OnceLock::new();
    let built = BUILT.get_or_init(|| {
        let (scratch, dir) = support::scaffold("durable", None);
        support::build_component(&dir);
        let path = dir.join("target/iso/debug/durable.wasm");
        assert!(path.is_file(), "{}", path.display());
        (scratch, path)
    });
    built.1.clone()
}

/// `cargo iso run COUNTER --data DIR` with `calls`.
fn run_counter(data: &Path, calls: &[&str]) -> std::process::Command {
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_cargo-iso"));
    command
        .args(["iso", "run", "-q"])
        .arg(counter())
        .arg("--data")
        .arg(data)
        // The suite's cache of compiled components: each run loads it compiled.
        .env(
            "CARGO_ISO_SHARED_TARGET_DIR",
            support::shared_target_dir().join("shared"),
        );
    for call in calls {
        command.args(["--invoke", call]);
    }
    command
}

#[test]
fn no_acknowledged_call_is_lost_when_the_host_is_killed() {
    let data = tempfile::tempdir().unwrap();
    let mut acknowledged = 0u64;
    let mut seed = 0x2545_f491_4f6c_dd1du64;
    let mut kills = 0;
    while acknowledged < 200 {
        let calls = vec!["increment(1)"; 200];
        let mut child = run_counter(data.path(), &calls)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (lines, acks) = std::sync::mpsc::channel();
        let reader = std::thread::spawn(move || {
            for line in std::io::BufReader::new(stdout)
                .lines()
                .map_while(Result::ok)
            {
                let _ = lines.send(line);
            }
        });
        // Killed after a random number of acknowledgements, mid-call.
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let kill_after = 1 + seed % 40;
        let mut acked_now = 0;
        while acked_now < kill_after && acks.recv().is_ok() {
            acked_now += 1;
        }
        let _ = child.kill();
        let _ = child.wait();
        kills += 1;
        reader.join().unwrap();
        acked_now += acks.try_iter().count() as u64;
        let output = run_counter(data.path(), &["get()"]).output().unwrap();
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        let count: u64 = String::from_utf8_lossy(&output.stdout)
            .trim()
            .parse()
            .unwrap();
        let expected = acknowledged + acked_now;
        assert!(
            count == expected || count == expected + 1,
            "after kill {kills}: count {count}, but {expected} calls were acknowledged"
        );
        acknowledged = count;
    }
    assert!(kills >= 5, "the host was killed only {kills} times");
}

#[test]
fn a_full_disk_fails_the_call_and_keeps_what_was_committed() {
    let mount = tempfile::tempdir().unwrap();
    let mounted = std::process::Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=4m", "tmpfs"])
        .arg(mount.path())
        .output();
    if !mounted.is_ok_and(|out| out.status.success()) {
        eprintln!("skipped: this machine does not let the test mount a small tmpfs");
        return;
    }
    let result = std::panic::catch_unwind(|| {
        let storage = Storage::open(mount.path(), Durability::EveryCall).unwrap();
        let runtime = runtime_on(storage, Budget::default());
        call(&runtime, "stash(\"a\", 1)").unwrap();
        let err = call(&runtime, "stash(\"big\", 8192)").unwrap_err();
        let file = mount.path().join("iso.redb");
        assert!(
            err.to_string()
                .starts_with(&format!("storage `{}`: ", file.display()))
                && err.to_string().contains("No space left on device"),
            "{err}"
        );
        assert_eq!(call(&runtime, "stashed(\"a\")").unwrap(), "1024");
        assert_eq!(call(&runtime, "stashed(\"big\")").unwrap(), "0");
        drop(runtime);
        let storage = Storage::open(mount.path(), Durability::EveryCall).unwrap();
        let runtime = runtime_on(storage, Budget::default());
        assert_eq!(call(&runtime, "stashed(\"a\")").unwrap(), "1024");
    });
    let _ = std::process::Command::new("umount")
        .arg(mount.path())
        .status();
    if let Err(panic) = result {
        std::panic::resume_unwind(panic);
    }
}

#[test]
fn reset_and_fresh_start_an_app_from_its_default_state_and_no_kv() {
    let data = tempfile::tempdir().unwrap();
    let stdout = |command: &mut std::process::Command| {
        let output = command.output().unwrap();
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8(output.stdout).unwrap()
    };
    assert_eq!(
        stdout(&mut run_counter(data.path(), &["increment(3)"])),
        "3\n"
    );
    assert_eq!(stdout(&mut run_counter(data.path(), &["get()"])), "3\n");
    assert_eq!(
        stdout(run_counter(data.path(), &["get()"]).args(["--reset", "durable"])),
        "0\n"
    );
    assert_eq!(
        stdout(&mut run_counter(data.path(), &["increment(2)"])),
        "2\n"
    );
    assert_eq!(
        stdout(run_counter(data.path(), &["get()"]).arg("--fresh")),
        "0\n"
    );
    // A state the guest refuses names the way out.
    let garbage = data.path().join("garbage.state");
    std::fs::write(&garbage, b"not a state").unwrap();
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_cargo-iso"))
        .args(["iso", "run"])
        .arg(counter())
        .arg("--state")
        .arg(&garbage)
        .args(["--no-data", "--invoke", "get()"])
        .env("CARGO_TERM_COLOR", "never")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("the guest could not restore the state"),
        "{stderr}"
    );
    assert!(
        stderr.contains("note: start the app from its default state with `--reset APP`"),
        "{stderr}"
    );
}
