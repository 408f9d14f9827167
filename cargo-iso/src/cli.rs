//! The command line: `cargo iso <command>`, with cargo's global flags.

use clap::{ArgAction, Args, Parser, Subcommand, ValueEnum};

use crate::commands::{
    build::BuildArgs, call::CallArgs, check_compat::CheckCompatArgs, dev::DevArgs,
    doctor::DoctorArgs, init::InitArgs, lattice::LatticeArgs, log::LogArgs, new::NewArgs,
    replay::ReplayArgs, run::RunArgs, serve::ServeArgs, test::TestArgs,
};
use crate::term::Shell;

/// Cargo runs `cargo-iso iso ...` for `cargo iso ...`, so the top level is `cargo`.
#[derive(Parser, Debug)]
#[command(name = "cargo", bin_name = "cargo", styles = clap_cargo::style::CLAP_STYLING)]
pub enum CargoCli {
    /// Build WebAssembly components in Rust and evolve them while they run.
    Iso(IsoCli),
}

/// `cargo iso`: its global flags and one subcommand.
#[derive(Args, Debug)]
#[command(version, about, long_about = None, after_help = AFTER_HELP)]
pub struct IsoCli {
    #[command(flatten)]
    #[allow(missing_docs)]
    pub global: GlobalOptions,

    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

const AFTER_HELP: &str = "\
Examples:
  cargo iso new counter                a guest crate from the counter template
  cargo iso build --release            build the guest here into target/iso/release/<name>.wasm
  cargo iso build --message-format json
  cargo iso run --fuel 1e6 --invoke 'increment(5)' --invoke 'get()'
  cargo iso dev --watch                serve the guest here, reloading it on save with its state kept
  cargo iso serve -p store             serve the store guest on NATS until Ctrl-C
  cargo iso call 'store.get(\"a\")'     one call to an app served on NATS
  cargo iso log --failed               the logged calls that failed
  cargo iso check-compat v1.wasm v2.wasm  what v2 breaks for users of v1
  cargo iso doctor                     which toolchain builds guests, and why";

/// Flags every subcommand takes, as cargo has them.
#[derive(Args, Debug, Clone, Default)]
pub struct GlobalOptions {
    /// Use verbose output (-vv very verbose); passed on to cargo
    #[arg(short, long, action = ArgAction::Count, global = true)]
    pub verbose: u8,

    /// Print no status messages; passed on to cargo
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub quiet: bool,

    /// Coloring: auto, always, never
    #[arg(
        long,
        value_name = "WHEN",
        global = true,
        env = "CARGO_TERM_COLOR",
        default_value = "auto"
    )]
    pub color: ColorWhen,
}

/// When to use colors, as cargo's `--color`.
#[derive(ValueEnum, Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum ColorWhen {
    /// Color when writing to a terminal.
    #[default]
    Auto,
    /// Always color.
    Always,
    /// Never color.
    Never,
}

impl ColorWhen {
    /// The value as cargo spells it on its own command line.
    pub fn as_str(self) -> &'static str {
        match self {
            ColorWhen::Auto => "auto",
            ColorWhen::Always => "always",
            ColorWhen::Never => "never",
        }
    }
}

/// The subcommands.
#[derive(Subcommand, Debug)]
pub enum Command {
    /// Build guest crates for wasm32 and turn them into components
    Build(BuildArgs),
    /// Build a guest and run it in the embedded host under fuel, memory and time budgets
    Run(RunArgs),
    /// Serve a guest live: a REPL of calls, hot reload on save that keeps its state, and replay
    Dev(DevArgs),
    /// Serve the guests on NATS, for other hosts to call, until stopped
    Serve(ServeArgs),
    /// Make one call to an app served on NATS
    Call(CallArgs),
    /// List the hosts serving on NATS and what each serves
    Lattice(LatticeArgs),
    /// List the calls `run` and `dev` logged, or show one
    Log(LogArgs),
    /// Run the test cases in each guest's tests/iso/ in the real host, as `cargo test` reports
    Test(TestArgs),
    /// Replay logged calls on the current build, another component or a git revision, and show what diverges
    Replay(ReplayArgs),
    /// Report everything NEW breaks for users of OLD: WIT interfaces and state schema
    CheckCompat(CheckCompatArgs),
    /// Show which Rust toolchain builds guests on this machine, and why
    Doctor(DoctorArgs),
    /// Create a new guest crate from a template
    New(NewArgs),
    /// Create a guest crate from a template in an existing folder
    Init(InitArgs),
}

impl Command {
    /// Runs the subcommand.
    pub fn exec(self, shell: &Shell) -> anyhow::Result<()> {
        match self {
            Command::Build(args) => args.exec(shell),
            Command::Run(args) => args.exec(shell),
            Command::Dev(args) => args.exec(shell),
            Command::Serve(args) => args.exec(shell),
            Command::Call(args) => args.exec(shell),
            Command::Lattice(args) => args.exec(shell),
            Command::Log(args) => args.exec(shell),
            Command::Replay(args) => args.exec(shell),
            Command::Test(args) => args.exec(shell),
            Command::CheckCompat(args) => args.exec(shell),
            Command::Doctor(args) => args.exec(shell),
            Command::New(args) => args.exec(shell),
            Command::Init(args) => args.exec(shell),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_is_well_formed() {
        CargoCli::command().debug_assert();
    }

    #[test]
    fn global_flags_go_before_or_after_the_subcommand() {
        let CargoCli::Iso(cli) = CargoCli::parse_from(["cargo", "iso", "-v", "build"]);
        assert_eq!(cli.global.verbose, 1);
        let CargoCli::Iso(cli) = CargoCli::parse_from(["cargo", "iso", "build", "-vv"]);
        assert_eq!(cli.global.verbose, 2);
        let CargoCli::Iso(cli) =
            CargoCli::parse_from(["cargo", "iso", "build", "--color", "never"]);
        assert_eq!(cli.global.color, ColorWhen::Never);
    }
}
