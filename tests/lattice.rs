//! Hosts on NATS, each test with a real `nats-server` of its own on a free
//! port: a front on one host calls a store another host serves; two hosts
//! share one address's calls; garbage is dropped; a stopped server gives
//! clear errors and calls resume when it is back; a remote whose WIT no
//! longer matches is refused at start; and, with real `cargo iso serve`
//! processes, `run`, `call` and `lattice` from other processes, a drain
//! on SIGTERM, and a host killed during 500 calls without losing an
//! acknowledged call.

mod support;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStderr, Command, Stdio};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use iso_host::runtime::{RemoteApp, Runtime, Transport, TransportError, Wiring, block_on};
use iso_host::{Budget, ComponentCache, EngineOptions, IsoEngine, NoLog, Timeout};
use iso_nats::Nats;
use predicates::prelude::*;
use support::GuestCrate;

/// A `nats-server` of its own, stopped when dropped.
struct Server {
    child: Child,
    port: u16,
    url: String,
    /// Where the server writes its ports file.
    _ports: tempfile::TempDir,
}

impl Server {
    /// A server on a port it picks itself as it starts listening: a port
    /// picked here and handed over could be taken in between.
    fn start() -> Server {
        Server::spawn("-1", &[])
    }

    /// A server on `port` (again, after the one there was stopped).
    fn start_on(port: u16) -> Server {
        Server::spawn(&port.to_string(), &[])
    }

    /// A server started with `options` too, e.g. `--user a --pass b`.
    fn start_with(options: &[&str]) -> Server {
        Server::spawn("-1", options)
    }

    /// Starts `nats-server -p port` and waits for its ports file, which it
    /// writes once it listens. Unlike a probe connect, that file cannot
    /// come from another test's server, and a server that could not
    /// listen is seen exiting.
    fn spawn(port: &str, options: &[&str]) -> Server {
        // Debian puts it in /usr/sbin, which a user's PATH may lack.
        let binary = ["/usr/sbin/nats-server", "/usr/bin/nats-server"]
            .into_iter()
            .find(|path| Path::new(path).exists())
            .unwrap_or("nats-server");
        let ports = tempfile::tempdir().unwrap();
        let mut child = Command::new(binary)
            .args(["-a", "127.0.0.1", "-p", port])
            .args(options)
            .arg("--ports_file_dir")
            .arg(ports.path())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|err| {
                panic!("cannot start nats-server ({err}): run ./scripts/setup --nats")
            });
        let deadline = Instant::now() + Duration::from_secs(10);
        let url = loop {
            if let Some(status) = child.try_wait().unwrap() {
                panic!("nats-server -p {port} exited before listening: {status}");
            }
            if let Some(url) = listening_url(ports.path()) {
                break url;
            }
            assert!(
                Instant::now() < deadline,
                "nats-server -p {port} did not listen within 10 s"
            );
            std::thread::sleep(Duration::from_millis(10));
        };
        let port = url.rsplit(':').next().and_then(|p| p.parse().ok());
        Server {
            child,
            port: port.unwrap_or_else(|| panic!("no port in nats-server's URL {url}")),
            url,
            _ports: ports,
        }
    }
}

