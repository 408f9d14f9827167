//! Running `cargo build` for wasm32 and reading the core modules it made.
//!
//! Cargo's JSON messages come on its stdout and are parsed here; its status
//! lines and rustc's rendered diagnostics go straight to the user's stderr.

use std::io::BufReader;
use std::process::{Child, ChildStdout, Stdio};

use anyhow::{Context, Result};
use cargo_metadata::camino::{Utf8Path, Utf8PathBuf};
use cargo_metadata::{Message, PackageId};

use crate::AlreadyReported;
use crate::cli::ColorWhen;
use crate::term::Verbosity;
use crate::toolchain::{Toolchain, WASM_TARGET};

/// Cargo's profile choice: `--release` or `--profile NAME`, else dev.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Profile {
    /// The dev profile (`target/.../debug`).
    #[default]
    Dev,
    /// `--release`.
    Release,
    /// `--profile NAME`.
    Named(String),
}

impl Profile {
    /// The name cargo knows it by.
    pub fn name(&self) -> &str {
        match self {
            Profile::Dev => "dev",
            Profile::Release => "release",
            Profile::Named(name) => name,
        }
    }

    /// Its folder under `target/<triple>/` and `target/iso/`.
    pub fn dir_name(&self) -> &str {
        match self.name() {
            "dev" | "test" => "debug",
            "bench" => "release",
            name => name,
        }
    }
}

/// Flags cargo takes as they are.
#[derive(Debug, Clone, Default)]
pub struct PassThrough {
    /// `--features`, `--all-features`, `--no-default-features`.
    pub features: clap_cargo::Features,
    /// `--locked`.
    pub locked: bool,
    /// `--offline`.
    pub offline: bool,
    /// `--frozen`.
    pub frozen: bool,
}

/// One `cargo build` of some guest packages.
#[derive(Debug)]
pub struct CargoBuild<'a> {
    /// The toolchain that builds them.
    pub toolchain: &'a Toolchain,
    /// The manifest cargo runs on.
    pub manifest_path: &'a Utf8Path,
    /// The packages to build: each one's name (for `-p NAME`) and id (to
    /// know its module among cargo's messages).
    pub packages: Vec<(&'a str, &'a PackageId)>,
    /// Which profile.
    pub profile: &'a Profile,
    /// `--target-dir`.
    pub target_dir: &'a Utf8Path,
    /// Flags passed through unchanged.
    pub pass_through: &'a PassThrough,
    /// `-q` / `-v`, passed on.
    pub verbosity: Verbosity,
    /// `--color`, passed on.
    pub color: ColorWhen,
    /// Build without debug info, under a profile of its own that inherits
    /// [`CargoBuild::profile`] (so the two keep their own artifacts): for
    /// hosts, which drop DWARF anyway. Less to generate and link makes each
    /// incremental build faster.
    pub without_debug_info: bool,
    /// The guest SDK's `iso-guest` folder, patched in for a registry
    /// dependency on `iso-guest` (see [`crate::sdk::patch_config`]).
    pub sdk: Option<&'a std::path::Path>,
}

/// A core wasm module cargo built for one package.
#[derive(Debug, Clone)]
pub struct CoreModule {
    /// The package it belongs to.
    pub package_id: PackageId,
    /// The `.wasm` file.
    pub path: Utf8PathBuf,
    /// Whether cargo found it up to date and did not rebuild it.
    pub fresh: bool,
}

