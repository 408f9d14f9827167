//! Wired calls under a watching [`Session`](crate::Session): each call an
//! app makes to another is recorded as an effect of the caller's call,
//! with its arguments and its answer, and a replay answers it from that
//! recording instead of calling the other app. So the history shows the
//! calls each call made, and an app that calls others replays on its own,
//! without touching them. Unwatched calls never come here: the forwarders
//! check [`Shared::watched`](crate::host::Shared::watched) first.

use wasmtime::StoreContextMut;
use wasmtime::component::types::ComponentFunc;
use wasmtime::component::{Type, Val, wasm_wave};

use crate::error::HostError;
use crate::host::{HostState, lock};
use crate::instance::wave;
use crate::runtime::actor::Served;
use crate::runtime::forward::{self, CalleeFailed};

/// Calls `export` (a full name) of `provider` with `params`, or answers
/// from the recording when replaying; notes the call either way.
pub(crate) fn call(
    caller: &mut StoreContextMut<'_, HostState>,
    callee: &Served,
    provider: &str,
    export: &str,
    ty: &ComponentFunc,
    params: &[Val],
) -> Result<Option<Val>, CalleeFailed> {
    let function = export.rsplit('#').next().unwrap_or(export);
    let args: Vec<String> = params.iter().map(wave).collect();
    let args = args.join(", ");
    let effects = caller.data().shared.effects.clone();
    let failed = |error| CalleeFailed {
        address: provider.to_owned(),
        export: export.to_owned(),
        error,
    };
    let replayed = lock(&effects).replayed_call(provider, function, &args);
    if let Some(recorded) = replayed {
        let failure = |failure| failed(HostError::Recorded { failure });
        let result = recorded.map_err(failure)?;
        return result_from_wave(ty, result.as_deref()).map_err(failure);
    }
    // The callee's lock is taken with the caller's effects unlocked.
    let output = forward::on_callee(callee, export, params);
    let result = match output {
        Ok(output) => {
            caller.data_mut().callees.add(&output.usage);
            Ok(output.into_result())
        }
        Err(error) => Err(error),
    };
    let noted = match &result {
        Ok(value) => Ok(value.as_ref().map(wave)),
        Err(error) => Err(error.to_string()),
    };
    lock(&effects).note_call(provider, function, &args, noted);
    result.map_err(failed)
}

/// The recorded result, read back as the function's result type.
fn result_from_wave(ty: &ComponentFunc, text: Option<&str>) -> Result<Option<Val>, String> {
    let result_type: Option<Type> = ty.results().next();
    match (result_type, text) {
        (None, _) => Ok(None),
        (Some(ty), Some(text)) => wasm_wave::from_str::<Val>(&ty, text)
            .map(Some)
            .map_err(|e| {
                format!("the recorded result `{text}` no longer reads as the result type: {e}")
            }),
        (Some(_), None) => {
            Err("the recorded call returned nothing; the function now returns a value".into())
        }
    }
}
