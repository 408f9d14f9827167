//! `cargo iso new` / `init` end to end: scaffold, build with the real
//! toolchain, and check the component with wasmparser and wit-component.

mod support;

use predicates::prelude::*;
use support::{cargo_iso, component_world, validate};

/// A scratch folder, and `cargo iso` running in it with the suite's shared guest target dir.
struct Scratch(tempfile::TempDir);

impl Scratch {
    fn new() -> Scratch {
        Scratch(tempfile::tempdir().unwrap())
    }

    fn iso(&self, dir: &str, args: &[&str]) -> assert_cmd::Command {
        let mut command = cargo_iso();
        command.current_dir(self.0.path().join(dir)).args(args).env(
            "CARGO_ISO_SHARED_TARGET_DIR",
            support::shared_target_dir().join("shared"),
        );
        command
    }

    fn component(&self, dir: &str, profile: &str, file: &str) -> Vec<u8> {
        std::fs::read(
            self.0
                .path()
                .join(dir)
                .join("target/iso")
                .join(profile)
                .join(file),
        )
        .unwrap()
    }
}

fn exports_and_imports(bytes: &[u8]) -> (Vec<String>, Vec<String>) {
    let (imports, exports) = component_world(bytes);
    (exports, imports)
}

#[test]
fn the_counter_template_builds_at_once_and_exports_state() {
    let scratch = Scratch::new();
    scratch
        .iso(".", &["new", "c1"])
        .assert()
        .success()
        .stderr(predicate::str::contains(
            "Created guest `c1` from template `counter`",
        ));
    let output = scratch
        .iso("c1", &["build", "--message-format", "json"])
        .assert()
        .success()
        .get_output()
        .clone();
    let message: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(message["world"], "local:c1/c1@0.1.0");

    let bytes = scratch.component("c1", "debug", "c1.wasm");
    validate(&bytes);
    let (exports, imports) = exports_and_imports(&bytes);
    assert_eq!(
        exports,
        [
            "get",
            "increment",
            "iso:app/state@0.1.0",
            "iso:app/tests@0.1.0",
            "reset",
            "run"
        ]
    );
    assert_eq!(
        imports,
        ["iso:host/log@0.1.0"],
        "only the host interfaces it uses"
    );
}

#[test]
fn a_new_guest_builds_offline_once_dependencies_are_cached() {
    // The test suite's own build has fetched iso-guest's dependencies into cargo's cache.
    let scratch = Scratch::new();
    scratch
        .iso(".", &["new", "offline"])
        .env("CARGO_NET_OFFLINE", "true")
        .assert()
        .success();
    assert!(
        scratch.0.path().join("offline/Cargo.lock").is_file(),
        "new locks dependencies from the local cache"
    );
    scratch
        .iso("offline", &["build", "-q", "--offline"])
        .assert()
        .success();
    validate(&scratch.component("offline", "debug", "offline.wasm"));
}

#[test]
fn the_rate_limiter_template_imports_kv_and_clock() {
    let scratch = Scratch::new();
    scratch
        .iso(".", &["new", "limiter", "--template", "rate-limiter"])
        .assert()
        .success();
    scratch.iso("limiter", &["build", "-q"]).assert().success();
    let bytes = scratch.component("limiter", "debug", "limiter.wasm");
    validate(&bytes);
    let (exports, imports) = exports_and_imports(&bytes);
    assert!(
        exports.contains(&"iso:app/state@0.1.0".to_owned()),
        "{exports:?}"
    );
    assert_eq!(
        imports,
        [
            "iso:host/clock@0.1.0",
            "iso:host/kv@0.1.0",
            "iso:host/log@0.1.0"
        ]
    );
}

#[test]
fn the_counter_release_component_stays_small() {
    let scratch = Scratch::new();
    scratch.iso(".", &["new", "small"]).assert().success();
    scratch
        .iso("small", &["build", "--release", "-q"])
        .assert()
        .success();
    let bytes = scratch.component("small", "release", "small.wasm");
    validate(&bytes);
    let size = bytes.len();
    println!(
        "counter template, release component: {size} bytes ({} KiB)",
        size / 1024
    );
    assert!(
        size < 150 * 1024,
        "the release counter component is {size} bytes; keep serde_json and friends out of guests"
    );
}

