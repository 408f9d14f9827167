#[derive(iso_schema::Schema)]
union Bits {
    int: u32,
    float: f32,
}

fn main() {}
