//! One actor per instance, as in Alice Ryhl's "Actors with Tokio": the
//! actor takes jobs one at a time from its mailbox, each with a oneshot
//! for the answer, and an [`Actor`] is the cheap, cloneable handle. Actors
//! run on the runtime's worker pool (see the pool module): an actor with
//! mail is on the pool's queue exactly once, so it runs one job at a time.
//!
//! The instance sits behind a lock that the actor takes for each job, and
//! that a wired call from another instance takes directly, on the caller's
//! worker: a wired call then costs a lock, not two hand-offs. Either way
//! the instance takes one call at a time.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering, fence};
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::task::{Context, Poll};

use crossbeam_deque::Injector;
use crossbeam_utils::CachePadded;

use crate::error::HostError;
use crate::host::lock;
use crate::runtime::call::{self, Answer, Job, block_on};
use crate::runtime::candidate::Candidate;
use crate::runtime::pool::{Pool, Runnable, pop};
use crate::runtime::supervise::Supervised;
use crate::runtime::wiring::WiringError;

/// The handle on an actor: its address, its mailbox and its instance.
#[derive(Clone)]
pub(crate) struct Actor {
    cell: Arc<Cell>,
}

/// What an actor is made of, shared by its handles and the pool's queue.
struct Cell {
    address: Arc<str>,
    /// Jobs in the order sent; lock-free, since every call sends one.
    mailbox: Injector<Job>,
    /// Whether the actor is on the pool's queue, or running. On a cache
    /// line of its own: every call reads it, and sharing a line with the
    /// instance's lock, which the worker takes for every job, cost a
    /// line transfer per call.
    scheduled: CachePadded<AtomicBool>,
    instance: Mutex<Supervised>,
    pool: Arc<Pool>,
    /// The cell itself, which the pool queues.
    this: Weak<Cell>,
}

impl Actor {
    /// The actor of `supervised` under `address`, run on `pool`. It ends
    /// when the last handle is dropped and its mailbox is empty.
    pub(crate) fn new(address: &str, supervised: Supervised, pool: Arc<Pool>) -> Actor {
        let cell = Arc::new_cyclic(|this| Cell {
            address: address.into(),
            mailbox: Injector::new(),
            scheduled: CachePadded::new(AtomicBool::new(false)),
            instance: Mutex::new(supervised),
            pool,
            this: this.clone(),
        });
        Actor { cell }
    }

    /// The instance, for a call on this thread (a wired call): waits for
    /// the call it is taking, if any.
    pub(crate) fn lock(&self) -> MutexGuard<'_, Supervised> {
        lock(&self.cell.instance)
    }

    /// The instance, for a call on this thread, if it is free now and no
    /// call waits in its mailbox (one made here would overtake it). The
    /// runner marks the actor idle only under the lock (see `run`), so
    /// the mark alone tells, and the mailbox's two cache lines are not
    /// read: a job is unmarked only between its sender's push and mark,
    /// and a call made while another thread sends has no order to keep.
    pub(crate) fn try_lock_idle(&self) -> Option<MutexGuard<'_, Supervised>> {
        let guard = self.cell.instance.try_lock().ok()?;
        let idle = !self.cell.scheduled.load(Ordering::SeqCst);
        idle.then_some(guard)
    }

    /// Runs `job` on the actor's instance, after the jobs before it; its
    /// answer, as a future. The job is sent now, not when the future is
    /// first polled, so that calls made one after another queue in order.
    pub(crate) fn ask<R, F>(&self, job: F) -> Asked<F, R>
    where
        R: Send + 'static,
        F: FnOnce(&mut Supervised) -> R + Send + 'static,
    {
        let (job, answer) = call::call(job);
        self.cell.send(job);
        Asked {
            answer,
            address: self.cell.address.clone(),
        }
    }

    /// [`Actor::ask`], waiting for the answer on this thread.
    pub(crate) fn ask_blocking<R: Send + 'static>(
        &self,
        job: impl FnOnce(&mut Supervised) -> R + Send + 'static,
    ) -> Result<R, HostError> {
        block_on(self.ask(job))
    }
}

/// The future of a job's answer, from [`Actor::ask`]; an error if the
/// actor went away without running it. Small (three words), since callers
/// may hold many at once.
pub(crate) struct Asked<F, R> {
    answer: Answer<F, R>,
    address: Arc<str>,
}

impl<F, R> Future for Asked<F, R> {
    type Output = Result<R, HostError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        Pin::new(&mut self.answer).poll(cx).map(|answer| {
            answer.ok_or_else(|| {
                let address = self.address.to_string();
                HostError::from(WiringError::NoSuchAddress { address })
            })
        })
    }
}

/// A typed call's future: the answer of the job sent, or the error that
/// kept it from being sent. A named type rather than an `async` block, so
/// that it stays small: a caller may hold 100 000 of them.
pub(crate) enum Reply<F, T> {
    Sent(Asked<F, Result<T, HostError>>),
    /// Boxed, so that it does not make every reply as large as an error.
    Refused(Option<Box<HostError>>),
}

impl<F, T> Reply<F, T> {
    pub(crate) fn refused(error: HostError) -> Self {
        Reply::Refused(Some(Box::new(error)))
    }
}

