//! `check-compat` on a project of several guests: each guest against the
//! old guest of the same name, and each wiring: does the new provider still
//! fill what its importer imports? The importer is checked both as it was
//! (it keeps running while its provider is reloaded) and as it is now.

use anyhow::{Result, bail};
use iso_schema::evolve::Severity;
use serde::Serialize;

use super::{CheckCompatArgs, Format, Loaded, Report, Snapshot, print_human};
use crate::compat::{Finding, Side, check_provider, import_names};

/// The whole answer for a project.
#[derive(Debug, Serialize)]
struct ProjectReport {
    compatible: bool,
    guests: Vec<GuestReport>,
    wirings: Vec<WiringReport>,
}

/// One guest: compared with its old version, or added, or removed.
#[derive(Debug, Serialize)]
struct GuestReport {
    name: String,
    /// `checked`, `added` or `removed`.
    status: &'static str,
    /// What changed, when it is on both sides.
    report: Option<Report>,
}

impl GuestReport {
    /// Whether NEW breaks users of this guest: it is gone, or it changed incompatibly.
    fn breaks(&self) -> bool {
        self.status == "removed" || self.report.as_ref().is_some_and(|r| !r.compatible)
    }
}

/// One import of one importer, filled by the new provider.
#[derive(Debug, Serialize)]
struct WiringReport {
    importer: String,
    /// `old` (the importer as it was) or `new`.
    importer_version: &'static str,
    /// The import as the importer names it, e.g. `local:store/api@0.1.0`.
    import: String,
    provider: String,
    compatible: bool,
    /// Why the provider cannot fill the import (breaking), and warnings.
    findings: Vec<Finding>,
}

/// Checks every guest and every wiring of NEW against OLD, prints the
/// report, and says whether NEW can replace OLD.
pub(super) fn check(args: &CheckCompatArgs, old: &Snapshot, new: &Snapshot) -> Result<bool> {
    for (side, snapshot) in [("OLD", old), ("NEW", new)] {
        if snapshot.guests.iter().any(|g| g.guest.is_none()) {
            bail!(
                "{side} is one component or WIT world, but the other side is a project of several guests\nhelp: compare a project with a project: give both folders, or `--baseline-rev REV`"
            );
        }
    }
    let guests = compare_guests(args, old, new);
    let wirings = compare_wirings(args, old, new);
    let compatible = guests.iter().all(|g| !g.breaks()) && wirings.iter().all(|w| w.compatible);
    let report = ProjectReport {
        compatible,
        guests,
        wirings,
    };
    match args.format {
        Format::Json => println!("{}", serde_json::to_string_pretty(&report)?),
        Format::Human => print_project(&report),
    }
    Ok(compatible)
}

fn named<'a>(snapshot: &'a Snapshot, name: &str) -> Option<&'a Loaded> {
    (snapshot.guests.iter()).find(|g| g.guest.as_deref() == Some(name))
}

/// Each new guest against the old one of its name, then the old guests that are gone.
fn compare_guests(args: &CheckCompatArgs, old: &Snapshot, new: &Snapshot) -> Vec<GuestReport> {
    let mut reports: Vec<GuestReport> = (new.guests.iter())
        .map(|guest| {
            let name = guest.guest.clone().unwrap_or_default();
            match named(old, &name) {
                Some(before) => GuestReport {
                    report: Some(args.compare(before, guest)),
                    name,
                    status: "checked",
                },
                None => GuestReport {
                    name,
                    status: "added",
                    report: None,
                },
            }
        })
        .collect();
    for guest in &old.guests {
        let name = guest.guest.clone().unwrap_or_default();
        if named(new, &name).is_none() {
            reports.push(GuestReport {
                name,
                status: "removed",
                report: None,
            });
        }
    }
    reports
}

/// Each link of NEW: its provider against the importer as it was and as it is.
fn compare_wirings(args: &CheckCompatArgs, old: &Snapshot, new: &Snapshot) -> Vec<WiringReport> {
    let mut reports = Vec::new();
    for link in &new.links {
        let Some(provider) = named(new, &link.provider) else {
            continue;
        };
        let importers = [
            ("old", named(old, &link.importer)),
            ("new", named(new, &link.importer)),
        ];
        for (importer_version, importer) in importers {
            let Some(importer) = importer else {
                continue;
            };
            for import in imports_of(importer, &link.interface) {
                let mut findings = check_provider(&side(importer), &import, &side(provider));
                findings.retain(|f| f.severity != Severity::Info);
                args.deny_warnings(&mut findings);
                reports.push(WiringReport {
                    importer: link.importer.clone(),
                    importer_version,
                    compatible: findings.iter().all(|f| f.severity != Severity::Breaking),
                    import,
                    provider: link.provider.clone(),
                    findings,
                });
            }
        }
    }
    reports
}

fn side(loaded: &Loaded) -> Side<'_> {
    Side {
        resolve: &loaded.resolve,
        world: loaded.world,
    }
}

/// The importer's imports of `interface` (given without its version).
fn imports_of(importer: &Loaded, interface: &str) -> Vec<String> {
    (import_names(&importer.resolve, importer.world).into_iter())
        .filter(|name| name.split('@').next() == Some(interface))
        .collect()
}

fn print_project(report: &ProjectReport) {
    for guest in &report.guests {
        match &guest.report {
            Some(checked) => print_human(checked),
            None if guest.status == "added" => {
                println!("Checking {}: new, nothing to compare it with", guest.name)
            }
            None => println!(
                "Checking {}: removed, with everything it exported",
                guest.name
            ),
        }
        println!();
    }
    println!("Checking wirings (each importer as it was, and as it is, with the new provider)");
    for wiring in &report.wirings {
        let verdict = match wiring.compatible {
            true => "ok",
            false => "BREAKS",
        };
        println!(
            "  {} ({}) imports {} from {}: {verdict}",
            wiring.importer, wiring.importer_version, wiring.import, wiring.provider
        );
        for finding in &wiring.findings {
            println!("    {}: {finding}", finding.severity);
        }
    }
    let mut breaking: Vec<String> = (report.guests.iter())
        .filter(|g| g.breaks())
        .map(|g| match g.status {
            "removed" => format!("{} (removed)", g.name),
            _ => g.name.clone(),
        })
        .collect();
    breaking.extend((report.wirings.iter()).filter(|w| !w.compatible).map(|w| {
        format!(
            "wiring {} ({}) <- {}",
            w.importer, w.importer_version, w.provider
        )
    }));
    let counts = format!(
        "{} guests and {} wirings checked",
        report.guests.len(),
        report.wirings.len()
    );
    match breaking.is_empty() {
        true => println!("\ncompatible: {counts}"),
        false => println!(
            "\nNOT compatible: {counts}; breaks: {}",
            breaking.join(", ")
        ),
    }
}
