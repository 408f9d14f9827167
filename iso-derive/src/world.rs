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

/// Whether WIT `text` includes `iso:app/guest` or exports `iso:app/state`, outside comments.
fn text_exports_state(text: &str) -> bool {
    text.lines().any(|line| {
        let code = line.split("//").next().unwrap_or("").trim();
        (code.starts_with("include ") && code.contains("iso:app/guest"))
            || (code.starts_with("export ") && code.contains("iso:app/state"))
    })
}

#[cfg(test)]
mod tests {
    use super::text_exports_state;

    #[test]
    fn finds_the_state_export_outside_comments() {
        assert!(text_exports_state("world a {\n  include iso:app/guest@0.1.0;\n}"));
        assert!(text_exports_state("world a { }\n  export iso:app/state@0.1.0;"));
        assert!(!text_exports_state(
            "world a {\n  include iso:app/stateless@0.1.0;\n}"
        ));
        assert!(!text_exports_state(
            "// include iso:app/guest@0.1.0;\nworld a {}"
        ));
    }
}
