//! `cargo iso build`: build guest crates for wasm32 and turn them into components.
//!
//! The pipeline, shared with the commands that run guests:
//! find the guests (`cargo metadata`) and the toolchain at once, run
//! `cargo build --target wasm32-unknown-unknown`, then componentize each core
//! module into `<target-dir>/iso/<profile>/<name>.wasm`, written atomically.

use std::io::Write;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use cargo_metadata::camino::{Utf8Path, Utf8PathBuf};
use clap::{Args, ValueEnum};

use crate::cargo_build::{CargoBuild, CoreModule, Finishing, PassThrough, Profile};
use crate::componentize::{
    WorldSummary, componentize, componentize_for_host, describe, guest_world, write_atomically,
};
use crate::links::{self, Link};
use crate::project::{self, Guest, Project, Selection};
use crate::shared_target::{self, Slots};
use crate::term::Shell;
use crate::toolchain::{self, StdSource, TOOLCHAIN_ENV, Toolchain};
use crate::wit_deps;

/// `cargo iso build`.
#[derive(Args, Debug)]
#[command(after_help = "Each guest becomes <target-dir>/iso/<profile>/<name>.wasm.")]
pub struct BuildArgs {
    #[command(flatten)]
    #[allow(missing_docs)]
    pub options: BuildOptions,

    /// Output format: `human` (status lines on stderr), or `json` (one object per component on stdout)
    #[arg(long, value_name = "FMT", default_value = "human")]
    pub message_format: MessageFormat,
}

/// `--message-format`.
#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum MessageFormat {
    /// Status lines on stderr only.
    Human,
    /// One JSON object per built component on stdout.
    Json,
}

/// The flags of every command that builds guests.
#[derive(Args, Debug, Clone, Default)]
pub struct BuildOptions {
    #[command(flatten)]
    #[allow(missing_docs)]
    pub manifest: clap_cargo::Manifest,

    #[command(flatten)]
    #[allow(missing_docs)]
    pub workspace: clap_cargo::Workspace,

    #[command(flatten)]
    #[allow(missing_docs)]
    pub features: clap_cargo::Features,

    /// Build artifacts in release mode, with optimizations
    #[arg(short, long, conflicts_with = "profile")]
    pub release: bool,

    /// Build artifacts with the specified profile
    #[arg(long, value_name = "PROFILE-NAME")]
    pub profile: Option<String>,

    /// Directory for all generated artifacts
    #[arg(long, value_name = "DIRECTORY")]
    pub target_dir: Option<PathBuf>,

    /// Toolchain that builds guests: a rustup toolchain name, a rustc binary, or a sysroot folder such as /usr
    #[arg(long, value_name = "TOOLCHAIN", env = TOOLCHAIN_ENV)]
    pub toolchain: Option<String>,

    /// Assert that `Cargo.lock` will remain unchanged
    #[arg(long)]
    pub locked: bool,

    /// Run without accessing the network
    #[arg(long)]
    pub offline: bool,

    /// Equivalent to specifying both --locked and --offline
    #[arg(long)]
    pub frozen: bool,
}

/// A guest turned into a component.
#[derive(Debug, Clone)]
pub struct BuiltComponent {
    /// The guest package.
    pub guest: Guest,
    /// The core module cargo built.
    pub core: CoreModule,
    /// The component file.
    pub path: Utf8PathBuf,
    /// Whether the component was already up to date.
    pub fresh: bool,
    /// How long cargo took to write the modules (for the whole build, shared by its guests).
    pub cargo_time: Duration,
    /// How long componentizing took (zero when fresh).
    pub componentize_time: Duration,
}

impl BuiltComponent {
    /// The component's bytes, read from its file.
    pub fn read(&self) -> Result<Vec<u8>> {
        std::fs::read(&self.path).with_context(|| format!("could not read `{}`", self.path))
    }
}

/// One line of `--message-format json`.
#[derive(serde::Serialize)]
struct ComponentMessage<'a> {
    name: &'a str,
    version: &'a str,
    path: &'a Utf8Path,
    #[serde(flatten)]
    world: WorldSummary,
    size: u64,
    fresh: bool,
}

impl BuildArgs {
    /// Runs the build and reports each component.
    pub fn exec(self, shell: &Shell) -> Result<()> {
        let built = build_guests(&self.options, shell)?;
        let mut stdout = std::io::stdout().lock();
        for component in &built {
            let size = std::fs::metadata(&component.path)
                .with_context(|| format!("could not read `{}`", component.path))?
                .len();
            shell.status(
                "Component",
                format_args!(
                    "{} v{} -> {} ({})",
                    component.guest.name,
                    component.guest.version,
                    display_path(&component.path),
                    bytesize::ByteSize(size).display().iec()
                ),
            );
            if self.message_format == MessageFormat::Json {
                let message = ComponentMessage {
                    name: &component.guest.name,
                    version: &component.guest.version,
                    path: &component.path,
                    world: summarize(component)?,
                    size,
                    fresh: component.fresh,
                };
                serde_json::to_writer(&mut stdout, &message)?;
                writeln!(stdout)?;
            }
        }
        Ok(())
    }
}

