//! Can a new component be used wherever the old one was? The WIT side of
//! `cargo iso check-compat`: both worlds are compared item by item and
//! their types structurally, and every difference becomes a [`Finding`]
//! with the item, the path inside its type, a severity and a stable rule id.
//!
//! The component model links by exact type, so any change to the type of a
//! function a user calls is breaking; additions of exports and removals of
//! imports are safe and listed as info, for release notes.
//!
//! Interfaces of versioned packages are matched across semver-compatible
//! versions, as wasmtime's linker links them (`wasi:io/streams@0.2.0` with
//! `@0.2.3`); the version change is a finding of its own.
//!
//! [`compare_worlds`] answers check-compat's question (can NEW replace
//! OLD?); [`check_provider`] answers the wiring question (can this
//! component's export fill that component's import?) with the same rules.

use std::collections::HashSet;

use iso_schema::evolve::Severity;
use semver::Version;
use serde::Serialize;
use wit_parser::{
    Function, FunctionKind, Handle, InterfaceId, Resolve, Type, TypeDefKind, TypeId, WorldId,
    WorldItem, WorldKey,
};

/// One difference between the old and the new world.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// How much it matters to users of the old version.
    #[serde(serialize_with = "as_text")]
    pub severity: Severity,
    /// A stable id, e.g. `export-removed` or `record-field-added`.
    pub rule: &'static str,
    /// The item, e.g. `export get-user`.
    pub item: String,
    /// Where inside the item's type, e.g. `result.ok: record user`; empty for the item itself.
    pub path: String,
    /// What changed, e.g. `field "email" added`.
    pub message: String,
}

fn as_text<S: serde::Serializer>(severity: &Severity, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(severity)
}

impl std::fmt::Display for Finding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.path.is_empty() {
            true => write!(f, "{}: {} [{}]", self.item, self.message, self.rule),
            false => write!(
                f,
                "{}: {}: {} [{}]",
                self.item, self.path, self.message, self.rule
            ),
        }
    }
}

/// One side: a decoded component's types and its world.
pub struct Side<'a> {
    /// Every package and type the component mentions.
    pub resolve: &'a Resolve,
    /// Its world.
    pub world: WorldId,
}

/// Every difference that matters when NEW replaces OLD.
///
/// Items are matched as wasmtime's linker matches them: by name, and an
/// interface of a versioned package also at any semver-compatible version
/// (see `ItemName::matches`), so a package bump from 0.2.0 to 0.2.3 reads
/// as a version change of each item, not as everything removed and added.
pub fn compare_worlds(old: &Side, new: &Side) -> Vec<Finding> {
    let mut diff = Diff::new(old.resolve, new.resolve);
    let (old_world, new_world) = (
        &old.resolve.worlds[old.world],
        &new.resolve.worlds[new.world],
    );
    diff.exports(
        &named(old.resolve, old_world.exports.iter()),
        &named(new.resolve, new_world.exports.iter()),
    );
    diff.imports(&imported(old), &imported(new));
    diff.findings
}

/// How `provider`'s export falls short of what `importer` imports as
/// `import` (e.g. `local:store/api@0.1.0`), for wiring one component's
/// import to another's export. The export is found at a semver-compatible
/// version and compared as a new version of the import: every function the
/// importer uses must be there with its type, and more are fine (info).
/// Any breaking finding means the provider cannot fill the import.
pub fn check_provider(importer: &Side, import: &str, provider: &Side) -> Vec<Finding> {
    let mut diff = Diff::new(importer.resolve, provider.resolve);
    diff.filling = true;
    let imports = imported(importer);
    let exports = named(
        provider.resolve,
        provider.resolve.worlds[provider.world].exports.iter(),
    );
    let Some(needed) = counterpart(&ItemName::parse(import), &imports) else {
        diff.at(Direction::Import, import);
        let message = "the importing component has no such import".to_owned();
        diff.push(Severity::Breaking, "import-unknown", "", message);
        return diff.findings;
    };
    match counterpart(&needed.name, &exports) {
        Some(offered) => diff.matched(Direction::Export, needed, offered),
        None => {
            diff.at(Direction::Export, &needed.full);
            let message = "the provider does not export it at a compatible version".to_owned();
            diff.push(Severity::Breaking, "export-missing", "", message);
        }
    }
    diff.findings
}

