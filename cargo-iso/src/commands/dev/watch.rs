//! Rebuilding on change: the file watcher and the builder thread.
//!
//! The watcher (notify-debouncer-full, so that editors that save by renaming
//! a temporary file are seen) turns changes into [`Event::Changed`]. The
//! builder runs one build at a time; requests that arrive while it builds
//! are merged into one more build of the files as they are then, and a
//! result that a newer change has already made stale is dropped.

use std::path::Path;
use std::sync::Arc;
use std::sync::mpsc::{Receiver, Sender};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use iso_host::{App, ComponentCache, IsoEngine};
use notify_debouncer_full::notify::{RecommendedWatcher, RecursiveMode};
use notify_debouncer_full::{DebounceEventResult, Debouncer, RecommendedCache, new_debouncer};

use super::Event;
use crate::commands::build::Pipeline;
use crate::project::Guest;
use crate::term::Shell;

/// How long the watcher waits for a burst of writes to end. Editors write a
/// file in well under this; every millisecond of it is edit-to-live latency.
/// (Should a slow write be seen half done, the rest of it triggers one more
/// build, which wins.)
const DEBOUNCE: Duration = Duration::from_millis(2);

/// How often the watcher looks for bursts that ended: it wakes this often
/// even while nothing changes.
const DEBOUNCE_TICK: Duration = Duration::from_millis(1);

/// A build the main loop asks for.
#[derive(Debug, Clone, Copy)]
pub struct Request {
    /// Requests are numbered in order; a build answers every request up to its number.
    pub number: u64,
    /// When the first change behind it happened: the reload's clock starts there.
    pub since: Instant,
    /// Start the new version from default state instead of the running one's.
    pub fresh: bool,
}

/// A built and compiled new version, with what each stage cost.
pub struct Built {
    /// The compiled component, linked and ready to instantiate.
    pub app: Arc<App>,
    /// The component's bytes (compiled already: the runtime finds it in the cache).
    pub bytes: Vec<u8>,
    /// `cargo build`.
    pub cargo: Duration,
    /// Turning the core module into a component.
    pub componentize: Duration,
    /// Cranelift/Winch, or the compiled-component cache.
    pub compile: Duration,
}

/// Watches what the guest is built from: its `src/`, `wit/`, `Cargo.toml`
/// and `build.rs`, and the same in each path dependency.
pub fn watch(
    guest: &Guest,
    events: Sender<Event>,
) -> Result<Debouncer<RecommendedWatcher, RecommendedCache>> {
    let mut debouncer = new_debouncer(
        DEBOUNCE,
        Some(DEBOUNCE_TICK),
        move |result: DebounceEventResult| {
            let Ok(batch) = result else { return };
            let relevant: Vec<_> = batch
                .iter()
                .filter(|e| !e.kind.is_access() && e.paths.iter().any(|p| is_source(p)))
                .collect();
            if let Some(first) = relevant.iter().map(|e| e.time).min() {
                let _ = events.send(Event::Changed(first));
            }
        },
    )
    .context("could not start the file watcher")?;
    let crate_dir = guest
        .manifest_path
        .parent()
        .context("the guest's manifest has no folder")?;
    let dirs = std::iter::once(crate_dir.as_std_path())
        .chain(guest.path_deps.iter().map(|d| d.as_std_path()));
    for dir in dirs {
        // The crate folder itself only for Cargo.toml and build.rs: its target/ must not count.
        debouncer
            .watch(dir, RecursiveMode::NonRecursive)
            .with_context(|| format!("could not watch `{}`", dir.display()))?;
        for sub in ["src", "wit"] {
            let sub = dir.join(sub);
            if sub.is_dir() {
                debouncer
                    .watch(&sub, RecursiveMode::Recursive)
                    .with_context(|| format!("could not watch `{}`", sub.display()))?;
            }
        }
    }
    Ok(debouncer)
}

/// Whether a change to `path` can change the build.
fn is_source(path: &Path) -> bool {
    let in_sources = path
        .components()
        .any(|c| c.as_os_str() == "src" || c.as_os_str() == "wit");
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
    let editor_litter = name.starts_with('.') || name.ends_with('~') || name.ends_with(".swp");
    !editor_litter && (in_sources || name == "Cargo.toml" || name == "build.rs")
}

/// Starts the builder thread: it answers each [`Request`] with [`Event::Built`].
pub fn spawn_builder(
    pipeline: Pipeline,
    shell: Shell,
    engine: Arc<IsoEngine>,
    cache: ComponentCache,
    requests: Receiver<Request>,
    events: Sender<Event>,
) -> Result<()> {
    std::thread::Builder::new()
        .name("iso-builder".into())
        .spawn(move || {
            while let Ok(first) = requests.recv() {
                let mut request = merge(first, &requests);
                loop {
                    let result = build(&pipeline, &shell, &engine, &cache);
                    // Changes during the build: build again and drop this stale result.
                    match requests.try_recv() {
                        Ok(next) => request = merge(merged(request, next), &requests),
                        Err(_) => {
                            let _ = events.send(Event::Built(request, Box::new(result)));
                            break;
                        }
                    }
                }
            }
        })
        .context("could not start the builder thread")?;
    Ok(())
}

/// `first` merged with every request already waiting.
fn merge(first: Request, requests: &Receiver<Request>) -> Request {
    requests.try_iter().fold(first, merged)
}

fn merged(a: Request, b: Request) -> Request {
    Request {
        number: a.number.max(b.number),
        since: a.since.min(b.since),
        fresh: a.fresh || b.fresh,
    }
}

/// Builds, componentizes and compiles the guest, timing each stage.
fn build(
    pipeline: &Pipeline,
    shell: &Shell,
    engine: &Arc<IsoEngine>,
    cache: &ComponentCache,
) -> Result<Built> {
    let (component, bytes, cargo) = pipeline.start_single(shell)?;
    // Compile while cargo finishes.
    let started = Instant::now();
    let (app, _) = App::load(engine.clone(), cache, &bytes)?;
    let compile = started.elapsed();
    cargo.finish()?;
    Ok(Built {
        app: Arc::new(app),
        bytes,
        cargo: component.cargo_time,
        componentize: component.componentize_time,
        compile,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merged_requests_answer_the_latest_and_time_from_the_earliest() {
        let earlier = Instant::now();
        let later = earlier + Duration::from_millis(5);
        let first = Request {
            number: 1,
            since: earlier,
            fresh: true,
        };
        let second = Request {
            number: 2,
            since: later,
            fresh: false,
        };
        for merged in [merged(first, second), merged(second, first)] {
            assert_eq!(merged.number, 2);
            assert_eq!(merged.since, earlier);
            assert!(merged.fresh);
        }
    }
}
