//! Runtime timings for `scripts/bench`, each next to its raw wasmtime
//! baseline measured in the same run.
//!
//! Usage: runtime_bench <counter.wasm> <store.wasm> <front.wasm>
//! (the counter template, and the store and front test fixtures, built with `--release`)

use std::hint::black_box;
use std::path::Path;
use std::sync::Arc;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use iso_host::bindings::Guest;
use iso_host::host::HostState;
use iso_host::runtime::{Runtime, TypedHandle, Wiring, block_on};
use iso_host::*;
use wasmtime::component::{Component, HasSelf, Linker, TypedFunc};

/// The median of `batches` timings of `runs` operations each, per operation.
fn per_op(batches: usize, runs: u32, mut f: impl FnMut()) -> Duration {
    let mut times: Vec<Duration> = (0..batches)
        .map(|_| {
            let start = Instant::now();
            for _ in 0..runs {
                f();
            }
            start.elapsed() / runs
        })
        .collect();
    times.sort();
    times[batches / 2]
}

fn line(label: &str, ours: Duration, raw: Duration, bound: f64) {
    let ratio = ours.as_secs_f64() / raw.as_secs_f64();
    let verdict = if ratio <= bound { "ok" } else { "OVER" };
    println!(
        "  {label:<44} {ours:>10.2?} vs raw {raw:>10.2?} = {ratio:.2}x  (target {bound}x) [{verdict}]"
    );
}

/// Raw wasmtime: stores of `component` linked against the iso host alone,
/// with `local:store/api` stubbed out when it imports it.
struct Raw {
    engine: Arc<IsoEngine>,
    pre: wasmtime::component::InstancePre<HostState>,
    shared: Shared,
}

/// What answers a raw front's `local:store/api#get`.
type RawGet = Box<dyn Fn(String) -> Option<u32> + Send + Sync>;

impl Raw {
    fn new(engine: &Arc<IsoEngine>, bytes: &[u8]) -> Result<Raw, Box<dyn std::error::Error>> {
        Raw::linked(engine, bytes, Box::new(|_key| Some(2)))
    }

    /// With `local:store/api`'s `get` answered by `get`, when `bytes` imports it.
    fn linked(
        engine: &Arc<IsoEngine>,
        bytes: &[u8],
        get: RawGet,
    ) -> Result<Raw, Box<dyn std::error::Error>> {
        let component = Component::new(engine.engine(), bytes)?;
        let mut linker = Linker::<HostState>::new(engine.engine());
        Guest::add_to_linker::<HostState, HasSelf<HostState>>(&mut linker, |s| s)?;
        if component
            .component_type()
            .get_import(engine.engine(), "local:store/api@0.1.0")
            .is_some()
        {
            let mut api = linker.instance("local:store/api@0.1.0")?;
            api.func_wrap("put", |_, (_key, _value): (String, u32)| Ok(()))?;
            api.func_wrap("get", move |_, (key,): (String,)| Ok((get(key),)))?;
            api.func_wrap("sum", |_, (_keys,): (Vec<String>,)| Ok((2u32,)))?;
        }
        Ok(Raw {
            engine: engine.clone(),
            pre: linker.instantiate_pre(&component)?,
            shared: Shared::new(Arc::new(NoLog)),
        })
    }

    fn store(&self) -> (wasmtime::Store<HostState>, wasmtime::component::Instance) {
        let state = HostState::new(self.shared.clone());
        let mut store = wasmtime::Store::new(self.engine.engine(), state);
        store.limiter(|s| &mut s.limiter);
        store.set_fuel(u64::MAX).unwrap();
        store.set_epoch_deadline(u64::MAX / 2);
        let instance = self.pre.instantiate(&mut store).unwrap();
        (store, instance)
    }
}

/// Stores `a` = 2 in a raw store's kv, as the runtime's store holds it:
/// the raw `get("a")` then does the same work (finds and decodes a value).
fn put_a(store: &mut wasmtime::Store<HostState>, instance: &wasmtime::component::Instance) {
    let put: TypedFunc<(&str, u32), ()> =
        interface_func(store, instance, "local:store/api@0.1.0", "put");
    put.call(store, ("a", 2)).unwrap();
}

