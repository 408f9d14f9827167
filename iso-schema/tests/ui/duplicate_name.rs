#[derive(iso_schema::Schema)]
struct State {
    count: u32,
    #[schema(rename = "count")]
    total: u32,
}

fn main() {}
