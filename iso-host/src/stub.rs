//! Components made from WIT alone, whose functions trap when called: for
//! the types and names of a world without a guest that implements it
//! (a remote app's exports, codec tests and benchmarks, a fuzz target).

use wit_parser::{Resolve, WorldId};

use crate::error::HostError;

/// A component of `world` (the package's only world when `None`) of the
/// WIT package in `wit`.
pub fn component(wit: &str, world: Option<&str>) -> Result<Vec<u8>, HostError> {
    let mut resolve = Resolve::default();
    let package = (resolve.push_str("stub.wit", wit))
        .map_err(|err| invalid(format!("the WIT does not parse: {err:#}")))?;
    let world = (resolve.select_world(&[package], world))
        .map_err(|err| invalid(format!("no such world: {err:#}")))?;
    component_of(&resolve, world)
}

/// A component of `world` in `resolve`, with wit-component's dummy core module.
pub fn component_of(resolve: &Resolve, world: WorldId) -> Result<Vec<u8>, HostError> {
    let mut module =
        wit_component::dummy_module(resolve, world, wit_parser::ManglingAndAbi::Standard32);
    let utf8 = wit_component::StringEncoding::UTF8;
    wit_component::embed_component_metadata(&mut module, resolve, world, utf8)
        .map_err(|err| invalid(format!("cannot embed the world: {err:#}")))?;
    (wit_component::ComponentEncoder::default().module(&module))
        .and_then(|mut encoder| encoder.encode())
        .map_err(|err| invalid(format!("cannot make a component of the world: {err:#}")))
}

fn invalid(reason: String) -> HostError {
    HostError::Invalid { reason }
}
