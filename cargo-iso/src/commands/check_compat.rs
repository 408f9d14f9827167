//! `cargo iso check-compat OLD NEW`: can NEW replace OLD for everyone who
//! used OLD? It compares the two worlds (see [`crate::compat`]), the state
//! schemas when both sides have one (BACKWARD: NEW restores OLD's state;
//! FORWARD: OLD restores NEW's, for rollback), and says whether the version
//! change is enough for what changed.
//!
//! Exit codes: 0 NEW can replace OLD, 1 something breaks, 2 it could not
//! check (bad input, build failure).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, Result, anyhow, bail};
use clap::{Args, ValueEnum};
use iso_host::{
    App, Budget, Compiler, ComponentCache, EngineOptions, Instance, IsoEngine, NoLog, Shared,
};
use iso_schema::evolve::{self, Severity};
use serde::Serialize;
use wit_parser::{Resolve, WorldId};

use crate::AlreadyReported;
use crate::commands::build::{BuildOptions, Pipeline};
use crate::compat::{Finding, Side, compare_worlds};
use crate::componentize::wasm_encoding;
use crate::links::Link;
use crate::term::Shell;

mod workspace;

/// `cargo iso check-compat`.
#[derive(Args, Debug)]
#[command(
    after_help = "Each side is a component (.wasm), a guest crate folder (built first), or a WIT folder or file with --world.

Exit codes: 0 NEW can replace OLD, 1 something breaks, 2 could not check.

Examples:
  cargo iso check-compat v1/counter.wasm v2/counter.wasm
  cargo iso check-compat ../counter-v1 .
  cargo iso check-compat --baseline-rev v0.1.0
  cargo iso check-compat old/wit new/wit --world app --format json"
)]
pub struct CheckCompatArgs {
    /// The old version: a .wasm component, a guest crate folder, or a WIT folder/file
    #[arg(value_name = "OLD", required_unless_present = "baseline_rev")]
    pub old: Option<PathBuf>,

    /// The new version [default: the guest crate here]
    #[arg(value_name = "NEW")]
    pub new: Option<PathBuf>,

    /// Compare with this git revision of the crate here (built in a temporary worktree) as OLD
    #[arg(long, value_name = "REV", conflicts_with = "old")]
    pub baseline_rev: Option<String>,

    /// The world to check when a side is WIT text
    #[arg(long, value_name = "NAME")]
    pub world: Option<String>,

    /// Output format: `human`, or `json` (one document, stable for CI)
    #[arg(long, value_name = "FMT", default_value = "human")]
    pub format: Format,

    /// Treat warnings as breaking: `--deny warnings`
    #[arg(long, value_name = "LEVEL")]
    pub deny: Option<Deny>,
}

/// `--format`.
#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Findings grouped by severity, and a summary line.
    Human,
    /// One JSON document.
    Json,
}

/// `--deny`.
#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum Deny {
    /// Warnings count as breaking.
    Warnings,
}

/// One side: a component or WIT text (one world), or a project's guests,
/// built, with which guest provides each import of the others.
struct Snapshot {
    guests: Vec<Loaded>,
    links: Vec<Link>,
}

impl From<Loaded> for Snapshot {
    fn from(loaded: Loaded) -> Snapshot {
        Snapshot {
            guests: vec![loaded],
            links: Vec::new(),
        }
    }
}

/// One world, loaded.
struct Loaded {
    label: String,
    /// The guest's package name, when built from a crate.
    guest: Option<String>,
    resolve: Resolve,
    world: WorldId,
    /// The component's bytes, when the side is one (not WIT text).
    component: Option<Vec<u8>>,
    /// The crate's or WIT package's version.
    version: Option<semver::Version>,
}

/// Whether NEW can restore OLD's state, and OLD NEW's.
#[derive(Debug, Serialize)]
struct StateCheck {
    /// FULL, BACKWARD, FORWARD or NONE.
    verdict: &'static str,
    old_schema: String,
    new_schema: String,
    /// Differences that stop NEW restoring OLD's state (and the others).
    backward: Vec<evolve_finding::Json>,
    /// Differences that stop OLD restoring NEW's state (rollback).
    forward: Vec<evolve_finding::Json>,
}

