//! NATS timings for `scripts/bench`, against a bare async-nats
//! request/reply with the same bytes, measured in the same run on a
//! `nats-server` of its own on loopback.
//!
//! Usage: nats_bench <store.wasm> (the store test fixture, built with `--release`)

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use iso_host::runtime::{RemoteApp, Runtime, Transport, TransportError, Wiring};
use iso_host::{Budget, ComponentCache, EngineOptions, IsoEngine, NoLog, Timeout, Val};
use iso_nats::Nats;

/// Calls per batch, and batches of each kind.
const CALLS: u32 = 250;
const BATCHES: usize = 20;
const TIMEOUT: Duration = Duration::from_secs(5);

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let store = std::fs::read(
        std::env::args()
            .nth(1)
            .ok_or("usage: nats_bench <store.wasm>")?,
    )?;
    let server = Server::start()?;
    println!(
        "\nNATS on loopback (median of {BATCHES} batches of {CALLS} calls one after another, per call)"
    );
    let serving = Nats::connect(&server.url)?;
    let host = store_host(&store)?;
    let _serving = serving.serve(host.clone(), |_| {})?;
    let recorder = Arc::new(Recorder::new(Nats::connect(&server.url)?));
    let remote = RemoteApp::connect(recorder.clone(), "store", TIMEOUT)?;
    let args = [Val::String("key".into())];
    let get = "local:store/api@0.1.0#get";
    remote.call(get, &args, TIMEOUT)?;
    let (request, reply) = recorder.last();
    let bare = Bare::start(&server.url, &reply)?;
    let client = Nats::connect(&server.url)?;
    // Batches of each, taken in turn, so that both see the same noise.
    let (mut floor, mut served, mut our_client, mut ours) = (vec![], vec![], vec![], vec![]);
    let mut answering = vec![];
    for _ in 0..BATCHES {
        floor.push(bare.mean("bench.echo", &request)?);
        served.push(bare.mean("iso.call.store", &request)?);
        our_client.push(mean_of(|| {
            client.request("echo", request.clone(), TIMEOUT).map(drop)
        })?);
        ours.push(mean_of(|| remote.call(get, &args, TIMEOUT).map(drop))?);
        answering.push(
            mean_of(|| {
                iso_host::runtime::block_on(host.answer(&request));
                Ok::<_, ()>(())
            })
            .unwrap_or_default(),
        );
    }
    let floor = median(floor);
    let ratio = |part: Vec<Duration>| {
        let part = median(part);
        (part, part.as_secs_f64() / floor.as_secs_f64())
    };
    let ((served, at_host), (our_client, at_client)) = (ratio(served), ratio(our_client));
    let (ours, total) = ratio(ours);
    let verdict = if total <= 1.3 { "ok" } else { "OVER" };
    println!(
        "  remote get(\"key\") {ours:>9.2?} vs a bare request/reply of the same {} + {} bytes {floor:>9.2?} = {total:.2}x  (target 1.3x) [{verdict}]",
        request.len(),
        reply.len()
    );
    println!("    of which the serving host: a bare request to it {served:>9.2?} = {at_host:.2}x");
    println!(
        "    of which the caller: our client to a bare responder {our_client:>9.2?} = {at_client:.2}x"
    );
    println!(
        "    answering the call's bytes in process, no NATS: {:>9.2?}",
        median(answering)
    );
    let one = throughput(&server.url, &[&store])?;
    let two = throughput(&server.url, &[&store, &store])?;
    println!("  calls per second, 16 callers: one serving host {one:.0}/s, two hosts {two:.0}/s");
    Ok(())
}

/// A runtime serving `bytes` as `store`.
fn store_host(bytes: &[u8]) -> Result<Arc<Runtime>, Box<dyn std::error::Error>> {
    let engine = Arc::new(IsoEngine::new(EngineOptions::default())?);
    let mut host = Runtime::new(engine, ComponentCache::new(None), Arc::new(NoLog))?;
    // A time budget, as apps served for real have: calls are then made
    // on the connection's thread when the instance is free.
    let budget = Budget {
        timeout: Some(Timeout(Duration::from_secs(1))),
        ..Budget::default()
    };
    host.start("store", bytes, Wiring::new(), budget)?;
    Ok(Arc::new(host))
}

/// The mean time of `f` over a batch of calls, after a warm-up.
fn mean_of<E>(mut f: impl FnMut() -> Result<(), E>) -> Result<Duration, E> {
    for _ in 0..CALLS / 10 {
        f()?;
    }
    let started = Instant::now();
    for _ in 0..CALLS {
        f()?;
    }
    Ok(started.elapsed() / CALLS)
}

fn median(mut times: Vec<Duration>) -> Duration {
    times.sort();
    times[times.len() / 2]
}

/// A bare async-nats responder that answers `bench.echo` and
/// `iso.call.echo` with fixed bytes, and a bare client: each on a
/// connection and a tokio runtime of its own, as two hosts have.
struct Bare {
    _responder: tokio::runtime::Runtime,
    tasks: tokio::runtime::Runtime,
    client: async_nats::Client,
}

