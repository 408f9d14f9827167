//! Which Rust toolchain builds guests for `wasm32-unknown-unknown`, and how.
//!
//! Resolution, in order:
//! 1. an explicit choice (`--toolchain` or `CARGO_ISO_TOOLCHAIN`): a rustup
//!    toolchain name, a `rustc` binary, or a sysroot folder such as `/usr`;
//! 2. the active toolchain, if it has the prebuilt wasm32 std;
//! 3. the active toolchain, if it has `rust-src` (std is built from source);
//! 4. another toolchain on the system that can do 2 or 3: other rustup
//!    toolchains, then Debian's `rustc-web` in `/usr`;
//! 5. otherwise an error naming the one command that fixes it.
//!
//! An explicit choice that cannot build guests is an error, never a fallback.

use std::fmt;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, anyhow, bail};

/// The target every guest is built for.
pub const WASM_TARGET: &str = "wasm32-unknown-unknown";

/// The environment variable that chooses a toolchain, like `--toolchain`.
pub const TOOLCHAIN_ENV: &str = "CARGO_ISO_TOOLCHAIN";

/// Where a candidate toolchain came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// Named with `--toolchain` or `CARGO_ISO_TOOLCHAIN`.
    Explicit(String),
    /// The toolchain that runs `cargo iso` (`$CARGO`, `$RUSTC` or the ones on `PATH`).
    Active,
    /// Found elsewhere on the system.
    System,
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Origin::Explicit(spec) => write!(f, "explicit choice `{spec}`"),
            Origin::Active => f.write_str("active toolchain"),
            Origin::System => f.write_str("system toolchain"),
        }
    }
}

/// How a toolchain gets the wasm32 standard library.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StdSource {
    /// The prebuilt std (`rustup target add wasm32-unknown-unknown`).
    Prebuilt,
    /// std built from `rust-src` with `-Zbuild-std`.
    FromSource,
}

/// What a toolchain's sysroot holds that matters for guests.
#[derive(Debug, Clone)]
pub struct Probe {
    /// The sysroot (`rustc --print sysroot`).
    pub sysroot: PathBuf,
    /// Whether `lib/rustlib/wasm32-unknown-unknown/lib` holds a std.
    pub wasm_std: bool,
    /// Whether `lib/rustlib/src/rust/library` holds std's source.
    pub rust_src: bool,
    /// The `rust-lld` that links wasm32.
    pub linker: Linker,
}

/// Where the wasm32 linker (`rust-lld`) is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Linker {
    /// Found at this path.
    Found(PathBuf),
    /// `link` is a symlink to `target`, which does not exist.
    Dangling {
        /// The symlink.
        link: PathBuf,
        /// What it points to.
        target: PathBuf,
    },
    /// Not in the sysroot nor on `PATH`.
    Missing,
}

impl Probe {
    /// How this toolchain would get its wasm32 std, if it can build guests at all.
    pub fn std_source(&self) -> Option<StdSource> {
        if !matches!(self.linker, Linker::Found(_)) {
            None
        } else if self.wasm_std {
            Some(StdSource::Prebuilt)
        } else if self.rust_src {
            Some(StdSource::FromSource)
        } else {
            None
        }
    }

    /// What this toolchain lacks, in words, when it cannot build guests.
    pub fn shortfall(&self) -> String {
        match &self.linker {
            Linker::Dangling { link, target } => format!(
                "its linker {} points to {}, which does not exist",
                link.display(),
                target.display()
            ),
            Linker::Missing => "it has no `rust-lld` linker".to_owned(),
            Linker::Found(_) => format!(
                "it has neither the prebuilt {WASM_TARGET} std ({}) nor rust-src ({})",
                self.wasm_std_dir().display(),
                self.rust_src_dir().display()
            ),
        }
    }

    fn wasm_std_dir(&self) -> PathBuf {
        wasm_std_dir(&self.sysroot)
    }

    fn rust_src_dir(&self) -> PathBuf {
        rust_src_dir(&self.sysroot)
    }
}

/// A toolchain that was looked at, whether or not it can build guests.
#[derive(Debug, Clone)]
pub struct Candidate {
    /// Why it was considered.
    pub origin: Origin,
    /// A short name: the rustup toolchain or the sysroot path.
    pub label: String,
    /// Its `cargo`.
    pub cargo: PathBuf,
    /// Its `rustc`; `None` leaves `RUSTC` as the user has it (the active toolchain).
    pub rustc: Option<PathBuf>,
    /// What its sysroot holds, or why it could not be looked at.
    pub probe: Result<Probe, String>,
}

