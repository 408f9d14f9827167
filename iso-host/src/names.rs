//! How a user names an export: the spellings that reach a function, and
//! splitting a call's name off its WAVE arguments.
//!
//! A function exported at the top of a world is its own name (`get`). A
//! function inside an exported interface `local:store/api@0.1.0` can be
//! written three ways:
//!
//! - `put`, when no other export has a function of that name;
//! - `api.put`, the interface's own name and the function (always works
//!   unless two interfaces share that name);
//! - `local:store/api@0.1.0#put`, the component model's full name (the
//!   version may be left out: `local:store/api#put`).
//!
//! The host's own `iso:app/state` functions are reached by their full name
//! only, so they never make a guest's `save` or `api.save` ambiguous.
//!
//! A runtime of several apps will put the app's name in front
//! (`store.api.put`) and strip it before the name reaches [`resolve`].

use crate::app::ExportFunc;
use crate::error::HostError;

/// The name a user types for `interface` (`local:store/api@0.1.0` -> `api`,
/// `greetings` -> `greetings`).
pub fn interface_short_name(interface: &str) -> &str {
    let unversioned = unversioned(interface);
    unversioned
        .rsplit_once('/')
        .map_or(unversioned, |(_, name)| name)
}

/// `interface` without its `@version`.
fn unversioned(interface: &str) -> &str {
    interface
        .split_once('@')
        .map_or(interface, |(name, _)| name)
}

/// Whether `spelling` names `export`, in any of the three spellings.
fn names(spelling: &str, export: &ExportFunc) -> bool {
    if spelling == export.name {
        return true;
    }
    let Some(interface) = export
        .interface
        .as_deref()
        .filter(|_| !export.is_host_own())
    else {
        return false;
    };
    if let Some((named, func)) = spelling.split_once('#') {
        // A version, when given, must link to the interface's, as wasmtime's
        // linker links them: `@0.1.0` names `@0.1.3`, not `@0.2.0`.
        let same = match named.contains('@') {
            true => iso_compat::linked_name(named, [interface]).is_some(),
            false => named == unversioned(interface),
        };
        return func == export.func && same;
    }
    match spelling.rsplit_once('.') {
        Some((named, func)) => {
            func == export.func
                && (named == interface_short_name(interface) || named == unversioned(interface))
        }
        None => spelling == export.func,
    }
}

/// The export `spelling` names: exactly one, or an error that lists the
/// spellings that work.
pub fn resolve<'a>(exports: &'a [ExportFunc], spelling: &str) -> Result<&'a ExportFunc, HostError> {
    if let Some(exact) = exports.iter().find(|e| e.name == spelling) {
        return Ok(exact);
    }
    let matches: Vec<&ExportFunc> = exports.iter().filter(|e| names(spelling, e)).collect();
    match matches.as_slice() {
        [one] => Ok(one),
        [] => Err(HostError::NoSuchExport {
            name: spelling.to_owned(),
            available: exports
                .iter()
                .filter(|e| !e.is_host_own())
                .map(|e| e.short.clone())
                .collect(),
        }),
        many => Err(HostError::AmbiguousExport {
            name: spelling.to_owned(),
            candidates: many.iter().map(|e| e.short.clone()).collect(),
        }),
    }
}

/// Every spelling that names `export` alone among `exports`, shortest
/// first: its function name, `interface.function`, and the full name.
pub fn spellings(exports: &[ExportFunc], export: &ExportFunc) -> Vec<String> {
    let mut candidates = vec![export.func.clone()];
    if let Some(interface) = &export.interface {
        candidates.push(format!(
            "{}.{}",
            interface_short_name(interface),
            export.func
        ));
    }
    let mut spellings: Vec<String> = candidates
        .into_iter()
        .filter(|spelling| exports.iter().filter(|e| names(spelling, e)).count() == 1)
        .filter(|spelling| names(spelling, export))
        .collect();
    if !spellings.contains(&export.name) {
        spellings.push(export.name.clone());
    }
    spellings
}

/// Gives each export the shortest spelling that names it alone.
pub(crate) fn assign_short_names(exports: &mut [ExportFunc]) {
    let shorts: Vec<String> = exports
        .iter()
        .map(|export| spellings(exports, export).remove(0))
        .collect();
    for (export, short) in exports.iter_mut().zip(shorts) {
        export.short = short;
    }
}

