//! The exec-form test: is the argument text a JSON array of strings, as Go's
//! `json.Unmarshal` into `[]any` decides it? Hand-written (no recursion, no allocation for
//! skipped values) so that Go's corner cases hold: any valid JSON may appear as an element,
//! nesting up to 10,000 levels, and a number that overflows float64 makes the whole text
//! "not JSON" rather than "not strings".

#[cfg(test)]
use super::List;
use std::borrow::Cow;

/// What the argument text turned out to be.
#[cfg(test)]
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum JsonArray<'s> {
    /// Not a JSON array (syntax error, or a number out of float64 range): use the text as is.
    NotJson,
    /// Valid JSON array with at least one element that is not a string: an error.
    NotStrings,
    /// The strings, borrowed from the text where they have no escapes (a few kept in place:
    /// exec forms are short).
    Strings(List<Cow<'s, str>, 4>),
}

/// Go's encoding/json maximum nesting depth.
const MAX_DEPTH: usize = 10_000;

/// Parses `text`, which must already be left-trimmed and start with `[`.
#[cfg(test)]
pub(crate) fn parse_array(text: &str) -> JsonArray<'_> {
    let mut items = List::new();
    match parse_array_each(text, |s| items.push(s)) {
        JsonForm::NotJson => JsonArray::NotJson,
        JsonForm::NotStrings => JsonArray::NotStrings,
        JsonForm::Strings => JsonArray::Strings(items),
    }
}

/// What the argument text turned out to be, its strings handed out as read.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum JsonForm {
    NotJson,
    NotStrings,
    Strings,
}

/// [`parse_array`], handing each string of the top array to `each` as it is read (straight
/// into the node, with no list in between). Strings are handed out before the end is known
/// to be valid: unless the answer is [`JsonForm::Strings`], the caller drops them.
pub(crate) fn parse_array_each<'s>(text: &'s str, mut each: impl FnMut(Cow<'s, str>)) -> JsonForm {
    let mut p = Parser {
        text,
        s: text.as_bytes(),
        pos: 0,
        overflow: false,
    };
    match p.top_level(&mut each) {
        Some(_) if p.overflow => JsonForm::NotJson,
        Some(true) => JsonForm::Strings,
        Some(false) => JsonForm::NotStrings,
        None => JsonForm::NotJson,
    }
}

struct Parser<'a> {
    text: &'a str,
    s: &'a [u8],
    pos: usize,
    overflow: bool,
}

impl<'a> Parser<'a> {
    fn peek(&self) -> Option<u8> {
        self.s.get(self.pos).copied()
    }

    fn ws(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.peek() {
            self.pos += 1;
        }
    }

    fn eat(&mut self, b: u8) -> Option<()> {
        if self.peek() == Some(b) {
            self.pos += 1;
            Some(())
        } else {
            None
        }
    }

    /// The top array; whether all its elements are strings (each handed to `each`).
    fn top_level(&mut self, each: &mut impl FnMut(Cow<'a, str>)) -> Option<bool> {
        self.ws();
        self.eat(b'[')?;
        let mut all_strings = true;
        self.ws();
        if self.eat(b']').is_none() {
            loop {
                self.ws();
                if self.peek() == Some(b'"') {
                    each(self.string(true)?);
                } else {
                    self.value()?;
                    all_strings = false;
                }
                self.ws();
                match self.peek()? {
                    b',' => self.pos += 1,
                    b']' => {
                        self.pos += 1;
                        break;
                    }
                    _ => return None,
                }
            }
        }
        self.ws();
        if self.pos != self.s.len() {
            return None;
        }
        Some(all_strings)
    }

    /// Validates one value of any kind, iteratively. Called one level inside the top array.
    fn value(&mut self) -> Option<()> {
        let mut stack: Vec<u8> = Vec::new();
        'value: loop {
            self.ws();
            match self.peek()? {
                b'[' => {
                    self.pos += 1;
                    stack.push(b'[');
                    if stack.len() + 1 > MAX_DEPTH {
                        return None;
                    }
                    self.ws();
                    if self.eat(b']').is_none() {
                        continue 'value;
                    }
                    stack.pop();
                }
                b'{' => {
                    self.pos += 1;
                    stack.push(b'{');
                    if stack.len() + 1 > MAX_DEPTH {
                        return None;
                    }
                    self.ws();
                    if self.eat(b'}').is_none() {
                        self.key()?;
                        continue 'value;
                    }
                    stack.pop();
                }
                b'"' => {
                    self.string(false)?;
                }
                b't' => self.literal(b"true")?,
                b'f' => self.literal(b"false")?,
                b'n' => self.literal(b"null")?,
                b'-' | b'0'..=b'9' => self.number()?,
                _ => return None,
            }
            // After a complete value: close containers or move to the next element.
            loop {
                let Some(&top) = stack.last() else {
                    return Some(());
                };
                self.ws();
                match (self.peek()?, top) {
                    (b',', b'[') => {
                        self.pos += 1;
                        continue 'value;
                    }
                    (b',', _) => {
                        self.pos += 1;
                        self.ws();
                        self.key()?;
                        continue 'value;
                    }
                    (b']', b'[') | (b'}', b'{') => {
                        self.pos += 1;
                        stack.pop();
                    }
                    _ => return None,
                }
            }
        }
    }

