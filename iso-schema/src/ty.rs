//! [`Type`]: the description of a state type, and its text form.
//!
//! The text form is what a guest's `schema()` export returns and what the
//! host parses back, e.g.
//!
//! ```text
//! record counter { count: u64, step: u32 = default, history: list<u64> }
//! ```
//!
//! `= default` marks a field that a newer version fills in when older data lacks it.

use alloc::boxed::Box;
use alloc::string::{String, ToString};
use alloc::vec::Vec;
use core::fmt;

/// The shape of a state type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Type {
    /// `bool`
    Bool,
    /// `u8`
    U8,
    /// `u16`
    U16,
    /// `u32`
    U32,
    /// `u64`
    U64,
    /// `s8` (Rust `i8`)
    S8,
    /// `s16`
    S16,
    /// `s32`
    S32,
    /// `s64`
    S64,
    /// `f32`
    F32,
    /// `f64`
    F64,
    /// `char`
    Char,
    /// `string`
    String,
    /// `list<T>`: `Vec`, `VecDeque`, sets and arrays.
    List(Box<Type>),
    /// `option<T>`
    Option(Box<Type>),
    /// `result<T, E>`
    Result(Box<Type>, Box<Type>),
    /// `tuple<A, B, ...>`: tuples and tuple structs.
    Tuple(Vec<Type>),
    /// `map<K, V>`: `HashMap` and `BTreeMap`.
    Map(Box<Type>, Box<Type>),
    /// A struct with named fields.
    Record {
        /// The type's name.
        name: String,
        /// Its fields, in declaration order.
        fields: Vec<Field>,
    },
    /// An enum whose cases may carry data.
    Variant {
        /// The type's name.
        name: String,
        /// Its cases.
        cases: Vec<Case>,
    },
    /// An enum whose cases carry no data.
    Enum {
        /// The type's name.
        name: String,
        /// Its cases.
        cases: Vec<String>,
    },
    /// A set of named bits.
    Flags {
        /// The type's name.
        name: String,
        /// The flag names.
        flags: Vec<String>,
    },
}

/// A record field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Field {
    /// The field's name in the schema (the Rust name, or its `rename`).
    pub name: String,
    /// The field's type.
    pub ty: Type,
    /// Whether reading data that lacks it fills in a default.
    pub has_default: bool,
}

/// A variant case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Case {
    /// The case's name.
    pub name: String,
    /// The data it carries, if any.
    pub payload: Option<Type>,
}

impl Type {
    /// The name of a primitive type in the text form, `None` for compound types.
    pub fn primitive_name(&self) -> Option<&'static str> {
        Some(match self {
            Type::Bool => "bool",
            Type::U8 => "u8",
            Type::U16 => "u16",
            Type::U32 => "u32",
            Type::U64 => "u64",
            Type::S8 => "s8",
            Type::S16 => "s16",
            Type::S32 => "s32",
            Type::S64 => "s64",
            Type::F32 => "f32",
            Type::F64 => "f64",
            Type::Char => "char",
            Type::String => "string",
            _ => return None,
        })
    }

    /// A short name for messages: the primitive, `record user`, `list`, ...
    pub fn kind(&self) -> String {
        match self {
            Type::Record { name, .. } => alloc::format!("record {name}"),
            Type::Variant { name, .. } => alloc::format!("variant {name}"),
            Type::Enum { name, .. } => alloc::format!("enum {name}"),
            Type::Flags { name, .. } => alloc::format!("flags {name}"),
            Type::List(_) => "list".into(),
            Type::Option(_) => "option".into(),
            Type::Result(..) => "result".into(),
            Type::Tuple(_) => "tuple".into(),
            Type::Map(..) => "map".into(),
            primitive => primitive.primitive_name().unwrap_or_default().into(),
        }
    }

    /// Parses the text form written by `Display`.
    pub fn parse(text: &str) -> Result<Type, ParseError> {
        let mut parser = Parser { text, pos: 0 };
        let ty = parser.ty(0)?;
        parser.skip_space();
        if parser.pos != text.len() {
            return Err(parser.error("unexpected text after the type"));
        }
        Ok(ty)
    }
}

fn write_list<T>(
    f: &mut fmt::Formatter<'_>,
    items: &[T],
    each: impl Fn(&mut fmt::Formatter<'_>, &T) -> fmt::Result,
) -> fmt::Result {
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            f.write_str(", ")?;
        }
        each(f, item)?;
    }
    Ok(())
}

