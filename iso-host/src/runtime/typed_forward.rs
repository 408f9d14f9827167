//! The fast path of a wired import: for the signatures listed below, the
//! forwarder is a typed host function (`func_wrap`) that calls the
//! callee's typed export, so no [`Val`](wasmtime::component::Val) is built
//! on either side. A wired call through the dynamic forwarder cost about
//! twice the two raw typed calls it is made of, most of it in wasmtime's
//! lifting and lowering of `Val`s for a dynamic host function.
//!
//! Any other signature takes the dynamic forwarder (see the forward module).

use std::sync::{Arc, Mutex};

use wasmtime::StoreContextMut;
use wasmtime::component::types::ComponentFunc;
use wasmtime::component::{ComponentNamedList, Lift, LinkerInstance, Lower, Type, Val};

use crate::host::{HostState, lock};
use crate::instance::TypedExport;
use crate::runtime::actor::Served;
use crate::runtime::forward::{self, CalleeFailed};

/// A Rust type the fast path passes, the WIT type it stands for, and its
/// [`Val`] (for a call that is recorded, replayed, mirrored to a shadow or
/// sent to a canary).
trait Wire: Sized {
    fn is(ty: &Type) -> bool;
    fn to_val(&self) -> Val;
    fn from_val(val: Val) -> Option<Self>;
}

/// Implements [`Wire`] for Rust types that stand for a WIT type without parameters.
macro_rules! wire {
    ($($rust:ty => $wit:ident),* $(,)?) => {
        $(impl Wire for $rust {
            fn is(ty: &Type) -> bool {
                matches!(ty, Type::$wit)
            }
            fn to_val(&self) -> Val {
                Val::$wit(self.clone())
            }
            fn from_val(val: Val) -> Option<Self> {
                match val {
                    Val::$wit(value) => Some(value),
                    _ => None,
                }
            }
        })*
    };
}

wire!(bool => Bool, u32 => U32, u64 => U64, String => String);

impl<T: Wire> Wire for Option<T> {
    fn is(ty: &Type) -> bool {
        matches!(ty, Type::Option(option) if T::is(&option.ty()))
    }
    fn to_val(&self) -> Val {
        Val::Option(self.as_ref().map(|value| Box::new(value.to_val())))
    }
    fn from_val(val: Val) -> Option<Self> {
        match val {
            Val::Option(None) => Some(None),
            Val::Option(Some(value)) => T::from_val(*value).map(Some),
            _ => None,
        }
    }
}

/// A parameter or result list of [`Wire`] types.
trait WireList: Sized {
    fn are(types: &[Type]) -> bool;
    fn to_vals(&self) -> Vec<Val>;
    /// The list from a function's one result (or none).
    fn from_result(result: Option<Val>) -> Option<Self>;
}

impl WireList for () {
    fn are(types: &[Type]) -> bool {
        types.is_empty()
    }
    fn to_vals(&self) -> Vec<Val> {
        Vec::new()
    }
    fn from_result(_: Option<Val>) -> Option<Self> {
        Some(())
    }
}

impl<A: Wire> WireList for (A,) {
    fn are(types: &[Type]) -> bool {
        matches!(types, [a] if A::is(a))
    }
    fn to_vals(&self) -> Vec<Val> {
        vec![self.0.to_val()]
    }
    fn from_result(result: Option<Val>) -> Option<Self> {
        A::from_val(result?).map(|a| (a,))
    }
}

impl<A: Wire, B: Wire> WireList for (A, B) {
    fn are(types: &[Type]) -> bool {
        matches!(types, [a, b] if A::is(a) && B::is(b))
    }
    fn to_vals(&self) -> Vec<Val> {
        vec![self.0.to_val(), self.1.to_val()]
    }
    fn from_result(_: Option<Val>) -> Option<Self> {
        None
    }
}

macro_rules! covered {
    ($($params:ty => $results:ty),* $(,)?) => {
        /// Defines `func` in `linker` as a typed forwarder to `export` of
        /// `callee` when its type `ty` is one the fast path covers; whether it did.
        pub(crate) fn define(
            linker: &mut LinkerInstance<'_, HostState>,
            func: &str,
            ty: &ComponentFunc,
            callee: &Arc<Served>,
            provider: &str,
            export: &str,
        ) -> wasmtime::Result<bool> {
            let params: Vec<Type> = ty.params().map(|(_, ty)| ty).collect();
            let results: Vec<Type> = ty.results().collect();
            $(
                if <$params as WireList>::are(&params) && <$results as WireList>::are(&results) {
                    let forward = forwarder::<$params, $results>(callee.clone(), ty, provider, export);
                    linker.func_wrap(func, forward)?;
                    return Ok(true);
                }
            )*
            Ok(false)
        }
    };
}

covered!(
    () => (),
    () => (u32,),
    () => (u64,),
    () => (bool,),
    (u32,) => (),
    (u64,) => (),
    (u32,) => (u32,),
    (u64,) => (u64,),
    (String,) => (),
    (String,) => (u32,),
    (String,) => (u64,),
    (String,) => (bool,),
    (String,) => (String,),
    (String,) => (Option<u32>,),
    (String,) => (Option<u64>,),
    (String,) => (Option<String>,),
    (String, u32) => (),
    (String, u64) => (),
    (String, String) => (),
);

/// The typed host function that calls `export` on `callee` with the
/// caller's parameters.
fn forwarder<P, R>(
    callee: Arc<Served>,
    ty: &ComponentFunc,
    provider: &str,
    export: &str,
) -> impl Fn(StoreContextMut<'_, HostState>, P) -> wasmtime::Result<R> + Send + Sync + 'static
where
    P: ComponentNamedList + Lift + Lower + WireList + Send + Sync + 'static,
    R: ComponentNamedList + Lift + Lower + WireList + Send + Sync + 'static,
{
    let (provider, export, ty) = (provider.to_owned(), export.to_owned(), ty.clone());
    // Looked up on the first call, and again whenever the callee's store
    // changed (a restart, a swap, another instance of a pool).
    let handle: Mutex<Option<TypedExport<P, R>>> = Mutex::new(None);
    move |mut caller, params: P| {
        // Recorded, replayed, mirrored to a shadow or sent to a canary:
        // through `Val`s, slower, but only while the caller is watched or
        // the callee has a candidate.
        if caller.data().shared.watched() || callee.candidate().is_some() {
            let vals = params.to_vals();
            let result = forward::call_vals(&mut caller, &callee, &provider, &export, &ty, &vals)?;
            return R::from_result(result)
                .ok_or_else(|| wasmtime::format_err!("`{export}` answered with another type"));
        }
        let (results, usage) = callee
            .lock_any()
            .call(|instance| {
                let mut cached = lock(&handle);
                let mut typed = match cached.take() {
                    Some(typed) => typed,
                    None => instance.typed::<P, R>(&export)?,
                };
                let output = instance.call_typed(&mut typed, params);
                *cached = Some(typed);
                output
            })
            .map_err(|error| CalleeFailed {
                address: provider.clone(),
                export: export.clone(),
                error,
            })?;
        caller.data_mut().callees.add(&usage);
        Ok(results)
    }
}