fn summarize(component: &BuiltComponent) -> Result<WorldSummary> {
    let read =
        |path: &Utf8Path| std::fs::read(path).with_context(|| format!("could not read `{path}`"));
    let world = guest_world(&read(&component.core.path)?)?.unwrap_or_default();
    describe(&read(&component.path)?, world)
        .with_context(|| format!("could not describe `{}`", component.path))
}

/// Builds the selected guests and componentizes each; the pipeline every command shares.
pub fn build_guests(options: &BuildOptions, shell: &Shell) -> Result<Vec<BuiltComponent>> {
    Pipeline::prepare(options, shell)?.build(shell)
}

/// The build pipeline with its set-up done (guests found, toolchain resolved),
/// so a host that rebuilds on every save pays only for cargo and componentizing.
pub struct Pipeline {
    project: Project,
    links: Vec<Link>,
    toolchain: Toolchain,
    cargo_target_dir: Utf8PathBuf,
    /// The project's iso folder (see [`Project::iso_dir`]).
    iso_dir: Utf8PathBuf,
    /// The SDK patched in for guests that depend on `iso-guest` by version.
    sdk: Option<PathBuf>,
    profile: Profile,
    pass_through: PassThrough,
    /// For a host: build without debug info (see
    /// [`CargoBuild::without_debug_info`]) and componentize without
    /// validating (wasmtime validates), into `iso/<profile>/dev/`.
    pub for_host: bool,
}

impl Pipeline {
    /// Finds the guests and the toolchain, and syncs their iso WIT packages.
    pub fn prepare(options: &BuildOptions, shell: &Shell) -> Result<Pipeline> {
        if let Err(err) = crate::sdk::ensure() {
            // Only guests made against the unpacked SDK need it: let cargo say if one does.
            shell.warn(format_args!("{err:#}"));
        }
        let selection = Selection {
            manifest_path: options.manifest.manifest_path.clone(),
            workspace: options.workspace.clone(),
        };
        // `cargo metadata` and the toolchain probe each start a process: run them side by side.
        let (project, toolchain) = std::thread::scope(|scope| {
            let toolchain = scope.spawn(|| toolchain::resolve(options.toolchain.as_deref()));
            let project = project::discover(&selection);
            (
                project,
                toolchain
                    .join()
                    .expect("toolchain resolution does not panic"),
            )
        });
        let (project, toolchain) = (project?, toolchain?);
        report_toolchain(shell, &toolchain);
        for guest in &project.guests {
            wit_deps::sync(
                guest
                    .manifest_path
                    .parent()
                    .unwrap_or(&guest.manifest_path)
                    .as_std_path(),
            )?;
        }
        let links = links::resolve(&project.guests, &project.workspace_guests)?;
        links::sync_deps(&links, &project.workspace_guests)?;
        for link in &links {
            let remote = if link.remote { "remote " } else { "" };
            shell.status(
                "Wiring",
                format_args!(
                    "{}: {} from {remote}{}",
                    link.importer, link.interface, link.provider
                ),
            );
        }
        let (cargo_target_dir, iso_dir) = target_dirs(options, &project)?;
        shell.verbose_status(
            "Target",
            format_args!("cargo builds in {cargo_target_dir}; components go to {iso_dir}"),
        );
        let profile = match (options.profile.as_deref(), options.release) {
            (Some("dev"), _) => Profile::Dev,
            (Some("release"), _) => Profile::Release,
            (Some(name), _) => Profile::Named(name.to_owned()),
            (None, true) => Profile::Release,
            (None, false) => Profile::Dev,
        };
        let pass_through = PassThrough {
            features: options.features.clone(),
            locked: options.locked,
            offline: options.offline,
            frozen: options.frozen,
        };
        let sdk = project.sdk()?;
        if let Some(sdk) = &sdk {
            // Plain `cargo` in the project finds the SDK too.
            crate::sdk::write_local_patch(project.workspace_root.as_std_path(), sdk)?;
        }
        Ok(Pipeline {
            sdk,
            project,
            links,
            toolchain,
            cargo_target_dir,
            iso_dir,
            profile,
            pass_through,
            for_host: false,
        })
    }

    /// The lean profile of a host build (see [`Pipeline::for_host`]) when
    /// this build will be its first, so cargo builds the guest's
    /// dependencies once more; `None` otherwise.
    pub fn first_lean_build(&self) -> Option<String> {
        let profile = crate::cargo_build::lean_profile_name(&self.profile);
        let dir = self
            .cargo_target_dir
            .join(crate::toolchain::WASM_TARGET)
            .join(&profile);
        (self.for_host && !dir.exists()).then_some(profile)
    }

