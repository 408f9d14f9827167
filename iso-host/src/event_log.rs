//! The event log: every call through a [`Runtime`](crate::runtime::Runtime)
//! that has one is appended, with its id, time, address, version, the
//! call, its outcome, the effects it saw (clock, random and kv reads, and
//! the calls it made to other apps), its usage and the state it started
//! from, to JSON lines in the host's data folder, `events/`. Reading it
//! back never needs the guest; [`Runtime::replay`](crate::runtime::Runtime::replay)
//! makes a logged call again, on any version.
//!
//! States are kept by reference: beside each file of the log, a file of
//! the states its calls started from (`NNNNNNNN.states`), appended to, so
//! a state leaves the log with the calls that need it. Calls that start
//! from the state the call before them started from (after reads, say)
//! share it, and an app without state keeps none.
//!
//! A call pays for copying what it logs and a push on a lock-free queue
//! (no wake-up per call); a writer
//! thread drains the queue every few milliseconds, turns the entries into
//! text and writes them, buffered, flushed after each drain. The log is bounded: it is kept in files
//! of a quarter of the bound each, and the oldest are deleted once the
//! files hold more than the bound. A record cut short by a crash is
//! skipped when the log is read.

use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, BufWriter, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crossbeam_deque::{Injector, Steal};

use serde::{Deserialize, Serialize};

use crate::error::HostError;
use crate::host::{Effect, NestedCall};
use crate::instance::CallOutput;
use crate::runtime::Request;
use crate::session::Outcome;

/// The default bound of a log: 64 MiB.
pub const DEFAULT_BOUND: u64 = 64 << 20;

/// One logged call, as read back.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoggedCall {
    /// Unique in its log, and increasing.
    pub id: u64,
    /// When it was made, in milliseconds since the Unix epoch.
    pub time_ms: u64,
    /// The app called.
    pub address: String,
    /// Its version then.
    pub version: u32,
    /// The call, as WAVE text.
    pub call: String,
    /// Whether it returned (else it failed).
    pub ok: bool,
    /// What it returned, as WAVE, or how it failed.
    pub outcome: String,
    /// The effects it saw, in order: clock, random and kv reads, and the
    /// calls it made to other apps ([`Effect::Call`]).
    pub effects: Vec<Effect>,
    /// The state it started from, by reference (see [`EventLog::state`]);
    /// `None` for the app's default state, or an app without state.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<StateRef>,
    /// Fuel it burnt (0 when it failed).
    pub fuel: u64,
    /// Its time, in microseconds (0 when it failed).
    pub elapsed_us: u64,
}

/// Where the log keeps a state: in the states file of log file `file`,
/// `len` bytes from byte `at`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct StateRef {
    /// The number of the log file whose states file holds it.
    pub file: u64,
    /// Where it starts in that file.
    pub at: u64,
    /// Its length.
    pub len: u64,
}

impl LoggedCall {
    /// The calls it made to other apps.
    pub fn nested(&self) -> impl Iterator<Item = &NestedCall> {
        self.effects.iter().filter_map(|effect| match effect {
            Effect::Call(call) => Some(call),
            _ => None,
        })
    }

    /// Its outcome as [`Outcome`](crate::Outcome) shows it: the results,
    /// or `error: ` and how it failed.
    pub fn outcome_text(&self) -> String {
        match self.ok {
            true => self.outcome.clone(),
            false => format!("error: {}", self.outcome),
        }
    }
}

/// What a call hands the writer; turned into text there, off the call's path.
pub(crate) struct Entry {
    /// When the call was made (the writer may come to it milliseconds later).
    pub(crate) time: SystemTime,
    pub(crate) address: String,
    pub(crate) version: u32,
    pub(crate) request: Request,
    pub(crate) result: Result<CallOutput, HostError>,
    pub(crate) effects: Vec<Effect>,
    /// The state it started from (see [`LoggedCall::state`]).
    pub(crate) state: Option<Vec<u8>>,
}

/// How often the writer drains the queue.
const DRAIN_EVERY: Duration = Duration::from_millis(5);

/// An open event log: hand it entries; a thread writes them.
pub struct EventLog {
    queue: Arc<Queue>,
    next_id: AtomicU64,
    writer: Option<std::thread::JoinHandle<()>>,
}

/// The entries handed over, and whether the log is closing.
#[derive(Default)]
struct Queue {
    entries: Injector<(u64, Entry)>,
    closing: AtomicBool,
}

