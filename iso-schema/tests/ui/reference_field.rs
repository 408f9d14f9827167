#[derive(iso_schema::Schema)]
struct Borrowed<'a> {
    name: &'a str,
}

fn main() {}
