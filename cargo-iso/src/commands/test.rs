//! `cargo iso test`: builds the guests and runs their unit tests
//! (`#[iso_guest::test]` functions, see [`iso_host::guest_tests`]) and
//! each test case in their `tests/iso/*.toml`, every one on a fresh
//! instance in the real host, in a world under control (see
//! [`iso_host::case`]), reporting as libtest does (`test name ... ok`,
//! then `test result:`), or as libtest's JSON lines with `--format json`.
//! `--bless` rewrites the expected results of the calls that failed to
//! what they come to now.
//!
//! Exit codes: 0 every case passed; 101 a case failed, or the build did;
//! 2 bad input.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use clap::{Args, ValueEnum};
use iso_host::case::{Case, CaseFailure, CaseReport};
use iso_host::guest_tests::TestRun;
use iso_host::runtime::Runtime;
use iso_host::{App, Budget};
use serde_json::json;

use crate::AlreadyReported;
use crate::commands::build::BuildOptions;
use crate::commands::run::{RunApp, project_apps, start_in_memory};
use crate::componentize::write_atomically;
use crate::term::Shell;

/// Where a guest keeps its test cases, under its folder.
pub const CASES_DIR: &str = "tests/iso";

/// `cargo iso test`.
#[derive(Args, Debug)]
#[command(
    after_help = "Exit codes: 0 all passed, 101 a test or the build failed, 2 bad input.

Unit tests are the guest's #[iso_guest::test] functions, built only with
debug assertions (not with --release). Test cases are TOML files in each
guest's tests/iso/ folder: `[[call]]`s with `call` and `expect` (WAVE), an
optional `[setup]` (clock, random-seed, kv, state, fuel, memory, timeout)
and `[kv-after]`. `:save NAME` in `cargo iso dev` writes one from the session.

Examples:
  cargo iso test
  cargo iso test counts
  cargo iso test --bless
  cargo iso test --format json"
)]
pub struct TestArgs {
    /// Run only the cases whose name contains FILTER
    #[arg(value_name = "FILTER")]
    pub filter: Option<String>,

    /// Run only the case named FILTER exactly
    #[arg(long, requires = "filter")]
    pub exact: bool,

    /// Rewrite the `expect` of each call that failed to what it comes to now, showing each change
    #[arg(long)]
    pub bless: bool,

    /// How to report: libtest's human output, or its JSON lines
    #[arg(long, value_name = "FMT", default_value = "human")]
    pub format: Format,

    #[command(flatten)]
    #[allow(missing_docs)]
    pub build: BuildOptions,
}

/// How `cargo iso test` reports.
#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// As `cargo test` does.
    Human,
    /// libtest's JSON lines, one event each.
    Json,
}

/// One test found: its name, what it is, and its app.
struct Found {
    name: String,
    source: Source,
    app: String,
}

/// Where a test comes from.
enum Source {
    /// A test case, in this file.
    Case(PathBuf),
    /// A unit test in the guest, by its name there.
    Unit(String),
}

/// What running a case came to.
enum Verdict {
    Passed,
    Blessed,
    Failed(String),
}

impl TestArgs {
    /// Builds, runs the cases, and reports.
    pub fn exec(self, shell: &Shell) -> Result<()> {
        let (apps, _) = project_apps(&self.build, shell)?;
        let runtime = start_in_memory(shell, &apps)?;
        let mut found = find_unit_tests(&runtime, &apps)?;
        if self.without_debug_assertions() {
            shell.note(
                "unit tests (#[iso_guest::test]) are built only with debug assertions, so this release build has none; test cases still run",
            );
        }
        found.extend(find_cases(&apps)?);
        let total = found.len();
        let selected: Vec<&Found> = found.iter().filter(|case| self.selects(case)).collect();
        let mut out = Report::new(self.format, selected.len(), total - selected.len());
        let started = Instant::now();
        for case in selected {
            let began = Instant::now();
            out.started(&case.name)?;
            let verdict = self.run_one(shell, &runtime, &apps, case);
            out.finished(&case.name, &verdict, began.elapsed())?;
        }
        let failed = out.summary(started.elapsed())?;
        if failed > 0 {
            return Err(AlreadyReported { code: 101 }.into());
        }
        Ok(())
    }

    /// Whether the build's profile is cargo's release or bench profile,
    /// which build without debug assertions and so without unit tests.
    fn without_debug_assertions(&self) -> bool {
        self.build.release || matches!(self.build.profile.as_deref(), Some("release" | "bench"))
    }

    fn selects(&self, case: &Found) -> bool {
        match (&self.filter, self.exact) {
            (None, _) => true,
            (Some(filter), true) => case.name == *filter,
            (Some(filter), false) => case.name.contains(filter.as_str()),
        }
    }

