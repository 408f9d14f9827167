//! NATS for iso hosts: a [`Transport`] that carries calls over a NATS
//! connection, and [`Nats::serve`], which answers the calls sent to a
//! runtime's apps. Several hosts serving one address share its calls: each
//! subscribes to the address's subject in one queue group.
//!
//! Subjects: `iso.call.<address>` for calls (the export is in the call's
//! header), `iso.describe.<address>` for the component an address serves.
//!
//! A lost connection, a host that dies mid-call and no responder are
//! errors within the caller's time budget; the client reconnects by
//! itself. Calls are at most once: a call whose reply is lost is not sent
//! again, since the app may have made it.

use std::sync::Arc;
use std::time::Duration;

use async_nats::{Client, RequestErrorKind};
use futures_util::StreamExt;
use iso_host::runtime::{Runtime, Transport, TransportError};

/// How long connecting may take before it is an error.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// Why NATS could not be used.
#[derive(Debug, thiserror::Error)]
pub enum NatsError {
    /// No server answered at the URL.
    #[error("cannot connect to NATS at {url}: {reason}")]
    Connect {
        /// The URL.
        url: String,
        /// Why.
        reason: String,
    },
    /// A subscription was refused.
    #[error("cannot subscribe to `{subject}`: {reason}")]
    Subscribe {
        /// The subject.
        subject: String,
        /// Why.
        reason: String,
    },
    /// The threads that drive the connection could not start.
    #[error("cannot start the NATS client's threads: {0}")]
    Threads(String),
}

/// A connection to NATS, with the threads that drive it.
pub struct Nats {
    client: Client,
    tasks: tokio::runtime::Runtime,
}

/// The subject calls to `address` are sent on.
pub fn call_subject(address: &str) -> String {
    format!("iso.call.{address}")
}

/// The subject the component served under `address` is asked on.
pub fn describe_subject(address: &str) -> String {
    format!("iso.describe.{address}")
}

impl Nats {
    /// Connects to the server at `url` (e.g. `nats://127.0.0.1:4222`).
    pub fn connect(url: &str) -> Result<Nats, NatsError> {
        let tasks = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("iso-nats")
            .enable_all()
            .build()
            .map_err(|err| NatsError::Threads(err.to_string()))?;
        let failed = |reason: String| NatsError::Connect {
            url: url.to_owned(),
            reason,
        };
        let connecting = async_nats::ConnectOptions::new()
            .connection_timeout(CONNECT_TIMEOUT)
            .connect(url);
        let client = tasks
            .block_on(connecting)
            .map_err(|err| failed(err.to_string()))?;
        Ok(Nats { client, tasks })
    }

    /// Answers the calls sent to each address `runtime` runs now, in the
    /// queue group of the address, so that hosts serving one address
    /// share its calls. Bytes that do not read as a call are answered with
    /// an error, and the host goes on.
    pub fn serve(&self, runtime: Arc<Runtime>) -> Result<(), NatsError> {
        let addresses: Vec<String> = runtime.addresses().map(str::to_owned).collect();
        for address in addresses {
            self.serve_calls(runtime.clone(), &address)?;
            self.serve_description(runtime.clone(), &address)?;
        }
        self.tasks
            .block_on(self.client.flush())
            .map_err(|err| NatsError::Subscribe {
                subject: "(flush)".into(),
                reason: err.to_string(),
            })
    }

    fn serve_calls(&self, runtime: Arc<Runtime>, address: &str) -> Result<(), NatsError> {
        let subject = call_subject(address);
        let mut calls = self.subscribe(&subject, address)?;
        let client = self.client.clone();
        self.tasks.spawn(async move {
            while let Some(message) = calls.next().await {
                let Some(reply) = message.reply else { continue };
                let answer = runtime.answer(&message.payload);
                let client = client.clone();
                tokio::spawn(async move {
                    let _ = client.publish(reply, answer.await.into()).await;
                });
            }
        });
        Ok(())
    }

    fn serve_description(&self, runtime: Arc<Runtime>, address: &str) -> Result<(), NatsError> {
        let subject = describe_subject(address);
        let mut asks = self.subscribe(&subject, address)?;
        let client = self.client.clone();
        let address = address.to_owned();
        self.tasks.spawn(async move {
            while let Some(message) = asks.next().await {
                let (Some(reply), Ok(bytes)) = (message.reply, runtime.describe(&address)) else {
                    continue;
                };
                let _ = client.publish(reply, bytes.to_vec().into()).await;
            }
        });
        Ok(())
    }

    fn subscribe(&self, subject: &str, address: &str) -> Result<async_nats::Subscriber, NatsError> {
        let group = format!("iso.{address}");
        let subscribing = self.client.queue_subscribe(subject.to_owned(), group);
        self.tasks
            .block_on(subscribing)
            .map_err(|err| NatsError::Subscribe {
                subject: subject.to_owned(),
                reason: err.to_string(),
            })
    }

    /// Sends `payload` on `subject` for `address`, and waits at most
    /// `timeout` for the reply.
    fn ask(
        &self,
        subject: String,
        address: &str,
        payload: Vec<u8>,
        timeout: Duration,
    ) -> Result<Vec<u8>, TransportError> {
        let client = self.client.clone();
        let asking = async move {
            tokio::time::timeout(timeout, client.request(subject, payload.into())).await
        };
        match self.tasks.block_on(asking) {
            Err(_) => Err(TransportError::TimedOut { after: timeout }),
            Ok(Ok(message)) => Ok(message.payload.to_vec()),
            Ok(Err(err)) => Err(match err.kind() {
                RequestErrorKind::NoResponders => TransportError::NoResponder {
                    address: address.to_owned(),
                },
                RequestErrorKind::TimedOut => TransportError::TimedOut { after: timeout },
                RequestErrorKind::Other => TransportError::Disconnected {
                    reason: err.to_string(),
                },
                _ => TransportError::Refused {
                    reason: err.to_string(),
                },
            }),
        }
    }
}

impl Transport for Nats {
    fn request(
        &self,
        address: &str,
        request: Vec<u8>,
        timeout: Duration,
    ) -> Result<Vec<u8>, TransportError> {
        self.ask(call_subject(address), address, request, timeout)
    }

    fn describe(&self, address: &str, timeout: Duration) -> Result<Vec<u8>, TransportError> {
        self.ask(describe_subject(address), address, Vec::new(), timeout)
    }
}
