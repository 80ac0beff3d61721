//! Go's notion of character classes, case and quoting, which BuildKit's parser and shell lexer
//! inherit (where a variable name ends, what counts as a space, how the dump quotes). Rust's
//! `char::is_alphabetic`/`is_numeric` are wider than Go's `unicode.IsLetter`/`IsDigit`. The
//! general categories come from Unicode 15.0, the version Go's `unicode` package carries.

use unicode_general_category::{get_general_category, GeneralCategory as Gc};

/// Go's `unicode.IsSpace`; the same set as Rust's `char::is_whitespace` (White_Space).
pub(crate) fn is_space(c: char) -> bool {
    c.is_whitespace()
}

/// Go's `unicode.IsSpace` applied to a single byte taken as a rune (Latin-1), as BuildKit's
/// byte-wise loops (flag extraction, HEALTHCHECK) do: 0x85 and 0xA0 count as spaces there.
pub(crate) fn is_space_byte(b: u8) -> bool {
    BYTE_CLASS[usize::from(b)] & SPACE_BYTE != 0
}

/// [`is_space_byte`].
pub(crate) const SPACE_BYTE: u8 = 1;
/// `[\t\v\f\r ]`, the separators of BuildKit's keyword and whitespace-split regexps.
pub(crate) const SEPARATOR: u8 = 2;
/// Bytes that keep a `--flag` word from being taken as it is: non-ASCII and quotes (the
/// escape token is checked apart, as it varies).
pub(crate) const FLAG_SPECIAL: u8 = 4;

/// The ASCII part of Go's `unicode.IsSpace` ([`is_ascii_space`]).
pub(crate) const ASCII_SPACE: u8 = 8;
/// The two escape tokens a Dockerfile may choose.
pub(crate) const BACKSLASH: u8 = 16;
pub(crate) const BACKTICK: u8 = 32;
/// `$` and `<`, which heredoc detection looks for.
pub(crate) const DOLLAR: u8 = 64;
pub(crate) const LESS_THAN: u8 = 128;

/// The [`BYTE_CLASS`] bit of an escape token; `None` for a token no Dockerfile can choose.
pub(crate) fn escape_class(escape: char) -> Option<u8> {
    match escape {
        '\\' => Some(BACKSLASH),
        '`' => Some(BACKTICK),
        _ => None,
    }
}

/// Byte classes for the parser's byte-wise loops: one table load instead of a chain of
/// comparisons per byte.
pub(crate) static BYTE_CLASS: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut b = 0;
    while b < 256 {
        let mut c = 0;
        if matches!(b, 0x09 | 0x0a | 0x0b | 0x0c | 0x0d | 0x20 | 0x85 | 0xa0) {
            c |= SPACE_BYTE;
        }
        if matches!(b, 0x09 | 0x0b | 0x0c | 0x0d | 0x20) {
            c |= SEPARATOR;
        }
        if b >= 0x80 || b == b'\'' as usize || b == b'"' as usize {
            c |= FLAG_SPECIAL;
        }
        if matches!(b, 0x09 | 0x0a | 0x0b | 0x0c | 0x0d | 0x20) {
            c |= ASCII_SPACE;
        }
        if b == b'\\' as usize {
            c |= BACKSLASH;
        }
        if b == b'`' as usize {
            c |= BACKTICK;
        }
        if b == b'$' as usize {
            c |= DOLLAR;
        }
        if b == b'<' as usize {
            c |= LESS_THAN;
        }
        t[b] = c;
        b += 1;
    }
    t
};

/// The ASCII part of Go's `unicode.IsSpace`.
pub(crate) fn is_ascii_space(b: u8) -> bool {
    matches!(b, b'\t' | b'\n' | 0x0b | 0x0c | b'\r' | b' ')
}

/// Go's `unicode.IsSpace`, ASCII first.
pub(crate) fn is_space_char(c: char) -> bool {
    if c.is_ascii() {
        is_ascii_space(c as u8)
    } else {
        is_space(c)
    }
}

/// The character at byte `i` of `s` (a character boundary) and its length in bytes, for
/// loops that look at bytes while the text is ASCII.
pub(crate) fn char_at(s: &str, i: usize) -> Option<(char, usize)> {
    let b = *s.as_bytes().get(i)?;
    if b.is_ascii() {
        return Some((b as char, 1));
    }
    let c = s.get(i..)?.chars().next()?;
    Some((c, c.len_utf8()))
}

/// Go's `strings.TrimSpace`. Looks at bytes while they are ASCII (nearly always), since
/// this runs on every line.
#[inline]
pub(crate) fn trim_space(s: &str) -> &str {
    trim_right_space(trim_left_space(s))
}

/// Go's `strings.TrimLeftFunc(s, unicode.IsSpace)`.
#[inline]
pub(crate) fn trim_left_space(s: &str) -> &str {
    let b = s.as_bytes();
    let mut i = 0;
    while let Some(&c) = b.get(i) {
        if BYTE_CLASS[usize::from(c)] & ASCII_SPACE == 0 {
            if !c.is_ascii() {
                // `i` is at a character boundary: only ASCII bytes were skipped.
                return trim_start_general(&s[i..]);
            }
            break;
        }
        i += 1;
    }
    &s[i..]
}

#[cold]
fn trim_start_general(s: &str) -> &str {
    s.trim_start_matches(is_space)
}

/// Go's `strings.TrimRightFunc(s, unicode.IsSpace)`.
#[inline]
pub(crate) fn trim_right_space(s: &str) -> &str {
    let b = s.as_bytes();
    let mut end = b.len();
    while end > 0 {
        let c = b[end - 1];
        if BYTE_CLASS[usize::from(c)] & ASCII_SPACE == 0 {
            if !c.is_ascii() {
                return trim_end_general(&s[..end]);
            }
            break;
        }
        end -= 1;
    }
    &s[..end]
}

