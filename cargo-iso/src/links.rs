//! Which guest of a project provides each import of the others.
//!
//! A guest imports another guest's interface by naming it in its world
//! (`import local:store/api@0.1.0;`). The provider is the guest whose WIT
//! package is `local:store`, or the one named under
//! `[package.metadata.iso.imports]`, which must be used when two guests
//! could provide it. Each provider's WIT package is copied into its
//! importers' `wit/deps/` (kept current, like the iso packages), so an
//! importer always builds against what its provider exports.
//!
//! An import of a package no guest provides builds only if the guest keeps
//! a copy of that package in its own `wit/deps/`: something other than the
//! project (an embedder, a test) must then wire it when it runs.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use wit_parser::{AstItem, PackageName, UnresolvedPackageGroup, WorldKey};

use crate::componentize::write_atomically;
use crate::manifest::ImportSource;
use crate::project::Guest;

/// One wired import: `importer` imports `interface` from `provider`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Link {
    /// The importing guest's package name.
    pub importer: String,
    /// The interface, without its version: `local:store/api`.
    pub interface: String,
    /// The providing guest's package name; for a remote, the address of
    /// the app another host serves (its WIT comes from the guest of that
    /// name, if the project has one).
    pub provider: String,
    /// Whether the provider is served on NATS rather than run here.
    pub remote: bool,
}

/// What a guest's `wit/` folder says: its own package, its files, and the
/// interfaces of other packages its worlds import.
struct GuestWit {
    package: PackageName,
    files: Vec<PathBuf>,
    imports: Vec<(PackageName, String)>,
}

/// The links of `importers`, whose providers are looked for among
/// `guests` (every guest of the workspace); an import that no guest
/// provides and that the importer has no copy of is an error.
pub fn resolve(importers: &[Guest], guests: &[Guest]) -> Result<Vec<Link>> {
    let wits: Vec<Option<GuestWit>> = guests.iter().map(read_wit).collect::<Result<_>>()?;
    let mut links = Vec::new();
    for importer in importers {
        // Importers are among `guests` (the workspace's), whose WIT is read already.
        let known = guests.iter().position(|g| g.name == importer.name);
        let read;
        let wit = match known {
            Some(i) => wits[i].as_ref(),
            None => {
                read = read_wit(importer)?;
                read.as_ref()
            }
        };
        let Some(wit) = wit else {
            continue;
        };
        for (package, name) in &wit.imports {
            let interface = format!("{}:{}/{name}", package.namespace, package.name);
            let named = importer.settings.imports.get(&interface);
            let (provider, remote) = match named {
                Some(ImportSource::Guest(name)) => {
                    (find_named(importer, &interface, name, guests)?, false)
                }
                Some(ImportSource::Remote(address)) => {
                    check_remote_wit(importer, package, &interface, address, guests)?;
                    (address.as_str(), true)
                }
                None => match find_by_package(importer, package, &interface, guests, &wits)? {
                    Some(provider) => (provider, false),
                    None => continue,
                },
            };
            links.push(Link {
                importer: importer.name.clone(),
                interface,
                provider: provider.to_owned(),
                remote,
            });
        }
    }
    Ok(links)
}

/// The guest `name`, named as the provider of `interface` in `importer`'s manifest.
fn find_named<'a>(
    importer: &Guest,
    interface: &str,
    name: &'a str,
    guests: &[Guest],
) -> Result<&'a str> {
    match guests.iter().find(|g| g.name == name) {
        Some(_) => Ok(name),
        None => bail!(
            "`{interface}` under `[package.metadata.iso.imports]` in `{}` names guest `{name}`, which is not in this project\nhelp: the guests are {}",
            importer.manifest_path,
            names(guests)
        ),
    }
}

/// Whether `importer` can build against the WIT of `interface`, which
/// the app at `address` serves remotely: from the guest of that name in
/// the project, or from its own copy in `wit/deps/`.
fn check_remote_wit(
    importer: &Guest,
    package: &PackageName,
    interface: &str,
    address: &str,
    guests: &[Guest],
) -> Result<()> {
    if guests.iter().any(|g| g.name == address) || kept_in_deps(importer, package) {
        return Ok(());
    }
    bail!(
        "import `{interface}` of guest `{}` is served remotely by `{address}`, but no guest of this project is named `{address}` and `{}` keeps no copy of package `{}:{}`\nhelp: copy that package's WIT into `{}`, or add the guest `{address}` to the workspace",
        importer.name,
        importer.name,
        package.namespace,
        package.name,
        wit_dir(importer).join("deps").display()
    )
}

/// The one guest (not `importer`) whose WIT package is `package`; `None`
/// when there is none but `importer` keeps a copy of the package.
fn find_by_package<'a>(
    importer: &Guest,
    package: &PackageName,
    interface: &str,
    guests: &'a [Guest],
    wits: &[Option<GuestWit>],
) -> Result<Option<&'a str>> {
    let same = |wit: &GuestWit| {
        wit.package.namespace == package.namespace && wit.package.name == package.name
    };
    let candidates: Vec<&Guest> = guests
        .iter()
        .zip(wits)
        .filter(|(guest, wit)| guest.name != importer.name && wit.as_ref().is_some_and(same))
        .map(|(guest, _)| guest)
        .collect();
    match candidates.as_slice() {
        [provider] => Ok(Some(&provider.name)),
        [] if kept_in_deps(importer, package) => Ok(None),
        [] => bail!(
            "import `{interface}` of guest `{}` is provided by no guest of this project and no system interface\nhelp: the guests looked at are {}; add the guest whose WIT package is `{}:{}` to the workspace, or name the provider under `[package.metadata.iso.imports]` in `{}`",
            importer.name,
            names(guests),
            package.namespace,
            package.name,
            importer.manifest_path
        ),
        several => bail!(
            "import `{interface}` of guest `{}` could be provided by {}\nhelp: name one in `{}`:\n\n[package.metadata.iso.imports]\n\"{interface}\" = {{ guest = \"{}\" }}",
            importer.name,
            names(several.iter().copied()),
            importer.manifest_path,
            several[0].name
        ),
    }
}

