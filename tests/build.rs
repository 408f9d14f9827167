//! `cargo iso build` end to end: real guest crates, the real binary, real cargo,
//! and the output checked with wasmparser and wit-component.

mod support;

use predicates::prelude::*;
use support::{GuestCrate, component_world, debian_toolchain_present, validate, wit_world};

fn json_lines(stdout: &[u8]) -> Vec<serde_json::Value> {
    String::from_utf8_lossy(stdout)
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect()
}

#[test]
fn a_guest_becomes_a_valid_component_with_its_own_world() {
    let guest = GuestCrate::new("hello", "build-hello");
    let output = guest
        .cargo_iso(&["build", "--message-format", "json"])
        .assert()
        .success()
        .get_output()
        .clone();

    let messages = json_lines(&output.stdout);
    assert_eq!(messages.len(), 1, "one JSON object per component");
    let message = &messages[0];
    assert_eq!(message["name"], "build-hello");
    assert_eq!(message["world"], "local:hello/hello@0.1.0");
    assert_eq!(
        message["exports"],
        serde_json::json!(["add", "local:hello/greetings@0.1.0"])
    );
    assert_eq!(message["imports"], serde_json::json!(["log"]));

    let path = std::path::PathBuf::from(message["path"].as_str().unwrap());
    assert_eq!(path, guest.component_path("debug"));
    let bytes = std::fs::read(&path).unwrap();
    assert_eq!(message["size"], bytes.len() as u64);
    validate(&bytes);
    assert_eq!(
        component_world(&bytes),
        wit_world(&guest.path().join("wit"))
    );

    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("Component build-hello v0.1.0 -> "),
        "{stderr}"
    );
}

#[test]
fn an_unchanged_guest_is_fresh_and_an_edit_rebuilds_it() {
    let guest = GuestCrate::new("hello", "build-fresh");
    guest.cargo_iso(&["build"]).assert().success();
    let again = guest
        .cargo_iso(&["build", "--message-format", "json"])
        .assert()
        .success()
        .get_output()
        .clone();
    assert_eq!(json_lines(&again.stdout)[0]["fresh"], true);

    guest.edit("src/lib.rs", "a.wrapping_add(b)", "a.wrapping_mul(b)");
    let edited = guest
        .cargo_iso(&["build", "--message-format", "json"])
        .assert()
        .success()
        .get_output()
        .clone();
    assert_eq!(json_lines(&edited.stdout)[0]["fresh"], false);
    validate(&std::fs::read(guest.component_path("debug")).unwrap());
}

#[test]
fn release_builds_go_to_the_release_folder() {
    let guest = GuestCrate::new("hello", "build-release");
    guest
        .cargo_iso(&["build", "--release", "-q"])
        .assert()
        .success()
        .stderr("");
    let bytes = std::fs::read(guest.component_path("release")).unwrap();
    validate(&bytes);
}

#[test]
fn an_iso_guest_dependency_marks_a_guest() {
    let guest = GuestCrate::new("sdk", "build-sdk");
    let output = guest
        .cargo_iso(&["build", "--message-format", "json"])
        .assert()
        .success()
        .get_output()
        .clone();
    let message = &json_lines(&output.stdout)[0];
    assert_eq!(message["world"], "local:sdk/sdk");
    assert_eq!(message["exports"], serde_json::json!(["double"]));
    validate(&std::fs::read(guest.component_path("debug")).unwrap());
}

#[test]
fn manifest_path_and_package_select_the_guest() {
    let guest = GuestCrate::new("hello", "build-selected");
    let manifest = guest.manifest();
    let elsewhere = tempfile::tempdir().unwrap();
    support::cargo_iso()
        .current_dir(elsewhere.path())
        .args(["build", "--manifest-path"])
        .arg(&manifest)
        .args(["-p", "build-selected", "--target-dir"])
        .arg(support::shared_target_dir())
        .assert()
        .success();
    validate(&std::fs::read(guest.component_path("debug")).unwrap());
}

#[test]
fn a_compile_error_shows_rustc_diagnostics_and_cargos_exit_code() {
    let guest = GuestCrate::new("hello", "build-broken");
    guest.edit("src/lib.rs", "a.wrapping_add(b)", "a.wrapping_add(\"b\")");
    guest
        .cargo_iso(&["build"])
        .assert()
        .code(101)
        .stderr(predicate::str::contains("error[E0308]: mismatched types"))
        .stderr(predicate::str::contains("src/lib.rs"))
        .stderr(predicate::str::contains("Component").not());
}

#[test]
fn a_crate_that_is_not_a_cdylib_is_told_how_to_fix_it() {
    let guest = GuestCrate::new("hello", "build-rlib");
    guest.edit(
        "Cargo.toml",
        "crate-type = [\"cdylib\"]",
        "crate-type = [\"rlib\"]",
    );
    guest
        .cargo_iso(&["build"])
        .assert()
        .code(101)
        .stderr(predicate::str::contains(
            "package `build-rlib` is marked as an iso guest but its library is not a cdylib",
        ))
        .stderr(predicate::str::contains("crate-type = [\"cdylib\"]"));
}