impl<F, T> Future for Reply<F, T> {
    type Output = Result<T, HostError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match &mut *self {
            Reply::Sent(asked) => Pin::new(asked).poll(cx).map(|answer| answer?),
            Reply::Refused(error) => Poll::Ready(Err(error.take().map_or_else(
                || HostError::Invalid {
                    reason: "this call's answer was already taken".into(),
                },
                |error| *error,
            ))),
        }
    }
}

/// The actors behind one address: one, or a pool of identical stateless
/// instances that share its calls.
pub(crate) struct Served {
    actors: Vec<Actor>,
    next: AtomicUsize,
    /// Set when the address is stopped: typed handles still hold it.
    stopped: AtomicBool,
    /// The candidate beside the primary, if any (see the candidate module).
    candidate: Mutex<Option<Arc<Candidate>>>,
    /// Whether `candidate` is set: read on every call, so that an address
    /// without one takes no lock.
    has_candidate: AtomicBool,
}

impl Served {
    pub(crate) fn new(actors: Vec<Actor>) -> Served {
        Served {
            actors,
            next: AtomicUsize::new(0),
            stopped: AtomicBool::new(false),
            candidate: Mutex::new(None),
            has_candidate: AtomicBool::new(false),
        }
    }

    /// The candidate beside the primary, if any.
    pub(crate) fn candidate(&self) -> Option<Arc<Candidate>> {
        if !self.has_candidate.load(Ordering::Acquire) {
            return None;
        }
        lock(&self.candidate).clone()
    }

    /// Sets (or with `None` ends) the candidate of the address.
    pub(crate) fn set_candidate(&self, candidate: Option<Arc<Candidate>>) {
        let mut slot = lock(&self.candidate);
        self.has_candidate
            .store(candidate.is_some(), Ordering::Release);
        *slot = candidate;
    }

    /// Marks the address stopped: calls through handles fail from now on.
    pub(crate) fn stop(&self) {
        self.stopped.store(true, Ordering::Release);
    }

    /// The address served.
    pub(crate) fn address(&self) -> &str {
        self.actors.first().map_or("", |actor| &actor.cell.address)
    }

    /// Whether the address was stopped.
    pub(crate) fn is_stopped(&self) -> bool {
        self.stopped.load(Ordering::Acquire)
    }

    /// Every actor, in order.
    pub(crate) fn actors(&self) -> &[Actor] {
        &self.actors
    }

    /// Every actor once, from the one whose turn is next: a pool's calls
    /// go round, and the first is the one to wait for when none is free.
    fn in_turn(&self) -> impl Iterator<Item = &Actor> + Clone {
        let count = self.actors.len();
        let start = match count {
            1 => 0,
            _ => self.next.fetch_add(1, Ordering::Relaxed),
        };
        (0..count).map(move |i| &self.actors[(start + i) % count])
    }

    /// The actor for the next call through its mailbox: in turn, but an
    /// idle one first.
    pub(crate) fn pick(&self) -> &Actor {
        if let [actor] = self.actors.as_slice() {
            return actor;
        }
        let mut turn = self.in_turn();
        let next = turn.clone().next();
        let idle = turn.find(|actor| !actor.cell.scheduled.load(Ordering::Relaxed));
        idle.or(next).unwrap_or(&self.actors[0])
    }

    /// An instance for a call on this thread, if one is free and has no
    /// call waiting; `None` once the address is stopped.
    pub(crate) fn try_lock_idle(&self) -> Option<MutexGuard<'_, Supervised>> {
        if self.is_stopped() {
            return None;
        }
        self.in_turn().find_map(Actor::try_lock_idle)
    }

    /// An instance for a wired call on this thread: a free one if any.
    pub(crate) fn lock_any(&self) -> MutexGuard<'_, Supervised> {
        if let [actor] = self.actors.as_slice() {
            return actor.lock();
        }
        let mut turn = self.in_turn();
        let next = turn.clone().next().unwrap_or(&self.actors[0]);
        turn.find_map(|actor| actor.cell.instance.try_lock().ok())
            .unwrap_or_else(|| next.lock())
    }
}

impl Cell {
    /// Puts `job` in the mailbox, and the actor on the pool's queue if it
    /// was idle.
    fn send(&self, job: Job) {
        self.mailbox.push(job);
        // Pairs with the fence in `run`: either the runner sees this job,
        // or this sees that the actor is no longer scheduled.
        fence(Ordering::SeqCst);
        // A plain read first: while the actor is busy (the usual case under
        // load), it leaves the line shared instead of taking it.
        if !self.scheduled.load(Ordering::SeqCst) && !self.scheduled.swap(true, Ordering::SeqCst) {
            self.queue();
        }
    }

    fn queue(&self) {
        if let Some(this) = self.this.upgrade() {
            self.pool.schedule(this);
        }
    }
}

impl Runnable for Cell {
    fn run(&self, batch: usize) -> bool {
        let mut ran = 0;
        while ran < batch {
            if let Some(job) = pop(&self.mailbox) {
                job.run(&mut lock(&self.instance));
                ran += 1;
                continue;
            }
            // Under the lock, so that a call on another thread (which
            // takes the lock, then reads the mark) never finds the actor
            // unmarked with mail waiting between these two steps.
            let _idle = lock(&self.instance);
            self.scheduled.store(false, Ordering::SeqCst);
            fence(Ordering::SeqCst);
            // A job sent just before the store may have seen the actor
            // still scheduled: run it, unless its sender queued the actor.
            if self.mailbox.is_empty() || self.scheduled.swap(true, Ordering::SeqCst) {
                return false;
            }
        }
        true
    }
}