mod evolve_finding {
    //! iso-schema's findings in the JSON report.
    use serde::Serialize;

    #[derive(Debug, Serialize)]
    pub struct Json {
        pub severity: String,
        pub rule: &'static str,
        pub path: String,
        pub message: String,
    }

    impl From<&iso_schema::evolve::Finding> for Json {
        fn from(f: &iso_schema::evolve::Finding) -> Json {
            Json {
                severity: f.severity.to_string(),
                rule: f.rule,
                path: f.path.clone(),
                message: f.message.clone(),
            }
        }
    }
}

/// The whole answer.
#[derive(Debug, Serialize)]
struct Report {
    old: String,
    new: String,
    compatible: bool,
    findings: Vec<Finding>,
    state: Option<StateCheck>,
    advice: Option<String>,
}

impl CheckCompatArgs {
    /// Loads both sides, compares them and prints the report.
    pub fn exec(self, shell: &Shell) -> Result<()> {
        let (old, new) = match self.load_sides(shell) {
            Ok(sides) => sides,
            Err(err) => {
                shell.report(&err);
                return Err(AlreadyReported { code: 2 }.into());
            }
        };
        let compatible = match (&old.guests[..], &new.guests[..]) {
            ([old], [new]) => {
                let report = self.compare(old, new);
                match self.format {
                    Format::Json => println!("{}", serde_json::to_string_pretty(&report)?),
                    Format::Human => print_human(&report),
                }
                report.compatible
            }
            _ => match workspace::check(&self, &old, &new) {
                Ok(compatible) => compatible,
                Err(err) => {
                    shell.report(&err);
                    return Err(AlreadyReported { code: 2 }.into());
                }
            },
        };
        if compatible {
            Ok(())
        } else {
            Err(AlreadyReported { code: 1 }.into())
        }
    }

    fn load_sides(&self, shell: &Shell) -> Result<(Snapshot, Snapshot)> {
        let here = PathBuf::from(".");
        let new_path = self.new.as_ref().unwrap_or(&here);
        // NEW first: a baseline worktree built before it could leave a shared
        // target slot whose fingerprints make cargo think NEW is fresh.
        let new = self.load(new_path, shell)?;
        let old = match (&self.baseline_rev, &self.old) {
            (Some(rev), _) => load_revision(rev, new_path, shell)?,
            (None, Some(path)) => self.load(path, shell)?,
            (None, None) => bail!("give OLD, or `--baseline-rev REV`"),
        };
        Ok((old, new))
    }

    fn load(&self, path: &Path, shell: &Shell) -> Result<Snapshot> {
        let label = path.display().to_string();
        if !path.exists() {
            bail!(
                "`{label}` does not exist\nhelp: give a component (.wasm), a guest crate folder, or a WIT folder or file"
            );
        }
        if path.is_dir() && path.join("Cargo.toml").is_file() {
            return load_crate(path, path, shell);
        }
        let is_wit = path.is_dir() || path.extension().is_some_and(|e| e == "wit");
        if is_wit {
            return self.load_wit(path).map(Snapshot::from);
        }
        let bytes = std::fs::read(path).with_context(|| format!("could not read `{label}`"))?;
        load_component(label, bytes, None).map(Snapshot::from)
    }

    fn load_wit(&self, path: &Path) -> Result<Loaded> {
        let label = path.display().to_string();
        let mut resolve = Resolve::default();
        let (package, _) = resolve
            .push_path(path)
            .with_context(|| format!("could not read the WIT in `{label}`"))?;
        let world = resolve
            .select_world(&[package], self.world.as_deref())
            .with_context(|| format!("`{label}`: choose a world with `--world NAME`"))?;
        let version = resolve.packages[package].name.version.clone();
        Ok(Loaded {
            label,
            guest: None,
            resolve,
            world,
            component: None,
            version,
        })
    }

