//! `cargo iso test`: test cases run on fresh instances in the real host,
//! reported as libtest does; `--bless`; failures named with their reason;
//! and sessions saved in `cargo iso dev` replayed as tests.

mod support;

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, Stdio};

use predicates::prelude::*;
use support::GuestCrate;

fn stdout_of(assert: &assert_cmd::assert::Assert) -> String {
    String::from_utf8_lossy(&assert.get_output().stdout).into_owned()
}

fn iso_in(dir: &Path, args: &[&str]) -> assert_cmd::Command {
    let mut command = support::cargo_iso();
    command.current_dir(dir).args(args);
    command
}

#[test]
fn a_new_counter_passes_fails_on_a_change_naming_the_call_and_blesses_it() {
    let (_scratch, dir) = support::scaffold("tested", None);
    let passed = iso_in(&dir, &["test"]).assert().success();
    let out = stdout_of(&passed);
    // The template's unit test, then its test case.
    assert!(
        out.contains(
            "running 2 tests\ntest tests::increment_adds_to_the_count ... ok\ntest counts ... ok\n"
        ),
        "{out}"
    );
    assert!(
        out.contains("test result: ok. 2 passed; 0 failed; 0 ignored; 0 measured; 0 filtered out; finished in "),
        "{out}"
    );

    let lib = dir.join("src/lib.rs");
    let text = std::fs::read_to_string(&lib).unwrap();
    std::fs::write(
        &lib,
        text.replacen("state().count\n", "state().count * 2\n", 1),
    )
    .unwrap();
    let counts = dir.join("tests/iso/counts.toml");
    let case = std::fs::read_to_string(&counts).unwrap();
    let commented = "call = \"get()\"\nexpect = \"5\" # after two increments";
    std::fs::write(
        &counts,
        case.replacen("call = \"get()\"\nexpect = \"5\"", commented, 1),
    )
    .unwrap();
    let failed = iso_in(&dir, &["test"]).assert().code(101);
    let out = stdout_of(&failed);
    assert!(out.contains("test counts ... FAILED"), "{out}");
    assert!(
        out.contains("---- counts ----\ncall 3: get()\n  expected: 5\n  actual:   10\n"),
        "{out}"
    );
    assert!(
        out.contains("guest log:\n  info: incremented by 2 count=2"),
        "{out}"
    );
    assert!(
        out.contains("test result: FAILED. 1 passed; 1 failed;"),
        "{out}"
    );

    // JSON lines, as libtest writes them.
    let json = iso_in(&dir, &["test", "--format", "json"])
        .assert()
        .code(101);
    let events: Vec<serde_json::Value> = stdout_of(&json)
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    assert_eq!(events[0]["type"], "suite");
    assert_eq!(events[0]["test_count"], 2);
    assert_eq!(events[2]["event"], "ok");
    assert_eq!(events[4]["name"], "counts");
    assert_eq!(events[4]["event"], "failed");
    assert!(
        events[4]["stdout"]
            .as_str()
            .unwrap()
            .contains("actual:   10")
    );
    assert_eq!(events[5]["passed"], 1);
    assert_eq!(events[5]["failed"], 1);

    let blessed = iso_in(&dir, &["test", "--bless"]).assert().success();
    let err = String::from_utf8_lossy(&blessed.get_output().stderr).into_owned();
    assert!(
        err.contains("Blessed counts: call 3 get(): 5 -> 10"),
        "{err}"
    );
    let case = std::fs::read_to_string(dir.join("tests/iso/counts.toml")).unwrap();
    assert!(
        case.contains("expect = \"10\" # after two increments"),
        "{case}"
    );
    assert!(
        case.starts_with("# A test case for `cargo iso test`"),
        "comments kept: {case}"
    );
    iso_in(&dir, &["test"]).assert().success();
}

#[test]
fn the_rate_limiter_template_passes_under_a_fixed_clock() {
    let (_scratch, dir) = support::scaffold("limited", Some("rate-limiter"));
    iso_in(&dir, &["test"])
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "test tests::a_full_bucket_allows_its_capacity ... ok",
        ))
        .stdout(predicate::str::contains("test refill ... ok"));
}