/// The client URL in the ports file a nats-server wrote in `dir`, once it
/// is there and whole.
fn listening_url(dir: &Path) -> Option<String> {
    let file = std::fs::read_dir(dir).ok()?.flatten().next()?;
    let ports: serde_json::Value =
        serde_json::from_slice(&std::fs::read(file.path()).ok()?).ok()?;
    ports["nats"][0].as_str().map(str::to_owned)
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Fixtures built so far, by name.
type Built = Mutex<Vec<(&'static str, &'static [u8])>>;

/// The component of a fixture, built once for the whole file.
fn fixture(fixture: &'static str) -> &'static [u8] {
    static BUILT: OnceLock<Built> = OnceLock::new();
    let built = BUILT.get_or_init(Default::default);
    let mut built = built.lock().unwrap_or_else(|e| e.into_inner());
    if let Some((_, bytes)) = built.iter().find(|(name, _)| *name == fixture) {
        return bytes;
    }
    let guest = GuestCrate::new(fixture, &format!("lattice-{fixture}"));
    let bytes: &'static [u8] = Box::leak(guest.build_debug().into_boxed_slice());
    built.push((fixture, bytes));
    bytes
}

/// `fixture`'s component in `dir`, as `<address>.wasm`.
fn wasm_file(dir: &Path, fixture: &'static str, address: &str) -> PathBuf {
    let path = dir.join(format!("{address}.wasm"));
    std::fs::write(&path, self::fixture(fixture)).unwrap();
    path
}

fn runtime() -> Runtime {
    let engine = Arc::new(IsoEngine::new(EngineOptions::default()).unwrap());
    Runtime::new(engine, ComponentCache::new(None), Arc::new(NoLog)).unwrap()
}

/// A runtime that runs the store fixture (or `bytes`) as `store`.
fn store_host(bytes: &[u8]) -> Arc<Runtime> {
    let mut host = runtime();
    (host.start("store", bytes, Wiring::new(), Budget::default())).unwrap();
    Arc::new(host)
}

const SECOND: Duration = Duration::from_secs(1);

#[test]
fn a_front_on_one_host_calls_a_store_served_by_another() {
    let server = Server::start();
    let serving = Nats::connect(&server.url).unwrap();
    let _serving = (serving.serve(store_host(fixture("store")), |_| {})).unwrap();

    let mut front_host = runtime();
    front_host.set_transport(Arc::new(Nats::connect(&server.url).unwrap()));
    let front = fixture("front");
    let budget = Budget {
        timeout: Some(Timeout(2 * SECOND)),
        ..Budget::default()
    };
    let wiring = |to: &str| Wiring::new().remote("local:store/api", to);
    (front_host.start("front", front, wiring("store"), budget)).unwrap();
    let call = |text: &str| {
        let output = block_on(front_host.call_wave("front", text)).unwrap();
        output.results_wave().join(",")
    };
    assert_eq!(call("remember(\"a\", 2)"), "1");
    assert_eq!(call("recall(\"a\")"), "some(2)");
    assert_eq!(call("total([\"a\", \"b\"])"), "2");

    // Nobody serves `nobody`: refused at start, the import named.
    let err = (front_host.start("front-2", front, wiring("nobody"), budget))
        .unwrap_err()
        .to_string();
    assert!(err.contains("no host serves `nobody`"), "{err}");

    // The server gone: a clear error within the budget, no hang.
    drop(server);
    let started = Instant::now();
    let err = block_on(front_host.call_wave("front", "recall(\"a\")"))
        .unwrap_err()
        .to_string();
    assert!(started.elapsed() < 4 * SECOND, "{:?}", started.elapsed());
    assert!(err.contains("store"), "{err}");
}

#[test]
fn two_hosts_serving_one_address_share_its_calls_and_both_are_listed() {
    let server = Server::start();
    let (one, two) = (
        Nats::connect(&server.url).unwrap(),
        Nats::connect(&server.url).unwrap(),
    );
    let one = one.serve(store_host(fixture("store")), |_| {}).unwrap();
    let two = two.serve(store_host(fixture("store")), |_| {}).unwrap();
    let client = Arc::new(Nats::connect(&server.url).unwrap());
    let store = RemoteApp::connect(client.clone(), "store", SECOND).unwrap();
    for i in 0..200 {
        let got = store
            .call_wave(&format!("sum([\"k{i}\"])"), SECOND)
            .unwrap();
        assert_eq!(got.map(|v| iso_host::wave(&v)).as_deref(), Some("0"));
    }
    let (a, b) = (one.answered(), two.answered());
    assert_eq!(a + b, 200, "{a} + {b}");
    assert!(a > 0 && b > 0, "each host took some: {a} and {b}");

    let hosts = client.lattice(Duration::from_millis(500)).unwrap();
    assert_eq!(hosts.len(), 2, "{hosts:?}");
    for host in &hosts {
        assert_eq!(host.apps.len(), 1);
        assert_eq!(host.apps[0].address, "store");
        assert_eq!(host.apps[0].exports, ["local:store/api@0.1.0"]);
    }
}

#[test]
fn garbage_on_a_subject_is_logged_and_dropped_and_the_host_keeps_serving() {
    let server = Server::start();
    let warnings = Arc::new(Mutex::new(Vec::new()));
    let seen = warnings.clone();
    let nats = Nats::connect(&server.url).unwrap();
    let serving = (nats.serve(store_host(fixture("store")), move |warning| {
        seen.lock().unwrap().push(warning)
    }))
    .unwrap();
    let client = Arc::new(Nats::connect(&server.url).unwrap());
    let garbage = b"\xffgarbage!".to_vec();
    let err = client.request("store", garbage, Duration::from_millis(300));
    assert_eq!(
        err,
        Err(TransportError::TimedOut {
            after: Duration::from_millis(300)
        })
    );
    let store = RemoteApp::connect(client, "store", SECOND).unwrap();
    store.call_wave("put(\"a\", 7)", SECOND).unwrap();
    let got = store.call_wave("get(\"a\")", SECOND).unwrap();
    assert_eq!(got.map(|v| iso_host::wave(&v)).as_deref(), Some("some(7)"));
    assert_eq!(serving.dropped(), 1);
    let warnings = warnings.lock().unwrap();
    assert!(
        warnings[0].starts_with("dropped 9 bytes on `iso.call.store`: it is not a call"),
        "{warnings:?}"
    );
}

/// The host's own interfaces are never served: nobody on the lattice can
/// read or overwrite an app's state, or run its tests.
#[test]
fn a_host_own_export_is_refused_and_the_apps_own_are_answered() {
    let server = Server::start();
    let nats = Nats::connect(&server.url).unwrap();
    let _serving = nats
        .serve(store_host(fixture("misbehave")), |_| {})
        .unwrap();
    let client = Arc::new(Nats::connect(&server.url).unwrap());
    let app = RemoteApp::connect(client, "store", SECOND).unwrap();
    let added = app.call_wave("add(2)", SECOND).unwrap();
    assert_eq!(added.map(|v| iso_host::wave(&v)).as_deref(), Some("2"));
    for call in ["iso:app/state@0.1.0#save()", "iso:app/state@0.1.0#schema()"] {
        let err = app.call_wave(call, SECOND).unwrap_err().to_string();
        assert!(
            err.contains("no export `iso:app/state@0.1.0#"),
            "{call}: {err}"
        );
    }
    let total = app.call_wave("total()", SECOND).unwrap();
    assert_eq!(total.map(|v| iso_host::wave(&v)).as_deref(), Some("2"));
}

#[test]
fn a_stopped_server_gives_clear_errors_and_calls_resume_when_it_is_back() {
    let server = Server::start();
    let port = server.port;
    let nats = Nats::connect(&server.url).unwrap();
    let _serving = nats.serve(store_host(fixture("store")), |_| {}).unwrap();
    let client = Arc::new(Nats::connect(&server.url).unwrap());
    let store = RemoteApp::connect(client, "store", SECOND).unwrap();
    store.call_wave("put(\"a\", 1)", SECOND).unwrap();

    drop(server);
    let started = Instant::now();
    let err = store
        .call_wave("get(\"a\")", SECOND)
        .unwrap_err()
        .to_string();
    assert!(started.elapsed() < 2 * SECOND, "{:?}", started.elapsed());
    assert!(
        err.starts_with("remote `store`: ")
            && (err.contains("is lost; reconnecting") || err.contains("no reply within 1s")),
        "{err}"
    );

    let _server = Server::start_on(port);
    let deadline = Instant::now() + Duration::from_secs(20);
    let answer = loop {
        match store.call_wave("get(\"a\")", SECOND) {
            Ok(answer) => break answer,
            Err(err) if Instant::now() > deadline => panic!("calls did not resume: {err}"),
            Err(_) => std::thread::sleep(Duration::from_millis(100)),
        }
    };
    assert_eq!(
        answer.map(|v| iso_host::wave(&v)).as_deref(),
        Some("some(1)")
    );
}

#[test]
fn a_remote_whose_wit_no_longer_matches_is_refused_at_start_with_the_import_named() {
    let server = Server::start();
    let changed = iso_host::stub::component(
        "package local:store@0.1.0;
        interface api {
            put: func(key: string, value: string);
            get: func(key: string) -> option<u32>;
            sum: func(keys: list<string>) -> u32;
        }
        world store { export api; }",
        None,
    )
    .unwrap();
    let nats = Nats::connect(&server.url).unwrap();
    let _serving = nats.serve(store_host(&changed), |_| {}).unwrap();
    let mut front_host = runtime();
    front_host.set_transport(Arc::new(Nats::connect(&server.url).unwrap()));
    let wiring = Wiring::new().remote("local:store/api", "store");
    let err = (front_host.start("front", fixture("front"), wiring, Budget::default()))
        .unwrap_err()
        .to_string();
    assert!(err.contains("local:store/api"), "{err}");
    assert!(err.contains("put"), "{err}");
}

/// `cargo iso serve` in a process of its own, stopped when dropped.
struct ServeProcess {
    child: Child,
    stderr: BufReader<ChildStderr>,
    /// What it printed up to its `Serving` line.
    started: String,
}

impl ServeProcess {
    /// Starts `cargo iso serve ARGS` in `dir` and waits for its `Serving` line.
    fn start(dir: &Path, url: &str, args: &[&str]) -> ServeProcess {
        let mut child = Command::new(env!("CARGO_BIN_EXE_cargo-iso"))
            .arg("iso")
            .env("CARGO_TERM_COLOR", "never")
            .current_dir(dir)
            .env(
                "CARGO_ISO_SHARED_TARGET_DIR",
                support::shared_target_dir().join("shared"),
            )
            .args(["serve", "--nats", url])
            .args(args)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut stderr = BufReader::new(child.stderr.take().unwrap());
        let mut seen = String::new();
        while !seen.contains("Serving") {
            let mut line = String::new();
            if stderr.read_line(&mut line).unwrap() == 0 {
                panic!("serve stopped before serving: {seen}");
            }
            seen.push_str(&line);
        }
        ServeProcess {
            child,
            stderr,
            started: seen,
        }
    }

    /// Sends SIGTERM and returns its exit status and the rest of its stderr.
    fn terminate(mut self) -> (std::process::ExitStatus, String) {
        let pid = self.child.id().to_string();
        Command::new("kill").args(["-TERM", &pid]).status().unwrap();
        let mut rest = String::new();
        std::io::Read::read_to_string(&mut self.stderr, &mut rest).unwrap();
        (self.child.wait().unwrap(), rest)
    }
}

impl Drop for ServeProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl ServeProcess {
    /// Reads stderr up to the first line containing `needle`, and returns it.
    fn stderr_line(&mut self, needle: &str) -> String {
        let mut seen = String::new();
        loop {
            let mut line = String::new();
            if self.stderr.read_line(&mut line).unwrap() == 0 {
                panic!("serve ended without a line with {needle:?}: {seen}");
            }
            if line.contains(needle) {
                return line;
            }
            seen.push_str(&line);
        }
    }
}

/// Fault: the NATS server is killed under a serving host. It says so, says
/// when the server is back, and a SIGTERM with no server ends it at once:
/// no call was in flight, so there is nothing to wait for.
#[test]
fn serve_says_when_its_server_is_lost_and_back_and_stops_at_once_without_one() {
    let mut server = Server::start();
    let dir = tempfile::tempdir().unwrap();
    let wasm = wasm_file(dir.path(), "store", "store");
    let mut serve = ServeProcess::start(dir.path(), &server.url, &[wasm.to_str().unwrap()]);
    // A component with no manifest is served under the default budget, which is named.
    assert!(
        serve.started.contains(
            "note: `store` is served under the default budget where it sets none: fuel 1000000000, memory 64.0 MiB, timeout 5s, storage 64.0 MiB"
        ),
        "{}",
        serve.started
    );
    // Should a line never come, the host is killed and the test fails, not hangs.
    let pid = serve.child.id().to_string();
    std::thread::spawn(move || {
        std::thread::sleep(Duration::from_secs(90));
        let _ = Command::new("kill").args(["-KILL", &pid]).status();
    });
    let port = server.port;
    drop(server);
    let lost = serve.stderr_line("lost the connection");
    assert!(lost.contains("reconnecting"), "{lost}");
    server = Server::start_on(port);
    serve.stderr_line("Reconnected");
    drop(server);
    serve.stderr_line("lost the connection");
    let started = Instant::now();
    let (status, stderr) = serve.terminate();
    assert!(status.success(), "{status:?}: {stderr}");
    assert!(!stderr.contains("not answered"), "{stderr}");
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );
}

#[test]
fn serve_answers_run_call_and_lattice_from_other_processes_and_drains_on_sigterm() {
    let server = Server::start();
    let (_scratch, shop) = support::scaffold("shop", Some("pair"));
    let manifest = shop.join("front/Cargo.toml");
    let mut text = std::fs::read_to_string(&manifest).unwrap();
    text.push_str(
        "\n[package.metadata.iso.imports]\n\"local:store/api\" = { remote = \"store\" }\n",
    );
    std::fs::write(&manifest, text).unwrap();
    let serve = ServeProcess::start(&shop, &server.url, &["-p", "store"]);
    let iso = |args: &[&str]| {
        support::cargo_iso()
            .current_dir(&shop)
            .env("ISO_NATS_URL", &server.url)
            .env(
                "CARGO_ISO_SHARED_TARGET_DIR",
                support::shared_target_dir().join("shared"),
            )
            .args(args)
            .assert()
    };
    iso(&["run", "-p", "front", "--invoke", "greet(\"ada\")"])
        .success()
        .stdout("\"hello ada, visit 1\"\n")
        .stderr(predicate::str::contains(
            "Wiring front: local:store/api from remote store",
        ));
    iso(&["call", "store.visits(\"ada\")"])
        .success()
        .stdout("1\n");
    iso(&["call", "store.visits(5)"])
        .code(2)
        .stderr(predicate::str::contains(
            "expected visits: func(name: string) -> u32",
        ));
    iso(&["call", "nobody.get()"])
        .code(2)
        .stderr(predicate::str::contains(
            "remote `nobody`: no host serves `nobody`",
        ));
    iso(&["call", "visits(\"ada\")"])
        .code(2)
        .stderr(predicate::str::contains(
            "help: write the app first, e.g. `store.visits(\"ada\")`",
        ));
    iso(&["lattice"])
        .success()
        .stdout(predicate::str::is_match(r"(?m)^  store  local:store/api@0\.1\.0$").unwrap());

    let (status, stderr) = serve.terminate();
    assert!(status.success(), "{status:?}: {stderr}");
    assert!(stderr.contains("Draining the calls in flight"), "{stderr}");
    assert!(
        stderr.contains("Stopped after answering 2 calls"),
        "{stderr}"
    );
    iso(&["call", "store.visits(\"ada\")", "--timeout", "1s"])
        .code(2)
        .stderr(predicate::str::contains("no host serves `store`"));
    // The served calls were logged in the host's own data folder.
    iso(&["log", "--data", "target/iso/serve"])
        .success()
        .stdout(predicate::str::contains("store").and(predicate::str::contains("visits")));
}

#[test]
fn killing_one_of_two_hosts_during_500_calls_loses_no_acknowledged_call() {
    let server = Server::start();
    let scratch = tempfile::tempdir().unwrap();
    let store = wasm_file(scratch.path(), "store", "store");
    let (data_a, data_b) = (scratch.path().join("a"), scratch.path().join("b"));
    let serve = |data: &Path| {
        let args = [store.to_str().unwrap(), "--data", data.to_str().unwrap()];
        ServeProcess::start(scratch.path(), &server.url, &args)
    };
    let (a, b) = (serve(&data_a), serve(&data_b));
    let client = Arc::new(Nats::connect(&server.url).unwrap());
    let remote = RemoteApp::connect(client, "store", SECOND).unwrap();
    // Eight callers share 500 calls; host `a` is killed after the 150th
    // answer, with calls in flight on it.
    let next = std::sync::atomic::AtomicUsize::new(0);
    let answered = std::sync::atomic::AtomicUsize::new(0);
    let outcomes = Mutex::new((Vec::new(), Vec::new()));
    let a = Mutex::new(a);
    std::thread::scope(|scope| {
        for _ in 0..8 {
            scope.spawn(|| {
                loop {
                    let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    if i >= 500 {
                        return;
                    }
                    let key = format!("\"k{i}\"");
                    let outcome = remote.call_wave(&format!("put({key}, 1)"), 2 * SECOND);
                    let mut outcomes = outcomes.lock().unwrap();
                    match outcome {
                        Ok(_) => outcomes.0.push(key),
                        Err(err) => outcomes.1.push(format!("{i}: {err}")),
                    }
                    drop(outcomes);
                    if answered.fetch_add(1, std::sync::atomic::Ordering::Relaxed) == 150 {
                        let mut a = a.lock().unwrap();
                        a.child.kill().unwrap();
                        a.child.wait().unwrap();
                    }
                }
            });
        }
    });
    let (acknowledged, failed) = outcomes.into_inner().unwrap();
    // At most once: a call in flight on the killed host fails, and is not sent again.
    assert!(failed.len() <= 8, "{failed:?}");
    for failure in &failed {
        assert!(
            failure.contains("remote `store`: no reply within 2s"),
            "{failure}"
        );
    }
    assert_eq!(acknowledged.len() + failed.len(), 500);
    let (status, stderr) = b.terminate();
    assert!(status.success(), "{stderr}");

    // Each acknowledged put is in the data of exactly one host.
    let sum_in = |data: &Path| {
        let call = format!("sum([{}])", acknowledged.join(", "));
        let output = support::cargo_iso()
            .args([
                "run",
                store.to_str().unwrap(),
                "--data",
                data.to_str().unwrap(),
            ])
            .args(["--invoke", &call, "--no-log"])
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8(output.stdout)
            .unwrap()
            .trim()
            .parse::<usize>()
            .unwrap()
    };
    let (in_a, in_b) = (sum_in(&data_a), sum_in(&data_b));
    assert!(in_a > 0 && in_b > 0, "{in_a} and {in_b}");
    assert_eq!(in_a + in_b, acknowledged.len());
}

/// A server that wants a user and password, or a token: they are sent
/// from the URL, from flags or from the `nats` CLI's environment variables,
/// and a wrong or missing one is an error at once that names the server and
/// the method tried, and never shows a secret.
#[test]
fn credentials_in_the_url_flags_or_environment_are_sent_and_a_wrong_one_is_named() {
    let server = Server::start_with(&["--user", "ada", "--pass", "s3cret"]);
    let with = |userinfo: &str| {
        server
            .url
            .replacen("nats://", &format!("nats://{userinfo}@"), 1)
    };
    let dir = tempfile::tempdir().unwrap();
    let wasm = wasm_file(dir.path(), "store", "store");
    let _serve = ServeProcess::start(dir.path(), &with("ada:s3cret"), &[wasm.to_str().unwrap()]);
    let call = |call: &str, url: &str| {
        let mut command = support::cargo_iso();
        command.args(["call", call, "--nats", url]);
        command
    };
    call("store.put(\"a\", 1)", &server.url)
        .args(["--user", "ada", "--password", "s3cret"])
        .assert()
        .success();
    call("store.get(\"a\")", &server.url)
        .env("NATS_USER", "ada")
        .env("NATS_PASSWORD", "s3cret")
        .assert()
        .success()
        .stdout("some(1)\n");
    let started = Instant::now();
    for (url, method) in [
        (with("ada:wrong"), "user and password"),
        (server.url.clone(), "no credentials"),
    ] {
        call("store.get(\"a\")", &url)
            .assert()
            .code(101)
            .stderr(predicate::str::contains(format!(
                "error: NATS at {} refused the connection (with {method}): authorization violation",
                server.url
            )))
            .stderr(predicate::str::contains(
                "help: give the server's credentials: `--user` and `--password`",
            ))
            .stderr(predicate::str::contains("wrong").not());
    }
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );

    let server = Server::start_with(&["--auth", "t0ken"]);
    let _serve = ServeProcess::start(
        dir.path(),
        &server.url,
        &["--token", "t0ken", wasm.to_str().unwrap()],
    );
    let tokened = server.url.replacen("nats://", "nats://t0ken@", 1);
    call("store.put(\"b\", 2)", &tokened).assert().success();
    call("store.get(\"b\")", &server.url)
        .env("NATS_TOKEN", "t0ken")
        .assert()
        .success()
        .stdout("some(2)\n");
}