impl EventLog {
    /// Opens (or creates) the log in `dir/events`, kept to about `bound`
    /// bytes. A folder that cannot be made or written is an error naming it.
    pub fn open(dir: &Path, bound: u64) -> Result<EventLog, HostError> {
        let folder = dir.join("events");
        let failed = |e: std::io::Error| HostError::Storage {
            path: folder.clone(),
            reason: format!("cannot write the event log: {e}"),
        };
        std::fs::create_dir_all(&folder).map_err(failed)?;
        let files = log_files(&folder).map_err(failed)?;
        let last = files.last().map_or(0, |(number, _)| *number);
        let next_id = (files.last())
            .and_then(|(_, path)| last_call(path))
            .map_or(1, |call| call.id + 1);
        let queue = Arc::new(Queue::default());
        let drained = queue.clone();
        let writer = Writer {
            folder: folder.clone(),
            bound: bound.max(4096),
            number: last + 1,
            file: None,
            written: 0,
            states: None,
            last_state: None,
        };
        let writer = std::thread::Builder::new()
            .name("iso-event-log".into())
            .spawn(move || writer.run(&drained))
            .map_err(failed)?;
        Ok(EventLog {
            queue,
            next_id: next_id.into(),
            writer: Some(writer),
        })
    }

    /// Appends a call; returns its id.
    pub(crate) fn append(&self, entry: Entry) -> u64 {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        self.queue.entries.push((id, entry));
        id
    }

    /// Every call the log in `dir/events` holds, oldest first. A log that
    /// is not there holds none; a line that does not read (a crash cut it
    /// short) is skipped.
    pub fn read(dir: &Path) -> Result<Vec<LoggedCall>, HostError> {
        let folder = dir.join("events");
        if !folder.exists() {
            return Ok(Vec::new());
        }
        let files = log_files(&folder).map_err(|e| HostError::Storage {
            path: folder.clone(),
            reason: format!("cannot read the event log: {e}"),
        })?;
        Ok(files.iter().flat_map(|(_, path)| read_file(path)).collect())
    }

    /// The state `call` started from, from the log in `dir/events`:
    /// `None` when it started from the app's default state. A state that
    /// left the log (with the file of its calls) is an error.
    pub fn state(dir: &Path, call: &LoggedCall) -> Result<Option<Vec<u8>>, HostError> {
        let Some(state) = call.state else {
            return Ok(None);
        };
        let path = states_file(&dir.join("events"), state.file);
        let failed = |reason: String| HostError::Storage {
            path: path.clone(),
            reason,
        };
        let mut file = File::open(&path).map_err(|e| {
            failed(format!(
                "the state call {} started from is no longer in the event log: {e}",
                call.id
            ))
        })?;
        let mut bytes = vec![
            0;
            usize::try_from(state.len)
                .unwrap_or(usize::MAX)
                .min(1 << 30)
        ];
        file.seek(SeekFrom::Start(state.at))
            .and_then(|_| file.read_exact(&mut bytes))
            .map_err(|e| {
                failed(format!(
                    "cannot read the state call {} started from: {e}",
                    call.id
                ))
            })?;
        Ok(Some(bytes))
    }
}

impl Drop for EventLog {
    /// Waits until what was handed over is written.
    fn drop(&mut self) {
        self.queue.closing.store(true, Ordering::Release);
        if let Some(writer) = self.writer.take() {
            let _ = writer.join();
        }
    }
}

/// The writer thread's side.
struct Writer {
    folder: PathBuf,
    bound: u64,
    /// The number of the file being written.
    number: u64,
    file: Option<BufWriter<File>>,
    /// Bytes written for the file being written, its states included.
    written: u64,
    /// The states file of the file being written, and its length.
    states: Option<(BufWriter<File>, u64)>,
    /// The last state kept, and where: a call that starts from the state
    /// the one before it started from shares it.
    last_state: Option<(Vec<u8>, StateRef)>,
}

impl Writer {
    fn run(mut self, queue: &Queue) {
        loop {
            // Read before draining: what was pushed before closing is written.
            let closing = queue.closing.load(Ordering::Acquire);
            let mut wrote = false;
            loop {
                match queue.entries.steal() {
                    Steal::Success(entry) => {
                        self.write(entry);
                        wrote = true;
                    }
                    Steal::Retry => continue,
                    Steal::Empty => break,
                }
            }
            if wrote {
                self.flush();
            }
            if closing {
                return;
            }
            std::thread::sleep(DRAIN_EVERY);
        }
    }

    /// Writes one entry; a log that cannot be written loses the entry,
    /// never the call.
    fn write(&mut self, (id, mut entry): (u64, Entry)) {
        let state = entry.state.take();
        let size = state.as_ref().map_or(0, Vec::len) as u64;
        // A line is about a few hundred bytes; rotate before the state goes in.
        if self.written + size + 512 > self.bound / 4 && self.written > 0 {
            self.rotate();
        }
        let state = state.and_then(|bytes| self.keep_state(bytes));
        let Ok(mut line) = serde_json::to_vec(&logged(id, entry, state)) else {
            return;
        };
        line.push(b'\n');
        if self.file.is_none() {
            let path = self.folder.join(file_name(self.number));
            let opened = OpenOptions::new().create(true).append(true).open(path);
            self.file = opened.ok().map(BufWriter::new);
        }
        if let Some(file) = &mut self.file
            && file.write_all(&line).is_ok()
        {
            self.written += line.len() as u64;
        }
    }