#[test]
fn a_module_without_component_metadata_says_what_is_missing() {
    let guest = GuestCrate::new("no-metadata", "build-plain");
    guest
        .cargo_iso(&["build"])
        .assert()
        .code(101)
        .stderr(predicate::str::contains("could not make a component of"))
        .stderr(predicate::str::contains("no component-type metadata"))
        .stderr(predicate::str::contains("generate!"));
}

#[test]
fn bad_metadata_values_name_the_key_and_the_manifest() {
    let guest = GuestCrate::new("hello", "build-badmeta");
    guest.edit(
        "Cargo.toml",
        "memory = \"64MiB\"",
        "memory = \"64 potatoes\"",
    );
    let manifest = guest.manifest().canonicalize().unwrap();
    guest
        .cargo_iso(&["build"])
        .assert()
        .code(101)
        .stderr(predicate::str::contains(
            "invalid key `memory` of `[package.metadata.iso]`",
        ))
        .stderr(predicate::str::contains(manifest.display().to_string()))
        .stderr(predicate::str::contains("64MiB"));
}

#[test]
fn unknown_metadata_keys_are_errors() {
    let guest = GuestCrate::new("hello", "build-unknownkey");
    guest.edit("Cargo.toml", "fuel = 1_000_000", "fuell = 1_000_000");
    guest
        .cargo_iso(&["build"])
        .assert()
        .code(101)
        .stderr(predicate::str::contains(
            "unknown field `fuell`, expected one of `fuel`, `memory`, `timeout`",
        ));
}

#[test]
fn fuel_written_as_1e6_is_accepted() {
    let guest = GuestCrate::new("hello", "build-fuel-float");
    guest.edit("Cargo.toml", "fuel = 1_000_000", "fuel = 1e6");
    guest.cargo_iso(&["build", "-q"]).assert().success();
}

#[test]
fn a_manifest_path_that_points_nowhere_is_an_error() {
    support::cargo_iso()
        .args(["build", "--manifest-path", "/no/such/crate/Cargo.toml"])
        .assert()
        .code(101)
        .stderr(predicate::str::contains(
            "manifest path `/no/such/crate/Cargo.toml` does not exist",
        ));
}

#[test]
fn a_crate_that_is_no_guest_says_what_a_guest_is() {
    let guest = GuestCrate::new("hello", "build-notguest");
    guest.edit(
        "Cargo.toml",
        "[package.metadata.iso]",
        "[package.metadata.other]",
    );
    guest
        .cargo_iso(&["build"])
        .assert()
        .code(101)
        .stderr(predicate::str::contains("no iso guest packages found"))
        .stderr(predicate::str::contains("`[package.metadata.iso]`"));
}

#[test]
fn an_unknown_package_lists_the_members() {
    let guest = GuestCrate::new("hello", "build-unknownpkg");
    guest
        .cargo_iso(&["build", "-p", "nope"])
        .assert()
        .code(101)
        .stderr(predicate::str::contains(
            "package `nope` is not in this workspace",
        ))
        .stderr(predicate::str::contains("`build-unknownpkg`"));
}

#[test]
fn an_explicit_toolchain_without_wasm32_is_an_error_naming_the_fix() {
    let guest = GuestCrate::new("hello", "build-notarget");
    let toolchain = support::fake_toolchain_without_wasm32();
    let flag = format!("--toolchain={}", toolchain.path().display());
    guest
        .cargo_iso(&["build", &flag])
        .assert()
        .code(101)
        .stderr(predicate::str::contains(
            "cannot build guests for wasm32-unknown-unknown",
        ))
        .stderr(predicate::str::contains(
            "neither the prebuilt wasm32-unknown-unknown std",
        ))
        .stderr(predicate::str::contains("help:"));
}

#[test]
fn an_explicit_toolchain_that_does_not_exist_is_an_error() {
    let guest = GuestCrate::new("hello", "build-notoolchain");
    guest
        .cargo_iso(&["build"])
        .env("CARGO_ISO_TOOLCHAIN", "/no/such/toolchain/bin/rustc")
        .assert()
        .code(101)
        .stderr(predicate::str::contains(
            "toolchain `/no/such/toolchain/bin/rustc` does not exist",
        ));
}

#[test]
fn the_build_std_fallback_builds_a_guest() {
    if !debian_toolchain_present() {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI installs Debian's rustc-web + rust-web-src for this test"
        );
        eprintln!(
            "note: Debian's rustc-web with rust-src is not installed; the build-std path is not exercised here"
        );
        return;
    }
    let guest = GuestCrate::new("hello", "build-std-fallback");
    let output = guest
        .cargo_iso(&[
            "build",
            "-v",
            "--toolchain",
            "/usr",
            "--message-format",
            "json",
        ])
        .assert()
        .success()
        .get_output()
        .clone();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("std built from source"), "{stderr}");
    assert!(
        stderr.contains("-Zbuild-std") || stderr.contains("library/std"),
        "{stderr}"
    );
    let bytes = std::fs::read(guest.component_path("debug")).unwrap();
    validate(&bytes);
    assert_eq!(
        component_world(&bytes),
        wit_world(&guest.path().join("wit"))
    );
}
