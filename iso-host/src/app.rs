//! [`App`]: a compiled component, ready to instantiate, with its exports and state schema.

use std::sync::Arc;

use wasmtime::Engine;
use wasmtime::component::types::ComponentItem;
use wasmtime::component::{Component, HasSelf, InstancePre, Linker};

use crate::bindings::Guest;
use crate::cache::{CacheHit, ComponentCache};
use crate::engine::IsoEngine;
use crate::error::HostError;
use crate::host::{HostState, PROVIDED};
use crate::names;

/// The export a guest's state lives behind.
pub const STATE_INTERFACE: &str = "iso:app/state@0.1.0";

/// The export a guest's own unit tests live behind (see [`crate::guest_tests`]).
pub const TESTS_INTERFACE: &str = "iso:app/tests@0.1.0";

/// One exported function.
#[derive(Debug, Clone)]
pub struct ExportFunc {
    /// Its full name: `increment`, or `iso:app/state@0.1.0#save` inside an interface.
    pub name: String,
    /// The interface it is in, e.g. `local:store/api@0.1.0`; `None` at the world's top.
    pub interface: Option<String>,
    /// The function's own name, e.g. `save`.
    pub func: String,
    /// The shortest spelling that names it alone (`put`, `api.put`, or the
    /// full name); see [`crate::names`].
    pub short: String,
    /// Its WIT type, e.g. `func(by: u32) -> u64`.
    pub ty: String,
    /// Its short name and type, e.g. `increment: func(by: u32) -> u64`.
    pub signature: String,
}

/// A compiled component, linked against the iso host and ready to instantiate.
pub struct App {
    pub(crate) engine: Arc<IsoEngine>,
    pub(crate) pre: InstancePre<HostState>,
    exports: Vec<ExportFunc>,
    has_state: bool,
}

impl App {
    /// Compiles (or loads from `cache`) and links a component.
    pub fn load(
        engine: Arc<IsoEngine>,
        cache: &ComponentCache,
        bytes: &[u8],
    ) -> Result<(App, CacheHit), HostError> {
        let (component, hit) = cache.load(engine.engine(), bytes)?;
        Ok((App::from_component(engine, &component)?, hit))
    }

    /// Links a compiled component against the iso host.
    pub fn from_component(engine: Arc<IsoEngine>, component: &Component) -> Result<App, HostError> {
        App::linked(engine, component, &[], |_| Ok(()))
    }

    /// Links a compiled component against the iso host and whatever `wire`
    /// defines for the imports named in `wired` (the runtime's forwarders).
    pub(crate) fn linked(
        engine: Arc<IsoEngine>,
        component: &Component,
        wired: &[String],
        wire: impl FnOnce(&mut Linker<HostState>) -> wasmtime::Result<()>,
    ) -> Result<App, HostError> {
        let ty = component.component_type();
        for (name, item) in ty.imports(engine.engine()) {
            let unfilled = !PROVIDED.contains(&name) && !wired.iter().any(|w| w == name);
            if unfilled && needs_definition(engine.engine(), &item.ty) {
                return Err(HostError::MissingImport {
                    name: name.to_owned(),
                });
            }
        }
        let mut linker = Linker::<HostState>::new(engine.engine());
        Guest::add_to_linker::<HostState, HasSelf<HostState>>(&mut linker, |state| state).map_err(
            |err| HostError::Invalid {
                reason: format!("linking the iso host: {err:#}"),
            },
        )?;
        wire(&mut linker).map_err(|err| HostError::Invalid {
            reason: format!("linking the wired imports: {err:#}"),
        })?;
        let pre = linker
            .instantiate_pre(component)
            .map_err(|err| HostError::Invalid {
                reason: format!("{err:#}"),
            })?;
        let (exports, has_state) = export_funcs(engine.engine(), component);
        Ok(App {
            engine,
            pre,
            exports,
            has_state,
        })
    }

    /// The exported functions, in the component's order.
    pub fn exports(&self) -> &[ExportFunc] {
        &self.exports
    }

