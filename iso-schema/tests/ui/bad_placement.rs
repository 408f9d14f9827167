#[derive(iso_schema::Schema)]
enum Mode {
    #[schema(skip)]
    Off,
    #[schema(default)]
    On(#[schema(rename = "x")] u32),
}

#[derive(iso_schema::Schema)]
enum Empty {}

fn main() {}
