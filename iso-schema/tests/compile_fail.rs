//! The derive's errors for what a schema cannot describe (trybuild UI tests).

#[test]
fn ui() {
    trybuild::TestCases::new().compile_fail("tests/ui/*.rs");
}