    /// The app's own exported functions, in order: all but those of the
    /// host's `iso:app` interfaces (see [`ExportFunc::is_host_own`]).
    pub fn user_exports(&self) -> impl Iterator<Item = &ExportFunc> {
        self.exports.iter().filter(|e| !e.is_host_own())
    }

    /// The wasmtime type of the export `name`, by its full name
    /// (`local:store/api@0.1.0#get`, or `get` at the top level).
    pub fn func_type(&self, name: &str) -> Option<wasmtime::component::types::ComponentFunc> {
        func_type_of(self.engine.engine(), self.pre.component(), name)
    }

    /// Checks the WAVE text of a call (`increment(5)`, `api.put("a", 2)`)
    /// against the export it names, without making it: the export's full
    /// name and the arguments, or the error the call would fail with.
    pub fn check_call(
        &self,
        call: &str,
    ) -> Result<(String, Vec<wasmtime::component::Val>), HostError> {
        let call = call.trim();
        let (name, parsed) = crate::instance::parse_call(call)?;
        let export = self.resolve(name)?;
        let func = self
            .func_type(&export.name)
            .ok_or_else(|| HostError::Invalid {
                reason: format!("the component has no export `{}`", export.name),
            })?;
        let types: Vec<wasmtime::component::Type> = func.params().map(|(_, ty)| ty).collect();
        let args = parsed.args(call, &types, || export.signature.clone())?;
        Ok((export.name.clone(), args))
    }

    /// The export that `spelling` names (`put`, `api.put` or
    /// `local:store/api@0.1.0#put`; see [`crate::names`]), or an error that
    /// lists the exports, or the spellings that tell an ambiguous name apart.
    pub fn resolve(&self, spelling: &str) -> Result<&ExportFunc, HostError> {
        names::resolve(&self.exports, spelling)
    }

    /// Whether it exports `iso:app/state`, so its state can be saved and restored.
    pub fn has_state(&self) -> bool {
        self.has_state
    }
}

impl ExportFunc {
    /// Whether it is one of the host's own, in `iso:app/state` or
    /// `iso:app/tests`, rather than the guest's: listings leave these out,
    /// and only their full names name them.
    pub fn is_host_own(&self) -> bool {
        matches!(
            self.interface.as_deref(),
            Some(STATE_INTERFACE | TESTS_INTERFACE)
        )
    }

    /// Function `func` of `interface` (or of the world) of WIT type `ty`,
    /// with no short name yet.
    pub(crate) fn new(interface: Option<&str>, func: &str, ty: String) -> ExportFunc {
        let name = match interface {
            Some(interface) => format!("{interface}#{func}"),
            None => func.to_owned(),
        };
        ExportFunc {
            name,
            interface: interface.map(str::to_owned),
            func: func.to_owned(),
            short: String::new(),
            ty,
            signature: String::new(),
        }
    }
}

/// A function's WIT type, e.g. `func(by: u32) -> u64`.
fn func_type(func: &wasmtime::component::types::ComponentFunc) -> String {
    let params: Vec<String> = func
        .params()
        .map(|(name, ty)| format!("{name}: {}", type_name(&ty)))
        .collect();
    let results: Vec<String> = func.results().map(|ty| type_name(&ty)).collect();
    let arrow = match results.as_slice() {
        [] => String::new(),
        [one] => format!(" -> {one}"),
        many => format!(" -> ({})", many.join(", ")),
    };
    format!("func({}){arrow}", params.join(", "))
}

