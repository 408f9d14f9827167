//! `cargo iso doctor`: which toolchain builds guests on this machine, and why.
//!
//! It prints every toolchain it looked at, what each has for wasm32, the one
//! `cargo iso build` will use and the reason. It exits 0 only when guests can
//! be built.

use std::io::Write;
use std::process::Command;

use anyhow::Result;
use clap::Args;

use crate::term::Shell;
use crate::toolchain::{
    self, Candidate, Linker, Origin, Probe, StdSource, TOOLCHAIN_ENV, Toolchain, WASM_TARGET,
};

/// `cargo iso doctor`.
#[derive(Args, Debug)]
pub struct DoctorArgs {
    /// Check this toolchain only: a rustup toolchain name, a rustc binary, or a sysroot folder such as /usr
    #[arg(long, value_name = "TOOLCHAIN", env = TOOLCHAIN_ENV)]
    pub toolchain: Option<String>,
}

impl DoctorArgs {
    /// Prints the report; fails when no toolchain can build guests.
    pub fn exec(self, _shell: &Shell) -> Result<()> {
        let (candidates, chosen) = toolchain::survey(self.toolchain.as_deref());
        let mut out = anstream::stdout().lock();
        writeln!(out, "Toolchains that could build guests for {WASM_TARGET}:")?;
        for candidate in &candidates {
            write_candidate(&mut out, candidate)?;
        }
        let toolchain = chosen?;
        writeln!(out, "\nUsing: {} {}", toolchain.origin, toolchain.label)?;
        writeln!(out, "  why: {}", reason(&toolchain, &candidates))?;
        if toolchain.std == StdSource::FromSource || toolchain.origin == Origin::System {
            writeln!(
                out,
                "  tip: `rustup target add {WASM_TARGET}` gives the active toolchain a prebuilt std: faster first builds"
            )?;
        }
        Ok(())
    }
}

fn write_candidate(out: &mut impl Write, candidate: &Candidate) -> Result<()> {
    writeln!(
        out,
        "\n  {} {} ({})",
        candidate.origin,
        candidate.label,
        rustc_version(candidate)
    )?;
    match &candidate.probe {
        Err(err) => writeln!(out, "    could not be looked at: {err}")?,
        Ok(probe) => write_probe(out, probe)?,
    }
    let verdict = match candidate.usable() {
        Some(t) if t.std == StdSource::Prebuilt => {
            "can build guests with the prebuilt std".to_owned()
        }
        Some(_) => "can build guests, building std from source (-Zbuild-std)".to_owned(),
        None => match &candidate.probe {
            Ok(probe) => format!("cannot build guests: {}", probe.shortfall()),
            Err(_) => "cannot build guests".to_owned(),
        },
    };
    writeln!(out, "    => {verdict}")?;
    Ok(())
}

fn write_probe(out: &mut impl Write, probe: &Probe) -> Result<()> {
    let yes_no = |found: bool| if found { "found" } else { "missing" };
    writeln!(out, "    sysroot     {}", probe.sysroot.display())?;
    writeln!(out, "    wasm32 std  {}", yes_no(probe.wasm_std))?;
    writeln!(out, "    rust-src    {}", yes_no(probe.rust_src))?;
    match &probe.linker {
        Linker::Found(path) => writeln!(out, "    rust-lld    {}", path.display())?,
        Linker::Dangling { link, target } => writeln!(
            out,
            "    rust-lld    broken: {} -> {} (missing)",
            link.display(),
            target.display()
        )?,
        Linker::Missing => writeln!(out, "    rust-lld    missing")?,
    }
    Ok(())
}

fn rustc_version(candidate: &Candidate) -> String {
    Command::new(candidate.rustc_command())
        .arg("--version")
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_else(|| "version unknown".to_owned())
}

fn reason(toolchain: &Toolchain, candidates: &[Candidate]) -> String {
    let how = match toolchain.std {
        StdSource::Prebuilt => "it has the prebuilt wasm32 std".to_owned(),
        StdSource::FromSource => {
            "it has rust-src, so std is built from source with -Zbuild-std (about a minute the first time)".to_owned()
        }
    };
    match &toolchain.origin {
        Origin::Explicit(_) => format!("chosen with --toolchain or {TOOLCHAIN_ENV}; {how}"),
        Origin::Active => format!("it is the active toolchain and {how}"),
        Origin::System => {
            let active = candidates.iter().find(|c| c.origin == Origin::Active);
            let shortfall = match active.map(|c| &c.probe) {
                Some(Ok(probe)) => probe.shortfall(),
                Some(Err(err)) => err.clone(),
                None => "it was not found".to_owned(),
            };
            format!("the active toolchain cannot build guests ({shortfall}); {how}")
        }
    }
}
