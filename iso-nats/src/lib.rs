//! NATS for iso hosts: a [`Transport`] that carries calls over a NATS
//! connection ([`Nats`]), [`Nats::serve`], which answers the calls sent to
//! a runtime's apps, and [`Nats::lattice`], which lists the hosts that
//! serve and what they serve.
//!
//! Subjects:
//! - `iso.call.<address>`: calls, in the component-model value encoding
//!   of [`iso_host::codec`] (the export is in the call's header). Every
//!   host that serves an address subscribes in the queue group
//!   `iso.<address>`, so hosts serving one address share its calls.
//! - `iso.describe.<address>`: the WIT of what the address serves, to
//!   check an import against before its first call.
//! - `iso.hosts`: every host answers with a [`HostInfo`] (JSON); a host
//!   also publishes its `HostInfo` on `iso.announce` when it starts and
//!   when it stops serving.
//!
//! A call is made on the connection's own threads when its instance is
//! free and has a time budget (two thread hops fewer than through the
//! runtime's workers: a fifth of a call's time on loopback), else through
//! the runtime's mailbox. A call that arrives after its caller's deadline
//! is answered with that failure and not made. Calls are **at most once**: a call whose answer is lost (the serving
//! host died, the connection broke) is not sent again, since the app may
//! have made it; the caller gets an error within its time budget. A lost
//! connection, a host that dies mid-call and no responder are errors,
//! never hangs; the client reconnects by itself, and a serving host's
//! subscriptions come back with the connection.

mod credentials;
mod lattice;
mod serve;

use std::time::Duration;

use async_nats::connection::State;
use async_nats::{Client, RequestErrorKind};
use iso_host::runtime::{Transport, TransportError};

pub use credentials::Credentials;
pub use lattice::{ANNOUNCE_SUBJECT, HOSTS_SUBJECT, HostInfo, ServedApp};
pub use serve::{Serving, Stopped};

/// How long connecting may take before it is an error.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// The URL used when none is given: a server on this machine.
pub const DEFAULT_URL: &str = "nats://127.0.0.1:4222";

/// Why NATS could not be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum NatsError {
    /// No server answered at the URL.
    /// The server refused the credentials (or their absence).
    #[error("NATS at {url} refused the connection (with {method}): {reason}")]
    Unauthorized {
        /// The URL, without credentials.
        url: String,
        /// How it authenticated: `user and password`, `token` or `no credentials`.
        method: &'static str,
        /// What the server said.
        reason: String,
    },
    /// No server answered at the URL.
    #[error("cannot connect to NATS at {url} (with {method}): {reason}")]
    Connect {
        /// The URL, without credentials.
        url: String,
        /// How it authenticated: `user and password`, `token` or `no credentials`.
        method: &'static str,
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
    /// A message could not be sent.
    #[error("cannot publish on `{subject}`: {reason}")]
    Publish {
        /// The subject.
        subject: String,
        /// Why.
        reason: String,
    },
    /// The threads that drive the connection could not start.
    #[error("cannot start the NATS client's threads: {0}")]
    Threads(String),
    /// An address that cannot be one token of a subject.
    #[error(
        "the address `{address}` cannot be served on NATS: {reason}; name the app (its package, or its .wasm file) with letters, digits, `-` and `_`"
    )]
    BadAddress {
        /// The address.
        address: String,
        /// What is wrong with it.
        reason: &'static str,
    },
}

/// Checks that `address` can be the last token of the subjects it is
/// served on: NATS splits subjects at `.`, reads `*` and `>` as
/// wildcards (a host serving `a*` would take every app's calls), and
/// allows no whitespace.
pub fn check_address(address: &str) -> Result<(), NatsError> {
    let reason = if address.is_empty() {
        Some("it is empty")
    } else if address.contains('.') {
        Some("a `.` would split it into two subject tokens")
    } else if address.contains(['*', '>']) {
        Some("`*` and `>` are NATS wildcards")
    } else if address.chars().any(|c| c.is_whitespace() || c.is_control()) {
        Some("it holds whitespace")
    } else {
        None
    };
    match reason {
        Some(reason) => Err(NatsError::BadAddress {
            address: address.to_owned(),
            reason,
        }),
        None => Ok(()),
    }
}

