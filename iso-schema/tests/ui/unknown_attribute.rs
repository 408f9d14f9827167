#[derive(iso_schema::Schema)]
struct State {
    #[schema(defualt)]
    count: u32,
}

fn main() {}
