//! Reading the session's lines: with line editing, history, Tab completion
//! and signature hints (rustyline) when stdin is a terminal, plain lines
//! when it is not, so scripts and tests can drive the dev host.
//!
//! Tab completes a meta command on a line that starts with `:`, and an
//! export's name, to `name(`, while the line is still a call's name; the
//! list of candidates shows each export's signature. While a call's name is
//! typed, the rest of it and its signature are hinted (in grey when colour
//! is wanted). The exports come from an [`Exports`] handle that the main
//! loop replaces whenever a new version of the guest is swapped in.
//!
//! The reader waits for the main loop to finish each line before reading
//! the next, so output and the prompt never interleave, and lines typed
//! during a reload wait in the terminal or pipe until it is done.

use std::borrow::Cow;
use std::io::{BufRead, IsTerminal};
use std::sync::mpsc::{Receiver, Sender};
use std::sync::{Arc, PoisonError, RwLock, RwLockReadGuard};

use anyhow::{Context as _, Result};
use rustyline::completion::{Completer, Pair};
use rustyline::error::ReadlineError;
use rustyline::highlight::Highlighter;
use rustyline::hint::Hinter;
use rustyline::history::DefaultHistory;
use rustyline::validate::Validator;
use rustyline::{CompletionType, Config, Editor, Helper};

use super::Event;

/// The meta commands as Tab completes them, in `:help`'s order.
pub const META_COMMANDS: &[&str] = &[
    ":state",
    ":exports",
    ":reload",
    ":reload --fresh",
    ":budget",
    ":history",
    ":replay",
    ":save",
    ":help",
    ":quit",
];

/// One export as completion and hints offer it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportEntry {
    /// A spelling that names it: `increment`, `api.put` or `local:store/api@0.1.0#put`.
    pub spelling: String,
    /// Its WIT type, without the name: `func(by: u32) -> u64`.
    pub signature: String,
}

/// The exports the line editor offers, shared with the main loop, which
/// replaces them with [`Exports::set`] when a new version is swapped in.
#[derive(Debug, Clone, Default)]
pub struct Exports(Arc<RwLock<Vec<ExportEntry>>>);

impl Exports {
    /// An empty list, until [`Exports::set`].
    pub fn new() -> Exports {
        Exports::default()
    }

    /// Replaces the list; the next Tab or keystroke sees the new one.
    pub fn set(&self, entries: Vec<ExportEntry>) {
        *self.0.write().unwrap_or_else(PoisonError::into_inner) = entries;
    }

    fn read(&self) -> RwLockReadGuard<'_, Vec<ExportEntry>> {
        self.0.read().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Starts the reader thread. It sends [`Event::Line`] and waits on `done`
/// before reading on; it ends with [`Event::EndOfInput`] or [`Event::Interrupted`].
/// On a terminal, `exports` is what Tab completes and hints describe.
pub fn spawn_reader(events: Sender<Event>, done: Receiver<()>, exports: Exports) -> Result<()> {
    let terminal = std::io::stdin().is_terminal();
    std::thread::Builder::new()
        .name("iso-input".into())
        .spawn(move || {
            let ended = if terminal {
                read_terminal(&events, &done, exports)
            } else {
                read_plain(&events, &done)
            };
            let _ = events.send(ended);
        })
        .context("could not start the input thread")?;
    Ok(())
}

fn read_plain(events: &Sender<Event>, done: &Receiver<()>) -> Event {
    for line in std::io::stdin().lock().lines() {
        let Ok(line) = line else { break };
        if events.send(Event::Line(line)).is_err() || done.recv().is_err() {
            break;
        }
    }
    Event::EndOfInput
}

fn read_terminal(events: &Sender<Event>, done: &Receiver<()>, exports: Exports) -> Event {
    let Some(mut editor) = editor(exports) else {
        return read_plain(events, done);
    };
    loop {
        match editor.readline("> ") {
            Ok(line) => {
                if !line.trim().is_empty() {
                    let _ = editor.add_history_entry(line.as_str());
                }
                if events.send(Event::Line(line)).is_err() || done.recv().is_err() {
                    return Event::EndOfInput;
                }
            }
            Err(ReadlineError::Interrupted) => return Event::Interrupted,
            Err(_) => return Event::EndOfInput,
        }
    }
}

/// A line editor with [`IsoHelper`], or `None` if the terminal cannot be set up.
fn editor(exports: Exports) -> Option<Editor<IsoHelper, DefaultHistory>> {
    // A list, as bash shows one, rather than cycling: the list shows the signatures.
    let config = Config::builder()
        .completion_type(CompletionType::List)
        .build();
    let mut editor = Editor::<IsoHelper, DefaultHistory>::with_config(config).ok()?;
    editor.set_helper(Some(IsoHelper {
        exports,
        colour: colour_wanted(),
    }));
    Some(editor)
}

/// Whether the prompt's stream (stdout) takes colour, by `--color`,
/// `NO_COLOR` and whether it is a terminal, as the shell's own output does.
fn colour_wanted() -> bool {
    anstream::AutoStream::choice(&std::io::stdout()) != anstream::ColorChoice::Never
}

/// The line editor's helper: completion and hints from the shared exports.
pub struct IsoHelper {
    /// What Tab completes and hints describe.
    pub exports: Exports,
    /// Whether hints are greyed with ANSI escapes.
    pub colour: bool,
}

impl Completer for IsoHelper {
    type Candidate = Pair;