    /// The project's default host data folder, `target/iso/data`.
    pub fn data_dir(&self) -> PathBuf {
        data_dir_in(&self.iso_dir)
    }

    /// The project's iso folder (see [`Project::iso_dir`]).
    pub fn iso_dir(&self) -> &Utf8Path {
        &self.iso_dir
    }

    /// Which guest provides each import of the others.
    pub fn links(&self) -> &[Link] {
        &self.links
    }

    /// The guests it builds.
    pub fn guests(&self) -> &[Guest] {
        &self.project.guests
    }

    /// The one guest this selects, for commands that work on one; the
    /// error names the guests selected and ends with `help`.
    pub fn single_guest(&self, command: &str, help: &str) -> Result<&Guest> {
        match self.guests() {
            [guest] => Ok(guest),
            guests => {
                let names: Vec<String> = guests.iter().map(|g| format!("`{}`", g.name)).collect();
                bail!(
                    "`cargo iso {command}` works on one guest, but this selects {}\nhelp: {help}",
                    names.join(", ")
                )
            }
        }
    }

    /// Builds, and reads the component of the guest that
    /// [`Pipeline::single_guest`] found.
    pub fn build_single(&self, shell: &Shell) -> Result<(BuiltComponent, Vec<u8>)> {
        let (component, bytes, cargo) = self.start_single(shell)?;
        cargo.finish()?;
        Ok((component, bytes))
    }

    /// [`Pipeline::build_single`], returning as soon as the component is
    /// written, while cargo finishes: a host compiles meanwhile.
    pub fn start_single(&self, shell: &Shell) -> Result<(BuiltComponent, Vec<u8>, Finishing)> {
        let (mut built, cargo) = self.start(shell)?;
        let component = built.remove(0);
        let bytes = component.read()?;
        Ok((component, bytes, cargo))
    }

    /// Runs cargo and componentizes each guest's module.
    pub fn build(&self, shell: &Shell) -> Result<Vec<BuiltComponent>> {
        let (built, cargo) = self.start(shell)?;
        cargo.finish()?;
        Ok(built)
    }

    /// Runs cargo and componentizes each guest's module as soon as cargo has written them all.
    fn start(&self, shell: &Shell) -> Result<(Vec<BuiltComponent>, Finishing)> {
        self.start_some(shell, self.guests())
    }

    /// [`Pipeline::start`] for the guests called `names` only (a host
    /// rebuilds only the guests a change touched).
    pub fn start_named(
        &self,
        shell: &Shell,
        names: &[String],
    ) -> Result<(Vec<BuiltComponent>, Finishing)> {
        let guests: Vec<Guest> = (self.guests().iter())
            .filter(|guest| names.contains(&guest.name))
            .cloned()
            .collect();
        self.start_some(shell, &guests)
    }

    fn start_some(
        &self,
        shell: &Shell,
        guests: &[Guest],
    ) -> Result<(Vec<BuiltComponent>, Finishing)> {
        let started = Instant::now();
        let (modules, cargo) = CargoBuild {
            toolchain: &self.toolchain,
            manifest_path: &self.project.manifest_path,
            packages: guests.iter().map(|g| (g.name.as_str(), &g.id)).collect(),
            profile: &self.profile,
            target_dir: &self.cargo_target_dir,
            pass_through: &self.pass_through,
            verbosity: shell.verbosity(),
            color: shell.color(),
            without_debug_info: self.for_host,
            sdk: self.sdk.as_deref(),
        }
        .start()?;
        let cargo_time = started.elapsed();
        let built = guests
            .iter()
            .map(|guest| {
                let Some(core) = modules.iter().find(|m| m.package_id == guest.id) else {
                    bail!(
                        "cargo built no wasm library for `{}`: is its `[lib]` a cdylib?",
                        guest.name
                    );
                };
                let mut built = self.componentize_guest(shell, guest.clone(), core.clone())?;
                built.cargo_time = cargo_time;
                Ok(built)
            })
            .collect::<Result<_>>()?;
        Ok((built, cargo))
    }
}

/// The host data folder of a project whose iso folder is `iso_dir`
/// (see [`Project::iso_dir`]): `iso_dir/data`.
pub fn data_dir_in(iso_dir: &Utf8Path) -> PathBuf {
    iso_dir.join("data").into_std_path_buf()
}

