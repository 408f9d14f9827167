//! store: visits by name, kept in the app's state across hot reloads.

iso_guest::generate!();

use std::collections::BTreeMap;

use exports::local::store::api::Guest as Api;
use iso_guest::Schema;

/// The app's state. The host saves it before a reload and restores it into
/// the new version, so a field added later needs `#[schema(default)]`.
#[derive(Schema, Default)]
struct Store {
    visits: BTreeMap<String, u32>,
}

iso_guest::state!(Store);

struct Component;

impl Api for Component {
    fn visit(name: String) -> u32 {
        with_state(|s| {
            let visits = s.visits.entry(name).or_default();
            *visits += 1;
            *visits
        })
    }

    fn visits(name: String) -> u32 {
        state().visits.get(&name).copied().unwrap_or(0)
    }
}

export!(Component);
