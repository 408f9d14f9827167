//! `cargo iso dev`: the real binary as a child process, driven through its
//! stdin while the tests edit the guest's files, plus the replay of a
//! recorded session in `iso-host`. Waits are bounded but generous: CI
//! machines are slow.

mod support;

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::Arc;
use std::sync::mpsc::{Receiver, RecvTimeoutError, channel};
use std::time::{Duration, Instant};

use iso_host::runtime::{Runtime, Wiring};
use iso_host::{Budget, ComponentCache, EngineOptions, IsoEngine, NoLog, Session};

const PATIENCE: Duration = Duration::from_secs(180);

/// A new guest from the counter template, named `name`, in a temp dir.
fn new_counter(name: &str) -> (tempfile::TempDir, PathBuf) {
    support::scaffold(name, None)
}

/// Replaces `from` with `to` in the guest's `src/lib.rs`.
fn edit(dir: &Path, from: &str, to: &str) {
    let path = dir.join("src/lib.rs");
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.contains(from), "src/lib.rs has no {from:?}");
    std::fs::write(&path, text.replacen(from, to, 1)).unwrap();
}

/// `cargo iso dev` running as a child, with its output read line by line.
struct DevHost {
    child: Child,
    stdin: Option<ChildStdin>,
    stdout: Receiver<String>,
    stderr: Receiver<String>,
    /// Every stderr line so far, for failure messages.
    seen: Vec<String>,
}

fn lines(from: impl std::io::Read + Send + 'static) -> Receiver<String> {
    let (send, receive) = channel();
    std::thread::spawn(move || {
        for line in BufReader::new(from).lines().map_while(Result::ok) {
            let _ = send.send(line);
        }
    });
    receive
}

impl DevHost {
    fn start(dir: &Path, args: &[&str]) -> DevHost {
        let mut child = Command::new(env!("CARGO_BIN_EXE_cargo-iso"))
            .args(["iso", "dev"])
            .args(args)
            .current_dir(dir)
            .env("CARGO_TERM_COLOR", "never")
            .env_remove("CARGO_ISO_TOOLCHAIN")
            .env(
                "CARGO_ISO_SHARED_TARGET_DIR",
                support::shared_target_dir().join("shared"),
            )
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut host = DevHost {
            stdin: child.stdin.take(),
            stdout: lines(child.stdout.take().unwrap()),
            stderr: lines(child.stderr.take().unwrap()),
            child,
            seen: Vec::new(),
        };
        host.stderr_line("Serving");
        host
    }

    fn send(&mut self, line: &str) {
        let stdin = self.stdin.as_mut().expect("input is open");
        writeln!(stdin, "{line}").unwrap();
        stdin.flush().unwrap();
    }

    /// The next stdout line.
    fn stdout_line(&mut self) -> String {
        match self.stdout.recv_timeout(PATIENCE) {
            Ok(line) => line,
            Err(_) => panic!("no output; stderr so far:\n{}", self.seen.join("\n")),
        }
    }

    /// Makes a call and returns its one result line.
    fn call(&mut self, call: &str) -> String {
        self.send(call);
        self.stdout_line()
    }