/// A world's function or interface, with its name.
struct Named {
    /// The name as the world spells it, e.g. `wasi:http/incoming-handler@0.2.0` or `get`.
    full: String,
    /// The same name split at its version.
    name: ItemName,
    /// The item itself (its types come with it).
    item: WorldItem,
}

/// The names of `world`'s imports that a host must provide: its functions
/// and interfaces, not its types (a `use` of a type is no component
/// import), nor interfaces of types alone (see [`needs_provider`]).
pub fn import_names(resolve: &Resolve, world: WorldId) -> Vec<String> {
    (imported(&Side { resolve, world }).into_iter())
        .map(|n| n.full)
        .collect()
}

/// Whether an imported item needs a provider: a function does, and an
/// interface with a function or a resource. An interface of types alone
/// (`interface types { record todo {..} }`, used by the others) needs
/// none: wasmtime links it with nothing, and its types come with the
/// functions that use them.
pub fn needs_provider(resolve: &Resolve, item: &WorldItem) -> bool {
    match item {
        WorldItem::Function(_) => true,
        WorldItem::Type { .. } => false,
        WorldItem::Interface { id, .. } => {
            let interface = &resolve.interfaces[*id];
            !interface.functions.is_empty()
                || (interface.types.values())
                    .any(|ty| matches!(resolve.types[*ty].kind, TypeDefKind::Resource))
        }
    }
}

/// A side's imports that need a provider (see [`needs_provider`]).
fn imported(side: &Side) -> Vec<Named> {
    let imports = side.resolve.worlds[side.world].imports.iter();
    let needed = imports.filter(|(_, item)| needs_provider(side.resolve, item));
    named(side.resolve, needed)
}

/// The names of `world`'s exports: its functions and interfaces.
pub fn export_names(resolve: &Resolve, world: WorldId) -> Vec<String> {
    item_names(resolve, resolve.worlds[world].exports.iter())
}

fn item_names<'a>(
    resolve: &Resolve,
    items: impl Iterator<Item = (&'a WorldKey, &'a WorldItem)>,
) -> Vec<String> {
    named(resolve, items).into_iter().map(|n| n.full).collect()
}

/// A world's functions and interfaces by name (types come with them).
fn named<'a>(
    resolve: &Resolve,
    items: impl Iterator<Item = (&'a WorldKey, &'a WorldItem)>,
) -> Vec<Named> {
    items
        .filter(|(_, item)| !matches!(item, WorldItem::Type { .. }))
        .map(|(key, item)| {
            let full = resolve.name_world_key(key);
            Named {
                name: ItemName::parse(&full),
                full,
                item: item.clone(),
            }
        })
        .collect()
}

/// The name in `among` that an item named `name` links to, as wasmtime's
/// linker links them: the same name, else the first of the same interface
/// at a semver-compatible version (`local:store/api@0.1.0` links to
/// `local:store/api@0.1.3`).
pub fn linked_name<'a>(name: &str, among: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let wanted = ItemName::parse(name);
    let among: Vec<&str> = among.into_iter().collect();
    among
        .iter()
        .find(|other| **other == name)
        .or_else(|| {
            among
                .iter()
                .find(|other| ItemName::parse(other).matches(&wanted))
        })
        .copied()
}

/// The item in `among` that an item named `name` links to: the one of the
/// same name and version, else the first at a compatible version.
fn counterpart<'a>(name: &ItemName, among: &'a [Named]) -> Option<&'a Named> {
    among
        .iter()
        .find(|other| other.name == *name)
        .or_else(|| among.iter().find(|other| other.name.matches(name)))
}

/// A world item's name split at its package version:
/// `wasi:http/incoming-handler@0.2.0` is `wasi:http/incoming-handler` at
/// 0.2.0; a plain name (`get`, an inline `export api: interface {...}`) or an
/// interface of an unversioned package has no version.
#[derive(Debug, Clone, PartialEq, Eq)]
struct ItemName {
    /// The name without its version, e.g. `wasi:http/incoming-handler` or `get`.
    base: String,
    /// The package version, when the name has one.
    version: Option<Version>,
}

