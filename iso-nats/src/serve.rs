//! Serving a runtime's apps on NATS, and stopping with a drain: the
//! subscriptions are drained, so every call already sent to this host is
//! answered, and only then does it say it stopped.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use async_nats::{Client, Message, Subscriber};
use futures_util::StreamExt;
use iso_host::codec;
use iso_host::runtime::Runtime;
use tokio::sync::watch;
use tokio_util::task::TaskTracker;

use crate::lattice::{ANNOUNCE_SUBJECT, HOSTS_SUBJECT, HostInfo};
use crate::{Nats, NatsError, call_subject, describe_subject};

/// How long a stopping host tries to say so.
const ANNOUNCE_WITHIN: Duration = Duration::from_secs(1);

/// Where a serving host reports messages it drops.
type Warn = Arc<dyn Fn(String) + Send + Sync>;

/// A host answering calls for a runtime's apps; see [`Nats::serve`].
/// [`Serving::stop`] drains and announces the stop; dropping it only
/// stops taking calls (those already sent are answered in the background).
pub struct Serving {
    stop: watch::Sender<bool>,
    loops: Vec<tokio::task::JoinHandle<()>>,
    answers: TaskTracker,
    counts: Arc<Counts>,
    client: Client,
    handle: tokio::runtime::Handle,
    info: HostInfo,
}

/// What a serving host has done so far.
#[derive(Default)]
struct Counts {
    answered: AtomicU64,
    dropped: AtomicU64,
}

impl Nats {
    /// Answers the calls sent to each address `runtime` runs now, in the
    /// queue group of the address, so that hosts serving one address
    /// share its calls; describes each address; and answers `iso.hosts`.
    /// Bytes that do not read as a call, and calls with no reply subject,
    /// are dropped and reported to `warn`; the host goes on.
    pub fn serve(
        &self,
        runtime: Arc<Runtime>,
        warn: impl Fn(String) + Send + Sync + 'static,
    ) -> Result<Serving, NatsError> {
        let warn: Warn = Arc::new(warn);
        let info = HostInfo::of(&runtime, &self.url);
        for app in &info.apps {
            crate::check_address(&app.address)?;
        }
        let (stop, stopped) = watch::channel(false);
        let answers = TaskTracker::new();
        let counts = Arc::new(Counts::default());
        let mut loops = Vec::new();
        for app in &info.apps {
            let address = app.address.as_str();
            let calls = self.subscribe(&call_subject(address), Some(address))?;
            let answering = Answering {
                runtime: runtime.clone(),
                client: self.client.clone(),
                answers: answers.clone(),
                counts: counts.clone(),
                warn: warn.clone(),
            };
            loops.push(self.spawn_loop(calls, stopped.clone(), move |message| {
                answering.answer(message)
            }));
            let asks = self.subscribe(&describe_subject(address), Some(address))?;
            let describing = (runtime.clone(), self.client.clone(), app.address.clone());
            loops.push(self.spawn_loop(asks, stopped.clone(), move |message| {
                describe(&describing, message)
            }));
        }
        let asks = self.subscribe(HOSTS_SUBJECT, None)?;
        let answering_hosts = (self.client.clone(), info.to_json());
        loops.push(self.spawn_loop(asks, stopped, move |message| {
            reply(&answering_hosts.0, message, answering_hosts.1.clone())
        }));
        self.publish(ANNOUNCE_SUBJECT, info.to_json())?;
        Ok(Serving {
            stop,
            loops,
            answers,
            counts,
            client: self.client.clone(),
            handle: self.tasks.handle().clone(),
            info,
        })
    }

    fn subscribe(&self, subject: &str, address: Option<&str>) -> Result<Subscriber, NatsError> {
        let subscribing = async {
            match address {
                Some(address) => {
                    let group = format!("iso.{address}");
                    self.client.queue_subscribe(subject.to_owned(), group).await
                }
                None => self.client.subscribe(subject.to_owned()).await,
            }
        };
        let subscribed = self.tasks.block_on(subscribing);
        subscribed.map_err(|err| NatsError::Subscribe {
            subject: subject.to_owned(),
            reason: err.to_string(),
        })
    }

    fn publish(&self, subject: &str, payload: Vec<u8>) -> Result<(), NatsError> {
        let failed = |reason: String| NatsError::Publish {
            subject: subject.to_owned(),
            reason,
        };
        self.tasks.block_on(async {
            let publishing = self.client.publish(subject.to_owned(), payload.into());
            publishing.await.map_err(|err| failed(err.to_string()))?;
            self.client
                .flush()
                .await
                .map_err(|err| failed(err.to_string()))
        })
    }

