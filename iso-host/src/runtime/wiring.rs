//! [`Wiring`]: which provider fills each import of an app, and the checks
//! made before an instance starts: every import has a provider, the
//! provider is running, it exports a compatible interface (iso-compat's
//! structural comparison), and no app imports from itself.
//!
//! A cycle can only be asked for all at once: each instance starts after
//! its providers, and a swap keeps the wiring. [`order`] puts a set of
//! apps in an order that starts providers first, or names the cycle.

use std::collections::BTreeMap;

/// Who fills an import.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Provider {
    /// Rust code in the host: a system interface the embedder registered
    /// with [`Runtime::provide`](super::Runtime::provide). (The iso host's
    /// own `iso:host/*` interfaces need no entry.)
    Host,
    /// The export of the instance running under this address.
    Address(String),
    /// The export of the app another host serves under this address,
    /// reached through the runtime's [`Transport`](super::Transport).
    Remote(String),
}

/// The providers of an app's imports, by import name. An import may be
/// named with or without its version (`local:store/api` or
/// `local:store/api@0.1.0`); the iso host's interfaces need no entry.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Wiring {
    providers: BTreeMap<String, Provider>,
}

impl Wiring {
    /// No providers but the host's.
    pub fn new() -> Wiring {
        Wiring::default()
    }

    /// Fills `import` with the export of the instance at `address`.
    pub fn import(mut self, import: &str, address: &str) -> Wiring {
        let provider = Provider::Address(address.to_owned());
        self.providers.insert(import.to_owned(), provider);
        self
    }

    /// Fills `import` with the export of the app served under `address`
    /// by another host, reached through the runtime's
    /// [`Transport`](super::Transport): a Remote(X), used exactly as a
    /// local X, and checked against what the remote exports when the
    /// importer starts.
    pub fn remote(mut self, import: &str, address: &str) -> Wiring {
        let provider = Provider::Remote(address.to_owned());
        self.providers.insert(import.to_owned(), provider);
        self
    }

    /// Fills `import` with the system interface registered under its name
    /// (see [`Runtime::provide`](super::Runtime::provide)). An import
    /// with no entry takes a registered system interface too; this says
    /// so, and makes starting fail when none is registered.
    pub fn system(mut self, import: &str) -> Wiring {
        self.providers.insert(import.to_owned(), Provider::Host);
        self
    }

    /// The provider named for `import` (as the component spells it, with its version).
    pub fn provider(&self, import: &str) -> Option<&Provider> {
        self.providers
            .iter()
            .find(|(named, _)| names_import(named, import))
            .map(|(_, provider)| provider)
    }

    /// The import names the wiring mentions, as given.
    pub fn imports(&self) -> impl Iterator<Item = &str> {
        self.providers.keys().map(String::as_str)
    }

    /// The addresses whose instances fill imports, each once.
    pub fn addresses(&self) -> impl Iterator<Item = &str> {
        let mut seen = Vec::new();
        self.providers
            .values()
            .filter_map(move |provider| match provider {
                Provider::Address(address) if !seen.contains(&address) => {
                    seen.push(address);
                    Some(address.as_str())
                }
                _ => None,
            })
    }

    /// The addresses of the remote apps that fill imports.
    pub fn remotes(&self) -> impl Iterator<Item = &str> {
        self.providers
            .values()
            .filter_map(|provider| match provider {
                Provider::Remote(address) => Some(address.as_str()),
                _ => None,
            })
    }

    /// Whether any import is filled by the instance at `address`.
    pub fn uses(&self, address: &str) -> bool {
        self.providers
            .values()
            .any(|p| *p == Provider::Address(address.to_owned()))
    }
}

/// Whether an import named `named` in a wiring is `import` (as the
/// component spells it): the same name, or the same without the version.
pub(crate) fn names_import(named: &str, import: &str) -> bool {
    named == import
        || import
            .split_once('@')
            .is_some_and(|(name, _)| name == named)
}

