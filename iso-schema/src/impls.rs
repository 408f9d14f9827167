//! [`Schema`] for the standard types a state is made of.

use alloc::boxed::Box;
use alloc::collections::{BTreeMap, BTreeSet, VecDeque};
use alloc::string::String;
use alloc::vec::Vec;

use crate::read::{ReadError, Reader, describe};
use crate::{Schema, Type, Value};

fn is_number(value: &Value) -> bool {
    matches!(
        value,
        Value::U8(_)
            | Value::U16(_)
            | Value::U32(_)
            | Value::U64(_)
            | Value::S8(_)
            | Value::S16(_)
            | Value::S32(_)
            | Value::S64(_)
            | Value::F32(_)
            | Value::F64(_)
    )
}

fn number_error(target: &str, found: &Value, reader: &Reader) -> ReadError {
    if is_number(found) {
        reader.error(alloc::format!(
            "{} cannot be read as {target}: only widening is allowed",
            describe(found)
        ))
    } else {
        reader.mismatch(target, found)
    }
}

/// A number type, and the narrower ones it widens from.
macro_rules! number {
    ($t:ty, $variant:ident, $name:literal, [$($from:ident),*]) => {
        impl Schema for $t {
            fn schema() -> Type {
                Type::$variant
            }
            fn to_value(&self) -> Value {
                Value::$variant(*self)
            }
            fn from_value(value: Value, reader: &mut Reader) -> Result<Self, ReadError> {
                match value {
                    Value::$variant(n) => Ok(n),
                    $(Value::$from(n) => Ok(<$t>::from(n)),)*
                    other => Err(number_error($name, &other, reader)),
                }
            }
        }
    };
}

number!(u8, U8, "u8", []);
number!(u16, U16, "u16", [U8]);
number!(u32, U32, "u32", [U8, U16]);
number!(u64, U64, "u64", [U8, U16, U32]);
number!(i8, S8, "s8", []);
number!(i16, S16, "s16", [S8, U8]);
number!(i32, S32, "s32", [S8, S16, U8, U16]);
number!(i64, S64, "s64", [S8, S16, S32, U8, U16, U32]);
number!(f32, F32, "f32", []);
number!(f64, F64, "f64", [F32]);

/// A type with one `Value` form and no evolution.
macro_rules! exact {
    ($t:ty, $variant:ident, $name:literal, $to:expr) => {
        impl Schema for $t {
            fn schema() -> Type {
                Type::$variant
            }
            fn to_value(&self) -> Value {
                let to: fn(&$t) -> Value = $to;
                to(self)
            }
            fn from_value(value: Value, reader: &mut Reader) -> Result<Self, ReadError> {
                match value {
                    Value::$variant(v) => Ok(v),
                    other => Err(reader.mismatch($name, &other)),
                }
            }
        }
    };
}

exact!(bool, Bool, "a bool", |b| Value::Bool(*b));
exact!(char, Char, "a char", |c| Value::Char(*c));
exact!(String, String, "a string", |s| Value::String(s.clone()));

impl<T: Schema> Schema for Box<T> {
    fn schema() -> Type {
        T::schema()
    }
    fn to_value(&self) -> Value {
        (**self).to_value()
    }
    fn from_value(value: Value, reader: &mut Reader) -> Result<Self, ReadError> {
        T::from_value(value, reader).map(Box::new)
    }
}

impl<T: Schema> Schema for Option<T> {
    fn schema() -> Type {
        Type::Option(Box::new(T::schema()))
    }
    fn to_value(&self) -> Value {
        Value::Option(self.as_ref().map(|v| Box::new(v.to_value())))
    }
    fn from_value(value: Value, reader: &mut Reader) -> Result<Self, ReadError> {
        match value {
            Value::Option(None) => Ok(None),
            Value::Option(Some(v)) => T::from_value(*v, reader).map(Some),
            other => Err(reader.mismatch("an option", &other)),
        }
    }
}

impl<T: Schema, E: Schema> Schema for Result<T, E> {
    fn schema() -> Type {
        Type::Result(Box::new(T::schema()), Box::new(E::schema()))
    }
    fn to_value(&self) -> Value {
        Value::Result(match self {
            Ok(v) => Ok(Box::new(v.to_value())),
            Err(e) => Err(Box::new(e.to_value())),
        })
    }
    fn from_value(value: Value, reader: &mut Reader) -> Result<Self, ReadError> {
        match value {
            Value::Result(Ok(v)) => T::from_value(*v, reader).map(Ok),
            Value::Result(Err(e)) => E::from_value(*e, reader).map(Err),
            other => Err(reader.mismatch("a result", &other)),
        }
    }
}

