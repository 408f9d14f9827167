//! `#[derive(Schema)]` for cargo-iso guest state.
//!
//! Split into stages, each in its own module: [`ast`] parses the input and
//! its `#[schema(...)]` attributes ([`attr`]), [`valid`] rejects what a
//! schema cannot describe with spanned errors, and [`expand`] writes the
//! `iso_schema::Schema` impl. See the `iso-schema` crate for the attributes.
//!
//! It also holds a helper of `iso_guest::generate!` ([`world`]), which reads
//! the guest's world before wit-bindgen does, and `#[iso_guest::test]`
//! ([`test_attr`]).

use proc_macro::TokenStream;

mod ast;
mod attr;
mod expand;
mod test_attr;
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

/// Used by `iso_guest::generate!`: implements the `iso:app` exports that
/// the guest's world (in `wit/`) has: `iso:app/state` through the state
/// that `iso_guest::state!` keeps, and `iso:app/tests` through the tests
/// that `#[iso_guest::test]` registers. Not for direct use.
#[doc(hidden)]
#[proc_macro]
pub fn __app_exports(_input: TokenStream) -> TokenStream {
    world::app_export_glue().into()
}

/// `#[iso_guest::test]`: registers a function as a unit test that
/// `cargo iso test` runs inside the host. See `iso_guest::test`.
#[proc_macro_attribute]
pub fn test(attr: TokenStream, item: TokenStream) -> TokenStream {
    test_attr::expand(attr.into(), item.into())
        .unwrap_or_else(syn::Error::into_compile_error)
        .into()
}