/// Why an instance was not started, or not stopped.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum WiringError {
    /// The host that serves a remote provider could not be reached, or
    /// did not describe what it serves.
    #[error(
        "`{address}` imports `{import}` from the remote `{provider}`, which cannot be checked: {reason}"
    )]
    RemoteUnreachable {
        /// The importer.
        address: String,
        /// The import.
        import: String,
        /// The remote provider's address.
        provider: String,
        /// Why.
        reason: String,
    },
    /// The address cannot name an app: it is empty, or has whitespace or
    /// control characters.
    #[error("{}; name the app with letters, digits, `-` and `_`", bad_address(.address, .problem))]
    BadAddress {
        /// The address, escaped where it has control characters.
        address: String,
        /// What is wrong with it: `is empty`, `has whitespace`, ...
        problem: &'static str,
    },
    /// Something already runs under the address.
    #[error("an instance already runs under `{address}`: stop it first, or choose another address")]
    AddressInUse {
        /// The address.
        address: String,
    },
    /// Nothing runs under the address.
    #[error("nothing runs under `{address}`")]
    NoSuchAddress {
        /// The address.
        address: String,
    },
    /// No candidate runs beside the address (to promote or roll back).
    #[error("no candidate runs beside `{address}`: start one with `shadow` or `canary` first")]
    NoCandidate {
        /// The address.
        address: String,
    },
    /// A canary asked for more than all of the calls.
    #[error("a canary takes 0 to 100 percent of the calls, not {percent}")]
    CanaryShare {
        /// The share asked for.
        percent: u8,
    },
    /// The wiring names an import the component does not have.
    #[error("the wiring of `{address}` names `{import}`, which it does not import (it imports {})", list(.imports))]
    UnknownImport {
        /// The app being started.
        address: String,
        /// The import named.
        import: String,
        /// What the component does import.
        imports: Vec<String>,
    },
    /// An import has no provider.
    #[error(
        "`{address}` imports `{import}`, which the iso host does not provide (it provides {}) and nothing is wired to: wire it to the address of an app that exports it", crate::host::PROVIDED.join(", ")
    )]
    MissingProvider {
        /// The app being started.
        address: String,
        /// The import.
        import: String,
    },
    /// The wiring names a system interface that nobody registered.
    #[error(
        "`{address}` imports `{import}` from the host, but no system interface of that name is registered: register one with `Runtime::provide`, or wire the import to an app"
    )]
    NoSystemInterface {
        /// The app being started.
        address: String,
        /// The import.
        import: String,
    },
    /// The provider named is not running.
    #[error(
        "`{address}` imports `{import}` from `{provider}`, but nothing runs under `{provider}`: start the provider first"
    )]
    UnknownProvider {
        /// The app being started.
        address: String,
        /// The import.
        import: String,
        /// The provider's address.
        provider: String,
    },
    /// Following the wiring leads back to the app.
    #[error("wiring cycle: {}: an app cannot import from itself, even through others", .path.join(" -> "))]
    Cycle {
        /// The addresses, from the app back to itself.
        path: Vec<String>,
    },
    /// The provider's export does not fit the import.
    #[error("`{provider}` cannot fill `{address}`'s import `{import}`:\n  {}", .differences.join("\n  "))]
    IncompatibleProvider {
        /// The app being started.
        address: String,
        /// The import.
        import: String,
        /// The provider's address.
        provider: String,
        /// What differs, one line each, e.g.
        /// `export local:store/api@0.1.0: func get: result: type changed from option<u32> to option<u64> [type-changed]`.
        differences: Vec<String>,
    },
    /// A new version would no longer fill what a dependent imports.
    #[error("the new version of `{address}` cannot fill `{dependent}`'s import `{import}`, so it was not swapped in:\n  {}", .differences.join("\n  "))]
    SwapBreaksDependent {
        /// The app being swapped.
        address: String,
        /// The instance that imports from it.
        dependent: String,
        /// The import.
        import: String,
        /// What differs, one line each.
        differences: Vec<String>,
    },
    /// Other instances import from the ones being stopped.
    #[error("`{address}` provides imports of {}: stop them with it", list(.dependents))]
    HasDependents {
        /// The instance asked to stop.
        address: String,
        /// The instances that import from it.
        dependents: Vec<String>,
    },
}