impl ItemName {
    /// Splits `name` at its last `@`; a name without one, or whose version is
    /// not semver, is all base.
    fn parse(name: &str) -> ItemName {
        let split = name
            .rsplit_once('@')
            .and_then(|(base, version)| Some((base, Version::parse(version).ok()?)));
        match split {
            Some((base, version)) => ItemName {
                base: base.to_owned(),
                version: Some(version),
            },
            None => ItemName {
                base: name.to_owned(),
                version: None,
            },
        }
    }

    /// Whether a linker takes one for the other: the same base, and both
    /// unversioned or at [`compatible_versions`].
    fn matches(&self, other: &ItemName) -> bool {
        self.base == other.base
            && match (&self.version, &other.version) {
                (None, None) => true,
                (Some(a), Some(b)) => compatible_versions(a, b),
                _ => false,
            }
    }
}

/// Whether two package versions are on one compatible track, as wasmtime's
/// linker decides it: equal ones always; else neither is a pre-release and
/// they share the major version (1.x ~ 1.y) or, for 0.x, the minor version
/// (0.2.0 ~ 0.2.3, not 0.3.0); a 0.0.x version matches only itself.
fn compatible_versions(a: &Version, b: &Version) -> bool {
    if a == b {
        return true;
    }
    if !a.pre.is_empty() || !b.pre.is_empty() {
        return false;
    }
    match (a.major, b.major) {
        (0, 0) => a.minor != 0 && a.minor == b.minor,
        (a_major, b_major) => a_major == b_major,
    }
}

/// Which side of the world an item is on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Direction {
    /// The component provides it.
    Export,
    /// The host must provide it.
    Import,
}

impl std::fmt::Display for Direction {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Direction::Export => "export",
            Direction::Import => "import",
        })
    }
}

/// What an item is, for `export-added`: `func() -> u32`, `interface with 2 functions`.
fn describe_item(resolve: &Resolve, item: &WorldItem) -> String {
    match item {
        WorldItem::Function(func) => signature(resolve, func),
        WorldItem::Interface { id, .. } => {
            let count = resolve.interfaces[*id].functions.len();
            let plural = if count == 1 { "" } else { "s" };
            format!("interface with {count} function{plural}")
        }
        WorldItem::Type { .. } => "type".into(),
    }
}

/// A function's WIT signature, e.g. `func(by: u32) -> u64`.
pub fn signature(resolve: &Resolve, func: &Function) -> String {
    let params: Vec<String> = func
        .params
        .iter()
        .map(|p| format!("{}: {}", p.name, type_name(resolve, &p.ty)))
        .collect();
    let result = func
        .result
        .map(|ty| format!(" -> {}", type_name(resolve, &ty)))
        .unwrap_or_default();
    format!("func({}){result}", params.join(", "))
}

/// A type as WIT spells it where it is used: `u32`, `list<string>`, `user`.
fn type_name(resolve: &Resolve, ty: &Type) -> String {
    let Type::Id(id) = ty else {
        return primitive(ty);
    };
    let def = &resolve.types[*id];
    if let Some(name) = &def.name {
        return name.clone();
    }
    let inner = |ty: &Type| type_name(resolve, ty);
    match &def.kind {
        TypeDefKind::List(ty) => format!("list<{}>", inner(ty)),
        TypeDefKind::Option(ty) => format!("option<{}>", inner(ty)),
        TypeDefKind::Result(r) => format!(
            "result<{}, {}>",
            r.ok.as_ref().map_or("_".into(), inner),
            r.err.as_ref().map_or("_".into(), inner)
        ),
        TypeDefKind::Tuple(t) => format!(
            "tuple<{}>",
            t.types.iter().map(inner).collect::<Vec<_>>().join(", ")
        ),
        TypeDefKind::Handle(Handle::Own(id)) => inner(&Type::Id(*id)),
        TypeDefKind::Handle(Handle::Borrow(id)) => format!("borrow<{}>", inner(&Type::Id(*id))),
        TypeDefKind::Type(ty) => inner(ty),
        other => other.as_str().to_owned(),
    }
}

fn primitive(ty: &Type) -> String {
    match ty {
        Type::Bool => "bool",
        Type::U8 => "u8",
        Type::U16 => "u16",
        Type::U32 => "u32",
        Type::U64 => "u64",
        Type::S8 => "s8",
        Type::S16 => "s16",
        Type::S32 => "s32",
        Type::S64 => "s64",
        Type::F32 => "f32",
        Type::F64 => "f64",
        Type::Char => "char",
        Type::String => "string",
        Type::ErrorContext => "error-context",
        Type::Id(_) => "type",
    }
    .to_owned()
}

