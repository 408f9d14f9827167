//! The templates `cargo iso new` and `cargo iso init` write, and writing them.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};

use crate::componentize::write_atomically;

/// One template: its name, what it shows, and its files (path, text).
pub struct Template {
    /// The name given to `--template`.
    pub name: &'static str,
    /// One line for `--list`.
    pub description: &'static str,
    files: &'static [(&'static str, &'static str)],
    /// The folders of its guests (`""`: the template is one guest).
    guests: &'static [&'static str],
}

macro_rules! template_files {
    ($dir:literal: $($file:literal),+) => {
        &[$(($file, include_str!(concat!("../../templates/", $dir, "/", $file)))),+]
    };
}

/// Every template; the first is the default.
pub const TEMPLATES: &[Template] = &[
    Template {
        name: "counter",
        description: "a #[derive(Schema)] state with increment, get, reset and run exports, and logging",
        files: template_files!("counter": "Cargo.toml", "src/lib.rs", "wit/world.wit", "tests/iso/counts.toml"),
        guests: &[""],
    },
    Template {
        name: "rate-limiter",
        description: "per-key token buckets in the host's key-value store, timed by the host clock",
        files: template_files!("rate-limiter": "Cargo.toml", "src/lib.rs", "wit/world.wit", "tests/iso/refill.toml"),
        guests: &[""],
    },
    Template {
        name: "pair",
        description: "a workspace of two wired guests: a store that keeps visits in its state, and a front that calls it",
        files: template_files!("pair": "Cargo.toml", "store/Cargo.toml", "store/src/lib.rs",
            "store/wit/world.wit", "front/Cargo.toml", "front/src/lib.rs", "front/wit/world.wit",
            "front/tests/iso/faked.toml"),
        guests: &["store", "front"],
    },
];

impl Template {
    /// The folders of its guests: `[""]` for a template that is one guest.
    pub fn guests(&self) -> &'static [&'static str] {
        self.guests
    }
}

/// The template called `name`, or an error listing them.
pub fn template(name: &str) -> Result<&'static Template> {
    TEMPLATES.iter().find(|t| t.name == name).with_context(|| {
        let names: Vec<_> = TEMPLATES.iter().map(|t| format!("`{}`", t.name)).collect();
        format!(
            "no template named `{name}`\nhelp: the templates are {} (`cargo iso new --list`)",
            names.join(", ")
        )
    })
}

const RESERVED: &[&str] = &[
    "test",
    "core",
    "std",
    "alloc",
    "proc_macro",
    "proc-macro",
    "self",
    "super",
    "crate",
    "Self",
    "async",
    "await",
    "fn",
    "mod",
    "struct",
    "enum",
    "impl",
    "trait",
    "type",
    "use",
    "let",
    "match",
    "loop",
    "while",
    "for",
    "if",
    "else",
    "return",
    "where",
];

/// Checks a package name as cargo does, with a fix in the message.
pub fn check_name(name: &str) -> Result<()> {
    let help = "help: choose another name with `--name <name>`";
    let Some(first) = name.chars().next() else {
        bail!("the package name is empty\n{help}");
    };
    if let Some(bad) = name
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || *c == '-' || *c == '_'))
    {
        bail!(
            "invalid character `{bad}` in package name `{name}`: use letters, digits, `-` and `_`\n{help}"
        );
    }
    if first.is_ascii_digit() {
        bail!("the package name `{name}` cannot start with a digit\n{help}");
    }
    if RESERVED.contains(&name) {
        bail!("the package name `{name}` is a Rust keyword or a standard crate's name\n{help}");
    }
    Ok(())
}

/// The package name as a WIT identifier: lowercase words joined by `-`, none starting with a digit.
pub fn wit_name(name: &str) -> String {
    let mut out = String::new();
    for word in name
        .to_ascii_lowercase()
        .split(['-', '_'])
        .filter(|w| !w.is_empty())
    {
        let starts_with_digit = word.starts_with(|c: char| c.is_ascii_digit());
        if !out.is_empty() && !starts_with_digit {
            out.push('-');
        }
        out.push_str(word);
    }
    out
}

/// The `iso-guest` dependency line: a version requirement, the same on
/// every machine; cargo-iso supplies the SDK when it builds (see
/// [`crate::sdk`]).
pub fn iso_guest_dependency() -> String {
    format!("iso-guest = \"{}\"", crate::sdk::requirement())
}

/// The files a template makes for package `name`, with their text.
pub fn render(template: &Template, name: &str) -> Result<Vec<(PathBuf, String)>> {
    let dependency = iso_guest_dependency();
    let wit = wit_name(name);
    let mut files: Vec<(PathBuf, String)> = template
        .files
        .iter()
        .map(|(path, text)| {
            let text = text
                .replace("{{name}}", name)
                .replace("{{wit_name}}", &wit)
                .replace("{{iso_guest_dependency}}", &dependency);
            (PathBuf::from(path), text)
        })
        .collect();
    for guest in template.guests {
        files.extend(
            crate::wit_deps::PACKAGES
                .iter()
                .map(|(path, text)| (Path::new(guest).join("wit").join(path), (*text).to_owned())),
        );
    }
    let ignored = format!(
        "/target\n# Where this machine's iso-guest SDK is, for plain `cargo`: written by cargo iso.\n/{}\n",
        crate::sdk::LOCAL_CONFIG
    );
    files.push((PathBuf::from(".gitignore"), ignored));
    Ok(files)
}

/// Writes the files into `dir`, refusing to overwrite any that exist.
pub fn write(dir: &Path, files: &[(PathBuf, String)]) -> Result<()> {
    let existing: Vec<String> = files
        .iter()
        .filter(|(path, _)| dir.join(path).exists())
        .map(|(p, _)| format!("`{}`", p.display()))
        .collect();
    if !existing.is_empty() {
        bail!(
            "`{}` already has {}; cargo iso will not overwrite them\nhelp: move them away, or choose another folder",
            dir.display(),
            existing.join(", ")
        );
    }
    for (path, text) in files {
        write_atomically(&dir.join(path), text.as_bytes())?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_checked_like_cargo() {
        assert!(check_name("counter").is_ok());
        assert!(check_name("my_app-2").is_ok());
        assert!(
            check_name("1app")
                .unwrap_err()
                .to_string()
                .contains("cannot start with a digit")
        );
        assert!(
            check_name("my app")
                .unwrap_err()
                .to_string()
                .contains("invalid character ` `")
        );
        assert!(
            check_name("test")
                .unwrap_err()
                .to_string()
                .contains("keyword")
        );
        assert!(check_name("").is_err());
    }

    #[test]
    fn wit_names_are_valid_identifiers() {
        assert_eq!(wit_name("counter"), "counter");
        assert_eq!(wit_name("My_App"), "my-app");
        assert_eq!(wit_name("counter-2"), "counter2");
    }

    #[test]
    fn every_placeholder_is_filled() {
        for template in TEMPLATES {
            for (path, text) in render(template, "my_app").unwrap() {
                assert!(
                    !text.contains("{{"),
                    "{} of {} has a placeholder left",
                    path.display(),
                    template.name
                );
            }
        }
    }

    #[test]
    fn unknown_templates_list_the_known_ones() {
        let err = template("nope").err().unwrap().to_string();
        assert!(err.contains("`counter`, `rate-limiter`, `pair`"), "{err}");
    }
}