/// Fault: one caller sends 1,000 calls that panic to an app `serve`
/// serves. Each fails alone; the app is not stopped, and another caller's
/// call is answered from the last good state.
#[test]
fn a_thousand_failing_calls_from_one_caller_leave_the_app_answering_another() {
    let server = Server::start();
    let dir = tempfile::tempdir().unwrap();
    let wasm = wasm_file(dir.path(), "misbehave", "tally");
    let _serve = ServeProcess::start(dir.path(), &server.url, &[wasm.to_str().unwrap()]);
    let caller = || {
        let client = Arc::new(Nats::connect(&server.url).unwrap());
        RemoteApp::connect(client, "tally", SECOND).unwrap()
    };
    let (failing, other) = (caller(), caller());
    let added = other.call_wave("add(5)", SECOND).unwrap();
    assert_eq!(added.map(|v| iso_host::wave(&v)).as_deref(), Some("5"));
    for _ in 0..1000 {
        let err = failing
            .call_wave("boom(\"again\")", SECOND)
            .unwrap_err()
            .to_string();
        assert!(err.contains("panic: again"), "{err}");
    }
    let total = other.call_wave("total()", SECOND).unwrap();
    assert_eq!(total.map(|v| iso_host::wave(&v)).as_deref(), Some("5"));
}

