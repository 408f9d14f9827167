//! Helpers for the end-to-end tests: fixture guests copied into temp dirs,
//! the real `cargo-iso` binary, and checks of its output.
//!
//! Every guest build shares one target dir so dependencies are built once;
//! each test gives its guest a unique crate name so outputs never collide.

#![allow(dead_code)]

use std::path::{Path, PathBuf};

use assert_cmd::Command;

/// The workspace root, for path dependencies on the iso crates.
pub fn iso_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_owned()
}

/// One target dir for every guest build in the test suite.
pub fn shared_target_dir() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join("guests")
}

/// A fixture guest crate copied into a temp dir.
pub struct GuestCrate {
    /// Keeps the temp dir alive.
    pub dir: tempfile::TempDir,
    /// The crate name given to it.
    pub name: String,
}

impl GuestCrate {
    /// Copies `tests/fixtures/<fixture>` and names the crate `name`.
    pub fn new(fixture: &str, name: &str) -> GuestCrate {
        let dir = tempfile::Builder::new().prefix(name).tempdir().unwrap();
        copy_dir(
            &iso_root().join("tests/fixtures").join(fixture),
            dir.path(),
            name,
        );
        GuestCrate {
            dir,
            name: name.to_owned(),
        }
    }

    /// The crate's folder.
    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// The crate's `Cargo.toml`.
    pub fn manifest(&self) -> PathBuf {
        self.path().join("Cargo.toml")
    }

    /// Replaces `from` with `to` in one of the crate's files.
    pub fn edit(&self, file: &str, from: &str, to: &str) {
        let path = self.path().join(file);
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.contains(from), "{file} has no {from:?}");
        std::fs::write(&path, text.replace(from, to)).unwrap();
    }

    /// `cargo iso <args>` run in the crate's folder, with the shared target dir.
    pub fn cargo_iso(&self, args: &[&str]) -> Command {
        let mut command = cargo_iso();
        command.current_dir(self.path()).args(args);
        if args.first().is_some_and(|a| *a == "build") {
            command.arg("--target-dir").arg(shared_target_dir());
        }
        command
    }

    /// Builds the crate with `cargo iso build -q`; its debug component's bytes.
    pub fn build_debug(&self) -> Vec<u8> {
        self.cargo_iso(&["build", "-q"]).assert().success();
        std::fs::read(self.component_path("debug")).unwrap()
    }

    /// Where `cargo iso build` puts the component for `profile`: in the
    /// shared target dir, under the crate's own project key.
    pub fn component_path(&self, profile: &str) -> PathBuf {
        let root = cargo_metadata::camino::Utf8Path::from_path(self.path()).unwrap();
        shared_target_dir()
            .join("iso")
            .join(cargo_iso::project::project_key(root))
            .join(profile)
            .join(format!("{}.wasm", self.name.replace('-', "_")))
    }
}

/// The real binary, as `cargo iso` runs it, with colors off and no toolchain chosen.
pub fn cargo_iso() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_cargo-iso"));
    command
        .arg("iso")
        .env("CARGO_TERM_COLOR", "never")
        .env_remove("CARGO_ISO_TOOLCHAIN");
    command
}

fn copy_dir(from: &Path, to: &Path, name: &str) {
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            std::fs::create_dir_all(&target).unwrap();
            copy_dir(&entry.path(), &target, name);
        } else {
            let text = std::fs::read_to_string(entry.path()).unwrap();
            let text = text
                .replace("@NAME@", name)
                .replace("@ISO_ROOT@", &iso_root().display().to_string());
            std::fs::write(target, text).unwrap();
        }
    }
}

/// Validates `bytes` as a component with every wasm feature on.
pub fn validate(bytes: &[u8]) {
    wasmparser::Validator::new_with_features(wasmparser::WasmFeatures::all())
        .validate_all(bytes)
        .expect("the component validates");
}

/// The import and export names of a decoded component's world.
pub fn component_world(bytes: &[u8]) -> (Vec<String>, Vec<String>) {
    let wit_component::DecodedWasm::Component(resolve, world) =
        wit_component::decode(bytes).unwrap()
    else {
        panic!("expected a component");
    };
    names(&resolve, world)
}