    /// Flushes the states, then the calls that refer to them.
    fn flush(&mut self) {
        if let Some((states, _)) = &mut self.states {
            let _ = states.flush();
        }
        if let Some(file) = &mut self.file {
            let _ = file.flush();
        }
    }

    /// Appends a state to the states file of the file being written,
    /// unless it is the last one kept there; where it is.
    fn keep_state(&mut self, bytes: Vec<u8>) -> Option<StateRef> {
        if let Some((last, at)) = &self.last_state
            && at.file == self.number
            && *last == bytes
        {
            return Some(*at);
        }
        if self.states.is_none() {
            let path = states_file(&self.folder, self.number);
            let file = OpenOptions::new()
                .create(true)
                .append(true)
                .open(&path)
                .ok()?;
            let len = file.metadata().ok()?.len();
            self.states = Some((BufWriter::new(file), len));
        }
        let (file, len) = self.states.as_mut()?;
        file.write_all(&bytes).ok()?;
        let at = StateRef {
            file: self.number,
            at: *len,
            len: bytes.len() as u64,
        };
        *len += at.len;
        self.written += at.len;
        self.last_state = Some((bytes, at));
        Some(at)
    }

    /// Starts the next file, and deletes the oldest (with their states)
    /// past the bound.
    fn rotate(&mut self) {
        self.flush();
        self.file = None;
        self.states = None;
        self.number += 1;
        self.written = 0;
        let Ok(files) = log_files(&self.folder) else {
            return;
        };
        let size = |path: &Path| std::fs::metadata(path).map_or(0, |m| m.len());
        let both = |number: u64, path: &Path| size(path) + size(&states_file(&self.folder, number));
        let mut total: u64 = files.iter().map(|(number, path)| both(*number, path)).sum();
        for (number, path) in &files {
            if total + self.bound / 4 <= self.bound {
                break;
            }
            total -= both(*number, path);
            let _ = std::fs::remove_file(path);
            let _ = std::fs::remove_file(states_file(&self.folder, *number));
        }
    }
}

/// The record of a call, which started from the state `state` points to.
fn logged(id: u64, entry: Entry, state: Option<StateRef>) -> LoggedCall {
    let outcome = Outcome::of(&entry.result);
    let (ok, outcome) = match outcome {
        Outcome::Returned(_) => (true, outcome.to_string()),
        Outcome::Failed(failure) => (false, failure),
    };
    let usage = entry.result.as_ref().ok().map(|output| &output.usage);
    LoggedCall {
        id,
        time_ms: (entry.time)
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as u64),
        address: entry.address,
        version: entry.version,
        call: entry.request.text(),
        ok,
        outcome,
        effects: entry.effects,
        state,
        fuel: usage.map_or(0, |u| u.fuel),
        elapsed_us: usage.map_or(0, |u| u.elapsed.as_micros() as u64),
    }
}

/// The file of the states that the calls of log file `number` start from.
fn states_file(folder: &Path, number: u64) -> PathBuf {
    folder.join(format!("{number:08}.states"))
}

fn file_name(number: u64) -> String {
    format!("{number:08}.jsonl")
}

/// The log's files by number, oldest first.
fn log_files(folder: &Path) -> std::io::Result<Vec<(u64, PathBuf)>> {
    let mut files: Vec<(u64, PathBuf)> = std::fs::read_dir(folder)?
        .filter_map(Result::ok)
        .filter_map(|entry| {
            let name = entry.file_name();
            let number = name.to_str()?.strip_suffix(".jsonl")?.parse().ok()?;
            Some((number, entry.path()))
        })
        .collect();
    files.sort();
    Ok(files)
}

/// The last call a file holds, read from its end: opening a log does not
/// read it all.
fn last_call(path: &Path) -> Option<LoggedCall> {
    const TAIL: u64 = 64 << 10;
    let mut file = File::open(path).ok()?;
    let len = file.metadata().ok()?.len();
    file.seek(SeekFrom::Start(len.saturating_sub(TAIL))).ok()?;
    let mut tail = Vec::new();
    file.read_to_end(&mut tail).ok()?;
    let found = (tail.split(|&b| b == b'\n').rev())
        .find_map(|line| serde_json::from_slice::<LoggedCall>(line).ok());
    // A last record longer than the tail: read the whole file.
    found.or_else(|| read_file(path).pop())
}

/// The calls one file holds; lines that do not read are skipped.
fn read_file(path: &Path) -> Vec<LoggedCall> {
    let Ok(file) = File::open(path) else {
        return Vec::new();
    };
    BufReader::new(file)
        .lines()
        .map_while(Result::ok)
        .filter_map(|line| serde_json::from_str(&line).ok())
        .collect()
}