/// A server whose user is an nkey: the host and the caller sign its
/// challenge with the seed in a `--nkey` file (or `NATS_NKEY`), and another
/// user's seed is refused, naming the method.
#[test]
fn an_nkey_seed_file_signs_in_and_another_users_seed_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let user = nkeys::KeyPair::new_user();
    let config = dir.path().join("server.conf");
    let allowed = format!(
        "authorization {{\n  users = [ {{ nkey: \"{}\" }} ]\n}}\n",
        user.public_key()
    );
    std::fs::write(&config, allowed).unwrap();
    let seed_file = |name: &str, pair: &nkeys::KeyPair| {
        let path = dir.path().join(name);
        std::fs::write(&path, format!("{}\n", pair.seed().unwrap())).unwrap();
        path
    };
    let (seed, stranger) = (
        seed_file("user.nk", &user),
        seed_file("stranger.nk", &nkeys::KeyPair::new_user()),
    );
    let server = Server::start_with(&["-c", config.to_str().unwrap()]);
    let wasm = wasm_file(dir.path(), "store", "store");
    let _serve = ServeProcess::start(
        dir.path(),
        &server.url,
        &["--nkey", seed.to_str().unwrap(), wasm.to_str().unwrap()],
    );
    let call = |call: &str| {
        let mut command = support::cargo_iso();
        command.args(["call", call, "--nats", &server.url]);
        command
    };
    call("store.put(\"a\", 3)")
        .arg("--nkey")
        .arg(&seed)
        .assert()
        .success();
    call("store.get(\"a\")")
        .env("NATS_NKEY", &seed)
        .assert()
        .success()
        .stdout("some(3)\n");
    call("store.get(\"a\")")
        .arg("--nkey")
        .arg(&stranger)
        .assert()
        .code(101)
        .stderr(predicate::str::contains(format!(
            "error: NATS at {} refused the connection (with nkey): ",
            server.url
        )));
}

