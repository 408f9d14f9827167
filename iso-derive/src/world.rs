//! What `iso_guest::generate!` needs to know of the guest's world before
//! wit-bindgen has read it: whether the world exports `iso:app/state` and
//! `iso:app/tests`, which the SDK implements rather than the guest.
//!
//! With the state export the crate must keep state (`iso_guest::state!`).
//! The glue written here routes the export to the state the crate keeps,
//! so a crate that keeps none gets one error that names the fix, rather
//! than wit-bindgen's unexplained trait errors. The tests export is routed
//! to the tests that `#[iso_guest::test]` registers.

use std::path::Path;

use proc_macro2::TokenStream;
use quote::quote;

/// The glue of each `iso:app` export that the world in `wit/` has.
pub fn app_export_glue() -> TokenStream {
    let Some(dir) = std::env::var_os("CARGO_MANIFEST_DIR") else {
        return TokenStream::new();
    };
    let texts = world_texts(&Path::new(&dir).join("wit"));
    let mut glue = TokenStream::new();
    if texts.iter().any(|text| text_exports_state(text)) {
        glue.extend(state_glue());
    }
    if texts.iter().any(|text| text_exports_tests(text)) {
        glue.extend(tests_glue());
    }
    glue
}

/// `iso:app/tests`, through the tests `#[iso_guest::test]` registers.
fn tests_glue() -> TokenStream {
    quote! {
        impl<C> exports::iso::app::tests::Guest for C {
            fn names() -> ::std::vec::Vec<::std::string::String> {
                ::iso_guest::testing::names()
            }
            fn run(
                name: ::std::string::String,
            ) -> ::std::result::Result<(), ::std::string::String> {
                ::iso_guest::testing::run(&name)
            }
        }
    }
}

/// `iso:app/state`, through the state `iso_guest::state!` keeps.
fn state_glue() -> TokenStream {
    quote! {
        impl<C> exports::iso::app::state::Guest for C {
            fn schema() -> ::std::string::String {
                <__IsoState as ::iso_guest::KeptState>::schema()
            }
            fn save() -> ::std::vec::Vec<u8> {
                <__IsoState as ::iso_guest::KeptState>::save()
            }
            fn restore(
                bytes: ::std::vec::Vec<u8>,
            ) -> ::std::result::Result<(), ::std::string::String> {
                <__IsoState as ::iso_guest::KeptState>::restore(bytes)
            }
        }
    }
}

/// The text of each `.wit` file in `dir`.
fn world_texts(dir: &Path) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter(|entry| entry.path().extension().is_some_and(|e| e == "wit"))
        .filter_map(|entry| std::fs::read_to_string(entry.path()).ok())
        .collect()
}

/// Whether WIT `text` includes `iso:app/guest` or exports `iso:app/state`,
/// in any statement outside comments.
fn text_exports_state(text: &str) -> bool {
    has_statement(text, |statement| {
        (statement.starts_with("include ") && statement.contains("iso:app/guest"))
            || (statement.starts_with("export ") && statement.contains("iso:app/state"))
    })
}

/// Whether WIT `text` includes `iso:app/guest` or `iso:app/stateless`
/// (which export `iso:app/tests`), or exports `iso:app/tests` itself.
fn text_exports_tests(text: &str) -> bool {
    has_statement(text, |statement| {
        (statement.starts_with("include ")
            && (statement.contains("iso:app/guest") || statement.contains("iso:app/stateless")))
            || (statement.starts_with("export ") && statement.contains("iso:app/tests"))
    })
}

/// Whether a statement of WIT `text`, outside comments, passes `test`.
fn has_statement(text: &str, test: impl Fn(&str) -> bool) -> bool {
    without_comments(text)
        .split([';', '{', '}'])
        .map(str::trim)
        .any(test)
}

/// `text` without its `//` and `/* */` comments.
fn without_comments(text: &str) -> String {
    let mut code = String::new();
    let mut rest = text;
    loop {
        let line = rest.find("//");
        let block = rest.find("/*");
        match (line, block) {
            (Some(at), block) if block.is_none_or(|b| at < b) => {
                code.push_str(&rest[..at]);
                rest = rest[at..].find('\n').map_or("", |end| &rest[at + end..]);
            }
            (_, Some(at)) => {
                code.push_str(&rest[..at]);
                code.push(' ');
                rest = rest[at + 2..]
                    .find("*/")
                    .map_or("", |end| &rest[at + 2 + end + 2..]);
            }
            _ => {
                code.push_str(rest);
                return code;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{text_exports_state, text_exports_tests};

    #[test]
    fn finds_the_tests_export_in_both_iso_worlds() {
        assert!(text_exports_tests(
            "world a { include iso:app/guest@0.1.0; }"
        ));
        assert!(text_exports_tests(
            "world a { include iso:app/stateless@0.1.0; }"
        ));
        assert!(text_exports_tests(
            "world a { export iso:app/tests@0.1.0; }"
        ));
        assert!(!text_exports_tests(
            "world a { import iso:host/log@0.1.0; export run: func(); }"
        ));
    }

    #[test]
    fn finds_the_state_export_outside_comments() {
        assert!(text_exports_state(
            "world a {\n  include iso:app/guest@0.1.0;\n}"
        ));
        assert!(text_exports_state(
            "world a { }\n  export iso:app/state@0.1.0;"
        ));
        assert!(!text_exports_state(
            "world a {\n  include iso:app/stateless@0.1.0;\n}"
        ));
        assert!(!text_exports_state(
            "// include iso:app/guest@0.1.0;\nworld a {}"
        ));
        assert!(text_exports_state(
            "world a { include iso:app/guest@0.1.0; }"
        ));
        assert!(!text_exports_state(
            "world a { /* include iso:app/guest@0.1.0; */ include iso:app/stateless@0.1.0; }"
        ));
        assert!(text_exports_state(
            "/// docs\nworld a { /* note */ include iso:app/guest@0.1.0; }"
        ));
    }
}
