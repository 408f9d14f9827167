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

    /// `note: ...` that belongs to an error just reported: shown with `-q` too.
    pub fn error_note(&self, message: impl Display) {
        print_line(NOTE, "note:", message);
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

/// A one-line progress bar, as cargo's: shown on a terminal once the work
/// has taken a second, and cleared when dropped; never shown without a
/// terminal or with `-q`.
pub struct Progress {
    bar: indicatif::ProgressBar,
    /// Set when dropped, so the bar is not shown after it is cleared.
    done: std::sync::Arc<std::sync::Mutex<bool>>,
    /// Whether it will be shown (after a second).
    shown: bool,
}

impl Shell {
    /// A progress bar for `len` steps of work, labelled `verb` like a status line.
    pub fn progress(&self, verb: &str, len: u64) -> Progress {
        use std::io::IsTerminal;
        let bar = indicatif::ProgressBar::with_draw_target(
            Some(len),
            indicatif::ProgressDrawTarget::hidden(),
        );
        let done = std::sync::Arc::new(std::sync::Mutex::new(false));
        let shown = self.verbosity != Verbosity::Quiet && std::io::stderr().is_terminal();
        if shown {
            let style = indicatif::ProgressStyle::with_template(
                "{prefix:>12.cyan.bold} [{bar:27}] {pos}/{len}: {wide_msg}",
            )
            .expect("the template is valid")
            .progress_chars("=> ");
            bar.set_style(style);
            bar.set_prefix(verb.to_owned());
            let (later, finished) = (bar.clone(), done.clone());
            std::thread::spawn(move || {
                std::thread::sleep(std::time::Duration::from_secs(1));
                let finished = finished.lock().unwrap_or_else(|e| e.into_inner());
                if !*finished {
                    later.set_draw_target(indicatif::ProgressDrawTarget::stderr());
                    later.enable_steady_tick(std::time::Duration::from_millis(100));
                }
            });
        }
        Progress { bar, done, shown }
    }
}

impl Progress {
    /// Says which step runs now.
    pub fn step(&self, name: &str) {
        self.bar.set_message(name.to_owned());
    }

    /// One step is done.
    pub fn advance(&self) {
        self.bar.inc(1);
    }

    /// Whether the bar is drawn once the work takes a second (on a terminal, without `-q`).
    pub fn is_shown(&self) -> bool {
        self.shown
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        *self.done.lock().unwrap_or_else(|e| e.into_inner()) = true;
        self.bar.finish_and_clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_progress_bar_without_a_terminal_or_with_quiet() {
        let quiet = Shell {
            verbosity: Verbosity::Quiet,
            color: ColorWhen::Never,
        };
        assert!(!quiet.progress("Compiling", 2).is_shown());
        // `cargo test` captures stderr: it is not a terminal.
        let normal = Shell {
            verbosity: Verbosity::Normal,
            color: ColorWhen::Never,
        };
        let progress = normal.progress("Compiling", 2);
        assert_eq!(
            progress.is_shown(),
            std::io::IsTerminal::is_terminal(&std::io::stderr())
        );
    }
}
