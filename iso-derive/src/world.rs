//! What `iso_guest::generate!` needs to know of the guest's world before
//! wit-bindgen has read it: whether the world exports `iso:app/state`.
//!
//! With that export the crate must keep state (`iso_guest::state!`). The
//! glue written here routes the export to the state the crate keeps, so a
//! crate that keeps none gets one error that names the fix, rather than
//! wit-bindgen's unexplained trait errors.

use std::path::Path;

use proc_macro2::TokenStream;
use quote::quote;

/// The `iso:app/state` export glue when the world in `wit/` exports it; else nothing.
pub fn state_export_glue() -> TokenStream {
    let Some(dir) = std::env::var_os("CARGO_MANIFEST_DIR") else {
        return TokenStream::new();
    };
    if !exports_state(&Path::new(&dir).join("wit")) {
        return TokenStream::new();
    }
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

/// Whether a `.wit` file in `dir` includes `iso:app/guest` or exports `iso:app/state`.
fn exports_state(dir: &Path) -> bool {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return false;
    };
    entries
        .flatten()
        .filter(|entry| entry.path().extension().is_some_and(|e| e == "wit"))
        .filter_map(|entry| std::fs::read_to_string(entry.path()).ok())
        .any(|text| text_exports_state(&text))
}

/// Whether WIT `text` includes `iso:app/guest` or exports `iso:app/state`,
/// in any statement outside comments.
fn text_exports_state(text: &str) -> bool {
    without_comments(text)
        .split([';', '{', '}'])
        .map(str::trim)
        .any(|statement| {
            (statement.starts_with("include ") && statement.contains("iso:app/guest"))
                || (statement.starts_with("export ") && statement.contains("iso:app/state"))
        })
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
    use super::text_exports_state;

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