    /// An object key and its colon.
    fn key(&mut self) -> Option<()> {
        if self.peek() != Some(b'"') {
            return None;
        }
        self.string(false)?;
        self.ws();
        self.eat(b':')
    }

    fn literal(&mut self, word: &[u8]) -> Option<()> {
        if self.s[self.pos..].starts_with(word) {
            self.pos += word.len();
            Some(())
        } else {
            None
        }
    }

    fn digits(&mut self) -> usize {
        let start = self.pos;
        while let Some(b'0'..=b'9') = self.peek() {
            self.pos += 1;
        }
        self.pos - start
    }

    fn number(&mut self) -> Option<()> {
        let start = self.pos;
        let _ = self.eat(b'-');
        match self.peek()? {
            b'0' => self.pos += 1,
            b'1'..=b'9' => {
                self.digits();
            }
            _ => return None,
        }
        if self.eat(b'.').is_some() && self.digits() == 0 {
            return None;
        }
        if let Some(b'e' | b'E') = self.peek() {
            self.pos += 1;
            if let Some(b'+' | b'-') = self.peek() {
                self.pos += 1;
            }
            if self.digits() == 0 {
                return None;
            }
        }
        // Decoding into float64 fails for out-of-range numbers, failing the whole Unmarshal.
        let text = std::str::from_utf8(&self.s[start..self.pos]).ok()?;
        if text.parse::<f64>().map(|f| f.is_infinite()).unwrap_or(true) {
            self.overflow = true;
        }
        Some(())
    }

    fn hex4(&self, at: usize) -> Option<u32> {
        let h = self.s.get(at..at + 4)?;
        let mut v = 0u32;
        for &b in h {
            v = v * 16 + (b as char).to_digit(16)?;
        }
        Some(v)
    }