/// Copies each provider's WIT package into its importers' `wit/deps/`
/// where it is missing or different.
pub fn sync_deps(links: &[Link], guests: &[Guest]) -> Result<()> {
    // Each provider's WIT is read once, however many guests import from it.
    let providers = guests
        .iter()
        .filter(|guest| links.iter().any(|link| link.provider == guest.name));
    for provider in providers {
        if let Some(wit) = ProviderWit::read(provider)? {
            wit.copy_to_importers(links, guests)?;
        }
    }
    Ok(())
}

/// A provider's WIT package as read at one moment: a host that builds it
/// shares with its importers what it built, not what is on disk later.
#[derive(Debug, Clone)]
pub struct ProviderWit {
    provider: String,
    package: PackageName,
    /// Each file's name and text.
    files: Vec<(std::ffi::OsString, String)>,
}

impl ProviderWit {
    /// Reads `provider`'s WIT files; `None` when it has no `wit/` folder.
    pub fn read(provider: &Guest) -> Result<Option<ProviderWit>> {
        let Some(wit) = read_wit(provider)? else {
            return Ok(None);
        };
        let files = (wit.files.iter())
            .map(|file| {
                let text = std::fs::read_to_string(file)
                    .with_context(|| format!("could not read `{}`", file.display()))?;
                Ok((file.file_name().unwrap_or_default().to_owned(), text))
            })
            .collect::<Result<_>>()?;
        Ok(Some(ProviderWit {
            provider: provider.name.clone(),
            package: wit.package,
            files,
        }))
    }

    /// The providing guest's name.
    pub fn provider(&self) -> &str {
        &self.provider
    }

    /// Writes the files into the `wit/deps/` of each importer `links` name
    /// for this provider, where they are missing or different.
    pub fn copy_to_importers(&self, links: &[Link], guests: &[Guest]) -> Result<()> {
        let importers = (links.iter())
            .filter(|link| link.provider == self.provider)
            .filter_map(|link| guests.iter().find(|g| g.name == link.importer));
        for importer in importers {
            let deps = wit_dir(importer).join("deps");
            let folder = folder_of(&deps, &self.package).unwrap_or_else(|| {
                deps.join(format!("{}-{}", self.package.namespace, self.package.name))
            });
            for (name, text) in &self.files {
                let target = folder.join(name);
                if std::fs::read_to_string(&target).is_ok_and(|current| current == *text) {
                    continue;
                }
                write_atomically(&target, text.as_bytes()).with_context(|| {
                    format!(
                        "could not copy `{}`'s WIT to `{}`",
                        self.provider,
                        target.display()
                    )
                })?;
            }
        }
        Ok(())
    }
}

fn wit_dir(guest: &Guest) -> PathBuf {
    let dir = guest.manifest_path.parent().unwrap_or(&guest.manifest_path);
    dir.as_std_path().join("wit")
}

/// Reads `guest`'s `wit/` folder without its dependencies (an importer's
/// copy of its provider may be missing yet); `None` when it has none.
fn read_wit(guest: &Guest) -> Result<Option<GuestWit>> {
    let dir = wit_dir(guest);
    if !dir.is_dir() {
        return Ok(None);
    }
    let group = UnresolvedPackageGroup::parse_dir(&dir)
        .with_context(|| format!("could not read the WIT of guest `{}`", guest.name))?;
    let main = group.main;
    let mut foreign = HashMap::new();
    for (package, items) in &main.foreign_deps {
        for (name, (item, _)) in items {
            if let AstItem::Interface(id) = item {
                foreign.insert(*id, (package.clone(), name.clone()));
            }
        }
    }
    let mut imports: Vec<(PackageName, String)> = Vec::new();
    for (_, world) in main.worlds.iter() {
        for key in world.imports.keys() {
            if let WorldKey::Interface(id) = key
                && let Some(import) = foreign.get(id)
                && import.0.namespace != "iso"
                && !imports.contains(import)
            {
                imports.push(import.clone());
            }
        }
    }
    Ok(Some(GuestWit {
        package: main.name,
        files: group
            .source_map
            .source_files()
            .map(Path::to_path_buf)
            .collect(),
        imports,
    }))
}

/// The folder of `deps` that holds `package`, if one does.
fn folder_of(deps: &Path, package: &PackageName) -> Option<PathBuf> {
    let entries = std::fs::read_dir(deps).ok()?;
    entries.flatten().map(|e| e.path()).find(|path| {
        path.is_dir()
            && UnresolvedPackageGroup::parse_dir(path).is_ok_and(|group| {
                group.main.name.namespace == package.namespace
                    && group.main.name.name == package.name
            })
    })
}

/// Whether `guest` keeps a copy of `package` in its `wit/deps/`.
fn kept_in_deps(guest: &Guest, package: &PackageName) -> bool {
    folder_of(&wit_dir(guest).join("deps"), package).is_some()
}

fn names<'a>(guests: impl IntoIterator<Item = &'a Guest>) -> String {
    let names: Vec<String> = guests
        .into_iter()
        .map(|g| format!("`{}`", g.name))
        .collect();
    names.join(", ")
}
