//! `cargo iso check-compat`: a table of OLD/NEW world pairs turned into
//! components here (wit-component's dummy module), each with its verdict and
//! rule ids and checked against `wasm-tools component semver-check`'s logic
//! (`wit_component::semver_check`, sides swapped); real guests for the state
//! check and the human output; and bad inputs.

mod support;

use std::path::{Path, PathBuf};

use support::cargo_iso;
use wit_component::{ComponentEncoder, StringEncoding, embed_component_metadata};
use wit_parser::{ManglingAndAbi, Resolve, WorldId};

/// (name, OLD world body, NEW world body, NEW can replace OLD, rule ids expected)
const CASES: &[(&str, &str, &str, bool, &[&str])] = &[
    (
        "same",
        "export f: func(a: u32) -> u32;",
        "export f: func(a: u32) -> u32;",
        true,
        &[],
    ),
    (
        "export added",
        "export f: func();",
        "export f: func();\nexport g: func();",
        true,
        &["export-added"],
    ),
    (
        "export removed",
        "export f: func();\nexport g: func();",
        "export f: func();",
        false,
        &["export-removed"],
    ),
    (
        "result retyped",
        "export f: func() -> u64;",
        "export f: func() -> u32;",
        false,
        &["type-changed"],
    ),
    (
        "param retyped",
        "export f: func(a: u32);",
        "export f: func(a: string);",
        false,
        &["type-changed"],
    ),
    (
        "param added",
        "export f: func(a: u32);",
        "export f: func(a: u32, b: u32);",
        false,
        &["params-count-changed"],
    ),
    (
        "param renamed",
        "export f: func(a: u32);",
        "export f: func(b: u32);",
        false,
        &["param-renamed"],
    ),
    (
        "result added",
        "export f: func();",
        "export f: func() -> u32;",
        false,
        &["result-changed"],
    ),
    (
        "record field added",
        "record user { name: string }\nexport get: func() -> result<user, string>;",
        "record user { name: string, email: string }\nexport get: func() -> result<user, string>;",
        false,
        &["record-field-added"],
    ),
    (
        "record field removed",
        "record user { name: string, email: string }\nexport get: func() -> user;",
        "record user { name: string }\nexport get: func() -> user;",
        false,
        &["record-field-removed"],
    ),
    (
        "record field retyped",
        "record user { age: u8 }\nexport get: func() -> user;",
        "record user { age: u16 }\nexport get: func() -> user;",
        false,
        &["type-changed"],
    ),
    (
        "variant case added",
        "variant shape { circle(f32), none }\nexport get: func() -> shape;",
        "variant shape { circle(f32), square(f32), none }\nexport get: func() -> shape;",
        false,
        &["variant-case-added"],
    ),
    (
        "variant payload retyped",
        "variant shape { circle(f32), none }\nexport get: func() -> shape;",
        "variant shape { circle(f64), none }\nexport get: func() -> shape;",
        false,
        &["type-changed"],
    ),
    (
        "enum case removed",
        "enum color { red, green }\nexport get: func() -> color;",
        "enum color { red }\nexport get: func() -> color;",
        false,
        &["enum-case-removed"],
    ),
    (
        "flag added",
        "flags perms { read }\nexport get: func() -> perms;",
        "flags perms { read, write }\nexport get: func() -> perms;",
        false,
        &["flag-added"],
    ),
    (
        "list element retyped",
        "export f: func() -> list<u8>;",
        "export f: func() -> list<u16>;",
        false,
        &["type-changed"],
    ),
    (
        "option to list",
        "export f: func() -> option<u8>;",
        "export f: func() -> list<u8>;",
        false,
        &["type-kind-changed"],
    ),
    (
        "result err retyped",
        "export f: func() -> result<u8, string>;",
        "export f: func() -> result<u8, u32>;",
        false,
        &["type-changed"],
    ),
    (
        "result err dropped",
        "export f: func() -> result<u8, string>;",
        "export f: func() -> result<u8>;",
        false,
        &["payload-removed"],
    ),
    (
        "tuple grown",
        "export f: func() -> tuple<u8, u8>;",
        "export f: func() -> tuple<u8, u8, u8>;",
        false,
        &["tuple-length-changed"],
    ),
    (
        "interface function added",
        "export api: interface { f: func(); }",
        "export api: interface { f: func(); g: func(); }",
        true,
        &["function-added"],
    ),
    (
        "interface function removed",
        "export api: interface { f: func(); g: func(); }",
        "export api: interface { f: func(); }",
        false,
        &["function-removed"],
    ),
    (
        "resource method removed",
        "export api: interface { resource counter { constructor(); get: func() -> u32; bump: func(); } }",
        "export api: interface { resource counter { constructor(); get: func() -> u32; } }",
        false,
        &["method-removed"],
    ),
    (
        "resource constructor changed",
        "export api: interface { resource counter { constructor(); } }",
        "export api: interface { resource counter { constructor(start: u32); } }",
        false,
        &["params-count-changed"],
    ),
    (
        "resource method retyped",
        "export api: interface { resource counter { get: func() -> u32; } }",
        "export api: interface { resource counter { get: func() -> u64; } }",
        false,
        &["type-changed"],
    ),
    (
        "import added",
        "export f: func();",
        "import h: func();\nexport f: func();",
        false,
        &["import-added"],
    ),
    (
        "import removed",
        "import h: func();\nexport f: func();",
        "export f: func();",
        true,
        &["import-removed"],
    ),
    (
        "import retyped",
        "import h: func() -> u8;\nexport f: func();",
        "import h: func() -> u16;\nexport f: func();",
        false,
        &["type-changed"],
    ),
];

