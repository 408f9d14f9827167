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
    // The store's state was kept in `target/iso/data`: ada's two visits count.
    iso_in(&shop, &calls)
        .success()
        .stdout("\"hello bob, visit 1\"\n3\n");
    iso_in(
        &shop,
        &["run", "--no-data", "--invoke", "store.api.total()"],
    )
    .success()
    .stdout("0\n");
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

#[test]
fn check_compat_checks_each_guest_and_each_wiring_against_a_revision() {
    let (_scratch, shop) = support::scaffold("shop", Some("pair"));
    support::git_commit_all(&shop);
    iso_in(&shop, &["check-compat", "-q", "--baseline-rev", "HEAD"])
        .success()
        .stdout(predicate::str::starts_with(
            "Checking HEAD: store v0.1.0 (./store) -> store v0.1.0 (./store)\n",
        ))
        .stdout(predicate::str::contains(
            "  front (old) imports local:store/api@0.1.0 from store: ok\n",
        ))
        .stdout(predicate::str::ends_with(
            "\ncompatible: 2 guests and 2 wirings checked\n",
        ));

    // The store drops `visit`; the new front calls `visits` instead, but
    // the front that runs today calls `visit`.
    edit(
        &shop,
        "store/wit/world.wit",
        "    visit: func(name: string) -> u32;\n",
        "",
    );
    let lib = std::fs::read_to_string(shop.join("store/src/lib.rs")).unwrap();
    let visit = &lib[lib.find("    fn visit(").unwrap()..lib.find("    fn visits(").unwrap()];
    edit(&shop, "store/src/lib.rs", visit, "");
    edit(
        &shop,
        "front/src/lib.rs",
        "api::visit(&name)",
        "api::visits(&name)",
    );
    iso_in(&shop, &["check-compat", "-q", "--baseline-rev", "HEAD"])
        .code(1)
        .stdout(predicate::str::contains(
            "  front (old) imports local:store/api@0.1.0 from store: BREAKS\n    breaking: export local:store/api@0.1.0: func visit: the importer calls it, and the provider does not export it [function-removed]\n  front (new) imports local:store/api@0.1.0 from store: ok\n",
        ))
        .stdout(predicate::str::ends_with(
            "\nNOT compatible: 2 guests and 2 wirings checked; breaks: store, front, wiring front (old) <- store\n",
        ));
    let json = iso_in(
        &shop,
        &[
            "check-compat",
            "-q",
            "--baseline-rev",
            "HEAD",
            "--format",
            "json",
        ],
    )
    .code(1);
    let report: serde_json::Value = serde_json::from_slice(&json.get_output().stdout).unwrap();
    assert_eq!(report["compatible"], false);
    assert_eq!(report["guests"][0]["name"], "store");
    assert_eq!(report["wirings"][0]["importer_version"], "old");
    assert_eq!(report["wirings"][0]["compatible"], false);

    // A project is compared with a project, not with one component.
    let store = shop.join("target/iso/debug/store.wasm");
    iso_in(&shop, &["check-compat", "-q", store.to_str().unwrap(), "."])
        .code(2)
        .stderr(predicate::str::contains(
            "error: OLD is one component or WIT world, but the other side is a project of several guests",
        ));
}

/// The store of the pair template in `shop` gains `pin`, uncommitted.
fn add_pin(shop: &Path) {
    edit(
        shop,
        "store/wit/world.wit",
        "    visits: func(name: string) -> u32;",
        "    visits: func(name: string) -> u32;\n    pin: func(n: u32) -> u32;",
    );
    edit(
        shop,
        "store/src/lib.rs",
        "    fn visits(",
        "    fn pin(n: u32) -> u32 {\n        n\n    }\n\n    fn visits(",
    );
}

#[test]
fn projects_sharing_a_target_dir_keep_their_components_data_and_logs_and_revisions_apart() {
    // Two projects whose guests have the same names, in one CARGO_TARGET_DIR.
    let target = support::shared_target_dir().join("chosen");
    let (_shop_scratch, shop) = support::scaffold("shop", Some("pair"));
    let (_mall_scratch, mall) = support::scaffold("mall", Some("pair"));
    let iso = |dir: &Path, args: &[&str]| {
        cargo_iso()
            .current_dir(dir)
            .env("CARGO_TARGET_DIR", &target)
            .args(args)
            .assert()
    };
    support::git_commit_all(&shop);
    add_pin(&shop);
    iso(&shop, &["run", "--invoke", "greet(\"ada\")"])
        .success()
        .stdout("\"hello ada, visit 1\"\n");

    // Revision builds leave the project's own build on its current code.
    iso(&shop, &["check-compat", "-q", "--baseline-rev", "HEAD"]).success();
    iso(&shop, &["run", "--invoke", "store.api.pin(7)"])
        .success()
        .stdout("7\n");
    iso(&shop, &["replay", "1", "--rev", "HEAD"]).success();
    std::fs::write(
        shop.join("store/src/lib.rs"),
        std::fs::read_to_string(shop.join("store/src/lib.rs")).unwrap() + "\n",
    )
    .unwrap();
    iso(&shop, &["build"])
        .success()
        .stderr(predicate::str::contains("Compiling store"));
    iso(&shop, &["run", "--invoke", "store.api.pin(8)"])
        .success()
        .stdout("8\n");

    // The second project has its own components, data and log.
    iso(&mall, &["run", "--invoke", "greet(\"ada\")"])
        .success()
        .stdout("\"hello ada, visit 1\"\n");
    iso(&mall, &["log"])
        .success()
        .stdout(predicate::str::contains("greet(\"ada\")"))
        .stdout(predicate::str::contains("pin").not());
    iso(&shop, &["run", "--invoke", "greet(\"ada\")"])
        .success()
        .stdout("\"hello ada, visit 2\"\n");
    let components = |dir: &Path| {
        let built = iso(dir, &["build", "-q", "--message-format", "json"]).success();
        let stdout = String::from_utf8(built.get_output().stdout.clone()).unwrap();
        (stdout.lines())
            .map(|line| serde_json::from_str::<serde_json::Value>(line).unwrap()["path"].clone())
            .collect::<Vec<_>>()
    };
    let (in_shop, in_mall) = (components(&shop), components(&mall));
    assert_eq!(in_shop.len(), 2);
    assert!(
        in_shop.iter().all(|path| !in_mall.contains(path)),
        "{in_shop:?} {in_mall:?}"
    );
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