    /// Hands each message of `messages` to `handle` until told to stop;
    /// then drains the subscription, handling what was already sent.
    fn spawn_loop(
        &self,
        mut messages: Subscriber,
        mut stopped: watch::Receiver<bool>,
        handle: impl Fn(Message) + Send + 'static,
    ) -> tokio::task::JoinHandle<()> {
        self.tasks.spawn(async move {
            let mut draining = false;
            loop {
                tokio::select! {
                    message = messages.next() => match message {
                        Some(message) => handle(message),
                        None => break,
                    },
                    _ = stopped.changed(), if !draining => {
                        draining = true;
                        if messages.drain().await.is_err() {
                            break;
                        }
                    }
                }
            }
        })
    }
}

/// What answering a call needs.
struct Answering {
    runtime: Arc<Runtime>,
    client: Client,
    answers: TaskTracker,
    counts: Arc<Counts>,
    warn: Warn,
}

impl Answering {
    /// Makes the call in `message` and publishes its answer, unless the
    /// message is not a call: then it is dropped, with a warning.
    fn answer(&self, message: Message) {
        let drop_it = |why: String| {
            self.counts.dropped.fetch_add(1, Ordering::Relaxed);
            (self.warn)(format!(
                "dropped {} bytes on `{}`: {why}",
                message.payload.len(),
                message.subject
            ));
        };
        let Some(reply) = message.reply.clone() else {
            return drop_it("it has no reply subject".into());
        };
        if let Err(err) = codec::decode_call_header(&message.payload) {
            return drop_it(format!("it is not a call ({err})"));
        }
        let (client, counts) = (self.client.clone(), self.counts.clone());
        let publish = |answer: Vec<u8>| async move {
            if client.publish(reply, answer.into()).await.is_ok() {
                counts.answered.fetch_add(1, Ordering::Relaxed);
            }
        };
        // Made on this thread when its instance is free (and it is safe,
        // see `try_answer_here`): two thread hops fewer, a fifth of a
        // call's time on loopback.
        match self.runtime.try_answer_here(&message.payload) {
            Some(answer) => self.answers.spawn(publish(answer)),
            None => {
                let answer = self.runtime.answer(&message.payload);
                self.answers
                    .spawn(async move { publish(answer.await).await })
            }
        };
    }
}

/// Answers an ask for the WIT of what `address` serves.
fn describe((runtime, client, address): &(Arc<Runtime>, Client, String), message: Message) {
    if let Ok(bytes) = runtime.describe(address) {
        reply(client, message, bytes);
    }
}

/// Publishes `payload` to the message's reply subject, if it has one.
fn reply(client: &Client, message: Message, payload: Vec<u8>) {
    if let Some(to) = message.reply {
        let client = client.clone();
        tokio::spawn(async move { client.publish(to, payload.into()).await });
    }
}

impl Serving {
    /// What this host serves, as it announced it.
    pub fn info(&self) -> &HostInfo {
        &self.info
    }

    /// How many calls it has answered.
    pub fn answered(&self) -> u64 {
        self.counts.answered.load(Ordering::Relaxed)
    }

    /// How many messages it dropped because they were not calls.
    pub fn dropped(&self) -> u64 {
        self.counts.dropped.load(Ordering::Relaxed)
    }

    /// Stops taking calls, answers those already sent to this host (for
    /// at most `within`), and announces that it stopped.
    pub fn stop(mut self, within: Duration) -> Stopped {
        let _ = self.stop.send(true);
        let loops = std::mem::take(&mut self.loops);
        let answers = self.answers.clone();
        let client = self.client.clone();
        let mut info = self.info.clone();
        info.serving = false;
        // Without a server the subscriptions cannot drain: only the calls
        // already taken are waited for.
        let connected = client.connection_state() == async_nats::connection::State::Connected;
        let drained = self.handle.block_on(async move {
            let drained = tokio::time::timeout(within, async {
                for subscription in loops {
                    if !connected {
                        subscription.abort();
                    }
                    let _ = subscription.await;
                }
                answers.close();
                answers.wait().await;
            })
            .await
            .is_ok();
            // Best effort: a server that is gone must not hold up the stop.
            let _ = tokio::time::timeout(ANNOUNCE_WITHIN, async {
                let _ = client
                    .publish(ANNOUNCE_SUBJECT, info.to_json().into())
                    .await;
                let _ = client.flush().await;
            })
            .await;
            drained
        });
        Stopped {
            drained,
            answered: self.answered(),
        }
    }
}

/// How a host stopped serving.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stopped {
    /// Whether every call sent to it was answered in time.
    pub drained: bool,
    /// How many calls it answered in all.
    pub answered: u64,
}

impl Drop for Serving {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
    }
}