#[test]
fn guests_with_the_same_name_do_not_share_a_core_module() {
    let scratch = Scratch::new();
    std::fs::create_dir_all(scratch.0.path().join("a")).unwrap();
    std::fs::create_dir_all(scratch.0.path().join("b")).unwrap();
    scratch.iso("a", &["new", "twin"]).assert().success();
    scratch
        .iso("b", &["new", "twin", "--template", "rate-limiter"])
        .assert()
        .success();
    for _ in 0..2 {
        scratch.iso("a/twin", &["build", "-q"]).assert().success();
        scratch.iso("b/twin", &["build", "-q"]).assert().success();
    }
    let (a, _) = exports_and_imports(&scratch.component("a/twin", "debug", "twin.wasm"));
    let (b, _) = exports_and_imports(&scratch.component("b/twin", "debug", "twin.wasm"));
    assert!(a.contains(&"increment".to_owned()), "{a:?}");
    assert!(b.contains(&"check".to_owned()), "{b:?}");
}

#[test]
fn build_restores_the_iso_wit_packages() {
    let scratch = Scratch::new();
    scratch.iso(".", &["new", "wit-deps"]).assert().success();
    let deps = scratch.0.path().join("wit-deps/wit/deps");
    std::fs::remove_dir_all(&deps).unwrap();
    scratch.iso("wit-deps", &["build", "-q"]).assert().success();
    assert!(deps.join("iso-app/app.wit").is_file());
    assert!(deps.join("iso-host/host.wit").is_file());
}

#[test]
fn init_fills_an_existing_folder_and_refuses_to_overwrite() {
    let scratch = Scratch::new();
    std::fs::create_dir_all(scratch.0.path().join("here")).unwrap();
    std::fs::write(scratch.0.path().join("here/notes.txt"), "mine").unwrap();
    scratch
        .iso("here", &["init", "--name", "here_app"])
        .assert()
        .success();
    assert_eq!(
        std::fs::read_to_string(scratch.0.path().join("here/notes.txt")).unwrap(),
        "mine"
    );
    assert!(
        std::fs::read_to_string(scratch.0.path().join("here/Cargo.toml"))
            .unwrap()
            .contains("name = \"here_app\"")
    );
    let manifest = std::fs::read_to_string(scratch.0.path().join("here/Cargo.toml")).unwrap();
    scratch
        .iso("here", &["init"])
        .assert()
        .success()
        .stderr(predicate::str::contains(
            "Unchanged `here_app` has what a guest needs already",
        ));
    assert_eq!(
        std::fs::read_to_string(scratch.0.path().join("here/Cargo.toml")).unwrap(),
        manifest
    );
}

#[test]
fn init_in_a_cargo_new_lib_crate_adds_what_a_guest_needs_and_keeps_its_code() {
    let scratch = Scratch::new();
    let status = std::process::Command::new(env!("CARGO"))
        .args(["new", "--lib", "--vcs", "none", "--quiet", "mylib"])
        .current_dir(scratch.0.path())
        .status()
        .unwrap();
    assert!(status.success());
    let lib = scratch.0.path().join("mylib/src/lib.rs");
    let code = std::fs::read_to_string(&lib).unwrap();
    scratch
        .iso("mylib", &["init"])
        .assert()
        .success()
        .stderr(predicate::str::contains(
            "Added `[lib] crate-type = [\"cdylib\"]`, the `iso-guest` dependency, `[package.metadata.iso]` budgets, `wit/world.wit`",
        ))
        .stderr(predicate::str::contains("note: your `src/lib.rs` was kept"));
    assert_eq!(
        std::fs::read_to_string(&lib).unwrap(),
        code,
        "the crate's code is its own"
    );
    let manifest = std::fs::read_to_string(scratch.0.path().join("mylib/Cargo.toml")).unwrap();
    let parsed: toml::Table = manifest.parse().unwrap();
    assert_eq!(parsed["package"]["name"].as_str(), Some("mylib"));
    assert_eq!(parsed["lib"]["crate-type"][0].as_str(), Some("cdylib"));
    assert_eq!(parsed["dependencies"]["iso-guest"].as_str(), Some("0.1"));
    assert!(
        parsed["package"]["metadata"]["iso"].get("fuel").is_some(),
        "{manifest}"
    );
    // With the template's code in place of the crate's, it builds as a guest.
    std::fs::remove_file(&lib).unwrap();
    scratch.iso("mylib", &["init"]).assert().success();
    scratch.iso("mylib", &["build", "-q"]).assert().success();
    validate(&scratch.component("mylib", "debug", "mylib.wasm"));
}