fn list(names: &[String]) -> String {
    match names {
        [] => "nothing".to_owned(),
        names => names
            .iter()
            .map(|n| format!("`{n}`"))
            .collect::<Vec<_>>()
            .join(", "),
    }
}

/// The order in which to start `apps` (address and wiring each) so that
/// every provider among them starts before its importers: indexes into
/// `apps`. Providers not among them must be running already.
pub(crate) fn order(apps: &[(&str, &Wiring)]) -> Result<Vec<usize>, WiringError> {
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        New,
        Visiting,
        Done,
    }
    fn visit(
        i: usize,
        apps: &[(&str, &Wiring)],
        marks: &mut [Mark],
        path: &mut Vec<String>,
        order: &mut Vec<usize>,
    ) -> Result<(), WiringError> {
        match marks[i] {
            Mark::Done => return Ok(()),
            Mark::Visiting => {
                let start = path.iter().position(|a| a == apps[i].0).unwrap_or(0);
                let mut path = path[start..].to_vec();
                path.push(apps[i].0.to_owned());
                return Err(WiringError::Cycle { path });
            }
            Mark::New => {}
        }
        marks[i] = Mark::Visiting;
        path.push(apps[i].0.to_owned());
        for provider in apps[i].1.addresses() {
            if let Some(p) = apps.iter().position(|(address, _)| *address == provider) {
                visit(p, apps, marks, path, order)?;
            }
        }
        path.pop();
        marks[i] = Mark::Done;
        order.push(i);
        Ok(())
    }
    let mut marks = vec![Mark::New; apps.len()];
    let mut order = Vec::with_capacity(apps.len());
    for i in 0..apps.len() {
        visit(i, apps, &mut marks, &mut Vec::new(), &mut order)?;
    }
    Ok(order)
}

/// Refuses an address that cannot name an app: an empty one, or one with
/// whitespace or control characters, which no command line or log line
/// shows as one word. Other characters are the embedder's choice (a `.`
/// works in-process; NATS refuses it, see iso-nats).
pub(crate) fn check_address(address: &str) -> Result<(), WiringError> {
    let problem = if address.is_empty() {
        "is empty"
    } else if address.chars().any(char::is_control) {
        "has a control character"
    } else if address.chars().any(char::is_whitespace) {
        "has whitespace"
    } else {
        return Ok(());
    };
    Err(WiringError::BadAddress {
        address: address.escape_debug().to_string(),
        problem,
    })
}

fn bad_address(address: &str, problem: &str) -> String {
    match address.is_empty() {
        true => "an address cannot be empty".to_owned(),
        false => format!("the address `{address}` {problem}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_import_is_found_with_or_without_its_version() {
        let wiring = Wiring::new().import("local:store/api", "store");
        let store = Provider::Address("store".into());
        assert_eq!(wiring.provider("local:store/api@0.1.0"), Some(&store));
        assert_eq!(wiring.provider("local:store/api"), Some(&store));
        assert_eq!(wiring.provider("local:other/api@0.1.0"), None);
        assert!(wiring.uses("store"));
        assert!(!wiring.uses("front"));
    }

    #[test]
    fn providers_come_first_and_a_cycle_is_named_with_its_path() {
        let store = Wiring::new();
        let api = Wiring::new().import("local:store/api", "store");
        let worker = Wiring::new()
            .import("local:api/api", "api")
            .import("local:store/api", "store");
        let apps = [("worker", &worker), ("api", &api), ("store", &store)];
        assert_eq!(order(&apps).unwrap(), vec![2, 1, 0]);

        let a = Wiring::new().import("local:b/api", "b");
        let b = Wiring::new().import("local:c/api", "c");
        let c = Wiring::new().import("local:a/api", "a");
        let err = order(&[("a", &a), ("b", &b), ("c", &c)]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "wiring cycle: a -> b -> c -> a: an app cannot import from itself, even through others"
        );
    }
}