    /// With `--deny warnings`, warnings become breaking.
    fn deny_warnings(&self, findings: &mut [Finding]) {
        if self.deny != Some(Deny::Warnings) {
            return;
        }
        for finding in findings {
            if finding.severity == Severity::Warning {
                finding.severity = Severity::Breaking;
            }
        }
    }

    fn compare(&self, old: &Loaded, new: &Loaded) -> Report {
        let mut findings = compare_worlds(
            &Side {
                resolve: &old.resolve,
                world: old.world,
            },
            &Side {
                resolve: &new.resolve,
                world: new.world,
            },
        );
        findings.retain(|finding| !is_tests_protocol(&finding.item));
        self.deny_warnings(&mut findings);
        let state = state_check(old, new);
        if let Some(state) = &state {
            findings.extend(state_findings(state));
        }
        findings.sort_by_key(|f| std::cmp::Reverse(f.severity));
        let breaking = findings.iter().any(|f| f.severity == Severity::Breaking);
        Report {
            old: old.label.clone(),
            new: new.label.clone(),
            compatible: !breaking,
            advice: advice(
                old.version.as_ref(),
                new.version.as_ref(),
                breaking,
                !findings.is_empty(),
            ),
            findings,
            state,
        }
    }
}

/// Whether `item` is the SDK's `iso:app/tests` export, at any version:
/// the protocol `cargo iso test` lists and runs a guest's unit tests by,
/// not an API its users call. A guest gains or loses it with its world or
/// an SDK release, never with a change of its own, so it is not compared.
fn is_tests_protocol(item: &str) -> bool {
    item.strip_prefix("export ")
        .is_some_and(|name| name.starts_with("iso:app/tests@"))
}

/// Decodes a component's world.
fn load_component(
    label: String,
    bytes: Vec<u8>,
    version: Option<semver::Version>,
) -> Result<Loaded> {
    match wasm_encoding(&bytes) {
        Some(wasmparser::Encoding::Component) => {}
        Some(wasmparser::Encoding::Module) => bail!(
            "`{label}` is a core wasm module, not a component\nhelp: `cargo iso build` turns a guest into a component"
        ),
        None => bail!("`{label}` is not a wasm file"),
    }
    let decoded = wit_parser::decoding::decode(&bytes)
        .with_context(|| format!("could not read the world of `{label}`"))?;
    let wit_parser::decoding::DecodedWasm::Component(resolve, world) = decoded else {
        bail!("`{label}` holds WIT packages, not a component");
    };
    let version = version.or_else(|| exported_package_version(&resolve, world));
    Ok(Loaded {
        label,
        guest: None,
        resolve,
        world,
        component: Some(bytes),
        version,
    })
}

/// The version of the one WIT package whose interfaces a component exports
/// (leaving out `iso:app`, which every guest exports), for the version
/// advice on a `.wasm` with no crate version: a component does not record
/// its own world's package. `None` when it exports none or several.
fn exported_package_version(resolve: &Resolve, world: WorldId) -> Option<semver::Version> {
    let packages: Vec<&wit_parser::PackageName> = resolve.worlds[world]
        .exports
        .values()
        .filter_map(|item| match item {
            wit_parser::WorldItem::Interface { id, .. } => resolve.interfaces[*id].package,
            _ => None,
        })
        .map(|package| &resolve.packages[package].name)
        .filter(|name| name.namespace != "iso" || name.name != "app")
        .collect();
    let first = packages.first()?;
    match packages.iter().all(|package| package == first) {
        true => first.version.clone(),
        false => None,
    }
}