#[cold]
fn trim_end_general(s: &str) -> &str {
    s.trim_end_matches(is_space)
}

/// Go's `unicode.IsLetter` (category L).
pub(crate) fn is_letter(c: char) -> bool {
    if c.is_ascii() {
        return c.is_ascii_alphabetic();
    }
    matches!(
        get_general_category(c),
        Gc::UppercaseLetter
            | Gc::LowercaseLetter
            | Gc::TitlecaseLetter
            | Gc::ModifierLetter
            | Gc::OtherLetter
    )
}

/// Go's `unicode.IsDigit` (category Nd).
pub(crate) fn is_digit(c: char) -> bool {
    if c.is_ascii() {
        return c.is_ascii_digit();
    }
    get_general_category(c) == Gc::DecimalNumber
}

/// Go's `strconv.IsPrint`: letters, marks, numbers, punctuation, symbols and the ASCII space.
pub(crate) fn is_print(c: char) -> bool {
    let r = c as u32;
    if r <= 0xff {
        return (0x20..=0x7e).contains(&r) || ((0xa1..=0xff).contains(&r) && r != 0xad);
    }
    !matches!(
        get_general_category(c),
        Gc::Control
            | Gc::Format
            | Gc::Surrogate
            | Gc::PrivateUse
            | Gc::Unassigned
            | Gc::SpaceSeparator
            | Gc::LineSeparator
            | Gc::ParagraphSeparator
    )
}

/// Go's `strings.ToLower`: simple (one-to-one) case mapping per character.
pub(crate) fn go_lower(s: &str) -> String {
    if s.is_ascii() {
        return s.to_ascii_lowercase();
    }
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if c == '\u{130}' {
            // The only character whose full lowercase mapping differs from the simple one.
            out.push('i');
            continue;
        }
        let mut lower = c.to_lowercase();
        match (lower.next(), lower.next()) {
            (Some(l), None) => out.push(l),
            _ => out.push(c),
        }
    }
    out
}

/// Go's `strconv.Quote`, byte for byte (the dump format depends on it).
pub fn go_quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    go_quote_into(s, &mut out);
    out
}

pub(crate) fn go_quote_into(s: &str, out: &mut String) {
    use std::fmt::Write;
    out.push('"');
    let bytes = s.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        // Runs of plain printable ASCII are copied at once.
        let start = i;
        while i < bytes.len()
            && matches!(bytes[i], 0x20..=0x7e)
            && !matches!(bytes[i], b'"' | b'\\')
        {
            i += 1;
        }
        out.push_str(&s[start..i]);
        let Some(c) = s[i..].chars().next() else {
            break;
        };
        i += c.len_utf8();
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if is_print(c) => out.push(c),
            '\u{7}' => out.push_str("\\a"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{b}' => out.push_str("\\v"),
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                let _ = write!(out, "\\x{:02x}", c as u32);
            }
            c if (c as u32) < 0x10000 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => {
                let _ = write!(out, "\\U{:08x}", c as u32);
            }
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quote_matches_go() {
        assert_eq!(go_quote("a\"b\\c"), r#""a\"b\\c""#);
        assert_eq!(go_quote("\u{0}\u{7f}\t\n"), r#""\x00\x7f\t\n""#);
        assert_eq!(go_quote("é☃한"), "\"é☃한\"");
        assert_eq!(go_quote("\u{a0}\u{ad}\u{2028}"), r#""\u00a0\u00ad\u2028""#);
        assert_eq!(go_quote("\u{e0000}\u{1f600}"), "\"\\U000e0000\u{1f600}\"");
        assert_eq!(go_quote("\u{feff}"), r#""\ufeff""#);
    }

    #[test]
    fn lower_is_simple_mapping() {
        assert_eq!(go_lower("RUN"), "run");
        assert_eq!(go_lower("WOR\u{212a}DIR"), "workdir");
        assert_eq!(go_lower("\u{130}"), "i");
        assert_eq!(go_lower("ΣΣ"), "σσ");
    }
}

#[cfg(test)]
mod class_tests {
    use super::*;

    #[test]
    fn trims_match_the_char_based_ones() {
        for s in [
            "",
            " ",
            " \t a b \r\n",
            "\u{a0} x\u{3000}",
            "x\u{85}",
            "\u{b}\u{c}y z\u{2028} ",
            "é",
            " é ",
            "\u{200b}a\u{200b}",
            "a \u{a0} ",
        ] {
            assert_eq!(trim_left_space(s), s.trim_start_matches(is_space), "{s:?}");
            assert_eq!(trim_right_space(s), s.trim_end_matches(is_space), "{s:?}");
            assert_eq!(trim_space(s), s.trim_matches(is_space), "{s:?}");
        }
    }

    #[test]
    fn classes_match_go() {
        assert!(is_letter('a') && is_letter('한') && is_letter('é'));
        assert!(!is_letter('_') && !is_letter('1') && !is_letter('Ⅷ'));
        assert!(is_digit('7') && is_digit('٣'));
        assert!(!is_digit('²') && !is_digit('Ⅷ') && !is_digit('a'));
        assert!(is_space('\u{85}') && is_space('\u{a0}') && is_space('\u{3000}'));
        assert!(!is_space('\u{200b}'));
        assert!(is_print('☃') && is_print('é') && is_print(' '));
        assert!(!is_print('\u{a0}') && !is_print('\u{feff}') && !is_print('\t'));
    }
}
