//! Cargo-style terminal output: status lines, warnings and errors on stderr.
//!
//! Only machine-readable output (`--message-format json`) goes to stdout.

use std::fmt::Display;
use std::io::Write;

use anstyle::{AnsiColor, Effects, Style};

use crate::AlreadyReported;
use crate::cli::{ColorWhen, GlobalOptions};

const GOOD: Style = AnsiColor::Green.on_default().effects(Effects::BOLD);
const WARN: Style = AnsiColor::Yellow.on_default().effects(Effects::BOLD);
const ERROR: Style = AnsiColor::Red.on_default().effects(Effects::BOLD);
const NOTE: Style = AnsiColor::Cyan.on_default().effects(Effects::BOLD);

/// How much to print, from `-q` / `-v`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verbosity {
    /// `-q`: errors only.
    Quiet,
    /// The default.
    Normal,
    /// `-v` (1) or `-vv` (2).
    Verbose(u8),
}

/// Where the user sees what cargo-iso is doing.
#[derive(Debug, Clone)]
pub struct Shell {
    verbosity: Verbosity,
    color: ColorWhen,
}

impl Shell {
    /// A shell for the global flags; sets the process-wide color choice.
    pub fn new(options: &GlobalOptions) -> Shell {
        let choice = match options.color {
            ColorWhen::Auto => anstream::ColorChoice::Auto,
            ColorWhen::Always => anstream::ColorChoice::Always,
            ColorWhen::Never => anstream::ColorChoice::Never,
        };
        choice.write_global();
        let verbosity = match (options.quiet, options.verbose) {
            (true, _) => Verbosity::Quiet,
            (false, 0) => Verbosity::Normal,
            (false, n) => Verbosity::Verbose(n),
        };
        Shell {
            verbosity,
            color: options.color,
        }
    }

    /// The `-q` / `-v` level.
    pub fn verbosity(&self) -> Verbosity {
        self.verbosity
    }

    /// The `--color` choice, to pass on to cargo.
    pub fn color(&self) -> ColorWhen {
        self.color
    }

    /// A status line: `verb` right-aligned to 12 columns in bold green, as cargo does.
    pub fn status(&self, verb: &str, message: impl Display) {
        if self.verbosity != Verbosity::Quiet {
            print_line(GOOD, &format!("{verb:>12}"), message);
        }
    }

    /// A status line shown only with `-v`.
    pub fn verbose_status(&self, verb: &str, message: impl Display) {
        if matches!(self.verbosity, Verbosity::Verbose(_)) {
            print_line(GOOD, &format!("{verb:>12}"), message);
        }
    }

    /// `warning: ...`
    pub fn warn(&self, message: impl Display) {
        if self.verbosity != Verbosity::Quiet {
            print_line(WARN, "warning:", message);
        }
    }

    /// `note: ...`
    pub fn note(&self, message: impl Display) {
        if self.verbosity != Verbosity::Quiet {
            print_line(NOTE, "note:", message);
        }
    }

    /// Prints `err` as cargo would and returns the exit code to end with.
    ///
    /// An [`AlreadyReported`] failure prints nothing and keeps its code.
    pub fn report(&self, err: &anyhow::Error) -> u8 {
        if let Some(reported) = err.downcast_ref::<AlreadyReported>() {
            return reported.code;
        }
        print_line(ERROR, "error:", err);
        let mut causes = err.chain().skip(1).peekable();
        if causes.peek().is_some() {
            let mut stderr = anstream::stderr().lock();
            let _ = writeln!(stderr, "\nCaused by:");
            for cause in causes {
                let _ = writeln!(stderr, "  {}", cause.to_string().replace('\n', "\n  "));
            }
        }
        101
    }
}

fn print_line(style: Style, label: &str, message: impl Display) {
    let line = format!("{style}{label}{style:#} {message}\n");
    let line = match anstream::stderr().current_choice() {
        anstream::ColorChoice::Never => anstream::adapter::strip_str(&line).to_string(),
        _ => line,
    };
    // In one write: cargo, running beside us, writes to the same stderr,
    // and a line written in pieces can be cut by one of its lines.
    let _ = std::io::stderr().lock().write_all(line.as_bytes());
}
