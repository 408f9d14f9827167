//! Writing the `Schema` impl.

use proc_macro2::TokenStream;
use quote::quote;

use crate::ast::{Data, Field, Fields, Input, Style, Variant};
use crate::attr::DefaultKind;

/// The `impl Schema for ...` block.
pub fn impl_schema(input: &Input) -> TokenStream {
    let krate = crate_path();
    let ident = input.ident;
    let mut generics = input.generics.clone();
    let params: Vec<_> = generics.type_params().map(|p| p.ident.clone()).collect();
    let where_clause = generics.make_where_clause();
    for param in params {
        where_clause
            .predicates
            .push(syn::parse_quote!(#param: #krate::Schema));
    }
    let (impl_generics, ty_generics, where_clause) = generics.split_for_impl();
    let (schema, to_value, from_value) = match &input.data {
        Data::Struct(fields) => (
            fields_type(&krate, &input.name, fields),
            struct_to_value(&krate, fields),
            struct_from_value(fields),
        ),
        Data::Enum(variants) => (
            enum_type(&krate, &input.name, variants),
            enum_to_value(&krate, variants),
            enum_from_value(variants),
        ),
    };
    quote! {
        #[automatically_derived]
        impl #impl_generics #krate::Schema for #ident #ty_generics #where_clause {
            fn schema() -> #krate::Type {
                #schema
            }
            fn to_value(&self) -> #krate::Value {
                #to_value
            }
            fn from_value(value: #krate::Value, reader: &mut #krate::Reader) -> ::core::result::Result<Self, #krate::ReadError> {
                #from_value
            }
        }
    }
}

