//! A wired import: a host function in the caller's linker that forwards
//! the caller's [`Val`]s to the callee's instance and hands back its
//! result, for signatures the typed forwarders (see the `typed_forward`
//! module) do not cover. The callee's actors are found when the caller is
//! linked: they stay the same across the callee's swaps, and cannot stop
//! while the caller runs. The call runs on the caller's worker, under the
//! callee's lock (see the actor module). The callee runs in its own store
//! under its own budget; its failure comes back to the caller as
//! [`CalleeFailed`], which the caller's instance turns into
//! [`HostError::CalleeFailed`], unless the function returns a
//! `result<_, string>`: then the guest gets the failure as its error text
//! and decides (see [`failure_as_result`]).

use std::sync::Arc;

use wasmtime::StoreContextMut;
use wasmtime::component::{Type, Val, types::ComponentFunc};

use crate::error::HostError;
use crate::host::HostState;
use crate::instance::CallOutput;
use crate::runtime::actor::Served;
use crate::runtime::candidate::{self, Candidate, Request, Route};
use crate::runtime::nested;

/// A callee's failure, on its way back through the caller's store.
#[derive(Debug, thiserror::Error)]
#[error("`{address}` failed in `{export}`: {error}")]
pub(crate) struct CalleeFailed {
    pub(crate) address: String,
    pub(crate) export: String,
    pub(crate) error: HostError,
}

/// The host function for one imported function: calls `export` (a full
/// name, e.g. `local:store/api@0.1.0#get`) on the instance at `provider`.
pub(crate) fn forwarder(
    callee: Arc<Served>,
    provider: String,
    export: String,
) -> impl Fn(StoreContextMut<'_, HostState>, ComponentFunc, &[Val], &mut [Val]) -> wasmtime::Result<()>
+ Send
+ Sync
+ 'static {
    move |mut caller, ty, params, results| {
        let result = call_vals(&mut caller, &callee, &provider, &export, &ty, params);
        deliver(&ty, result, results)
    }
}

/// Makes a wired call with `Val`s: recorded or replayed when the caller is
/// watched, else on the callee directly (mirrored to its shadow, if any).
pub(crate) fn call_vals(
    caller: &mut StoreContextMut<'_, HostState>,
    callee: &Served,
    provider: &str,
    export: &str,
    ty: &ComponentFunc,
    params: &[Val],
) -> Result<Option<Val>, CalleeFailed> {
    match caller.data().shared.watched() {
        true => nested::call(caller, callee, provider, export, ty, params),
        false => direct(caller, callee, provider, export, params),
    }
}

/// Puts a wired call's result in the caller's `results`; a failure goes
/// to the guest as its error where the function returns
/// `result<_, string>`, else fails the caller's call.
pub(crate) fn deliver(
    ty: &ComponentFunc,
    result: Result<Option<Val>, CalleeFailed>,
    results: &mut [Val],
) -> wasmtime::Result<()> {
    match result {
        Ok(value) => {
            if let (Some(slot), Some(value)) = (results.first_mut(), value) {
                *slot = value;
            }
            Ok(())
        }
        Err(failure) => match failure_as_result(ty, &failure) {
            Some(value) => {
                results[0] = value;
                Ok(())
            }
            None => Err(failure.into()),
        },
    }
}

/// Calls `export` on the callee, and counts what it used as the caller's.
fn direct(
    caller: &mut StoreContextMut<'_, HostState>,
    callee: &Served,
    provider: &str,
    export: &str,
    params: &[Val],
) -> Result<Option<Val>, CalleeFailed> {
    let output = on_callee(callee, export, params).map_err(|error| CalleeFailed {
        address: provider.to_owned(),
        export: export.to_owned(),
        error,
    })?;
    caller.data_mut().callees.add(&output.usage);
    Ok(output.into_result())
}

/// Makes a wired call of `export` on the callee's canary, if it has one
/// that takes the call's key, else on the primary, mirrored to its
/// shadow if it has one.
pub(crate) fn on_callee(
    callee: &Served,
    export: &str,
    params: &[Val],
) -> Result<CallOutput, HostError> {
    // On this thread: cycles are refused, so the locks taken along a
    // chain of wired calls never wait on each other in a circle.
    let Some(candidate) = callee.candidate() else {
        return callee
            .lock_any()
            .call(|instance| instance.call(export, params));
    };
    let request = Request::Vals {
        name: export.to_owned(),
        args: params.to_vec(),
    };
    match Candidate::route(Some(candidate), &request) {
        Route {
            canary: Some((canary, _)),
            ..
        } => canary.lock().call(|instance| request.run(instance)),
        Route { shadow, .. } => candidate::serve_wired(&mut callee.lock_any(), request, shadow),
    }
}

/// The callee's failure as the guest's own error value, when the function
/// returns `result<_, string>`: the WIT says the caller handles failures.
fn failure_as_result(ty: &ComponentFunc, failure: &CalleeFailed) -> Option<Val> {
    let mut results = ty.results();
    match (results.next(), results.next()) {
        (Some(Type::Result(result)), None) if matches!(result.err(), Some(Type::String)) => {
            let message = Val::String(failure.to_string());
            Some(Val::Result(Err(Some(Box::new(message)))))
        }
        _ => None,
    }
}
