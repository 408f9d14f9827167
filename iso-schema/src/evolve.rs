//! Comparing two state types: what a newer type cannot read of data an older one wrote.
//!
//! [`compare(old, new)`](compare) follows the same rules as reading values
//! (see [`crate::read`]); call it with the types swapped to ask whether the
//! old version can read the new one's data (rollback).

use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;

use crate::ty::{Case, Field, Type};

/// How much a difference matters for reading old data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    /// Safe: nothing old is lost or unreadable (an addition, a widening).
    Info,
    /// Readable unless the data holds something specific (a removed case).
    Warning,
    /// Old data cannot be read.
    Breaking,
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Breaking => "breaking",
        })
    }
}

/// One difference between the old and new type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// Where, e.g. `state.users[].email`.
    pub path: String,
    /// How much it matters.
    pub severity: Severity,
    /// A stable id, e.g. `field-added-without-default`.
    pub rule: &'static str,
    /// What changed, e.g. `field "limit" added without default`.
    pub message: String,
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: {}: {} [{}]",
            self.severity, self.path, self.message, self.rule
        )
    }
}

/// Every difference that matters when `new` reads data written as `old`.
pub fn compare(old: &Type, new: &Type) -> Vec<Finding> {
    let mut findings = Vec::new();
    walk(&mut findings, "state", old, new);
    findings
}

/// Whether `new` can read everything `old` wrote (no breaking findings).
pub fn can_read(old: &Type, new: &Type) -> bool {
    compare(old, new)
        .iter()
        .all(|f| f.severity != Severity::Breaking)
}

fn push(
    findings: &mut Vec<Finding>,
    path: &str,
    severity: Severity,
    rule: &'static str,
    message: String,
) {
    findings.push(Finding {
        path: path.into(),
        severity,
        rule,
        message,
    });
}

/// `(rank, signed)` of integer types, for widening.
fn int_rank(ty: &Type) -> Option<(u8, bool)> {
    Some(match ty {
        Type::U8 => (1, false),
        Type::U16 => (2, false),
        Type::U32 => (3, false),
        Type::U64 => (4, false),
        Type::S8 => (1, true),
        Type::S16 => (2, true),
        Type::S32 => (3, true),
        Type::S64 => (4, true),
        _ => return None,
    })
}

/// Whether a value of `old` reads as `new` by widening (matches the `Schema` impls).
fn widens(old: &Type, new: &Type) -> bool {
    match (int_rank(old), int_rank(new)) {
        (Some((a, false)), Some((b, false))) | (Some((a, true)), Some((b, true))) => a < b,
        (Some((a, false)), Some((b, true))) => a < b,
        _ => matches!((old, new), (Type::F32, Type::F64)),
    }
}

/// Cases of enums and variants alike: an enum is a variant with no payloads.
fn cases(ty: &Type) -> Option<Vec<Case>> {
    match ty {
        Type::Variant { cases, .. } => Some(cases.clone()),
        Type::Enum { cases, .. } => Some(
            cases
                .iter()
                .map(|name| Case {
                    name: name.clone(),
                    payload: None,
                })
                .collect(),
        ),
        _ => None,
    }
}

fn walk(findings: &mut Vec<Finding>, path: &str, old: &Type, new: &Type) {
    if old == new {
        return;
    }
    match (old, new) {
        (Type::List(a), Type::List(b)) | (Type::Option(a), Type::Option(b)) => {
            let suffix = if matches!(old, Type::List(_)) {
                "[]"
            } else {
                "?"
            };
            walk(findings, &alloc::format!("{path}{suffix}"), a, b);
        }
        (Type::Map(ka, va), Type::Map(kb, vb)) => {
            walk(findings, &alloc::format!("{path}.key"), ka, kb);
            walk(findings, &alloc::format!("{path}.value"), va, vb);
        }
        (Type::Result(oa, ea), Type::Result(ob, eb)) => {
            walk(findings, &alloc::format!("{path}.ok"), oa, ob);
            walk(findings, &alloc::format!("{path}.err"), ea, eb);
        }
        (Type::Tuple(a), Type::Tuple(b)) if a.len() == b.len() => {
            for (i, (x, y)) in a.iter().zip(b).enumerate() {
                walk(findings, &alloc::format!("{path}.{i}"), x, y);
            }
        }
        (Type::Tuple(a), Type::Tuple(b)) => push(
            findings,
            path,
            Severity::Breaking,
            "tuple-length-changed",
            alloc::format!("tuple of {} became a tuple of {}", a.len(), b.len()),
        ),
        (Type::Record { fields: a, .. }, Type::Record { fields: b, .. }) => {
            records(findings, path, a, b)
        }
        (Type::Flags { flags: a, .. }, Type::Flags { flags: b, .. }) => {
            for flag in a.iter().filter(|f| !b.contains(f)) {
                let message =
                    alloc::format!("flag \"{flag}\" removed: data with it set cannot be read");
                push(findings, path, Severity::Warning, "flag-removed", message);
            }
            for flag in b.iter().filter(|f| !a.contains(f)) {
                push(
                    findings,
                    path,
                    Severity::Info,
                    "flag-added",
                    alloc::format!("flag \"{flag}\" added"),
                );
            }
        }
        _ => match (cases(old), cases(new)) {
            (Some(a), Some(b)) => variants(findings, path, &a, &b),
            _ if widens(old, new) => {
                push(
                    findings,
                    path,
                    Severity::Info,
                    "number-widened",
                    alloc::format!("{old} widened to {new}"),
                );
            }
            _ if int_rank(old).is_some() && int_rank(new).is_some()
                || matches!((old, new), (Type::F64, Type::F32)) =>
            {
                let message = alloc::format!("{old} narrowed to {new}");
                push(
                    findings,
                    path,
                    Severity::Breaking,
                    "number-narrowed",
                    message,
                );
            }
            _ => {
                let message = alloc::format!("type changed from {} to {}", old.kind(), new.kind());
                push(findings, path, Severity::Breaking, "type-changed", message);
            }
        },
    }
}

