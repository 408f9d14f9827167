//! One actor per instance, as in Alice Ryhl's "Actors with Tokio", on a
//! thread of its own: the actor owns the instance and takes jobs one at a
//! time from its mailbox, each with a oneshot for the answer. An [`Actor`]
//! is the cheap, cloneable handle; nothing else touches the instance.
//!
//! A thread per instance (not a task on a shared pool) means a guest that
//! is busy until its time budget runs out delays nobody else, and a wired
//! call simply blocks the caller's thread while the callee's works.

use std::future::Future;
use std::sync::mpsc;

use futures_channel::oneshot;

use crate::error::HostError;
use crate::runtime::supervise::Supervised;
use crate::runtime::wiring::WiringError;

/// Work for an actor: runs on its thread with its instance.
type Job = Box<dyn FnOnce(&mut Supervised) + Send>;

/// The handle on a running actor: its address and its mailbox.
#[derive(Clone)]
pub(crate) struct Actor {
    address: String,
    mailbox: mpsc::Sender<Job>,
}

impl Actor {
    /// Starts the actor for `supervised` under `address`. It ends when the
    /// last handle is dropped and its mailbox is empty.
    pub(crate) fn spawn(address: &str, mut supervised: Supervised) -> Result<Actor, HostError> {
        let (mailbox, jobs) = mpsc::channel::<Job>();
        std::thread::Builder::new()
            .name(format!("iso:{address}"))
            .spawn(move || {
                for job in jobs {
                    job(&mut supervised);
                }
            })
            .map_err(|err| HostError::Invalid {
                reason: format!("could not start a thread for `{address}`: {err}"),
            })?;
        Ok(Actor {
            address: address.to_owned(),
            mailbox,
        })
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
        let gone = HostError::Wiring(WiringError::NoSuchAddress {
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
