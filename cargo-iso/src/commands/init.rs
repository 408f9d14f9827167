//! `cargo iso init [path]`: a guest crate from a template in an existing folder.

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
    /// Writes the template into the folder; existing files are never overwritten.
    pub fn exec(self, shell: &Shell) -> Result<()> {
        scaffold_into(shell, &self.path, &self.options)
    }
}