impl Candidate {
    /// The toolchain this candidate gives, if it can build guests.
    pub fn usable(&self) -> Option<Toolchain> {
        let probe = self.probe.as_ref().ok()?;
        Some(Toolchain {
            origin: self.origin.clone(),
            label: self.label.clone(),
            cargo: self.cargo.clone(),
            rustc: self.rustc.clone(),
            sysroot: probe.sysroot.clone(),
            std: probe.std_source()?,
        })
    }

    /// The `rustc` this candidate runs, for version queries.
    pub fn rustc_command(&self) -> PathBuf {
        self.rustc.clone().unwrap_or_else(active_rustc)
    }
}

/// A toolchain that can build guests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Toolchain {
    /// Why it was chosen.
    pub origin: Origin,
    /// A short name: the rustup toolchain or the sysroot path.
    pub label: String,
    /// The `cargo` to run.
    pub cargo: PathBuf,
    /// The `RUSTC` to set for cargo; `None` keeps the user's.
    pub rustc: Option<PathBuf>,
    /// Its sysroot.
    pub sysroot: PathBuf,
    /// How it gets the wasm32 std.
    pub std: StdSource,
}

impl Toolchain {
    /// A `cargo` command for this toolchain; `std` from source adds `-Zbuild-std`
    /// after the subcommand, so call it with the subcommand already in `args`.
    pub fn cargo_command<I, S>(&self, args: I) -> Command
    where
        I: IntoIterator<Item = S>,
        S: AsRef<std::ffi::OsStr>,
    {
        let mut command = Command::new(&self.cargo);
        command.args(args);
        if let Some(rustc) = &self.rustc {
            command.env("RUSTC", rustc);
        }
        if self.std == StdSource::FromSource {
            // Stable cargo accepts `-Z` flags only with this set.
            command.env("RUSTC_BOOTSTRAP", "1");
            command.arg("-Zbuild-std=std,panic_abort");
        }
        command
    }
}

/// Picks the toolchain that builds guests, following the module's order.
pub fn resolve(explicit: Option<&str>) -> Result<Toolchain> {
    if let Some(spec) = explicit {
        let candidate = explicit_candidate(spec)?;
        return candidate.usable().ok_or_else(|| explicit_error(&candidate));
    }
    let active = active_candidate();
    if let Some(toolchain) = active.usable() {
        return Ok(toolchain);
    }
    let others = system_candidates(&active);
    pick(&others).ok_or_else(|| no_toolchain_error(&active, &others))
}

/// Every candidate looked at, in order, and the one [`resolve`] picks; for `cargo iso doctor`.
pub fn survey(explicit: Option<&str>) -> (Vec<Candidate>, Result<Toolchain>) {
    if let Some(spec) = explicit {
        return match explicit_candidate(spec) {
            Ok(candidate) => {
                let chosen = candidate.usable().ok_or_else(|| explicit_error(&candidate));
                (vec![candidate], chosen)
            }
            Err(err) => (Vec::new(), Err(err)),
        };
    }
    let active = active_candidate();
    let others = system_candidates(&active);
    let chosen = active
        .usable()
        .or_else(|| pick(&others))
        .ok_or_else(|| no_toolchain_error(&active, &others));
    let mut all = vec![active];
    all.extend(others);
    (all, chosen)
}

/// The first candidate with the prebuilt std, else the first that builds std from source.
fn pick(candidates: &[Candidate]) -> Option<Toolchain> {
    let usable: Vec<Toolchain> = candidates.iter().filter_map(Candidate::usable).collect();
    let prebuilt = usable.iter().position(|t| t.std == StdSource::Prebuilt);
    prebuilt
        .or(if usable.is_empty() { None } else { Some(0) })
        .map(|i| usable[i].clone())
}

fn active_rustc() -> PathBuf {
    std::env::var_os("RUSTC")
        .map(PathBuf::from)
        .unwrap_or_else(|| "rustc".into())
}

fn active_candidate() -> Candidate {
    let cargo = std::env::var_os("CARGO")
        .map(PathBuf::from)
        .unwrap_or_else(|| "cargo".into());
    let probe = print_sysroot(&active_rustc()).map(|sysroot| probe_sysroot(&sysroot));
    let label = match &probe {
        Ok(probe) => sysroot_label(&probe.sysroot),
        Err(_) => "rustc".to_owned(),
    };
    Candidate {
        origin: Origin::Active,
        label,
        cargo,
        rustc: None,
        probe,
    }
}

