//! Rules every stored text follows, on every database alike: no U+0000. PostgreSQL cannot
//! store that one character in `text` (SQLite can), so it is refused before any store sees it;
//! every other character, control characters included, is stored and read back unchanged.

/// The character no text may contain.
pub const NUL: char = '\u{0}';

/// Whether `text` can be stored everywhere.
pub fn storable(text: &str) -> bool {
    !text.contains(NUL)
}

/// Text from elsewhere (a model's answer, a tool's result) made storable: U+0000 becomes
/// U+FFFD, the replacement character, instead of the whole text failing to store.
pub fn storable_form(text: String) -> String {
    if storable(&text) {
        text
    } else {
        text.replace(NUL, "\u{FFFD}")
    }
}

/// The refusal for a field with U+0000 in it.
pub fn nul_refused(field: &str) -> String {
    format!("{field} must not contain the character U+0000")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_nul_is_refused() {
        assert!(storable(
            "tab\t newline\n bell\u{7} del\u{7f} bidi\u{202e} nonchar\u{fffe} 😀"
        ));
        assert!(!storable("a\u{0}b"));
        assert_eq!(nul_refused("Title"), "Title must not contain the character U+0000");
        assert_eq!(storable_form("a\u{0}b".into()), "a\u{fffd}b");
    }
}
