//! The guest SDK that travels inside the cargo-iso binary: the sources of
//! `iso-guest`, `iso-schema` and `iso-derive`, and the iso WIT packages
//! that `iso-guest` reads.
//!
//! A new guest depends on `iso-guest` by version (`iso-guest = "0.1"`), so
//! its manifest is the same on every machine, and cargo-iso patches the SDK
//! in when it runs cargo ([`patch_config`]). When cargo-iso was built from
//! a checkout that still exists, the SDK is that checkout's `iso-guest/`.
//! Otherwise (installed, then the checkout removed or moved) the SDK is
//! unpacked once per cargo-iso build into
//! `$CARGO_HOME/cargo-iso/sdk/<version>-<hash>/` (or under
//! `CARGO_ISO_SDK_DIR`). `CARGO_ISO_SDK=embedded` chooses the unpacked copy
//! even when the checkout exists. A guest that depends on `iso-guest` by
//! path builds against that path, unpatched.

use std::hash::{DefaultHasher, Hash, Hasher};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use include_dir::{Dir, include_dir};

use crate::componentize::write_atomically;

/// The checkout cargo-iso was built from.
const CHECKOUT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/..");

/// The workspace manifest, for the values the crates inherit from it.
const WORKSPACE_MANIFEST: &str = include_str!("../../Cargo.toml");

/// A folder of a crate and its files, e.g. `src`.
type Folder = (&'static str, Dir<'static>);

/// Each crate of the SDK: its folder name, its manifest, and its folders.
const CRATES: &[(&str, &str, &[Folder])] = &[
    (
        "iso-guest",
        include_str!("../../iso-guest/Cargo.toml"),
        &[
            ("src", include_dir!("$CARGO_MANIFEST_DIR/../iso-guest/src")),
            ("wit", include_dir!("$CARGO_MANIFEST_DIR/../wit")),
        ],
    ),
    (
        "iso-schema",
        include_str!("../../iso-schema/Cargo.toml"),
        &[("src", include_dir!("$CARGO_MANIFEST_DIR/../iso-schema/src"))],
    ),
    (
        "iso-derive",
        include_str!("../../iso-derive/Cargo.toml"),
        &[("src", include_dir!("$CARGO_MANIFEST_DIR/../iso-derive/src"))],
    ),
];

/// Marks a folder whose unpacking finished.
const COMPLETE: &str = ".complete";

/// The version requirement new guests depend on `iso-guest` by, e.g. `0.1`.
pub fn requirement() -> String {
    let version = env!("CARGO_PKG_VERSION");
    let mut parts = version.split('.');
    match (parts.next(), parts.next()) {
        (Some("0"), Some(minor)) => format!("0.{minor}"),
        (Some(major), _) => major.to_owned(),
        _ => version.to_owned(),
    }
}

/// The cargo `--config` value that patches the SDK's `iso-guest` folder
/// `dir` in for a registry dependency on `iso-guest`.
pub fn patch_config(dir: &Path) -> String {
    let path = toml::Value::String(dir.display().to_string());
    format!("patch.crates-io.iso-guest.path={path}")
}

/// The local cargo config, under a workspace root, that lets plain `cargo`
/// (`cargo test`, rust-analyzer) find the SDK too; it names a path on this
/// machine, so the templates' `.gitignore` leaves it out of git.
pub const LOCAL_CONFIG: &str = ".cargo/config.toml";

/// Patches the SDK's `iso-guest` folder `dir` into the cargo config of the
/// workspace at `root` ([`LOCAL_CONFIG`]), unless it patches `iso-guest`
/// already to a folder that exists (the user's own choice is kept).
pub fn write_local_patch(root: &Path, dir: &Path) -> Result<()> {
    let file = root.join(LOCAL_CONFIG);
    let text = std::fs::read_to_string(&file).unwrap_or_default();
    let mut config: toml_edit::DocumentMut =
        (text.parse()).with_context(|| format!("`{}` is not valid TOML", file.display()))?;
    let patched = config
        .get("patch")
        .and_then(|p| p.get("crates-io"))
        .and_then(|p| p.get("iso-guest"))
        .and_then(|p| p.get("path"))
        .and_then(toml_edit::Item::as_str);
    if patched.is_some_and(|path| root.join(path).join("Cargo.toml").is_file()) {
        return Ok(());
    }
    let mut table = toml_edit::Table::new();
    table.insert("path", toml_edit::value(dir.display().to_string()));
    let mut parent = config.as_table_mut();
    for key in ["patch", "crates-io"] {
        let mut implicit = toml_edit::Table::new();
        implicit.set_implicit(true);
        let entry = parent
            .entry(key)
            .or_insert(toml_edit::Item::Table(implicit));
        parent = entry
            .as_table_mut()
            .with_context(|| format!("`{key}` in `{}` is not a table", file.display()))?;
    }
    parent.insert("iso-guest", toml_edit::Item::Table(table));
    write_atomically(&file, config.to_string().as_bytes())
}

