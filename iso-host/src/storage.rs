//! Durable storage: each app's kv entries and saved state in one embedded,
//! crash-safe database ([redb]: copy-on-write B-trees, ACID commits, one
//! writer at a time), one database per host folder and one namespace per
//! app.
//!
//! A call's kv writes wait in the call's own overlay (see
//! [`KvWrites`](crate::host::KvWrites)); when the call succeeds they are
//! committed together with the state snapshot after it, and when it fails
//! they are dropped. Reads go to an in-memory copy of the committed
//! entries, which the storage budget bounds.
//!
//! A commit of a whole B-tree transaction costs several scattered page
//! writes and an fsync, about three times a bare fsync of the call's
//! bytes; so a durable commit goes to a commit log first (one append and
//! one fsync; see the `wal` module) and to the database without a sync,
//! and the database is synced every few hundred commits.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use std::sync::Mutex;

use redb::{Database, ReadableDatabase, ReadableTable, TableDefinition};

use crate::error::HostError;
use crate::host::lock;
use wal::{Record, Wal};

mod holder;
mod wal;

/// kv entries of every app, (app, key) to value, and each app's saved
/// state at (STATE_OWNER, app): one table, so a commit touches one B-tree.
const KV: TableDefinition<(&str, &str), &[u8]> = TableDefinition::new("kv");
/// The owner of the saved states in [`KV`]: no address starts with NUL.
const STATE_OWNER: &str = "\0state";

/// The file a host folder's database is kept in.
pub const DATABASE_FILE: &str = "iso.redb";
/// Its commit log, beside it.
pub const WAL_FILE: &str = "iso.wal";

/// When a commit reaches the disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Durability {
    /// Each commit is on disk before the call's answer is given: appended
    /// to the commit log and synced (one fsync of the call's bytes); the
    /// database itself is synced every few hundred calls.
    #[default]
    EveryCall,
    /// Commits reach the disk at [`Storage::flush`] and when the storage
    /// is dropped; a crash loses the calls since the last one (a dev host).
    Batched,
}

/// One host folder's database. Cheap to clone: clones share it.
#[derive(Clone)]
pub struct Storage {
    inner: Arc<Inner>,
}

struct Inner {
    db: Database,
    path: PathBuf,
    /// The commit log of [`Durability::EveryCall`] (see the `wal` module).
    wal: Option<Mutex<Wal>>,
}

