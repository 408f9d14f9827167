//! Remote(X): an app that another host serves, used exactly like a local
//! one. Calls travel as bytes (see [`codec`](crate::codec)) over a
//! [`Transport`], which is all a messaging system has to provide: this
//! crate has no networking code. A host answers the calls it is sent with
//! [`Runtime::answer`], and describes what it serves with
//! [`Runtime::describe`]; an importer wired with
//! [`Wiring::remote`](super::Wiring::remote) is checked against that
//! description when it starts, and each call it makes waits at most its
//! time budget (30 s without one).

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use wasmtime::StoreContextMut;
use wasmtime::component::types::ComponentFunc;
use wasmtime::component::{Type, Val};

use crate::codec::{self, AnswerHeader, RemoteError};
use crate::error::{BudgetKind, HostError};
use crate::host::HostState;
use crate::runtime::candidate::{self, Candidate};
use crate::runtime::forward::{CalleeFailed, deliver};
use crate::runtime::remote_app::request;
use crate::runtime::{Request, Runtime, block_on};

/// How long a remote call waits when its caller has no time budget.
pub const DEFAULT_REMOTE_TIMEOUT: Duration = Duration::from_secs(30);

/// Carries request bytes to the host that serves an address, and the
/// reply back. Implement it for a messaging system; [`InProcess`] is one
/// in memory.
pub trait Transport: Send + Sync {
    /// Sends `request` to whoever serves `address`, and waits at most
    /// `timeout` for the reply.
    fn request(
        &self,
        address: &str,
        request: Vec<u8>,
        timeout: Duration,
    ) -> Result<Vec<u8>, TransportError>;

    /// The component served under `address` (see [`Runtime::describe`]),
    /// to check an import against its WIT.
    fn describe(&self, address: &str, timeout: Duration) -> Result<Vec<u8>, TransportError>;
}

/// Why a transport could not carry a call.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TransportError {
    /// Nobody serves the address.
    #[error("no host serves `{address}`")]
    NoResponder {
        /// The address.
        address: String,
    },
    /// No reply came in time.
    #[error("no reply within {after:?}")]
    TimedOut {
        /// How long it waited.
        after: Duration,
    },
    /// The connection is gone.
    #[error("disconnected: {reason}")]
    Disconnected {
        /// Why.
        reason: String,
    },
    /// The transport would not carry the call (too large, say).
    #[error("refused: {reason}")]
    Refused {
        /// Why.
        reason: String,
    },
}

/// A transport within one process, to runtimes it was given: for tests,
/// and for hosts that want the remote path without a network.
#[derive(Default)]
pub struct InProcess {
    hosts: RwLock<HashMap<String, Arc<Runtime>>>,
}

impl InProcess {
    /// An empty transport.
    pub fn new() -> InProcess {
        InProcess::default()
    }

    /// Serves every address of `runtime` (as it runs now) through this transport.
    pub fn serve(&self, runtime: Arc<Runtime>) {
        let mut hosts = self.hosts.write().unwrap_or_else(|e| e.into_inner());
        for address in runtime.addresses() {
            hosts.insert(address.to_owned(), runtime.clone());
        }
    }

    fn host(&self, address: &str) -> Result<Arc<Runtime>, TransportError> {
        let hosts = self.hosts.read().unwrap_or_else(|e| e.into_inner());
        hosts
            .get(address)
            .cloned()
            .ok_or_else(|| TransportError::NoResponder {
                address: address.to_owned(),
            })
    }
}

impl Transport for InProcess {
    fn request(
        &self,
        address: &str,
        request: Vec<u8>,
        _: Duration,
    ) -> Result<Vec<u8>, TransportError> {
        Ok(block_on(self.host(address)?.answer(&request)))
    }

    fn describe(&self, address: &str, _: Duration) -> Result<Vec<u8>, TransportError> {
        let host = self.host(address)?;
        host.describe(address)
            .map_err(|_| TransportError::NoResponder {
                address: address.to_owned(),
            })
    }
}

