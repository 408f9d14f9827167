//! `#[derive(Schema)]` for cargo-iso guest state.
//!
//! Split into stages, each in its own module: [`ast`] parses the input and
//! its `#[schema(...)]` attributes ([`attr`]), [`valid`] rejects what a
//! schema cannot describe with spanned errors, and [`expand`] writes the
//! `iso_schema::Schema` impl. See the `iso-schema` crate for the attributes.

use proc_macro::TokenStream;

mod ast;
mod attr;
mod expand;
mod valid;

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
