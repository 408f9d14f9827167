//! Durable storage: each app's kv entries and saved state in one embedded,
//! crash-safe database ([redb]: copy-on-write B-trees, ACID commits, one
//! writer at a time), one database per host folder and one namespace per
//! app.
//!
//! A call's kv writes wait in the call's own overlay (see
//! [`KvWrites`](crate::host::KvWrites)); when the call succeeds they are
//! committed in one transaction together with the state snapshot after
//! it, and when it fails they are dropped. Reads go to an in-memory copy
//! of the committed entries, which the storage budget bounds.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use redb::{Database, ReadableDatabase, TableDefinition};

use crate::error::HostError;

/// kv entries of every app: (app, key) to value.
const KV: TableDefinition<(&str, &str), &[u8]> = TableDefinition::new("kv");
/// Each app's saved state.
const STATE: TableDefinition<&str, &[u8]> = TableDefinition::new("state");

/// The file a host folder's database is kept in.
pub const DATABASE_FILE: &str = "iso.redb";

/// When a commit reaches the disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Durability {
    /// Each commit is on disk (fsync) before the call's answer is given.
    #[default]
    EveryCall,
    /// Commits reach the disk at [`Storage::flush`] and when the storage
    /// is dropped; a crash loses the calls since the last one (a dev host).
    Batched,
}

/// One host folder's database. Cheap to clone: clones share it.
#[derive(Clone)]
pub struct Storage {
    db: Arc<Database>,
    path: PathBuf,
    durability: Durability,
}

impl Storage {
    /// Opens (or creates) the database in `dir`, creating `dir` if needed.
    /// A database another process holds, a corrupt one, or a folder that
    /// cannot be written is an error naming the path.
    pub fn open(dir: &Path, durability: Durability) -> Result<Storage, HostError> {
        let path = dir.join(DATABASE_FILE);
        let failed = |reason: String| HostError::Storage {
            path: path.clone(),
            reason,
        };
        std::fs::create_dir_all(dir)
            .map_err(|e| failed(format!("cannot create the folder: {e}")))?;
        let db = Database::builder()
            // Reads are served from memory (see the module doc): a small cache is enough.
            .set_cache_size(4 << 20)
            .create(&path)
            .map_err(|err| failed(open_error(err)))?;
        Ok(Storage {
            db: Arc::new(db),
            path,
            durability,
        })
    }

    /// A database in memory only, gone with the process: for tests and
    /// hosts that keep nothing.
    pub fn in_memory() -> Storage {
        let db = Database::builder()
            .create_with_backend(redb::backends::InMemoryBackend::new())
            .expect("an in-memory database opens");
        Storage {
            db: Arc::new(db),
            path: PathBuf::from("<memory>"),
            durability: Durability::Batched,
        }
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Puts every batched commit on disk.
    pub fn flush(&self) -> Result<(), HostError> {
        let txn = self.db.begin_write().map_err(|e| self.failed(e))?;
        txn.commit().map_err(|e| self.failed(e))
    }

    /// `app`'s committed kv entries.
    pub(crate) fn entries(&self, app: &str) -> Result<BTreeMap<String, Vec<u8>>, HostError> {
        let txn = self.db.begin_read().map_err(|e| self.failed(e))?;
        let table = match txn.open_table(KV) {
            Ok(table) => table,
            Err(redb::TableError::TableDoesNotExist(_)) => return Ok(BTreeMap::new()),
            Err(err) => return Err(self.failed(err)),
        };
        let range = table.range((app, "")..).map_err(|e| self.failed(e))?;
        let mut entries = BTreeMap::new();
        for entry in range {
            let (key, value) = entry.map_err(|e| self.failed(e))?;
            let (owner, key) = key.value();
            if owner != app {
                break;
            }
            entries.insert(key.to_owned(), value.value().to_vec());
        }
        Ok(entries)
    }

    /// `app`'s saved state, if it has one.
    pub fn state(&self, app: &str) -> Result<Option<Vec<u8>>, HostError> {
        let txn = self.db.begin_read().map_err(|e| self.failed(e))?;
        let table = match txn.open_table(STATE) {
            Ok(table) => table,
            Err(redb::TableError::TableDoesNotExist(_)) => return Ok(None),
            Err(err) => return Err(self.failed(err)),
        };
        let state = table.get(app).map_err(|e| self.failed(e))?;
        Ok(state.map(|value| value.value().to_vec()))
    }

    /// Commits `writes` (a key to its new value, or `None` to delete it)
    /// and `state` for `app` in one transaction.
    pub(crate) fn commit(
        &self,
        app: &str,
        writes: &BTreeMap<String, Option<Vec<u8>>>,
        state: Option<&[u8]>,
    ) -> Result<(), HostError> {
        let mut txn = self.db.begin_write().map_err(|e| self.failed(e))?;
        if self.durability == Durability::Batched {
            txn.set_durability(redb::Durability::None)
                .map_err(|e| self.failed(e))?;
        }
        {
            let mut kv = txn.open_table(KV).map_err(|e| self.failed(e))?;
            for (key, value) in writes {
                let key = (app, key.as_str());
                match value {
                    Some(value) => drop(
                        kv.insert(key, value.as_slice())
                            .map_err(|e| self.failed(e))?,
                    ),
                    None => drop(kv.remove(key).map_err(|e| self.failed(e))?),
                }
            }
            if let Some(state) = state {
                let mut table = txn.open_table(STATE).map_err(|e| self.failed(e))?;
                table.insert(app, state).map_err(|e| self.failed(e))?;
            }
        }
        txn.commit().map_err(|e| self.failed(e))
    }

    fn failed(&self, err: impl std::fmt::Display) -> HostError {
        HostError::Storage {
            path: self.path.clone(),
            reason: err.to_string(),
        }
    }
}

impl Drop for Storage {
    fn drop(&mut self) {
        // The last clone puts batched commits on disk; a failure here has no one to tell.
        if self.durability == Durability::Batched && Arc::strong_count(&self.db) == 1 {
            let _ = self.flush();
        }
    }
}

/// What went wrong opening a database, with what to do about it.
fn open_error(err: redb::DatabaseError) -> String {
    match err {
        redb::DatabaseError::DatabaseAlreadyOpen => {
            "another process holds it (a running `cargo iso dev`?); stop it, or give another `--data` folder".to_owned()
        }
        redb::DatabaseError::Storage(redb::StorageError::Corrupted(detail)) => {
            format!("it is corrupt ({detail}); move it away to start empty")
        }
        other => other.to_string(),
    }
}
