//! `cargo iso replay --rev REV`: the project as of a git revision, checked
//! out in one worktree under the project's iso folder (`target/iso/rev`) (reused from revision to
//! revision, so its guests keep one warm build dir) and built there.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};

use crate::commands::build::{BuildOptions, data_dir_in, iso_dir_for};
use crate::commands::replay::bad_input;
use crate::commands::run::{RunApp, project_apps};
use crate::project::{self, Selection};
use crate::term::Shell;

/// The project's apps as of `rev`, built; and the project's own data folder.
pub fn apps_at(rev: &str, build: &BuildOptions, shell: &Shell) -> Result<(Vec<RunApp>, PathBuf)> {
    let selection = Selection {
        manifest_path: build.manifest.manifest_path.clone(),
        workspace: build.workspace.clone(),
    };
    let project = project::discover(&selection)?;
    let manifest = project.manifest_path.as_std_path();
    let folder = manifest.parent().unwrap_or(Path::new("."));
    let (top, commit) = resolve(folder, rev).map_err(|err| bad_input(shell, err))?;
    let iso_dir = iso_dir_for(build, &project)?;
    let worktree = iso_dir.as_std_path().join("rev");
    check_out(&top, &worktree, &commit)?;
    let inside = manifest.strip_prefix(&top).unwrap_or(manifest);
    shell.status(
        "Checked out",
        format_args!(
            "{rev} ({}) in {}",
            &commit[..12.min(commit.len())],
            worktree.display()
        ),
    );
    let mut at_rev = build.clone();
    at_rev.manifest.manifest_path = Some(worktree.join(inside));
    let (apps, _) = project_apps(&at_rev, shell)?;
    Ok((apps, data_dir_in(&iso_dir)))
}

/// The top folder of the git repository holding `folder`, and the commit `rev` names.
fn resolve(folder: &Path, rev: &str) -> Result<(PathBuf, String)> {
    let top = git(folder, &["rev-parse", "--show-toplevel"])
        .context("`--rev` needs the project in a git repository")?;
    let commit = git(
        folder,
        &["rev-parse", "--verify", &format!("{rev}^{{commit}}")],
    )
    .with_context(|| format!("`{rev}` names no commit of the repository at `{top}`"))?;
    Ok((PathBuf::from(top), commit))
}

/// Checks `commit` out in the worktree at `worktree`, adding it first.
fn check_out(top: &Path, worktree: &Path, commit: &str) -> Result<()> {
    if worktree.join(".git").exists() {
        git(
            worktree,
            &["checkout", "--quiet", "--force", "--detach", commit],
        )?;
        return Ok(());
    }
    let path = worktree.to_string_lossy();
    // A folder left from a worktree git has forgotten is pruned first.
    git(top, &["worktree", "prune"])?;
    git(
        top,
        &["worktree", "add", "--force", "--detach", &path, commit],
    )?;
    Ok(())
}

/// Runs git in `dir`; its trimmed output, or its error.
fn git(dir: &Path, args: &[&str]) -> Result<String> {
    let output = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .output()
        .context("could not run `git`: is it installed?")?;
    if !output.status.success() {
        bail!(
            "`git {}` failed in `{}`: {}",
            args.join(" "),
            dir.display(),
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    Ok(String::from_utf8_lossy(&output.stdout).trim().to_owned())
}