    /// Runs one test.
    fn run_one(&self, shell: &Shell, runtime: &Runtime, apps: &[RunApp], found: &Found) -> Verdict {
        match &found.source {
            Source::Case(path) => self.run_case_file(shell, runtime, apps, found, path),
            Source::Unit(name) => run_unit_test(runtime, apps, &found.app, name),
        }
    }

    /// Reads and runs one case; blesses it if asked and it failed on calls.
    fn run_case_file(
        &self,
        shell: &Shell,
        runtime: &Runtime,
        apps: &[RunApp],
        found: &Found,
        path: &Path,
    ) -> Verdict {
        let shown = path.display();
        let text = match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(err) => return Verdict::Failed(format!("cannot read `{shown}`: {err}")),
        };
        let case: Case = match toml::from_str(&text) {
            Ok(case) => case,
            Err(err) => return Verdict::Failed(format!("`{shown}` is not a test case: {err}")),
        };
        let report = match run_case(runtime, apps, &found.app, &case) {
            Ok(report) => report,
            Err(err) => return Verdict::Failed(format!("{err:#}")),
        };
        if report.failures.is_empty() {
            return Verdict::Passed;
        }
        if self.bless {
            match bless(path, &text, &report) {
                Ok(Some(changes)) => {
                    for change in &changes {
                        shell.status("Blessed", format_args!("{}: {change}", found.name));
                    }
                    return Verdict::Blessed;
                }
                Ok(None) => {
                    return Verdict::Failed(format!(
                        "{}\n--bless rewrites the results of calls, not `[kv-after]`: edit it in `{shown}` by hand",
                        describe(&report)
                    ));
                }
                Err(err) => return Verdict::Failed(format!("could not bless `{shown}`: {err:#}")),
            }
        }
        Verdict::Failed(describe(&report))
    }
}

/// Each app's unit tests, by name (`tests::name`, or `app::tests::name`
/// in a project of several guests), in order.
fn find_unit_tests(runtime: &Runtime, apps: &[RunApp]) -> Result<Vec<Found>> {
    let mut found = Vec::new();
    for app in apps {
        let names = iso_host::guest_tests::names(&runtime.app(&app.name)?, app.budget)
            .with_context(|| format!("could not list the unit tests of `{}`", app.name))?;
        found.extend(names.into_iter().map(|name| Found {
            name: shown_name(apps, &app.name, &name),
            source: Source::Unit(name),
            app: app.name.clone(),
        }));
    }
    Ok(found)
}

/// A test's name as reported: `name`, or `app::name` in a project of several guests.
fn shown_name(apps: &[RunApp], app: &str, name: &str) -> String {
    match apps.len() {
        1 => name.to_owned(),
        _ => format!("{app}::{name}"),
    }
}

/// Runs a unit test on a fresh instance of the app at `address`.
fn run_unit_test(runtime: &Runtime, apps: &[RunApp], address: &str, name: &str) -> Verdict {
    let budget = budget_of(apps, address);
    let run = (runtime.app(address)).and_then(|app| iso_host::guest_tests::run(app, name, budget));
    match run {
        Ok(TestRun { failure: None, .. }) => Verdict::Passed,
        Ok(TestRun {
            failure: Some(why),
            logs,
        }) => Verdict::Failed(with_logs(why, &logs)),
        Err(err) => Verdict::Failed(format!("{err:#}")),
    }
}

/// Each app's cases, by name (`name`, or `app::name` in a project of
/// several guests), in order.
fn find_cases(apps: &[RunApp]) -> Result<Vec<Found>> {
    let mut found = Vec::new();
    for app in apps {
        let Some(folder) = &app.folder else { continue };
        let dir = folder.join(CASES_DIR);
        if !dir.is_dir() {
            continue;
        }
        let entries = std::fs::read_dir(&dir)
            .with_context(|| format!("could not list `{}`", dir.display()))?;
        let mut paths: Vec<PathBuf> = (entries.filter_map(Result::ok))
            .map(|entry| entry.path())
            .filter(|path| path.extension().is_some_and(|ext| ext == "toml"))
            .collect();
        paths.sort();
        for path in paths {
            let stem = path.file_stem().unwrap_or_default().to_string_lossy();
            found.push(Found {
                name: shown_name(apps, &app.name, &stem),
                source: Source::Case(path),
                app: app.name.clone(),
            });
        }
    }
    Ok(found)
}

/// Runs `case` on a fresh instance of the app at `address`.
fn run_case(runtime: &Runtime, apps: &[RunApp], address: &str, case: &Case) -> Result<CaseReport> {
    let app: Arc<App> = runtime.app(address)?;
    Ok(case.run(app, budget_of(apps, address))?)
}

/// The budget the app at `address` runs under.
fn budget_of(apps: &[RunApp], address: &str) -> Budget {
    (apps.iter())
        .find(|a| a.name == address)
        .map_or(Budget::default(), |a| a.budget)
}

