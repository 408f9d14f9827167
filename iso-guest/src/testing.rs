//! Guest-side unit tests: the functions that [`#[iso_guest::test]`](crate::test)
//! registers, and what the `iso:app/tests` export (written by
//! [`generate!`](crate::generate)) lists and runs.
//!
//! Tests are registered only in wasm32 builds with debug assertions (the
//! dev profile, which `cargo iso test` builds by default), so a release
//! component carries none and a native `cargo test` of the crate is untouched.

#[doc(hidden)]
pub use inventory;

/// One registered test.
#[doc(hidden)]
pub struct Test {
    module: &'static str,
    function: &'static str,
    run: fn() -> Result<(), String>,
}

inventory::collect!(Test);

impl Test {
    /// Test `function` of `module` (its `module_path!()`), run by `run`.
    pub const fn new(
        module: &'static str,
        function: &'static str,
        run: fn() -> Result<(), String>,
    ) -> Test {
        Test {
            module,
            function,
            run,
        }
    }

    /// Its path in the crate, as libtest names tests: `tests::counts_up`.
    pub fn name(&self) -> String {
        match self.module.split_once("::") {
            Some((_crate, inner)) => format!("{inner}::{}", self.function),
            None => self.function.to_owned(),
        }
    }
}

/// What a test function returns: `()`, or a `Result` whose error fails it.
pub trait TestResult {
    /// Ok, or why the test failed.
    fn into_result(self) -> Result<(), String>;
}

impl TestResult for () {
    fn into_result(self) -> Result<(), String> {
        Ok(())
    }
}

impl<E: std::fmt::Debug> TestResult for Result<(), E> {
    fn into_result(self) -> Result<(), String> {
        self.map_err(|err| format!("Error: {err:?}"))
    }
}

/// The registered tests' names, sorted.
pub fn names() -> Vec<String> {
    let mut names: Vec<String> = inventory::iter::<Test>().map(Test::name).collect();
    names.sort();
    names
}

/// Runs the test named `name`. A panic traps after the panic hook has
/// logged its message and location.
pub fn run(name: &str) -> Result<(), String> {
    crate::install_panic_hook();
    let test = inventory::iter::<Test>()
        .find(|test| test.name() == name)
        .ok_or_else(|| format!("no test named `{name}` in this build"))?;
    (test.run)()
}
