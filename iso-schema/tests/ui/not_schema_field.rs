struct Opaque;

#[derive(iso_schema::Schema)]
struct State {
    handle: Opaque,
}

fn main() {}