impl Bare {
    fn start(url: &str, reply: &[u8]) -> Result<Bare, Box<dyn std::error::Error>> {
        let runtime = || {
            tokio::runtime::Builder::new_multi_thread()
                .worker_threads(1)
                .enable_all()
                .build()
        };
        let (responder, tasks) = (runtime()?, runtime()?);
        let reply = reply.to_vec();
        responder.block_on(async {
            let responder = async_nats::connect(url).await?;
            let mut asks = responder.subscribe("bench.echo").await?;
            let mut echoes = responder.subscribe("iso.call.echo").await?;
            responder.flush().await?;
            tokio::spawn(async move {
                loop {
                    let ask = tokio::select! {
                        ask = asks.next() => ask,
                        ask = echoes.next() => ask,
                    };
                    let Some(ask) = ask else { break };
                    if let Some(to) = ask.reply {
                        let _ = responder.publish(to, reply.clone().into()).await;
                    }
                }
            });
            Ok::<_, Box<dyn std::error::Error>>(())
        })?;
        let client = tasks.block_on(async_nats::connect(url))?;
        Ok(Bare {
            _responder: responder,
            tasks,
            client,
        })
    }

    /// The mean time of a bare request with `request`'s bytes on `subject`.
    fn mean(
        &self,
        subject: &'static str,
        request: &[u8],
    ) -> Result<Duration, Box<dyn std::error::Error>> {
        let client = self.client.clone();
        let request = request.to_vec();
        self.tasks.block_on(async move {
            for _ in 0..CALLS / 10 {
                client.request(subject, request.clone().into()).await?;
            }
            let started = Instant::now();
            for _ in 0..CALLS {
                client.request(subject, request.clone().into()).await?;
            }
            Ok(started.elapsed() / CALLS)
        })
    }
}

/// Calls per second through hosts serving each of `stores` as `store`, from
/// 16 callers for 2 s.
fn throughput(url: &str, stores: &[&Vec<u8>]) -> Result<f64, Box<dyn std::error::Error>> {
    let mut hosts = Vec::new();
    for store in stores {
        let nats = Nats::connect(url)?;
        let serving = nats.serve(store_host(store)?, |_| {})?;
        hosts.push((nats, serving));
    }
    let client = Arc::new(Nats::connect(url)?);
    let remote = RemoteApp::connect(client, "store", TIMEOUT)?;
    let args = [Val::String("key".into())];
    let (done, calls) = (AtomicBool::new(false), AtomicU64::new(0));
    let started = Instant::now();
    std::thread::scope(|scope| {
        for _ in 0..16 {
            scope.spawn(|| {
                while !done.load(Ordering::Relaxed) {
                    if remote
                        .call("local:store/api@0.1.0#get", &args, TIMEOUT)
                        .is_ok()
                    {
                        calls.fetch_add(1, Ordering::Relaxed);
                    }
                }
            });
        }
        std::thread::sleep(Duration::from_secs(2));
        done.store(true, Ordering::Relaxed);
    });
    Ok(calls.load(Ordering::Relaxed) as f64 / started.elapsed().as_secs_f64())
}

/// A transport that keeps the bytes of the last call and its reply.
struct Recorder {
    nats: Nats,
    last: Mutex<(Vec<u8>, Vec<u8>)>,
}

impl Recorder {
    fn new(nats: Nats) -> Recorder {
        Recorder {
            nats,
            last: Mutex::new((Vec::new(), Vec::new())),
        }
    }

    fn last(&self) -> (Vec<u8>, Vec<u8>) {
        self.last.lock().unwrap().clone()
    }
}

impl Transport for Recorder {
    fn request(
        &self,
        address: &str,
        request: Vec<u8>,
        timeout: Duration,
    ) -> Result<Vec<u8>, TransportError> {
        let reply = self.nats.request(address, request.clone(), timeout)?;
        *self.last.lock().unwrap() = (request, reply.clone());
        Ok(reply)
    }

    fn describe(&self, address: &str, timeout: Duration) -> Result<Vec<u8>, TransportError> {
        self.nats.describe(address, timeout)
    }
}

/// A `nats-server` on a free port, stopped when dropped.
struct Server {
    child: Child,
    url: String,
}

impl Server {
    fn start() -> Result<Server, Box<dyn std::error::Error>> {
        let port = TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
        let binary = ["/usr/sbin/nats-server", "/usr/bin/nats-server"]
            .into_iter()
            .find(|path| std::path::Path::new(path).exists())
            .unwrap_or("nats-server");
        let child = Command::new(binary)
            .args(["-a", "127.0.0.1", "-p", &port.to_string()])
            .stderr(Stdio::null())
            .spawn()?;
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            std::thread::sleep(Duration::from_millis(20));
        }
        Ok(Server {
            child,
            url: format!("nats://127.0.0.1:{port}"),
        })
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
