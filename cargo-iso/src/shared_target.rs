//! One cargo target dir shared by every guest on the machine, so a new guest
//! does not rebuild wit-bindgen and the iso crates from scratch.
//!
//! Cargo names a cdylib's output after its crate alone, so two guests with
//! the same name would overwrite each other's core module in one target dir.
//! The shared dir is therefore split into slots: a guest claims its name in
//! the first slot where the name is free, its own, or held by a crate that
//! no longer exists (a deleted scratch guest).
//!
//! A target dir the user chose (`--target-dir`, `CARGO_TARGET_DIR`, cargo
//! config) is split the same way, for the same reason: several projects, or
//! a project and its own checkout of an older git revision, may build
//! guests of one name in it. Its first slot is the dir itself.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

/// The environment variable that moves the shared dir; `off` disables sharing.
pub const SHARED_TARGET_ENV: &str = "CARGO_ISO_SHARED_TARGET_DIR";

/// The shared dir: `$CARGO_ISO_SHARED_TARGET_DIR`, else `$XDG_CACHE_HOME/cargo-iso/target`,
/// else `~/.cache/cargo-iso/target`; `None` when sharing is off or there is no home.
pub fn root() -> Option<PathBuf> {
    match std::env::var_os(SHARED_TARGET_ENV) {
        Some(value) if value == "off" => None,
        Some(value) => Some(PathBuf::from(value)),
        None => std::env::var_os("XDG_CACHE_HOME")
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("HOME").map(|home| Path::new(&home).join(".cache")))
            .map(|cache| cache.join("cargo-iso/target")),
    }
}

/// How a target dir is split into slots.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Slots {
    /// The machine's shared dir: `root/slot-N`.
    Numbered,
    /// A target dir the user chose: the dir itself, then `root/iso-slot-N`,
    /// so a project alone in it builds where the user said.
    FirstInRoot,
}

impl Slots {
    fn path(self, root: &Path, index: usize) -> PathBuf {
        match (self, index) {
            (Slots::FirstInRoot, 0) => root.to_owned(),
            (Slots::FirstInRoot, _) => root.join(format!("iso-slot-{index}")),
            (Slots::Numbered, _) => root.join(format!("slot-{index}")),
        }
    }
}

/// The slot of `root` where every guest `(crate file name, manifest)` may build.
pub fn slot_for(root: &Path, slots: Slots, guests: &[(&str, &Path)]) -> Result<PathBuf> {
    for index in 0.. {
        let slot = slots.path(root, index);
        if guests.iter().all(|(name, manifest)| {
            owner(&slot, name).is_none_or(|o| o == *manifest || !o.exists())
        }) {
            for (name, manifest) in guests {
                claim(&slot, name, manifest)?;
            }
            return Ok(slot);
        }
    }
    unreachable!("some slot is always free")
}

fn owner_file(slot: &Path, name: &str) -> PathBuf {
    slot.join("iso-owners").join(name)
}

fn owner(slot: &Path, name: &str) -> Option<PathBuf> {
    std::fs::read_to_string(owner_file(slot, name))
        .ok()
        .map(PathBuf::from)
}

fn claim(slot: &Path, name: &str, manifest: &Path) -> Result<()> {
    let file = owner_file(slot, name);
    match owner(slot, name) {
        Some(current) if current == manifest => return Ok(()),
        Some(_) => {
            // Held by a crate that is gone: `slot_for` checked. Take it over.
            std::fs::remove_file(&file)
                .with_context(|| format!("could not remove `{}`", file.display()))?;
        }
        None => {}
    }
    std::fs::create_dir_all(file.parent().expect("owner files sit in a folder"))
        .with_context(|| format!("could not create `{}`", slot.display()))?;
    // `create_new` makes the claim atomic when two builds race for a name.
    match std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&file)
    {
        Ok(mut f) => f
            .write_all(manifest.to_string_lossy().as_bytes())
            .with_context(|| format!("could not write `{}`", file.display())),
        Err(err) if err.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(err) => Err(err).with_context(|| format!("could not write `{}`", file.display())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_names_from_different_crates_get_different_slots() {
        let root = tempfile::tempdir().unwrap();
        let crates = tempfile::tempdir().unwrap();
        let manifest = |name: &str| {
            let path = crates.path().join(name);
            std::fs::write(&path, "").unwrap();
            path
        };
        let (ma, mb, mc) = (manifest("a.toml"), manifest("b.toml"), manifest("c.toml"));
        let a = slot_for(root.path(), Slots::Numbered, &[("counter", &ma)]).unwrap();
        let b = slot_for(root.path(), Slots::Numbered, &[("counter", &mb)]).unwrap();
        let other = slot_for(root.path(), Slots::Numbered, &[("other", &mc)]).unwrap();
        let again = slot_for(root.path(), Slots::Numbered, &[("counter", &mb)]).unwrap();
        assert_eq!(a, root.path().join("slot-0"));
        assert_eq!(b, root.path().join("slot-1"));
        assert_eq!(other, a, "a free name shares the first slot");
        assert_eq!(again, b, "a crate keeps its slot");
    }

    #[test]
    fn a_deleted_crates_name_is_taken_over() {
        let root = tempfile::tempdir().unwrap();
        let crates = tempfile::tempdir().unwrap();
        let gone = crates.path().join("gone.toml");
        std::fs::write(&gone, "").unwrap();
        slot_for(root.path(), Slots::Numbered, &[("counter", &gone)]).unwrap();
        std::fs::remove_file(&gone).unwrap();
        let fresh = crates.path().join("fresh.toml");
        std::fs::write(&fresh, "").unwrap();
        assert_eq!(
            slot_for(root.path(), Slots::Numbered, &[("counter", &fresh)]).unwrap(),
            root.path().join("slot-0")
        );
        assert_eq!(owner(&root.path().join("slot-0"), "counter"), Some(fresh));
    }

    #[test]
    fn a_chosen_target_dir_is_its_own_first_slot() {
        let root = tempfile::tempdir().unwrap();
        let crates = tempfile::tempdir().unwrap();
        let (a, b) = (crates.path().join("a.toml"), crates.path().join("b.toml"));
        std::fs::write(&a, "").unwrap();
        std::fs::write(&b, "").unwrap();
        let first = slot_for(root.path(), Slots::FirstInRoot, &[("store", &a)]).unwrap();
        let second = slot_for(root.path(), Slots::FirstInRoot, &[("store", &b)]).unwrap();
        assert_eq!(first, root.path());
        assert_eq!(second, root.path().join("iso-slot-1"));
    }
}