impl CargoBuild<'_> {
    /// The arguments after `cargo`.
    pub fn args(&self) -> Vec<String> {
        let mut args: Vec<String> = vec![
            "build".into(),
            "--lib".into(),
            "--target".into(),
            WASM_TARGET.into(),
        ];
        args.extend(["--message-format".into(), "json-render-diagnostics".into()]);
        args.extend(["--manifest-path".into(), self.manifest_path.to_string()]);
        args.extend(["--target-dir".into(), self.target_dir.to_string()]);
        args.extend(["--color".into(), self.color.as_str().into()]);
        for (package, _) in &self.packages {
            args.extend(["-p".into(), (*package).into()]);
        }
        if let Some(sdk) = self.sdk {
            args.extend(["--config".into(), crate::sdk::patch_config(sdk)]);
        }
        match self.profile {
            _ if self.without_debug_info => args.extend(lean_profile(self.profile)),
            Profile::Dev => {}
            Profile::Release => args.push("--release".into()),
            Profile::Named(name) => args.extend(["--profile".into(), name.clone()]),
        }
        match self.verbosity {
            Verbosity::Quiet => args.push("--quiet".into()),
            Verbosity::Normal => {}
            Verbosity::Verbose(n) => args.push(format!("-{}", "v".repeat(n.into()))),
        }
        let features = &self.pass_through.features;
        if features.all_features {
            args.push("--all-features".into());
        }
        if features.no_default_features {
            args.push("--no-default-features".into());
        }
        if !features.features.is_empty() {
            args.extend(["--features".into(), features.features.join(",")]);
        }
        for (on, flag) in [
            (self.pass_through.locked, "--locked"),
            (self.pass_through.offline, "--offline"),
            (self.pass_through.frozen, "--frozen"),
        ] {
            if on {
                args.push(flag.into());
            }
        }
        args
    }

    /// Runs cargo until it has written a core module for each package and
    /// returns them, with cargo still finishing (writing its fingerprints,
    /// ~5 ms), so that the caller can go on meanwhile. When a module is
    /// missing it waits for cargo: a failed build has already been shown by
    /// cargo (rustc's diagnostics), so it comes back as [`AlreadyReported`]
    /// with cargo's exit code.
    pub fn start(&self) -> Result<(Vec<CoreModule>, Finishing)> {
        let mut command = self.toolchain.cargo_command(self.args());
        command
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .stdin(Stdio::null());
        let mut child = command
            .spawn()
            .with_context(|| format!("could not run `{}`", self.toolchain.cargo.display()))?;
        let stdout = child.stdout.take().expect("stdout is piped");
        // Built first, so that every way out of here waits for cargo.
        let mut cargo = Finishing {
            child: Some(child),
            messages: Some(Message::parse_stream(BufReader::new(stdout))),
        };
        // A dependency's cdylib is not one of ours.
        let wanted = |module: &CoreModule| {
            let mut ids = self.packages.iter().map(|(_, id)| *id);
            ids.any(|id| *id == module.package_id)
        };
        let mut modules = Vec::new();
        while modules.len() < self.packages.len() {
            let Some(message) = cargo.messages.as_mut().and_then(Iterator::next) else {
                break;
            };
            let message = message.context("could not read cargo's JSON messages")?;
            if let Some(module) = core_module(message).filter(wanted) {
                modules.push(module);
            }
        }
        if modules.len() < self.packages.len() {
            cargo.wait()?;
        }
        Ok((modules, cargo))
    }
}

/// The wasm module a `compiler-artifact` message announces, if it is a cdylib's.
fn core_module(message: Message) -> Option<CoreModule> {
    let Message::CompilerArtifact(artifact) = message else {
        return None;
    };
    if !artifact.target.is_cdylib() {
        return None;
    }
    let path = artifact
        .filenames
        .iter()
        .find(|f| f.extension() == Some("wasm"))?;
    Some(CoreModule {
        package_id: artifact.package_id.clone(),
        path: path.clone(),
        fresh: artifact.fresh,
    })
}

/// A cargo that has written its modules and is finishing; dropping it waits
/// for it, but only [`Finishing::finish`] says whether it succeeded.
#[must_use = "`finish` says whether cargo succeeded"]
pub struct Finishing {
    child: Option<Child>,
    messages: Option<cargo_metadata::MessageIter<BufReader<ChildStdout>>>,
}

impl Finishing {
    /// Waits for cargo to exit; a failure has already been shown by cargo,
    /// so it comes back as [`AlreadyReported`] with cargo's exit code.
    pub fn finish(mut self) -> Result<()> {
        self.wait()
    }

    fn wait(&mut self) -> Result<()> {
        let Some(mut child) = self.child.take() else {
            return Ok(());
        };
        // Read to the end (or the first error), so that cargo never blocks on
        // a full pipe; dropping the reader then lets a stuck cargo see EPIPE.
        if let Some(messages) = self.messages.take() {
            messages.map_while(Result::ok).for_each(drop);
        }
        let status = child.wait().context("cargo did not finish")?;
        if !status.success() {
            let code = status
                .code()
                .and_then(|c| u8::try_from(c).ok())
                .unwrap_or(101);
            return Err(AlreadyReported { code }.into());
        }
        Ok(())
    }
}

impl Drop for Finishing {
    fn drop(&mut self) {
        let _ = self.wait();
    }
}

/// The profile without debug info that [`CargoBuild::without_debug_info`]
/// builds with: `iso-dev` for the dev profile, `iso-dev-<base>` for others.
pub fn lean_profile_name(base: &Profile) -> String {
    match base {
        Profile::Dev => "iso-dev".to_owned(),
        other => format!("iso-dev-{}", other.name()),
    }
}