/// A call split into the export's name and its WAVE argument list:
/// `api.put("a", 2)` -> (`api.put`, `("a", 2)`). `None` without a `(`.
pub fn split_call(call: &str) -> Option<(&str, &str)> {
    let open = call.find('(')?;
    Some((call[..open].trim(), &call[open..]))
}

/// Whether WAVE's call parser takes `name` as it is (a plain kebab-case
/// name); other spellings are swapped for a stand-in before parsing.
pub(crate) fn is_wave_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '%')
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::STATE_INTERFACE;

    fn export(interface: Option<&str>, func: &str) -> ExportFunc {
        ExportFunc::new(interface, func, "func()".into())
    }

    fn exports() -> Vec<ExportFunc> {
        let mut exports = vec![
            export(None, "get"),
            export(Some("local:store/api@0.1.0"), "put"),
            export(Some("local:store/api@0.1.0"), "get"),
            export(Some("local:store/admin@0.1.0"), "reset"),
            export(Some("other:pkg/admin@1.0.0"), "reset"),
            export(Some(STATE_INTERFACE), "save"),
        ];
        assign_short_names(&mut exports);
        exports
    }

    #[test]
    fn short_names_are_the_shortest_that_name_one_export() {
        let shorts: Vec<String> = exports().into_iter().map(|e| e.short).collect();
        assert_eq!(
            shorts,
            [
                "get",
                "put",
                "api.get",
                "local:store/admin@0.1.0#reset",
                "other:pkg/admin@1.0.0#reset",
                "iso:app/state@0.1.0#save",
            ]
        );
    }

    #[test]
    fn the_host_state_functions_answer_to_their_full_name_only() {
        let exports = exports();
        assert!(resolve(&exports, "save").is_err());
        assert!(resolve(&exports, "state.save").is_err());
        let full = resolve(&exports, "iso:app/state@0.1.0#save").unwrap();
        assert_eq!(full.func, "save");
        let err = resolve(&exports, "nope").unwrap_err().to_string();
        assert!(!err.contains("save"), "{err}");
    }

    #[test]
    fn a_full_name_at_an_incompatible_version_names_nothing() {
        let exports = exports();
        assert!(resolve(&exports, "local:store/api@9.9.9#put").is_err());
        assert!(resolve(&exports, "local:store/api@0.2.0#put").is_err());
        assert!(resolve(&exports, "local:store/api@0.1.0#put").is_ok());
        let compatible = resolve(&exports, "local:store/api@0.1.7#put").unwrap();
        assert_eq!(compatible.name, "local:store/api@0.1.0#put");
    }

    #[test]
    fn spellings_are_the_ones_that_name_the_export_alone() {
        let exports = exports();
        assert_eq!(
            spellings(&exports, &exports[1]),
            ["put", "api.put", "local:store/api@0.1.0#put"]
        );
        assert_eq!(
            spellings(&exports, &exports[2]),
            ["api.get", "local:store/api@0.1.0#get"]
        );
        assert_eq!(spellings(&exports, &exports[0]), ["get"]);
    }

    #[test]
    fn every_spelling_resolves() {
        let exports = exports();
        for spelling in [
            "put",
            "api.put",
            "local:store/api@0.1.0#put",
            "local:store/api#put",
            "local:store/api.put",
        ] {
            let found = resolve(&exports, spelling).unwrap();
            assert_eq!(found.name, "local:store/api@0.1.0#put", "{spelling}");
        }
        assert_eq!(resolve(&exports, "get").unwrap().name, "get");
        assert_eq!(
            resolve(&exports, "api.get").unwrap().name,
            "local:store/api@0.1.0#get"
        );
    }

    #[test]
    fn an_ambiguous_name_lists_the_spellings_that_work() {
        let err = resolve(&exports(), "admin.reset").unwrap_err().to_string();
        assert!(
            err.contains("`local:store/admin@0.1.0#reset`, `other:pkg/admin@1.0.0#reset`"),
            "{err}"
        );
        let err = resolve(&exports(), "nope").unwrap_err().to_string();
        assert!(err.contains("no export named `nope`"), "{err}");
        assert!(err.contains("put, api.get"), "{err}");
    }

    #[test]
    fn calls_split_before_the_arguments() {
        assert_eq!(
            split_call("local:store/api@0.1.0#put(\"a\", 2)"),
            Some(("local:store/api@0.1.0#put", "(\"a\", 2)"))
        );
        assert_eq!(split_call("get"), None);
        assert!(is_wave_name("get-all"));
        assert!(!is_wave_name("api.get"));
    }
}