/// Builds the guests of the crate or workspace in `dir` and loads their
/// components, labelled with their folders under `shown` (where the user
/// sees `dir`: a revision's worktree is shown as the folder it was made from).
fn load_crate(dir: &Path, shown: &Path, shell: &Shell) -> Result<Snapshot> {
    let mut options = BuildOptions::default();
    options.manifest.manifest_path = Some(dir.join("Cargo.toml"));
    let pipeline = Pipeline::prepare(&options, shell)?;
    let root = dir.canonicalize().unwrap_or_else(|_| dir.to_owned());
    let guests = (pipeline.build(shell)?.into_iter())
        .map(|component| {
            let guest = &component.guest;
            let version = semver::Version::parse(&guest.version).ok();
            let folder = guest.manifest_path.parent().unwrap_or(&guest.manifest_path);
            let folder = match folder.as_std_path().strip_prefix(&root) {
                Ok(inside) if inside.as_os_str().is_empty() => shown.to_owned(),
                Ok(inside) => shown.join(inside),
                Err(_) => folder.as_std_path().to_owned(),
            };
            let label = format!("{} v{} ({})", guest.name, guest.version, folder.display());
            let mut loaded = load_component(label, component.read()?, version)?;
            loaded.guest = Some(guest.name.clone());
            Ok(loaded)
        })
        .collect::<Result<_>>()?;
    Ok(Snapshot {
        guests,
        links: pipeline.links().to_vec(),
    })
}

/// Builds the crate or workspace at `new_dir` as of git revision `rev`, in a temporary worktree.
fn load_revision(rev: &str, new_dir: &Path, shell: &Shell) -> Result<Snapshot> {
    let shown = new_dir;
    let git = |dir: &Path, args: &[&str]| -> Result<String> {
        let out = std::process::Command::new("git")
            .current_dir(dir)
            .args(args)
            .output()
            .context("could not run git")?;
        if !out.status.success() {
            bail!("{}", String::from_utf8_lossy(&out.stderr).trim());
        }
        Ok(String::from_utf8_lossy(&out.stdout).trim().to_owned())
    };
    let new_dir = new_dir
        .canonicalize()
        .with_context(|| format!("`{}` does not exist", new_dir.display()))?;
    let top = PathBuf::from(
        git(&new_dir, &["rev-parse", "--show-toplevel"])
            .map_err(|e| anyhow!("`{}` is not in a git repository: {e}", new_dir.display()))?,
    );
    git(&top, &["rev-parse", "--verify", "--quiet", &format!("{rev}^{{commit}}")])
        .map_err(|_| anyhow!("revision `{rev}` does not exist in `{}`\nhelp: give a commit, tag or branch, e.g. `--baseline-rev HEAD~1`", top.display()))?;
    let scratch = tempfile::tempdir()?;
    let worktree = scratch.path().join("baseline");
    let worktree_str = worktree.to_string_lossy().into_owned();
    git(
        &top,
        &["worktree", "add", "--detach", "--quiet", &worktree_str, rev],
    )?;
    let relative = new_dir.strip_prefix(&top).unwrap_or(Path::new(""));
    let loaded = load_crate(&worktree.join(relative), shown, shell);
    let _ = git(&top, &["worktree", "remove", "--force", &worktree_str]);
    let mut loaded = loaded?;
    for guest in &mut loaded.guests {
        guest.label = format!("{rev}: {}", guest.label);
    }
    Ok(loaded)
}

/// Reads both state schemas (through a fuel-limited call) and compares them both ways.
fn state_check(old: &Loaded, new: &Loaded) -> Option<StateCheck> {
    let old_schema = schema(old.component.as_ref()?)?;
    let new_schema = schema(new.component.as_ref()?)?;
    let (a, b) = (
        iso_schema::Type::parse(&old_schema).ok()?,
        iso_schema::Type::parse(&new_schema).ok()?,
    );
    let backward = evolve::compare(&a, &b);
    let forward = evolve::compare(&b, &a);
    let ok = |f: &[evolve::Finding]| f.iter().all(|f| f.severity != Severity::Breaking);
    let verdict = match (ok(&backward), ok(&forward)) {
        (true, true) => "FULL",
        (true, false) => "BACKWARD",
        (false, true) => "FORWARD",
        (false, false) => "NONE",
    };
    Some(StateCheck {
        verdict,
        old_schema,
        new_schema,
        backward: backward.iter().map(Into::into).collect(),
        forward: forward.iter().map(Into::into).collect(),
    })
}

