//! `:save [APP] NAME`: the session's calls to one app, with what they came
//! to, the effects they saw and the state before the first, written as a
//! test case to the guest's `tests/iso/NAME.toml`, which `cargo iso test`
//! replays against the current build.

use std::path::PathBuf;

use iso_host::CallRecord;
use iso_host::case::{Case, CaseCall, Setup};

use super::Dev;
use crate::commands::test::CASES_DIR;
use crate::componentize::write_atomically;

impl Dev {
    /// `:save [APP] NAME`.
    pub(super) fn save(&mut self, words: &[&str]) {
        let Some((name, apps)) = words.split_last() else {
            self.shell.report(&anyhow::anyhow!(
                "give the test a name: `:save NAME` (or `:save APP NAME`)"
            ));
            return;
        };
        if let Err(err) = check_name(name) {
            self.shell.report(&err);
            return;
        }
        let Some(address) = self.app_named(apps) else {
            return;
        };
        match self.write_case(&address, name) {
            Ok((path, count)) => self.shell.status(
                "Saved",
                format_args!(
                    "{count} call{} to `{address}` in {}; `cargo iso test {name}` replays them",
                    if count == 1 { "" } else { "s" },
                    path.display()
                ),
            ),
            Err(err) => {
                self.shell.report(&err);
            }
        }
    }

    /// Writes the calls to `address` as the case `name`; its path and
    /// how many calls it holds.
    fn write_case(&self, address: &str, name: &str) -> anyhow::Result<(PathBuf, usize)> {
        let records: Vec<&CallRecord> = (self.session.history().iter())
            .filter(|record| record.address == address)
            .collect();
        let Some(first) = records.first() else {
            anyhow::bail!("no calls to `{address}` to save yet: make some first");
        };
        let guest = (self.guests.iter())
            .find(|guest| guest.name == address)
            .ok_or_else(|| anyhow::anyhow!("`{address}` is not a guest of this project"))?;
        let folder = guest
            .manifest_path
            .parent()
            .map(|dir| dir.as_std_path().join(CASES_DIR))
            .unwrap_or_default();
        let case = Case {
            setup: Setup {
                state: first.state_before().map(hex),
                ..Setup::default()
            },
            calls: records.iter().map(|record| case_call(record)).collect(),
            kv_after: None,
            fakes: Vec::new(),
        };
        let text = format!(
            "# Recorded by `cargo iso dev` (`:save {name}`): the calls to `{address}`, what\n\
             # they came to, and the effects they saw. `cargo iso test {name}` replays\n\
             # them; `--bless` accepts new results.\n\n{}",
            toml::to_string(&case)?
        );
        let path = folder.join(format!("{name}.toml"));
        write_atomically(&path, text.as_bytes())?;
        Ok((path, records.len()))
    }
}

/// A recorded call as a case's call: its outcome expected, its effects given.
fn case_call(record: &CallRecord) -> CaseCall {
    CaseCall {
        call: record.call.clone(),
        advance: None,
        expect: Some(record.outcome.to_string()),
        effects: Some(record.effects.clone()),
    }
}

/// A test's name: letters, digits, `-` and `_`.
fn check_name(name: &str) -> anyhow::Result<()> {
    let fine = |c: char| c.is_ascii_alphanumeric() || c == '-' || c == '_';
    if name.is_empty() || !name.chars().all(fine) {
        anyhow::bail!(
            "`{name}` cannot name a test: use letters, digits, `-` and `_`, e.g. `:save checkout-flow`"
        );
    }
    Ok(())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}
