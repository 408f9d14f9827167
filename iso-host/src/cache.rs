//! Compiled components, cached by content hash in memory and on disk, so
//! running an unchanged component again skips Cranelift.

use std::collections::{HashMap, VecDeque};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use sha2::{Digest, Sha256};
use wasmtime::component::Component;

use crate::error::HostError;

/// Where a compiled component came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CacheHit {
    /// Compiled now.
    Compiled,
    /// Loaded from the disk cache.
    Disk,
    /// Already in memory.
    Memory,
}

/// The compiled-component cache of one engine. Cheap to clone: clones
/// share one cache (a dev host's builder thread and its runtime, say).
#[derive(Clone)]
pub struct ComponentCache {
    dir: Option<PathBuf>,
    memory: Arc<Mutex<InMemory>>,
}

/// Compiled components by key, dropping the oldest beyond `capacity`.
#[derive(Default)]
struct InMemory {
    components: HashMap<String, Component>,
    order: VecDeque<String>,
    capacity: Option<usize>,
}

impl InMemory {
    fn insert(&mut self, key: String, component: Component) {
        if self.components.insert(key.clone(), component).is_none() {
            self.order.push_back(key);
        }
        while self.capacity.is_some_and(|cap| self.order.len() > cap) {
            if let Some(oldest) = self.order.pop_front() {
                self.components.remove(&oldest);
            }
        }
    }
}

impl ComponentCache {
    /// A cache in memory, and on disk in `dir` when given.
    pub fn new(dir: Option<PathBuf>) -> ComponentCache {
        ComponentCache {
            dir,
            memory: Arc::default(),
        }
    }

    /// Keeps at most `count` compiled components in memory, dropping the
    /// oldest: a host that loads version after version must not grow forever.
    pub fn keep_at_most(self, count: usize) -> ComponentCache {
        self.memory
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .capacity = Some(count);
        self
    }

    /// The component for `bytes`, compiling it only when no cache has it.
    pub fn load(
        &self,
        engine: &wasmtime::Engine,
        bytes: &[u8],
    ) -> Result<(Component, CacheHit), HostError> {
        check_is_component(bytes)?;
        let key = cache_key(engine, bytes);
        if let Some(component) = self
            .memory
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .components
            .get(&key)
        {
            return Ok((component.clone(), CacheHit::Memory));
        }
        let path = self
            .dir
            .as_ref()
            .map(|dir| dir.join(format!("{key}.cwasm")));
        let (component, hit) = match path
            .as_deref()
            .and_then(|path| load_from_disk(engine, path))
        {
            Some(component) => (component, CacheHit::Disk),
            None => {
                let component =
                    Component::new(engine, bytes).map_err(|err| HostError::Invalid {
                        reason: format!("{err:#}"),
                    })?;
                if let Some(path) = &path {
                    // A cache that cannot be written only costs the next run a compile.
                    let _ = store_on_disk(&component, path);
                }
                (component, CacheHit::Compiled)
            }
        };
        self.memory
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(key, component.clone());
        Ok((component, hit))
    }
}

/// Distinguishes core modules and garbage from components, before wasmtime's more cryptic errors.
fn check_is_component(bytes: &[u8]) -> Result<(), HostError> {
    const MAGIC: &[u8] = b"\0asm";
    if bytes.len() < 8 || &bytes[..4] != MAGIC {
        return Err(HostError::Invalid {
            reason: "not a wasm file (it does not start with the `\\0asm` magic bytes)".into(),
        });
    }
    // Core modules have version 1 and layer 0; components have layer 1.
    if bytes[4..8] == [1, 0, 0, 0] {
        return Err(HostError::NotAComponent);
    }
    Ok(())
}

fn cache_key(engine: &wasmtime::Engine, bytes: &[u8]) -> String {
    let mut hasher = Sha256::new();
    hasher.update(bytes);
    // Compiled code is only valid for the engine settings and wasmtime version that made it.
    std::hash::Hash::hash(
        &engine.precompile_compatibility_hash(),
        &mut HashWriter(&mut hasher),
    );
    hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

struct HashWriter<'a>(&'a mut Sha256);

impl std::hash::Hasher for HashWriter<'_> {
    fn finish(&self) -> u64 {
        0
    }
    fn write(&mut self, bytes: &[u8]) {
        self.0.update(bytes);
    }
}

#[allow(unsafe_code)]
fn load_from_disk(engine: &wasmtime::Engine, path: &Path) -> Option<Component> {
    if !path.is_file() {
        return None;
    }
    // SAFETY: the file is one `store_on_disk` wrote (atomically) into the cache
    // folder, named by the hash of its source and the engine's compatibility
    // hash; wasmtime still checks its header and rejects a mismatch.
    unsafe { Component::deserialize_file(engine, path) }.ok()
}

fn store_on_disk(component: &Component, path: &Path) -> std::io::Result<()> {
    let bytes = component.serialize().map_err(std::io::Error::other)?;
    let dir = path.parent().expect("cache files sit in the cache folder");
    std::fs::create_dir_all(dir)?;
    let temp = dir.join(format!(
        ".{}.tmp-{}",
        path.file_name().unwrap_or_default().to_string_lossy(),
        std::process::id()
    ));
    std::fs::write(&temp, bytes)?;
    std::fs::rename(temp, path)
}