/// The state differences as findings: what stops NEW restoring OLD's state
/// breaks; what stops a rollback is a warning; additions are info.
fn state_findings(state: &StateCheck) -> Vec<Finding> {
    let backward = state.backward.iter().map(|f| {
        let severity = match f.severity.as_str() {
            "breaking" => Severity::Breaking,
            "warning" => Severity::Warning,
            _ => Severity::Info,
        };
        (severity, "state", f)
    });
    let rollback = state
        .forward
        .iter()
        .filter(|f| f.severity == "breaking")
        .map(|f| (Severity::Warning, "state (rollback: old restoring new)", f));
    backward
        .chain(rollback)
        .map(|(severity, item, f)| Finding {
            severity,
            rule: f.rule,
            item: item.to_owned(),
            path: f.path.clone(),
            message: f.message.clone(),
        })
        .collect()
}

/// The guest's `iso:app/state.schema()`, from a fresh instance with a small fuel budget.
fn schema(component: &[u8]) -> Option<String> {
    let engine = Arc::new(
        IsoEngine::new(EngineOptions {
            compiler: Compiler::Baseline,
            ..EngineOptions::default()
        })
        .ok()?,
    );
    let (app, _) = App::load(engine, &ComponentCache::new(None), component).ok()?;
    if !app.has_state() {
        return None;
    }
    let budget = Budget {
        fuel: Some(iso_host::Fuel(10_000_000)),
        ..Budget::default()
    };
    let mut instance = Instance::new(Arc::new(app), budget, Shared::new(Arc::new(NoLog))).ok()?;
    instance.schema().ok().flatten()
}

/// Whether the version change fits what changed, as cargo-semver-checks says it.
fn advice(
    old: Option<&semver::Version>,
    new: Option<&semver::Version>,
    breaking: bool,
    changed: bool,
) -> Option<String> {
    let (old, new) = (old?, new?);
    let needed = match (breaking, changed) {
        (true, _) if old.major == 0 => semver::Version::new(0, old.minor + 1, 0),
        (true, _) => semver::Version::new(old.major + 1, 0, 0),
        (false, true) if old.major == 0 => semver::Version::new(0, old.minor, old.patch + 1),
        (false, true) => semver::Version::new(old.major, old.minor + 1, 0),
        (false, false) => old.clone(),
    };
    let kind = if breaking {
        "breaking changes"
    } else if changed {
        "additions"
    } else {
        "no changes"
    };
    Some(if *new >= needed {
        format!("{kind}: {old} -> {new} is enough")
    } else {
        format!("{kind} need {needed} (was {old} -> {new})")
    })
}

fn print_human(report: &Report) {
    println!("Checking {} -> {}", report.old, report.new);
    for severity in [Severity::Breaking, Severity::Warning, Severity::Info] {
        let group: Vec<_> = report
            .findings
            .iter()
            .filter(|f| f.severity == severity)
            .collect();
        if group.is_empty() {
            continue;
        }
        println!("\n{severity}:");
        for finding in group {
            println!("  {finding}");
        }
    }
    if let Some(state) = &report.state {
        println!(
            "\nstate: {} (BACKWARD: new restores old state; FORWARD: old restores new state)\n  old `{}`\n  new `{}`",
            state.verdict, state.old_schema, state.new_schema
        );
    }
    if let Some(advice) = &report.advice {
        println!("\nversion: {advice}");
    }
    let count = |s: Severity| report.findings.iter().filter(|f| f.severity == s).count();
    println!(
        "\n{}: {} breaking, {} warning{}, {} info{}",
        if report.compatible {
            "compatible"
        } else {
            "NOT compatible"
        },
        count(Severity::Breaking),
        count(Severity::Warning),
        if count(Severity::Warning) == 1 {
            ""
        } else {
            "s"
        },
        count(Severity::Info),
        report
            .state
            .as_ref()
            .map_or(String::new(), |s| format!("; state {}", s.verdict)),
    );
}