/// What failed, as the failures section shows it, with the guest's log.
fn describe(report: &CaseReport) -> String {
    let failures: Vec<String> = report.failures.iter().map(ToString::to_string).collect();
    with_logs(failures.join("\n"), &report.logs)
}

/// `why`, followed by the guest's log when it logged anything.
fn with_logs(why: String, logs: &[String]) -> String {
    match logs {
        [] => why,
        _ => format!("{why}\nguest log:\n  {}", logs.join("\n  ")),
    }
}

/// Rewrites `expect` of each failed call in the case at `path` (its
/// `text`) to what the call came to, keeping the rest of the file as it
/// is; the changes, or `None` when a failure is not a call's (kv after
/// is not blessed).
fn bless(path: &Path, text: &str, report: &CaseReport) -> Result<Option<Vec<String>>> {
    if report
        .failures
        .iter()
        .any(|f| matches!(f, CaseFailure::Kv { .. }))
    {
        return Ok(None);
    }
    let mut document: toml_edit::DocumentMut = text.parse()?;
    let mut changes = Vec::new();
    for failure in &report.failures {
        let CaseFailure::Call {
            number,
            call,
            expected,
            actual,
        } = failure
        else {
            continue;
        };
        let Some(table) = document
            .get_mut("call")
            .and_then(|calls| calls.as_array_of_tables_mut())
            .and_then(|calls| calls.get_mut(number - 1))
        else {
            return Ok(None);
        };
        // The new result keeps the old one's comments and spacing.
        let mut blessed = toml_edit::value(actual.as_str());
        if let (Some(new), Some(old)) = (
            blessed.as_value_mut(),
            table.get("expect").and_then(toml_edit::Item::as_value),
        ) {
            *new.decor_mut() = old.decor().clone();
        }
        table["expect"] = blessed;
        changes.push(format!("call {number} {call}: {expected} -> {actual}"));
    }
    write_atomically(path, document.to_string().as_bytes())?;
    Ok(Some(changes))
}

/// The report, as libtest prints it.
struct Report {
    format: Format,
    passed: usize,
    failed: Vec<(String, String)>,
    filtered_out: usize,
}

impl Report {
    fn new(format: Format, count: usize, filtered_out: usize) -> Report {
        let report = Report {
            format,
            passed: 0,
            failed: Vec::new(),
            filtered_out,
        };
        match format {
            Format::Human => println!("\nrunning {count} test{}", plural(count)),
            Format::Json => println!(
                "{}",
                json!({ "type": "suite", "event": "started", "test_count": count })
            ),
        }
        report
    }

    fn started(&self, name: &str) -> Result<()> {
        if self.format == Format::Json {
            println!(
                "{}",
                json!({ "type": "test", "event": "started", "name": name })
            );
        }
        Ok(())
    }

    fn finished(&mut self, name: &str, verdict: &Verdict, took: Duration) -> Result<()> {
        let (event, word) = match verdict {
            Verdict::Passed => ("ok", "ok"),
            Verdict::Blessed => ("ok", "blessed"),
            Verdict::Failed(_) => ("failed", "FAILED"),
        };
        match verdict {
            Verdict::Failed(why) => self.failed.push((name.to_owned(), why.clone())),
            _ => self.passed += 1,
        }
        let mut stdout = std::io::stdout().lock();
        match self.format {
            Format::Human => writeln!(stdout, "test {name} ... {word}")?,
            Format::Json => {
                let mut line = json!({
                    "type": "test", "name": name, "event": event,
                    "exec_time": took.as_secs_f64(),
                });
                if let Verdict::Failed(why) = verdict {
                    line["stdout"] = json!(why);
                }
                writeln!(stdout, "{line}")?;
            }
        }
        Ok(())
    }

    /// Prints the failures and the result line; the number failed.
    fn summary(&self, took: Duration) -> Result<usize> {
        let failed = self.failed.len();
        let mut stdout = std::io::stdout().lock();
        if self.format == Format::Json {
            let line = json!({
                "type": "suite", "event": if failed == 0 { "ok" } else { "failed" },
                "passed": self.passed, "failed": failed, "ignored": 0, "measured": 0,
                "filtered_out": self.filtered_out, "exec_time": took.as_secs_f64(),
            });
            writeln!(stdout, "{line}")?;
            return Ok(failed);
        }
        if failed > 0 {
            writeln!(stdout, "\nfailures:\n")?;
            for (name, why) in &self.failed {
                writeln!(stdout, "---- {name} ----\n{why}\n")?;
            }
            writeln!(stdout, "failures:")?;
            for (name, _) in &self.failed {
                writeln!(stdout, "    {name}")?;
            }
        }
        writeln!(
            stdout,
            "\ntest result: {}. {} passed; {failed} failed; 0 ignored; 0 measured; {} filtered out; finished in {:.2}s\n",
            if failed == 0 { "ok" } else { "FAILED" },
            self.passed,
            self.filtered_out,
            took.as_secs_f64()
        )?;
        Ok(failed)
    }
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}
