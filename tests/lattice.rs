//! Hosts on NATS: a front on one host calls a store that another host
//! serves, through a real `nats-server` started on a free port.

mod support;

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command};
use std::sync::Arc;
use std::time::{Duration, Instant};

use iso_host::runtime::{Runtime, Wiring, block_on};
use iso_host::{Budget, ComponentCache, EngineOptions, IsoEngine, NoLog, Timeout};
use iso_nats::Nats;
use support::GuestCrate;

/// A `nats-server` of its own, stopped when dropped.
struct Server {
    child: Child,
    url: String,
}

impl Server {
    fn start() -> Server {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        // Debian puts it in /usr/sbin, which a user's PATH may lack.
        let binary = ["/usr/sbin/nats-server", "/usr/bin/nats-server"]
            .into_iter()
            .find(|path| std::path::Path::new(path).exists())
            .unwrap_or("nats-server");
        let child = Command::new(binary)
            .args(["-a", "127.0.0.1", "-p", &port.to_string()])
            .spawn()
            .unwrap_or_else(|err| {
                panic!("cannot start nats-server ({err}): run ./scripts/setup --nats")
            });
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "nats-server did not listen on {port}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        Server {
            child,
            url: format!("nats://127.0.0.1:{port}"),
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn built(fixture: &str, name: &str) -> (GuestCrate, PathBuf) {
    let guest = GuestCrate::new(fixture, name);
    guest.cargo_iso(&["build", "-q"]).assert().success();
    let path = guest.component_path("debug");
    (guest, path)
}

fn runtime() -> Runtime {
    let engine = Arc::new(IsoEngine::new(EngineOptions::default()).unwrap());
    Runtime::new(engine, ComponentCache::new(None), Arc::new(NoLog)).unwrap()
}

#[test]
fn a_front_on_one_host_calls_a_store_served_by_another() {
    let server = Server::start();
    let (_store_crate, store) = built("store", "lattice-store");
    let (_front_crate, front) = built("front", "lattice-front");

    let mut store_host = runtime();
    let store_bytes = std::fs::read(store).unwrap();
    (store_host.start("store", &store_bytes, Wiring::new(), Budget::default())).unwrap();
    let store_host = Arc::new(store_host);
    let serving = Nats::connect(&server.url).unwrap();
    let _serving = serving.serve(store_host.clone(), |_| {}).unwrap();

    let mut front_host = runtime();
    front_host.set_transport(Arc::new(Nats::connect(&server.url).unwrap()));
    let front_bytes = std::fs::read(front).unwrap();
    let budget = Budget {
        timeout: Some(Timeout(Duration::from_secs(2))),
        ..Budget::default()
    };
    let wiring = |to: &str| Wiring::new().remote("local:store/api", to);
    (front_host.start("front", &front_bytes, wiring("store"), budget)).unwrap();
    let call = |text: &str| {
        let output = block_on(front_host.call_wave("front", text)).unwrap();
        output.results_wave().join(",")
    };
    assert_eq!(call("remember(\"a\", 2)"), "1");
    assert_eq!(call("recall(\"a\")"), "some(2)");
    assert_eq!(call("total([\"a\", \"b\"])"), "2");

    // Nobody serves `nobody`: refused at start, the import named.
    let err = (front_host.start("front-2", &front_bytes, wiring("nobody"), budget))
        .unwrap_err()
        .to_string();
    assert!(err.contains("no host serves `nobody`"), "{err}");

    // The server gone: a clear error within the budget, no hang.
    drop(server);
    let started = Instant::now();
    let err = block_on(front_host.call_wave("front", "recall(\"a\")"))
        .unwrap_err()
        .to_string();
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "{:?}",
        started.elapsed()
    );
    assert!(err.contains("store"), "{err}");
}