/// The `iso-guest` folder guests build against: the live checkout's, or the
/// unpacked copy (see the module docs).
pub fn iso_guest_dir() -> Result<PathBuf> {
    match checkout() {
        Some(checkout) if !embedded_chosen() => Ok(checkout.join("iso-guest")),
        _ => Ok(unpack()?.join("iso-guest")),
    }
}

/// Unpacks the SDK if guests may depend on the unpacked copy (no live
/// checkout), so that a guest made earlier builds even after the copy was
/// removed. Cheap once it is there.
pub fn ensure() -> Result<()> {
    if checkout().is_none() || embedded_chosen() {
        unpack()?;
    }
    Ok(())
}

/// Whether `CARGO_ISO_SDK=embedded` asks for the unpacked copy.
fn embedded_chosen() -> bool {
    std::env::var("CARGO_ISO_SDK").is_ok_and(|v| v == "embedded")
}

/// The checkout cargo-iso was built from, if it is still there.
fn checkout() -> Option<PathBuf> {
    let root = Path::new(CHECKOUT).canonicalize().ok()?;
    root.join("iso-guest/Cargo.toml").is_file().then_some(root)
}

/// Unpacks the SDK where it belongs unless it is there already, and returns its folder.
pub fn unpack() -> Result<PathBuf> {
    unpack_into(&sdk_root()?)
}

/// Unpacks the SDK into a folder of `root` unless it is there already, and returns that folder.
fn unpack_into(root: &Path) -> Result<PathBuf> {
    let target = root.join(format!(
        "{}-{:016x}",
        env!("CARGO_PKG_VERSION"),
        content_hash()
    ));
    if target.join(COMPLETE).is_file() {
        return Ok(target);
    }
    let parent = target.parent().unwrap_or(&target);
    std::fs::create_dir_all(parent)
        .with_context(|| format!("could not create `{}`", parent.display()))?;
    let scratch = tempfile::tempdir_in(parent)
        .with_context(|| format!("could not write in `{}`", parent.display()))?;
    write_sdk(scratch.path())?;
    // A finished copy is renamed into place whole. If the rename fails,
    // another cargo-iso may have unpacked it meanwhile: its copy will do.
    if let Err(err) = std::fs::rename(scratch.path(), &target)
        && !target.join(COMPLETE).is_file()
    {
        bail!(
            "could not unpack the guest SDK into `{}`: {err}\nhelp: move away what is there, or set CARGO_ISO_SDK_DIR to a writable folder",
            target.display()
        );
    }
    Ok(target)
}

/// Where SDKs are unpacked: `CARGO_ISO_SDK_DIR`, else `$CARGO_HOME/cargo-iso/sdk`
/// (`~/.cargo/cargo-iso/sdk`); one folder per cargo-iso build goes inside.
fn sdk_root() -> Result<PathBuf> {
    if let Some(dir) = std::env::var_os("CARGO_ISO_SDK_DIR") {
        return Ok(PathBuf::from(dir));
    }
    let cargo_home = match std::env::var_os("CARGO_HOME") {
        Some(home) => PathBuf::from(home),
        None => std::env::home_dir()
            .context("neither CARGO_HOME nor HOME is set, so there is nowhere to unpack the guest SDK\nhelp: set CARGO_ISO_SDK_DIR")?
            .join(".cargo"),
    };
    Ok(cargo_home.join("cargo-iso/sdk"))
}

/// A hash of every embedded file and of the manifests as written, so a
/// cargo-iso with a changed SDK or workspace dependency unpacks anew.
fn content_hash() -> u64 {
    let mut hasher = DefaultHasher::new();
    WORKSPACE_MANIFEST.hash(&mut hasher);
    for (name, manifest, dirs) in CRATES {
        (name, manifest).hash(&mut hasher);
        for (folder, dir) in *dirs {
            folder.hash(&mut hasher);
            for_each_file(dir, &mut |path, bytes| (path, bytes).hash(&mut hasher));
        }
    }
    hasher.finish()
}

/// Writes the SDK's crates into `root`, each with a manifest that stands alone.
fn write_sdk(root: &Path) -> Result<()> {
    for (name, manifest, dirs) in CRATES {
        let dir = root.join(name);
        let standalone = standalone_manifest(manifest, WORKSPACE_MANIFEST)
            .with_context(|| format!("the embedded manifest of `{name}`"))?;
        write_atomically(&dir.join("Cargo.toml"), standalone.as_bytes())?;
        for (folder, files) in *dirs {
            let mut result = Ok(());
            for_each_file(files, &mut |path, bytes| {
                if result.is_ok() {
                    result = write_atomically(&dir.join(folder).join(path), bytes);
                }
            });
            result?;
        }
    }
    write_atomically(&root.join(COMPLETE), b"")?;
    Ok(())
}