impl fmt::Display for Type {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(name) = self.primitive_name() {
            return f.write_str(name);
        }
        match self {
            Type::List(t) => write!(f, "list<{t}>"),
            Type::Option(t) => write!(f, "option<{t}>"),
            Type::Result(ok, err) => write!(f, "result<{ok}, {err}>"),
            Type::Map(k, v) => write!(f, "map<{k}, {v}>"),
            Type::Tuple(items) => {
                f.write_str("tuple<")?;
                write_list(f, items, |f, t| write!(f, "{t}"))?;
                f.write_str(">")
            }
            Type::Record { name, fields } => {
                write!(f, "record {name} {{ ")?;
                write_list(f, fields, |f, field| {
                    write!(f, "{}: {}", field.name, field.ty)?;
                    if field.has_default {
                        f.write_str(" = default")
                    } else {
                        Ok(())
                    }
                })?;
                f.write_str(" }")
            }
            Type::Variant { name, cases } => {
                write!(f, "variant {name} {{ ")?;
                write_list(f, cases, |f, case| match &case.payload {
                    Some(payload) => write!(f, "{}({payload})", case.name),
                    None => f.write_str(&case.name),
                })?;
                f.write_str(" }")
            }
            Type::Enum { name, cases } | Type::Flags { name, flags: cases } => {
                let keyword = if matches!(self, Type::Enum { .. }) {
                    "enum"
                } else {
                    "flags"
                };
                write!(f, "{keyword} {name} {{ ")?;
                write_list(f, cases, |f, case| f.write_str(case))?;
                f.write_str(" }")
            }
            _ => unreachable!("primitives are written above"),
        }
    }
}

/// Text that is not a schema, with where it went wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    /// Byte offset of the problem.
    pub offset: usize,
    /// What was wrong.
    pub message: String,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "invalid schema at byte {}: {}",
            self.offset, self.message
        )
    }
}

const MAX_DEPTH: usize = 128;

struct Parser<'a> {
    text: &'a str,
    pos: usize,
}

