//! The fast path of [`Instance::call`](crate::Instance::call): exports whose
//! parameters and results are at most one common scalar each
//! (bool, 32- and 64-bit integers and floats, char) (`get: func() -> u64`,
//! `increment: func(by: u32)`) are called through a wasmtime `TypedFunc`
//! instead of the dynamic `Func::call`, which type-checks and lowers every
//! `Val` through the component's type tables on each call.
//!
//! Any other signature, or arguments of the wrong type, take the dynamic path.

use wasmtime::Store;
use wasmtime::component::{ComponentType, Func, Lift, Lower, Type, Val};

use crate::host::HostState;

/// Calls one export through its cached typed function and stores its result, if any;
/// `None` when `args` do not fit its types.
pub(crate) type TypedCall = Box<
    dyn Fn(&mut Store<HostState>, &[Val], &mut Option<Scalar>) -> Option<wasmtime::Result<()>>
        + Send
        + Sync,
>;

/// A Rust type of a scalar WIT type, which converts from [`Val`] and to [`Scalar`].
trait ScalarType: ComponentType + Lower + Lift + Send + Sync + Copy + 'static {
    fn from_val(val: &Val) -> Option<Self>;
    fn into_scalar(self) -> Scalar;
}

macro_rules! scalars {
    ($($rust:ty => $variant:ident),* $(,)?) => {
        /// A scalar result as plain data, so that the caller builds its [`Val`]
        /// in place: copying a freshly built `Val` stalls store forwarding,
        /// several nanoseconds a call.
        #[derive(Debug, Clone, Copy)]
        pub(crate) enum Scalar {
            $($variant($rust)),*
        }

        impl From<Scalar> for Val {
            fn from(scalar: Scalar) -> Val {
                match scalar {
                    $(Scalar::$variant(v) => Val::$variant(v)),*
                }
            }
        }

        $(impl ScalarType for $rust {
            fn from_val(val: &Val) -> Option<Self> {
                match val {
                    Val::$variant(v) => Some(*v),
                    _ => None,
                }
            }
            fn into_scalar(self) -> Scalar {
                Scalar::$variant(self)
            }
        })*
    };
}

scalars!(
    bool => Bool, u32 => U32, u64 => U64, i32 => S32, i64 => S64,
    f32 => Float32, f64 => Float64, char => Char,
);

/// Runs `$body` with `$T` bound to the Rust type of scalar WIT type `$ty`; `None` otherwise.
macro_rules! with_scalar {
    ($ty:expr, $T:ident => $body:expr) => {
        match $ty {
            Type::Bool => {
                type $T = bool;
                $body
            }
            Type::U32 => {
                type $T = u32;
                $body
            }
            Type::U64 => {
                type $T = u64;
                $body
            }
            Type::S32 => {
                type $T = i32;
                $body
            }
            Type::S64 => {
                type $T = i64;
                $body
            }
            Type::Float32 => {
                type $T = f32;
                $body
            }
            Type::Float64 => {
                type $T = f64;
                $body
            }
            Type::Char => {
                type $T = char;
                $body
            }
            _ => None,
        }
    };
}

/// The typed caller for `func`, if its signature is one the fast path covers.
pub(crate) fn typed_call(func: Func, store: &Store<HostState>) -> Option<TypedCall> {
    let ty = func.ty(store);
    let params: Vec<Type> = ty.params().map(|(_, ty)| ty).collect();
    let results: Vec<Type> = ty.results().collect();
    match (params.as_slice(), results.as_slice()) {
        ([], []) => {
            let typed = func.typed::<(), ()>(store).ok()?;
            Some(Box::new(move |store, _, _| Some(typed.call(store, ()))))
        }
        ([p], []) => with_scalar!(p, P => {
            let typed = func.typed::<(P,), ()>(store).ok()?;
            Some(Box::new(move |store, args, _| {
                let p = P::from_val(args.first()?)?;
                Some(typed.call(store, (p,)))
            }))
        }),
        ([], [r]) => with_scalar!(r, R => {
            let typed = func.typed::<(), (R,)>(store).ok()?;
            Some(Box::new(move |store, _, result| {
                Some(typed.call(store, ()).map(|(r,)| *result = Some(r.into_scalar())))
            }))
        }),
        ([p], [r]) => with_scalar!(p, P => with_scalar!(r, R => {
            let typed = func.typed::<(P,), (R,)>(store).ok()?;
            Some(Box::new(move |store, args, result| {
                let p = P::from_val(args.first()?)?;
                Some(typed.call(store, (p,)).map(|(r,)| *result = Some(r.into_scalar())))
            }))
        })),
        _ => None,
    }
}