/// Cargo arguments that define the lean profile on top of `base` and select it.
fn lean_profile(base: &Profile) -> Vec<String> {
    let name = lean_profile_name(base);
    let config = [
        format!("profile.{name}.inherits=\"{}\"", base.name()),
        format!("profile.{name}.debug=false"),
        format!("profile.{name}.strip=\"debuginfo\""),
        // The SDK's code, optimized a little: a smaller module that Winch
        // compiles faster on every reload. Built once; the guest's own
        // crate and its proc macros stay unoptimized, so a save rebuilds as fast.
        format!("profile.{name}.package.iso-guest.opt-level=1"),
        format!("profile.{name}.package.iso-schema.opt-level=1"),
        format!("profile.{name}.package.wit-bindgen.opt-level=1"),
    ];
    let mut args: Vec<String> = config
        .into_iter()
        .flat_map(|value| ["--config".to_owned(), value])
        .collect();
    args.extend(["--profile".to_owned(), name]);
    args
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::toolchain::{Origin, StdSource};

    fn toolchain(std: StdSource) -> Toolchain {
        Toolchain {
            origin: Origin::Active,
            label: "test".into(),
            cargo: "cargo".into(),
            rustc: Some("/usr/bin/rustc".into()),
            sysroot: "/usr".into(),
            std,
        }
    }

    #[test]
    fn passes_cargo_flags_through() {
        let toolchain = toolchain(StdSource::Prebuilt);
        let mut features = clap_cargo::Features::default();
        features.features = vec!["a".into(), "b".into()];
        let pass_through = PassThrough {
            features,
            locked: true,
            ..Default::default()
        };
        let id = PackageId { repr: "g".into() };
        let build = CargoBuild {
            toolchain: &toolchain,
            manifest_path: Utf8Path::new("/g/Cargo.toml"),
            packages: vec![("g", &id)],
            profile: &Profile::Release,
            target_dir: Utf8Path::new("/t"),
            pass_through: &pass_through,
            verbosity: Verbosity::Verbose(2),
            color: ColorWhen::Never,
            without_debug_info: false,
            sdk: None,
        };
        let args = build.args().join(" ");
        assert!(
            args.starts_with("build --lib --target wasm32-unknown-unknown"),
            "{args}"
        );
        for part in [
            "-p g",
            "--release",
            "-vv",
            "--features a,b",
            "--locked",
            "--color never",
            "--target-dir /t",
        ] {
            assert!(args.contains(part), "{part} missing from {args}");
        }
    }

    #[test]
    fn a_build_without_debug_info_has_a_profile_of_its_own() {
        let toolchain = toolchain(StdSource::Prebuilt);
        let pass_through = PassThrough::default();
        let id = PackageId { repr: "g".into() };
        let build = |profile| {
            CargoBuild {
                toolchain: &toolchain,
                manifest_path: Utf8Path::new("/g/Cargo.toml"),
                packages: vec![("g", &id)],
                profile,
                target_dir: Utf8Path::new("/t"),
                pass_through: &pass_through,
                verbosity: Verbosity::Normal,
                color: ColorWhen::Never,
                without_debug_info: true,
                sdk: None,
            }
            .args()
            .join(" ")
        };
        let dev = build(&Profile::Dev);
        assert!(
            dev.ends_with(
                "--config profile.iso-dev.inherits=\"dev\" --config profile.iso-dev.debug=false \
                 --config profile.iso-dev.strip=\"debuginfo\" \
                 --config profile.iso-dev.package.iso-guest.opt-level=1 \
                 --config profile.iso-dev.package.iso-schema.opt-level=1 \
                 --config profile.iso-dev.package.wit-bindgen.opt-level=1 --profile iso-dev"
            ),
            "{dev}"
        );
        let release = build(&Profile::Release);
        assert!(
            release.contains("profile.iso-dev-release.inherits=\"release\""),
            "{release}"
        );
        assert!(!release.contains("--release"), "{release}");
        let named = build(&Profile::Named("fast".into()));
        assert!(named.ends_with("--profile iso-dev-fast"), "{named}");
    }

    #[test]
    fn std_from_source_adds_build_std() {
        let command = toolchain(StdSource::FromSource).cargo_command(["build"]);
        let args: Vec<_> = command
            .get_args()
            .map(|a| a.to_string_lossy().into_owned())
            .collect();
        assert_eq!(args, ["build", "-Zbuild-std=std,panic_abort"]);
        let envs: Vec<_> = command
            .get_envs()
            .map(|(k, _)| k.to_string_lossy().into_owned())
            .collect();
        assert!(envs.contains(&"RUSTC_BOOTSTRAP".to_owned()));
        assert!(envs.contains(&"RUSTC".to_owned()));
    }
}
