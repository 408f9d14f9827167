//! `#[derive(Schema)]` for cargo-iso guest state.
//!
//! Split into stages, each in its own module: [`ast`] parses the input and
//! its `#[schema(...)]` attributes ([`attr`]), [`valid`] rejects what a
//! schema cannot describe with spanned errors, and [`expand`] writes the
//! `iso_schema::Schema` impl. See the `iso-schema` crate for the attributes.
//!
//! It also holds a helper of `iso_guest::generate!` ([`world`]), which reads
//! the guest's world before wit-bindgen does.

use proc_macro::TokenStream;

mod ast;
mod attr;
mod expand;
mod valid;
mod world;

/// Implements `iso_schema::Schema` for a struct or enum.
///
/// Field attributes: `#[schema(default)]`, `#[schema(default = "path::to::fn")]`,
/// `#[schema(rename = "name")]`, `#[schema(skip)]`. Variants and the type
/// itself take `#[schema(rename = "name")]`. Names are written kebab-case.
#[proc_macro_derive(Schema, attributes(schema))]
pub fn derive_schema(input: TokenStream) -> TokenStream {
    let input = syn::parse_macro_input!(input as syn::DeriveInput);
    ast::Input::from_syn(&input)
        .and_then(|parsed| valid::check(&parsed).map(|()| expand::impl_schema(&parsed)))
        .unwrap_or_else(syn::Error::into_compile_error)
        .into()
}

/// Used by `iso_guest::generate!`: when the guest's world (in `wit/`) exports
/// `iso:app/state`, implements that export through the state that
/// `iso_guest::state!` keeps. Not for direct use.
#[doc(hidden)]
#[proc_macro]
pub fn __state_export(_input: TokenStream) -> TokenStream {
    world::state_export_glue().into()
}
