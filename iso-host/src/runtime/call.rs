//! One call in an actor's mailbox: the job and the slot for its answer in
//! one allocation (a boxed job plus a oneshot channel would be two, freed
//! on another thread: a third of a call's cost), and [`block_on`], which
//! waits for an answer on the calling thread without allocating.

use std::future::Future;
use std::pin::{Pin, pin};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Wake, Waker};
use std::thread::Thread;

use crate::host::lock;
use crate::runtime::supervise::Supervised;

/// A job in a mailbox, type-erased. Dropped without being run (the actor
/// went away), it tells its waiting caller so.
pub(crate) struct Job(Option<Arc<dyn Run>>);

/// The erased side of a [`Slot`], for the actor.
trait Run: Send + Sync {
    fn run(&self, supervised: &mut Supervised);
    fn abandon(&self);
}

/// The job, then its answer, and who waits for it.
struct Slot<F, R> {
    state: Mutex<State<F, R>>,
}

enum State<F, R> {
    Queued {
        job: F,
        waiter: Option<Waker>,
    },
    Running {
        waiter: Option<Waker>,
    },
    Done(R),
    /// The job was dropped unrun.
    Abandoned,
    /// The answer was taken.
    Taken,
}

/// The caller's side: a future of the job's answer; `None` if the actor
/// dropped the job unrun.
pub(crate) struct Answer<F, R>(Arc<Slot<F, R>>);

/// A job for `f` and the future of its answer.
pub(crate) fn call<F, R>(f: F) -> (Job, Answer<F, R>)
where
    F: FnOnce(&mut Supervised) -> R + Send + 'static,
    R: Send + 'static,
{
    let slot = Arc::new(Slot {
        state: Mutex::new(State::Queued {
            job: f,
            waiter: None,
        }),
    });
    (Job(Some(slot.clone())), Answer(slot))
}

impl Job {
    /// Runs the job on `supervised` and hands its answer to the caller.
    pub(crate) fn run(mut self, supervised: &mut Supervised) {
        if let Some(slot) = self.0.clone() {
            slot.run(supervised);
            // Only now: if the job panicked, dropping `self` tells the caller.
            self.0 = None;
            supervised.run_after_answer();
        }
    }
}

impl Drop for Job {
    fn drop(&mut self) {
        if let Some(slot) = self.0.take() {
            slot.abandon();
        }
    }
}

impl<F, R> Run for Slot<F, R>
where
    F: FnOnce(&mut Supervised) -> R + Send,
    R: Send,
{
    fn run(&self, supervised: &mut Supervised) {
        let job = {
            let mut state = lock(&self.state);
            match std::mem::replace(&mut *state, State::Taken) {
                State::Queued { job, waiter } => {
                    *state = State::Running { waiter };
                    job
                }
                other => {
                    *state = other;
                    return;
                }
            }
        };
        let answer = job(supervised);
        self.finish(State::Done(answer));
    }

    fn abandon(&self) {
        self.finish(State::Abandoned);
    }
}

impl<F, R> Slot<F, R> {
    /// Puts the end state in place and wakes the caller.
    fn finish(&self, end: State<F, R>) {
        let waiter = {
            let mut state = lock(&self.state);
            match std::mem::replace(&mut *state, end) {
                State::Queued { waiter, .. } | State::Running { waiter } => waiter,
                done => {
                    *state = done;
                    None
                }
            }
        };
        if let Some(waiter) = waiter {
            waiter.wake();
        }
    }
}

impl<F, R> Future for Answer<F, R> {
    type Output = Option<R>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<R>> {
        let mut state = lock(&self.0.state);
        let waiting = |waiter: Option<Waker>| match waiter {
            Some(known) if known.will_wake(cx.waker()) => Some(known),
            _ => Some(cx.waker().clone()),
        };
        match std::mem::replace(&mut *state, State::Taken) {
            State::Done(answer) => Poll::Ready(Some(answer)),
            State::Abandoned => Poll::Ready(None),
            State::Queued { job, waiter } => {
                let waiter = waiting(waiter);
                *state = State::Queued { job, waiter };
                Poll::Pending
            }
            State::Running { waiter } => {
                *state = State::Running {
                    waiter: waiting(waiter),
                };
                Poll::Pending
            }
            State::Taken => Poll::Pending,
        }
    }
}

// The answer is moved out, never pinned in place.
impl<F, R> Unpin for Answer<F, R> {}

/// Waits for `future` on this thread: a short spin for answers that come
/// within microseconds, then a sleep until it is woken. Needs no runtime;
/// any executor can await the runtime's futures instead.
pub fn block_on<T>(future: impl Future<Output = T>) -> T {
    /// Spins before sleeping: a sleeping thread takes tens of microseconds to wake.
    const SPINS: usize = 2_000;
    thread_local! {
        /// The thread's waker, made once: cloning it for every wait cost
        /// two atomic operations.
        static WAITER: (Arc<ThreadWaker>, Waker) = {
            let waiter = Arc::new(ThreadWaker {
                thread: std::thread::current(),
                woken: AtomicBool::new(false),
            });
            (waiter.clone(), Waker::from(waiter))
        };
    }
    WAITER.with(|(waiter, waker)| {
        let mut cx = Context::from_waker(waker);
        let mut future = pin!(future);
        loop {
            waiter.woken.store(false, Ordering::SeqCst);
            if let Poll::Ready(value) = future.as_mut().poll(&mut cx) {
                return value;
            }
            let mut spins = 0;
            while !waiter.woken.load(Ordering::Acquire) {
                if spins < SPINS {
                    spins += 1;
                    std::hint::spin_loop();
                } else {
                    std::thread::park();
                }
            }
        }
    })
}

/// Wakes a thread in [`block_on`].
struct ThreadWaker {
    thread: Thread,
    woken: AtomicBool,
}

impl Wake for ThreadWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.woken.store(true, Ordering::Release);
        self.thread.unpark();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn a_job_dropped_unrun_answers_none_to_a_waiting_caller() {
        let (job, answer) = call(|_: &mut Supervised| 7);
        let waiter = std::thread::spawn(move || block_on(answer));
        std::thread::sleep(Duration::from_millis(20));
        drop(job);
        assert_eq!(waiter.join().unwrap(), None);
    }
}
