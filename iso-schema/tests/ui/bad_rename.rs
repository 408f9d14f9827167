#[derive(iso_schema::Schema)]
struct State {
    #[schema(rename = "has space")]
    count: u32,
    #[schema(skip, rename = "x")]
    cache: u32,
}

fn main() {}