#[test]
fn a_new_guests_manifest_names_the_sdk_by_version_not_by_path() {
    let scratch = Scratch::new();
    scratch.iso(".", &["new", "portable"]).assert().success();
    let manifest = std::fs::read_to_string(scratch.0.path().join("portable/Cargo.toml")).unwrap();
    assert!(manifest.contains("iso-guest = \"0.1\""), "{manifest}");
    assert!(!manifest.contains("path"), "{manifest}");
    // Plain cargo finds the SDK through a local config that git leaves out.
    let config =
        std::fs::read_to_string(scratch.0.path().join("portable/.cargo/config.toml")).unwrap();
    assert!(config.contains("[patch.crates-io.iso-guest]"), "{config}");
    let ignored = std::fs::read_to_string(scratch.0.path().join("portable/.gitignore")).unwrap();
    assert!(ignored.contains("/.cargo/config.toml"), "{ignored}");
}

#[test]
fn new_refuses_an_existing_destination() {
    let scratch = Scratch::new();
    std::fs::create_dir_all(scratch.0.path().join("taken")).unwrap();
    scratch
        .iso(".", &["new", "taken"])
        .assert()
        .code(101)
        .stderr(predicate::str::contains(
            "destination `taken` already exists",
        ))
        .stderr(predicate::str::contains("cargo iso init"));
}

#[test]
fn new_checks_the_crate_name() {
    let scratch = Scratch::new();
    scratch
        .iso(".", &["new", "1st"])
        .assert()
        .code(101)
        .stderr(predicate::str::contains("cannot start with a digit"));
    scratch
        .iso(".", &["new", "ok-dir", "--name", "bad name"])
        .assert()
        .code(101)
        .stderr(predicate::str::contains(
            "invalid character ` ` in package name `bad name`",
        ))
        .stderr(predicate::str::contains("--name"));
    assert!(
        !scratch.0.path().join("ok-dir/Cargo.toml").exists(),
        "nothing is written for a bad name"
    );
}

#[test]
fn new_lists_templates_and_rejects_unknown_ones() {
    let scratch = Scratch::new();
    scratch
        .iso(".", &["new", "--list"])
        .assert()
        .success()
        .stdout(predicate::str::contains("counter"))
        .stdout(predicate::str::contains("rate-limiter"));
    scratch
        .iso(".", &["new", "x", "--template", "nope"])
        .assert()
        .code(101)
        .stderr(predicate::str::contains("no template named `nope`"));
}

/// An installed cargo-iso whose checkout is gone behaves as with
/// `CARGO_ISO_SDK=embedded`: new guests build against the SDK unpacked from the
/// binary (here into `CARGO_ISO_SDK_DIR`, by default under `$CARGO_HOME`),
/// which `build` unpacks again if it was removed.
#[test]
fn a_guest_made_without_the_checkout_builds_against_the_sdk_inside_the_binary() {
    let scratch = tempfile::tempdir().unwrap();
    let sdk_root = scratch.path().join("sdk");
    let iso = |dir: &std::path::Path, args: &[&str]| {
        let mut command = cargo_iso();
        command
            .current_dir(dir)
            .args(args)
            .env("CARGO_ISO_SDK", "embedded")
            .env("CARGO_ISO_SDK_DIR", &sdk_root)
            .env(
                "CARGO_ISO_SHARED_TARGET_DIR",
                support::shared_target_dir().join("shared"),
            );
        command
    };
    iso(scratch.path(), &["new", "-q", "detached"])
        .assert()
        .success();
    let dir = scratch.path().join("detached");
    let manifest = std::fs::read_to_string(dir.join("Cargo.toml")).unwrap();
    let root = support::iso_root().canonicalize().unwrap();
    assert!(!manifest.contains(&*root.to_string_lossy()), "{manifest}");
    let unpacked: Vec<_> = std::fs::read_dir(&sdk_root).unwrap().flatten().collect();
    assert_eq!(unpacked.len(), 1, "one folder per cargo-iso build");
    let sdk = unpacked[0].path();
    assert!(manifest.contains("iso-guest = \"0.1\""), "{manifest}");
    std::fs::remove_dir_all(&sdk).unwrap();
    iso(
        &dir,
        &["run", "--invoke", "increment(2)", "--invoke", "get()"],
    )
    .assert()
    .success()
    .stdout("2\n2\n");
    assert!(
        sdk.join("iso-guest/Cargo.toml").is_file(),
        "build unpacked it again"
    );
}
