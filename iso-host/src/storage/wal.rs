//! The commit log in front of the database: a durable call appends one
//! record (its app, kv writes and state) and syncs it, which costs about
//! one fsync of those bytes. The records wait in memory (reads are served
//! from each app's in-memory entries) and go into the database in one
//! synced transaction (a checkpoint) every [`CHECKPOINT_RECORDS`] records
//! or [`CHECKPOINT_BYTES`] bytes, after which the log starts over. On open, the records of a
//! log that was not checkpointed are applied to the database again (they
//! set whole values, so applying one twice is harmless); a torn last
//! record (the host died while writing it: its call was never answered)
//! is dropped, and a record that fails its check with whole records after
//! it (acknowledged calls) stops the open with an error naming its offset.
//!
//! A record: payload length (u32 LE), CRC-32 of the payload (u32 LE), and
//! the payload: the app, a state flag and state, then each write as key,
//! a flag and value; strings and bytes as u32 LE length and bytes.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::Path;

/// Records between two checkpoints of the database.
const CHECKPOINT_RECORDS: usize = 512;
/// Bytes of records between two checkpoints.
const CHECKPOINT_BYTES: usize = 16 << 20;

/// One call's commit, as logged.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Record {
    pub(crate) app: String,
    pub(crate) state: Option<Vec<u8>>,
    pub(crate) writes: Vec<(String, Option<Vec<u8>>)>,
}

/// The open log file, and its records not yet in the database.
pub(crate) struct Wal {
    file: File,
    /// Its length: where the next record goes.
    len: u64,
    /// The records since the last checkpoint, in order.
    pub(crate) pending: Vec<Record>,
}

impl Wal {
    /// Opens the log at `path`; the whole records it holds are pending.
    pub(crate) fn open(path: &Path) -> std::io::Result<Wal> {
        let mut file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(path)?;
        let mut bytes = Vec::new();
        file.read_to_end(&mut bytes)?;
        let (records, whole) = decode_all(&bytes);
        if let Some(following) = records_after_a_bad_one(&bytes[whole..]) {
            let records = if following == 1 {
                "record follows"
            } else {
                "records follow"
            };
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!(
                    "the record at byte {whole} fails its check, and {following} acknowledged {records} it, which the host will not drop: restore the file from a backup, or move it away to start from the database alone (losing them)"
                ),
            ));
        }
        if whole < bytes.len() {
            // New records go right after the whole ones.
            file.set_len(whole as u64)?;
        }
        Ok(Wal {
            file,
            len: whole as u64,
            pending: records,
        })
    }

    /// Appends `record` and syncs it to disk; on an error the log is cut
    /// back to where it was, so the record does not count.
    pub(crate) fn append(&mut self, record: Record) -> std::io::Result<()> {
        let frame = encode(&record);
        let written = self
            .file
            .seek(SeekFrom::Start(self.len))
            .and_then(|_| self.file.write_all(&frame))
            .and_then(|()| self.file.sync_data());
        match written {
            Ok(()) => {
                self.len += frame.len() as u64;
                self.pending.push(record);
                Ok(())
            }
            Err(err) => {
                let _ = self.file.set_len(self.len);
                Err(err)
            }
        }
    }

    /// Whether it is time for a checkpoint.
    pub(crate) fn is_full(&self) -> bool {
        self.pending.len() >= CHECKPOINT_RECORDS || self.len >= CHECKPOINT_BYTES as u64
    }

    /// Empties the log, once the database holds every record durably.
    pub(crate) fn clear(&mut self) -> std::io::Result<()> {
        self.file.set_len(0)?;
        self.file.sync_data()?;
        self.len = 0;
        self.pending.clear();
        Ok(())
    }
}

fn encode(record: &Record) -> Vec<u8> {
    let mut payload = Vec::new();
    put(&mut payload, record.app.as_bytes());
    put_option(&mut payload, record.state.as_deref());
    payload.extend_from_slice(&(record.writes.len() as u32).to_le_bytes());
    for (key, value) in &record.writes {
        put(&mut payload, key.as_bytes());
        put_option(&mut payload, value.as_deref());
    }
    let mut frame = Vec::with_capacity(payload.len() + 8);
    frame.extend_from_slice(&(payload.len() as u32).to_le_bytes());
    frame.extend_from_slice(&crc32fast::hash(&payload).to_le_bytes());
    frame.extend_from_slice(&payload);
    frame
}

fn put(out: &mut Vec<u8>, bytes: &[u8]) {
    out.extend_from_slice(&(bytes.len() as u32).to_le_bytes());
    out.extend_from_slice(bytes);
}

fn put_option(out: &mut Vec<u8>, bytes: Option<&[u8]>) {
    match bytes {
        Some(bytes) => {
            out.push(1);
            put(out, bytes);
        }
        None => out.push(0),
    }
}