/// Both worlds in one package, as semver-check wants them.
fn worlds(old: &str, new: &str) -> (Resolve, WorldId, WorldId) {
    let text =
        format!("package test:cases@1.0.0;\nworld old {{\n{old}\n}}\nworld new {{\n{new}\n}}\n");
    let mut resolve = Resolve::default();
    let package = resolve.push_str("cases.wit", &text).unwrap();
    let old = resolve.select_world(&[package], Some("old")).unwrap();
    let new = resolve.select_world(&[package], Some("new")).unwrap();
    (resolve, old, new)
}

/// A component of `world` whose core module is wit-component's dummy.
fn component(resolve: &Resolve, world: WorldId) -> Vec<u8> {
    let mut module = wit_component::dummy_module(resolve, world, ManglingAndAbi::Standard32);
    embed_component_metadata(&mut module, resolve, world, StringEncoding::UTF8).unwrap();
    ComponentEncoder::default()
        .module(&module)
        .unwrap()
        .validate(true)
        .encode()
        .unwrap()
}

fn check_json(old: &Path, new: &Path, extra: &[&str]) -> (i32, serde_json::Value) {
    let output = cargo_iso()
        .arg("check-compat")
        .arg(old)
        .arg(new)
        .args(["--format", "json"])
        .args(extra)
        .output()
        .unwrap();
    let code = output.status.code().unwrap();
    let report = serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|err| panic!("{err}: {}", String::from_utf8_lossy(&output.stderr)));
    (code, report)
}