    fn complete(
        &self,
        line: &str,
        pos: usize,
        _: &rustyline::Context<'_>,
    ) -> rustyline::Result<(usize, Vec<Pair>)> {
        Ok(complete(line, pos, &self.exports.read()))
    }
}

impl Hinter for IsoHelper {
    type Hint = SignatureHint;

    fn hint(&self, line: &str, pos: usize, _: &rustyline::Context<'_>) -> Option<SignatureHint> {
        let display = hint(line, pos, &self.exports.read())?;
        // Before `(`, accepting the hint (→) types the rest of the name and `(`.
        let accept = match line.contains('(') {
            true => None,
            false => display.find('(').map(|open| display[..=open].to_owned()),
        };
        Some(SignatureHint { display, accept })
    }
}

/// A hint shown whole (the rest of the name and the signature); accepting it
/// inserts only what is still a valid call to type: the rest of the name and `(`.
pub struct SignatureHint {
    display: String,
    accept: Option<String>,
}

impl rustyline::hint::Hint for SignatureHint {
    fn display(&self) -> &str {
        &self.display
    }

    fn completion(&self) -> Option<&str> {
        self.accept.as_deref()
    }
}

impl Highlighter for IsoHelper {
    fn highlight_hint<'h>(&self, hint: &'h str) -> Cow<'h, str> {
        if self.colour {
            Cow::Owned(format!("\x1b[2m{hint}\x1b[0m"))
        } else {
            Cow::Borrowed(hint)
        }
    }
}

impl Validator for IsoHelper {}

impl Helper for IsoHelper {}

/// Where the completion of `line` at byte `pos` starts, and its candidates:
/// meta commands on a `:` line, exports (to `name(`) before any `(`, else none.
fn complete(line: &str, pos: usize, exports: &[ExportEntry]) -> (usize, Vec<Pair>) {
    let Some(before) = line.get(..pos) else {
        return (pos, Vec::new());
    };
    let start = before.len() - before.trim_start().len();
    let typed = &before[start..];
    let candidates = if typed.starts_with(':') {
        complete_meta(typed)
    } else if is_name(typed) {
        complete_export(typed, &line[pos..], exports)
    } else {
        Vec::new()
    };
    (start, candidates)
}

/// Whether `typed` may still be the start of a call's name: no `(` or space yet.
fn is_name(typed: &str) -> bool {
    !typed.contains(|c: char| c == '(' || c.is_whitespace())
}

fn complete_meta(typed: &str) -> Vec<Pair> {
    META_COMMANDS
        .iter()
        .copied()
        .filter(|command| command.starts_with(typed))
        .map(|command| Pair {
            display: command.to_owned(),
            replacement: command.to_owned(),
        })
        .collect()
}

/// The exports spelled from `typed` on; `after` is the line after the cursor.
fn complete_export(typed: &str, after: &str, exports: &[ExportEntry]) -> Vec<Pair> {
    // Completing the name in `incr(5)` must not add a second `(`.
    let paren = if after.starts_with('(') { "" } else { "(" };
    exports
        .iter()
        .filter(|export| export.spelling.starts_with(typed))
        .map(|export| Pair {
            display: format!("{}: {}", export.spelling, export.signature),
            replacement: format!("{}{paren}", export.spelling),
        })
        .collect()
}

/// The hint at the end of `line` while a call's name is typed: the rest of
/// the name and the signature (`incr` -> `ement(by: u32) -> u64`), or right
/// after `name(` the rest of the signature (`by: u32) -> u64`).
fn hint(line: &str, pos: usize, exports: &[ExportEntry]) -> Option<String> {
    let typed = line.trim_start();
    if pos != line.len() || typed.is_empty() || typed.starts_with(':') {
        return None;
    }
    match typed.split_once('(') {
        Some((name, "")) => hint_params(name, exports),
        Some(_) => None,
        None if is_name(typed) => hint_name(typed, exports),
        None => None,
    }
}

/// After `name(`: the parameters and result of the export spelled `name`.
fn hint_params(name: &str, exports: &[ExportEntry]) -> Option<String> {
    let export = exports.iter().find(|export| export.spelling == name)?;
    export.signature.strip_prefix("func(").map(str::to_owned)
}

/// While the name is typed: the rest of it, then `(params) -> result`.
fn hint_name(typed: &str, exports: &[ExportEntry]) -> Option<String> {
    let export = sole_match(typed, exports)?;
    let params = export.signature.strip_prefix("func")?;
    Some(format!("{}{params}", &export.spelling[typed.len()..]))
}