/// A typed export of an interface, e.g. `local:store/api@0.1.0#get`.
fn interface_func<P, R>(
    store: &mut wasmtime::Store<HostState>,
    instance: &wasmtime::component::Instance,
    interface: &str,
    name: &str,
) -> TypedFunc<P, R>
where
    P: wasmtime::component::ComponentNamedList + wasmtime::component::Lower,
    R: wasmtime::component::ComponentNamedList + wasmtime::component::Lift,
{
    let interface = instance
        .get_export_index(&mut *store, None, interface)
        .unwrap();
    let func = instance
        .get_export_index(&mut *store, Some(&interface), name)
        .unwrap();
    instance.get_typed_func(store, func).unwrap()
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [counter, store, front] = args.as_slice() else {
        return Err("usage: runtime_bench <counter.wasm> <store.wasm> <front.wasm>".into());
    };
    let (counter, store, front) = (
        std::fs::read(counter)?,
        std::fs::read(store)?,
        std::fs::read(front)?,
    );
    let engine = Arc::new(IsoEngine::new(EngineOptions::default())?);
    let mut runtime = Runtime::new(engine.clone(), ComponentCache::new(None), Arc::new(NoLog))?;
    runtime.start("store", &store, Wiring::new(), Budget::default())?;
    let wiring = Wiring::new().import("local:store/api", "store");
    runtime.start("front", &front, wiring, Budget::default())?;
    block_on(runtime.call_wave("store", "put(\"a\", 2)"))?;

    // RUNTIME_BENCH=throughput (say) runs one part, e.g. under a profiler.
    let only = std::env::var("RUNTIME_BENCH").ok();
    let part = |name: &str| only.as_deref().is_none_or(|only| only == name);
    println!("runtime (median per call)");
    if part("wired") {
        wired_call(&runtime, &engine, &store, &front)?;
    }
    if part("async") {
        async_call(&runtime, &engine, &store)?;
    }
    if part("throughput") {
        throughput(&engine, &counter)?;
    }
    Ok(())
}

/// front's `recall("a")`, which calls store's `get("a")` through the
/// wiring, against a raw front (its import stubbed) plus a raw store call.
fn wired_call(
    runtime: &Runtime,
    engine: &Arc<IsoEngine>,
    store: &[u8],
    front: &[u8],
) -> Result<(), Box<dyn std::error::Error>> {
    let raw_front = Raw::new(engine, front)?;
    let raw_store = Raw::new(engine, store)?;
    let (mut front_store, front_instance) = raw_front.store();
    let (mut store_store, store_instance) = raw_store.store();
    put_a(&mut store_store, &store_instance);
    let recall =
        front_instance.get_typed_func::<(&str,), (Option<u32>,)>(&mut front_store, "recall")?;
    let get: TypedFunc<(&str,), (Option<u32>,)> = interface_func(
        &mut store_store,
        &store_instance,
        "local:store/api@0.1.0",
        "get",
    );
    let recall_dynamic = front_instance.get_func(&mut front_store, "recall").unwrap();
    let get_dynamic = {
        let api = store_instance
            .get_export_index(&mut store_store, None, "local:store/api@0.1.0")
            .unwrap();
        let get = store_instance
            .get_export_index(&mut store_store, Some(&api), "get")
            .unwrap();
        store_instance.get_func(&mut store_store, get).unwrap()
    };
    // For scale: a raw front whose import calls a raw store right there.
    let (mut callee, callee_instance) = raw_store.store();
    put_a(&mut callee, &callee_instance);
    let callee_get: TypedFunc<(String,), (Option<u32>,)> = interface_func(
        &mut callee,
        &callee_instance,
        "local:store/api@0.1.0",
        "get",
    );
    let callee = std::sync::Mutex::new(callee);
    let nested_front = Raw::linked(
        engine,
        front,
        Box::new(move |key| {
            let mut callee = callee.lock().unwrap();
            callee_get.call(&mut *callee, (key,)).unwrap().0
        }),
    )?;
    let (mut nested_store, nested_instance) = nested_front.store();
    let nested_recall =
        nested_instance.get_typed_func::<(&str,), (Option<u32>,)>(&mut nested_store, "recall")?;
    runtime.with_instance("front", |front| {
        front.set_snapshot_policy(SnapshotPolicy::Checkpoint)
    })?;
    // All on the worker that runs front, so that both sides run on one
    // core, in batches interleaved, so that load spikes hit all.
    let [raw, dynamic, ours, ours_with_vals, nested] =
        runtime.with_instance("front", move |front| {
            let mut times: [Vec<Duration>; 5] = Default::default();
            let args = [Val::String("a".into())];
            let mut typed = front.typed::<(&str,), (Option<u32>,)>("recall").unwrap();
            for _ in 0..15 {
                times[0].push(per_op(1, 5_000, || {
                    black_box(recall.call(&mut front_store, ("a",)).unwrap());
                    black_box(get.call(&mut store_store, ("a",)).unwrap());
                }));
                times[1].push(per_op(1, 5_000, || {
                    let mut out = [Val::Bool(false)];
                    recall_dynamic
                        .call(&mut front_store, &args, &mut out)
                        .unwrap();
                    get_dynamic.call(&mut store_store, &args, &mut out).unwrap();
                    black_box(out);
                }));
                times[2].push(per_op(1, 5_000, || {
                    black_box(front.call_typed(&mut typed, ("a",)).unwrap());
                }));
                times[3].push(per_op(1, 5_000, || {
                    drop(black_box(front.call("recall", &args).unwrap()));
                }));
                times[4].push(per_op(1, 5_000, || {
                    black_box(nested_recall.call(&mut nested_store, ("a",)).unwrap());
                }));
            }
            times
        })?;
    let (ours, dynamic, raw) = (median(ours), median(dynamic), median(raw));
    line(
        "wired call: front.recall -> store.get, typed",
        ours,
        raw,
        1.5,
    );
    let with_vals = median(ours_with_vals);
    line(
        "  the same with Vals, against raw calls with Vals",
        with_vals,
        dynamic,
        1.5,
    );
    let nested = median(nested);
    println!(
        "    for scale: raw front whose import calls raw store's get {nested:.2?} ({:.2}x the two raw calls)",
        nested.as_secs_f64() / raw.as_secs_f64()
    );
    Ok(())
}