fn explicit_candidate(spec: &str) -> Result<Candidate> {
    let origin = Origin::Explicit(spec.to_owned());
    let (rustc, cargo) = if spec.contains(std::path::MAIN_SEPARATOR) || spec.starts_with('.') {
        toolchain_binaries_at(Path::new(spec))?
    } else {
        rustup_toolchain_binaries(spec)?
    };
    let probe = print_sysroot(&rustc).map(|sysroot| probe_sysroot(&sysroot));
    let label = match &probe {
        Ok(probe) => sysroot_label(&probe.sysroot),
        Err(_) => spec.to_owned(),
    };
    Ok(Candidate {
        origin,
        label,
        cargo,
        rustc: Some(rustc),
        probe,
    })
}

/// `rustc` and `cargo` for a path given as a toolchain: a `rustc` binary or a sysroot folder.
fn toolchain_binaries_at(path: &Path) -> Result<(PathBuf, PathBuf)> {
    let bin = if path.is_dir() {
        path.join("bin")
    } else {
        path.parent().unwrap_or(path).to_owned()
    };
    let rustc = if path.is_dir() {
        bin.join("rustc")
    } else {
        path.to_owned()
    };
    if !rustc.is_file() {
        bail!(
            "toolchain `{}` does not exist: `{}` is not a rustc binary\n\
             help: pass a rustup toolchain name, a `rustc` binary, or a sysroot folder such as `/usr`",
            path.display(),
            rustc.display()
        );
    }
    let cargo = bin.join("cargo");
    if !cargo.is_file() {
        bail!(
            "toolchain `{}` has no cargo next to its rustc (looked for `{}`)",
            path.display(),
            cargo.display()
        );
    }
    Ok((rustc, cargo))
}

fn rustup_toolchain_binaries(name: &str) -> Result<(PathBuf, PathBuf)> {
    let which = |tool: &str| -> Result<PathBuf> {
        let output = Command::new("rustup")
            .args(["which", "--toolchain", name, tool])
            .output()
            .with_context(|| {
                format!(
                    "toolchain `{name}` names a rustup toolchain, but `rustup` could not be run\n\
                     help: pass a path to a `rustc` binary or a sysroot folder instead"
                )
            })?;
        if !output.status.success() {
            bail!(
                "rustup has no toolchain `{name}`: {}\nhelp: run `rustup toolchain install {name} --target {WASM_TARGET}`",
                String::from_utf8_lossy(&output.stderr).trim()
            );
        }
        Ok(PathBuf::from(
            String::from_utf8_lossy(&output.stdout).trim(),
        ))
    };
    Ok((which("rustc")?, which("cargo")?))
}

fn print_sysroot(rustc: &Path) -> Result<PathBuf, String> {
    let output = Command::new(rustc)
        .args(["--print", "sysroot"])
        .output()
        .map_err(|err| format!("could not run `{} --print sysroot`: {err}", rustc.display()))?;
    if !output.status.success() {
        return Err(format!(
            "`{} --print sysroot` failed: {}",
            rustc.display(),
            String::from_utf8_lossy(&output.stderr).trim()
        ));
    }
    Ok(PathBuf::from(
        String::from_utf8_lossy(&output.stdout).trim(),
    ))
}

fn wasm_std_dir(sysroot: &Path) -> PathBuf {
    sysroot.join("lib/rustlib").join(WASM_TARGET).join("lib")
}

fn rust_src_dir(sysroot: &Path) -> PathBuf {
    sysroot.join("lib/rustlib/src/rust/library")
}

/// Looks at a sysroot on disk: no process is run.
pub fn probe_sysroot(sysroot: &Path) -> Probe {
    let has_std = std::fs::read_dir(wasm_std_dir(sysroot)).is_ok_and(|entries| {
        entries
            .flatten()
            .any(|e| e.file_name().to_string_lossy().starts_with("libstd-"))
    });
    Probe {
        sysroot: sysroot.to_owned(),
        wasm_std: has_std,
        rust_src: rust_src_dir(sysroot).join("std/src/lib.rs").is_file(),
        linker: find_linker(sysroot),
    }
}

/// rustc looks for `rust-lld` in the sysroot's host tools, then on `PATH`.
fn find_linker(sysroot: &Path) -> Linker {
    let path_dirs: Vec<PathBuf> = std::env::var_os("PATH")
        .map(|paths| std::env::split_paths(&paths).collect())
        .unwrap_or_default();
    find_linker_in(sysroot, &path_dirs)
}