/// The export spelled exactly `typed`, else the only one whose spelling starts so.
fn sole_match<'a>(typed: &str, exports: &'a [ExportEntry]) -> Option<&'a ExportEntry> {
    if let Some(exact) = exports.iter().find(|export| export.spelling == typed) {
        return Some(exact);
    }
    let mut matching = exports
        .iter()
        .filter(|export| export.spelling.starts_with(typed));
    let first = matching.next()?;
    matching.next().is_none().then_some(first)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rustyline::hint::Hint;

    fn entries() -> Vec<ExportEntry> {
        [
            ("increment", "func(by: u32) -> u64"),
            ("get", "func() -> u64"),
            ("api.put", "func(key: string, value: string)"),
            ("api.get", "func(key: string) -> option<string>"),
            (
                "local:store/api@0.1.0#put",
                "func(key: string, value: string)",
            ),
        ]
        .into_iter()
        .map(|(spelling, signature)| ExportEntry {
            spelling: spelling.to_owned(),
            signature: signature.to_owned(),
        })
        .collect()
    }

    /// The start and replacements `complete` offers with the cursor at the end.
    fn completions(line: &str) -> (usize, Vec<String>) {
        let (start, pairs) = complete(line, line.len(), &entries());
        (
            start,
            pairs.into_iter().map(|pair| pair.replacement).collect(),
        )
    }

    #[test]
    fn meta_commands_complete() {
        assert_eq!(completions(":st"), (0, vec![":state".to_owned()]));
        assert_eq!(
            completions(":re").1,
            [":reload", ":reload --fresh", ":replay"]
        );
        assert_eq!(completions("  :q"), (2, vec![":quit".to_owned()]));
    }

    #[test]
    fn export_names_complete_to_a_call() {
        assert_eq!(completions("incr"), (0, vec!["increment(".to_owned()]));
        assert_eq!(completions("api.").1, ["api.put(", "api.get("]);
        assert_eq!(completions("local:").1, ["local:store/api@0.1.0#put("]);
        let (_, pairs) = complete("incr", 4, &entries());
        assert_eq!(pairs[0].display, "increment: func(by: u32) -> u64");
    }

    #[test]
    fn completing_before_an_open_paren_adds_none() {
        let (start, pairs) = complete("incr(5)", 4, &entries());
        assert_eq!(start, 0);
        assert_eq!(pairs[0].replacement, "increment");
    }

    #[test]
    fn nothing_completes_after_the_paren() {
        assert!(completions("increment(").1.is_empty());
        assert!(completions("api.put(\"a").1.is_empty());
        assert!(completions("get() ").1.is_empty());
    }

    #[test]
    fn a_sole_name_hints_its_rest_and_signature() {
        let hint_at_end = |line: &str| hint(line, line.len(), &entries());
        assert_eq!(
            hint_at_end("incr").as_deref(),
            Some("ement(by: u32) -> u64")
        );
        assert_eq!(
            hint_at_end("increment").as_deref(),
            Some("(by: u32) -> u64")
        );
        assert_eq!(hint_at_end("get").as_deref(), Some("() -> u64"));
        assert_eq!(hint("incr", 2, &entries()), None);
    }

    #[test]
    fn an_open_paren_hints_the_parameters() {
        let hint_at_end = |line: &str| hint(line, line.len(), &entries());
        assert_eq!(
            hint_at_end("increment(").as_deref(),
            Some("by: u32) -> u64")
        );
        assert_eq!(hint_at_end("get(").as_deref(), Some(") -> u64"));
        assert_eq!(hint_at_end("increment(5"), None);
        assert_eq!(hint_at_end("incr("), None);
    }

    #[test]
    fn a_shared_prefix_hints_nothing() {
        assert_eq!(hint("api.", 4, &entries()), None);
        assert_eq!(hint("", 0, &entries()), None);
        assert_eq!(hint(":st", 3, &entries()), None);
    }

    #[test]
    fn the_helper_sees_the_list_set_later() {
        let exports = Exports::new();
        let helper = IsoHelper {
            exports: exports.clone(),
            colour: false,
        };
        let history = DefaultHistory::new();
        let ctx = rustyline::Context::new(&history);
        assert!(helper.complete("incr", 4, &ctx).unwrap().1.is_empty());
        assert!(helper.hint("incr", 4, &ctx).is_none());
        exports.set(entries());
        let (_, pairs) = helper.complete("incr", 4, &ctx).unwrap();
        assert_eq!(pairs[0].replacement, "increment(");
        let shown = helper.hint("incr", 4, &ctx).unwrap();
        assert_eq!(shown.display(), "ement(by: u32) -> u64");
        assert_eq!(
            shown.completion(),
            Some("ement("),
            "→ types only the name and `(`"
        );
        let inside = helper.hint("increment(", 10, &ctx).unwrap();
        assert_eq!(inside.display(), "by: u32) -> u64");
        assert_eq!(inside.completion(), None, "the signature is never typed in");
    }

    #[test]
    fn hints_are_grey_only_with_colour() {
        let helper = |colour| IsoHelper {
            exports: Exports::new(),
            colour,
        };
        assert_eq!(helper(false).highlight_hint("ement"), "ement");
        assert_eq!(helper(true).highlight_hint("ement"), "\x1b[2mement\x1b[0m");
    }
}
