//! Who holds a host folder's database: the process that opened it writes
//! its id and command line beside it, so that another process refused the
//! folder can say which process to stop.

use std::path::Path;

/// The file, beside the database, that names the process holding it.
pub const HOLDER_FILE: &str = "iso.holder";

/// Records this process as the holder of the database in `dir` (written
/// to a temporary file, then renamed). Only a hint for error messages: a
/// failure to write it is ignored.
pub(super) fn record(dir: &Path) {
    let command: Vec<String> = std::env::args().collect();
    let text = format!("process {} (`{}`)", std::process::id(), command.join(" "));
    let temporary = dir.join(format!("{HOLDER_FILE}.{}", std::process::id()));
    if std::fs::write(&temporary, text).is_ok() {
        let _ = std::fs::rename(&temporary, dir.join(HOLDER_FILE));
    }
}

/// The holder of the database in `dir`, as [`record`] wrote it.
pub(super) fn read(dir: &Path) -> Option<String> {
    std::fs::read_to_string(dir.join(HOLDER_FILE))
        .ok()
        .filter(|text| !text.is_empty())
}