/// A call through the runtime's mailbox, awaited, against a raw call made
/// on a worker thread and answered over a channel; batches of the two
/// interleaved, so that load spikes hit both.
fn async_call(
    runtime: &Runtime,
    engine: &Arc<IsoEngine>,
    store: &[u8],
) -> Result<(), Box<dyn std::error::Error>> {
    let raw_store = Raw::new(engine, store)?;
    let (jobs, inbox) = mpsc::channel::<mpsc::Sender<Option<u32>>>();
    let worker = std::thread::spawn(move || {
        let (mut store, instance) = raw_store.store();
        put_a(&mut store, &instance);
        let get: TypedFunc<(&str,), (Option<u32>,)> =
            interface_func(&mut store, &instance, "local:store/api@0.1.0", "get");
        for reply in inbox {
            let (value,) = get.call(&mut store, ("a",)).unwrap();
            let _ = reply.send(value);
        }
    });
    let (mut raw, mut ours) = (Vec::new(), Vec::new());
    for _ in 0..15 {
        raw.push(per_op(1, 2_000, || {
            let (reply, answer) = mpsc::channel();
            jobs.send(reply).unwrap();
            black_box(answer.recv().unwrap());
        }));
        ours.push(per_op(1, 2_000, || {
            let call = runtime.call("store", "get", vec![Val::String("a".into())]);
            drop(black_box(block_on(call).unwrap()));
        }));
    }
    drop(jobs);
    worker.join().unwrap();
    line(
        "async call: Runtime::call awaited",
        median(ours),
        median(raw),
        1.2,
    );
    Ok(())
}

