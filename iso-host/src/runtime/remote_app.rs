//! [`RemoteApp`]: an app another host serves, called from Rust as a local
//! one is, with WAVE text or values; and the one function that sends a
//! call as bytes and reads its answer, which wired remote imports use too.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use wasmtime::component::types::ComponentFunc;
use wasmtime::component::{Component, Type, Val};

use crate::app::{ExportFunc, export_funcs, func_type_of};
use crate::codec::{self, CallHeader};
use crate::error::{HostError, RemoteFailure};
use crate::instance::parse_call;
use crate::names;
use crate::runtime::Transport;
use crate::runtime::decode_description;

/// An app served by another host, known by its description: its exports
/// and their types, checked and encoded here, made there.
pub struct RemoteApp {
    address: String,
    transport: Arc<dyn Transport>,
    engine: wasmtime::Engine,
    component: Component,
    exports: Vec<ExportFunc>,
}

impl RemoteApp {
    /// Asks `transport` what `address` serves, waiting at most `timeout`.
    pub fn connect(
        transport: Arc<dyn Transport>,
        address: &str,
        timeout: Duration,
    ) -> Result<RemoteApp, HostError> {
        let failed = |failure: RemoteFailure| HostError::Remote {
            address: address.to_owned(),
            failure: Box::new(failure),
        };
        let bytes = (transport.describe(address, timeout)).map_err(|err| failed(err.into()))?;
        let (resolve, world) = decode_description(&bytes).map_err(|err| {
            failed(RemoteFailure::Codec(format!(
                "its description does not read: {err}"
            )))
        })?;
        // Only the types matter: the component is never instantiated.
        let stub = crate::stub::component_of(&resolve, world)?;
        let engine = wasmtime::Engine::default();
        let component = Component::new(&engine, stub).map_err(|err| HostError::Invalid {
            reason: format!("the description of `{address}` does not compile: {err:#}"),
        })?;
        let (exports, _) = export_funcs(&engine, &component);
        Ok(RemoteApp {
            address: address.to_owned(),
            transport,
            engine,
            component,
            exports,
        })
    }

    /// The address it is served under.
    pub fn address(&self) -> &str {
        &self.address
    }

    /// Its exported functions.
    pub fn exports(&self) -> &[ExportFunc] {
        &self.exports
    }

    /// Makes the call in WAVE text, e.g. `get("a")` or `api.put("a", 2)`
    /// (see [`names`]), and waits at most `timeout` for the answer.
    pub fn call_wave(&self, call: &str, timeout: Duration) -> Result<Option<Val>, HostError> {
        let call = call.trim();
        let (name, parsed) = parse_call(call)?;
        let export = names::resolve(&self.exports, name)?;
        let func = self.func_type(&export.name)?;
        let params: Vec<Type> = func.params().map(|(_, ty)| ty).collect();
        let args = parsed.args(call, &params, || export.signature.clone())?;
        request(
            &*self.transport,
            &self.address,
            &export.name,
            &func,
            &args,
            timeout,
        )
    }

    /// Calls the export of full name `export` with `args`, and waits at
    /// most `timeout` for the answer.
    pub fn call(
        &self,
        export: &str,
        args: &[Val],
        timeout: Duration,
    ) -> Result<Option<Val>, HostError> {
        let func = self.func_type(export)?;
        request(
            &*self.transport,
            &self.address,
            export,
            &func,
            args,
            timeout,
        )
    }

    fn func_type(&self, export: &str) -> Result<ComponentFunc, HostError> {
        func_type_of(&self.engine, &self.component, export).ok_or_else(|| HostError::NoSuchExport {
            name: export.to_owned(),
            available: self.exports.iter().map(|e| e.signature.clone()).collect(),
        })
    }
}

/// Sends the call of `export` (of type `func`) with `params` to the host
/// that serves `address`, and reads its answer: the result, or why there
/// is none.
pub(crate) fn request(
    transport: &dyn Transport,
    address: &str,
    export: &str,
    func: &ComponentFunc,
    params: &[Val],
    timeout: Duration,
) -> Result<Option<Val>, HostError> {
    let failed = |failure: RemoteFailure| HostError::Remote {
        address: address.to_owned(),
        failure: Box::new(failure),
    };
    let codec_failed =
        |what: &str, err: codec::CodecError| failed(RemoteFailure::Codec(format!("{what}: {err}")));
    let param_types: Vec<Type> = func.params().map(|(_, ty)| ty).collect();
    let result_types: Vec<Type> = func.results().collect();
    let deadline = SystemTime::now() + timeout;
    let header = CallHeader {
        id: next_call_id(),
        address: address.to_owned(),
        export: export.to_owned(),
        fuel: None,
        timeout_us: Some(timeout.as_micros() as u64),
        deadline_ms: (deadline.duration_since(UNIX_EPOCH).ok()).map(|d| d.as_millis() as u64),
    };
    let request = codec::encode_call(&header, &param_types, params)
        .map_err(|err| codec_failed("could not encode the call", err))?;
    let reply = (transport.request(address, request, timeout)).map_err(|err| failed(err.into()))?;
    let (_, answer) = codec::decode_answer(&reply, &result_types)
        .map_err(|err| codec_failed("the answer does not read", err))?;
    // Component functions return at most one value.
    answer
        .map(|values| values.into_iter().next())
        .map_err(|err| failed(err.into()))
}

/// A number no remote call of this process had before.
fn next_call_id() -> u64 {
    static CALLS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
    CALLS.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
}
