//! `cargo iso new <path>`: a new guest crate from a template.

use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use clap::Args;

use crate::scaffold::{self, TEMPLATES};
use crate::term::Shell;

/// `cargo iso new`.
#[derive(Args, Debug)]
#[command(after_help = "Then: cd <path> && cargo iso build")]
pub struct NewArgs {
    /// Folder to create the guest crate in
    #[arg(required_unless_present = "list")]
    pub path: Option<PathBuf>,

    #[command(flatten)]
    #[allow(missing_docs)]
    pub options: ScaffoldOptions,

    /// List the templates and exit
    #[arg(long)]
    pub list: bool,
}

/// The flags `new` and `init` share.
#[derive(Args, Debug, Clone)]
pub struct ScaffoldOptions {
    /// Package name [default: the folder's name]
    #[arg(long, value_name = "NAME")]
    pub name: Option<String>,

    /// Template to start from (see --list)
    #[arg(long, short, value_name = "TEMPLATE", default_value = "counter")]
    pub template: String,
}

impl NewArgs {
    /// Creates the crate, or lists the templates.
    pub fn exec(self, shell: &Shell) -> Result<()> {
        if self.list {
            for template in TEMPLATES {
                println!("{:<14} {}", template.name, template.description);
            }
            return Ok(());
        }
        let path = self.path.expect("clap requires a path unless --list");
        if path.exists() {
            bail!(
                "destination `{}` already exists\nhelp: use `cargo iso init` to add a guest to an existing folder",
                path.display()
            );
        }
        scaffold_into(shell, &path, &self.options)
    }
}

/// Writes a template into `dir` (created if needed) and reports it.
pub fn scaffold_into(
    shell: &Shell,
    dir: &std::path::Path,
    options: &ScaffoldOptions,
) -> Result<()> {
    let name = match &options.name {
        Some(name) => name.clone(),
        None => folder_name(dir)?,
    };
    scaffold::check_name(&name)?;
    let template = scaffold::template(&options.template)?;
    let files = scaffold::render(template, &name)?;
    scaffold::write(dir, &files)?;
    let what = match template.guests() {
        [""] => format!("guest `{name}`"),
        guests => format!("workspace `{name}` of guests {}", guests.join(", ")),
    };
    shell.status(
        "Created",
        format_args!(
            "{what} from template `{}` in {}",
            template.name,
            dir.display()
        ),
    );
    crate::sdk::write_local_patch(dir, &crate::sdk::iso_guest_dir()?)?;
    lock_offline(dir);
    Ok(())
}

fn folder_name(dir: &std::path::Path) -> Result<String> {
    let absolute = std::path::absolute(dir)
        .with_context(|| format!("could not resolve `{}`", dir.display()))?;
    absolute
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .with_context(|| {
            format!(
                "`{}` has no folder name to use as the package name\nhelp: pass `--name <name>`",
                dir.display()
            )
        })
}

/// Resolves dependencies from cargo's local cache, so the first build works offline once
/// they were fetched; when that fails the first build resolves them online instead.
fn lock_offline(dir: &std::path::Path) {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let Ok(sdk) = crate::sdk::iso_guest_dir() else {
        return;
    };
    let _ = std::process::Command::new(cargo)
        .args(["generate-lockfile", "--offline", "--quiet", "--config"])
        .arg(crate::sdk::patch_config(&sdk))
        .arg("--manifest-path")
        .arg(dir.join("Cargo.toml"))
        .stderr(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .status();
}