#[test]
fn each_failure_names_its_reason_and_the_run_goes_on() {
    let guest = GuestCrate::new("misbehave", "cased");
    let cases = guest.path().join("tests/iso");
    std::fs::create_dir_all(&cases).unwrap();
    let write = |name: &str, text: &str| std::fs::write(cases.join(name), text).unwrap();
    write(
        "panics.toml",
        "[[call]]\ncall = 'add(2)'\nexpect = '2'\n\n[[call]]\ncall = 'boom(\"oh no\")'\nexpect = '()'\n\n[[call]]\ncall = 'total()'\nexpect = '2'\n",
    );
    write(
        "budget.toml",
        "[setup]\nfuel = 100_000\n\n[[call]]\ncall = 'spin()'\n",
    );
    write("missing.toml", "[[call]]\ncall = 'nope()'\nexpect = '1'\n");
    write("garbage.toml", "[[call]\ncall = 'total()'\n");
    write(
        "clock.toml",
        "[setup]\nclock = 'yesterday'\n\n[[call]]\ncall = 'total()'\n",
    );
    write(
        "kv.toml",
        "[setup.kv]\nk = 'abc'\n\n[[call]]\ncall = 'stashed(\"k\")'\nexpect = '3'\n\n[[call]]\ncall = 'stash(\"s\", 1)'\n\n[kv-after]\nk = 'abc'\n",
    );
    let failed = guest.cargo_iso(&["test"]).assert().code(101);
    let out = stdout_of(&failed);
    for expected in [
        "running 6 tests",
        "test budget ... FAILED",
        "test clock ... FAILED",
        "test garbage ... FAILED",
        "test kv ... FAILED",
        "test missing ... FAILED",
        "test panics ... FAILED",
        // The panic, with its message; the call after it goes on from the last good state.
        "---- panics ----\ncall 2: boom(\"oh no\")\n  expected: ()\n  actual:   error: panic: oh no\n",
        "---- budget ----\ncall 1: spin()\n  expected: a success\n  actual:   error: fuel budget exceeded\n",
        "call 1: nope()\n  expected: 1\n  actual:   error: ",
        "---- garbage ----\n`",
        "garbage.toml` is not a test case: TOML parse error at line 1",
        "bad test case: setup.clock `yesterday` is not a time",
        // The kv was given (3 bytes under k), and the write is found, by key.
        "---- kv ----\nkv after the last call, key \"s\"\n  expected: (none)\n  actual:   [7, 7, 7",
        "... (1024 bytes)\n",
        "test result: FAILED. 0 passed; 6 failed; 0 ignored; 0 measured; 0 filtered out;",
    ] {
        assert!(out.contains(expected), "no {expected:?} in:\n{out}");
    }
    assert!(!out.contains("call 3: total()"), "{out}");
    // A filter runs only the cases whose names contain it.
    guest
        .cargo_iso(&["test", "panic"])
        .assert()
        .code(101)
        .stdout(predicate::str::contains("running 1 test\n"))
        .stdout(predicate::str::contains("5 filtered out"));
    // `[kv-after]` is not blessed, and --bless says so.
    guest
        .cargo_iso(&["test", "kv", "--exact", "--bless"])
        .assert()
        .code(101)
        .stdout(predicate::str::contains(
            "--bless rewrites the results of calls, not `[kv-after]`: edit it in `",
        ));
    guest
        .cargo_iso(&["test", "missing", "--exact", "--bless"])
        .assert()
        .success()
        .stderr(predicate::str::contains(
            "Blessed missing: call 1 nope(): 1 -> error: ",
        ));
}

