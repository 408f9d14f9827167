//! `cargo iso check-compat`: a table of OLD/NEW world pairs turned into
//! components here (wit-component's dummy module), each with its verdict and
//! rule ids and checked against `wasm-tools component semver-check`'s logic
//! (`wit_component::semver_check`, sides swapped); a second table of package
//! version bumps, and the published WASI `wasi:http` worlds (0.2.0, 0.2.4,
//! 0.3.0, vendored in tests/fixtures/wasi); real guests for the state check
//! and the human output; and bad inputs.

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
        "import interface function added",
        "import host: interface { a: func(); }\nexport f: func();",
        "import host: interface { a: func(); b: func(); }\nexport f: func();",
        false,
        &["import-function-added"],
    ),
    (
        "import interface function dropped",
        "import host: interface { a: func(); b: func(); }\nexport f: func();",
        "import host: interface { a: func(); }\nexport f: func();",
        true,
        &["import-function-removed"],
    ),
    (
        "import retyped",
        "import h: func() -> u8;\nexport f: func();",
        "import h: func() -> u16;\nexport f: func();",
        false,
        &["type-changed"],
    ),
];

/// The `types` interface of the version cases' package.
const TYPES: &str = "record item { name: string }\n  variant shape { circle(f32), none }";

/// [`TYPES`] with a record field and a variant case added.
const TYPES_GROWN: &str = "record item { name: string, email: string }\n  variant shape { circle(f32), square(f32), none }";

/// The rule ids of a bump to an incompatible version: the export and the
/// `host` import are removed and added, breaking first (`types`, an import
/// of types alone, needs no provider, so it is not compared).
const INCOMPATIBLE_BUMP: &[&str] = &[
    "export-removed",
    "import-added",
    "export-added",
    "import-removed",
];

/// A package version and the body of its `types` interface.
type VersionSide = (&'static str, &'static str);

/// (name, OLD package version and `types` body, NEW's, NEW can replace OLD,
/// rule ids expected); see [`version_package`].
const VERSION_CASES: &[(&str, VersionSide, VersionSide, bool, &[&str])] = &[
    (
        "0.x patch raised",
        ("0.2.0", TYPES),
        ("0.2.3", TYPES),
        true,
        &["import-version-raised", "export-version-changed"],
    ),
    (
        "0.x patch lowered",
        ("0.2.3", TYPES),
        ("0.2.0", TYPES),
        true,
        &["export-version-changed", "import-version-lowered"],
    ),
    (
        "0.x minor raised",
        ("0.2.0", TYPES),
        ("0.3.0", TYPES),
        false,
        INCOMPATIBLE_BUMP,
    ),
    (
        "major raised",
        ("1.2.0", TYPES),
        ("2.0.0", TYPES),
        false,
        INCOMPATIBLE_BUMP,
    ),
    (
        "1.x minor raised",
        ("1.2.0", TYPES),
        ("1.3.0", TYPES),
        true,
        &["import-version-raised", "export-version-changed"],
    ),
    (
        "1.x minor raised, types grown",
        ("1.2.0", TYPES),
        ("1.3.0", TYPES_GROWN),
        false,
        &[
            "record-field-added",
            "variant-case-added",
            "record-field-added",
            "import-version-raised",
            "export-version-changed",
        ],
    ),
    (
        "pre-release to the next",
        ("0.3.0-rc.1", TYPES),
        ("0.3.0-rc.2", TYPES),
        false,
        INCOMPATIBLE_BUMP,
    ),
];

/// The package `test:pkg@VERSION`: `types` with the given body, `api` and
/// `host` using types from it.
fn version_package(version: &str, types: &str) -> String {
    format!(
        "package test:pkg@{version};
interface types {{
  {types}
}}
interface api {{
  use types.{{item, shape}};
  get: func() -> item;
  draw: func(s: shape);
}}
interface host {{
  use types.{{item}};
  log: func(i: item);
}}
"
    )
}

/// A component of a `test:app` world that exports `test:pkg/api@VERSION` and
/// imports `test:pkg/host@VERSION` (and with them `types`), from its own `Resolve`.
fn versioned_component(version: &str, types: &str) -> Vec<u8> {
    let mut resolve = Resolve::default();
    resolve
        .push_str("pkg.wit", &version_package(version, types))
        .unwrap();
    let app = format!(
        "package test:app;\nworld app {{\n  export test:pkg/api@{version};\n  import test:pkg/host@{version};\n}}\n"
    );
    let package = resolve.push_str("app.wit", &app).unwrap();
    let world = resolve.select_world(&[package], Some("app")).unwrap();
    component(&resolve, world)
}

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
        failures.extend(wrong_verdict(name, code, &report, *compatible, rules));
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

/// The rule ids of a JSON report's findings, in order.
fn rule_ids(report: &serde_json::Value) -> Vec<&str> {
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["rule"].as_str().unwrap())
        .collect()
}