/// With no server at the URL, the error says how to start one, in words an
/// installed cargo-iso can stand by (no script of this repository).
#[test]
fn no_server_at_the_url_says_how_to_get_one() {
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    support::cargo_iso()
        .args(["call", "store.get(\"a\")", "--nats"])
        .arg(format!("nats://127.0.0.1:{port}"))
        .assert()
        .code(101)
        .stderr(predicate::str::contains(
            "help: start a NATS server (`nats-server`; on Debian `apt install nats-server`)",
        ))
        .stderr(predicate::str::contains("scripts/setup").not());
}

#[test]
fn addresses_that_would_be_nats_wildcards_or_split_subjects_are_refused() {
    let server = Server::start();
    let nats = Nats::connect(&server.url).unwrap();
    let mut host = runtime();
    let bytes = fixture("store");
    (host.start("store.v2", bytes, Wiring::new(), Budget::default())).unwrap();
    let err = nats
        .serve(Arc::new(host), |_| {})
        .err()
        .unwrap()
        .to_string();
    assert_eq!(
        err,
        "the address `store.v2` cannot be served on NATS: a `.` would split it into two subject tokens; name the app (its package, or its .wasm file) with letters, digits, `-` and `_`"
    );
    let err = nats.request("st*", Vec::new(), SECOND).unwrap_err();
    assert!(matches!(err, TransportError::Refused { .. }), "{err}");
    assert!(
        err.to_string().contains("`*` and `>` are NATS wildcards"),
        "{err}"
    );
}
