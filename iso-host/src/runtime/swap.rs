//! Swaps: new versions of running apps, put in behind their addresses
//! between two calls. A set of apps whose new versions only fit each other
//! (a provider renames a function, and its importer follows) is swapped as
//! one step: each new version is checked against the others' new versions,
//! every successor is started before any replaces its instance, and either
//! all of them are swapped in or none is.

use std::sync::Arc;
use std::time::Instant;

use wit_parser::{Resolve, WorldId};

use super::{Carry, Runtime, check_pool, decode, no_such_address};
use crate::app::App;
use crate::error::HostError;
use crate::session::{ExportChanges, Swapped, successor};

impl Carry {
    /// The running version's state, or with `keep_state` false the default.
    fn kept(keep_state: bool) -> Carry {
        match keep_state {
            true => Carry::Running,
            false => Carry::Fresh,
        }
    }
}

/// A new version of one app, checked and linked, not yet swapped in.
pub(super) struct NextVersion {
    address: String,
    app: Arc<App>,
    resolve: Resolve,
    world: WorldId,
}

impl Runtime {
    /// Replaces the version running at `address` with the component
    /// `bytes`, between two calls, as [`Session::swap`](crate::Session::swap)
    /// does: with `keep_state` the state is carried over, and the swap is
    /// refused if the new version cannot take it. The new version's imports
    /// keep their wiring, and it must still fill what its dependents import
    /// from it, or the swap is refused naming the dependent. Whenever it is
    /// refused, the old version keeps serving.
    pub fn swap(
        &mut self,
        address: &str,
        bytes: &[u8],
        keep_state: bool,
    ) -> Result<Swapped, HostError> {
        self.replace(address, bytes, Carry::kept(keep_state))
    }

    /// Swaps the new versions `swaps` (an address and a component each) as
    /// one step, as [`Runtime::swap`] swaps one: each is checked against
    /// the new versions of the others (a provider and its importer may
    /// change together), every new instance is started first, and then
    /// they replace the running ones in the order given (providers first).
    /// When any is refused, none is swapped and the old versions keep
    /// serving.
    pub fn swap_all(
        &mut self,
        swaps: &[(&str, &[u8])],
        keep_state: bool,
    ) -> Result<Vec<Swapped>, HostError> {
        let started = Instant::now();
        let next = self.next_versions(swaps)?;
        self.put_in(next, &Carry::kept(keep_state), started)
    }

    /// [`Runtime::swap`], with the state `carry` says.
    pub(super) fn replace(
        &mut self,
        address: &str,
        bytes: &[u8],
        carry: Carry,
    ) -> Result<Swapped, HostError> {
        let started = Instant::now();
        let next = self.next_versions(&[(address, bytes)])?;
        let mut swapped = self.put_in(next, &carry, started)?;
        swapped.pop().ok_or_else(|| no_such_address(address))
    }

    /// The component `bytes` linked as the next version of `address`, with
    /// its WIT; refused when its imports or what its dependents import
    /// from it no longer fit.
    pub(super) fn next_version(
        &mut self,
        address: &str,
        bytes: &[u8],
    ) -> Result<(Arc<App>, Resolve, WorldId), HostError> {
        let mut next = self.next_versions(&[(address, bytes)])?;
        let next = next.pop().ok_or_else(|| no_such_address(address))?;
        Ok((next.app, next.resolve, next.world))
    }

    /// Each of `swaps` checked and linked as the next version of its
    /// address, against the others' next versions: while they are checked,
    /// the WIT of each stands in for its running version's.
    fn next_versions(&mut self, swaps: &[(&str, &[u8])]) -> Result<Vec<NextVersion>, HostError> {
        let mut decoded = Vec::new();
        for (address, bytes) in swaps {
            if !self.running.contains_key(*address) {
                return Err(no_such_address(address));
            }
            let (component, _) = self.cache.load(self.engine.engine(), bytes)?;
            let (resolve, world) = decode(bytes)?;
            decoded.push((address.to_string(), component, resolve, world));
        }
        let stand_in = |runtime: &mut Runtime, decoded: &mut Vec<_>| {
            for (address, _, resolve, world) in decoded.iter_mut() {
                let running = runtime.running.get_mut(address).expect("checked above");
                std::mem::swap(&mut running.resolve, resolve);
                std::mem::swap(&mut running.world, world);
            }
        };
        stand_in(self, &mut decoded);
        let linked = (decoded.iter())
            .map(|(address, component, _, _)| self.link_next(address, component))
            .collect::<Result<Vec<_>, _>>();
        stand_in(self, &mut decoded);
        let linked = linked?;
        Ok((decoded.into_iter().zip(linked))
            .map(|((address, _, resolve, world), app)| NextVersion {
                address,
                app,
                resolve,
                world,
            })
            .collect())
    }

    /// The next version of `address`, whose WIT stands in for the running
    /// one's, checked and linked.
    fn link_next(
        &self,
        address: &str,
        component: &wasmtime::component::Component,
    ) -> Result<Arc<App>, HostError> {
        let running = &self.running[address];
        let (resolve, world) = (&running.resolve, running.world);
        let wires = self.check_wiring(address, &running.wiring, resolve, world)?;
        self.check_dependents(address, resolve, world)?;
        Ok(Arc::new(self.link(component, &wires, running.budget)?))
    }

    /// Starts every next version's instances (from the state `carry`
    /// says), then puts them in place of the running ones, in order.
    fn put_in(
        &mut self,
        next: Vec<NextVersion>,
        carry: &Carry,
        started: Instant,
    ) -> Result<Vec<Swapped>, HostError> {
        let mut successors = Vec::new();
        for version in &next {
            let served = self.served(&version.address)?.clone();
            check_pool(&version.address, &version.app, served.actors().len())?;
            let mut instances = Vec::new();
            for actor in served.actors() {
                let (app, carry) = (version.app.clone(), carry.clone());
                instances.push(actor.ask_blocking(move |supervised| {
                    let old = &mut supervised.instance;
                    let state = match carry {
                        Carry::Running => old.save_state()?,
                        Carry::Fresh => None,
                        Carry::Given(state) => Some(state),
                    };
                    successor(old.budget(), old.shared().clone(), app, state)
                })??);
            }
            successors.push((served, instances));
        }
        let mut swapped = Vec::new();
        for (version, (served, instances)) in next.into_iter().zip(successors) {
            let mut outcome = None;
            for (actor, (instance, state_kept)) in served.actors().iter().zip(instances) {
                let exports = actor.ask_blocking(move |supervised| {
                    let exports = ExportChanges::between(supervised.instance.app(), instance.app());
                    supervised.replace(instance);
                    exports
                })?;
                outcome = Some((state_kept, exports));
            }
            let Some((state_kept, exports)) = outcome else {
                return Err(no_such_address(&version.address));
            };
            swapped.push(self.count_version(version, state_kept, exports, started));
        }
        Ok(swapped)
    }

    /// Records `version` as the one running at its address.
    fn count_version(
        &mut self,
        version: NextVersion,
        state_kept: bool,
        exports: ExportChanges,
        started: Instant,
    ) -> Swapped {
        let running = (self.running.get_mut(&version.address)).expect("swapped just now");
        (running.resolve, running.world, running.app) =
            (version.resolve, version.world, version.app);
        running.version += 1;
        Swapped {
            version: running.version,
            state_kept,
            exports,
            took: started.elapsed(),
        }
    }
}
