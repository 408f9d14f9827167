//! "Did you mean": the name among the known ones closest to a mistyped one.

/// The name in `known` closest to `typed`, when it is close enough to be a
/// typo of it (a Jaro-Winkler similarity of 0.8 or more, as cargo uses).
pub fn closest<'a>(typed: &str, known: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    known
        .into_iter()
        .map(|name| (strsim::jaro_winkler(typed, name), name))
        .filter(|(score, _)| *score >= 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, name)| name)
}

/// ` (did you mean `name`?)` for the closest of `known`, or nothing.
pub fn did_you_mean<'a>(typed: &str, known: impl IntoIterator<Item = &'a str>) -> String {
    closest(typed, known).map_or_else(String::new, |name| format!(" (did you mean `{name}`?)"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_typo_finds_its_name_and_a_stranger_finds_none() {
        assert_eq!(
            closest("incremnet", ["get", "increment"]),
            Some("increment")
        );
        assert_eq!(closest("nte", ["note", "title"]), Some("note"));
        assert_eq!(closest("zzz", ["get", "increment"]), None);
    }
}
