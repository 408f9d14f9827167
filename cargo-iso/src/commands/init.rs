//! `cargo iso init [path]`: a guest crate from a template in an existing
//! folder, or, in a crate that exists already, what it lacks to be a guest
//! (see [`crate::adopt`]).

use std::path::PathBuf;

use anyhow::Result;
use clap::Args;

use crate::commands::new::{ScaffoldOptions, scaffold_into};
use crate::term::Shell;

/// `cargo iso init`.
#[derive(Args, Debug)]
pub struct InitArgs {
    /// Folder to add the guest crate to
    #[arg(default_value = ".")]
    pub path: PathBuf,

    #[command(flatten)]
    #[allow(missing_docs)]
    pub options: ScaffoldOptions,
}

impl InitArgs {
    /// Writes the template into the folder, or adds what the crate there
    /// lacks; existing files are never overwritten.
    pub fn exec(self, shell: &Shell) -> Result<()> {
        if !self.path.join("Cargo.toml").is_file() {
            return scaffold_into(shell, &self.path, &self.options);
        }
        let template = crate::scaffold::template(&self.options.template)?;
        let adopted = crate::adopt::adopt(&self.path, template)?;
        match adopted.added.as_slice() {
            [] => shell.status(
                "Unchanged",
                format_args!("`{}` has what a guest needs already", adopted.name),
            ),
            added => shell.status(
                "Added",
                format_args!("{} to `{}`", added.join(", "), adopted.name),
            ),
        }
        if adopted.kept_lib {
            shell.note(format_args!(
                "your `src/lib.rs` was kept: a guest's calls `iso_guest::generate!();`, implements `Guest` for the exports in `wit/world.wit`, and ends with `export!(...)`; `cargo iso new --template {} example` writes a whole one",
                template.name
            ));
        }
        Ok(())
    }
}