    /// A string at `pos`; decoded (Go's rules, lone surrogates become U+FFFD) when `keep`.
    fn string(&mut self, keep: bool) -> Option<Cow<'a, str>> {
        self.eat(b'"')?;
        let mut out = String::new();
        let first = self.pos;
        let mut escaped = false;
        loop {
            let start = self.pos;
            while let Some(b) = self.peek() {
                if b == b'"' || b == b'\\' || b < 0x20 {
                    break;
                }
                self.pos += 1;
            }
            if keep && escaped {
                // Stopped at ASCII bytes, so these are character boundaries.
                out.push_str(self.text.get(start..self.pos)?);
            }
            match self.peek()? {
                b'"' => {
                    self.pos += 1;
                    if keep && !escaped {
                        // Without escapes the string is its text as written.
                        return self.text.get(first..self.pos - 1).map(Cow::Borrowed);
                    }
                    return Some(Cow::Owned(out));
                }
                b'\\' => {
                    if keep && !escaped {
                        escaped = true;
                        out.push_str(self.text.get(first..self.pos)?);
                    }
                    self.pos += 1;
                    let c = match self.peek()? {
                        b'"' => '"',
                        b'\\' => '\\',
                        b'/' => '/',
                        b'b' => '\u{8}',
                        b'f' => '\u{c}',
                        b'n' => '\n',
                        b'r' => '\r',
                        b't' => '\t',
                        b'u' => {
                            let r = self.hex4(self.pos + 1)?;
                            self.pos += 4;
                            self.surrogate_aware(r)
                        }
                        _ => return None,
                    };
                    self.pos += 1;
                    if keep {
                        out.push(c);
                    }
                }
                _ => return None, // control character
            }
        }
    }

    /// `r` was read from `\uXXXX` ending just before `pos + 1`; joins a following low
    /// surrogate as Go does, else yields U+FFFD for a surrogate.
    fn surrogate_aware(&mut self, r: u32) -> char {
        if !(0xd800..0xe000).contains(&r) {
            return char::from_u32(r).unwrap_or('\u{fffd}');
        }
        let next = self.pos + 1;
        if r < 0xdc00 && self.s.get(next..next + 2) == Some(b"\\u") {
            if let Some(r2) = self.hex4(next + 2) {
                if (0xdc00..0xe000).contains(&r2) {
                    self.pos += 6;
                    let c = 0x10000 + ((r - 0xd800) << 10) + (r2 - 0xdc00);
                    return char::from_u32(c).unwrap_or('\u{fffd}');
                }
            }
        }
        '\u{fffd}'
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(v: &[&str]) -> JsonArray<'static> {
        JsonArray::Strings(v.iter().map(|s| Cow::Owned(s.to_string())).collect())
    }

    #[test]
    fn strings_without_escapes_are_borrowed() {
        let JsonArray::Strings(v) = parse_array(r#"["a b", "c\"d", "", "é\u00e9", "x\\"]"#) else {
            panic!("an array of strings");
        };
        assert!(matches!(v[0], Cow::Borrowed("a b")));
        assert!(matches!(&v[1], Cow::Owned(s) if s == "c\"d"));
        assert!(matches!(v[2], Cow::Borrowed("")));
        assert!(matches!(&v[3], Cow::Owned(s) if s == "éé"));
        assert!(matches!(&v[4], Cow::Owned(s) if s == "x\\"));
    }

    #[test]
    fn arrays_of_strings() {
        assert_eq!(parse_array("[]"), strings(&[]));
        assert_eq!(parse_array("[ \"a\" ,\t\"b\" ] \n"), strings(&["a", "b"]));
        assert_eq!(
            parse_array(r#"["\" \\ \/ \b \f \n \r \t \u0000"]"#),
            strings(&["\" \\ / \u{8} \u{c} \n \r \t \u{0}"])
        );
        assert_eq!(parse_array(r#"["\ud83d\ude00"]"#), strings(&["\u{1f600}"]));
        assert_eq!(parse_array(r#"["\ud83dx"]"#), strings(&["\u{fffd}x"]));
        assert_eq!(parse_array(r#"["\ude00"]"#), strings(&["\u{fffd}"]));
    }

    #[test]
    fn not_strings() {
        assert_eq!(parse_array("[1]"), JsonArray::NotStrings);
        assert_eq!(parse_array(r#"["a", ["x"]]"#), JsonArray::NotStrings);
        assert_eq!(
            parse_array(r#"["a", {"k": [1, {"z": null}]}, true]"#),
            JsonArray::NotStrings
        );
    }

    #[test]
    fn not_json() {
        for t in [
            "[",
            "['a']",
            r#"["a""#,
            r#"["a",]"#,
            r#"["a"] x"#,
            "[\u{b}\"a\"]",
            "[\"a\tb\"]",
            "[01]",
            "[1.]",
            r#"["a", 1e400]"#,
            r#"["\x"]"#,
            r#"[{"a"}]"#,
        ] {
            assert_eq!(parse_array(t), JsonArray::NotJson, "{t}");
        }
    }

    #[test]
    fn depth_limit() {
        let ok = format!("[{}{}]", "[".repeat(9_998), "]".repeat(9_998));
        assert_eq!(parse_array(&ok), JsonArray::NotStrings);
        let deep = format!("[{}{}]", "[".repeat(10_000), "]".repeat(10_000));
        assert_eq!(parse_array(&deep), JsonArray::NotJson);
    }
}
