//! `dev --shadow-live`: a reloaded version starts as a candidate beside
//! the running one, which goes on answering; each call that follows is
//! mirrored to the candidate and compared. `:divergences` shows where they
//! differ, `:promote` makes the candidate answer, `:rollback` drops it,
//! and `:route APP percent=N` makes it a canary that answers N% of the
//! keys (a call's first argument) instead.

use iso_host::HostError;
use iso_host::runtime::{CandidateReport, Keep};

use super::Dev;
use super::watch::{Built, Request};

impl Dev {
    /// Starts `new` as the candidate beside the version running at its address.
    pub(super) fn start_shadow(&mut self, request: &Request, new: &Built) {
        let running = self.serving(std::slice::from_ref(&new.name));
        let runtime = self.session.runtime_mut();
        // Refused, it leaves any earlier candidate running, and in `candidates`.
        if let Err(err) = runtime.shadow(&new.name, &new.bytes) {
            let help = match err {
                HostError::StateRejected { .. } => {
                    "\nhelp: `:reload --fresh` swaps the new build in at once, from default state"
                }
                _ => "",
            };
            self.shell.warn(format_args!(
                "still serving {running} alone: the new build did not start: {err}{help}"
            ));
            return;
        }
        (self.candidates).insert(new.name.clone(), new.bytes.clone());
        let ms = |d: std::time::Duration| d.as_millis();
        self.shell.status(
            "Shadowing",
            format_args!(
                "{} with v{} in {} ms: build {}, componentize {}, compile {}; v{} answers until `:promote` or `:rollback`",
                new.name,
                self.session.version(&new.name) + 1,
                ms(request.since.elapsed()),
                ms(new.cargo),
                ms(new.componentize),
                ms(new.compile),
                self.session.version(&new.name),
            ),
        );
    }

    /// `:divergences [APP]`: the calls on which the candidate differed.
    pub(super) fn show_divergences(&mut self, address: &str) {
        let Some(report) = self.candidate_report(address) else {
            return;
        };
        for d in &report.divergences {
            let logged =
                d.id.map(|id| format!("  (log id {id})"))
                    .unwrap_or_default();
            println!(
                "call {}: {} -> v{} {}, v{} {}{logged}",
                d.call,
                d.request,
                report.version - 1,
                d.primary,
                report.version,
                d.candidate
            );
            if let Some(effect) = &d.first_effect {
                println!("    first differing {effect}");
            }
        }
        self.shell
            .status("Shadowing", self.summary(address, &report));
    }

    /// `:promote [APP] [--primary-state]`: the candidate answers from now on.
    pub(super) fn promote(&mut self, words: &[&str]) {
        let (apps, keep) = match words.split_last() {
            Some((&"--primary-state", apps)) => (apps, Keep::Primary),
            _ => (words, Keep::Candidate),
        };
        let Some(address) = self.app_named(apps) else {
            return;
        };
        if !self.candidates.contains_key(&address) {
            return self.no_candidate(&address);
        }
        match self.session.runtime_mut().promote(&address, keep) {
            Ok(swapped) => {
                self.candidates.remove(&address);
                let whose = match keep {
                    Keep::Candidate => "its own state (it ran every call since the reload)",
                    Keep::Primary => "the state of the version it replaces",
                };
                self.shell.status(
                    "Promoted",
                    format_args!(
                        "{address} v{}: it answers now, with {whose}",
                        swapped.version
                    ),
                );
                self.complete();
            }
            Err(err) => self.report(err),
        }
    }

    /// `:rollback [APP]`: drop the candidate; the running version goes on alone.
    pub(super) fn rollback(&mut self, address: &str) {
        if !self.candidates.contains_key(address) {
            return self.no_candidate(address);
        }
        match self.session.runtime_mut().rollback(address) {
            Ok(report) => {
                self.candidates.remove(address);
                let summary = self.summary(address, &report);
                self.shell.status(
                    "Rolled back",
                    format_args!("{summary}; v{} answers alone", report.version - 1),
                );
            }
            Err(err) => self.report(err),
        }
    }

    /// `:route APP percent=N` (a canary of N% of the keys) or `:route APP
    /// shadow`: how the new version beside `APP` takes calls. Either
    /// starts it again from the running version's state.
    pub(super) fn route(&mut self, words: &[&str]) {
        let Some((setting, apps)) = words.split_last() else {
            return self.route_usage("say how to route");
        };
        let Some(address) = self.app_named(apps) else {
            return;
        };
        let Some(bytes) = self.candidates.get(&address).cloned() else {
            return self.no_candidate(&address);
        };
        let percent = (setting.strip_prefix("percent=")).and_then(|n| n.parse::<u8>().ok());
        let runtime = self.session.runtime_mut();
        let routed = match (*setting, percent) {
            ("shadow", _) => runtime.shadow(&address, &bytes),
            (_, Some(percent)) => runtime.canary(&address, &bytes, percent),
            _ => return self.route_usage(&format!("`{setting}` is not a route")),
        };
        let old = self.session.version(&address);
        match (routed, percent) {
            (Ok(()), Some(percent)) => self.shell.status(
                "Routing",
                format_args!(
                    "{address}: v{} answers {percent}% of the keys (a call's first argument), v{old} the rest",
                    old + 1
                ),
            ),
            (Ok(()), _) => self.shell.status(
                "Shadowing",
                format_args!("{address} with v{}; v{old} answers", old + 1),
            ),
            (Err(err), _) => self.report(err),
        }
    }

    fn route_usage(&self, what: &str) {
        self.shell.report(&anyhow::anyhow!(
            "{what}\nhelp: write `:route APP percent=10` (a canary) or `:route APP shadow`"
        ));
    }

    fn no_candidate(&self, address: &str) {
        self.shell.warn(format_args!(
            "no new version runs beside `{address}`\nhelp: run `cargo iso dev --watch --shadow-live`, then save a change"
        ));
    }

    /// The report of the candidate at `address`, or says there is none.
    fn candidate_report(&mut self, address: &str) -> Option<CandidateReport> {
        match self.session.runtime().candidate_report(address) {
            Ok(Some(report)) => Some(report),
            Ok(None) => {
                self.no_candidate(address);
                None
            }
            Err(err) => {
                self.report(err);
                None
            }
        }
    }

    /// `store v3: 12 calls mirrored, 2 divergences`, or for a canary
    /// `store v3: a canary of 10% of the keys: 12 calls answered`.
    fn summary(&self, address: &str, report: &CandidateReport) -> String {
        let plural = |n: u64| if n == 1 { "" } else { "s" };
        if let Some(percent) = report.canary {
            return format!(
                "{address} v{}: a canary of {percent}% of the keys: {} call{} answered",
                report.version,
                report.calls,
                plural(report.calls)
            );
        }
        format!(
            "{address} v{}: {} call{} mirrored, {} divergence{}",
            report.version,
            report.calls,
            plural(report.calls),
            report.diverged,
            plural(report.diverged)
        )
    }
}
