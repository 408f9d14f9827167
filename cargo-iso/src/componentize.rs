//! Turning a core wasm module into a component, and describing a component's world.

use std::io::Write;
use std::path::Path;

use anyhow::{Context, Result, anyhow, bail};
use wit_component::{ComponentEncoder, DecodedWasm};
use wit_parser::{Resolve, WorldId, WorldKey};

/// What a component imports and exports.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct WorldSummary {
    /// The guest's own world, e.g. `local:counter/counter@0.1.0`.
    pub world: String,
    /// Exported functions and interfaces, e.g. `get` or `iso:app/state@0.1.0`.
    pub exports: Vec<String>,
    /// Imported functions and interfaces.
    pub imports: Vec<String>,
}

/// Encodes the core module as a component, validating the result.
///
/// The module must carry the component-type metadata that wit-bindgen embeds.
pub fn componentize(core: &[u8]) -> Result<Vec<u8>> {
    encode(core, true)
}

/// Encodes the core module as a component without validating it: for a
/// host that compiles it next, since wasmtime validates as it compiles.
pub fn componentize_for_host(core: &[u8]) -> Result<Vec<u8>> {
    encode(core, false)
}

fn encode(core: &[u8], validate: bool) -> Result<Vec<u8>> {
    check_is_core_module(core)?;
    if guest_world(core)?.is_none() {
        bail!(
            "the wasm module has no component-type metadata, so there is no WIT world to make a component of\n\
             help: generate bindings in the crate, e.g. `iso_guest::generate!()` or `wit_bindgen::generate!({{ path: \"wit\" }})`, \
             and export an implementation with `export!(...)`"
        );
    }
    ComponentEncoder::default()
        .validate(validate)
        .module(core)
        .context("could not read the module's component-type metadata")?
        .encode()
        .context("could not encode the module as a component")
}

fn check_is_core_module(bytes: &[u8]) -> Result<()> {
    match wasm_encoding(bytes) {
        Some(wasmparser::Encoding::Module) => Ok(()),
        Some(wasmparser::Encoding::Component) => {
            bail!("expected a core wasm module, found a component")
        }
        None => bail!("not a wasm module"),
    }
}

/// Whether `bytes` start as a core module or as a component; `None` for anything else.
pub fn wasm_encoding(bytes: &[u8]) -> Option<wasmparser::Encoding> {
    match wasmparser::Parser::new(0).parse_all(bytes).next() {
        Some(Ok(wasmparser::Payload::Version { encoding, .. })) => Some(encoding),
        _ => None,
    }
}

/// The name of the world embedded by wit-bindgen, e.g. `local:counter/counter@0.1.0`.
///
/// `None` when the module has no `component-type` custom section.
pub fn guest_world(core: &[u8]) -> Result<Option<String>> {
    for payload in wasmparser::Parser::new(0).parse_all(core) {
        let payload = payload.context("the wasm module is malformed")?;
        if let wasmparser::Payload::CustomSection(section) = payload
            && section.name().starts_with("component-type")
        {
            let world = match wit_parser::decoding::decode_world(section.data()) {
                Ok((resolve, world)) => world_name(&resolve, world),
                // Older encodings: the section name ends in `<package>:<world>:encoded world`.
                Err(_) => section.name().to_owned(),
            };
            return Ok(Some(world));
        }
    }
    Ok(None)
}

fn world_name(resolve: &Resolve, world: WorldId) -> String {
    let world = &resolve.worlds[world];
    match world.package.map(|p| &resolve.packages[p].name) {
        Some(package) => {
            let version = package
                .version
                .as_ref()
                .map(|v| format!("@{v}"))
                .unwrap_or_default();
            format!(
                "{}:{}/{}{version}",
                package.namespace, package.name, world.name
            )
        }
        None => world.name.clone(),
    }
}

/// The imports and exports of a component, named as WIT names them.
pub fn describe(component: &[u8], world: String) -> Result<WorldSummary> {
    let (resolve, world_id) =
        match wit_component::decode(component).context("could not decode the component")? {
            DecodedWasm::Component(resolve, world) => (resolve, world),
            DecodedWasm::WitPackage(..) => {
                return Err(anyhow!("expected a component, found a WIT package"));
            }
        };
    let names = |items: &wit_parser::IndexMap<WorldKey, wit_parser::WorldItem>| -> Vec<String> {
        items
            .keys()
            .map(|key| resolve.name_world_key(key))
            .collect()
    };
    let world_def = &resolve.worlds[world_id];
    Ok(WorldSummary {
        world,
        exports: names(&world_def.exports),
        imports: names(&world_def.imports),
    })
}

/// Writes `bytes` to `path` through a temporary file in the same folder, so
/// readers see the old file or the new one, never half of one.
///
/// Like cargo's own outputs it is not fsynced: a rebuild recreates it, and a
/// sync would cost more than the componentize step itself.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = path.parent().context("output path has no parent folder")?;
    std::fs::create_dir_all(dir)
        .with_context(|| format!("could not create `{}`", dir.display()))?;
    let mut file = tempfile::Builder::new()
        .permissions(std::os::unix::fs::PermissionsExt::from_mode(0o644))
        .tempfile_in(dir)
        .with_context(|| format!("could not create a temporary file in `{}`", dir.display()))?;
    file.write_all(bytes)
        .with_context(|| format!("could not write `{}`", file.path().display()))?;
    file.persist(path)
        .with_context(|| format!("could not write `{}`", path.display()))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn garbage_is_not_a_module() {
        let err = componentize(b"definitely not wasm").unwrap_err();
        assert!(err.to_string().contains("not a wasm module"), "{err}");
    }

    #[test]
    fn a_module_without_metadata_says_what_is_missing() {
        let module = wat_free_empty_module();
        let err = componentize(&module).unwrap_err().to_string();
        assert!(err.contains("no component-type metadata"), "{err}");
        assert!(err.contains("generate!"), "{err}");
    }

    #[test]
    fn atomic_write_replaces_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/out.wasm");
        write_atomically(&path, b"one").unwrap();
        write_atomically(&path, b"two").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"two");
        assert_eq!(
            std::fs::read_dir(path.parent().unwrap()).unwrap().count(),
            1,
            "no temp files left"
        );
    }

    /// The smallest valid core module: magic and version.
    fn wat_free_empty_module() -> Vec<u8> {
        b"\0asm\x01\0\0\0".to_vec()
    }
}