/// 100,000 calls of `get()` spread over 100 counter instances through
/// typed handles, all sent before any is awaited, against the raw loop
/// doing the same work on 2 threads (the baseline). One raw
/// thread, and a tokio actor per instance, are printed beside it for scale.
fn throughput(engine: &Arc<IsoEngine>, counter: &[u8]) -> Result<(), Box<dyn std::error::Error>> {
    let mut runtime = Runtime::new(engine.clone(), ComponentCache::new(None), Arc::new(NoLog))?;
    let mut handles = Vec::new();
    let mut increments = Vec::new();
    for i in 0..INSTANCES {
        let address = format!("counter-{i}");
        runtime.start(&address, counter, Wiring::new(), Budget::default())?;
        runtime.with_instance(&address, |i| {
            i.set_snapshot_policy(SnapshotPolicy::Checkpoint)
        })?;
        handles.push(runtime.typed::<(), (u64,)>(&address, "get")?);
        increments.push(runtime.typed::<(u32,), (u64,)>(&address, "increment")?);
    }
    let raw = Arc::new(Raw::new(engine, counter)?);
    let mut heavier = Vec::new();
    let mut heavier_raw = Vec::new();
    let mut ours = Vec::new();
    let mut batched = Vec::new();
    let mut blocking = Vec::new();
    let mut loop_1 = Vec::new();
    let mut loop_2 = Vec::new();
    let mut tokio = Vec::new();
    let mut ours_cpu = Vec::new();
    let mut raw_cpu = Vec::new();
    let mut tokio_cpu = Vec::new();
    for _ in 0..5 {
        // Interleaved, so that load spikes hit all of them. Each instance
        // is called once first: the raw loop's stores are new, so hot in
        // the caches, and ours should be too.
        for handle in &handles {
            block_on(handle.call(()))?;
        }
        let before = Cpu::now(POOL_WORKERS);
        ours.push(time(|| {
            let calls: Vec<_> = (0..CALLS)
                .map(|i| handles[i % INSTANCES].call(()))
                .collect();
            for call in calls {
                black_box(block_on(call).unwrap());
            }
        }));
        ours_cpu.push(Cpu::now(POOL_WORKERS).since(&before));
        heavier.push(time(|| {
            let calls: Vec<_> = (0..CALLS)
                .map(|i| increments[i % INSTANCES].call((1,)))
                .collect();
            for call in calls {
                black_box(block_on(call).unwrap());
            }
        }));
        heavier_raw.push(raw_loop_of(&raw, 2, "increment", (1u32,)).0);
        batched.push(time(|| {
            let batches: Vec<_> = (0..CALLS / BATCH)
                .map(|i| handles[i % INSTANCES].call_many(vec![(); BATCH]))
                .collect();
            for batch in batches {
                for call in block_on(batch).unwrap() {
                    black_box(call.unwrap());
                }
            }
        }));
        blocking.push(blocking_loop(&handles, 2));
        loop_1.push(raw_loop(&raw, 1).0);
        let (took, cpu) = raw_loop(&raw, 2);
        loop_2.push(took);
        raw_cpu.push(cpu);
        let (took, cpu) = tokio_actors(&raw);
        tokio.push(took);
        tokio_cpu.push(cpu);
    }
    let (ours, raw_1, raw_2, tokio) = (median(ours), median(loop_1), median(loop_2), median(tokio));
    // The baseline: a raw loop doing the same work on 2 threads.
    let ratio = raw_2.as_secs_f64() / ours.as_secs_f64();
    let verdict = if ratio >= 0.8 { "ok" } else { "UNDER" };
    println!(
        "  throughput: {CALLS} calls over {INSTANCES} instances {ours:>10.2?} vs raw loop on 2 threads {raw_2:>10.2?} = {ratio:.2}x the raw rate  (target 0.8x) [{verdict}]"
    );
    // The same with a call that does more: the hand-off's cost is per
    // call, so its share shrinks as the call grows.
    let (heavier, heavier_raw) = (median(heavier), median(heavier_raw));
    let ratio = heavier_raw.as_secs_f64() / heavier.as_secs_f64();
    let verdict = if ratio >= 0.8 { "ok" } else { "UNDER" };
    println!(
        "  throughput, the same with `increment` ({:.2?} of CPU a raw call, `get` {:.2?}) {heavier:>10.2?} vs raw loop on 2 threads {heavier_raw:>10.2?} = {ratio:.2}x the raw rate  (target 0.8x) [{verdict}]",
        heavier_raw * 2 / CALLS as u32,
        raw_2 * 2 / CALLS as u32,
    );
    let batched = median(batched);
    let ratio = raw_2.as_secs_f64() / batched.as_secs_f64();
    let verdict = if ratio >= 0.8 { "ok" } else { "UNDER" };
    println!(
        "  throughput, in batches of {BATCH} calls (call_many) {batched:>10.2?} vs raw loop on 2 threads {raw_2:>10.2?} = {ratio:.2}x the raw rate  (target 0.8x) [{verdict}]"
    );
    let blocking = median(blocking);
    let ratio = raw_2.as_secs_f64() / blocking.as_secs_f64();
    let verdict = if ratio >= 0.8 { "ok" } else { "UNDER" };
    println!(
        "  throughput, 2 threads calling (call_blocking) {blocking:>10.2?} vs raw loop on 2 threads {raw_2:>10.2?} = {ratio:.2}x the raw rate  (target 0.8x) [{verdict}]"
    );
    let per_call = |cpu: Duration| cpu / CALLS as u32;
    let (ours_cpu, tokio_cpu) = (median_cpu(ours_cpu), median_cpu(tokio_cpu));
    println!(
        "    CPU per call: ours {:.2?} on the calling thread + {:.2?} on the workers; tokio actors {:.2?} + {:.2?}; raw {:.2?}",
        per_call(ours_cpu.caller),
        per_call(ours_cpu.workers),
        per_call(tokio_cpu.caller),
        per_call(tokio_cpu.workers),
        per_call(median(raw_cpu))
    );
    println!(
        "    for scale: raw on 1 thread {raw_1:.2?} ({:.2}x ours); a tokio actor per instance {tokio:.2?} ({:.2}x raw on 2 threads)",
        raw_1.as_secs_f64() / ours.as_secs_f64(),
        raw_2.as_secs_f64() / tokio.as_secs_f64()
    );
    Ok(())
}