#[test]
fn every_pair_in_the_table_gets_its_verdict_and_rules() {
    let scratch = tempfile::tempdir().unwrap();
    let mut failures = Vec::new();
    for (i, (name, old, new, compatible, rules)) in CASES.iter().enumerate() {
        let (resolve, old_world, new_world) = worlds(old, new);
        let (old_path, new_path) = (
            scratch.path().join(format!("{i}-old.wasm")),
            scratch.path().join(format!("{i}-new.wasm")),
        );
        std::fs::write(&old_path, component(&resolve, old_world)).unwrap();
        std::fs::write(&new_path, component(&resolve, new_world)).unwrap();
        let (code, report) = check_json(&old_path, &new_path, &[]);
        let found: Vec<&str> = report["findings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["rule"].as_str().unwrap())
            .collect();
        let expected_code = if *compatible { 0 } else { 1 };
        if code != expected_code || found != *rules || report["compatible"] != *compatible {
            failures.push(format!("{name}: exit {code}, rules {found:?}; expected exit {expected_code}, rules {rules:?}\n{report:#}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

/// `wasm-tools component semver-check` asks whether a host of the new world
/// runs components of the old one, so with the sides swapped it answers our
/// question; on every pair of the table both must agree.
#[test]
fn semver_check_with_the_sides_swapped_agrees_on_every_pair() {
    for (name, old, new, compatible, _) in CASES {
        let (resolve, old_world, new_world) = worlds(old, new);
        let theirs = wit_component::semver_check(resolve, new_world, old_world);
        assert_eq!(
            theirs.is_ok(),
            *compatible,
            "{name}: semver-check says {theirs:?}, the table says compatible = {compatible}"
        );
    }
}

#[test]
fn a_new_iso_host_import_is_a_warning_and_deny_warnings_makes_it_breaking() {
    let scratch = tempfile::tempdir().unwrap();
    let write = |file: &str, wit: &str| {
        let mut resolve = Resolve::default();
        resolve
            .push_path(support::iso_root().join("wit/host"))
            .unwrap();
        let package = resolve
            .push_str(
                "guest.wit",
                &format!("package test:guest;\nworld guest {{\n{wit}\n}}\n"),
            )
            .unwrap();
        let world = resolve.select_world(&[package], None).unwrap();
        let path = scratch.path().join(file);
        std::fs::write(&path, component(&resolve, world)).unwrap();
        path
    };
    let old = write("old.wasm", "export f: func();");
    let new = write(
        "new.wasm",
        "import iso:host/clock@0.1.0;\nexport f: func();",
    );
    let (code, report) = check_json(&old, &new, &[]);
    assert_eq!(code, 0, "{report:#}");
    assert_eq!(report["findings"][0]["rule"], "import-added-iso-host");
    assert_eq!(report["findings"][0]["severity"], "warning");
    let (code, report) = check_json(&old, &new, &["--deny", "warnings"]);
    assert_eq!(code, 1, "{report:#}");
    assert_eq!(report["findings"][0]["severity"], "breaking");
}

/// A new counter from the template, copied to a second crate that `change` edits.
fn counter_pair(name: &str, change: impl Fn(&Path)) -> (tempfile::TempDir, PathBuf, PathBuf) {
    let (scratch, old) = support::scaffold(name, None);
    let new = scratch.path().join(format!("{name}-next"));
    copy_dir(&old, &new);
    change(&new);
    (scratch, old, new)
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

fn replace(path: &Path, from: &str, to: &str) {
    let text = std::fs::read_to_string(path).unwrap();
    assert!(text.contains(from), "{} has no {from:?}", path.display());
    std::fs::write(path, text.replacen(from, to, 1)).unwrap();
}

fn check_in(dir: &Path, args: &[&str]) -> std::process::Output {
    cargo_iso()
        .current_dir(dir)
        .env(
            "CARGO_ISO_SHARED_TARGET_DIR",
            support::shared_target_dir().join("shared"),
        )
        .arg("check-compat")
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn breaking_the_counter_lists_all_three_problems_and_the_state_verdict() {
    let (scratch, _, _) = counter_pair("compat", |new| {
        let wit = new.join("wit/world.wit");
        replace(
            &wit,
            "export get: func() -> u64;",
            "export get: func() -> u32;",
        );
        replace(
            &wit,
            "    /// Sets the count back to zero.\n    export reset: func();\n",
            "",
        );
        let lib = new.join("src/lib.rs");
        replace(
            &lib,
            "    count: u64,\n",
            "    count: u64,\n    limit: u32,\n",
        );
        replace(
            &lib,
            "fn get() -> u64 {\n        state().count\n",
            "fn get() -> u32 {\n        state().count as u32\n",
        );
        replace(
            &lib,
            "    fn reset() {\n        with_state(|s| {\n            s.count = 0;\n            s.changes += 1;\n        });\n        iso_guest::info!(\"reset\");\n    }\n\n",
            "",
        );
    });
    let output = check_in(scratch.path(), &["-q", "compat", "compat-next"]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(
        output.status.code(),
        Some(1),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    // The human report, whole: grouped by severity, a summary line last.
    assert_eq!(
        stdout,
        "Checking compat v0.1.0 (compat) -> compat v0.1.0 (compat-next)

breaking:
  export get: result: type changed from u64 to u32 [type-changed]
  export reset: removed [export-removed]
  state: state.limit: field \"limit\" added without default [field-added-without-default]

state: FORWARD (BACKWARD: new restores old state; FORWARD: old restores new state)
  old `record counter { count: u64, changes: u32 = default }`
  new `record counter { count: u64, limit: u32, changes: u32 = default }`

version: breaking changes need 0.2.0 (was 0.1.0 -> 0.1.0)

NOT compatible: 3 breaking, 0 warnings, 0 info; state FORWARD
"
    );
}

#[test]
fn additions_only_pass_and_are_listed_as_info() {
    let (scratch, _, _) = counter_pair("compat-add", |new| {
        replace(
            &new.join("wit/world.wit"),
            "    export run: func() -> string;",
            "    export run: func() -> string;\n    export double: func() -> u64;",
        );
        let lib = new.join("src/lib.rs");
        replace(
            &lib,
            "    count: u64,\n",
            "    count: u64,\n    #[schema(default)]\n    limit: u32,\n",
        );
        replace(
            &lib,
            "    fn get() -> u64 {",
            "    fn double() -> u64 {\n        state().count * 2\n    }\n\n    fn get() -> u64 {",
        );
        replace(
            &new.join("Cargo.toml"),
            "version = \"0.1.0\"",
            "version = \"0.1.1\"",
        );
    });
    let output = check_in(
        scratch.path(),
        &["-q", "compat-add", "compat-add-next", "--format", "json"],
    );
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let rules: Vec<(&str, &str)> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| (f["severity"].as_str().unwrap(), f["rule"].as_str().unwrap()))
        .collect();
    assert_eq!(
        rules,
        [
            ("info", "export-added"),
            ("info", "field-added-with-default")
        ]
    );
    assert_eq!(report["state"]["verdict"], "FULL");
    assert_eq!(report["advice"], "additions: 0.1.0 -> 0.1.1 is enough");
}

#[test]
fn bad_inputs_exit_2_with_a_clear_message() {
    let scratch = tempfile::tempdir().unwrap();
    let core = scratch.path().join("core.wasm");
    std::fs::write(&core, b"\0asm\x01\0\0\0").unwrap();
    let garbage = scratch.path().join("garbage.wasm");
    std::fs::write(&garbage, b"definitely not wasm").unwrap();
    let missing = scratch.path().join("missing.wasm");
    for (old, needle) in [
        (&missing, "does not exist"),
        (&core, "is a core wasm module, not a component"),
        (&garbage, "is not a wasm file"),
    ] {
        let output = check_in(
            scratch.path(),
            &[old.to_str().unwrap(), old.to_str().unwrap()],
        );
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{stderr}");
        assert!(stderr.contains(needle), "{needle:?} not in {stderr}");
    }
}

#[test]
fn a_missing_revision_and_a_failing_build_exit_2() {
    let (scratch, old, new) = counter_pair("compat-bad", |new| {
        replace(
            &new.join("src/lib.rs"),
            "state().count\n",
            "state().count + \"oops\"\n",
        );
    });
    let git = |args: &[&str]| {
        assert!(
            std::process::Command::new("git")
                .current_dir(&old)
                .args(args)
                .output()
                .unwrap()
                .status
                .success()
        );
    };
    git(&["init", "-q"]);
    git(&[
        "-c",
        "user.name=t",
        "-c",
        "user.email=t@t",
        "commit",
        "-q",
        "--allow-empty",
        "-m",
        "empty",
    ]);
    let output = check_in(&old, &["--baseline-rev", "no-such-rev"]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("revision `no-such-rev` does not exist"),
        "{stderr}"
    );

    let output = check_in(
        scratch.path(),
        &["compat-bad", new.file_name().unwrap().to_str().unwrap()],
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("error[E0277]"),
        "rustc's diagnostics are shown: {stderr}"
    );
}

#[test]
fn a_git_revision_is_built_in_a_worktree_as_old() {
    let (_scratch, old, _) = counter_pair("compat-rev", |_| {});
    let git = |args: &[&str]| {
        let out = std::process::Command::new("git")
            .current_dir(&old)
            .args(["-c", "user.name=t", "-c", "user.email=t@t"])
            .args(args)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    git(&["init", "-q"]);
    git(&["add", "-A"]);
    git(&["commit", "-q", "-m", "v1"]);
    replace(
        &old.join("wit/world.wit"),
        "export get: func() -> u64;",
        "export get: func() -> u32;",
    );
    replace(
        &old.join("src/lib.rs"),
        "fn get() -> u64 {\n        state().count\n",
        "fn get() -> u32 {\n        state().count as u32\n",
    );
    let output = check_in(&old, &["-q", "--baseline-rev", "HEAD"]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(
        output.status.code(),
        Some(1),
        "{stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        stdout.starts_with("Checking HEAD: compat-rev v0.1.0"),
        "{stdout}"
    );
    assert!(
        stdout.contains("export get: result: type changed from u64 to u32 [type-changed]"),
        "{stdout}"
    );
}

#[test]
fn wit_folders_are_checked_with_their_world() {
    let scratch = tempfile::tempdir().unwrap();
    for (side, body) in [
        ("old", "export f: func() -> u8;"),
        ("new", "export f: func() -> u8;\nexport g: func();"),
    ] {
        let dir = scratch.path().join(side);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(
            dir.join("app.wit"),
            format!("package test:app@0.1.0;\nworld app {{\n{body}\n}}\nworld other {{}}\n"),
        )
        .unwrap();
    }
    let (old, new) = (scratch.path().join("old"), scratch.path().join("new"));
    let output = check_in(
        scratch.path(),
        &[old.to_str().unwrap(), new.to_str().unwrap()],
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("--world"),
        "two worlds: the user must choose: {stderr}"
    );
    let (code, report) = check_json(&old, &new, &["--world", "app"]);
    assert_eq!(code, 0, "{report:#}");
    assert_eq!(report["findings"][0]["rule"], "export-added");
}
