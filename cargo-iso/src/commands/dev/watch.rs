//! Rebuilding on change: the file watcher and the builder thread.
//!
//! The watcher (notify-debouncer-full, so that editors that save by renaming
//! a temporary file are seen) turns changes into [`Event::Changed`], naming
//! the guests whose files (or path dependencies) changed; only those are
//! rebuilt. The
//! builder runs one build at a time; requests that arrive while it builds
//! are merged into one more build of the files as they are then, and a
//! result that a newer change has already made stale is dropped.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::mpsc::{Receiver, Sender};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use iso_host::{ComponentCache, IsoEngine};
use notify_debouncer_full::notify::{RecommendedWatcher, RecursiveMode};
use notify_debouncer_full::{DebounceEventResult, Debouncer, RecommendedCache, new_debouncer};

use super::Event;
use crate::commands::build::Pipeline;
use crate::links::ProviderWit;
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
#[derive(Debug, Clone)]
pub struct Request {
    /// Requests are numbered in order; a build answers every request up to its number.
    pub number: u64,
    /// When the first change behind it happened: the reload's clock starts there.
    pub since: Instant,
    /// Start the new version from default state instead of the running one's.
    pub fresh: bool,
    /// The guests to rebuild, by name, sorted.
    pub guests: Vec<String>,
}

/// A built and compiled new version of one guest, with what each stage cost.
#[derive(Clone)]
pub struct Built {
    /// The guest's name: the address it runs under.
    pub name: String,
    /// The component's bytes (compiled already: the runtime finds it in the
    /// cache, and links it to the apps it imports from as it swaps it in).
    pub bytes: Vec<u8>,
    /// `cargo build`.
    pub cargo: Duration,
    /// Turning the core module into a component.
    pub componentize: Duration,
    /// Cranelift/Winch, or the compiled-component cache.
    pub compile: Duration,
    /// Its WIT as it was built, for its importers, when it provides to any.
    pub wit: Option<ProviderWit>,
}

/// Watches what each guest is built from: its `src/`, `wit/`,
/// `Cargo.toml` and `build.rs`, and the same in each path dependency.
pub fn watch(
    guests: &[Guest],
    events: Sender<Event>,
) -> Result<Debouncer<RecommendedWatcher, RecommendedCache>> {
    let owners = owners(guests)?;
    let owned = owners.clone();
    let mut debouncer = new_debouncer(
        DEBOUNCE,
        Some(DEBOUNCE_TICK),
        move |result: DebounceEventResult| {
            let Ok(batch) = result else { return };
            let relevant: Vec<_> = batch
                .iter()
                .filter(|e| !e.kind.is_access() && e.paths.iter().any(|p| is_source(p)))
                .collect();
            let Some(first) = relevant.iter().map(|e| e.time).min() else {
                return;
            };
            let mut touched: Vec<String> = relevant
                .iter()
                .flat_map(|e| e.paths.iter())
                .flat_map(|path| guests_of(&owned, path))
                .collect();
            touched.sort();
            touched.dedup();
            if !touched.is_empty() {
                let _ = events.send(Event::Changed(first, touched));
            }
        },
    )
    .context("could not start the file watcher")?;
    for (dir, _) in &owners {
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

/// Each folder a guest is built from (its crate, its path dependencies),
/// and the guests built from it.
fn owners(guests: &[Guest]) -> Result<Vec<(PathBuf, Vec<String>)>> {
    let mut owners: Vec<(PathBuf, Vec<String>)> = Vec::new();
    for guest in guests {
        let crate_dir = guest
            .manifest_path
            .parent()
            .context("the guest's manifest has no folder")?;
        let dirs = std::iter::once(crate_dir).chain(guest.path_deps.iter().map(|d| d.as_path()));
        for dir in dirs {
            let dir = dir.as_std_path().to_path_buf();
            match owners.iter_mut().find(|(known, _)| *known == dir) {
                Some((_, names)) => names.push(guest.name.clone()),
                None => owners.push((dir, vec![guest.name.clone()])),
            }
        }
    }
    Ok(owners)
}

/// The guests built from the file at `path`: those of the deepest folder
/// that holds it (a guest's folder may hold another guest's).
fn guests_of(owners: &[(PathBuf, Vec<String>)], path: &Path) -> Vec<String> {
    owners
        .iter()
        .filter(|(dir, _)| path.starts_with(dir))
        .max_by_key(|(dir, _)| dir.components().count())
        .map(|(_, names)| names.clone())
        .unwrap_or_default()
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
                    let result = build(&pipeline, &shell, &engine, &cache, &request.guests);
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
    let mut guests = a.guests;
    guests.extend(b.guests);
    guests.sort();
    guests.dedup();
    Request {
        number: a.number.max(b.number),
        since: a.since.min(b.since),
        fresh: a.fresh || b.fresh,
        guests,
    }
}

/// Builds, componentizes and compiles the guests called `names`, timing
/// each stage.
fn build(
    pipeline: &Pipeline,
    shell: &Shell,
    engine: &Arc<IsoEngine>,
    cache: &ComponentCache,
    names: &[String],
) -> Result<Vec<Built>> {
    let mut wits = Vec::new();
    for guest in (pipeline.guests().iter()).filter(|g| names.contains(&g.name)) {
        if pipeline
            .links()
            .iter()
            .any(|link| link.provider == guest.name)
        {
            wits.push(ProviderWit::read(guest)?);
        }
    }
    // An importer built with its provider builds against the provider's
    // WIT as it is built now: a provider and its importer changed together.
    let together: Vec<_> = (pipeline.links().iter())
        .filter(|link| names.contains(&link.importer) && names.contains(&link.provider))
        .cloned()
        .collect();
    for wit in wits.iter().flatten() {
        wit.copy_to_importers(&together, pipeline.guests())?;
    }
    let (components, cargo) = pipeline.start_named(shell, names)?;
    let mut built = Vec::new();
    for component in components {
        let wit = (wits.iter().flatten())
            .find(|wit| wit.provider() == component.guest.name)
            .cloned();
        let bytes = component.read()?;
        // Compile while cargo finishes.
        let started = Instant::now();
        cache.load(engine.engine(), &bytes)?;
        built.push(Built {
            name: component.guest.name,
            bytes,
            cargo: component.cargo_time,
            componentize: component.componentize_time,
            compile: started.elapsed(),
            wit,
        });
    }
    cargo.finish()?;
    Ok(built)
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
            guests: vec!["store".into()],
        };
        let second = Request {
            number: 2,
            since: later,
            fresh: false,
            guests: vec!["front".into(), "store".into()],
        };
        for merged in [merged(first.clone(), second.clone()), merged(second, first)] {
            assert_eq!(merged.number, 2);
            assert_eq!(merged.since, earlier);
            assert!(merged.fresh);
            assert_eq!(merged.guests, ["front", "store"]);
        }
    }

    #[test]
    fn a_change_belongs_to_the_guests_of_the_deepest_folder_holding_it() {
        let owners = vec![
            (PathBuf::from("/w"), vec!["root".to_owned()]),
            (PathBuf::from("/w/store"), vec!["store".to_owned()]),
            (
                PathBuf::from("/w/shared"),
                vec!["store".to_owned(), "front".to_owned()],
            ),
        ];
        let of = |path: &str| guests_of(&owners, Path::new(path));
        assert_eq!(of("/w/store/src/lib.rs"), ["store"]);
        assert_eq!(of("/w/shared/src/lib.rs"), ["store", "front"]);
        assert_eq!(of("/w/Cargo.toml"), ["root"]);
        assert!(of("/elsewhere/x.rs").is_empty());
    }
}
