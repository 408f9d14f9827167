//! The cargo-iso guest SDK.
//!
//! A guest crate depends on `iso-guest` alone. Its `wit/world.wit` includes
//! what the iso host gives (`include iso:app/guest@0.1.0;`) and adds its own
//! exports; `cargo iso new` writes the iso WIT packages into `wit/deps/` and
//! `cargo iso build` keeps them current, so they are never copied by hand.
//!
//! ```ignore
//! iso_guest::generate!();
//!
//! #[derive(iso_guest::Schema, Default)]
//! struct Counter {
//!     count: u64,
//! }
//!
//! iso_guest::state!(Counter);
//!
//! struct Component;
//!
//! impl Guest for Component {
//!     fn increment(by: u32) -> u64 {
//!         with_state(|s| {
//!             s.count += u64::from(by);
//!             s.count
//!         })
//!     }
//! }
//!
//! export!(Component);
//! ```
//!
//! - [`generate!`]: wit-bindgen bindings for the crate's world, sharing this crate's host bindings;
//! - [`state!`]: keeps the app's state, which a world that includes
//!   `iso:app/guest` exports as `iso:app/state` (a guest without state
//!   includes `iso:app/stateless` and needs no `state!`);
//! - [`info!`] and friends: logging through `iso:host/log`;
//! - [`clock`], [`random`], [`kv`]: typed wrappers for the other host interfaces;
//! - [`#[test]`](test): unit tests that `cargo iso test` runs inside the host.

pub mod clock;
pub mod kv;
pub mod log;
pub mod random;
mod state;
#[doc(hidden)]
pub mod testing;

pub use iso_schema as schema;
pub use iso_schema::Schema;
pub use state::{StateCell, StateRef, install_panic_hook};
pub use wit_bindgen;

/// Bindings for the `iso:app/guest` world: the host interfaces guests import.
#[allow(missing_docs, unsafe_code)]
pub mod bindings {
    wit_bindgen::generate!({
        path: "wit/app",
        world: "iso:app/guest",
        generate_all,
        pub_export_macro: true,
        default_bindings_module: "::iso_guest::bindings",
    });
}

/// Generates bindings for the guest's world in `wit/` (wit-bindgen's `generate!`),
/// reusing this crate's bindings for the iso host interfaces so that
/// [`log`], [`clock`], [`random`] and [`kv`] work with them.
///
/// It defines the world's `Guest` trait, the `exports` module and `export!`.
/// Call it at the crate root. A world that includes `iso:app/guest@0.1.0`
/// exports `iso:app/state` and needs [`state!`] next to it; a guest without
/// state includes `iso:app/stateless@0.1.0` instead.
#[macro_export]
macro_rules! generate {
    () => {
        /// Where [`state!`](::iso_guest::state) keeps the crate's state for `iso:app/state`.
        #[doc(hidden)]
        #[allow(dead_code)]
        struct __IsoState;

        $crate::__app_exports!();

        // Runs before the guest's first export call (wit-bindgen's exports
        // run the module's constructors once), so that every panic, in any
        // export, reaches the host log with its message and location.
        #[used]
        #[allow(unsafe_code)]
        #[unsafe(link_section = ".init_array")]
        static __ISO_PANIC_HOOK: extern "C" fn() = {
            extern "C" fn install() {
                $crate::install_panic_hook();
            }
            install
        };

        $crate::wit_bindgen::generate!({
            path: "wit",
            runtime_path: "::iso_guest::wit_bindgen::rt",
            // Interfaces of other packages (another guest's, say) get bindings of their own.
            generate_all,
            with: {
                "iso:host/log@0.1.0": ::iso_guest::bindings::iso::host::log,
                "iso:host/clock@0.1.0": ::iso_guest::bindings::iso::host::clock,
                "iso:host/random@0.1.0": ::iso_guest::bindings::iso::host::random,
                "iso:host/kv@0.1.0": ::iso_guest::bindings::iso::host::kv,
            },
        });
    };
}

/// Keeps the app's state, of a type `T: Schema + Default`, for the
/// `iso:app/state` export of a world that includes `iso:app/guest`, so the
/// host can save it, restore it into a new version, and show it.
///
/// It defines, in the calling module (the crate root, after [`generate!`]):
/// - `fn state() -> StateRef<'static, T>`: read access;
/// - `fn with_state<R>(f: impl FnOnce(&mut T) -> R) -> R`: write access.
///
/// Do not call `with_state` or `state` while holding a `StateRef`: the state is behind one lock.
#[macro_export]
macro_rules! state {
    ($ty:ty) => {
        static __ISO_STATE: $crate::StateCell<$ty> = $crate::StateCell::new();

        /// Read access to the app's state.
        #[allow(dead_code)]
        fn state() -> $crate::StateRef<'static, $ty> {
            __ISO_STATE.get()
        }

        /// Write access to the app's state.
        #[allow(dead_code)]
        fn with_state<R>(f: impl FnOnce(&mut $ty) -> R) -> R {
            __ISO_STATE.with(f)
        }

        // `generate!` routes the `iso:app/state` export here.
        impl $crate::KeptState for __IsoState {
            fn schema() -> ::std::string::String {
                $crate::schema::schema_text::<$ty>()
            }
            fn save() -> ::std::vec::Vec<u8> {
                __ISO_STATE.save()
            }
            fn restore(
                bytes: ::std::vec::Vec<u8>,
            ) -> ::std::result::Result<(), ::std::string::String> {
                __ISO_STATE.restore(&bytes)
            }
        }
    };
}

/// The state a crate keeps for its `iso:app/state` export; [`state!`]
/// implements it. A world that exports `iso:app/state` without [`state!`]
/// in the crate fails to build with this trait's message, which names the fix.
#[diagnostic::on_unimplemented(
    message = "this guest's world exports `iso:app/state`, but the crate keeps no state",
    label = "the `iso:app/state` export needs `iso_guest::state!`",
    note = "add `iso_guest::state!(YourState);` after `iso_guest::generate!();`, where `YourState` is a `#[derive(iso_guest::Schema, Default)]` type",
    note = "or, for a guest without state, write `include iso:app/stateless@0.1.0;` in `wit/world.wit` instead of `include iso:app/guest@0.1.0;`"
)]
pub trait KeptState {
    /// The state's type, in the iso-schema text form.
    fn schema() -> String;
    /// The state, in the iso-schema binary encoding.
    fn save() -> Vec<u8>;
    /// Replaces the state with `bytes`; on error the old state is kept.
    fn restore(bytes: Vec<u8>) -> Result<(), String>;
}

#[doc(hidden)]
pub use iso_derive::__app_exports;

/// Marks a function as a unit test that `cargo iso test` runs inside the
/// host, on a fresh instance in a world under control (a clock that stands
/// still, seeded random numbers, an empty kv), under the app's budget. It
/// may call the app's exports and the host's interfaces.
///
/// ```ignore
/// #[iso_guest::test]
/// fn increment_adds() {
///     assert_eq!(Component::increment(2), 2);
/// }
/// ```
///
/// The function takes no arguments and returns `()` or `Result<(), E>`
/// with `E: Debug`. A panic, an `Err` or an exceeded budget fails it.
/// Tests are built only into wasm32 builds with debug assertions (the dev
/// profile), so release components carry none, and a native `cargo test`
/// of the crate's pure logic is untouched.
pub use iso_derive::test;