fn records(findings: &mut Vec<Finding>, path: &str, old: &[Field], new: &[Field]) {
    for field in new {
        let field_path = alloc::format!("{path}.{}", field.name);
        match old.iter().find(|f| f.name == field.name) {
            Some(before) => walk(findings, &field_path, &before.ty, &field.ty),
            None if field.has_default => {
                let message = alloc::format!("field \"{}\" added with a default", field.name);
                push(
                    findings,
                    &field_path,
                    Severity::Info,
                    "field-added-with-default",
                    message,
                );
            }
            None => {
                let message = alloc::format!("field \"{}\" added without default", field.name);
                push(
                    findings,
                    &field_path,
                    Severity::Breaking,
                    "field-added-without-default",
                    message,
                );
            }
        }
    }
    for field in old.iter().filter(|f| !new.iter().any(|n| n.name == f.name)) {
        let message = alloc::format!("field \"{}\" removed: its data is dropped", field.name);
        push(
            findings,
            &alloc::format!("{path}.{}", field.name),
            Severity::Info,
            "field-removed",
            message,
        );
    }
}

fn variants(findings: &mut Vec<Finding>, path: &str, old: &[Case], new: &[Case]) {
    for case in old {
        let case_path = alloc::format!("{path}({})", case.name);
        match new.iter().find(|c| c.name == case.name) {
            None => {
                let message = alloc::format!(
                    "case \"{}\" removed: data holding it cannot be read",
                    case.name
                );
                push(findings, path, Severity::Warning, "case-removed", message);
            }
            Some(after) => match (&case.payload, &after.payload) {
                (Some(a), Some(b)) => walk(findings, &case_path, a, b),
                (None, None) => {}
                (Some(_), None) | (None, Some(_)) => {
                    let message =
                        alloc::format!("case \"{}\" changed whether it carries data", case.name);
                    push(
                        findings,
                        &case_path,
                        Severity::Breaking,
                        "case-payload-changed",
                        message,
                    );
                }
            },
        }
    }
    for case in new.iter().filter(|c| !old.iter().any(|o| o.name == c.name)) {
        push(
            findings,
            path,
            Severity::Info,
            "case-added",
            alloc::format!("case \"{}\" added", case.name),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::boxed::Box;
    use alloc::vec;

    fn record(fields: Vec<Field>) -> Type {
        Type::Record {
            name: "s".into(),
            fields,
        }
    }

    fn field(name: &str, ty: Type, has_default: bool) -> Field {
        Field {
            name: name.into(),
            ty,
            has_default,
        }
    }

    fn rules(old: &Type, new: &Type) -> Vec<(String, Severity, &'static str)> {
        compare(old, new)
            .into_iter()
            .map(|f| (f.path, f.severity, f.rule))
            .collect()
    }

    #[test]
    fn field_changes() {
        let old = record(vec![
            field("a", Type::U32, false),
            field("gone", Type::String, false),
        ]);
        let new = record(vec![
            field("a", Type::U64, false),
            field("b", Type::Bool, true),
            field("limit", Type::U32, false),
        ]);
        assert_eq!(
            rules(&old, &new),
            vec![
                ("state.a".into(), Severity::Info, "number-widened"),
                ("state.b".into(), Severity::Info, "field-added-with-default"),
                (
                    "state.limit".into(),
                    Severity::Breaking,
                    "field-added-without-default"
                ),
                ("state.gone".into(), Severity::Info, "field-removed"),
            ]
        );
        assert!(!can_read(&old, &new));
        let limit = &compare(&old, &new)[2];
        assert_eq!(limit.message, "field \"limit\" added without default");
    }

    #[test]
    fn narrowing_and_retyping_break() {
        assert_eq!(
            rules(&Type::U64, &Type::U32),
            vec![("state".into(), Severity::Breaking, "number-narrowed")]
        );
        assert_eq!(
            rules(&Type::S32, &Type::U64),
            vec![("state".into(), Severity::Breaking, "number-narrowed")]
        );
        assert_eq!(
            rules(&Type::U32, &Type::S64),
            vec![("state".into(), Severity::Info, "number-widened")]
        );
        assert_eq!(
            rules(&Type::String, &Type::U8),
            vec![("state".into(), Severity::Breaking, "type-changed")]
        );
    }

    #[test]
    fn nested_paths() {
        let old = Type::List(Box::new(record(vec![field("email", Type::String, false)])));
        let new = Type::List(Box::new(record(vec![field(
            "email",
            Type::Option(Box::new(Type::String)),
            false,
        )])));
        assert_eq!(
            rules(&old, &new),
            vec![("state[].email".into(), Severity::Breaking, "type-changed")]
        );
    }

    #[test]
    fn cases_removed_warn_and_added_inform() {
        let old = Type::Enum {
            name: "e".into(),
            cases: vec!["a".into(), "b".into()],
        };
        let new = Type::Variant {
            name: "e".into(),
            cases: vec![
                Case {
                    name: "a".into(),
                    payload: None,
                },
                Case {
                    name: "c".into(),
                    payload: Some(Type::U8),
                },
            ],
        };
        assert_eq!(
            rules(&old, &new),
            vec![
                ("state".into(), Severity::Warning, "case-removed"),
                ("state".into(), Severity::Info, "case-added")
            ]
        );
        assert!(can_read(&old, &new));
    }
}
