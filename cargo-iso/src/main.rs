//! `cargo iso`: parse the command line and dispatch to one subcommand.

use std::process::ExitCode;

use cargo_iso::cli::CargoCli;
use cargo_iso::term::Shell;
use clap::Parser;

fn main() -> ExitCode {
    let CargoCli::Iso(cli) = CargoCli::parse();
    let shell = Shell::new(&cli.global);
    match cli.command.exec(&shell) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => ExitCode::from(shell.report(&err)),
    }
}