/// What is wrong with a check's exit code, verdict and rule ids, if anything.
fn wrong_verdict(
    name: &str,
    code: i32,
    report: &serde_json::Value,
    compatible: bool,
    rules: &[&str],
) -> Option<String> {
    let found = rule_ids(report);
    let expected_code = if compatible { 0 } else { 1 };
    (code != expected_code || found != rules || report["compatible"] != compatible).then(|| {
        format!("{name}: exit {code}, rules {found:?}; expected exit {expected_code}, rules {rules:?}\n{report:#}")
    })
}

#[test]
fn package_version_bumps_match_interfaces_at_compatible_versions() {
    let scratch = tempfile::tempdir().unwrap();
    let mut failures = Vec::new();
    for (i, (name, (old_version, old_types), (new_version, new_types), compatible, rules)) in
        VERSION_CASES.iter().enumerate()
    {
        let (old_path, new_path) = (
            scratch.path().join(format!("{i}-old.wasm")),
            scratch.path().join(format!("{i}-new.wasm")),
        );
        std::fs::write(&old_path, versioned_component(old_version, old_types)).unwrap();
        std::fs::write(&new_path, versioned_component(new_version, new_types)).unwrap();
        let (code, report) = check_json(&old_path, &new_path, &[]);
        failures.extend(wrong_verdict(name, code, &report, *compatible, rules));
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

/// One finding of a JSON report as (severity, rule, item, path, message).
fn finding(report: &serde_json::Value, index: usize) -> (&str, &str, &str, &str, &str) {
    let f = &report["findings"][index];
    (
        f["severity"].as_str().unwrap(),
        f["rule"].as_str().unwrap(),
        f["item"].as_str().unwrap(),
        f["path"].as_str().unwrap(),
        f["message"].as_str().unwrap(),
    )
}

#[test]
fn a_matched_item_at_another_version_is_named_without_it() {
    let scratch = tempfile::tempdir().unwrap();
    let (old, new) = (
        scratch.path().join("old.wasm"),
        scratch.path().join("new.wasm"),
    );
    std::fs::write(&old, versioned_component("1.2.0", TYPES)).unwrap();
    std::fs::write(&new, versioned_component("1.3.0", TYPES_GROWN)).unwrap();
    let (code, report) = check_json(&old, &new, &[]);
    assert_eq!(code, 1, "{report:#}");
    assert_eq!(
        finding(&report, 0),
        (
            "breaking",
            "record-field-added",
            "export test:pkg/api",
            "func get: result: record item",
            "field \"email\" added"
        ),
        "{report:#}"
    );
    assert_eq!(
        finding(&report, 3),
        (
            "warning",
            "import-version-raised",
            "import test:pkg/host",
            "",
            "now needs 1.3.0 (was 1.2.0): hosts older than that lack it"
        ),
        "{report:#}"
    );
    // `types`, an import of types alone, needs no provider: its version is no finding.
    assert!(
        !report.to_string().contains("import test:pkg/types"),
        "{report:#}"
    );
    assert_eq!(
        finding(&report, 4),
        (
            "info",
            "export-version-changed",
            "export test:pkg/api",
            "",
            "1.2.0 -> 1.3.0"
        ),
        "{report:#}"
    );
}

/// A component of the `app` world in tests/fixtures/wasi/VERSION, which
/// includes that version's `wasi:http` proxy world.
fn wasi_http_component(version: &str) -> Vec<u8> {
    let mut resolve = Resolve::default();
    let (package, _) = resolve
        .push_path(
            support::iso_root()
                .join("tests/fixtures/wasi")
                .join(version),
        )
        .unwrap();
    let world = resolve.select_world(&[package], Some("app")).unwrap();
    component(&resolve, world)
}

#[test]
fn wasi_http_0_2_0_to_0_2_4_is_a_version_bump_and_to_0_3_0_breaks() {
    let scratch = tempfile::tempdir().unwrap();
    let path = |version: &str| {
        let path = scratch.path().join(format!("proxy-{version}.wasm"));
        std::fs::write(&path, wasi_http_component(version)).unwrap();
        path
    };
    let (v0_2_0, v0_2_4, v0_3_0) = (path("0.2.0"), path("0.2.4"), path("0.3.0"));

    let (code, report) = check_json(&v0_2_0, &v0_2_4, &[]);
    assert_eq!(code, 0, "{report:#}");
    let findings = report["findings"].as_array().unwrap();
    let all: Vec<_> = (0..findings.len()).map(|i| finding(&report, i)).collect();
    assert!(
        all.iter().all(|(severity, ..)| *severity != "breaking"),
        "{report:#}"
    );
    assert!(
        all.contains(&(
            "info",
            "export-version-changed",
            "export wasi:http/incoming-handler",
            "",
            "0.2.0 -> 0.2.4"
        )),
        "{report:#}"
    );
    assert!(
        all.contains(&(
            "warning",
            "import-version-raised",
            "import wasi:io/streams",
            "",
            "now needs 0.2.4 (was 0.2.0): hosts older than that lack it"
        )),
        "{report:#}"
    );
    let raised = all
        .iter()
        .filter(|(severity, rule, ..)| *severity == "warning" && *rule == "import-version-raised")
        .count();
    assert_eq!(raised, 11, "every import is raised: {report:#}");
    assert_eq!(
        report["advice"], "additions: 0.2.0 -> 0.2.4 is enough",
        "read from the package of the exports: {report:#}"
    );

    let (code, report) = check_json(&v0_2_4, &v0_3_0, &[]);
    assert_eq!(code, 1, "{report:#}");
    assert_eq!(report["compatible"], false);
    let rules = rule_ids(&report);
    assert_eq!(rules[0], "export-removed", "{report:#}");
    assert!(rules.contains(&"import-added"), "{report:#}");
    assert!(!rules.contains(&"import-version-raised"), "{report:#}");
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

/// A component in `dir/file` of a guest world whose body is `wit`, with
/// the iso WIT folder `deps` (`wit/host` or `wit/app`) to refer to.
fn guest_file(dir: &Path, file: &str, deps: &str, wit: &str) -> PathBuf {
    let mut resolve = Resolve::default();
    resolve.push_path(support::iso_root().join(deps)).unwrap();
    let guest = format!("package test:guest;\nworld guest {{\n{wit}\n}}\n");
    let package = resolve.push_str("guest.wit", &guest).unwrap();
    let world = resolve.select_world(&[package], None).unwrap();
    let path = dir.join(file);
    std::fs::write(&path, component(&resolve, world)).unwrap();
    path
}

#[test]
fn a_new_iso_host_import_is_a_warning_and_deny_warnings_makes_it_breaking() {
    let scratch = tempfile::tempdir().unwrap();
    let write = |file: &str, wit: &str| guest_file(scratch.path(), file, "wit/host", wit);
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
    // One warning is counted in the singular.
    let human = cargo_iso()
        .arg("check-compat")
        .arg(&old)
        .arg(&new)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&human.stdout);
    assert!(
        stdout.contains("compatible: 0 breaking, 1 warning, 0 info"),
        "{stdout}"
    );
}

#[test]
fn the_sdks_tests_export_is_not_compared_but_the_state_export_is() {
    let scratch = tempfile::tempdir().unwrap();
    let write = |file: &str, wit: &str| guest_file(scratch.path(), file, "wit/app", wit);
    let with_sdk = write(
        "sdk.wasm",
        "include iso:app/guest@0.1.0;\nexport f: func();",
    );
    let imports = ["log", "clock", "random", "kv"].map(|i| format!("import iso:host/{i}@0.1.0;"));
    let plain = format!(
        "{}\nexport iso:app/state@0.1.0;\nexport f: func();",
        imports.join("\n")
    );
    let plain = write("plain.wasm", &plain);
    let (code, report) = check_json(&with_sdk, &plain, &[]);
    assert_eq!(code, 0, "{report:#}");
    assert_eq!(
        report["findings"].as_array().unwrap().len(),
        0,
        "{report:#}"
    );
    // Dropping the state export still breaks: the state would be lost.
    let stateless = write(
        "stateless.wasm",
        "include iso:app/stateless@0.1.0;\nexport f: func();",
    );
    let (code, report) = check_json(&with_sdk, &stateless, &[]);
    assert_eq!(code, 1, "{report:#}");
    assert_eq!(report["findings"][0]["rule"], "export-removed");
    assert_eq!(report["findings"][0]["item"], "export iso:app/state@0.1.0");
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
    support::git_commit_all(&old);
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

#[test]
fn a_guest_without_state_is_compared_without_a_state_verdict() {
    let old = support::GuestCrate::new("store", "compat-store");
    let new = support::GuestCrate::new("store", "compat-store-next");
    new.edit(
        "wit/world.wit",
        "    get: func(key: string) -> option<u32>;\n",
        "    get: func(key: string) -> option<u32>;\n    /// Removes `key`; whether it was there.\n    delete: func(key: string) -> bool;\n",
    );
    new.edit(
        "src/lib.rs",
        "    fn get(key: String)",
        "    fn delete(key: String) -> bool {\n        iso_guest::kv::delete(&key)\n    }\n\n    fn get(key: String)",
    );
    let output = check_in(
        old.path(),
        &[
            "-q",
            ".",
            &new.path().display().to_string(),
            "--format",
            "json",
        ],
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert!(report["state"].is_null(), "{report:#}");
    // The new function calls kv's `delete`, which the component now imports too.
    assert_eq!(
        rule_ids(&report),
        ["import-function-added", "function-added"],
        "{report:#}"
    );
    let (severity, _, item, path, _) = finding(&report, 0);
    assert_eq!(
        (severity, item, path),
        ("warning", "import iso:host/kv@0.1.0", "func delete"),
        "{report:#}"
    );
    assert_eq!(
        finding(&report, 1).2,
        "export local:store/api@0.1.0",
        "{report:#}"
    );
}
