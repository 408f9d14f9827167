//! Reading the session's lines: with line editing and history (rustyline)
//! when stdin is a terminal, plain lines when it is not, so scripts and
//! tests can drive the dev host.
//!
//! The reader waits for the main loop to finish each line before reading
//! the next, so output and the prompt never interleave, and lines typed
//! during a reload wait in the terminal or pipe until it is done.

use std::io::{BufRead, IsTerminal};
use std::sync::mpsc::{Receiver, Sender};

use anyhow::{Context, Result};
use rustyline::error::ReadlineError;

use super::Event;

/// Starts the reader thread. It sends [`Event::Line`] and waits on `done`
/// before reading on; it ends with [`Event::EndOfInput`] or [`Event::Interrupted`].
pub fn spawn_reader(events: Sender<Event>, done: Receiver<()>) -> Result<()> {
    let terminal = std::io::stdin().is_terminal();
    std::thread::Builder::new()
        .name("iso-input".into())
        .spawn(move || {
            let ended = if terminal {
                read_terminal(&events, &done)
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

fn read_terminal(events: &Sender<Event>, done: &Receiver<()>) -> Event {
    let Ok(mut editor) = rustyline::DefaultEditor::new() else {
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
