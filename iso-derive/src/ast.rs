//! The derive input as a model: the type, its fields or variants, and their schema names.

use proc_macro2::Span;
use syn::spanned::Spanned;

use crate::attr::{self, Attrs};

/// The type being derived.
pub struct Input<'a> {
    /// The type's name in Rust.
    pub ident: &'a syn::Ident,
    /// Its generics.
    pub generics: &'a syn::Generics,
    /// Its schema name (kebab-case, or the `rename`).
    pub name: String,
    /// Its container attributes.
    pub attrs: Attrs,
    /// Struct fields or enum variants.
    pub data: Data<'a>,
}

/// A struct or an enum.
pub enum Data<'a> {
    /// A struct's fields.
    Struct(Fields<'a>),
    /// An enum's variants.
    Enum(Vec<Variant<'a>>),
}

/// The fields of a struct or variant.
pub struct Fields<'a> {
    /// Named (`{ a: T }`), tuple (`(T)`) or unit.
    pub style: Style,
    /// The fields.
    pub fields: Vec<Field<'a>>,
}

/// How fields are written.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Style {
    /// `{ a: T }`
    Named,
    /// `(T, U)`
    Tuple,
    /// no fields
    Unit,
}

/// One field.
pub struct Field<'a> {
    /// `self.a` or `self.0`.
    pub member: syn::Member,
    /// A local name for it in patterns.
    pub binding: syn::Ident,
    /// Its Rust type.
    pub ty: &'a syn::Type,
    /// Its schema name.
    pub name: String,
    /// Its attributes.
    pub attrs: Attrs,
    /// Where it is, for errors.
    pub span: Span,
}

/// One enum variant.
pub struct Variant<'a> {
    /// The variant's name in Rust.
    pub ident: &'a syn::Ident,
    /// Its schema name.
    pub name: String,
    /// Its attributes.
    pub attrs: Attrs,
    /// Its fields.
    pub fields: Fields<'a>,
}

impl<'a> Input<'a> {
    /// Builds the model; unions and malformed attributes are errors here.
    pub fn from_syn(input: &'a syn::DeriveInput) -> syn::Result<Input<'a>> {
        let attrs = attr::parse(&input.attrs)?;
        let name = schema_name(&input.ident, &attrs);
        let data = match &input.data {
            syn::Data::Struct(data) => Data::Struct(Fields::from_syn(&data.fields)?),
            syn::Data::Enum(data) => Data::Enum(
                data.variants
                    .iter()
                    .map(Variant::from_syn)
                    .collect::<syn::Result<_>>()?,
            ),
            syn::Data::Union(data) => {
                return Err(syn::Error::new(
                    data.union_token.span,
                    "Schema cannot describe unions: use a struct or an enum",
                ));
            }
        };
        Ok(Input {
            ident: &input.ident,
            generics: &input.generics,
            name,
            attrs,
            data,
        })
    }
}

impl<'a> Fields<'a> {
    fn from_syn(fields: &'a syn::Fields) -> syn::Result<Fields<'a>> {
        let style = match fields {
            syn::Fields::Named(_) => Style::Named,
            syn::Fields::Unnamed(_) => Style::Tuple,
            syn::Fields::Unit => Style::Unit,
        };
        let fields = fields
            .iter()
            .enumerate()
            .map(|(i, field)| {
                let attrs = attr::parse(&field.attrs)?;
                let (member, name) = match &field.ident {
                    Some(ident) => (
                        syn::Member::Named(ident.clone()),
                        schema_name(ident, &attrs),
                    ),
                    None => (syn::Member::Unnamed(syn::Index::from(i)), i.to_string()),
                };
                Ok(Field {
                    member,
                    binding: quote::format_ident!("__field{}", i),
                    ty: &field.ty,
                    name,
                    attrs,
                    span: field.span(),
                })
            })
            .collect::<syn::Result<_>>()?;
        Ok(Fields { style, fields })
    }

    /// The fields that are in the schema (not `skip`ped).
    pub fn kept(&self) -> impl Iterator<Item = &Field<'a>> {
        self.fields.iter().filter(|f| f.attrs.skip.is_none())
    }
}

impl<'a> Variant<'a> {
    fn from_syn(variant: &'a syn::Variant) -> syn::Result<Variant<'a>> {
        let attrs = attr::parse(&variant.attrs)?;
        Ok(Variant {
            ident: &variant.ident,
            name: schema_name(&variant.ident, &attrs),
            attrs,
            fields: Fields::from_syn(&variant.fields)?,
        })
    }
}

fn schema_name(ident: &syn::Ident, attrs: &Attrs) -> String {
    match &attrs.rename {
        Some((name, _)) => name.clone(),
        None => kebab_case(&ident.to_string()),
    }
}

/// `RateLimiter` -> `rate-limiter`, `max_tokens` -> `max-tokens`, as WIT writes names.
pub fn kebab_case(ident: &str) -> String {
    let ident = ident.trim_start_matches("r#").trim_matches('_');
    let mut out = String::new();
    let mut previous_lower = false;
    for c in ident.chars() {
        if c == '_' {
            if !out.ends_with('-') {
                out.push('-');
            }
            previous_lower = false;
        } else if c.is_uppercase() {
            if previous_lower && !out.ends_with('-') {
                out.push('-');
            }
            out.extend(c.to_lowercase());
            previous_lower = false;
        } else {
            out.push(c);
            previous_lower = c.is_lowercase() || c.is_ascii_digit();
        }
    }
    out
}
