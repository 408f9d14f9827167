//! `cargo iso init` in a crate that exists already (`cargo new --lib`, say):
//! what a guest needs is added to its manifest (a `cdylib` crate type, the
//! `iso-guest` dependency, `[package.metadata.iso]`), and the template's
//! files that are missing are written. Nothing the crate has is overwritten
//! or removed: its own `src/lib.rs` stays as it is.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use toml_edit::{DocumentMut, Item, Table, value};

use crate::componentize::write_atomically;
use crate::scaffold::{self, Template};

/// What adopting a crate added and what it kept.
pub struct Adopted {
    /// The package's name, from its manifest.
    pub name: String,
    /// What was added: manifest entries and files.
    pub added: Vec<String>,
    /// Whether the crate kept a `src/lib.rs` of its own.
    pub kept_lib: bool,
}

/// Makes the crate whose manifest is `dir/Cargo.toml` a guest of `template`.
pub fn adopt(dir: &Path, template: &Template) -> Result<Adopted> {
    if template.guests() != [""] {
        bail!(
            "template `{}` is a workspace of several guests, and `{}` is a crate already\nhelp: choose a template of one guest, e.g. `--template counter`",
            template.name,
            dir.display()
        );
    }
    let manifest = dir.join("Cargo.toml");
    let text = std::fs::read_to_string(&manifest)
        .with_context(|| format!("could not read `{}`", manifest.display()))?;
    let mut doc: DocumentMut =
        (text.parse()).with_context(|| format!("`{}` is not valid TOML", manifest.display()))?;
    let Some(name) = doc
        .get("package")
        .and_then(|p| p.get("name"))
        .and_then(Item::as_str)
    else {
        bail!(
            "`{}` has no `[package]` with a name\nhelp: run `cargo iso init` in the folder of one package, or `cargo iso new` for a new one",
            manifest.display()
        );
    };
    let name = name.to_owned();
    let files = scaffold::render(template, &name)?;
    let mut added = add_to_manifest(&mut doc, &files)?;
    if !added.is_empty() {
        write_atomically(&manifest, doc.to_string().as_bytes())?;
    }
    let mut kept_lib = false;
    for (path, text) in files
        .iter()
        .filter(|(path, _)| path != Path::new("Cargo.toml"))
    {
        if dir.join(path).exists() {
            kept_lib |= path == Path::new("src/lib.rs");
            continue;
        }
        write_atomically(&dir.join(path), text.as_bytes())?;
        if !path.starts_with("wit/deps") {
            added.push(format!("`{}`", path.display()));
        }
    }
    crate::sdk::write_local_patch(dir, &crate::sdk::iso_guest_dir()?)?;
    Ok(Adopted {
        name,
        added,
        kept_lib,
    })
}

/// Adds to the manifest `doc` what the template's manifest (among `files`)
/// gives a guest and `doc` lacks; what it added.
fn add_to_manifest(doc: &mut DocumentMut, files: &[(PathBuf, String)]) -> Result<Vec<String>> {
    let template: DocumentMut = (files.iter())
        .find(|(path, _)| path == Path::new("Cargo.toml"))
        .map(|(_, text)| text.parse())
        .context("the template has no Cargo.toml")??;
    let mut added = Vec::new();
    let lib = doc
        .entry("lib")
        .or_insert_with(|| Item::Table(Table::new()));
    let lib = lib
        .as_table_like_mut()
        .context("`lib` in Cargo.toml is not a table")?;
    match lib.get_mut("crate-type").and_then(Item::as_array_mut) {
        Some(types) if types.iter().any(|t| t.as_str() == Some("cdylib")) => {}
        Some(types) => {
            types.push("cdylib");
            added.push("the `cdylib` crate type".to_owned());
        }
        None => {
            lib.insert("crate-type", value(toml_edit::Array::from_iter(["cdylib"])));
            added.push("`[lib] crate-type = [\"cdylib\"]`".to_owned());
        }
    }
    let deps = doc
        .entry("dependencies")
        .or_insert_with(|| Item::Table(Table::new()));
    let deps = deps
        .as_table_like_mut()
        .context("`dependencies` in Cargo.toml is not a table")?;
    if !deps.contains_key("iso-guest") {
        deps.insert("iso-guest", value(crate::sdk::requirement()));
        added.push("the `iso-guest` dependency".to_owned());
    }
    let package = doc["package"]
        .as_table_like_mut()
        .context("`package` is not a table")?;
    let metadata = package.entry("metadata").or_insert(Item::Table(implicit()));
    let metadata = metadata
        .as_table_like_mut()
        .context("`package.metadata` is not a table")?;
    if !metadata.contains_key("iso") {
        metadata.insert("iso", template["package"]["metadata"]["iso"].clone());
        added.push("`[package.metadata.iso]` budgets".to_owned());
    }
    Ok(added)
}

/// A table written only through its subtables (`[package.metadata.iso]`).
fn implicit() -> Table {
    let mut table = Table::new();
    table.set_implicit(true);
    table
}