/// Calls `visit` with every file under `dir`: its path inside `dir` and its bytes.
fn for_each_file(dir: &Dir<'static>, visit: &mut impl FnMut(&Path, &[u8])) {
    for file in dir.files() {
        visit(file.path(), file.contents());
    }
    for sub in dir.dirs() {
        for_each_file(sub, visit);
    }
}

/// A member's manifest with what it inherits from the workspace written in,
/// sibling path dependencies pointing at `../<crate>`, and neither lints
/// nor dev-dependencies: what `cargo package` would make of it.
fn standalone_manifest(member: &str, workspace: &str) -> Result<String> {
    let mut manifest: toml::Table = member.parse()?;
    let workspace: toml::Table = workspace.parse()?;
    let shared = |key: &str| {
        workspace
            .get("workspace")
            .and_then(|w| w.get(key))
            .and_then(toml::Value::as_table)
            .cloned()
            .unwrap_or_default()
    };
    let (package_values, dependencies) = (shared("package"), shared("dependencies"));
    if let Some(package) = manifest.get_mut("package").and_then(|p| p.as_table_mut()) {
        for (key, value) in package.iter_mut() {
            if inherits(value)
                && let Some(inherited) = package_values.get(key)
            {
                *value = inherited.clone();
            }
        }
    }
    if let Some(deps) = manifest
        .get_mut("dependencies")
        .and_then(|d| d.as_table_mut())
    {
        for (name, spec) in deps.iter_mut() {
            if inherits(spec) {
                *spec = inherited_dependency(spec, dependencies.get(name))
                    .with_context(|| format!("dependency `{name}` is not in the workspace"))?;
            }
        }
    }
    manifest.remove("lints");
    manifest.remove("dev-dependencies");
    Ok(toml::to_string(&manifest)?)
}

/// Whether a manifest value is `{ workspace = true, ... }`.
fn inherits(value: &toml::Value) -> bool {
    value
        .get("workspace")
        .and_then(toml::Value::as_bool)
        .unwrap_or(false)
}

/// The workspace's spec of a dependency, with the member's own keys (features,
/// optional) added and a path made relative to a sibling crate.
fn inherited_dependency(
    member: &toml::Value,
    workspace: Option<&toml::Value>,
) -> Option<toml::Value> {
    let mut spec = match workspace? {
        toml::Value::String(version) => {
            toml::Table::from_iter([("version".to_owned(), toml::Value::String(version.clone()))])
        }
        other => other.as_table()?.clone(),
    };
    if let Some(path) = spec.get("path").and_then(toml::Value::as_str) {
        let sibling = format!("../{path}");
        spec.insert("path".into(), toml::Value::String(sibling));
    }
    for (key, value) in member.as_table()? {
        if key != "workspace" {
            spec.insert(key.clone(), value.clone());
        }
    }
    Some(toml::Value::Table(spec))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manifests_stand_alone() {
        for (name, manifest, _) in CRATES {
            let text = standalone_manifest(manifest, WORKSPACE_MANIFEST).unwrap();
            assert!(!text.contains("workspace"), "{name}:\n{text}");
            let table: toml::Table = text.parse().unwrap();
            assert_eq!(
                table["package"]["version"].as_str(),
                Some(env!("CARGO_PKG_VERSION"))
            );
        }
        let guest = standalone_manifest(CRATES[0].1, WORKSPACE_MANIFEST).unwrap();
        let table: toml::Table = guest.parse().unwrap();
        assert_eq!(
            table["dependencies"]["iso-schema"]["path"].as_str(),
            Some("../iso-schema")
        );
        assert_eq!(
            table["dependencies"]["wit-bindgen"]["version"].as_str(),
            Some("0.61")
        );
    }

    #[test]
    fn the_sdk_unpacks_once() {
        let home = tempfile::tempdir().unwrap();
        let unpacked = unpack_into(home.path()).unwrap();
        assert!(unpacked.starts_with(home.path()));
        for file in [
            "iso-guest/Cargo.toml",
            "iso-guest/src/lib.rs",
            "iso-guest/wit/app/app.wit",
            "iso-guest/wit/app/deps/iso-host/host.wit",
            "iso-schema/src/lib.rs",
            "iso-derive/src/lib.rs",
        ] {
            assert!(unpacked.join(file).is_file(), "{file} is missing");
        }
        std::fs::write(unpacked.join("iso-guest/src/lib.rs"), "kept").unwrap();
        assert_eq!(unpack_into(home.path()).unwrap(), unpacked);
        let kept = std::fs::read_to_string(unpacked.join("iso-guest/src/lib.rs")).unwrap();
        assert_eq!(kept, "kept", "a finished unpack is not written again");
    }
}
