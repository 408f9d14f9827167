//! WAVE text read as an [`iso_schema::Value`] of a schema [`Type`]: how a
//! test case writes a kv value that the guest stores with `kv::set_as`
//! (`{ wave = "{title: \"milk\"}", type = "record todo { title: string }" }`),
//! encoded exactly as the guest encodes it.

use iso_schema::{Type, Value};
use wasmtime::component::wasm_wave::ast::Node;
use wasmtime::component::wasm_wave::untyped::UntypedValue;

/// `text` read as a value of `ty`, or what is wrong with it.
pub fn parse(text: &str, ty: &Type) -> Result<Value, String> {
    let parsed = UntypedValue::parse(text).map_err(|err| err.to_string())?;
    value(parsed.node(), ty, text)
}

fn value(node: &Node, ty: &Type, src: &str) -> Result<Value, String> {
    let text = |err: wasmtime::component::wasm_wave::parser::ParserError| err.to_string();
    Ok(match ty {
        Type::Bool => Value::Bool(node.as_bool().map_err(text)?),
        Type::U8 => Value::U8(number(node, src)?),
        Type::U16 => Value::U16(number(node, src)?),
        Type::U32 => Value::U32(number(node, src)?),
        Type::U64 => Value::U64(number(node, src)?),
        Type::S8 => Value::S8(number(node, src)?),
        Type::S16 => Value::S16(number(node, src)?),
        Type::S32 => Value::S32(number(node, src)?),
        Type::S64 => Value::S64(number(node, src)?),
        Type::F32 => Value::F32(number(node, src)?),
        Type::F64 => Value::F64(number(node, src)?),
        Type::Char => Value::Char(node.as_char(src).map_err(text)?),
        Type::String => Value::String(node.as_str(src).map_err(text)?.into_owned()),
        Type::List(item) => Value::List(list(node, item, src)?),
        Type::Option(inner) => Value::Option(match node.as_option().map_err(text)? {
            Some(inner_node) => Some(Box::new(value(inner_node, inner, src)?)),
            None => None,
        }),
        Type::Result(ok, err) => Value::Result(match node.as_result().map_err(text)? {
            Ok(payload) => Ok(Box::new(payload_value(payload, ok, src)?)),
            Err(payload) => Err(Box::new(payload_value(payload, err, src)?)),
        }),
        Type::Tuple(types) => Value::Tuple(tuple(node, types, src)?),
        Type::Map(key, val) => {
            let pair = Type::Tuple(vec![(**key).clone(), (**val).clone()]);
            let pairs = list(node, &pair, src)?.into_iter().map(|pair| match pair {
                Value::Tuple(mut both) if both.len() == 2 => {
                    let val = both.pop().expect("two");
                    Ok((both.pop().expect("two"), val))
                }
                _ => Err("a map is a list of (key, value) pairs".to_owned()),
            });
            Value::Map(pairs.collect::<Result<_, _>>()?)
        }
        Type::Record { name, fields } => {
            let given: Vec<(&str, &Node)> = node.as_record(src).map_err(text)?.collect();
            if let Some((unknown, _)) = given
                .iter()
                .find(|(g, _)| fields.iter().all(|f| f.name != *g))
            {
                return Err(format!("record {name} has no field `{unknown}`"));
            }
            let mut values = Vec::new();
            for field in fields {
                let found = given.iter().find(|(g, _)| *g == field.name);
                let field_value = match (found, &field.ty) {
                    (Some((_, node)), ty) => value(node, ty, src)?,
                    (None, Type::Option(_)) => Value::Option(None),
                    (None, _) => return Err(format!("record {name} needs field `{}`", field.name)),
                };
                values.push((field.name.clone(), field_value));
            }
            Value::Record(values)
        }
        Type::Variant { name, cases } => {
            let (label, payload) = node.as_variant(src).map_err(text)?;
            let Some(case) = cases.iter().find(|case| case.name == label) else {
                return Err(format!("variant {name} has no case `{label}`"));
            };
            let data = match (payload, &case.payload) {
                (Some(node), Some(ty)) => Some(Box::new(value(node, ty, src)?)),
                (None, None) => None,
                _ => {
                    return Err(format!(
                        "case `{label}` of {name}: payload given or missing"
                    ));
                }
            };
            Value::Variant(label.to_owned(), data)
        }
        Type::Enum { name, cases } => {
            let label = node.as_enum(src).map_err(text)?;
            if !cases.iter().any(|case| case == label) {
                return Err(format!("enum {name} has no case `{label}`"));
            }
            Value::Enum(label.to_owned())
        }
        Type::Flags { flags, .. } => {
            let set: Vec<String> = node
                .as_flags(src)
                .map_err(text)?
                .map(str::to_owned)
                .collect();
            Value::Flags(
                flags
                    .iter()
                    .filter(|flag| set.contains(flag))
                    .cloned()
                    .collect(),
            )
        }
    })
}

fn number<T: std::str::FromStr>(node: &Node, src: &str) -> Result<T, String> {
    node.as_number(src).map_err(|err| err.to_string())
}

fn list(node: &Node, item: &Type, src: &str) -> Result<Vec<Value>, String> {
    let items = node.as_list().map_err(|err| err.to_string())?;
    items.map(|node| value(node, item, src)).collect()
}

fn tuple(node: &Node, types: &[Type], src: &str) -> Result<Vec<Value>, String> {
    let items: Vec<&Node> = node.as_tuple().map_err(|err| err.to_string())?.collect();
    if items.len() != types.len() {
        return Err(format!(
            "a tuple of {} values, not {}",
            types.len(),
            items.len()
        ));
    }
    (items.into_iter().zip(types))
        .map(|(node, ty)| value(node, ty, src))
        .collect()
}

/// A result's payload: none stands for the unit type (an empty tuple).
fn payload_value(payload: Option<&Node>, ty: &Type, src: &str) -> Result<Value, String> {
    match (payload, ty) {
        (Some(node), ty) => value(node, ty, src),
        (None, Type::Tuple(types)) if types.is_empty() => Ok(Value::Tuple(Vec::new())),
        (None, _) => Err("the result's payload is missing".to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(iso_schema::Schema, Debug, PartialEq)]
    struct Todo {
        title: String,
        note: Option<String>,
        tags: Vec<String>,
        done: bool,
    }

    #[test]
    fn wave_of_a_schema_type_encodes_as_the_guest_stores_it() {
        let todo = Todo {
            title: "milk".into(),
            note: None,
            tags: vec!["shop".into()],
            done: false,
        };
        let ty = Type::parse(&iso_schema::schema_text::<Todo>()).unwrap();
        let parsed = parse(r#"{title: "milk", tags: ["shop"], done: false}"#, &ty).unwrap();
        assert_eq!(parsed.encode(), iso_schema::save(&todo));
        assert_eq!(
            parse("7", &Type::U32).unwrap().encode(),
            iso_schema::save(&7u32)
        );
        let err = parse(r#"{title: "milk", nte: none, tags: [], done: false}"#, &ty).unwrap_err();
        assert!(err.contains("has no field `nte`"), "{err}");
    }
}