/// A value the guest stores with `kv::set_as` is written in WAVE of its
/// schema type, in `[setup.kv]` and `[kv-after]` alike; one that does not
/// read is a bad case that names its key.
#[test]
fn typed_kv_values_are_written_in_wave_of_their_type() {
    let guest = GuestCrate::new("store", "typed-kv");
    let cases = guest.path().join("tests/iso");
    std::fs::create_dir_all(&cases).unwrap();
    let write = |name: &str, text: &str| std::fs::write(cases.join(name), text).unwrap();
    write(
        "typed.toml",
        "[setup.kv]\na = { wave = '2', type = 'u32' }\n\n[[call]]\ncall = 'get(\"a\")'\nexpect = 'some(2)'\n\n[[call]]\ncall = 'put(\"b\", 3)'\n\n[kv-after]\na = { wave = '2', type = 'u32' }\nb = { wave = '3', type = 'u32' }\n",
    );
    write(
        "mistyped.toml",
        "[setup.kv]\na = { wave = '\"two\"', type = 'u32' }\n\n[[call]]\ncall = 'get(\"a\")'\n",
    );
    let failed = guest.cargo_iso(&["test"]).assert().code(101);
    let out = stdout_of(&failed);
    assert!(out.contains("test typed ... ok"), "{out}");
    assert!(out.contains("test mistyped ... FAILED"), "{out}");
    assert!(
        out.contains("setup.kv `a`: `\"two\"` is no value of the type: "),
        "{out}"
    );
}

/// Unit tests the counter gains: one that fails an assertion, one that
/// returns an error, one that never ends, one that reads the fixed clock.
const UNIT_TESTS: &str = r#"
mod more {
    use super::*;

    #[iso_guest::test]
    fn doubles() {
        Component::increment(2);
        assert_eq!(Component::get(), 4, "count after one increment");
    }

    #[iso_guest::test]
    fn returns_an_error() -> Result<(), String> {
        Err("no good".into())
    }

    #[iso_guest::test]
    fn spins() {
        iso_guest::info!("about to spin");
        loop {
            with_state(|s| s.count += 1);
        }
    }

    #[iso_guest::test]
    fn reads_the_fixed_clock() {
        assert_eq!(iso_guest::clock::now().as_secs(), 946_684_800);
    }
}

#[cfg(test)]
mod native {
    #[test]
    fn pure_logic() {
        assert_eq!(2 + 2, 4);
    }
}
"#;

#[test]
fn guest_unit_tests_run_in_the_host_with_their_failures_named() {
    let (_scratch, dir) = support::scaffold("units", None);
    let lib = dir.join("src/lib.rs");
    let text = std::fs::read_to_string(&lib).unwrap();
    std::fs::write(&lib, format!("{text}{UNIT_TESTS}")).unwrap();

    let failed = iso_in(&dir, &["test"]).assert().code(101);
    let out = stdout_of(&failed);
    for expected in [
        "running 6 tests\n",
        "test more::doubles ... FAILED",
        "test more::reads_the_fixed_clock ... ok",
        "test more::returns_an_error ... FAILED",
        "test more::spins ... FAILED",
        "test tests::increment_adds_to_the_count ... ok",
        "test counts ... ok",
        // The panic's location and message, and what the test logged before it.
        "---- more::doubles ----\npanicked at src/lib.rs:",
        "assertion `left == right` failed: count after one increment\n  left: 2\n right: 4\nguest log:\n  info: incremented by 2 count=2\n",
        "---- more::returns_an_error ----\nError: \"no good\"\n",
        "---- more::spins ----\nfuel budget exceeded\nguest log:\n  info: about to spin\n",
        "test result: FAILED. 3 passed; 3 failed;",
    ] {
        assert!(out.contains(expected), "no {expected:?} in:\n{out}");
    }
    // A filter selects unit tests by their path, as cargo test does.
    iso_in(&dir, &["test", "more::re"])
        .assert()
        .code(101)
        .stdout(predicate::str::contains("running 2 tests\n"))
        .stdout(predicate::str::contains("4 filtered out"));
    // A release component carries no tests.
    iso_in(&dir, &["test", "--release"])
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "running 1 test\ntest counts ... ok",
        ))
        .stderr(predicate::str::contains(
            "note: unit tests (#[iso_guest::test]) are built only with debug assertions, so this release build has none",
        ));
    // Plain `cargo test` on the native target runs the pure tests alone.
    let native = Command::new(env!("CARGO"))
        .args(["test", "-q"])
        .current_dir(&dir)
        .output()
        .unwrap();
    let native_out = String::from_utf8_lossy(&native.stdout);
    assert!(
        native.status.success(),
        "{native_out}{}",
        String::from_utf8_lossy(&native.stderr)
    );
    assert!(native_out.contains("running 1 test"), "{native_out}");

    let text = std::fs::read_to_string(&lib).unwrap();
    std::fs::write(
        &lib,
        format!("{text}\n#[iso_guest::test]\nfn takes(x: u32) {{\n    let _ = x;\n}}\n"),
    )
    .unwrap();
    iso_in(&dir, &["test"])
        .assert()
        .code(101)
        .stderr(predicate::str::contains(
            "an `#[iso_guest::test]` function takes no arguments",
        ));
}

