//! One actor per instance, as in Alice Ryhl's "Actors with Tokio", on a
//! thread of its own: the actor takes jobs one at a time from its mailbox,
//! each with a oneshot for the answer. An [`Actor`] is the cheap,
//! cloneable handle.
//!
//! A thread per instance (not a task on a shared pool) means a guest that
//! is busy until its time budget runs out delays nobody else. The instance
//! sits behind a lock that the actor takes for each job, and that a wired
//! call from another instance takes directly, on the caller's thread: a
//! wired call then costs a lock, not two thread hand-offs. Either way the
//! instance takes one call at a time.

use std::future::Future;
use std::sync::{Arc, Mutex, MutexGuard, mpsc};

use futures_channel::oneshot;

use crate::error::HostError;
use crate::host::lock;
use crate::runtime::supervise::Supervised;
use crate::runtime::wiring::WiringError;

/// Work for an actor: runs on its thread with its instance.
type Job = Box<dyn FnOnce(&mut Supervised) + Send>;

/// The handle on a running actor: its address, its mailbox and its instance.
#[derive(Clone)]
pub(crate) struct Actor {
    address: String,
    mailbox: mpsc::Sender<Job>,
    instance: Arc<Mutex<Supervised>>,
}

impl Actor {
    /// Starts the actor for `supervised` under `address`. It ends when the
    /// last handle is dropped and its mailbox is empty.
    pub(crate) fn spawn(address: &str, supervised: Supervised) -> Result<Actor, HostError> {
        let (mailbox, jobs) = mpsc::channel::<Job>();
        let instance = Arc::new(Mutex::new(supervised));
        let owned = instance.clone();
        std::thread::Builder::new()
            .name(format!("iso:{address}"))
            .spawn(move || {
                for job in jobs {
                    job(&mut lock(&owned));
                }
            })
            .map_err(|err| HostError::Invalid {
                reason: format!("could not start a thread for `{address}`: {err}"),
            })?;
        Ok(Actor {
            address: address.to_owned(),
            mailbox,
            instance,
        })
    }

    /// The instance, for a call on this thread (a wired call): waits for
    /// the call it is taking, if any.
    pub(crate) fn lock(&self) -> MutexGuard<'_, Supervised> {
        lock(&self.instance)
    }

    /// Runs `job` on the actor's instance, after the jobs before it; its answer, as a future.
    pub(crate) fn ask<R, F>(
        &self,
        job: F,
    ) -> impl Future<Output = Result<R, HostError>> + Send + 'static + use<R, F>
    where
        R: Send + 'static,
        F: FnOnce(&mut Supervised) -> R + Send + 'static,
    {
        let (reply, answer) = oneshot::channel();
        let sent = self.mailbox.send(Box::new(move |supervised| {
            let _ = reply.send(job(supervised));
        }));
        let gone = HostError::from(WiringError::NoSuchAddress {
            address: self.address.clone(),
        });
        async move {
            sent.map_err(|_| gone.clone())?;
            answer.await.map_err(|_| gone)
        }
    }

    /// [`Actor::ask`], waiting for the answer on this thread.
    pub(crate) fn ask_blocking<R: Send + 'static>(
        &self,
        job: impl FnOnce(&mut Supervised) -> R + Send + 'static,
    ) -> Result<R, HostError> {
        pollster::block_on(self.ask(job))
    }
}
