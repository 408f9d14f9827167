//! The fast path of [`Instance::call`](crate::Instance::call): exports whose
//! parameters and results are at most one common scalar each
//! (bool, 32- and 64-bit integers and floats, char) (`get: func() -> u64`,
//! `increment: func(by: u32)`) are called through a wasmtime `TypedFunc`
//! instead of the dynamic `Func::call`, which type-checks and lowers every
//! `Val` through the component's type tables on each call.
//!
//! Any other signature, or arguments of the wrong type, take the dynamic path.

use std::mem::{Discriminant, discriminant};

use wasmtime::Store;
use wasmtime::component::{ComponentType, Func, Lift, Lower, Type, Val};

use crate::host::HostState;

/// Calls an export with arguments that fit and returns its result, if any.
type Call =
    Box<dyn Fn(&mut Store<HostState>, &[Val]) -> wasmtime::Result<Option<Scalar>> + Send + Sync>;

/// One export's typed function, for the signatures the fast path covers.
pub(crate) struct TypedCall {
    /// Which arguments the typed function takes.
    takes: Takes,
    call: Call,
}

/// The arguments a [`TypedCall`] takes: compared without a call, since
/// every export call asks.
#[derive(Clone, Copy)]
enum Takes {
    /// None: the fast path does not cover the signature.
    Nothing,
    /// No arguments.
    NoArguments,
    /// One argument, a [`Val`] of this variant.
    One(Discriminant<Val>),
}

impl TypedCall {
    /// The typed call of an export whose signature the fast path does not
    /// cover: no arguments fit it, so calls take the dynamic path.
    fn uncovered() -> TypedCall {
        TypedCall {
            takes: Takes::Nothing,
            call: Box::new(|_, _| Err(wasmtime::format_err!("no typed call for this signature"))),
        }
    }

    /// Whether `args` have the export's parameter types, so that [`TypedCall::call`] takes them.
    #[inline]
    pub(crate) fn fits(&self, args: &[Val]) -> bool {
        match (self.takes, args) {
            (Takes::NoArguments, []) => true,
            (Takes::One(variant), [arg]) => discriminant(arg) == variant,
            _ => false,
        }
    }

    /// Calls the export; the result comes back in registers, not through memory
    /// (a copy of a value just written field by field stalls the CPU).
    #[inline]
    pub(crate) fn call(
        &self,
        store: &mut Store<HostState>,
        args: &[Val],
    ) -> wasmtime::Result<Option<Scalar>> {
        (self.call)(store, args)
    }
}

/// A Rust type of a scalar WIT type, which converts from [`Val`] and to [`Scalar`].
trait ScalarType: ComponentType + Lower + Lift + Send + Sync + Copy + Default + 'static {
    fn from_val(val: &Val) -> Option<Self>;
    fn into_scalar(self) -> Scalar;
}

macro_rules! scalars {
    ($($rust:ty => $variant:ident),* $(,)?) => {
        /// A scalar result as plain data: a call's output keeps it so until
        /// it is asked for as a [`Val`].
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

/// One argument of type `P`.
fn one<P: ScalarType>() -> Takes {
    Takes::One(discriminant(&Val::from(P::default().into_scalar())))
}

/// The first argument as a `P`; [`TypedCall::fits`] has checked it.
fn first<P: ScalarType>(args: &[Val]) -> wasmtime::Result<P> {
    args.first()
        .and_then(P::from_val)
        .ok_or_else(|| wasmtime::format_err!("the argument does not have the parameter's type"))
}

/// The typed call of `func`; one that no arguments fit when the fast path
/// does not cover its signature.
pub(crate) fn typed_call(func: Func, store: &Store<HostState>) -> TypedCall {
    covered(func, store).unwrap_or_else(TypedCall::uncovered)
}

/// The typed call of `func`, if its signature is one the fast path covers.
fn covered(func: Func, store: &Store<HostState>) -> Option<TypedCall> {
    let ty = func.ty(store);
    let params: Vec<Type> = ty.params().map(|(_, ty)| ty).collect();
    let results: Vec<Type> = ty.results().collect();
    match (params.as_slice(), results.as_slice()) {
        ([], []) => {
            let typed = func.typed::<(), ()>(store).ok()?;
            Some(TypedCall {
                takes: Takes::NoArguments,
                call: Box::new(move |store, _| typed.call(store, ()).map(|()| None)),
            })
        }
        ([p], []) => with_scalar!(p, P => {
            let typed = func.typed::<(P,), ()>(store).ok()?;
            Some(TypedCall {
                takes: one::<P>(),
                call: Box::new(move |store, args| {
                    typed.call(store, (first::<P>(args)?,)).map(|()| None)
                }),
            })
        }),
        ([], [r]) => with_scalar!(r, R => {
            let typed = func.typed::<(), (R,)>(store).ok()?;
            Some(TypedCall {
                takes: Takes::NoArguments,
                call: Box::new(move |store, _| {
                    typed.call(store, ()).map(|(r,)| Some(r.into_scalar()))
                }),
            })
        }),
        ([p], [r]) => with_scalar!(p, P => with_scalar!(r, R => {
            let typed = func.typed::<(P,), (R,)>(store).ok()?;
            Some(TypedCall {
                takes: one::<P>(),
                call: Box::new(move |store, args| {
                    typed.call(store, (first::<P>(args)?,)).map(|(r,)| Some(r.into_scalar()))
                }),
            })
        })),
        _ => None,
    }
}