impl Parser<'_> {
    fn error(&self, message: &str) -> ParseError {
        ParseError {
            offset: self.pos,
            message: message.to_string(),
        }
    }

    fn skip_space(&mut self) {
        let rest = &self.text[self.pos..];
        self.pos += rest.len() - rest.trim_start().len();
    }

    fn eat(&mut self, token: &str) -> bool {
        self.skip_space();
        if self.text[self.pos..].starts_with(token) {
            self.pos += token.len();
            true
        } else {
            false
        }
    }

    fn expect(&mut self, token: &str) -> Result<(), ParseError> {
        if self.eat(token) {
            Ok(())
        } else {
            Err(self.error(&alloc::format!("expected `{token}`")))
        }
    }

    fn ident(&mut self) -> Result<String, ParseError> {
        self.skip_space();
        let rest = &self.text[self.pos..];
        let len = rest
            .char_indices()
            .find(|&(i, c)| !(c.is_ascii_alphanumeric() || c == '_' || (c == '-' && i > 0)))
            .map_or(rest.len(), |(i, _)| i);
        if len == 0 {
            return Err(self.error("expected a name"));
        }
        self.pos += len;
        Ok(rest[..len].to_string())
    }

    fn ty(&mut self, depth: usize) -> Result<Type, ParseError> {
        if depth > MAX_DEPTH {
            return Err(self.error("types nest too deeply"));
        }
        let start = self.pos;
        let word = self.ident()?;
        let one = |p: &mut Self| -> Result<Box<Type>, ParseError> {
            p.expect("<")?;
            let t = p.ty(depth + 1)?;
            p.expect(">")?;
            Ok(Box::new(t))
        };
        let two = |p: &mut Self| -> Result<(Box<Type>, Box<Type>), ParseError> {
            p.expect("<")?;
            let a = p.ty(depth + 1)?;
            p.expect(",")?;
            let b = p.ty(depth + 1)?;
            p.expect(">")?;
            Ok((Box::new(a), Box::new(b)))
        };
        Ok(match word.as_str() {
            "bool" => Type::Bool,
            "u8" => Type::U8,
            "u16" => Type::U16,
            "u32" => Type::U32,
            "u64" => Type::U64,
            "s8" => Type::S8,
            "s16" => Type::S16,
            "s32" => Type::S32,
            "s64" => Type::S64,
            "f32" => Type::F32,
            "f64" => Type::F64,
            "char" => Type::Char,
            "string" => Type::String,
            "list" => Type::List(one(self)?),
            "option" => Type::Option(one(self)?),
            "result" => two(self).map(|(a, b)| Type::Result(a, b))?,
            "map" => two(self).map(|(a, b)| Type::Map(a, b))?,
            "tuple" => {
                self.expect("<")?;
                let items = self.separated(">", |p| p.ty(depth + 1))?;
                Type::Tuple(items)
            }
            "record" => {
                let name = self.ident()?;
                self.expect("{")?;
                let fields = self.separated("}", |p| {
                    let name = p.ident()?;
                    p.expect(":")?;
                    let ty = p.ty(depth + 1)?;
                    let has_default = p.eat("=") && {
                        p.expect("default")?;
                        true
                    };
                    Ok(Field {
                        name,
                        ty,
                        has_default,
                    })
                })?;
                Type::Record { name, fields }
            }
            "variant" => {
                let name = self.ident()?;
                self.expect("{")?;
                let cases = self.separated("}", |p| {
                    let name = p.ident()?;
                    let payload = if p.eat("(") {
                        let t = p.ty(depth + 1)?;
                        p.expect(")")?;
                        Some(t)
                    } else {
                        None
                    };
                    Ok(Case { name, payload })
                })?;
                Type::Variant { name, cases }
            }
            "enum" | "flags" => {
                let name = self.ident()?;
                self.expect("{")?;
                let cases = self.separated("}", Self::ident)?;
                if word == "enum" {
                    Type::Enum { name, cases }
                } else {
                    Type::Flags { name, flags: cases }
                }
            }
            _ => {
                self.pos = start;
                self.skip_space();
                return Err(self.error(&alloc::format!("unknown type `{word}`")));
            }
        })
    }

    /// Items separated by commas up to `close` (a trailing comma is fine).
    fn separated<T>(
        &mut self,
        close: &str,
        mut item: impl FnMut(&mut Self) -> Result<T, ParseError>,
    ) -> Result<Vec<T>, ParseError> {
        let mut items = Vec::new();
        while !self.eat(close) {
            items.push(item(self)?);
            if !self.eat(",") {
                self.expect(close)?;
                break;
            }
        }
        Ok(items)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;

    fn user() -> Type {
        Type::Record {
            name: "user".into(),
            fields: vec![
                Field {
                    name: "name".into(),
                    ty: Type::String,
                    has_default: false,
                },
                Field {
                    name: "tags".into(),
                    ty: Type::List(Box::new(Type::String)),
                    has_default: true,
                },
                Field {
                    name: "mode".into(),
                    ty: Type::Variant {
                        name: "mode".into(),
                        cases: vec![
                            Case {
                                name: "off".into(),
                                payload: None,
                            },
                            Case {
                                name: "every".into(),
                                payload: Some(Type::Tuple(vec![Type::U32, Type::F64])),
                            },
                        ],
                    },
                    has_default: false,
                },
                Field {
                    name: "scores".into(),
                    ty: Type::Map(
                        Box::new(Type::String),
                        Box::new(Type::Option(Box::new(Type::S64))),
                    ),
                    has_default: false,
                },
                Field {
                    name: "last".into(),
                    ty: Type::Result(
                        Box::new(Type::Char),
                        Box::new(Type::Enum {
                            name: "why".into(),
                            cases: vec!["a".into(), "b-c".into()],
                        }),
                    ),
                    has_default: false,
                },
            ],
        }
    }

    #[test]
    fn renders_as_text() {
        assert_eq!(
            user().to_string(),
            "record user { name: string, tags: list<string> = default, mode: variant mode { off, every(tuple<u32, f64>) }, \
             scores: map<string, option<s64>>, last: result<char, enum why { a, b-c }> }"
        );
    }

    #[test]
    fn text_parses_back() {
        assert_eq!(Type::parse(&user().to_string()), Ok(user()));
        assert_eq!(
            Type::parse("record empty {  }"),
            Ok(Type::Record {
                name: "empty".into(),
                fields: vec![]
            })
        );
    }

    #[test]
    fn bad_text_says_where() {
        let err = Type::parse("record user { name: strng }").unwrap_err();
        assert_eq!(err.offset, 20);
        assert!(err.message.contains("unknown type `strng`"));
        assert!(Type::parse("list<u8").is_err());
        assert!(Type::parse("u8 u8").is_err());
        assert!(Type::parse(&"list<".repeat(1000)).is_err());
    }
}