/// A collection stored as `list<T>`.
macro_rules! list {
    ($($t:ident $(: $($bound:path),+)?);*) => {$(
        impl<T: Schema $($(+ $bound)+)?> Schema for $t<T> {
            fn schema() -> Type {
                Type::List(Box::new(T::schema()))
            }
            fn to_value(&self) -> Value {
                Value::List(self.iter().map(Schema::to_value).collect())
            }
            fn from_value(value: Value, reader: &mut Reader) -> Result<Self, ReadError> {
                Ok(reader.list::<T>(value)?.into_iter().collect())
            }
        }
    )*};
}

list!(Vec; VecDeque; BTreeSet: Ord);

/// A map stored as `map<K, V>`.
macro_rules! map {
    ($($t:ident: $($bound:path),+);*) => {$(
        impl<K: Schema $(+ $bound)+, V: Schema> Schema for $t<K, V> {
            fn schema() -> Type {
                Type::Map(Box::new(K::schema()), Box::new(V::schema()))
            }
            fn to_value(&self) -> Value {
                Value::Map(self.iter().map(|(k, v)| (k.to_value(), v.to_value())).collect())
            }
            fn from_value(value: Value, reader: &mut Reader) -> Result<Self, ReadError> {
                Ok(reader.map::<K, V>(value)?.into_iter().collect())
            }
        }
    )*};
}

map!(BTreeMap: Ord);

#[cfg(feature = "std")]
mod hashed {
    use super::*;
    use std::collections::{HashMap, HashSet};
    use std::hash::Hash;

    list!(HashSet: Hash, Eq);

    impl<K: Schema + Hash + Eq, V: Schema> Schema for HashMap<K, V> {
        fn schema() -> Type {
            Type::Map(Box::new(K::schema()), Box::new(V::schema()))
        }
        fn to_value(&self) -> Value {
            Value::Map(
                self.iter()
                    .map(|(k, v)| (k.to_value(), v.to_value()))
                    .collect(),
            )
        }
        fn from_value(value: Value, reader: &mut Reader) -> Result<Self, ReadError> {
            Ok(reader.map::<K, V>(value)?.into_iter().collect())
        }
    }
}

impl<T: Schema, const N: usize> Schema for [T; N] {
    fn schema() -> Type {
        Type::List(Box::new(T::schema()))
    }
    fn to_value(&self) -> Value {
        Value::List(self.iter().map(Schema::to_value).collect())
    }
    fn from_value(value: Value, reader: &mut Reader) -> Result<Self, ReadError> {
        let items: Vec<T> = reader.list(value)?;
        let len = items.len();
        items
            .try_into()
            .map_err(|_| reader.error(alloc::format!("expected a list of {N} items, found {len}")))
    }
}

impl Schema for () {
    fn schema() -> Type {
        Type::Tuple(Vec::new())
    }
    fn to_value(&self) -> Value {
        Value::Tuple(Vec::new())
    }
    fn from_value(value: Value, reader: &mut Reader) -> Result<Self, ReadError> {
        reader.tuple(value, 0).map(|_| ())
    }
}

macro_rules! tuple {
    ($len:literal: $($t:ident $i:tt),+) => {
        impl<$($t: Schema),+> Schema for ($($t,)+) {
            fn schema() -> Type {
                Type::Tuple(alloc::vec![$($t::schema()),+])
            }
            fn to_value(&self) -> Value {
                Value::Tuple(alloc::vec![$(self.$i.to_value()),+])
            }
            fn from_value(value: Value, reader: &mut Reader) -> Result<Self, ReadError> {
                let mut items = reader.tuple(value, $len)?.into_iter();
                Ok(($(reader.element::<$t>($i, items.next().expect("length checked"))?,)+))
            }
        }
    };
}

tuple!(1: A 0);
tuple!(2: A 0, B 1);
tuple!(3: A 0, B 1, C 2);
tuple!(4: A 0, B 1, C 2, D 3);
tuple!(5: A 0, B 1, C 2, D 3, E 4);
tuple!(6: A 0, B 1, C 2, D 3, E 4, F 5);