struct Diff<'a> {
    old: &'a Resolve,
    new: &'a Resolve,
    findings: Vec<Finding>,
    /// The item being compared, e.g. `export get`.
    item: String,
    /// Which side of the world the item is on.
    direction: Direction,
    /// Type pairs compared already on this item's path (recursive types).
    seen: HashSet<(TypeId, TypeId)>,
    /// Whether NEW is a provider filling OLD's import (see
    /// [`check_provider`]), not a new version of OLD: what only OLD has is
    /// then missing, not removed.
    filling: bool,
}

impl<'a> Diff<'a> {
    /// A comparison of items of `old` with items of `new`, with no findings yet.
    fn new(old: &'a Resolve, new: &'a Resolve) -> Diff<'a> {
        Diff {
            old,
            new,
            findings: Vec::new(),
            item: String::new(),
            direction: Direction::Export,
            seen: HashSet::new(),
            filling: false,
        }
    }

    fn push(&mut self, severity: Severity, rule: &'static str, path: &str, message: String) {
        self.findings.push(Finding {
            severity,
            rule,
            item: self.item.clone(),
            path: path.to_owned(),
            message,
        });
    }

    /// Sets the item the next findings are about, e.g. `export get`.
    fn at(&mut self, direction: Direction, name: &str) {
        self.item = format!("{direction} {name}");
        self.direction = direction;
    }

    /// Exports: each of OLD's must still be there, at a compatible version;
    /// NEW's others are listed as info.
    fn exports(&mut self, old: &[Named], new: &[Named]) {
        for item in old {
            match counterpart(&item.name, new) {
                Some(other) => self.matched(Direction::Export, item, other),
                None => {
                    self.at(Direction::Export, &item.full);
                    self.push(Severity::Breaking, "export-removed", "", "removed".into());
                }
            }
        }
        for item in new {
            if counterpart(&item.name, old).is_none() {
                self.at(Direction::Export, &item.full);
                let what = describe_item(self.new, &item.item);
                self.push(
                    Severity::Info,
                    "export-added",
                    "",
                    format!("added ({what})"),
                );
            }
        }
    }

    /// Imports: NEW may need nothing OLD did not; OLD's others are listed as info.
    fn imports(&mut self, old: &[Named], new: &[Named]) {
        for item in new {
            match counterpart(&item.name, old) {
                Some(other) => self.matched(Direction::Import, other, item),
                None => self.import_added(&item.full),
            }
        }
        for item in old {
            if counterpart(&item.name, new).is_none() {
                self.at(Direction::Import, &item.full);
                self.push(
                    Severity::Info,
                    "import-removed",
                    "",
                    "no longer imported".into(),
                );
            }
        }
    }

    /// An import OLD did not have: breaking, unless the iso host provides it.
    fn import_added(&mut self, name: &str) {
        self.at(Direction::Import, name);
        match name.starts_with("iso:host/") {
            true => self.push(
                Severity::Warning,
                "import-added-iso-host",
                "",
                "added; the iso host provides it, but hosts other than iso may not".into(),
            ),
            false => self.push(
                Severity::Breaking,
                "import-added",
                "",
                "added: hosts of the old version do not provide it".into(),
            ),
        }
    }

    /// An item of OLD and its counterpart in NEW: the version change, if
    /// any (the item then named without its version), then their types.
    fn matched(&mut self, direction: Direction, old: &Named, new: &Named) {
        match (&old.name.version, &new.name.version) {
            (Some(from), Some(to)) if from != to => {
                self.at(direction, &old.name.base);
                self.version_changed(direction, from, to);
            }
            _ => self.at(direction, &old.full),
        }
        self.items(&old.item, &new.item);
    }

    /// The finding for an item now at another version of its package: info
    /// for an export; for an import, a warning when raised (older hosts lack
    /// it), info when lowered.
    fn version_changed(&mut self, direction: Direction, from: &Version, to: &Version) {
        match direction {
            Direction::Export => self.push(
                Severity::Info,
                "export-version-changed",
                "",
                format!("{from} -> {to}"),
            ),
            Direction::Import if to > from => self.push(
                Severity::Warning,
                "import-version-raised",
                "",
                format!("now needs {to} (was {from}): hosts older than that lack it"),
            ),
            Direction::Import => self.push(
                Severity::Info,
                "import-version-lowered",
                "",
                format!("now needs {to} (was {from})"),
            ),
        }
    }

    fn items(&mut self, old: &WorldItem, new: &WorldItem) {
        match (old, new) {
            (WorldItem::Function(a), WorldItem::Function(b)) => self.function("", a, b),
            (WorldItem::Interface { id: a, .. }, WorldItem::Interface { id: b, .. }) => {
                self.interface(*a, *b)
            }
            _ => self.push(
                Severity::Breaking,
                "item-kind-changed",
                "",
                "changed between a function and an interface".into(),
            ),
        }
    }

    /// The functions of two versions of an interface: those both have are
    /// compared; one only OLD has or only NEW has is judged by the
    /// interface's side of the world (see [`Diff::function_only_in`]).
    fn interface(&mut self, old: InterfaceId, new: InterfaceId) {
        let (a, b) = (&self.old.interfaces[old], &self.new.interfaces[new]);
        let item = self.item.clone();
        for (name, func) in &a.functions {
            match b.functions.get(name) {
                Some(other) => {
                    let at = format!("{} {}", function_kind(func), func.item_name());
                    self.function(&at, func, other)
                }
                None => self.function_only_in(Only::Old, func),
            }
        }
        for (name, func) in &b.functions {
            if !a.functions.contains_key(name) {
                self.function_only_in(Only::New, func);
            }
        }
        self.item = item;
    }

    /// A function of an interface that only one side has. An export that
    /// lost one breaks its users, and one that gained one is info. An import
    /// works the other way round: a component imports only the functions it
    /// calls, so NEW needing one more breaks hosts that lack it (a warning
    /// for `iso:host`, which the iso host has), and needing one fewer is info.
    fn function_only_in(&mut self, only: Only, func: &Function) {
        let path = format!("{} {}", function_kind(func), func.item_name());
        let iso_host = self.item.starts_with("import iso:host/");
        let (severity, rule, message) = match (self.direction, only) {
            (Direction::Export, Only::Old) if self.filling => (
                Severity::Breaking,
                removed_rule(func),
                "the importer calls it, and the provider does not export it".to_owned(),
            ),
            (Direction::Export, Only::Old) => {
                (Severity::Breaking, removed_rule(func), "removed".to_owned())
            }
            (Direction::Export, Only::New) => (
                Severity::Info,
                "function-added",
                format!("added: {}", signature(self.new, func)),
            ),
            (Direction::Import, Only::New) => (
                if iso_host {
                    Severity::Warning
                } else {
                    Severity::Breaking
                },
                "import-function-added",
                format!(
                    "now imported: {}; hosts of the old version may lack it",
                    signature(self.new, func)
                ),
            ),
            (Direction::Import, Only::Old) => (
                Severity::Info,
                "import-function-removed",
                "no longer imported".to_owned(),
            ),
        };
        self.push(severity, rule, &path, message);
    }

    fn function(&mut self, at: &str, old: &Function, new: &Function) {
        let prefix = |s: &str| match at.is_empty() {
            true => s.to_owned(),
            false => format!("{at}: {s}"),
        };
        if old.params.len() != new.params.len() {
            let message = format!(
                "takes {} parameters, took {} ({} -> {})",
                new.params.len(),
                old.params.len(),
                signature(self.old, old),
                signature(self.new, new)
            );
            self.push(Severity::Breaking, "params-count-changed", at, message);
        } else {
            for (a, b) in old.params.iter().zip(&new.params) {
                if a.name != b.name {
                    let message = format!("parameter `{}` renamed to `{}`", a.name, b.name);
                    self.push(Severity::Breaking, "param-renamed", at, message);
                }
                self.seen.clear();
                self.ty(&prefix(&format!("param {}", a.name)), &a.ty, &b.ty);
            }
        }
        self.seen.clear();
        match (&old.result, &new.result) {
            (Some(a), Some(b)) => self.ty(&prefix("result"), a, b),
            (None, None) => {}
            (a, b) => {
                let show = |r: &Option<Type>, resolve| {
                    r.as_ref()
                        .map_or("nothing".into(), |t| type_name(resolve, t))
                };
                let message = format!(
                    "returns {}, returned {}",
                    show(b, self.new),
                    show(a, self.old)
                );
                self.push(
                    Severity::Breaking,
                    "result-changed",
                    &prefix("result"),
                    message,
                );
            }
        }
    }

    /// Compares two types at `path`, recursing into their structure.
    fn ty(&mut self, path: &str, old: &Type, new: &Type) {
        let (old, new) = (unalias(self.old, *old), unalias(self.new, *new));
        let (Type::Id(a), Type::Id(b)) = (old, new) else {
            if old != new || matches!(old, Type::Id(_)) || matches!(new, Type::Id(_)) {
                let message = format!(
                    "type changed from {} to {}",
                    type_name(self.old, &old),
                    type_name(self.new, &new)
                );
                self.push(Severity::Breaking, "type-changed", path, message);
            }
            return;
        };
        if !self.seen.insert((a, b)) {
            return;
        }
        let (da, db) = (&self.old.types[a], &self.new.types[b]);
        let here = match &da.name {
            Some(name) => format!("{path}: {} {name}", da.kind.as_str()),
            None => path.to_owned(),
        };
        self.kinds(&here, &da.kind, &db.kind);
    }

    fn kinds(&mut self, path: &str, old: &TypeDefKind, new: &TypeDefKind) {
        use TypeDefKind as K;
        match (old, new) {
            (K::Record(a), K::Record(b)) => {
                let fields = |r: &wit_parser::Record| {
                    r.fields
                        .iter()
                        .map(|f| (f.name.clone(), Some(f.ty)))
                        .collect()
                };
                self.named(path, fields(a), fields(b), "record-field", "field");
            }
            (K::Variant(a), K::Variant(b)) => {
                let cases = |v: &wit_parser::Variant| {
                    v.cases.iter().map(|c| (c.name.clone(), c.ty)).collect()
                };
                self.named(path, cases(a), cases(b), "variant-case", "case");
            }
            (K::Enum(a), K::Enum(b)) => {
                let cases =
                    |e: &wit_parser::Enum| e.cases.iter().map(|c| (c.name.clone(), None)).collect();
                self.named(path, cases(a), cases(b), "enum-case", "case");
            }
            (K::Flags(a), K::Flags(b)) => {
                let flags = |f: &wit_parser::Flags| {
                    f.flags.iter().map(|c| (c.name.clone(), None)).collect()
                };
                self.named(path, flags(a), flags(b), "flag", "flag");
            }
            (K::Tuple(a), K::Tuple(b)) if a.types.len() != b.types.len() => {
                let message = format!("has {} elements, had {}", b.types.len(), a.types.len());
                self.push(Severity::Breaking, "tuple-length-changed", path, message);
            }
            (K::Tuple(a), K::Tuple(b)) => {
                for (i, (x, y)) in a.types.iter().zip(&b.types).enumerate() {
                    self.ty(&format!("{path}.{i}"), x, y);
                }
            }
            (K::List(a), K::List(b)) => self.ty(&format!("{path}.list"), a, b),
            (K::Option(a), K::Option(b)) => self.ty(&format!("{path}.option"), a, b),
            (K::Result(a), K::Result(b)) => {
                self.optional(&format!("{path}.ok"), a.ok, b.ok);
                self.optional(&format!("{path}.err"), a.err, b.err);
            }
            (K::Handle(a), K::Handle(b)) => {
                let (own_a, id_a) = handle(a);
                let (own_b, id_b) = handle(b);
                if own_a != own_b {
                    let message = format!("changed from {own_a} to {own_b} handle");
                    self.push(Severity::Breaking, "handle-kind-changed", path, message);
                }
                self.ty(path, &Type::Id(id_a), &Type::Id(id_b));
            }
            (K::Resource, K::Resource) => {}
            (K::Map(ka, va), K::Map(kb, vb)) => {
                self.ty(&format!("{path}.key"), ka, kb);
                self.ty(&format!("{path}.value"), va, vb);
            }
            (a, b) if a.as_str() == b.as_str() => {}
            (a, b) => {
                let message = format!("changed from {} to {}", a.as_str(), b.as_str());
                self.push(Severity::Breaking, "type-kind-changed", path, message);
            }
        }
    }

    /// Fields, cases or flags by name: removed, added, and retyped.
    fn named(
        &mut self,
        path: &str,
        old: Vec<(String, Option<Type>)>,
        new: Vec<(String, Option<Type>)>,
        rule: &'static str,
        what: &str,
    ) {
        let rule_for = |change: &str| -> &'static str {
            match (rule, change) {
                ("record-field", "added") => "record-field-added",
                ("record-field", _) => "record-field-removed",
                ("variant-case", "added") => "variant-case-added",
                ("variant-case", _) => "variant-case-removed",
                ("enum-case", "added") => "enum-case-added",
                ("enum-case", _) => "enum-case-removed",
                ("flag", "added") => "flag-added",
                _ => "flag-removed",
            }
        };
        for (name, ty) in &old {
            match new.iter().find(|(n, _)| n == name) {
                Some((_, other)) => {
                    self.optional(&format!("{path}: {what} \"{name}\""), *ty, *other)
                }
                None => self.push(
                    Severity::Breaking,
                    rule_for("removed"),
                    path,
                    format!("{what} \"{name}\" removed"),
                ),
            }
        }
        for (name, _) in &new {
            if !old.iter().any(|(n, _)| n == name) {
                self.push(
                    Severity::Breaking,
                    rule_for("added"),
                    path,
                    format!("{what} \"{name}\" added"),
                );
            }
        }
    }

    fn optional(&mut self, path: &str, old: Option<Type>, new: Option<Type>) {
        match (old, new) {
            (Some(a), Some(b)) => self.ty(path, &a, &b),
            (None, None) => {}
            (Some(_), None) => self.push(
                Severity::Breaking,
                "payload-removed",
                path,
                "no longer has a payload".into(),
            ),
            (None, Some(_)) => self.push(
                Severity::Breaking,
                "payload-added",
                path,
                "now has a payload".into(),
            ),
        }
    }
}

