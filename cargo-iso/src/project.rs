//! Finding the guest packages of a cargo project with `cargo metadata`.
//!
//! A guest is a package whose lib target is a `cdylib` and that says it is
//! one: a `[package.metadata.iso]` table or a dependency on `iso-guest`.

use anyhow::{Result, anyhow, bail};
use cargo_metadata::camino::{Utf8Path, Utf8PathBuf};
use cargo_metadata::{Metadata, MetadataCommand, Package, PackageId};

use crate::manifest::IsoSettings;

/// The guests to build, and where cargo puts its output.
#[derive(Debug)]
pub struct Project {
    /// The `Cargo.toml` cargo should be run on (the workspace root's or the one given).
    pub manifest_path: Utf8PathBuf,
    /// Cargo's target dir (honours `CARGO_TARGET_DIR` and `.cargo/config.toml`).
    pub target_dir: Utf8PathBuf,
    /// Whether that is cargo's default, `<workspace root>/target`, rather than one the user set.
    pub default_target_dir: bool,
    /// The workspace's root folder.
    pub workspace_root: Utf8PathBuf,
    /// The selected guest packages.
    pub guests: Vec<Guest>,
    /// Every guest package of the workspace, selected or not: where the
    /// providers of the selected guests' imports are looked for.
    pub workspace_guests: Vec<Guest>,
}

/// One guest package.
#[derive(Debug, Clone)]
pub struct Guest {
    /// The package name.
    pub name: String,
    /// The package version.
    pub version: String,
    /// Cargo's id for the package, to match build artifacts.
    pub id: PackageId,
    /// The package's `Cargo.toml`.
    pub manifest_path: Utf8PathBuf,
    /// The file name cargo gives its wasm library, e.g. `my_app.wasm`.
    pub wasm_file: String,
    /// Its `[package.metadata.iso]` settings (defaults when the table is absent).
    pub settings: IsoSettings,
    /// The folders of its path dependencies, which `dev --watch` watches too.
    pub path_deps: Vec<Utf8PathBuf>,
    /// Whether it depends on `iso-guest` by version, for cargo-iso to
    /// supply the SDK (see [`crate::sdk`]), rather than by path.
    pub sdk_by_version: bool,
}

/// What `--manifest-path`, `-p`, `--workspace` and `--exclude` selected.
#[derive(Debug, Clone, Default)]
pub struct Selection {
    /// `--manifest-path`.
    pub manifest_path: Option<std::path::PathBuf>,
    /// `-p/--package`, `--workspace`, `--exclude`.
    pub workspace: clap_cargo::Workspace,
}

/// Runs `cargo metadata` and picks out the selected guests.
pub fn discover(selection: &Selection) -> Result<Project> {
    let metadata = read_metadata(selection.manifest_path.as_deref())?;
    let explicit = !selection.workspace.package.is_empty();
    for name in &selection.workspace.package {
        if !metadata
            .workspace_packages()
            .iter()
            .any(|p| p.name == *name)
        {
            bail!(
                "package `{name}` is not in this workspace\nhelp: its members are {}",
                member_names(&metadata)
            );
        }
    }
    let (selected, _) = selection.workspace.partition_packages(&metadata);
    let mut guests = Vec::new();
    for package in selected {
        match classify(package)? {
            Kind::Guest(settings) => guests.push(guest(package, settings)),
            Kind::NotCdylib if explicit || is_root_package(&metadata, package) => {
                bail!(not_cdylib_message(package));
            }
            Kind::NotCdylib | Kind::NotGuest if explicit => bail!(not_guest_message(package)),
            Kind::NotCdylib | Kind::NotGuest => {}
        }
    }
    if guests.is_empty() {
        bail!(no_guests_message(&metadata));
    }
    Ok(Project {
        manifest_path: match &selection.manifest_path {
            Some(path) => Utf8PathBuf::from_path_buf(path.clone())
                .map_err(|path| anyhow!("manifest path `{}` is not UTF-8", path.display()))?,
            None => metadata.workspace_root.join("Cargo.toml"),
        },
        default_target_dir: metadata.target_directory == metadata.workspace_root.join("target"),
        target_dir: metadata.target_directory.clone(),
        workspace_root: metadata.workspace_root.clone(),
        guests,
        workspace_guests: workspace_guests(&metadata)?,
    })
}

impl Project {
    /// The SDK's `iso-guest` folder when a guest of the workspace depends
    /// on `iso-guest` by version (cargo resolves the whole workspace).
    pub fn sdk(&self) -> Result<Option<std::path::PathBuf>> {
        let by_version =
            (self.workspace_guests.iter().chain(&self.guests)).any(|g| g.sdk_by_version);
        by_version.then(crate::sdk::iso_guest_dir).transpose()
    }

    /// The folder of the project's components, data and logs, for builds in
    /// `target_dir` (`--target-dir`) or else cargo's target dir: `<target>/iso`
    /// in the project's own `target/`, and `<target>/iso/<key>` (see
    /// [`project_key`]) in a target dir that other projects may share, so
    /// that they never read or overwrite each other's.
    pub fn iso_dir(&self, target_dir: Option<&Utf8Path>) -> Utf8PathBuf {
        let target = target_dir.unwrap_or(&self.target_dir);
        let iso = target.join("iso");
        if target == self.workspace_root.join("target") {
            iso
        } else {
            iso.join(project_key(&self.workspace_root))
        }
    }
}

