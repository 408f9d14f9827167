//! The worker pool that runs actors: a few threads (one per core) take
//! actors that have mail from one run queue, and run a batch of each
//! one's jobs before taking the next. An actor is on the queue at most
//! once (see the actor module), so it takes one call at a time however
//! many workers there are.
//!
//! A wasm call cannot be preempted, so a guest busy until its time budget
//! runs out holds its worker. A watchdog makes sure that never starves
//! the others: when mail has waited a whole tick while no job finished,
//! every worker is stuck in a long call, and the watchdog starts one more.
//! Extra workers end when they find the queue empty.
//!
//! Measured in `iso-host/examples/runtime_bench.rs`: with a thread per
//! actor, every job sent to an idle actor cost a thread wake-up (100 000
//! calls over 100 instances took 0.9 s; this pool takes 26-39 ms). A tokio
//! actor per instance hands off about 1.45x cheaper, but a tokio worker
//! held by a wasm call that cannot be preempted (without wasmtime's async
//! mode throughout) starves its queue; the watchdog here is simple on
//! plain threads.

use std::panic::{self, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering, fence};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use crossbeam_deque::{Injector, Steal};

use crate::host::lock;

/// Something the pool runs: an actor with mail.
pub(crate) trait Runnable: Send + Sync {
    /// Runs up to `batch` jobs; whether mail is left (then it is queued again).
    fn run(&self, batch: usize) -> bool;
}

/// How many jobs of one actor a worker runs before it takes the next actor.
const BATCH: usize = 32;
/// How often the watchdog looks for workers stuck in long calls.
const TICK: Duration = Duration::from_millis(5);
/// How many empty looks at the queue a worker spins through before it
/// sleeps: waking a sleeping thread costs tens of microseconds here.
const SPINS: usize = 200;
/// At most this many workers, however many guests are stuck.
const MAX_WORKERS: usize = 256;

/// A handle on the pool; the pool ends when the last handle is dropped.
pub(crate) struct Pool {
    shared: Arc<Shared>,
}

/// The run queue and the workers' counters.
struct Shared {
    /// Actors with mail; lock-free, since every call may queue one.
    queue: Injector<Arc<dyn Runnable>>,
    /// Held to sleep, and to wake a sleeper.
    sleep: Mutex<Sleepers>,
    ready: Condvar,
    /// Sleepers not yet woken, read without the lock by every push.
    idle: AtomicUsize,
    workers: AtomicUsize,
    /// Batches finished, read by the watchdog.
    finished: AtomicU64,
    /// How many workers the pool keeps when none is stuck.
    size: usize,
    closed: AtomicBool,
}

/// The workers asleep, and how many of them were woken but are not up yet:
/// a push wakes a sleeper only if none is on its way already.
#[derive(Default)]
struct Sleepers {
    asleep: usize,
    woken: usize,
}

/// The next item of `queue`, if any.
pub(crate) fn pop<T>(queue: &Injector<T>) -> Option<T> {
    loop {
        match queue.steal() {
            Steal::Success(item) => return Some(item),
            Steal::Empty => return None,
            Steal::Retry => std::hint::spin_loop(),
        }
    }
}

impl Pool {
    /// A pool of `size` workers (at least one), and its watchdog.
    pub(crate) fn new(size: usize) -> std::io::Result<Pool> {
        let size = size.max(1);
        let shared = Arc::new(Shared {
            queue: Injector::new(),
            sleep: Mutex::new(Sleepers::default()),
            ready: Condvar::new(),
            idle: AtomicUsize::new(0),
            workers: AtomicUsize::new(0),
            finished: AtomicU64::new(0),
            size,
            closed: AtomicBool::new(false),
        });
        for _ in 0..size {
            spawn_worker(&shared)?;
        }
        let watched = shared.clone();
        std::thread::Builder::new()
            .name("iso:watchdog".into())
            .spawn(move || watchdog(&watched))?;
        Ok(Pool { shared })
    }

    /// A pool with a worker per core.
    pub(crate) fn per_core() -> std::io::Result<Pool> {
        Pool::new(std::thread::available_parallelism().map_or(2, |n| n.get()))
    }

    /// Queues `actor` to run; it must not be queued already.
    pub(crate) fn schedule(&self, actor: Arc<dyn Runnable>) {
        self.shared.push(actor);
    }
}

impl Drop for Pool {
    fn drop(&mut self) {
        self.shared.closed.store(true, Ordering::SeqCst);
        let _sleep = lock(&self.shared.sleep);
        self.shared.ready.notify_all();
    }
}

