//! Rejecting what a schema cannot describe, with errors pointing at the cause.

use std::collections::HashSet;

use crate::ast::{Data, Field, Fields, Input, Style};

/// Checks the whole input; all problems are reported at once.
pub fn check(input: &Input) -> syn::Result<()> {
    let mut errors = Errors(None);
    if let Some(span) = input.attrs.skip {
        errors.push(span, "`skip` applies to fields, not to the type");
    }
    if let Some((_, span)) = &input.attrs.default {
        errors.push(*span, "`default` applies to fields: put `#[schema(default)]` on the fields that may be missing");
    }
    match &input.data {
        Data::Struct(fields) => check_fields(&mut errors, fields),
        Data::Enum(variants) => {
            if variants.is_empty() {
                errors.push(
                    input.ident.span(),
                    "an enum with no variants has no values to save",
                );
            }
            let mut names = HashSet::new();
            for variant in variants {
                if let Some(span) = variant.attrs.skip {
                    errors.push(span, "variants cannot be skipped: old data may hold them");
                }
                if let Some((_, span)) = &variant.attrs.default {
                    errors.push(*span, "`default` applies to fields, not to variants");
                }
                check_name(
                    &mut errors,
                    &variant.name,
                    variant.attrs.rename.as_ref().map(|r| r.1),
                    variant.ident.span(),
                );
                if !names.insert(variant.name.clone()) {
                    errors.push(
                        variant.ident.span(),
                        &format!("two variants are named \"{}\" in the schema", variant.name),
                    );
                }
                check_fields(&mut errors, &variant.fields);
            }
        }
    }
    errors.0.map_or(Ok(()), Err)
}

struct Errors(Option<syn::Error>);

impl Errors {
    fn push(&mut self, span: proc_macro2::Span, message: &str) {
        let error = syn::Error::new(span, message);
        match &mut self.0 {
            Some(errors) => errors.combine(error),
            None => self.0 = Some(error),
        }
    }
}

fn check_fields(errors: &mut Errors, fields: &Fields) {
    let mut names = HashSet::new();
    for field in &fields.fields {
        check_field(errors, field, fields.style);
        if field.attrs.skip.is_none() && !names.insert(field.name.clone()) {
            let span = field
                .attrs
                .rename
                .as_ref()
                .map_or(field.span, |(_, span)| *span);
            errors.push(
                span,
                &format!("two fields are named \"{}\" in the schema", field.name),
            );
        }
    }
}

fn check_field(errors: &mut Errors, field: &Field, style: Style) {
    if let syn::Type::Reference(reference) = field.ty {
        errors.push(
            reference.and_token.span,
            "a reference cannot be restored from saved state: use an owned type such as `String`, `Vec<T>` or `Box<T>`",
        );
    }
    if style == Style::Tuple {
        if let Some((_, span)) = &field.attrs.rename {
            errors.push(*span, "tuple fields have no names to rename");
        }
        if let (Some((_, span)), None) = (&field.attrs.default, field.attrs.skip) {
            errors.push(*span, "tuple fields are matched by position, so they cannot be missing: `default` applies to named fields");
        }
    }
    if let (Some(_), Some((_, span))) = (field.attrs.skip, &field.attrs.rename) {
        errors.push(
            *span,
            "a skipped field is not in the schema, so it has no name to rename",
        );
    }
    if let Some((_, span)) = &field.attrs.rename {
        check_name(errors, &field.name, Some(*span), field.span);
    }
}

fn check_name(
    errors: &mut Errors,
    name: &str,
    rename: Option<proc_macro2::Span>,
    fallback: proc_macro2::Span,
) {
    let valid = !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        && !name.starts_with('-');
    if !valid {
        errors.push(
            rename.unwrap_or(fallback),
            &format!("\"{name}\" is not a schema name: use letters, digits, `-` and `_`, not starting with `-`"),
        );
    }
}
