//! Physical lines and line continuation, as BuildKit's scanner and regexps see them.

use super::MAX_LINE_LEN;
use std::borrow::Cow;

/// Splits the input after each `\n`, keeping the newline, like BuildKit's `scanLines`. A line
/// longer than [`MAX_LINE_LEN`] bytes (before its `\n`) stops the reader, as Go's scanner stops
/// with `ErrTooLong`; the parser reports it after finishing what it has.
pub(crate) struct LineReader<'a> {
    src: &'a [u8],
    /// The whole input when it is valid UTF-8 (the usual case): lines are borrowed from it.
    text: Option<&'a str>,
    pos: usize,
    too_long: bool,
}

impl<'a> LineReader<'a> {
    pub(crate) fn new(src: &'a [u8]) -> Self {
        LineReader {
            src,
            text: std::str::from_utf8(src).ok(),
            pos: 0,
            too_long: false,
        }
    }

    /// A reader over `src` from byte `pos` (the start of a line), with `text` the input
    /// already checked as UTF-8 (or `None` when it is not).
    pub(crate) fn starting_at(src: &'a [u8], text: Option<&'a str>, pos: usize) -> Self {
        LineReader {
            src,
            text,
            pos,
            too_long: false,
        }
    }

    /// The byte where the next line starts.
    pub(crate) fn position(&self) -> usize {
        self.pos
    }

    /// How many lines are left (an upper bound on the instructions still to come).
    pub(crate) fn remaining_lines(&self) -> usize {
        let rest = self.src.get(self.pos..).unwrap_or_default();
        memchr::memchr_iter(b'\n', rest).count() + 1
    }

    /// The whole input, when it is UTF-8 (every line returned is then a slice of it).
    pub(crate) fn text(&self) -> Option<&'a str> {
        self.text
    }

    pub(crate) fn too_long(&self) -> bool {
        self.too_long
    }

    /// The next line, raw and as text (invalid UTF-8 replaced by U+FFFD), newline kept.
    pub(crate) fn next(&mut self) -> Option<(&'a [u8], Cow<'a, str>)> {
        if self.too_long || self.pos >= self.src.len() {
            return None;
        }
        let rest = &self.src[self.pos..];
        let (content_len, line_len) = match find_newline(rest) {
            Some(i) => (i, i + 1),
            None => (rest.len(), rest.len()),
        };
        if content_len > MAX_LINE_LEN {
            self.too_long = true;
            return None;
        }
        let (start, end) = (self.pos, self.pos + line_len);
        self.pos = end;
        let raw = &self.src[start..end];
        let text = match self.text {
            // Lines end after `\n` or at the end of input: always character boundaries.
            Some(t) => Cow::Borrowed(&t[start..end]),
            None => String::from_utf8_lossy(raw),
        };
        Some((raw, text))
    }
}

/// The first `\n` in `b`. Lines are short: eight bytes at a time with integer arithmetic
/// finds the end of most of them sooner than `memchr`'s vector loop gets going; a line still
/// going after [`SHORT_LINE`] bytes is left to `memchr`.
pub(crate) fn find_newline(b: &[u8]) -> Option<usize> {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGHS: u64 = 0x8080_8080_8080_8080;
    let mut i = 0;
    while i < SHORT_LINE {
        let Some(chunk) = b.get(i..i + 8) else {
            return b[i..].iter().position(|&c| c == b'\n').map(|p| i + p);
        };
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        let x = u64::from_le_bytes(word) ^ (ONES * u64::from(b'\n'));
        // A byte of `x` is zero where `b` holds `\n`; the lowest flagged byte is exact (a
        // borrow runs only upwards from a zero byte).
        let zeros = x.wrapping_sub(ONES) & !x & HIGHS;
        if zeros != 0 {
            return Some(i + (zeros.trailing_zeros() / 8) as usize);
        }
        i += 8;
    }
    memchr::memchr(b'\n', &b[i..]).map(|p| i + p)
}

/// How far [`find_newline`] looks eight bytes at a time.
const SHORT_LINE: usize = 128;

/// Removes all trailing `\r` and `\n`.
pub(crate) fn trim_newline(s: &str) -> &str {
    let b = s.as_bytes();
    let mut end = b.len();
    while end > 0 && matches!(b[end - 1], b'\r' | b'\n') {
        end -= 1;
    }
    // Only ASCII bytes were cut: `end` is a character boundary.
    &s[..end]
}

/// BuildKit's continuation regexp `([^E])E[ \t]*$|^E[ \t]*$`: returns the line without the
/// continuation token and whether the instruction ends here.
pub(crate) fn trim_continuation(line: &str, escape: char) -> (&str, bool) {
    // The escape token is `\\` or `` ` ``: a byte.
    let Ok(esc) = u8::try_from(escape) else {
        return (line, true);
    };
    let b = line.as_bytes();
    let mut end = b.len();
    while end > 0 && matches!(b[end - 1], b' ' | b'\t') {
        end -= 1;
    }
    if end > 0 && b[end - 1] == esc && esc.is_ascii() && (end == 1 || b[end - 2] != esc) {
        // Only ASCII bytes were cut.
        return (&line[..end - 1], false);
    }
    (line, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn continuation() {
        assert_eq!(trim_continuation("echo \\", '\\'), ("echo ", false));
        assert_eq!(trim_continuation("echo \\ \t", '\\'), ("echo ", false));
        assert_eq!(trim_continuation("\\", '\\'), ("", false));
        assert_eq!(trim_continuation("a\\\\", '\\'), ("a\\\\", true));
        assert_eq!(trim_continuation("a`", '`'), ("a", false));
        assert_eq!(trim_continuation("a\\", '`'), ("a\\", true));
        assert_eq!(trim_continuation("a \\\r", '\\'), ("a \\\r", true));
    }

    #[test]
    fn newline_search_matches_memchr() {
        let mut b = Vec::new();
        for len in 0..300usize {
            for at in [
                None,
                Some(0),
                Some(len / 2),
                Some(len.saturating_sub(1)),
                Some(129),
            ] {
                b.clear();
                // Bytes next to `\n` in value, to trip the arithmetic if it were wrong.
                b.extend((0..len).map(|k| [0x0b, 0x09, 0x8a, 0x00, b'a'][k % 5]));
                if let Some(at) = at.filter(|&a| a < len) {
                    b[at] = b'\n';
                    if at + 3 < len {
                        b[at + 3] = b'\n';
                    }
                }
                assert_eq!(find_newline(&b), memchr::memchr(b'\n', &b), "{len} {at:?}");
            }
        }
    }

    #[test]
    fn line_limit() {
        let ok = vec![b'a'; MAX_LINE_LEN];
        assert_eq!(
            LineReader::new(&ok).next().map(|l| l.0.len()),
            Some(MAX_LINE_LEN)
        );
        let long = vec![b'a'; MAX_LINE_LEN + 1];
        let mut r = LineReader::new(&long);
        assert!(r.next().is_none());
        assert!(r.too_long());
    }
}