#[test]
fn a_session_saved_in_dev_replays_deterministically_as_a_test() {
    let (_scratch, dir) = support::scaffold("saved", Some("rate-limiter"));
    let mut child = Command::new(env!("CARGO_BIN_EXE_cargo-iso"))
        .args(["iso", "dev"])
        .current_dir(&dir)
        .env("CARGO_TERM_COLOR", "never")
        .env_remove("CARGO_ISO_TOOLCHAIN")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    // The clock is real here: each check reads it.
    for line in [
        "configure(2, 1)",
        "check(\"ada\")",
        "check(\"ada\")",
        "check(\"ada\")",
        "tokens(\"ada\")",
        ":save bad/name",
        ":save session",
        ":quit",
    ] {
        writeln!(stdin, "{line}").unwrap();
    }
    stdin.flush().unwrap();
    let stderr: Vec<String> = BufReader::new(child.stderr.take().unwrap())
        .lines()
        .map_while(Result::ok)
        .collect();
    child.wait().unwrap();
    let stderr = stderr.join("\n");
    assert!(
        stderr.contains("`bad/name` cannot name a test: use letters, digits, `-` and `_`"),
        "{stderr}"
    );
    assert!(
        stderr.contains("Saved 5 calls to `saved` in ")
            && stderr.contains("tests/iso/session.toml; `cargo iso test session` replays them"),
        "{stderr}"
    );
    let case = std::fs::read_to_string(dir.join("tests/iso/session.toml")).unwrap();
    assert!(case.contains("WallNow"), "the clock reads are kept: {case}");
    for _ in 0..3 {
        iso_in(&dir, &["test", "session"])
            .assert()
            .success()
            .stdout(predicate::str::contains("test session ... ok"));
    }
}

#[test]
fn a_fake_stands_in_for_the_app_an_import_is_wired_to() {
    let (_scratch, dir) = support::scaffold("shop", Some("pair"));
    // The template ships the case README shows.
    let passed = iso_in(&dir, &["test"]).assert().success();
    assert!(
        stdout_of(&passed).contains("test front::faked ... ok"),
        "{}",
        stdout_of(&passed)
    );
    let cases = dir.join("front/tests/iso");
    std::fs::write(
        cases.join("faked.toml"),
        r#"[[fake]]
app = "store"
call = 'visit("ada")'
returns = "41"

[[call]]
call = 'greet("ada")'
expect = '"hello ada, visit 41"'

[[call]]
call = 'greet("bob")'
expect = '"hello bob, visit 1"'
"#,
    )
    .unwrap();
    let failed = iso_in(&dir, &["test"]).assert().code(101);
    let out = stdout_of(&failed);
    // The store was never called: ada's visit is the fake's, and bob has none.
    assert!(out.contains("test front::faked ... FAILED"), "{out}");
    assert!(!out.contains("call 1: greet"), "{out}");
    assert!(
        out.contains(
            "call 2: greet(\"bob\")\n  expected: \"hello bob, visit 1\"\n  actual:   error: "
        ) && out.contains("no fake answers `store.visit(\"bob\")`: add one to the test case"),
        "{out}"
    );
}
