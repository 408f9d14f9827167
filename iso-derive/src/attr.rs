//! Parsing `#[schema(...)]` attributes.

use proc_macro2::Span;
use syn::spanned::Spanned;
use syn::{Attribute, ExprPath, LitStr};

/// How a field gets its value when old data lacks it.
pub enum DefaultKind {
    /// `#[schema(default)]`: `Default::default()`.
    Trait,
    /// `#[schema(default = "path")]`: `path()`.
    Path(ExprPath),
}

/// Everything `#[schema(...)]` can say; where each may appear is checked in `valid`.
#[derive(Default)]
pub struct Attrs {
    /// `default` or `default = "path"`, with its span.
    pub default: Option<(DefaultKind, Span)>,
    /// `rename = "name"`, with its span.
    pub rename: Option<(String, Span)>,
    /// `skip`, with its span.
    pub skip: Option<Span>,
}

/// Reads the `#[schema(...)]` attributes among `attrs`.
pub fn parse(attrs: &[Attribute]) -> syn::Result<Attrs> {
    let mut out = Attrs::default();
    for attr in attrs.iter().filter(|a| a.path().is_ident("schema")) {
        attr.parse_nested_meta(|meta| {
            let span = meta.path.span();
            if meta.path.is_ident("default") {
                let kind = if meta.input.peek(syn::Token![=]) {
                    let path: LitStr = meta.value()?.parse()?;
                    DefaultKind::Path(path.parse()?)
                } else {
                    DefaultKind::Trait
                };
                set(&mut out.default, (kind, span), span, "default")
            } else if meta.path.is_ident("rename") {
                let name: LitStr = meta.value()?.parse()?;
                set(&mut out.rename, (name.value(), name.span()), span, "rename")
            } else if meta.path.is_ident("skip") {
                set(&mut out.skip, span, span, "skip")
            } else {
                Err(meta.error("unknown schema attribute; expected `default`, `default = \"path\"`, `rename = \"name\"` or `skip`"))
            }
        })?;
    }
    Ok(out)
}

fn set<T>(slot: &mut Option<T>, value: T, span: Span, name: &str) -> syn::Result<()> {
    if slot.is_some() {
        return Err(syn::Error::new(span, format!("`{name}` is given twice")));
    }
    *slot = Some(value);
    Ok(())
}
