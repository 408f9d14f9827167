//! `cargo iso doctor` end to end, on this machine's real toolchains.

mod support;

use predicates::prelude::*;

#[test]
fn doctor_explains_the_toolchain_it_will_use() {
    let output = support::cargo_iso()
        .arg("doctor")
        .assert()
        .success()
        .get_output()
        .clone();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.contains("active toolchain"), "{stdout}");
    assert!(stdout.contains("\nUsing: "), "{stdout}");
    assert!(stdout.contains("why: "), "{stdout}");
}

#[test]
fn doctor_with_the_rustup_target_uses_the_active_toolchain() {
    let has_target = std::process::Command::new("rustup")
        .args(["target", "list", "--installed"])
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).contains("wasm32-unknown-unknown"));
    if !has_target {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI installs the rustup wasm32 target"
        );
        return;
    }
    support::cargo_iso()
        .arg("doctor")
        .assert()
        .success()
        .stdout(predicate::str::contains("Using: active toolchain"))
        .stdout(predicate::str::contains(
            "it is the active toolchain and it has the prebuilt wasm32 std",
        ));
}

#[test]
fn doctor_on_the_debian_toolchain_builds_std_from_source() {
    if !support::debian_toolchain_present() {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI installs Debian's rustc-web + rust-web-src"
        );
        return;
    }
    support::cargo_iso()
        .args(["doctor", "--toolchain", "/usr"])
        .assert()
        .success()
        .stdout(predicate::str::contains("Using: explicit choice `/usr`"))
        .stdout(predicate::str::contains("rust-src    found"))
        .stdout(predicate::str::contains("std is built from source"));
}

#[test]
fn doctor_fails_when_the_chosen_toolchain_cannot_build_guests() {
    let toolchain = support::fake_toolchain_without_wasm32();
    support::cargo_iso()
        .args(["doctor", "--toolchain"])
        .arg(toolchain.path())
        .assert()
        .code(101)
        .stdout(predicate::str::contains("wasm32 std  missing"))
        .stdout(predicate::str::contains("rust-src    missing"))
        .stderr(predicate::str::contains(
            "cannot build guests for wasm32-unknown-unknown",
        ));
}
