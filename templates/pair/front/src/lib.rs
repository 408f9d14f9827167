//! front: greets visitors; the store guest counts their visits.

iso_guest::generate!();

use iso_guest::Schema;
use local::store::api;

/// The app's state: how many greetings this front gave.
#[derive(Schema, Default)]
struct Front {
    greetings: u64,
}

iso_guest::state!(Front);

struct Component;

impl Guest for Component {
    fn greet(name: String) -> String {
        let visits = api::visit(&name);
        with_state(|s| s.greetings += 1);
        format!("hello {name}, visit {visits}")
    }

    fn run() -> String {
        Self::greet("world".into())
    }
}

export!(Component);
