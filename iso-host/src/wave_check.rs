//! What wasm-wave lets through or explains poorly when WAVE text becomes
//! typed values, checked first: a record field the type does not have
//! (wasm-wave drops it without a word), and a case the type does not have
//! or that WAVE reads as a keyword (`none` for a case named `none`, which
//! is written `%none`). Each problem names what the type does have.

use std::ops::Range;

use wasmtime::component::Type;
use wasmtime::component::wasm_wave::ast::{Node, NodeType};

/// A problem in the WAVE text, at a span of it.
pub(crate) struct Problem {
    /// Where, in the parsed text.
    pub span: Range<usize>,
    /// What is wrong, and what the type has instead.
    pub message: String,
}

/// The first problem in `node`, a value of type `ty` in the WAVE text `src`.
pub(crate) fn check(node: &Node, ty: &Type, src: &str) -> Option<Problem> {
    match (ty, node.ty()) {
        (Type::Record(record), NodeType::Record) => {
            let names: Vec<&str> = record.fields().map(|field| field.name).collect();
            let fields = node.as_record(src).ok()?;
            for (name, value) in fields {
                let Some(field) = record.fields().find(|field| field.name == name) else {
                    let message = format!(
                        "the record has no field `{name}`{}; its fields are {}",
                        crate::suggest::did_you_mean(name, names.iter().copied()),
                        names.join(", ")
                    );
                    // The field's name sits just before its value.
                    let value_at = value.span().start;
                    let start = src[..value_at].rfind(name).unwrap_or(value_at);
                    return Some(Problem {
                        span: start..start + name.len(),
                        message,
                    });
                };
                if let Some(problem) = check(value, &field.ty, src) {
                    return Some(problem);
                }
            }
            None
        }
        (Type::List(list), NodeType::List) => {
            let element = list.ty();
            (node.as_list().ok()?).find_map(|item| check(item, &element, src))
        }
        (Type::Tuple(tuple), NodeType::Tuple) => {
            (tuple.types().zip(node.as_tuple().ok()?)).find_map(|(ty, item)| check(item, &ty, src))
        }
        (Type::Option(option), NodeType::OptionSome) => {
            check(node.as_option().ok()??, &option.ty(), src)
        }
        (Type::Result(result), NodeType::ResultOk | NodeType::ResultErr) => {
            let (payload, ty) = match node.as_result().ok()? {
                Ok(payload) => (payload?, result.ok()?),
                Err(payload) => (payload?, result.err()?),
            };
            check(payload, &ty, src)
        }
        (Type::Variant(variant), _) => {
            let cases: Vec<&str> = variant.cases().map(|case| case.name).collect();
            let problem = case_problem(node, src, &cases, "variant")?;
            if let Some(problem) = problem {
                return Some(problem);
            }
            let (label, payload) = node.as_variant(src).ok()?;
            let case = variant.cases().find(|case| case.name == label)?;
            check(payload?, &case.ty?, src)
        }
        (Type::Enum(enumeration), _) => {
            let cases: Vec<&str> = enumeration.names().collect();
            case_problem(node, src, &cases, "enum")?
        }
        _ => None,
    }
}

/// A case of a variant or enum whose `cases` are these, written as `node`:
/// `Some(None)` when it is fine, `Some(Some(problem))` when the case is
/// unknown or a WAVE keyword, `None` when `node` is no case at all (left
/// for wasm-wave to explain).
fn case_problem(node: &Node, src: &str, cases: &[&str], kind: &str) -> Option<Option<Problem>> {
    let keyword = match node.ty() {
        NodeType::BoolTrue => "true",
        NodeType::BoolFalse => "false",
        NodeType::OptionNone => "none",
        NodeType::OptionSome => "some",
        NodeType::ResultOk => "ok",
        NodeType::ResultErr => "err",
        NodeType::Label | NodeType::VariantWithPayload => {
            let (label, _) = node.as_variant(src).ok()?;
            if cases.contains(&label) {
                return Some(None);
            }
            let message = format!(
                "the {kind} has no case `{label}`{}; its cases are {}",
                crate::suggest::did_you_mean(label, cases.iter().copied()),
                cases.join(", ")
            );
            return Some(Some(Problem {
                span: node.span(),
                message,
            }));
        }
        _ => return None,
    };
    if !cases.contains(&keyword) {
        return None;
    }
    let message = format!(
        "WAVE reads `{keyword}` as a keyword: write `%{keyword}` for the {kind} case `{keyword}`"
    );
    Some(Some(Problem {
        span: node.span(),
        message,
    }))
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use crate::{App, ComponentCache, EngineOptions, IsoEngine};

    fn app() -> App {
        let wit = "package local:t;
            world t {
                record todo { title: string, note: option<string>, done: bool }
                enum mode { none, all }
                variant pick { none, one(u32) }
                export add: func(items: list<todo>) -> u32;
                export set: func(m: mode);
                export choose: func(p: pick);
            }";
        let bytes = crate::stub::component(wit, None).unwrap();
        let engine = Arc::new(IsoEngine::new(EngineOptions::default()).unwrap());
        App::load(engine, &ComponentCache::new(None), &bytes)
            .unwrap()
            .0
    }

    fn error(app: &App, call: &str) -> String {
        app.check_call(call).err().unwrap().to_string()
    }

    #[test]
    fn unknown_fields_and_cases_are_named_with_what_the_type_has() {
        let app = app();
        let err = error(&app, "add([{title: \"milk\", nte: some(\"2 litres\")}])");
        assert!(
            err.contains("the record has no field `nte` (did you mean `note`?); its fields are title, note, done at 21..24"),
            "{err}"
        );
        let err = error(&app, "set(al)");
        assert!(
            err.contains(
                "the enum has no case `al` (did you mean `all`?); its cases are none, all"
            ),
            "{err}"
        );
        let err = error(&app, "choose(two(2))");
        assert!(err.contains("the variant has no case `two`"), "{err}");
        for call in ["set(none)", "choose(none)"] {
            let err = error(&app, call);
            assert!(
                err.contains("WAVE reads `none` as a keyword: write `%none`"),
                "{err}"
            );
        }
        for call in [
            "set(%none)",
            "choose(one(1))",
            "add([{title: \"milk\", done: false}])",
        ] {
            assert!(app.check_call(call).is_ok(), "{call}");
        }
    }
}