/// A connection to NATS, with the threads that drive it.
pub struct Nats {
    client: Client,
    url: String,
    tasks: tokio::runtime::Runtime,
}

/// The subject calls to `address` are sent on.
pub fn call_subject(address: &str) -> String {
    format!("iso.call.{address}")
}

/// The subject the WIT served under `address` is asked on.
pub fn describe_subject(address: &str) -> String {
    format!("iso.describe.{address}")
}

/// What happened to a connection after it was made, for a host to say.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConnectionEvent {
    /// The connection to the server is lost; the client reconnects.
    Lost,
    /// It is back after it was lost.
    Back,
}

impl Nats {
    /// Connects to the server at `url` (e.g. `nats://127.0.0.1:4222`, or
    /// with credentials `nats://user:pass@127.0.0.1:4222`).
    pub fn connect(url: &str) -> Result<Nats, NatsError> {
        Nats::connect_watched(url, Credentials::default(), |_| {})
    }

    /// [`Nats::connect`] with `credentials` over those in the URL, telling
    /// `on_event` when the connection is lost and when it is back.
    pub fn connect_watched(
        url: &str,
        credentials: Credentials,
        on_event: impl Fn(ConnectionEvent) + Send + Sync + 'static,
    ) -> Result<Nats, NatsError> {
        let (url, in_url) = Credentials::from_url(url);
        let credentials = in_url.overridden_by(credentials);
        let url = url.as_str();
        // Two: a served call is made on these threads when its instance
        // is free (see `serve`), and a long one holds one of them.
        let tasks = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("iso-nats")
            .enable_all()
            .build()
            .map_err(|err| NatsError::Threads(err.to_string()))?;
        let on_event = std::sync::Arc::new(on_event);
        let lost = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let connecting = async_nats::ConnectOptions::new()
            .event_callback(move |event| {
                let (on_event, lost) = (on_event.clone(), lost.clone());
                async move {
                    use std::sync::atomic::Ordering::Relaxed;
                    match event {
                        async_nats::Event::Disconnected if !lost.swap(true, Relaxed) => {
                            on_event(ConnectionEvent::Lost)
                        }
                        async_nats::Event::Connected if lost.swap(false, Relaxed) => {
                            on_event(ConnectionEvent::Back)
                        }
                        _ => {}
                    }
                }
            })
            .connection_timeout(CONNECT_TIMEOUT)
            // Each request has the caller's own timeout.
            .request_timeout(None);
        let connecting = credentials.apply(connecting).connect(url);
        let client = tasks.block_on(connecting).map_err(|err| {
            let (url, method, reason) = (url.to_owned(), credentials.method(), err.to_string());
            match err.kind() {
                async_nats::ConnectErrorKind::AuthorizationViolation => NatsError::Unauthorized {
                    url,
                    method,
                    reason,
                },
                _ => NatsError::Connect {
                    url,
                    method,
                    reason,
                },
            }
        })?;
        Ok(Nats {
            client,
            url: url.to_owned(),
            tasks,
        })
    }

    /// The URL it connected to.
    pub fn url(&self) -> &str {
        &self.url
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
        if let Err(err) = check_address(address) {
            return Err(TransportError::Refused {
                reason: err.to_string(),
            });
        }
        if self.client.connection_state() == State::Disconnected {
            return Err(TransportError::Disconnected {
                reason: format!("the connection to {} is lost; reconnecting", self.url),
            });
        }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn app_names_are_addresses_and_subject_syntax_is_not() {
        for good in ["store", "front-2", "bench_store", "Ünïcode"] {
            assert!(check_address(good).is_ok(), "{good}");
        }
        for (bad, why) in [
            ("", "it is empty"),
            ("store.v2", "a `.` would split it"),
            ("a*", "`*` and `>` are NATS wildcards"),
            (">", "`*` and `>` are NATS wildcards"),
            ("my store", "it holds whitespace"),
        ] {
            let err = check_address(bad).unwrap_err().to_string();
            assert!(
                err.starts_with(&format!(
                    "the address `{bad}` cannot be served on NATS: {why}"
                )),
                "{err}"
            );
            assert!(
                err.ends_with("name the app (its package, or its .wasm file) with letters, digits, `-` and `_`"),
                "{err}"
            );
        }
    }
}