impl Storage {
    /// Opens (or creates) the database in `dir`, creating `dir` if needed,
    /// and applies what its commit log holds. A database another process
    /// holds, a corrupt one, or a folder that cannot be written is an
    /// error naming the path.
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
            .map_err(|err| match err {
                redb::DatabaseError::DatabaseAlreadyOpen => HostError::StorageHeld {
                    path: path.clone(),
                    holder: holder::read(dir),
                },
                other => failed(open_error(other)),
            })?;
        holder::record(dir);
        // Opened only once the database's lock is held: no other host writes the log.
        let wal_path = dir.join(WAL_FILE);
        let wal = Wal::open(&wal_path).map_err(|e| HostError::Storage {
            path: wal_path,
            reason: e.to_string(),
        })?;
        let mut inner = Inner {
            db,
            path,
            wal: Some(Mutex::new(wal)),
        };
        inner.flush()?;
        if durability != Durability::EveryCall {
            inner.wal = None;
        }
        Ok(Storage {
            inner: Arc::new(inner),
        })
    }

    /// A database in memory only, gone with the process: for tests and
    /// hosts that keep nothing.
    pub fn in_memory() -> Storage {
        let db = Database::builder()
            .create_with_backend(redb::backends::InMemoryBackend::new())
            .expect("an in-memory database opens");
        Storage {
            inner: Arc::new(Inner {
                db,
                path: PathBuf::from("<memory>"),
                wal: None,
            }),
        }
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    /// Waits, at most `limit`, until no other clone of this storage is
    /// left (another thread is letting go of one).
    pub(crate) fn wait_until_alone(&self, limit: std::time::Duration) {
        let started = std::time::Instant::now();
        while Arc::strong_count(&self.inner) > 1 && started.elapsed() < limit {
            std::thread::sleep(std::time::Duration::from_micros(100));
        }
    }

    /// Puts every commit into the database itself, synced, and empties
    /// the commit log.
    pub fn flush(&self) -> Result<(), HostError> {
        self.inner.flush()
    }

    /// `app`'s committed kv entries.
    pub(crate) fn entries(&self, app: &str) -> Result<BTreeMap<String, Vec<u8>>, HostError> {
        let inner = &self.inner;
        inner.catch_up()?;
        let txn = inner.db.begin_read().map_err(|e| inner.failed(e))?;
        let table = match txn.open_table(KV) {
            Ok(table) => table,
            Err(redb::TableError::TableDoesNotExist(_)) => return Ok(BTreeMap::new()),
            Err(err) => return Err(inner.failed(err)),
        };
        let range = table.range((app, "")..).map_err(|e| inner.failed(e))?;
        let mut entries = BTreeMap::new();
        for entry in range {
            let (key, value) = entry.map_err(|e| inner.failed(e))?;
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
        let inner = &self.inner;
        inner.catch_up()?;
        let txn = inner.db.begin_read().map_err(|e| inner.failed(e))?;
        let table = match txn.open_table(KV) {
            Ok(table) => table,
            Err(redb::TableError::TableDoesNotExist(_)) => return Ok(None),
            Err(err) => return Err(inner.failed(err)),
        };
        let state = table.get((STATE_OWNER, app)).map_err(|e| inner.failed(e))?;
        Ok(state.map(|value| value.value().to_vec()))
    }

    /// Forgets `app`'s kv entries and saved state, on disk when this
    /// returns: the app starts from its default state, with no entries.
    pub fn reset(&self, app: &str) -> Result<(), HostError> {
        let inner = &self.inner;
        // What the commit log holds goes into the database first.
        inner.flush()?;
        let mut txn = inner.db.begin_write().map_err(|e| inner.failed(e))?;
        (txn.set_durability(redb::Durability::Immediate)).map_err(|e| inner.failed(e))?;
        {
            let mut kv = txn.open_table(KV).map_err(|e| inner.failed(e))?;
            let mut keys = Vec::new();
            for entry in kv.range((app, "")..).map_err(|e| inner.failed(e))? {
                let (key, _) = entry.map_err(|e| inner.failed(e))?;
                let (owner, key) = key.value();
                if owner != app {
                    break;
                }
                keys.push(key.to_owned());
            }
            for key in &keys {
                kv.remove((app, key.as_str()))
                    .map_err(|e| inner.failed(e))?;
            }
            kv.remove((STATE_OWNER, app)).map_err(|e| inner.failed(e))?;
        }
        txn.commit().map_err(|e| inner.failed(e))
    }

    /// Commits `writes` (a key to its new value, or `None` to delete it)
    /// and `state` for `app`, together: under [`Durability::EveryCall`]
    /// they are on disk (in the commit log) when this returns.
    pub(crate) fn commit(
        &self,
        app: &str,
        writes: &BTreeMap<String, Option<Vec<u8>>>,
        state: Option<&[u8]>,
    ) -> Result<(), HostError> {
        let inner = &self.inner;
        let record = Record {
            app: app.to_owned(),
            state: state.map(<[u8]>::to_vec),
            writes: (writes.iter())
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
        };
        let Some(wal) = &inner.wal else {
            return inner.apply(&[record], redb::Durability::None);
        };
        let mut wal = lock(wal);
        wal.append(record).map_err(|e| inner.failed(e))?;
        if wal.is_full() {
            drop(wal);
            // The call is committed (in the log) whatever the checkpoint does.
            let _ = inner.flush();
        }
        Ok(())
    }
}

impl Inner {
    /// See [`Storage::flush`].
    fn flush(&self) -> Result<(), HostError> {
        let Some(wal) = &self.wal else {
            // Batched: the commits are in the database, not yet synced.
            let txn = self.db.begin_write().map_err(|e| self.failed(e))?;
            return txn.commit().map_err(|e| self.failed(e));
        };
        let mut wal = lock(wal);
        if wal.pending.is_empty() {
            return Ok(());
        }
        self.apply(&wal.pending, redb::Durability::Immediate)?;
        wal.clear().map_err(|e| self.failed(e))
    }

    /// A flush when the log holds commits the database lacks, before the
    /// database is read.
    fn catch_up(&self) -> Result<(), HostError> {
        match &self.wal {
            Some(wal) if !lock(wal).pending.is_empty() => self.flush(),
            _ => Ok(()),
        }
    }

    /// Writes `records` to the database in one transaction of `durability`.
    fn apply(&self, records: &[Record], durability: redb::Durability) -> Result<(), HostError> {
        let mut txn = self.db.begin_write().map_err(|e| self.failed(e))?;
        txn.set_durability(durability).map_err(|e| self.failed(e))?;
        {
            let mut kv = txn.open_table(KV).map_err(|e| self.failed(e))?;
            for record in records {
                let app = record.app.as_str();
                for (key, value) in &record.writes {
                    let key = (app, key.as_str());
                    match value {
                        Some(value) => drop(
                            kv.insert(key, value.as_slice())
                                .map_err(|e| self.failed(e))?,
                        ),
                        None => drop(kv.remove(key).map_err(|e| self.failed(e))?),
                    }
                }
                if let Some(state) = &record.state {
                    drop(
                        kv.insert((STATE_OWNER, app), state.as_slice())
                            .map_err(|e| self.failed(e))?,
                    );
                }
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

impl Drop for Inner {
    fn drop(&mut self) {
        // Batched commits and the log's records go into the database
        // itself; a failure here has no one to tell, and loses nothing
        // the log holds.
        let _ = self.flush();
    }
}

/// What went wrong opening a database, with what to do about it.
fn open_error(err: redb::DatabaseError) -> String {
    match err {
        redb::DatabaseError::Storage(redb::StorageError::Corrupted(detail)) => {
            format!("it is corrupt ({detail}); move it away to start empty")
        }
        other => other.to_string(),
    }
}