/// The whole records at the start of `bytes`, up to the first torn or
/// corrupt one, and how many bytes they take.
fn decode_all(all: &[u8]) -> (Vec<Record>, usize) {
    let mut records = Vec::new();
    let mut bytes = all;
    while let Some((record, rest)) = decode(bytes) {
        records.push(record);
        bytes = rest;
    }
    (records, all.len() - bytes.len())
}

/// How many whole records follow the bad record at the start of `rest`
/// (what [`decode_all`] stopped at), when any do: then it is no torn
/// tail, which only the last record can be, but a corrupt record in the
/// middle of the log. `None` for a torn tail, or nothing at all.
fn records_after_a_bad_one(rest: &[u8]) -> Option<usize> {
    let mut reader = Reader(rest);
    let len = reader.u32()? as usize;
    reader.u32()?;
    reader.take(len)?;
    let (after, _) = decode_all(reader.0);
    (!after.is_empty()).then_some(after.len())
}

fn decode(bytes: &[u8]) -> Option<(Record, &[u8])> {
    let mut reader = Reader(bytes);
    let len = reader.u32()? as usize;
    let crc = reader.u32()?;
    let payload = reader.take(len)?;
    if crc32fast::hash(payload) != crc {
        return None;
    }
    let rest = reader.0;
    let mut reader = Reader(payload);
    let app = reader.string()?;
    let state = reader.option()?;
    let count = reader.u32()?;
    let mut writes = Vec::new();
    for _ in 0..count {
        writes.push((reader.string()?, reader.option()?));
    }
    Some((Record { app, state, writes }, rest))
}

/// Reads a payload front to back; `None` when it runs out.
struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, len: usize) -> Option<&'a [u8]> {
        let taken = self.0.get(..len)?;
        self.0 = &self.0[len..];
        Some(taken)
    }

    fn u32(&mut self) -> Option<u32> {
        Some(u32::from_le_bytes(self.take(4)?.try_into().ok()?))
    }

    fn bytes(&mut self) -> Option<Vec<u8>> {
        let len = self.u32()? as usize;
        Some(self.take(len)?.to_vec())
    }

    fn string(&mut self) -> Option<String> {
        String::from_utf8(self.bytes()?).ok()
    }

    fn option(&mut self) -> Option<Option<Vec<u8>>> {
        match self.take(1)?[0] {
            0 => Some(None),
            1 => Some(Some(self.bytes()?)),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(n: u8) -> Record {
        Record {
            app: format!("app{n}"),
            state: n.is_multiple_of(2).then(|| vec![n; 3]),
            writes: vec![("a".into(), Some(vec![n])), ("b".into(), None)],
        }
    }

    #[test]
    fn records_come_back_and_a_torn_or_corrupt_tail_is_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log");
        let mut wal = Wal::open(&path).unwrap();
        assert!(wal.pending.is_empty());
        for n in 0..3 {
            wal.append(record(n)).unwrap();
        }
        drop(wal);
        let back = Wal::open(&path).unwrap().pending;
        assert_eq!(back, vec![record(0), record(1), record(2)]);

        // Torn: the last record lost its end.
        let len = std::fs::metadata(&path).unwrap().len();
        std::fs::OpenOptions::new()
            .write(true)
            .open(&path)
            .unwrap()
            .set_len(len - 2)
            .unwrap();
        let mut wal = Wal::open(&path).unwrap();
        assert_eq!(wal.pending, vec![record(0), record(1)]);
        // A record appended after a torn one comes back.
        wal.append(record(3)).unwrap();
        drop(wal);
        let mut wal = Wal::open(&path).unwrap();
        assert_eq!(wal.pending, vec![record(0), record(1), record(3)]);
        // Garbage after the whole records is ignored too.
        wal.clear().unwrap();
        wal.append(record(4)).unwrap();
        drop(wal);
        let mut bytes = std::fs::read(&path).unwrap();
        bytes.extend_from_slice(&[9, 0, 0, 0, 1, 2, 3, 4, 5]);
        std::fs::write(&path, bytes).unwrap();
        assert_eq!(Wal::open(&path).unwrap().pending, vec![record(4)]);
    }

    /// Fault: one byte of the second of three records flips. The records
    /// after it were acknowledged: the log is refused, naming the offset,
    /// rather than read up to the bad record.
    #[test]
    fn a_corrupt_record_in_the_middle_is_refused_with_its_offset() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log");
        let mut wal = Wal::open(&path).unwrap();
        for n in 0..3 {
            wal.append(record(n)).unwrap();
        }
        drop(wal);
        let first = encode(&record(0)).len();
        let mut bytes = std::fs::read(&path).unwrap();
        bytes[first + 10] ^= 0xff;
        std::fs::write(&path, &bytes).unwrap();
        let err = Wal::open(&path).err().unwrap().to_string();
        assert!(
            err.starts_with(&format!(
                "the record at byte {first} fails its check, and 1 acknowledged record follows it"
            )),
            "{err}"
        );
        assert_eq!(
            std::fs::read(&path).unwrap(),
            bytes,
            "the file is left as it was"
        );
    }
}
