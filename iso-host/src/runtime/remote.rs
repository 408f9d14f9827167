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
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use wasmtime::StoreContextMut;
use wasmtime::component::types::ComponentFunc;
use wasmtime::component::{Type, Val};

use crate::codec::{self, AnswerHeader, RemoteError};
use crate::error::HostError;
use crate::host::HostState;
use crate::instance::CallOutput;
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
#[non_exhaustive]
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
    /// reads it, makes it under the app's budget, and returns the answer
    /// as bytes, a failure included. Bytes that do not read are answered
    /// with [`RemoteError::BadRequest`], and one of a host-own export
    /// (`iso:app/state`, `iso:app/tests`) with [`RemoteError::NoSuchExport`];
    /// a call whose caller's deadline
    /// has passed is answered with a time budget exceeded, not made.
    pub fn answer(&self, request: &[u8]) -> impl Future<Output = Vec<u8>> + Send + 'static + use<> {
        let sent = self.read_call(request).map(|call| {
            let answer = self.call_before(&call.address, &call.export, call.args, call.deadline_ms);
            (call.id, call.results, answer)
        });
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

    /// [`Runtime::call`], unless the caller's deadline (`deadline_ms`)
    /// passes while the call waits its turn in the mailbox: then it is not
    /// made, and fails with [`HostError::DeadlinePassed`].
    fn call_before(
        &self,
        address: &str,
        name: &str,
        args: Vec<Val>,
        deadline_ms: Option<u64>,
    ) -> impl Future<Output = Result<CallOutput, HostError>> + Send + 'static + use<> {
        let request = Request::Vals {
            name: name.to_owned(),
            args,
        };
        let answer = self.served(address).map(|served| {
            self.send(
                served,
                address,
                request,
                move |supervised, request, shadow, log| {
                    if passed(deadline_ms) {
                        return Err(HostError::DeadlinePassed);
                    }
                    candidate::serve(supervised, request, shadow, log)
                },
            )
        });
        async move { answer?.await? }
    }

    /// Answers a call that came as bytes, as [`Runtime::answer`] does, but
    /// on this thread, if that is safe and quick to do now: `None` when
    /// the instance is busy or has calls waiting, the address is a pool,
    /// this call goes to a canary, the app has no time budget (the call
    /// could hold this thread for ever), or the runtime has a transport
    /// (a call could wait on it from this thread); then
    /// [`Runtime::answer`] is the way. A transport saves the two thread
    /// hops to a worker and back this way.
    pub fn try_answer_here(&self, request: &[u8]) -> Option<Vec<u8>> {
        if self.transport.is_some() {
            return None;
        }
        let call = self.read_call(request).ok()?;
        let running = self.running.get(&call.address)?;
        running.budget.timeout?;
        let served = self.served(&call.address).ok()?;
        let [actor] = served.actors() else {
            return None;
        };
        let request = Request::Vals {
            name: call.export,
            args: call.args,
        };
        let route = Candidate::route(served.candidate(), &request);
        if route.canary.is_some() {
            return None;
        }
        let log = self.logging(&call.address, &None);
        let mut supervised = actor.try_lock_idle()?;
        let output = candidate::serve(&mut supervised, request, route.shadow, log);
        let answer = output
            .map(|output| output.into_result().into_iter().collect())
            .map_err(|err| remote_error(&err));
        let answer = encoded_answer(call.id, &call.results, &answer);
        // What the worker does once the caller has its answer (logging the
        // call, mirroring it to a shadow), done here before it is sent:
        // a few hundred nanoseconds.
        supervised.run_after_answer();
        Some(answer)
    }

    /// Reads a call: what to call with what, and the types of its result;
    /// or, with the call's id, why it will not be made.
    fn read_call(&self, request: &[u8]) -> Result<ReadCall, (u64, RemoteError)> {
        let bad = |id, err: codec::CodecError| (id, RemoteError::BadRequest(err.to_string()));
        let (header, args) = codec::decode_call_header(request).map_err(|err| bad(0, err))?;
        let id = header.id;
        if passed(header.deadline_ms) {
            return Err((
                id,
                RemoteError::BudgetExceeded {
                    kind: "time".into(),
                    detail: "the caller's deadline passed before the call could be made".into(),
                },
            ));
        }
        let app = (self.app(&header.address))
            .map_err(|_| (id, RemoteError::NoSuchAddress(header.address.clone())))?;
        // Only the app's own exports are served: the host's `iso:app`
        // interfaces (its state, its tests) are never answered for another host.
        let own = (app.user_exports()).any(|export| export.name == header.export);
        let func = (app.func_type(&header.export).filter(|_| own))
            .ok_or_else(|| (id, RemoteError::NoSuchExport(header.export.clone())))?;
        let params: Vec<Type> = func.params().map(|(_, ty)| ty).collect();
        let args = codec::decode_values(&params, args).map_err(|err| bad(id, err))?;
        Ok(ReadCall {
            id,
            address: header.address,
            export: header.export,
            args,
            results: func.results().collect(),
            deadline_ms: header.deadline_ms,
        })
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

/// A call read from its bytes.
struct ReadCall {
    id: u64,
    address: String,
    export: String,
    args: Vec<Val>,
    results: Vec<Type>,
    /// When the caller stops waiting, in milliseconds since the Unix epoch.
    deadline_ms: Option<u64>,
}

/// Whether `deadline_ms` (milliseconds since the Unix epoch) has passed.
fn passed(deadline_ms: Option<u64>) -> bool {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    deadline_ms.is_some_and(|ms| u128::from(ms) < now.as_millis())
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
            kind: kind.name().into(),
            detail: err.to_string(),
        },
        HostError::Trap { message, .. } => RemoteError::Trap(message.clone()),
        HostError::GuestPanic { message, .. } => RemoteError::Panic(message.clone()),
        HostError::Stopped { .. } => RemoteError::Stopped(err.to_string()),
        HostError::DeadlinePassed => RemoteError::BudgetExceeded {
            kind: "time".into(),
            detail: err.to_string(),
        },
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