const INSTANCES: usize = 100;
const CALLS: usize = 100_000;
/// The calls in one `call_many` batch.
const BATCH: usize = 100;

fn time(f: impl FnOnce()) -> Duration {
    let start = Instant::now();
    f();
    start.elapsed()
}

fn median(mut times: Vec<Duration>) -> Duration {
    times.sort();
    times[times.len() / 2]
}

/// [`CALLS`] calls of `get` through the handles with
/// `TypedHandle::call_blocking`, split over `threads` threads as in the
/// raw loop: each thread calls its own share of the instances in turn.
fn blocking_loop(handles: &[TypedHandle<(), (u64,)>], threads: usize) -> Duration {
    let barrier = Arc::new(std::sync::Barrier::new(threads));
    let workers: Vec<_> = (0..threads)
        .map(|t| {
            let per = handles.len() / threads;
            let mine: Vec<_> = handles[t * per..(t + 1) * per].to_vec();
            let barrier = barrier.clone();
            let thread = std::thread::Builder::new().name(CALLERS.into());
            thread.spawn(move || {
                barrier.wait();
                let start = Instant::now();
                for i in 0..CALLS / threads {
                    black_box(mine[i % mine.len()].call_blocking(()).unwrap());
                }
                start.elapsed()
            })
        })
        .collect();
    workers
        .into_iter()
        .map(|w| w.unwrap().join().unwrap())
        .max()
        .unwrap_or_default()
}

/// [`CALLS`] raw typed calls of `get` over [`INSTANCES`] stores, split
/// over `threads` threads; timed from when the stores exist. The time
/// taken, and the CPU time the threads used in it.
fn raw_loop(raw: &Arc<Raw>, threads: usize) -> (Duration, Duration) {
    raw_loop_of(raw, threads, "get", ())
}

/// [`raw_loop`] for any export that returns a `u64`.
fn raw_loop_of<P>(
    raw: &Arc<Raw>,
    threads: usize,
    export: &'static str,
    params: P,
) -> (Duration, Duration)
where
    P: wasmtime::component::ComponentNamedList
        + wasmtime::component::Lower
        + Copy
        + Send
        + Sync
        + 'static,
{
    let (ready, starts) = mpsc::channel();
    let (go_tx, go) = std::sync::mpsc::channel::<()>();
    let go = Arc::new(std::sync::Mutex::new(go));
    let workers: Vec<_> = (0..threads)
        .map(|_| {
            let (raw, ready, go) = (raw.clone(), ready.clone(), go.clone());
            std::thread::spawn(move || {
                let mut instances: Vec<_> = (0..INSTANCES / threads)
                    .map(|_| {
                        let (mut store, instance) = raw.store();
                        let func = instance
                            .get_typed_func::<P, (u64,)>(&mut store, export)
                            .unwrap();
                        (store, func)
                    })
                    .collect();
                ready.send(()).unwrap();
                let _ = go.lock().unwrap().recv();
                let (start, cpu) = (Instant::now(), thread_cpu());
                for i in 0..CALLS / threads {
                    let (store, func) = &mut instances[i % (INSTANCES / threads)];
                    black_box(func.call(&mut *store, params).unwrap());
                }
                (start.elapsed(), thread_cpu().saturating_sub(cpu))
            })
        })
        .collect();
    for _ in 0..threads {
        starts.recv().unwrap();
    }
    drop(go_tx);
    let done: Vec<(Duration, Duration)> = workers.into_iter().map(|w| w.join().unwrap()).collect();
    let took = done.iter().map(|(took, _)| *took).max().unwrap_or_default();
    (took, done.iter().map(|(_, cpu)| *cpu).sum())
}