/// A name for the workspace at `root` that no other workspace shares: its
/// folder's name and a hash of its full path, e.g. `shop-3f2a9c1d`.
pub fn project_key(root: &Utf8Path) -> String {
    use sha2::Digest;
    let canonical = root.canonicalize_utf8().unwrap_or_else(|_| root.to_owned());
    let digest = sha2::Sha256::digest(canonical.as_str().as_bytes());
    let hex: String = digest[..4].iter().map(|b| format!("{b:02x}")).collect();
    format!("{}-{hex}", canonical.file_name().unwrap_or("project"))
}

fn guest(package: &Package, settings: IsoSettings) -> Guest {
    Guest {
        name: package.name.to_string(),
        version: package.version.to_string(),
        id: package.id.clone(),
        manifest_path: package.manifest_path.clone(),
        wasm_file: wasm_file(package),
        settings,
        path_deps: package
            .dependencies
            .iter()
            .filter_map(|dep| dep.path.clone())
            .collect(),
        sdk_by_version: (package.dependencies.iter())
            .any(|dep| dep.name == "iso-guest" && dep.path.is_none()),
    }
}

/// Every guest package among the workspace's members.
fn workspace_guests(metadata: &Metadata) -> Result<Vec<Guest>> {
    let mut guests = Vec::new();
    for package in metadata.workspace_packages() {
        if let Kind::Guest(settings) = classify(package)? {
            guests.push(guest(package, settings));
        }
    }
    Ok(guests)
}

fn read_metadata(manifest_path: Option<&std::path::Path>) -> Result<Metadata> {
    let mut command = MetadataCommand::new();
    command.no_deps();
    if let Some(path) = manifest_path {
        check_manifest_path(path)?;
        command.manifest_path(path);
    }
    command.exec().map_err(|err| match err {
        cargo_metadata::Error::CargoMetadata { stderr } => {
            anyhow!("{}", stderr.trim().trim_start_matches("error: ").to_owned())
        }
        other => anyhow!(other),
    })
}

fn check_manifest_path(path: &std::path::Path) -> Result<()> {
    if path.is_dir() {
        let hint = path.join("Cargo.toml");
        bail!(
            "manifest path `{}` is a folder\nhelp: pass the path of its Cargo.toml: `--manifest-path {}`",
            path.display(),
            hint.display()
        );
    }
    if !path.is_file() {
        bail!(
            "manifest path `{}` does not exist\nhelp: pass the path of a guest crate's Cargo.toml, or run in its folder",
            path.display()
        );
    }
    if path.file_name().is_some_and(|name| name != "Cargo.toml") {
        bail!(
            "the manifest path must be a Cargo.toml file, not `{}`",
            path.display()
        );
    }
    Ok(())
}

/// A marked library elsewhere in a workspace may be a helper crate; the root package is meant to be built.
fn is_root_package(metadata: &Metadata, package: &Package) -> bool {
    metadata
        .root_package()
        .is_some_and(|root| root.id == package.id)
}

enum Kind {
    Guest(IsoSettings),
    NotCdylib,
    NotGuest,
}

fn classify(package: &Package) -> Result<Kind> {
    let settings = IsoSettings::from_package_metadata(&package.metadata, &package.manifest_path)?;
    let uses_sdk = package
        .dependencies
        .iter()
        .any(|dep| dep.name == "iso-guest");
    if settings.is_none() && !uses_sdk {
        return Ok(Kind::NotGuest);
    }
    if !package.targets.iter().any(|target| target.is_cdylib()) {
        return Ok(Kind::NotCdylib);
    }
    Ok(Kind::Guest(settings.unwrap_or_default()))
}

fn wasm_file(package: &Package) -> String {
    let lib = package
        .targets
        .iter()
        .find(|t| t.is_cdylib())
        .map_or(package.name.as_str(), |t| t.name.as_str());
    format!("{}.wasm", lib.replace('-', "_"))
}

fn not_cdylib_message(package: &Package) -> String {
    format!(
        "package `{}` is marked as an iso guest but its library is not a cdylib, so it cannot become a component\n\
         help: add this to `{}`:\n\n[lib]\ncrate-type = [\"cdylib\"]",
        package.name, package.manifest_path
    )
}

fn not_guest_message(package: &Package) -> String {
    format!(
        "package `{}` is not an iso guest\n\
         help: a guest is a cdylib with a `[package.metadata.iso]` table or an `iso-guest` dependency; \
         add `[package.metadata.iso]` to `{}`",
        package.name, package.manifest_path
    )
}

fn no_guests_message(metadata: &Metadata) -> String {
    let root: &Utf8Path = &metadata.workspace_root;
    format!(
        "no iso guest packages found in `{root}`\n\
         help: a guest is a cdylib with a `[package.metadata.iso]` table or an `iso-guest` dependency; \
         `cargo iso new <path>` makes one"
    )
}

fn member_names(metadata: &Metadata) -> String {
    let names: Vec<String> = metadata
        .workspace_packages()
        .iter()
        .map(|p| format!("`{}`", p.name))
        .collect();
    names.join(", ")
}

/// Reads `Cargo.toml` files only through cargo, so this checks the error text we show for them.
#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_manifest_path_says_so() {
        let err = check_manifest_path(std::path::Path::new("/nowhere/Cargo.toml")).unwrap_err();
        assert!(
            err.to_string()
                .contains("`/nowhere/Cargo.toml` does not exist"),
            "{err}"
        );
    }

    #[test]
    fn a_folder_as_manifest_path_gets_a_hint() {
        let dir = tempfile::tempdir().unwrap();
        let err = check_manifest_path(dir.path()).unwrap_err().to_string();
        assert!(err.contains("is a folder"), "{err}");
        assert!(err.contains("Cargo.toml"), "{err}");
    }
}