/// The import and export names of the world in a guest's `wit/` folder.
pub fn wit_world(wit_dir: &Path) -> (Vec<String>, Vec<String>) {
    let mut resolve = wit_parser::Resolve::default();
    let (package, _) = resolve.push_dir(wit_dir).unwrap();
    let world = resolve.select_world(&[package], None).unwrap();
    names(&resolve, world)
}

/// A world's import and export names, sorted (type-only imports are not component imports).
fn names(resolve: &wit_parser::Resolve, world: wit_parser::WorldId) -> (Vec<String>, Vec<String>) {
    let sorted = |mut names: Vec<String>| {
        names.sort();
        names
    };
    (
        sorted(iso_compat::import_names(resolve, world)),
        sorted(iso_compat::export_names(resolve, world)),
    )
}

/// Whether Debian's `rustc-web` toolchain with `rust-src` is installed (the build-std fallback).
pub fn debian_toolchain_present() -> bool {
    Path::new("/usr/bin/rustc").is_file()
        && Path::new("/usr/bin/cargo").is_file()
        && Path::new("/usr/lib/rustlib/src/rust/library/std/src/lib.rs").is_file()
}

/// A toolchain folder whose `rustc` answers but whose sysroot has no wasm32
/// std and no rust-src: what a fresh rustup toolchain looks like to cargo-iso.
pub fn fake_toolchain_without_wasm32() -> tempfile::TempDir {
    use std::os::unix::fs::PermissionsExt;
    let root = tempfile::tempdir().unwrap();
    let bin = root.path().join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let rustc = "#!/bin/sh\nif [ \"$1\" = --print ]; then cd \"$(dirname \"$0\")/..\" && pwd; else echo 'rustc 0.0.0 (fake)'; fi\n";
    for (name, script) in [("rustc", rustc), ("cargo", "#!/bin/sh\nexit 1\n")] {
        std::fs::write(bin.join(name), script).unwrap();
        std::fs::set_permissions(bin.join(name), std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let tools = root.path().join("lib/rustlib/x86_64-unknown-linux-gnu/bin");
    std::fs::create_dir_all(&tools).unwrap();
    std::fs::write(tools.join("rust-lld"), b"").unwrap();
    root
}

/// `cargo iso new -q <name> [--template T]` in a new temp dir: the dir, and the crate's folder.
pub fn scaffold(name: &str, template: Option<&str>) -> (tempfile::TempDir, PathBuf) {
    let scratch = tempfile::tempdir().unwrap();
    let mut command = cargo_iso();
    command
        .current_dir(scratch.path())
        .args(["new", "-q", name]);
    if let Some(template) = template {
        command.args(["--template", template]);
    }
    command.assert().success();
    let dir = scratch.path().join(name);
    (scratch, dir)
}

/// Builds the guest crate in `dir` (dev profile, the test suite's shared
/// guest cache) and returns its component.
pub fn build_component(dir: &Path) -> Vec<u8> {
    cargo_iso()
        .current_dir(dir)
        .env(
            "CARGO_ISO_SHARED_TARGET_DIR",
            shared_target_dir().join("shared"),
        )
        .args(["build", "-q"])
        .assert()
        .success();
    let name = dir.file_name().unwrap().to_string_lossy().replace('-', "_");
    std::fs::read(dir.join(format!("target/iso/debug/{name}.wasm"))).unwrap()
}

/// Compiles `bytes` on a fresh engine with `options`, with no disk cache.
pub fn load_app(options: iso_host::EngineOptions, bytes: &[u8]) -> std::sync::Arc<iso_host::App> {
    let engine = std::sync::Arc::new(iso_host::IsoEngine::new(options).unwrap());
    let (app, _) =
        iso_host::App::load(engine, &iso_host::ComponentCache::new(None), bytes).unwrap();
    std::sync::Arc::new(app)
}

/// Makes `dir` a git repository with everything in it committed.
pub fn git_commit_all(dir: &Path) {
    for args in [
        &["init", "-q"][..],
        &["add", "-A"],
        &["commit", "-q", "-m", "v1"],
    ] {
        let out = std::process::Command::new("git")
            .current_dir(dir)
            .args(["-c", "user.name=t", "-c", "user.email=t@t"])
            .args(args)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}