/// The name of the runtime's worker threads.
const POOL_WORKERS: &str = "iso:worker";
/// The name of the threads that make blocking calls.
const CALLERS: &str = "iso-caller";
/// The name given to tokio's worker threads.
const TOKIO_WORKERS: &str = "tokio-worker";

/// CPU time used so far by the calling thread and by worker threads.
struct Cpu {
    caller: Duration,
    workers: Duration,
}

impl Cpu {
    /// The CPU time so far of this thread, and of the threads named `workers`.
    fn now(workers: &str) -> Cpu {
        let workers = std::fs::read_dir("/proc/self/task")
            .into_iter()
            .flatten()
            .flatten()
            .filter(|task| {
                std::fs::read_to_string(task.path().join("comm"))
                    .is_ok_and(|comm| comm.trim() == workers)
            })
            .map(|task| schedstat(&task.path().join("schedstat")))
            .sum();
        Cpu {
            caller: thread_cpu(),
            workers,
        }
    }

    fn since(&self, before: &Cpu) -> Cpu {
        Cpu {
            caller: self.caller.saturating_sub(before.caller),
            workers: self.workers.saturating_sub(before.workers),
        }
    }
}

/// The run with the median total.
fn median_cpu(mut runs: Vec<Cpu>) -> Cpu {
    runs.sort_by_key(|cpu| cpu.caller + cpu.workers);
    runs.swap_remove(runs.len() / 2)
}

/// CPU time this thread used so far (Linux; zero elsewhere).
fn thread_cpu() -> Duration {
    schedstat(Path::new("/proc/thread-self/schedstat"))
}

/// The time on CPU in a Linux `schedstat` file, to the nanosecond.
fn schedstat(path: &Path) -> Duration {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let nanos = text.split_whitespace().next().and_then(|n| n.parse().ok());
    Duration::from_nanos(nanos.unwrap_or(0))
}

/// The same calls through a tokio actor per instance (an mpsc mailbox and
/// a oneshot reply per call, on a 2-worker runtime), as an alternative to
/// the runtime's worker pool. The time taken, and the CPU used in it.
fn tokio_actors(raw: &Arc<Raw>) -> (Duration, Cpu) {
    use tokio::sync::{mpsc, oneshot};
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name(TOKIO_WORKERS)
        .build()
        .unwrap();
    let mailboxes: Vec<mpsc::UnboundedSender<oneshot::Sender<u64>>> = (0..INSTANCES)
        .map(|_| {
            let (tx, mut rx) = mpsc::unbounded_channel::<oneshot::Sender<u64>>();
            let raw = raw.clone();
            rt.spawn(async move {
                let (mut store, instance) = raw.store();
                let get = instance
                    .get_typed_func::<(), (u64,)>(&mut store, "get")
                    .unwrap();
                while let Some(reply) = rx.recv().await {
                    let _ = reply.send(get.call(&mut store, ()).unwrap().0);
                }
            });
            tx
        })
        .collect();
    // Every actor has its store before the clock starts.
    for mailbox in &mailboxes {
        let (reply, answer) = oneshot::channel();
        mailbox.send(reply).unwrap();
        answer.blocking_recv().unwrap();
    }
    let before = Cpu::now(TOKIO_WORKERS);
    let took = time(|| {
        let answers: Vec<_> = (0..CALLS)
            .map(|i| {
                let (reply, answer) = oneshot::channel();
                mailboxes[i % INSTANCES].send(reply).unwrap();
                answer
            })
            .collect();
        for answer in answers {
            black_box(answer.blocking_recv().unwrap());
        }
    });
    let cpu = Cpu::now(TOKIO_WORKERS).since(&before);
    drop(mailboxes);
    // Waits for the actors to drop their stores: torn down in the
    // background, they would overlap the next timing.
    rt.shutdown_timeout(Duration::from_secs(60));
    (took, cpu)
}
