//! proto
pub use wit_bindgen;

#[allow(missing_docs)]
pub mod bindings {
    wit_bindgen::generate!({
        path: "wit/app",
        world: "iso:app/guest",
        generate_all,
        pub_export_macro: true,
        export_macro_name: "__export_state",
        default_bindings_module: "::iso_guest::bindings",
    });
}

pub struct StateExport;
impl bindings::exports::iso::app::state::Guest for StateExport {
    fn schema() -> String {
        "x".into()
    }
    fn save() -> Vec<u8> {
        vec![1]
    }
    fn restore(_b: Vec<u8>) -> Result<(), String> {
        Ok(())
    }
}

#[macro_export]
macro_rules! state {
    () => {
        impl<C> exports::iso::app::state::Guest for C {
            fn schema() -> String {
                "x".into()
            }
            fn save() -> Vec<u8> {
                vec![1]
            }
            fn restore(_b: Vec<u8>) -> Result<(), String> {
                Ok(())
            }
        }
    };
}

#[macro_export]
macro_rules! generate {
    () => {
        $crate::wit_bindgen::generate!({
            path: "wit",
            runtime_path: "::iso_guest::wit_bindgen::rt",
            with: {
                "iso:host/log@0.1.0": ::iso_guest::bindings::iso::host::log,
                "iso:host/clock@0.1.0": ::iso_guest::bindings::iso::host::clock,
                "iso:host/random@0.1.0": ::iso_guest::bindings::iso::host::random,
                "iso:host/kv@0.1.0": ::iso_guest::bindings::iso::host::kv,
            },
        });
    };
}