/// A short WIT-like name for a type.
pub(crate) fn type_name(ty: &wasmtime::component::Type) -> String {
    use wasmtime::component::Type;
    match ty {
        Type::Bool => "bool".into(),
        Type::S8 => "s8".into(),
        Type::U8 => "u8".into(),
        Type::S16 => "s16".into(),
        Type::U16 => "u16".into(),
        Type::S32 => "s32".into(),
        Type::U32 => "u32".into(),
        Type::S64 => "s64".into(),
        Type::U64 => "u64".into(),
        Type::Float32 => "f32".into(),
        Type::Float64 => "f64".into(),
        Type::Char => "char".into(),
        Type::String => "string".into(),
        Type::List(list) => format!("list<{}>", type_name(&list.ty())),
        Type::Option(option) => format!("option<{}>", type_name(&option.ty())),
        Type::Result(result) => {
            let side = |t: Option<Type>| t.map_or("_".to_owned(), |t| type_name(&t));
            format!("result<{}, {}>", side(result.ok()), side(result.err()))
        }
        Type::Tuple(tuple) => format!(
            "tuple<{}>",
            tuple
                .types()
                .map(|t| type_name(&t))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        Type::Record(record) => {
            let fields = record
                .fields()
                .map(|f| format!("{}: {}", f.name, type_name(&f.ty)));
            format!("record {{ {} }}", fields.collect::<Vec<_>>().join(", "))
        }
        Type::Variant(variant) => {
            let cases = variant.cases().map(|case| match case.ty {
                Some(ty) => format!("{}({})", case.name, type_name(&ty)),
                None => case.name.to_owned(),
            });
            format!("variant {{ {} }}", cases.collect::<Vec<_>>().join(", "))
        }
        Type::Enum(enumeration) => {
            format!(
                "enum {{ {} }}",
                enumeration.names().collect::<Vec<_>>().join(", ")
            )
        }
        Type::Flags(flags) => format!(
            "flags {{ {} }}",
            flags.names().collect::<Vec<_>>().join(", ")
        ),
        other => format!("{other:?}").to_lowercase(),
    }
}

/// Whether an import needs a definition in the linker: a function does,
/// and an instance with a function or a resource; an instance of types
/// alone (a WIT `interface types { record .. }`) links with nothing.
fn needs_definition(engine: &Engine, item: &ComponentItem) -> bool {
    match item {
        ComponentItem::ComponentInstance(instance) => {
            (instance.exports(engine)).any(|(_, export)| needs_definition(engine, &export.ty))
        }
        ComponentItem::Type(_) => false,
        _ => true,
    }
}

/// The exported functions of `component`, each with its shortest
/// spelling, and whether it exports `iso:app/state`.
pub(crate) fn export_funcs(engine: &Engine, component: &Component) -> (Vec<ExportFunc>, bool) {
    let mut exports = Vec::new();
    let mut has_state = false;
    for (name, item) in component.component_type().exports(engine) {
        match item.ty {
            ComponentItem::ComponentFunc(func) => {
                exports.push(ExportFunc::new(None, name, func_type(&func)));
            }
            ComponentItem::ComponentInstance(instance) => {
                has_state |= name == STATE_INTERFACE;
                for (func_name, item) in instance.exports(engine) {
                    if let ComponentItem::ComponentFunc(func) = item.ty {
                        let ty = func_type(&func);
                        exports.push(ExportFunc::new(Some(name), func_name, ty));
                    }
                }
            }
            _ => {}
        }
    }
    names::assign_short_names(&mut exports);
    for export in &mut exports {
        export.signature = format!("{}: {}", export.short, export.ty);
    }
    (exports, has_state)
}

/// The wasmtime type of `component`'s export `name`, by its full name
/// (`local:store/api@0.1.0#get`, or `get` at the top level).
pub(crate) fn func_type_of(
    engine: &Engine,
    component: &Component,
    name: &str,
) -> Option<wasmtime::component::types::ComponentFunc> {
    let component = component.component_type();
    let item = match name.split_once('#') {
        Some((interface, func)) => match component.get_export(engine, interface)?.ty {
            ComponentItem::ComponentInstance(instance) => instance.get_export(engine, func)?.ty,
            _ => return None,
        },
        None => component.get_export(engine, name)?.ty,
    };
    match item {
        ComponentItem::ComponentFunc(func) => Some(func),
        _ => None,
    }
}
