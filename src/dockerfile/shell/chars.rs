//! Go's `unicode` character classes, which decide where a variable name ends.
//!
//! Rust's `char::is_alphabetic`/`is_numeric` are wider than Go's `unicode.IsLetter`
//! (general category L) and `unicode.IsDigit` (Nd), so `$ⅷ` or `$²` would end differently.
//! The `regex` crate already carries the general-category tables; use them for non-ASCII.

use std::sync::LazyLock;

use regex::Regex;

static LETTER: LazyLock<Option<Regex>> = LazyLock::new(|| Regex::new(r"\A\p{L}\z").ok());
static DIGIT: LazyLock<Option<Regex>> = LazyLock::new(|| Regex::new(r"\A\p{Nd}\z").ok());
static PRINT: LazyLock<Option<Regex>> =
    LazyLock::new(|| Regex::new(r"\A[\p{L}\p{M}\p{N}\p{P}\p{S}]\z").ok());

fn in_class(class: &LazyLock<Option<Regex>>, c: char) -> bool {
    let mut buf = [0u8; 4];
    class
        .as_ref()
        .is_some_and(|re| re.is_match(c.encode_utf8(&mut buf)))
}

/// Go's `unicode.IsLetter`.
pub(super) fn is_go_letter(c: char) -> bool {
    if c.is_ascii() {
        c.is_ascii_alphabetic()
    } else {
        in_class(&LETTER, c)
    }
}

/// Go's `unicode.IsDigit`.
pub(super) fn is_go_digit(c: char) -> bool {
    if c.is_ascii() {
        c.is_ascii_digit()
    } else {
        in_class(&DIGIT, c)
    }
}

/// Go's `strconv.IsPrint`: letters, marks, numbers, punctuation, symbols and ASCII space.
pub(super) fn is_go_print(c: char) -> bool {
    if c.is_ascii() {
        c == ' ' || c.is_ascii_graphic()
    } else {
        in_class(&PRINT, c)
    }
}

/// Go's `unicode.IsSpace`: the White_Space property, which is what Rust implements too.
pub(super) fn is_go_space(c: char) -> bool {
    c.is_whitespace()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classes_match_go() {
        assert!(is_go_letter('a') && is_go_letter('한') && is_go_letter('é'));
        assert!(!is_go_letter('_') && !is_go_letter('1') && !is_go_letter('Ⅷ'));
        assert!(is_go_digit('7') && is_go_digit('٣'));
        assert!(!is_go_digit('²') && !is_go_digit('Ⅷ') && !is_go_digit('a'));
        assert!(is_go_space('\u{85}') && is_go_space('\u{a0}') && is_go_space('\u{3000}'));
        assert!(!is_go_space('\u{200b}'));
        assert!(is_go_print('☃') && is_go_print('é') && is_go_print(' '));
        assert!(!is_go_print('\u{a0}') && !is_go_print('\u{feff}') && !is_go_print('\t'));
    }
}