    /// Reads stderr up to the first line containing `needle`, and returns it.
    fn stderr_line(&mut self, needle: &str) -> String {
        let deadline = Instant::now() + PATIENCE;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.stderr.recv_timeout(left) {
                Ok(line) => {
                    self.seen.push(line.clone());
                    if line.contains(needle) {
                        return line;
                    }
                }
                Err(RecvTimeoutError::Timeout | RecvTimeoutError::Disconnected) => panic!(
                    "no stderr line with {needle:?}; stderr so far:\n{}",
                    self.seen.join("\n")
                ),
            }
        }
    }

    /// Ends input and waits for a clean exit.
    fn finish(mut self) {
        self.stdin = None;
        let deadline = Instant::now() + PATIENCE;
        while Instant::now() < deadline {
            if let Some(status) = self.child.try_wait().unwrap() {
                assert!(status.success(), "exit status {status}");
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        panic!("the dev host did not exit at the end of its input");
    }
}

impl Drop for DevHost {
    fn drop(&mut self) {
        let _ = self.child.kill();
    }
}

#[test]
fn an_edit_reloads_with_the_state_kept() {
    let (_scratch, dir) = new_counter("dev-keep");
    let mut host = DevHost::start(&dir, &["--watch"]);
    assert_eq!(host.call("increment(5)"), "5");
    edit(&dir, "state().count\n", "state().count * 2\n");
    let status = host.stderr_line("Reloaded");
    assert!(status.contains("dev-keep (v2) in "), "{status}");
    assert!(status.contains("state kept"), "{status}");
    for stage in ["build ", "componentize ", "compile ", "swap "] {
        assert!(status.contains(stage), "{stage} missing from {status}");
    }
    assert_eq!(host.call("get()"), "10");
    host.finish();
}

#[test]
fn a_broken_build_keeps_the_old_version_answering_until_the_fix() {
    let (_scratch, dir) = new_counter("dev-broken");
    let mut host = DevHost::start(&dir, &["--watch"]);
    assert_eq!(host.call("increment(3)"), "3");
    edit(&dir, "state().count\n", "state().count + \"oops\"\n");
    host.stderr_line("error[E0277]");
    host.stderr_line("the build failed; still serving v1");
    assert_eq!(host.call("get()"), "3");
    edit(&dir, "state().count + \"oops\"\n", "state().count + 100\n");
    host.stderr_line("Reloaded dev-broken (v2)");
    assert_eq!(host.call("get()"), "103");
    host.finish();
}

#[test]
fn an_incompatible_state_keeps_the_old_version_and_reload_fresh_starts_over() {
    let (_scratch, dir) = new_counter("dev-schema");
    let mut host = DevHost::start(&dir, &["--watch"]);
    assert_eq!(host.call("increment(7)"), "7");
    edit(
        &dir,
        "    count: u64,\n",
        "    count: u64,\n    limit: u32,\n",
    );
    let refusal = host.stderr_line("still serving v1");
    assert!(refusal.contains("cannot take its state"), "{refusal}");
    assert!(refusal.contains("limit"), "the path is named: {refusal}");
    host.stderr_line(":reload --fresh");
    assert_eq!(host.call("get()"), "7");
    host.send(":reload --fresh");
    let status = host.stderr_line("Reloaded dev-schema (v2)");
    assert!(status.contains("state reset"), "{status}");
    assert_eq!(host.call("get()"), "0");
    host.finish();
}

#[test]
fn five_rapid_edits_end_in_one_coherent_final_version() {
    let (_scratch, dir) = new_counter("dev-rapid");
    let mut host = DevHost::start(&dir, &["--watch"]);
    assert_eq!(host.call("increment(1)"), "1");
    let mut body = "state().count\n".to_owned();
    for k in 1..=5 {
        let next = format!("state().count + {k}\n");
        edit(&dir, &body, &next);
        body = next;
    }
    let mut reloads = 0;
    let answer = loop {
        host.stderr_line("Reloaded dev-rapid");
        reloads += 1;
        let answer = host.call("get()");
        if answer == "6" || reloads == 5 {
            break answer;
        }
    };
    assert_eq!(answer, "6", "the last edit wins");
    assert!(reloads <= 2, "{reloads} reloads for one burst of edits");
    host.finish();
}

#[test]
fn a_trap_during_a_call_leaves_the_session_usable() {
    let (_scratch, dir) = new_counter("dev-trap");
    let mut host = DevHost::start(&dir, &[]);
    assert_eq!(host.call("increment(4)"), "4");
    host.send(":budget fuel=10");
    host.stderr_line("Budget fuel 10");
    host.send("increment(1)");
    let error = host.stderr_line("error:");
    assert!(error.contains("fuel budget exceeded"), "{error}");
    host.send(":budget fuel=none");
    host.stderr_line("Budget fuel unlimited");
    assert_eq!(host.call("get()"), "4", "the state of the last good call");
    assert_eq!(host.call("increment(1)"), "5");
    host.finish();
}

#[test]
fn replay_reports_exactly_the_changed_results() {
    let (_scratch, dir) = new_counter("dev-replay");
    let mut host = DevHost::start(&dir, &["--watch", "--shadow", "10"]);
    for (call, result) in [
        ("increment(2)", "2"),
        ("get()", "2"),
        ("increment(3)", "5"),
        ("get()", "5"),
    ] {
        assert_eq!(host.call(call), result);
    }
    edit(&dir, "state().count\n", "state().count * 2\n");
    host.stderr_line("Reloaded dev-replay (v2)");
    let shadow = host.stderr_line("Shadowed");
    assert!(shadow.contains("4 calls on v2: 2 divergences"), "{shadow}");
    assert_eq!(host.stdout_line(), "call 2: get() was 2, now 4");
    assert_eq!(host.stdout_line(), "call 4: get() was 5, now 10");
    host.send(":replay");
    assert_eq!(host.stdout_line(), "call 2: get() was 2, now 4");
    assert_eq!(host.stdout_line(), "call 4: get() was 5, now 10");
    let summary = host.stderr_line("Replayed");
    assert!(
        summary.contains("4 calls on v2: 2 divergences"),
        "{summary}"
    );
    host.send(":history");
    assert_eq!(host.stdout_line(), "   1  increment(2) -> 2");
    host.finish();
}

#[test]
fn shadow_live_keeps_the_old_answers_shows_each_divergence_and_promotes() {
    let (_scratch, dir) = new_counter("dev-live");
    let mut host = DevHost::start(&dir, &["--watch", "--shadow-live"]);
    assert_eq!(host.call("increment(2)"), "2");
    edit(&dir, "state().count\n", "state().count * 2\n");
    let status = host.stderr_line("Shadowing");
    assert!(
        status.contains("dev-live with v2 in ")
            && status.contains("v1 answers until `:promote` or `:rollback`"),
        "{status}"
    );
    // The running version keeps answering; the new one sees every call.
    for (call, result) in [("get()", "2"), ("increment(3)", "5"), ("get()", "5")] {
        assert_eq!(host.call(call), result);
    }
    host.send(":divergences");
    // Each with the primary's call in the event log, for `cargo iso replay`.
    assert_eq!(
        host.stdout_line(),
        "call 1: get() -> v1 2, v2 4  (log id 2)"
    );
    assert_eq!(
        host.stdout_line(),
        "call 3: get() -> v1 5, v2 10  (log id 4)"
    );
    let summary = host.stderr_line("Shadowing");
    assert!(
        summary.contains("dev-live v2: 3 calls mirrored, 2 divergences"),
        "{summary}"
    );
    host.send(":route percent=100");
    let routing = host.stderr_line("Routing");
    assert!(
        routing.contains(
            "dev-live: v2 answers 100% of the keys (a call's first argument), v1 the rest"
        ),
        "{routing}"
    );
    assert_eq!(host.call("get()"), "10");
    host.send(":route shadow");
    host.stderr_line("Shadowing dev-live with v2; v1 answers");
    assert_eq!(host.call("get()"), "5");
    host.send(":promote");
    let promoted = host.stderr_line("Promoted");
    assert!(
        promoted.contains("dev-live v2: it answers now"),
        "{promoted}"
    );
    assert_eq!(host.call("get()"), "10");
    host.send(":rollback");
    host.stderr_line("no new version runs beside `dev-live`");
    host.finish();
}

#[test]
fn meta_commands_answer_and_mistakes_are_explained() {
    let (_scratch, dir) = new_counter("dev-meta");
    let mut host = DevHost::start(&dir, &[]);
    host.send(":exports");
    assert_eq!(host.stdout_line(), "increment: func(by: u32) -> u64");
    assert_eq!(host.stdout_line(), "get: func() -> u64");
    assert_eq!(host.stdout_line(), "reset: func()");
    assert_eq!(host.stdout_line(), "run: func() -> string");
    assert_eq!(host.call("increment(2)"), "2");
    host.send(":state");
    assert_eq!(host.stdout_line(), r#"{"count":2,"changes":1}"#);
    host.send(":nope");
    host.stderr_line("unknown command `:nope`");
    host.send(":budget fuel");
    host.stderr_line("`fuel` is not a budget setting");
    host.send("increment(");
    host.stderr_line("error:");
    host.send("frobnicate()");
    let unknown = host.stderr_line("error:");
    assert!(unknown.contains("frobnicate"), "{unknown}");
    assert_eq!(host.call("get()"), "2");
    host.finish();
}

/// Replay answers clock and kv reads from the recording, so a guest that
/// reads the clock replays to the same results, and the session is untouched.
#[test]
fn replay_of_a_clock_reading_guest_is_deterministic() {
    let (_scratch, dir) = support::scaffold("replayer", Some("rate-limiter"));
    let bytes = support::build_component(&dir);
    let engine = Arc::new(IsoEngine::new(EngineOptions::default()).unwrap());
    let mut runtime = Runtime::new(engine, ComponentCache::new(None), Arc::new(NoLog)).unwrap();
    runtime
        .start("replayer", &bytes, Wiring::new(), Budget::default())
        .unwrap();
    let mut session = Session::new(runtime, &["replayer"]).unwrap();
    let app = session.app("replayer").unwrap();
    for _ in 0..12 {
        session.call("replayer", "check(\"ada\")").unwrap();
    }
    assert!(
        session.history()[0]
            .effects
            .iter()
            .any(|e| matches!(e, iso_host::Effect::WallNow(_))),
        "{:?}",
        session.history()[0]
    );
    for _ in 0..2 {
        let (count, divergences) = session.replay("replayer", &app, None).unwrap();
        assert_eq!((count, divergences), (12, vec![]));
    }
    let (count, _) = session.replay("replayer", &app, Some(3)).unwrap();
    assert_eq!(count, 3);
    assert_eq!(session.history().len(), 12, "replay records nothing");
}

#[test]
fn ctrl_c_and_quit_leave_cleanly() {
    let (_scratch, dir) = new_counter("dev-quit");
    let mut host = DevHost::start(&dir, &["--watch"]);
    assert_eq!(host.call("increment(1)"), "1");
    let interrupted = Command::new("kill")
        .args(["-INT", &host.child.id().to_string()])
        .status()
        .unwrap();
    assert!(interrupted.success());
    host.finish();

    let mut host = DevHost::start(&dir, &[]);
    host.send(":quit");
    host.finish();
}

#[test]
fn a_new_export_is_announced_and_served() {
    let (_scratch, dir) = new_counter("dev-exports");
    let mut host = DevHost::start(&dir, &["--watch"]);
    assert_eq!(host.call("increment(21)"), "21");
    let lib = dir.join("src/lib.rs");
    let text = std::fs::read_to_string(&lib).unwrap();
    let text = text.replacen(
        "    fn get() -> u64 {",
        "    fn double() -> u64 {\n        state().count * 2\n    }\n\n    fn get() -> u64 {",
        1,
    );
    std::fs::write(&lib, text).unwrap();
    let wit = dir.join("wit/world.wit");
    let text = std::fs::read_to_string(&wit).unwrap();
    let text = text.replacen(
        "    export run: func() -> string;",
        "    export run: func() -> string;\n    export double: func() -> u64;",
        1,
    );
    std::fs::write(&wit, text).unwrap();
    let note = host.stderr_line("exports changed");
    assert!(note.contains("added `double: func() -> u64`"), "{note}");
    assert_eq!(host.call("double()"), "42");
    host.finish();
}

/// Whether a component or module carries DWARF (`.debug_*` custom sections).
fn has_debug_info(wasm: &[u8]) -> bool {
    wasmparser::Parser::new(0).parse_all(wasm).any(|payload| {
        matches!(payload, Ok(wasmparser::Payload::CustomSection(section))
            if section.name().starts_with(".debug_"))
    })
}

#[test]
fn the_dev_host_builds_without_debug_info_and_leaves_cargo_iso_build_alone() {
    let (_scratch, dir) = new_counter("dev-lean");
    assert!(has_debug_info(&support::build_component(&dir)));
    let host = DevHost::start(&dir, &[]);
    let profile = "Finished `iso-dev` profile [unoptimized]";
    assert!(
        host.seen.iter().any(|line| line.contains(profile)),
        "no {profile:?} in {:?}",
        host.seen
    );
    host.finish();
    let served = std::fs::read(dir.join("target/iso/debug/dev/dev_lean.wasm")).unwrap();
    assert!(!has_debug_info(&served), "the dev host's build has DWARF");
    // The dev host built under a profile of its own: `cargo iso build` is still up to date.
    let again = support::cargo_iso()
        .current_dir(&dir)
        .env(
            "CARGO_ISO_SHARED_TARGET_DIR",
            support::shared_target_dir().join("shared"),
        )
        .args(["build", "-v"])
        .assert()
        .success();
    let stderr = String::from_utf8_lossy(&again.get_output().stderr).into_owned();
    assert!(
        stderr.contains("Fresh dev-lean v0.1.0 component"),
        "{stderr}"
    );
}

#[test]
fn interface_functions_are_listed_under_their_interface_and_called_by_short_name() {
    let guest = support::GuestCrate::new("store", "dev-store");
    let mut host = DevHost::start(guest.path(), &[]);
    host.send(":exports");
    assert_eq!(host.stdout_line(), "local:store/api@0.1.0:");
    assert_eq!(host.stdout_line(), "  put: func(key: string, value: u32)");
    assert_eq!(
        host.stdout_line(),
        "  get: func(key: string) -> option<u32>"
    );
    assert_eq!(host.stdout_line(), "  sum: func(keys: list<string>) -> u32");
    assert_eq!(
        host.stdout_line(),
        "  entries: func(keys: list<string>) -> list<record { key: string, value: u32 }>"
    );
    host.send("put(\"a\", 2)");
    assert_eq!(host.call("api.get(\"a\")"), "some(2)");
    assert_eq!(host.call("local:store/api@0.1.0#get(\"b\")"), "none");
    host.send(":history");
    assert_eq!(host.stdout_line(), "   1  put(\"a\", 2) -> ()");
    assert_eq!(host.stdout_line(), "   2  api.get(\"a\") -> some(2)");
    assert_eq!(
        host.stdout_line(),
        "   3  local:store/api@0.1.0#get(\"b\") -> none"
    );
    host.send(":replay");
    host.stderr_line("Replayed 3 calls on v1: 0 divergences");
    host.send(":state");
    host.stderr_line("exports no iso:app/state");
    // `entry` comes from `local:store/types`, an interface of types alone.
    assert_eq!(
        host.call("entries([\"a\", \"b\"])"),
        "[{key: \"a\", value: 2}]"
    );
    host.send(":reload");
    let reloaded = host.stderr_line("Reloaded");
    assert!(reloaded.ends_with("no state to keep"), "{reloaded}");
    // `:reset` empties the app's kv.
    host.send(":reset");
    host.stderr_line("Reset dev-store: default state, no kv entries");
    assert_eq!(host.call("api.get(\"a\")"), "none");
    host.finish();
}

/// A provider and its importer changed together (the store renames
/// `visit`, and the front calls it by its new name) swap in as one step,
/// whether the watcher builds them together or one after the other.
#[test]
fn a_provider_and_its_importer_changed_together_reload_together() {
    let (_scratch, shop) = support::scaffold("shop", Some("pair"));
    let mut host = DevHost::start(&shop, &["--watch"]);
    assert_eq!(host.call("greet(\"ada\")"), "\"hello ada, visit 1\"");
    edit_file(
        &shop,
        "store/wit/world.wit",
        "    visit: func(",
        "    count-visit: func(",
    );
    edit_file(
        &shop,
        "store/src/lib.rs",
        "    fn visit(",
        "    fn count_visit(",
    );
    edit_file(
        &shop,
        "front/src/lib.rs",
        "api::visit(",
        "api::count_visit(",
    );
    let reloaded = host.stderr_line("Reloaded front");
    assert!(reloaded.contains("state kept"), "{reloaded}");
    assert_eq!(host.call("greet(\"ada\")"), "\"hello ada, visit 2\"");
    assert!(
        host.seen
            .iter()
            .any(|line| line.contains("Reloaded store (v2)")),
        "{}",
        host.seen.join("\n")
    );
    assert!(
        host.seen
            .iter()
            .all(|line| !line.contains("func count-visit: removed")),
        "{}",
        host.seen.join("\n")
    );
    host.finish();
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap()
}

/// Replaces `from` with `to` in `dir/file`.
fn edit_file(dir: &Path, file: &str, from: &str, to: &str) {
    let path = dir.join(file);
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.contains(from), "{file} has no {from:?}");
    std::fs::write(&path, text.replacen(from, to, 1)).unwrap();
}

/// The pair template in `dev --watch`: an edit of the store reloads the
/// store alone, with its state, and the front's next call reaches it; a
/// broken edit and one that drops what the front imports leave both
/// serving; an edit of a path dependency of both reloads both.
#[test]
fn a_pair_reloads_the_edited_guest_alone_with_its_state() {
    let (_scratch, shop) = support::scaffold("shop", Some("pair"));
    // A path dependency of both guests, for the last step.
    let common = shop.join("common");
    std::fs::create_dir_all(common.join("src")).unwrap();
    std::fs::write(
        common.join("Cargo.toml"),
        "[package]\nname = \"common\"\nversion = \"0.1.0\"\nedition = \"2024\"\n",
    )
    .unwrap();
    std::fs::write(common.join("src/lib.rs"), "pub const STEP: u32 = 1;\n").unwrap();
    for guest in ["store", "front"] {
        edit_file(
            &shop,
            &format!("{guest}/Cargo.toml"),
            "[dependencies]\n",
            "[dependencies]\ncommon = { path = \"../common\" }\n",
        );
    }
    edit_file(
        &shop,
        "store/src/lib.rs",
        "*visits += 1;",
        "*visits += common::STEP;",
    );
    edit_file(
        &shop,
        "front/src/lib.rs",
        "s.greetings += 1",
        "s.greetings += u64::from(common::STEP)",
    );

    let mut host = DevHost::start(&shop, &["--watch"]);
    assert_eq!(host.call("front.greet(\"ada\")"), "\"hello ada, visit 1\"");
    host.send(":apps");
    let apps = [host.stdout_line(), host.stdout_line()];
    assert_eq!(
        apps,
        [
            "store v1  state 20 B  imports nothing from other apps",
            "front v1  state 16 B  imports local:store/api from store",
        ]
    );
    host.send(":history");
    let history = [host.stdout_line(), host.stdout_line()];
    assert_eq!(
        history,
        [
            "   1  front.greet(\"ada\") -> \"hello ada, visit 1\"",
            "          store.visit(\"ada\") -> 1",
        ]
    );

    edit_file(
        &shop,
        "store/src/lib.rs",
        "*visits += common::STEP;",
        "*visits += 10 * common::STEP;",
    );
    let reloaded = host.stderr_line("Reloaded");
    assert!(
        reloaded.contains("Reloaded store (v2)")
            && reloaded.ends_with("state kept; front unchanged"),
        "{reloaded}"
    );
    // The front replays with the store's recorded answers: the new store
    // is not called (the next visit below is 11, not 21).
    host.send(":replay front");
    let replayed = host.stderr_line("Replayed");
    assert!(
        replayed.ends_with("Replayed 1 call on front v1: 0 divergences"),
        "{replayed}"
    );
    assert_eq!(host.call("greet(\"ada\")"), "\"hello ada, visit 11\"");

    edit_file(&shop, "store/src/lib.rs", "fn visit(", "fn visit(,");
    let failed = host.stderr_line("the build failed");
    assert!(
        failed.ends_with("still serving store v2, front v1"),
        "{failed}"
    );
    assert_eq!(host.call("greet(\"ada\")"), "\"hello ada, visit 21\"");

    // The store drops `visit`, which the front imports: refused, and named.
    edit_file(&shop, "store/src/lib.rs", "fn visit(,", "fn visit(");
    host.stderr_line("Reloaded store (v3)");
    let (lib, wit) = (
        shop.join("store/src/lib.rs"),
        shop.join("store/wit/world.wit"),
    );
    let (lib_text, wit_text) = (read(&lib), read(&wit));
    let visit = &lib_text
        [lib_text.find("    fn visit(").unwrap()..lib_text.find("    fn visits(").unwrap()];
    std::fs::write(&lib, lib_text.replace(visit, "")).unwrap();
    std::fs::write(
        &wit,
        wit_text.replace("    visit: func(name: string) -> u32;\n", ""),
    )
    .unwrap();
    let refused = host.stderr_line("the new build did not start");
    assert!(
        refused.contains("still serving store v3")
            && refused.contains("cannot fill `front`'s import `local:store/api"),
        "{refused}"
    );
    // The front builds against the store's new WIT now, to be changed to
    // fit it; as it calls `visit`, its build fails, and it keeps serving.
    host.stderr_line("its importers build against its new WIT now");
    host.stderr_line("the build failed");
    assert_eq!(host.call("greet(\"ada\")"), "\"hello ada, visit 31\"");

    // The store gets `visit` back, and the front follows its WIT again.
    std::fs::write(&wit, &wit_text).unwrap();
    std::fs::write(&lib, lib_text).unwrap();
    host.stderr_line("Reloaded store (v4)");
    host.stderr_line("Reloaded front (v2)");
    // The common dependency changes: both reload, providers first.
    std::fs::write(common.join("src/lib.rs"), "pub const STEP: u32 = 2;\n").unwrap();
    let first = host.stderr_line("Reloaded");
    let second = host.stderr_line("Reloaded");
    assert!(first.contains("Reloaded store (v5)"), "{first}");
    assert!(second.contains("Reloaded front (v3)"), "{second}");
    assert_eq!(host.call("greet(\"ada\")"), "\"hello ada, visit 51\"");

    // The store's WIT grows: once the store is reloaded, the front's copy
    // follows, and the front is rebuilt against it.
    std::fs::write(
        &wit,
        wit_text.replace(
            "    visits: func(name: string) -> u32;",
            "    visits: func(name: string) -> u32;\n    total: func() -> u32;",
        ),
    )
    .unwrap();
    std::fs::write(
        &lib,
        read(&lib).replace(
            "    fn visits(",
            "    fn total() -> u32 {\n        state().visits.values().sum()\n    }\n\n    fn visits(",
        ),
    )
    .unwrap();
    host.stderr_line("Reloaded store (v6)");
    host.stderr_line("Reloaded front (v4)");
    assert!(read(&shop.join("front/wit/deps/local-store/world.wit")).contains("total: func()"));
    assert_eq!(host.call("store.total()"), "51");
    host.finish();
}
