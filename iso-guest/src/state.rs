//! The app's state: one value behind a lock, created from `Default` on first use.

use std::ops::Deref;
use std::sync::{Mutex, MutexGuard, Once, PoisonError};

use iso_schema::Schema;

/// Where [`state!`](crate::state) keeps the app's state.
///
/// ```
/// use iso_guest::{Schema, StateCell};
///
/// #[derive(Schema, Default)]
/// struct Counter {
///     count: u64,
/// }
///
/// static STATE: StateCell<Counter> = StateCell::new();
///
/// STATE.with(|s| s.count += 2);
/// let saved = STATE.save();
/// STATE.with(|s| s.count = 0);
/// STATE.restore(&saved).unwrap();
/// assert_eq!(STATE.get().count, 2);
/// assert!(STATE.restore(b"not state").unwrap_err().contains("invalid state bytes"));
/// ```
pub struct StateCell<T> {
    value: Mutex<Option<T>>,
}

impl<T> Default for StateCell<T> {
    fn default() -> Self {
        StateCell::new()
    }
}

impl<T> StateCell<T> {
    /// An empty cell; the state is `T::default()` until first written.
    pub const fn new() -> Self {
        StateCell {
            value: Mutex::new(None),
        }
    }
}

impl<T: Schema + Default> StateCell<T> {
    fn lock(&self) -> MutexGuard<'_, Option<T>> {
        install_panic_hook();
        let mut guard = self.value.lock().unwrap_or_else(PoisonError::into_inner);
        guard.get_or_insert_with(T::default);
        guard
    }

    /// Runs `f` with write access to the state.
    pub fn with<R>(&self, f: impl FnOnce(&mut T) -> R) -> R {
        f(self.lock().as_mut().expect("the state was just created"))
    }

    /// Read access to the state, until the returned guard is dropped.
    pub fn get(&self) -> StateRef<'_, T> {
        StateRef { guard: self.lock() }
    }

    /// The state in the iso-schema binary encoding.
    pub fn save(&self) -> Vec<u8> {
        self.with(|state| iso_schema::save(state))
    }

    /// Replaces the state with saved bytes (from this version or an older
    /// one); on error the state is unchanged and the message names the path.
    pub fn restore(&self, bytes: &[u8]) -> Result<(), String> {
        let restored = iso_schema::restore::<T>(bytes).map_err(|err| err.to_string())?;
        for path in &restored.dropped {
            crate::log::write(
                crate::log::Level::Warn,
                &format!("restore dropped {path}: this version has no such field"),
                &[],
            );
        }
        self.with(|state| *state = restored.value);
        Ok(())
    }
}

/// Read access to the state; derefs to it.
pub struct StateRef<'a, T> {
    guard: MutexGuard<'a, Option<T>>,
}

impl<T> Deref for StateRef<'_, T> {
    type Target = T;

    fn deref(&self) -> &T {
        self.guard
            .as_ref()
            .expect("a StateRef is made only for created state")
    }
}

/// Sends panics to the host log (message and location) before the guest traps.
///
/// [`generate!`](crate::generate) installs it before the guest's first
/// export call, and [`StateCell`] on first use.
pub fn install_panic_hook() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        std::panic::set_hook(Box::new(|info| {
            let message = info
                .payload()
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| info.payload().downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "panic with a non-string payload".to_owned());
            let location = info
                .location()
                .map(|l| format!("{}:{}:{}", l.file(), l.line(), l.column()))
                .unwrap_or_default();
            crate::log::write(
                crate::log::Level::Error,
                &format!("panicked: {message}"),
                &[("location", &location)],
            );
        }));
    });
}