fn find_linker_in(sysroot: &Path, path_dirs: &[PathBuf]) -> Linker {
    let in_sysroot = std::fs::read_dir(sysroot.join("lib/rustlib"))
        .into_iter()
        .flatten()
        .flatten()
        .map(|entry| entry.path().join("bin/rust-lld"));
    let on_path = path_dirs.iter().map(|dir| dir.join("rust-lld"));
    let mut dangling = None;
    for path in in_sysroot.chain(on_path) {
        if path.is_file() {
            return Linker::Found(path);
        }
        if let (None, Ok(target)) = (&dangling, std::fs::read_link(&path)) {
            let target = path.parent().map(|dir| dir.join(&target)).unwrap_or(target);
            dangling = Some(Linker::Dangling { link: path, target });
        }
    }
    dangling.unwrap_or(Linker::Missing)
}

/// A rustup toolchain's name, or the sysroot's path for any other toolchain.
fn sysroot_label(sysroot: &Path) -> String {
    match sysroot.parent().and_then(|p| p.file_name()) {
        Some(dir) if dir == "toolchains" => sysroot
            .file_name()
            .unwrap_or_default()
            .to_string_lossy()
            .into_owned(),
        _ => sysroot.display().to_string(),
    }
}

/// Other rustup toolchains, then toolchains installed by the system's package manager.
fn system_candidates(active: &Candidate) -> Vec<Candidate> {
    let active_sysroot = active.probe.as_ref().ok().map(|p| canonical(&p.sysroot));
    let rustup_home = std::env::var_os("RUSTUP_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| Path::new(&home).join(".rustup")));
    let mut sysroots: Vec<PathBuf> = rustup_home
        .and_then(|home| std::fs::read_dir(home.join("toolchains")).ok())
        .into_iter()
        .flatten()
        .flatten()
        .map(|entry| entry.path())
        .collect();
    sysroots.sort();
    sysroots.extend(["/usr", "/usr/local"].map(PathBuf::from));
    sysroots
        .into_iter()
        .filter(|sysroot| {
            sysroot.join("bin/rustc").is_file() && sysroot.join("bin/cargo").is_file()
        })
        .filter(|sysroot| Some(canonical(sysroot)) != active_sysroot)
        .map(|sysroot| Candidate {
            origin: Origin::System,
            label: sysroot_label(&sysroot),
            cargo: sysroot.join("bin/cargo"),
            rustc: Some(sysroot.join("bin/rustc")),
            probe: Ok(probe_sysroot(&sysroot)),
        })
        .collect()
}

fn canonical(path: &Path) -> PathBuf {
    path.canonicalize().unwrap_or_else(|_| path.to_owned())
}

fn explicit_error(candidate: &Candidate) -> anyhow::Error {
    let Origin::Explicit(spec) = &candidate.origin else {
        unreachable!("only explicit candidates fail this way")
    };
    let reason = match &candidate.probe {
        Ok(probe) => probe.shortfall(),
        Err(err) => err.clone(),
    };
    let help = match &candidate.probe {
        Ok(probe) => fix_for(probe, Some(spec)),
        Err(_) => {
            "pass a rustup toolchain name, a `rustc` binary, or a sysroot folder such as `/usr`"
                .to_owned()
        }
    };
    anyhow!(
        "the toolchain chosen with `--toolchain` / `{TOOLCHAIN_ENV}` (`{spec}`) cannot build guests for {WASM_TARGET}: {reason}\nhelp: {help}"
    )
}

fn no_toolchain_error(active: &Candidate, others: &[Candidate]) -> anyhow::Error {
    let mut message = format!("no toolchain on this machine can build guests for {WASM_TARGET}");
    for candidate in std::iter::once(active).chain(others) {
        let reason = match &candidate.probe {
            Ok(probe) => probe.shortfall(),
            Err(err) => err.clone(),
        };
        message.push_str(&format!(
            "\n  {} {}: {reason}",
            candidate.origin, candidate.label
        ));
    }
    let help = match &active.probe {
        Ok(probe) if !matches!(probe.linker, Linker::Found(_)) => fix_for(probe, None),
        _ if has_rustup() => format!("run `rustup target add {WASM_TARGET}`"),
        _ => DEBIAN_INSTALL.to_owned(),
    };
    anyhow!("{message}\nhelp: {help}\nhelp: `cargo iso doctor` shows what was looked at")
}

const DEBIAN_INSTALL: &str =
    "run `apt-get install rustc-web cargo-web rust-web-src rust-web-llvm` (Debian)";

/// The one command that makes this toolchain able to build guests.
fn fix_for(probe: &Probe, rustup_name: Option<&str>) -> String {
    match &probe.linker {
        Linker::Dangling { target, .. } => {
            let package = target
                .file_name()
                .unwrap_or_default()
                .to_string_lossy()
                .into_owned();
            format!("install the linker it points to, e.g. `apt-get install {package}` (Debian)")
        }
        Linker::Missing => {
            "install `rust-lld`, e.g. `apt-get install rust-web-llvm` (Debian)".to_owned()
        }
        Linker::Found(_) => match rustup_name {
            Some(name) if !name.contains(std::path::MAIN_SEPARATOR) => {
                format!("run `rustup target add {WASM_TARGET} --toolchain {name}`")
            }
            _ => {
                "install this toolchain's rust-src, or choose another toolchain with `--toolchain`"
                    .to_owned()
            }
        },
    }
}

fn has_rustup() -> bool {
    Command::new("rustup")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fake_sysroot(wasm_std: bool, rust_src: bool) -> tempfile::TempDir {
        let root = tempfile::tempdir().unwrap();
        if wasm_std {
            let dir = wasm_std_dir(root.path());
            std::fs::create_dir_all(&dir).unwrap();
            std::fs::write(dir.join("libstd-0123.rlib"), b"").unwrap();
        }
        if rust_src {
            let dir = rust_src_dir(root.path()).join("std/src");
            std::fs::create_dir_all(&dir).unwrap();
            std::fs::write(dir.join("lib.rs"), b"").unwrap();
        }
        let tools = root.path().join("lib/rustlib/x86_64-unknown-linux-gnu/bin");
        std::fs::create_dir_all(&tools).unwrap();
        std::fs::write(tools.join("rust-lld"), b"").unwrap();
        root
    }

    #[test]
    fn prebuilt_std_wins_over_source() {
        let root = fake_sysroot(true, true);
        assert_eq!(
            probe_sysroot(root.path()).std_source(),
            Some(StdSource::Prebuilt)
        );
    }

    #[test]
    fn rust_src_alone_builds_std_from_source() {
        let root = fake_sysroot(false, true);
        assert_eq!(
            probe_sysroot(root.path()).std_source(),
            Some(StdSource::FromSource)
        );
    }

    #[test]
    fn neither_means_unusable_and_says_why() {
        let root = fake_sysroot(false, false);
        let probe = probe_sysroot(root.path());
        assert_eq!(probe.std_source(), None);
        assert!(
            probe
                .shortfall()
                .contains("neither the prebuilt wasm32-unknown-unknown std")
        );
    }

    #[test]
    fn a_dangling_linker_is_named_with_its_package() {
        let root = fake_sysroot(true, false);
        let tools = root.path().join("lib/rustlib/x86_64-unknown-linux-gnu/bin");
        std::fs::remove_file(tools.join("rust-lld")).unwrap();
        std::os::unix::fs::symlink("lld-99", tools.join("rust-lld")).unwrap();
        let probe = Probe {
            linker: find_linker_in(root.path(), &[]),
            ..probe_sysroot(root.path())
        };
        let Linker::Dangling { target, .. } = &probe.linker else {
            panic!("expected a dangling linker, found {:?}", probe.linker);
        };
        assert!(target.ends_with("lld-99"));
        assert!(fix_for(&probe, None).contains("apt-get install lld-99"));
        assert_eq!(probe.std_source(), None);
    }

    #[test]
    fn rustup_sysroots_are_labelled_by_name() {
        assert_eq!(
            sysroot_label(Path::new("/h/.rustup/toolchains/stable-x86_64")),
            "stable-x86_64"
        );
        assert_eq!(sysroot_label(Path::new("/usr")), "/usr");
    }

    #[test]
    fn pick_prefers_prebuilt_then_first() {
        let source = fake_sysroot(false, true);
        let prebuilt = fake_sysroot(true, false);
        let candidate = |root: &tempfile::TempDir| Candidate {
            origin: Origin::System,
            label: root.path().display().to_string(),
            cargo: "cargo".into(),
            rustc: Some("rustc".into()),
            probe: Ok(probe_sysroot(root.path())),
        };
        let chosen = pick(&[candidate(&source), candidate(&prebuilt)]).unwrap();
        assert_eq!(chosen.sysroot, prebuilt.path());
        let chosen = pick(&[candidate(&source)]).unwrap();
        assert_eq!(chosen.std, StdSource::FromSource);
    }
}
