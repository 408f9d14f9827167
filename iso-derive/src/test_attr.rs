//! `#[iso_guest::test]`: keeps the function as written and registers it
//! with `iso_guest::testing` in wasm32 builds with debug assertions, so
//! the `iso:app/tests` export can list and run it.

use proc_macro2::TokenStream;
use quote::quote;
use syn::spanned::Spanned;

/// The function, and its registration; or an error at what makes it no test.
pub fn expand(attr: TokenStream, item: TokenStream) -> syn::Result<TokenStream> {
    if !attr.is_empty() {
        return Err(syn::Error::new(
            attr.span(),
            "`#[iso_guest::test]` takes no arguments: write `#[iso_guest::test]`",
        ));
    }
    let function: syn::ItemFn = syn::parse2(item)?;
    check(&function.sig)?;
    let name = &function.sig.ident;
    Ok(quote! {
        // Outside test builds nothing calls it.
        #[allow(dead_code)]
        #function

        #[cfg(all(target_arch = "wasm32", debug_assertions))]
        ::iso_guest::testing::inventory::submit! {
            ::iso_guest::testing::Test::new(
                ::core::module_path!(),
                ::core::stringify!(#name),
                || ::iso_guest::testing::TestResult::into_result(#name()),
            )
        }
    })
}

/// Refuses what the host cannot call as a test: arguments, generics, `async`.
fn check(sig: &syn::Signature) -> syn::Result<()> {
    let refuse = |span: proc_macro2::Span, what: &str| {
        Err(syn::Error::new(
            span,
            format!("an `#[iso_guest::test]` function {what}"),
        ))
    };
    if let Some(asyncness) = &sig.asyncness {
        return refuse(asyncness.span(), "cannot be `async`");
    }
    if !sig.generics.params.is_empty() {
        return refuse(sig.generics.span(), "cannot be generic");
    }
    if !sig.inputs.is_empty() {
        return refuse(
            sig.inputs.span(),
            "takes no arguments: give the test its inputs in its body",
        );
    }
    Ok(())
}