impl Runtime {
    /// Answers a call that came as bytes (see [`codec`](crate::codec)):
    /// reads it, makes it under the budget it names (within the app's),
    /// and returns the answer as bytes, a failure included. Bytes that do
    /// not read are answered with [`RemoteError::BadRequest`].
    pub fn answer(&self, request: &[u8]) -> impl Future<Output = Vec<u8>> + Send + 'static + use<> {
        let sent = self.answer_call(request);
        async move {
            let (id, types, answer) = match sent {
                Ok((id, types, call)) => {
                    let answer = call
                        .await
                        .map(|output| output.into_result().into_iter().collect());
                    (id, types, answer.map_err(|err| remote_error(&err)))
                }
                Err((id, error)) => (id, Vec::new(), Err(error)),
            };
            encoded_answer(id, &types, &answer)
        }
    }

    /// Answers a call that came as bytes, as [`Runtime::answer`] does, but
    /// on this thread, if the instance it is for is free now: `None` when
    /// it is not (it is busy, has calls waiting, is a pool, or a canary
    /// takes some of its calls), and then [`Runtime::answer`] is the way.
    /// A transport saves two thread hops per call this way; it must not
    /// mind waiting for the call, which is under its time budget.
    pub fn try_answer_here(&self, request: &[u8]) -> Option<Vec<u8>> {
        let (header, args) = codec::decode_call_header(request).ok()?;
        let served = self.served(&header.address).ok()?;
        let [actor] = served.actors() else {
            return None;
        };
        let app = self.app(&header.address).ok()?;
        let func = app.func_type(&header.export)?;
        let params: Vec<Type> = func.params().map(|(_, ty)| ty).collect();
        let args = codec::decode_values(&params, args).ok()?;
        let request_of = Request::Vals {
            name: header.export.clone(),
            args,
        };
        let route = Candidate::route(served.candidate(), &request_of);
        if route.canary.is_some() {
            return None;
        }
        let log = self.logging(&header.address, &None);
        let mut supervised = actor.try_lock_idle()?;
        let output = candidate::serve(&mut supervised, request_of, route.shadow, log);
        let answer = output
            .map(|output| output.into_result().into_iter().collect())
            .map_err(|err| remote_error(&err));
        let results: Vec<Type> = func.results().collect();
        let answer = encoded_answer(header.id, &results, &answer);
        // What the worker does after each answer: logging the call, and
        // mirroring it to a shadow.
        supervised.run_after_answer();
        Some(answer)
    }

    /// Reads a call and sends it: its id, result types and answer; or why not.
    #[allow(clippy::type_complexity)]
    fn answer_call(
        &self,
        request: &[u8],
    ) -> Result<
        (
            u64,
            Vec<Type>,
            impl Future<Output = Result<crate::CallOutput, HostError>> + use<>,
        ),
        (u64, RemoteError),
    > {
        let bad = |id, err: codec::CodecError| (id, RemoteError::BadRequest(err.to_string()));
        let (header, args) = codec::decode_call_header(request).map_err(|err| bad(0, err))?;
        let id = header.id;
        let app = (self.app(&header.address))
            .map_err(|_| (id, RemoteError::NoSuchAddress(header.address.clone())))?;
        let func = (app.func_type(&header.export))
            .ok_or_else(|| (id, RemoteError::NoSuchExport(header.export.clone())))?;
        let params: Vec<Type> = func.params().map(|(_, ty)| ty).collect();
        let args = codec::decode_values(&params, args).map_err(|err| bad(id, err))?;
        let results = func.results().collect();
        Ok((
            id,
            results,
            self.call(&header.address, &header.export, args),
        ))
    }

    /// The WIT of what `address` serves, encoded as a WIT package (a few
    /// KiB, where the component may take megabytes), for a remote
    /// importer to check its import against.
    pub fn describe(&self, address: &str) -> Result<Vec<u8>, HostError> {
        let running = (self.running.get(address)).ok_or_else(|| super::no_such_address(address))?;
        let package = running.resolve.worlds[running.world].package;
        let encoded = package.map(|package| wit_component::encode(&running.resolve, package));
        match encoded {
            Some(Ok(bytes)) => Ok(bytes),
            Some(Err(err)) => Err(HostError::Invalid {
                reason: format!("could not describe `{address}`: {err:#}"),
            }),
            None => Err(HostError::Invalid {
                reason: format!("`{address}`'s world belongs to no package"),
            }),
        }
    }
}

/// The answer to call `id` as bytes; if it cannot be encoded, that failure.
fn encoded_answer(id: u64, types: &[Type], answer: &Result<Vec<Val>, RemoteError>) -> Vec<u8> {
    let header = AnswerHeader { id };
    codec::encode_answer(&header, types, answer).unwrap_or_else(|err| {
        let error = Err(RemoteError::Other(format!(
            "could not encode the answer: {err}"
        )));
        codec::encode_answer(&header, &[], &error).unwrap_or_default()
    })
}

/// The failure of a call, as it travels.
fn remote_error(err: &HostError) -> RemoteError {
    match err {
        HostError::BudgetExceeded { kind, .. } => RemoteError::BudgetExceeded {
            kind: match kind {
                BudgetKind::Fuel => "fuel",
                BudgetKind::Memory => "memory",
                BudgetKind::Time => "time",
                BudgetKind::Storage => "storage",
            }
            .into(),
            detail: err.to_string(),
        },
        HostError::Trap { message, .. } => RemoteError::Trap(message.clone()),
        HostError::GuestPanic { message, .. } => RemoteError::Panic(message.clone()),
        HostError::Stopped { .. } => RemoteError::Stopped(err.to_string()),
        other => RemoteError::Other(other.to_string()),
    }
}

/// The host function for one function of an import filled by a remote
/// app: sends the call as bytes over `transport`, waits at most
/// `timeout`, and hands back the results or the failure.
pub(crate) fn remote_forwarder(
    transport: Arc<dyn Transport>,
    address: String,
    export: String,
    timeout: Duration,
) -> impl Fn(StoreContextMut<'_, HostState>, ComponentFunc, &[Val], &mut [Val]) -> wasmtime::Result<()>
+ Send
+ Sync
+ 'static {
    move |_caller, ty, params, results| {
        let answer = request(&*transport, &address, &export, &ty, params, timeout);
        let answer = answer.map_err(|error| CalleeFailed {
            address: address.clone(),
            export: export.clone(),
            error,
        });
        deliver(&ty, answer, results)
    }
}