/// `::iso_schema`, or the `iso-guest` re-export when the crate only depends on that.
fn crate_path() -> TokenStream {
    use proc_macro_crate::{FoundCrate, crate_name};
    let named = |name: String| {
        let ident = syn::Ident::new(&name, proc_macro2::Span::call_site());
        quote!(::#ident)
    };
    match crate_name("iso-schema") {
        Ok(FoundCrate::Name(name)) => named(name),
        Ok(FoundCrate::Itself) => quote!(::iso_schema),
        Err(_) => match crate_name("iso-guest") {
            Ok(FoundCrate::Name(name)) => {
                let root = named(name);
                quote!(#root::schema)
            }
            _ => quote!(::iso_schema),
        },
    }
}

/// The schema of a set of fields: a record, a tuple, or an empty record.
fn fields_type(krate: &TokenStream, name: &str, fields: &Fields) -> TokenStream {
    let kept: Vec<&Field> = fields.kept().collect();
    match fields.style {
        Style::Tuple => {
            let types = kept.iter().map(|f| &f.ty);
            quote!(#krate::Type::Tuple(#krate::__private::vec![#(<#types as #krate::Schema>::schema()),*]))
        }
        Style::Named | Style::Unit => {
            let entries = kept.iter().map(|f| {
                let (field_name, ty, has_default) = (&f.name, &f.ty, f.attrs.default.is_some());
                quote!(#krate::Field {
                    name: ::core::convert::Into::into(#field_name),
                    ty: <#ty as #krate::Schema>::schema(),
                    has_default: #has_default,
                })
            });
            quote!(#krate::Type::Record {
                name: ::core::convert::Into::into(#name),
                fields: #krate::__private::vec![#(#entries),*],
            })
        }
    }
}

/// Builds the `Value` of fields bound to their `binding` names.
fn fields_value(krate: &TokenStream, fields: &Fields) -> TokenStream {
    let kept: Vec<&Field> = fields.kept().collect();
    let bindings = kept.iter().map(|f| &f.binding);
    match fields.style {
        Style::Tuple => {
            quote!(#krate::Value::Tuple(#krate::__private::vec![#(#krate::Schema::to_value(#bindings)),*]))
        }
        Style::Named | Style::Unit => {
            let names = kept.iter().map(|f| &f.name);
            quote!(#krate::Value::Record(#krate::__private::vec![
                #((::core::convert::Into::into(#names), #krate::Schema::to_value(#bindings))),*
            ]))
        }
    }
}

/// `Self { a: __field0, .. }` / `Self(__field0, ..)` as a pattern or expression.
fn constructor(path: TokenStream, fields: &Fields) -> TokenStream {
    let members = fields.fields.iter().map(|f| &f.member);
    let bindings = fields.fields.iter().map(|f| &f.binding);
    match fields.style {
        Style::Unit => path,
        _ => quote!(#path { #(#members: #bindings),* }),
    }
}

fn struct_to_value(krate: &TokenStream, fields: &Fields) -> TokenStream {
    let pattern = constructor(quote!(Self), fields);
    let value = fields_value(krate, fields);
    quote! {
        #[allow(unused_variables)]
        let #pattern = self;
        #value
    }
}

/// Reads `value` into bindings, then builds `path` from them.
fn read_fields(path: TokenStream, fields: &Fields) -> TokenStream {
    let build = constructor(path, fields);
    let reads = fields.fields.iter().map(|f| {
        let binding = &f.binding;
        let value = match (&f.attrs.default, f.attrs.skip) {
            (Some((DefaultKind::Path(path), _)), Some(_)) => quote!(#path()),
            (_, Some(_)) => quote!(::core::default::Default::default()),
            _ => read_field(f, fields.style),
        };
        quote!(let #binding = #value;)
    });
    let start = match fields.style {
        Style::Tuple => {
            let len = fields.kept().count();
            quote!(let mut items = ::core::iter::IntoIterator::into_iter(reader.tuple(value, #len)?).enumerate();)
        }
        Style::Named | Style::Unit => quote!(let mut fields = reader.record(value)?;),
    };
    let finish = match fields.style {
        Style::Tuple => quote!(),
        Style::Named | Style::Unit => quote!(fields.finish(reader);),
    };
    quote! {
        #start
        #(#reads)*
        #finish
        ::core::result::Result::Ok(#build)
    }
}

fn read_field(field: &Field, style: Style) -> TokenStream {
    let name = &field.name;
    match (style, &field.attrs.default) {
        (Style::Tuple, _) => quote! {{
            let (index, item) = items.next().expect("tuple length was checked");
            reader.element(index, item)?
        }},
        (_, None) => quote!(fields.required(reader, #name)?),
        (_, Some((DefaultKind::Trait, _))) => {
            quote!(fields.or_default(reader, #name, ::core::default::Default::default)?)
        }
        (_, Some((DefaultKind::Path(path), _))) => quote!(fields.or_default(reader, #name, #path)?),
    }
}

fn struct_from_value(fields: &Fields) -> TokenStream {
    read_fields(quote!(Self), fields)
}

fn is_plain_enum(variants: &[Variant]) -> bool {
    variants.iter().all(|v| v.fields.style == Style::Unit)
}

fn enum_type(krate: &TokenStream, name: &str, variants: &[Variant]) -> TokenStream {
    if is_plain_enum(variants) {
        let cases = variants.iter().map(|v| &v.name);
        return quote!(#krate::Type::Enum {
            name: ::core::convert::Into::into(#name),
            cases: #krate::__private::vec![#(::core::convert::Into::into(#cases)),*],
        });
    }
    let cases = variants.iter().map(|v| {
        let case = &v.name;
        let payload = match v.fields.style {
            Style::Unit => quote!(::core::option::Option::None),
            Style::Tuple if v.fields.kept().count() == 1 => {
                let ty = &v.fields.kept().next().expect("one field").ty;
                quote!(::core::option::Option::Some(<#ty as #krate::Schema>::schema()))
            }
            _ => {
                let ty = fields_type(krate, case, &v.fields);
                quote!(::core::option::Option::Some(#ty))
            }
        };
        quote!(#krate::Case { name: ::core::convert::Into::into(#case), payload: #payload })
    });
    quote!(#krate::Type::Variant { name: ::core::convert::Into::into(#name), cases: #krate::__private::vec![#(#cases),*] })
}

fn is_newtype(variant: &Variant) -> bool {
    variant.fields.style == Style::Tuple && variant.fields.kept().count() == 1
}

fn enum_to_value(krate: &TokenStream, variants: &[Variant]) -> TokenStream {
    let plain = is_plain_enum(variants);
    let arms = variants.iter().map(|v| {
        let ident = v.ident;
        let case = &v.name;
        let pattern = constructor(quote!(Self::#ident), &v.fields);
        let value = if plain {
            quote!(#krate::Value::Enum(::core::convert::Into::into(#case)))
        } else if v.fields.style == Style::Unit {
            quote!(#krate::Value::Variant(::core::convert::Into::into(#case), ::core::option::Option::None))
        } else {
            let payload = if is_newtype(v) {
                let binding = &v.fields.kept().next().expect("one field").binding;
                quote!(#krate::Schema::to_value(#binding))
            } else {
                fields_value(krate, &v.fields)
            };
            quote!(#krate::Value::Variant(::core::convert::Into::into(#case), #krate::read::boxed(#payload)))
        };
        quote!(#[allow(unused_variables)] #pattern => #value,)
    });
    quote!(match self { #(#arms)* })
}

fn enum_from_value(variants: &[Variant]) -> TokenStream {
    let known = variants.iter().map(|v| &v.name);
    let arms = variants.iter().map(|v| {
        let ident = v.ident;
        let case = &v.name;
        let body = if v.fields.style == Style::Unit {
            quote! {
                reader.no_payload(&case, payload)?;
                ::core::result::Result::Ok(Self::#ident)
            }
        } else if is_newtype(v) {
            let build = constructor(quote!(Self::#ident), &v.fields);
            let reads = v.fields.fields.iter().map(|f| {
                let binding = &f.binding;
                if f.attrs.skip.is_some() {
                    quote!(let #binding = ::core::default::Default::default();)
                } else {
                    quote!(let #binding = reader.payload(&case, payload)?;)
                }
            });
            quote! {
                #(#reads)*
                ::core::result::Result::Ok(#build)
            }
        } else {
            let read = read_fields(quote!(Self::#ident), &v.fields);
            quote!(reader.payload_with(&case, payload, |reader, value| { #read }))
        };
        quote!(#case => { #body })
    });
    quote! {
        let (case, payload) = reader.variant(value)?;
        match case.as_str() {
            #(#arms)*
            other => ::core::result::Result::Err(reader.unknown_case(other, &[#(#known),*])),
        }
    }
}
