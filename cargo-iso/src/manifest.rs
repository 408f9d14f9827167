//! `[package.metadata.iso]`: a guest's settings in its `Cargo.toml`.
//!
//! ```toml
//! [package.metadata.iso]
//! fuel = 1_000_000      # per call; 1e6 works too
//! memory = "64MiB"      # linear memory cap per instance
//! timeout = "500ms"     # wall clock per call
//! storage = "64MiB"     # kv key and value bytes the app keeps
//!
//! [package.metadata.iso.imports]
//! "local:store/api" = { guest = "store" }   # which guest provides an import
//! "local:clock/api" = { remote = "clock" }  # or an app served on NATS
//! ```
//!
//! Unknown keys and bad values are errors that name the key and the manifest.

use anyhow::{Result, anyhow};
use cargo_metadata::camino::Utf8Path;
use iso_host::{Budget, Fuel, MemorySize, Timeout};
use serde::Deserialize;

/// Everything a guest can set in `[package.metadata.iso]`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IsoSettings {
    /// Fuel per call.
    pub fuel: Option<Fuel>,
    /// Linear memory cap per instance.
    pub memory: Option<MemorySize>,
    /// Wall-clock time per call.
    pub timeout: Option<Timeout>,
    /// kv key and value bytes the app keeps.
    pub storage: Option<MemorySize>,
    /// Who provides an import, by interface (`"local:store/api"`), where
    /// the WIT package alone does not say (two guests could).
    #[serde(default)]
    pub imports: std::collections::BTreeMap<String, ImportSource>,
}

/// The provider of one import, under `[package.metadata.iso.imports]`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(try_from = "SourceTable")]
pub enum ImportSource {
    /// `{ guest = "store" }`: the guest package of this project that
    /// exports the interface.
    Guest(String),
    /// `{ remote = "store" }`: the address of an app another host serves
    /// on NATS (`cargo iso serve`).
    Remote(String),
}

/// An import's table as written, before it is checked to name one provider.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SourceTable {
    guest: Option<String>,
    remote: Option<String>,
}

impl TryFrom<SourceTable> for ImportSource {
    type Error = &'static str;

    fn try_from(table: SourceTable) -> Result<ImportSource, Self::Error> {
        match (table.guest, table.remote) {
            (Some(guest), None) => Ok(ImportSource::Guest(guest)),
            (None, Some(remote)) => Ok(ImportSource::Remote(remote)),
            (Some(_), Some(_)) => Err(
                "name one provider: `guest` (a guest of this project) or `remote` (an app served on NATS), not both",
            ),
            (None, None) => Err(
                "name the provider: `{ guest = \"NAME\" }` for a guest of this project, or `{ remote = \"ADDRESS\" }` for an app served on NATS",
            ),
        }
    }
}

impl IsoSettings {
    /// Reads the settings from a package's `metadata` (the JSON cargo gives
    /// for `[package.metadata]`). `Ok(None)` when there is no `iso` table.
    pub fn from_package_metadata(
        metadata: &serde_json::Value,
        manifest_path: &Utf8Path,
    ) -> Result<Option<IsoSettings>> {
        let Some(table) = metadata.get("iso") else {
            return Ok(None);
        };
        if !table.is_object() {
            return Err(anyhow!(
                "`package.metadata.iso` in `{manifest_path}` must be a table, such as\n\n\
                 [package.metadata.iso]\nfuel = 1_000_000"
            ));
        }
        serde_path_to_error::deserialize(table)
            .map(Some)
            .map_err(|err| {
                let key = err.path().to_string();
                let place = if key == "." {
                    "`[package.metadata.iso]`".to_owned()
                } else {
                    format!("key `{key}` of `[package.metadata.iso]`")
                };
                anyhow!("{}", err.into_inner())
                    .context(format!("invalid {place} in `{manifest_path}`"))
            })
    }

    /// The per-call budget these settings ask for.
    pub fn budget(&self) -> Budget {
        Budget {
            fuel: self.fuel,
            memory: self.memory,
            timeout: self.timeout,
            storage: self.storage,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn read(value: serde_json::Value) -> Result<Option<IsoSettings>> {
        IsoSettings::from_package_metadata(&value, Utf8Path::new("/crate/Cargo.toml"))
    }

    fn error_text(value: serde_json::Value) -> String {
        let err = read(value).unwrap_err();
        format!("{err:#}")
    }

    #[test]
    fn no_table_means_no_settings() {
        assert_eq!(read(json!(null)).unwrap(), None);
        assert_eq!(read(json!({"other": 1})).unwrap(), None);
    }

    #[test]
    fn reads_every_key() {
        let settings = read(json!({"iso": {"fuel": 1e6, "memory": "64MiB", "timeout": "500ms"}}))
            .unwrap()
            .unwrap();
        assert_eq!(settings.fuel, Some(Fuel(1_000_000)));
        assert_eq!(settings.memory, Some(MemorySize(64 << 20)));
        assert_eq!(
            settings.budget().timeout,
            Some(Timeout(std::time::Duration::from_millis(500)))
        );
    }

    #[test]
    fn unknown_key_is_named_with_the_manifest() {
        let text = error_text(json!({"iso": {"fuell": 5}}));
        assert!(text.contains("unknown field `fuell`"), "{text}");
        assert!(text.contains("/crate/Cargo.toml"), "{text}");
        assert!(
            text.contains("expected one of `fuel`, `memory`, `timeout`, `storage`, `imports`"),
            "{text}"
        );
    }

    #[test]
    fn an_import_names_one_provider() {
        let imports = |source| json!({"iso": {"imports": {"local:store/api": source}}});
        let settings = read(imports(json!({"remote": "store"}))).unwrap().unwrap();
        let source = &settings.imports["local:store/api"];
        assert_eq!(source, &ImportSource::Remote("store".into()));
        let text = error_text(imports(json!({"guest": "a", "remote": "b"})));
        assert!(text.contains("imports.local:store/api"), "{text}");
        assert!(text.contains("not both"), "{text}");
        let text = error_text(imports(json!({})));
        assert!(text.contains("`{ remote = \"ADDRESS\" }`"), "{text}");
    }

    #[test]
    fn bad_value_names_the_key() {
        let text = error_text(json!({"iso": {"memory": "64 potatoes"}}));
        assert!(
            text.starts_with(
                "invalid key `memory` of `[package.metadata.iso]` in `/crate/Cargo.toml`"
            ),
            "{text}"
        );
        assert!(text.contains("64MiB"), "{text}");
    }

    #[test]
    fn a_table_is_required() {
        assert!(error_text(json!({"iso": 3})).contains("must be a table"));
    }
}
