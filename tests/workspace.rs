//! Projects of several guests: the `pair` template built and run wired,
//! providers found by WIT package or named in the manifest, and the
//! errors for an import no guest provides, two guests that could, and a
//! call no app exports.

mod support;

use std::path::Path;

use predicates::prelude::*;
use support::cargo_iso;

/// `cargo iso` in `dir`, building in the suite's shared guest cache.
fn iso_in(dir: &Path, args: &[&str]) -> assert_cmd::assert::Assert {
    cargo_iso()
        .current_dir(dir)
        .env(
            "CARGO_ISO_SHARED_TARGET_DIR",
            support::shared_target_dir().join("shared"),
        )
        .args(args)
        .assert()
}

/// Replaces `from` by `to` in `dir/file`.
fn edit(dir: &Path, file: &str, from: &str, to: &str) {
    let path = dir.join(file);
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.contains(from), "`{from}` is not in {file}");
    std::fs::write(path, text.replace(from, to)).unwrap();
}

#[test]
fn the_pair_template_runs_its_front_wired_to_its_store() {
    let (_scratch, shop) = support::scaffold("shop", Some("pair"));
    iso_in(
        &shop,
        &[
            "run",
            "--invoke",
            "front.greet(\"ada\")",
            "--invoke",
            "greet(\"ada\")",
            "--invoke",
            "store.api.visits(\"ada\")",
        ],
    )
    .success()
    .stdout("\"hello ada, visit 1\"\n\"hello ada, visit 2\"\n2\n")
    .stderr(predicate::str::contains(
        "Wiring front: local:store/api from store",
    ));
    let copied = shop.join("front/wit/deps/local-store/world.wit");
    let original = std::fs::read_to_string(shop.join("store/wit/world.wit")).unwrap();
    assert_eq!(std::fs::read_to_string(copied).unwrap(), original);

    // The store's WIT changes: the front's copy follows at the next build.
    edit(
        &shop,
        "store/wit/world.wit",
        "    visits: func(name: string) -> u32;",
        "    visits: func(name: string) -> u32;\n    /// Everyone's visits.\n    total: func() -> u32;",
    );
    edit(
        &shop,
        "store/src/lib.rs",
        "    fn visits(",
        "    fn total() -> u32 {\n        state().visits.values().sum()\n    }\n\n    fn visits(",
    );
    let calls = [
        "run",
        "--invoke",
        "greet(\"bob\")",
        "--invoke",
        "store.api.total()",
    ];
    iso_in(&shop, &calls)
        .success()
        .stdout("\"hello bob, visit 1\"\n1\n");
    let copied = std::fs::read_to_string(shop.join("front/wit/deps/local-store/world.wit"));
    assert!(copied.unwrap().contains("total: func() -> u32;"));

    iso_in(&shop, &["run", "--invoke", "nope()"])
        .code(2)
        .stderr(predicate::str::contains(
            "error: no app exports `nope`\nhelp: the apps are store, front",
        ));
}

#[test]
fn an_import_no_guest_provides_is_named_with_the_guests_looked_at() {
    let (_scratch, shop) = support::scaffold("shop", Some("pair"));
    edit(
        &shop,
        "Cargo.toml",
        "members = [\"store\", \"front\"]",
        "members = [\"front\"]",
    );
    iso_in(&shop, &["build"])
        .code(101)
        .stderr(predicate::str::contains(
            "error: import `local:store/api` of guest `front` is provided by no guest of this project and no system interface\nhelp: the guests looked at are `front`",
        ));
}

#[test]
fn two_guests_that_could_provide_an_import_must_be_chosen_between() {
    let (_scratch, shop) = support::scaffold("shop", Some("pair"));
    let copy = |from: &Path, to: &Path| {
        for entry in walk(from) {
            let target = to.join(entry.strip_prefix(from).unwrap());
            std::fs::create_dir_all(target.parent().unwrap()).unwrap();
            std::fs::copy(&entry, target).unwrap();
        }
    };
    copy(&shop.join("store"), &shop.join("spare"));
    edit(
        &shop,
        "spare/Cargo.toml",
        "name = \"store\"",
        "name = \"spare\"",
    );
    edit(
        &shop,
        "Cargo.toml",
        "members = [\"store\", \"front\"]",
        "members = [\"store\", \"spare\", \"front\"]",
    );
    iso_in(&shop, &["build"])
        .code(101)
        .stderr(predicate::str::contains(
            "error: import `local:store/api` of guest `front` could be provided by `store`, `spare`",
        ))
        .stderr(predicate::str::contains(
            "\"local:store/api\" = { guest = \"store\" }",
        ));
    edit(
        &shop,
        "front/Cargo.toml",
        "[package.metadata.iso]",
        "[package.metadata.iso.imports]\n\"local:store/api\" = { guest = \"spare\" }\n\n[package.metadata.iso]",
    );
    iso_in(&shop, &["build"])
        .success()
        .stderr(predicate::str::contains(
            "Wiring front: local:store/api from spare",
        ));
}

/// Every file under `dir`, `target/` left out.
fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            if path.file_name().is_some_and(|n| n != "target") {
                files.extend(walk(&path));
            }
        } else {
            files.push(path);
        }
    }
    files
}