fn handle(handle: &Handle) -> (&'static str, TypeId) {
    match handle {
        Handle::Own(id) => ("own", *id),
        Handle::Borrow(id) => ("borrow", *id),
    }
}

/// Which of the two versions compared has something the other lacks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Only {
    Old,
    New,
}

/// The rule for an export's function that NEW lost.
fn removed_rule(func: &Function) -> &'static str {
    match func.kind {
        FunctionKind::Method(_) | FunctionKind::AsyncMethod(_) => "method-removed",
        FunctionKind::Constructor(_) => "constructor-removed",
        _ => "function-removed",
    }
}

fn function_kind(func: &Function) -> &'static str {
    match func.kind {
        FunctionKind::Method(_) | FunctionKind::AsyncMethod(_) => "method",
        FunctionKind::Constructor(_) => "constructor",
        FunctionKind::Static(_) | FunctionKind::AsyncStatic(_) => "static",
        _ => "func",
    }
}

/// Follows `type a = b` aliases to the type they name.
fn unalias(resolve: &Resolve, mut ty: Type) -> Type {
    while let Type::Id(id) = ty {
        match resolve.types[id].kind {
            TypeDefKind::Type(inner) => ty = inner,
            _ => break,
        }
    }
    ty
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A resolve of the `test:store` package at `version` (WIT `api` body)
    /// and a world of package `test:app` with `items`.
    fn side(version: &str, api: &str, items: &str) -> (Resolve, WorldId) {
        let mut resolve = Resolve::default();
        let store = format!("package test:store@{version};\ninterface api {{\n{api}\n}}\n");
        resolve.push_str("store.wit", &store).unwrap();
        let app = format!("package test:app;\nworld app {{\n{items}\n}}\n");
        let package = resolve.push_str("app.wit", &app).unwrap();
        let world = resolve.select_world(&[package], None).unwrap();
        (resolve, world)
    }

    fn provider_findings(import: &str, offered: (&str, &str)) -> Vec<(Severity, &'static str)> {
        let (importer, importer_world) = side(
            "0.1.0",
            "get: func(key: string) -> option<u32>;",
            "import test:store/api@0.1.0;",
        );
        let export = format!("export test:store/api@{};", offered.0);
        let (provider, provider_world) = side(offered.0, offered.1, &export);
        let findings = check_provider(
            &Side {
                resolve: &importer,
                world: importer_world,
            },
            import,
            &Side {
                resolve: &provider,
                world: provider_world,
            },
        );
        findings.iter().map(|f| (f.severity, f.rule)).collect()
    }

    #[test]
    fn a_provider_fills_an_import_with_the_functions_it_uses() {
        let more = "get: func(key: string) -> option<u32>;\nput: func(key: string, value: u32);";
        assert_eq!(
            provider_findings("test:store/api@0.1.0", ("0.1.3", more)),
            [
                (Severity::Info, "export-version-changed"),
                (Severity::Info, "function-added")
            ]
        );
        let same = "get: func(key: string) -> option<u32>;";
        assert!(provider_findings("test:store/api@0.1.0", ("0.1.0", same)).is_empty());
    }

    #[test]
    fn a_provider_that_lacks_a_function_a_type_or_the_version_cannot() {
        let breaking = |offered| {
            provider_findings("test:store/api@0.1.0", offered)
                .into_iter()
                .filter(|(severity, _)| *severity == Severity::Breaking)
                .map(|(_, rule)| rule)
                .collect::<Vec<_>>()
        };
        assert_eq!(breaking(("0.1.0", "put: func();")), ["function-removed"]);
        assert_eq!(
            breaking(("0.1.0", "get: func(key: string) -> option<u64>;")),
            ["type-changed"]
        );
        assert_eq!(
            breaking(("0.2.0", "get: func(key: string) -> option<u32>;")),
            ["export-missing"]
        );
        assert_eq!(
            breaking(("0.1.0", "get: func(key: string) -> option<u32>;")).len(),
            0
        );
        assert_eq!(
            provider_findings("test:other/api", ("0.1.0", "")),
            [(Severity::Breaking, "import-unknown")]
        );
    }

    fn matches(a: &str, b: &str) -> bool {
        ItemName::parse(a).matches(&ItemName::parse(b))
    }

    #[test]
    fn names_link_exactly_or_at_a_compatible_version() {
        let among = ["a:b/c@0.2.3", "a:b/d@1.0.0", "get"];
        assert_eq!(linked_name("a:b/c@0.2.0", among), Some("a:b/c@0.2.3"));
        assert_eq!(linked_name("a:b/d@1.4.0", among), Some("a:b/d@1.0.0"));
        assert_eq!(linked_name("a:b/c@0.3.0", among), None);
        assert_eq!(linked_name("get", among), Some("get"));
    }

    #[test]
    fn a_versioned_name_splits_at_its_version() {
        let name = ItemName::parse("wasi:http/incoming-handler@0.2.0");
        assert_eq!(name.base, "wasi:http/incoming-handler");
        assert_eq!(name.version, Some(Version::new(0, 2, 0)));
        assert_eq!(ItemName::parse("get").version, None);
        assert_eq!(ItemName::parse("a:b/c@not-semver").base, "a:b/c@not-semver");
    }

    #[test]
    fn versions_match_on_the_track_wasmtime_links() {
        for (a, b, expected) in [
            ("a:b/c@0.2.0", "a:b/c@0.2.3", true),
            ("a:b/c@0.2.0", "a:b/c@0.3.0", false),
            ("a:b/c@1.2.0", "a:b/c@1.9.1", true),
            ("a:b/c@1.2.0", "a:b/c@2.0.0", false),
            ("a:b/c@0.1.0", "a:b/c@1.0.0", false),
            ("a:b/c@0.0.1", "a:b/c@0.0.1", true),
            ("a:b/c@0.0.1", "a:b/c@0.0.2", false),
            ("a:b/c@0.3.0-rc.1", "a:b/c@0.3.0-rc.1", true),
            ("a:b/c@0.3.0-rc.1", "a:b/c@0.3.0-rc.2", false),
            ("a:b/c@0.3.0-rc.1", "a:b/c@0.3.0", false),
            ("a:b/c", "a:b/c", true),
            ("a:b/c", "a:b/c@0.1.0", false),
            ("a:b/c@0.2.0", "a:b/d@0.2.0", false),
            ("get", "get", true),
            ("get", "put", false),
        ] {
            assert_eq!(matches(a, b), expected, "{a} ~ {b}");
            assert_eq!(matches(b, a), expected, "{b} ~ {a}");
        }
    }
}