/// Where cargo builds, and the project's iso folder (components, data,
/// logs; see [`Project::iso_dir`]). Cargo builds in a slot of the target
/// dir the user chose, else of the machine's shared guest dir (see
/// [`shared_target`]), so that guests of one name from two projects, or
/// from a project and a checkout of one of its git revisions, never share
/// artifacts or fingerprints.
fn target_dirs(options: &BuildOptions, project: &Project) -> Result<(Utf8PathBuf, Utf8PathBuf)> {
    let chosen = chosen_target_dir(options, project)?;
    let iso_dir = project.iso_dir(chosen.as_deref());
    let (root, slots) = match (&chosen, shared_target::root()) {
        (Some(dir), _) => (dir.clone().into_std_path_buf(), Slots::FirstInRoot),
        (None, Some(root)) => (root, Slots::Numbered),
        (None, None) => return Ok((project.target_dir.clone(), iso_dir)),
    };
    let guests: Vec<(&str, &std::path::Path)> = project
        .guests
        .iter()
        .map(|g| (g.wasm_file.as_str(), g.manifest_path.as_std_path()))
        .collect();
    let slot = shared_target::slot_for(&root, slots, &guests)?;
    Ok((utf8(slot)?, iso_dir))
}

/// The project's iso folder for a build with `options` (see [`Project::iso_dir`]).
pub fn iso_dir_for(options: &BuildOptions, project: &Project) -> Result<Utf8PathBuf> {
    Ok(project.iso_dir(chosen_target_dir(options, project)?.as_deref()))
}

/// The target dir the user chose: `--target-dir`, else `CARGO_TARGET_DIR`
/// or cargo config when it is not the project's own `target/`.
fn chosen_target_dir(options: &BuildOptions, project: &Project) -> Result<Option<Utf8PathBuf>> {
    Ok(match &options.target_dir {
        Some(dir) => Some(utf8(dir.clone())?),
        None => (!project.default_target_dir).then(|| project.target_dir.clone()),
    })
}

fn utf8(dir: PathBuf) -> Result<Utf8PathBuf> {
    Utf8PathBuf::from_path_buf(dir)
        .map_err(|dir| anyhow::anyhow!("target dir `{}` is not UTF-8", dir.display()))
}

fn report_toolchain(shell: &Shell, toolchain: &Toolchain) {
    let how = match toolchain.std {
        StdSource::Prebuilt => "prebuilt wasm32 std",
        StdSource::FromSource => "std built from source",
    };
    shell.verbose_status(
        "Toolchain",
        format_args!("{} {} ({how})", toolchain.origin, toolchain.label),
    );
}

impl Pipeline {
    /// Componentizes one core module into `<iso dir>/<profile>/<file>`, unless that is up to date.
    fn componentize_guest(
        &self,
        shell: &Shell,
        guest: Guest,
        core: CoreModule,
    ) -> Result<BuiltComponent> {
        let profile_dir = self.profile.dir_name();
        let file_name = core
            .path
            .file_name()
            .context("cargo's wasm artifact has no file name")?;
        let mut dir = self.iso_dir.join(profile_dir);
        if self.for_host {
            dir.push("dev");
        }
        let path = dir.join(file_name);
        let fresh = core.fresh && is_newer(&path, &core.path);
        let started = Instant::now();
        if fresh {
            shell.verbose_status(
                "Fresh",
                format_args!("{} v{} component", guest.name, guest.version),
            );
        } else {
            let bytes = std::fs::read(&core.path)
                .with_context(|| format!("could not read `{}`", core.path))?;
            let component = if self.for_host {
                componentize_for_host(&bytes)
            } else {
                componentize(&bytes)
            };
            let component = component.with_context(|| {
                format!(
                    "could not make a component of `{}` (package `{}`)",
                    core.path, guest.name
                )
            })?;
            write_atomically(path.as_std_path(), &component)?;
            shell.verbose_status(
                "Componentized",
                format_args!("{} in {:.1?}", guest.name, started.elapsed()),
            );
        }
        Ok(BuiltComponent {
            guest,
            core,
            path,
            fresh,
            cargo_time: Duration::ZERO,
            componentize_time: if fresh {
                Duration::ZERO
            } else {
                started.elapsed()
            },
        })
    }
}

/// Whether `output` exists and is at least as new as `input`.
fn is_newer(output: &Utf8Path, input: &Utf8Path) -> bool {
    let modified = |path: &Utf8Path| std::fs::metadata(path).and_then(|m| m.modified()).ok();
    matches!((modified(output), modified(input)), (Some(out), Some(inp)) if out >= inp)
}

/// `path` relative to the current folder when it is inside it.
fn display_path(path: &Utf8Path) -> String {
    let cwd = std::env::current_dir()
        .ok()
        .and_then(|d| Utf8PathBuf::from_path_buf(d).ok());
    match cwd.as_deref().and_then(|cwd| path.strip_prefix(cwd).ok()) {
        Some(relative) => relative.to_string(),
        None => path.to_string(),
    }
}