impl Shared {
    fn push(&self, actor: Arc<dyn Runnable>) {
        self.queue.push(actor);
        // Pairs with the fence in `next`: either a sleeper sees the actor,
        // or this sees the sleeper.
        fence(Ordering::SeqCst);
        if self.idle.load(Ordering::SeqCst) > 0 {
            let mut sleepers = lock(&self.sleep);
            if sleepers.asleep > sleepers.woken {
                sleepers.woken += 1;
                self.count_idle(&sleepers);
                self.ready.notify_one();
            }
        }
    }

    fn count_idle(&self, sleepers: &Sleepers) {
        let idle = sleepers.asleep.saturating_sub(sleepers.woken);
        self.idle.store(idle, Ordering::SeqCst);
    }

    /// The next actor with mail, after a spin and then a sleep when there
    /// is none; `None` when this worker should end.
    fn next(&self) -> Option<Arc<dyn Runnable>> {
        for _ in 0..SPINS {
            if let Some(actor) = pop(&self.queue) {
                return Some(actor);
            }
            std::hint::spin_loop();
        }
        let mut sleepers = lock(&self.sleep);
        loop {
            sleepers.asleep += 1;
            self.count_idle(&sleepers);
            fence(Ordering::SeqCst);
            let next = pop(&self.queue);
            let end = next.is_none() && (self.closed.load(Ordering::SeqCst) || self.retire());
            if next.is_some() || end {
                sleepers.asleep -= 1;
                self.count_idle(&sleepers);
                return next;
            }
            sleepers = self
                .ready
                .wait(sleepers)
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            sleepers.asleep -= 1;
            sleepers.woken = sleepers.woken.saturating_sub(1);
            self.count_idle(&sleepers);
        }
    }

    /// Whether this worker is a spare the pool no longer needs; if so, it
    /// is no longer counted.
    fn retire(&self) -> bool {
        self.workers
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| {
                (n > self.size).then(|| n - 1)
            })
            .is_ok()
    }
}

fn spawn_worker(shared: &Arc<Shared>) -> std::io::Result<()> {
    shared.workers.fetch_add(1, Ordering::SeqCst);
    let worker = shared.clone();
    let spawned = std::thread::Builder::new()
        .name("iso:worker".into())
        .spawn(move || {
            while let Some(actor) = worker.next() {
                // A host bug's panic fails the job it was in (its caller
                // sees the actor as gone), not the worker: the actor is
                // still marked as scheduled, so it is queued again.
                let more =
                    panic::catch_unwind(AssertUnwindSafe(|| actor.run(BATCH))).unwrap_or(true);
                worker.finished.fetch_add(1, Ordering::Release);
                if more {
                    worker.push(actor);
                }
            }
        });
    if spawned.is_err() {
        shared.workers.fetch_sub(1, Ordering::SeqCst);
    }
    spawned.map(drop)
}

/// Starts a worker whenever mail waited a tick and no batch finished in it.
fn watchdog(shared: &Arc<Shared>) {
    let mut seen = shared.finished.load(Ordering::Acquire);
    while !shared.closed.load(Ordering::Acquire) {
        std::thread::sleep(TICK);
        let finished = shared.finished.load(Ordering::Acquire);
        let waiting = !shared.queue.is_empty();
        let workers = shared.workers.load(Ordering::SeqCst);
        let sleeping = shared.idle.load(Ordering::SeqCst);
        if waiting && finished == seen && sleeping == 0 && workers < MAX_WORKERS {
            // Every worker is in a long call: without a spare, mail waits for them.
            let _ = spawn_worker(shared);
        }
        seen = finished;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc;

    /// Sleeps (a guest stuck in a long call), then says its name.
    struct Sleeper(Duration, mpsc::Sender<&'static str>, &'static str);

    impl Runnable for Sleeper {
        fn run(&self, _batch: usize) -> bool {
            std::thread::sleep(self.0);
            let _ = self.1.send(self.2);
            false
        }
    }

    #[test]
    fn a_spare_worker_starts_when_every_worker_is_stuck() {
        let pool = Pool::new(2).unwrap();
        let (said, heard) = mpsc::channel();
        for _ in 0..2 {
            let stuck = Sleeper(Duration::from_secs(3), said.clone(), "stuck");
            pool.schedule(Arc::new(stuck));
        }
        std::thread::sleep(Duration::from_millis(50));
        pool.schedule(Arc::new(Sleeper(Duration::ZERO, said, "quick")));
        let first = heard.recv_timeout(Duration::from_secs(2));
        assert_eq!(first, Ok("quick"), "the quick one waited for a stuck one");
    }

    #[test]
    fn every_queued_actor_runs_once() {
        let pool = Pool::new(2).unwrap();
        let (said, heard) = mpsc::channel();
        for _ in 0..1000 {
            pool.schedule(Arc::new(Sleeper(Duration::ZERO, said.clone(), "ran")));
        }
        drop(said);
        assert_eq!(heard.iter().count(), 1000);
    }
}
