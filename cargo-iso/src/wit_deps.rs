//! The iso WIT packages a guest's world includes, kept in its `wit/deps/`.
//!
//! `cargo iso new` writes them and `cargo iso build` rewrites them when they
//! differ from this cargo-iso's copy, so users never copy WIT by hand.

use std::path::Path;

use anyhow::{Context, Result};

use crate::componentize::write_atomically;

/// `iso:host`: what the host gives guests.
pub const HOST_WIT: &str = include_str!("../../wit/host/host.wit");
/// `iso:app`: what every guest exports, and the `guest` world.
pub const APP_WIT: &str = include_str!("../../wit/app/app.wit");

/// Where each package goes under `wit/`, and its text.
pub const PACKAGES: [(&str, &str); 2] = [
    ("deps/iso-host/host.wit", HOST_WIT),
    ("deps/iso-app/app.wit", APP_WIT),
];

/// Writes the iso packages into `wit_dir/deps/` where missing or different.
pub fn write(wit_dir: &Path) -> Result<()> {
    for (relative, text) in PACKAGES {
        let path = wit_dir.join(relative);
        if std::fs::read_to_string(&path).is_ok_and(|current| current == text) {
            continue;
        }
        write_atomically(&path, text.as_bytes())
            .with_context(|| format!("could not write the iso WIT package `{}`", path.display()))?;
    }
    Ok(())
}

/// Refreshes `wit/deps/` of a guest whose world uses the iso packages; leaves other guests alone.
pub fn sync(crate_dir: &Path) -> Result<()> {
    let wit_dir = crate_dir.join("wit");
    let Ok(entries) = std::fs::read_dir(&wit_dir) else {
        return Ok(());
    };
    let uses_iso = entries.flatten().any(|entry| {
        entry.path().extension().is_some_and(|e| e == "wit")
            && std::fs::read_to_string(entry.path())
                .is_ok_and(|text| text.contains("iso:app/") || text.contains("iso:host/"))
    });
    if uses_iso { write(&wit_dir) } else { Ok(()) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_packages_parse_together_and_define_the_guest_world() {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path()).unwrap();
        let mut resolve = wit_parser::Resolve::default();
        resolve.push_dir(dir.path().join("deps/iso-host")).unwrap();
        let (app, _) = resolve.push_dir(dir.path().join("deps/iso-app")).unwrap();
        let world = resolve.select_world(&[app], Some("guest")).unwrap();
        let world = &resolve.worlds[world];
        let names = |items: &wit_parser::IndexMap<wit_parser::WorldKey, wit_parser::WorldItem>| -> Vec<String> {
            items.keys().map(|k| resolve.name_world_key(k)).collect()
        };
        assert_eq!(
            names(&world.exports),
            ["iso:app/state@0.1.0", "iso:app/tests@0.1.0"]
        );
        assert_eq!(
            names(&world.imports),
            [
                "iso:host/log@0.1.0",
                "iso:host/clock@0.1.0",
                "iso:host/random@0.1.0",
                "iso:host/kv@0.1.0"
            ]
        );
    }

    #[test]
    fn sync_touches_only_guests_that_include_iso() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("wit")).unwrap();
        std::fs::write(
            dir.path().join("wit/world.wit"),
            "package a:b; world b { export f: func(); }",
        )
        .unwrap();
        sync(dir.path()).unwrap();
        assert!(!dir.path().join("wit/deps").exists());
        std::fs::write(
            dir.path().join("wit/world.wit"),
            "package a:b; world b { include iso:app/guest@0.1.0; }",
        )
        .unwrap();
        std::fs::create_dir_all(dir.path().join("wit/deps/iso-app")).unwrap();
        std::fs::write(dir.path().join("wit/deps/iso-app/app.wit"), "stale").unwrap();
        sync(dir.path()).unwrap();
        assert_eq!(
            std::fs::read_to_string(dir.path().join("wit/deps/iso-app/app.wit")).unwrap(),
            APP_WIT
        );
    }
}
