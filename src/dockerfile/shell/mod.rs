//! Shell-word expansion with the semantics of BuildKit's shell lexer: `$v`, `${v}` and its
//! modifiers, quoting, escapes and word splitting, for the instructions Docker expands.
//!
//! The port follows BuildKit's `frontend/dockerfile/shell/lex.go` character for character,
//! including its quirks (see [`scanner`]), so that a Dockerfile expands to the same strings
//! as under `docker build`. Pattern operators (`#`, `%`, `/`) live in [`pattern`].

mod pattern;
mod scanner;

/// Reads a variable name at `chars[*pos]`, as BuildKit's `processName`: a run of letters,
/// digits and `_`; a run of digits only when it starts with a digit; or one special parameter
/// character. Shared with the parser's heredoc detection, which lexes words the same way.
pub(crate) fn scan_name(chars: &[char], pos: &mut usize) -> String {
    use crate::dockerfile::go_text::{is_digit, is_letter};
    let mut name = String::new();
    while let Some(&c) = chars.get(*pos) {
        if name.is_empty() && is_digit(c) {
            while let Some(&d) = chars.get(*pos).filter(|&&d| is_digit(d)) {
                *pos += 1;
                name.push(d);
            }
            return name;
        }
        if name.is_empty() && matches!(c, '@' | '*' | '#' | '?' | '-' | '$' | '!' | '0') {
            *pos += 1;
            return c.to_string();
        }
        if !is_letter(c) && !is_digit(c) && c != '_' {
            break;
        }
        *pos += 1;
        name.push(c);
    }
    name
}

/// The length in bytes of the name [`scan_name`] reads at the start of `s`.
fn name_len(s: &str) -> usize {
    use crate::dockerfile::go_text::{is_digit, is_letter};
    // Names are nearly always ASCII letters, digits and `_` ended by an ASCII byte: those
    // need no decoding or Unicode tables.
    let bytes = s.as_bytes();
    if bytes
        .first()
        .is_some_and(|b| b.is_ascii_alphabetic() || *b == b'_')
    {
        let end = bytes
            .iter()
            .position(|b| !(b.is_ascii_alphanumeric() || *b == b'_'))
            .unwrap_or(bytes.len());
        if bytes.get(end).is_none_or(u8::is_ascii) {
            return end;
        }
    }
    let mut chars = s.char_indices();
    match chars.next() {
        None => 0,
        Some((_, c)) if is_digit(c) => s
            .char_indices()
            .find(|&(_, d)| !is_digit(d))
            .map_or(s.len(), |(i, _)| i),
        Some((_, '@' | '*' | '#' | '?' | '-' | '$' | '!' | '0')) => 1,
        Some(_) => s
            .char_indices()
            .find(|&(_, c)| !is_letter(c) && !is_digit(c) && c != '_')
            .map_or(s.len(), |(i, _)| i),
    }
}

#[cfg(test)]
mod tests;

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::hash::BuildHasher;

/// Where variable values come from. Names are compared exactly (Linux semantics).
pub trait Env {
    fn lookup(&self, name: &str) -> Option<String>;

    /// [`Env::lookup`], borrowing the value when the environment holds it as a string, so
    /// that expanding `$PATH` does not copy PATH once more than the result needs.
    fn lookup_borrowed(&self, name: &str) -> Option<Cow<'_, str>> {
        self.lookup(name).map(Cow::Owned)
    }
}

impl Env for BTreeMap<String, String> {
    fn lookup(&self, name: &str) -> Option<String> {
        self.get(name).cloned()
    }

    fn lookup_borrowed(&self, name: &str) -> Option<Cow<'_, str>> {
        self.get(name).map(|v| Cow::Borrowed(v.as_str()))
    }
}

impl<S: BuildHasher> Env for HashMap<String, String, S> {
    fn lookup(&self, name: &str) -> Option<String> {
        self.get(name).cloned()
    }

    fn lookup_borrowed(&self, name: &str) -> Option<Cow<'_, str>> {
        self.get(name).map(|v| Cow::Borrowed(v.as_str()))
    }
}

/// Ordered definitions; the last definition of a name wins.
impl Env for [(String, String)] {
    fn lookup(&self, name: &str) -> Option<String> {
        self.iter()
            .rev()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    }
}

/// Ordered definitions; the last definition of a name wins.
impl Env for [(&str, &str)] {
    fn lookup(&self, name: &str) -> Option<String> {
        self.iter()
            .rev()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.to_string())
    }
}

/// `K=V` strings as in a process environment or an image config; the last definition wins,
/// and an entry without `=` defines the name with an empty value (BuildKit's `BuildEnvs`).
impl Env for [String] {
    fn lookup(&self, name: &str) -> Option<String> {
        lookup_assignments(self.iter().map(String::as_str), name)
    }
}

/// `K=V` strings; see the `[String]` implementation.
impl Env for [&str] {
    fn lookup(&self, name: &str) -> Option<String> {
        lookup_assignments(self.iter().copied(), name)
    }
}

impl<T> Env for Vec<T>
where
    [T]: Env,
{
    fn lookup(&self, name: &str) -> Option<String> {
        self.as_slice().lookup(name)
    }
}

impl<T, const N: usize> Env for [T; N]
where
    [T]: Env,
{
    fn lookup(&self, name: &str) -> Option<String> {
        self.as_slice().lookup(name)
    }
}

impl<T: Env + ?Sized> Env for &T {
    fn lookup(&self, name: &str) -> Option<String> {
        (**self).lookup(name)
    }

    fn lookup_borrowed(&self, name: &str) -> Option<Cow<'_, str>> {
        (**self).lookup_borrowed(name)
    }
}

/// The bytes [`Lexer::process_plain`] stops at: the quotes, `$` and the two escape tokens
/// a Dockerfile can choose (`\\` and `` ` ``). Every other byte is text to copy.
const PLAIN_STOPS: [bool; 256] = {
    let mut stops = [false; 256];
    stops[b'"' as usize] = true;
    stops[b'\'' as usize] = true;
    stops[b'$' as usize] = true;
    stops[b'\\' as usize] = true;
    stops[b'`' as usize] = true;
    stops
};

/// Where the first [`PLAIN_STOPS`] byte of `bytes` is. Every word a stage expands is first
/// asked whether it is literal, and most are: eight bytes are tested at a time (each stop
/// byte XORed away, then the usual zero-byte test), which costs less than a table look per
/// byte. (Between the stops of a word that does expand the text is short, and the byte loop
/// of [`Lexer::process_plain`] does better there.)
fn first_plain_stop(bytes: &[u8]) -> Option<usize> {
    const ONES: u64 = u64::from_ne_bytes([0x01; 8]);
    const HIGHS: u64 = u64::from_ne_bytes([0x80; 8]);
    // The high bit of each byte of the result is set where `x` has a zero byte, and may be
    // set above such a byte too (the borrow runs upward), never below the lowest one: so
    // the lowest set bit of the union over the stop bytes marks the first stop exactly.
    let zeros = |x: u64| x.wrapping_sub(ONES) & !x & HIGHS;
    let mut chunks = bytes.chunks_exact(8);
    let mut at = 0;
    for chunk in chunks.by_ref() {
        let mut word = [0; 8];
        word.copy_from_slice(chunk);
        // Little-endian, so that the first byte is the lowest.
        let x = u64::from_le_bytes(word);
        let found = [b'"', b'\'', b'$', b'\\', b'`']
            .iter()
            .fold(0, |acc, &stop| acc | zeros(x ^ (ONES * u64::from(stop))));
        if found != 0 {
            return Some(at + found.trailing_zeros() as usize / 8);
        }
        at += 8;
    }
    chunks
        .remainder()
        .iter()
        .position(|&b| PLAIN_STOPS[usize::from(b)])
        .map(|i| at + i)
}

/// What follows a name inside `${…}` in a plain word: `}` alone, or a default or
/// alternative (`:-`, `-`, `:+`, `+`) whose word is literal text (no escape token either).
/// Gives the rest of the word after the `}` and the expansion; `None` for anything else
/// (left to the scanner).
fn plain_modifier<'v>(
    after_name: &'v str,
    value: Option<Cow<'v, str>>,
    escape: u8,
) -> Option<(&'v str, Cow<'v, str>)> {
    if let Some(tail) = after_name.strip_prefix('}') {
        return Some((tail, value.unwrap_or_default()));
    }
    let (null_is_unset, rest) = match after_name.strip_prefix(':') {
        Some(rest) => (true, rest),
        None => (false, after_name),
    };
    let op = *rest.as_bytes().first()?;
    if op != b'-' && op != b'+' {
        return None;
    }
    let (word, tail) = rest[1..].split_once('}')?;
    if word.contains(['$', '\'', '"', '{']) || word.as_bytes().contains(&escape) {
        return None;
    }
    let unset = value.as_ref().is_none_or(|v| null_is_unset && v.is_empty());
    let text = match (op, unset) {
        (b'-', true) | (b'+', false) => Cow::Borrowed(word),
        (b'-', false) => value.unwrap_or_default(),
        _ => Cow::Borrowed(""),
    };
    Some((tail, text))
}

fn lookup_assignments<'a>(
    entries: impl DoubleEndedIterator<Item = &'a str>,
    name: &str,
) -> Option<String> {
    entries.rev().find_map(|entry| {
        let (key, value) = entry.split_once('=').unwrap_or((entry, ""));
        (key == name).then(|| value.to_string())
    })
}

/// An error from expansion: an unterminated quote, a bad `${…}`, a `${v:?msg}` that fired.
/// The message is BuildKit's, e.g. `failed to process "${v:?msg}": v: msg`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ShellError(pub String);

/// Everything one expansion produces (BuildKit's `ProcessWordResult`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Expansion {
    /// The word expanded into one string, whitespace kept (ProcessWord).
    pub value: String,
    /// The word expanded and split into words (ProcessWords).
    pub words: Vec<String>,
    /// Variables that were referenced and are set.
    pub matched: BTreeSet<String>,
    /// Variables that were referenced and are not set (for "undefined variable" warnings).
    pub unmatched: BTreeSet<String>,
}

/// The lexer's options, as in BuildKit's `shell.Lex`.
#[derive(Debug, Clone)]
pub struct Lexer {
    /// The escape token: `\` by default, or `` ` `` from a `# escape=` directive.
    pub escape: char,
    /// Keep quotes in the output instead of removing them.
    pub raw_quotes: bool,
    /// Keep escape characters in the output.
    pub raw_escapes: bool,
    /// Leave references to unset variables as written (`$NAME`) instead of expanding to "".
    pub skip_unset_env: bool,
    /// Treat `'` and `"` as ordinary characters (BuildKit uses this to expand heredoc bodies).
    pub skip_process_quotes: bool,
}

impl Lexer {
    pub fn new(escape: char) -> Self {
        Lexer {
            escape,
            raw_quotes: false,
            raw_escapes: false,
            skip_unset_env: false,
            skip_process_quotes: false,
        }
    }

    /// Expands `word` once and returns all of BuildKit's results: the single string, the
    /// split words, and the matched and unmatched variable names.
    pub fn process(&self, word: &str, env: &dyn Env) -> Result<Expansion, ShellError> {
        scanner::Scanner::new(self, env, word).run(word)
    }

    /// Whether expanding `word` gives it back unchanged: nothing to expand, unquote or
    /// unescape, and no byte-order mark to drop. Most words are like that, and callers keep
    /// them as they are instead of copying them through the lexer.
    pub fn is_literal(&self, word: &str) -> bool {
        // With `\\` or `` ` `` as escape, every byte that can make a word other than literal
        // is a plain-text stop: a word without any (the usual one) needs no other look.
        if matches!(self.escape, '\\' | '`') && first_plain_stop(word.as_bytes()).is_none() {
            return !word.starts_with('\u{feff}');
        }
        let escape = self.escape;
        let quotes = !self.skip_process_quotes;
        let special = |b: u8| b == b'$' || (quotes && (b == b'"' || b == b'\''));
        match u8::try_from(escape).ok().filter(u8::is_ascii) {
            Some(esc) => {
                !word.bytes().any(|b| special(b) || b == esc) && !word.starts_with('\u{feff}')
            }
            None => {
                !word.bytes().any(special)
                    && !word.contains(escape)
                    && !word.starts_with('\u{feff}')
            }
        }
    }

    /// Expands `word` into one string, without word splitting (BuildKit's ProcessWord).
    pub fn process_word(&self, word: &str, env: &dyn Env) -> Result<String, ShellError> {
        if let Some(value) = self.process_plain(word, env) {
            return Ok(value);
        }
        scanner::Scanner::with_outputs(self, env, word, false, false)
            .run(word)
            .map(|e| e.value)
    }

    /// [`Lexer::process_word`] for the usual word: no escapes or byte-order mark, quotes
    /// that close, and only `$name` and `${name}` references. Such a word expands by copying
    /// its text and the values, without the scanner's character buffer. `None` for any other
    /// word, which the scanner then expands (and reports errors for).
    fn process_plain(&self, word: &str, env: &dyn Env) -> Option<String> {
        // The escape token is `\` or `` ` `` (any other one takes the scanner's way).
        let escape = u8::try_from(self.escape)
            .ok()
            .filter(|e| matches!(e, b'\\' | b'`'))?;
        // An escape anywhere sends the word to the scanner; it is looked for in the one pass
        // below (and in the text that pass jumps over).
        if self.skip_unset_env || word.starts_with('\u{feff}') {
            return None;
        }
        let quotes = !self.skip_process_quotes;
        let bytes = word.as_bytes();
        let mut out = String::with_capacity(word.len());
        let mut in_double = false;
        // Text from `lit` to `i` is copied as it is.
        let (mut lit, mut i) = (0, 0);
        while i < bytes.len() {
            // Most bytes are copied as they are: one table look decides that.
            if !PLAIN_STOPS[usize::from(bytes[i])] {
                i += 1;
                continue;
            }
            match bytes[i] {
                b'"' if quotes => {
                    out.push_str(&word[lit..i]);
                    if self.raw_quotes {
                        out.push('"');
                    }
                    in_double = !in_double;
                    i += 1;
                    lit = i;
                }
                // Inside single quotes everything is literal (and in double quotes, `'` is).
                b'\'' if quotes && !in_double => {
                    out.push_str(&word[lit..i]);
                    let close = i + 1 + word[i + 1..].find('\'')?;
                    if word.as_bytes()[i + 1..close].contains(&escape) {
                        return None;
                    }
                    let (from, to) = if self.raw_quotes {
                        (i, close + 1)
                    } else {
                        (i + 1, close)
                    };
                    out.push_str(&word[from..to]);
                    i = close + 1;
                    lit = i;
                }
                b'$' => {
                    out.push_str(&word[lit..i]);
                    let after = &word[i + 1..];
                    let tail = match after.strip_prefix('{') {
                        Some(inner) => {
                            if inner.is_empty() || inner.starts_with(['{', '}', ':']) {
                                return None;
                            }
                            let len = name_len(inner);
                            let value = env.lookup_borrowed(&inner[..len]);
                            let (tail, text) = plain_modifier(&inner[len..], value, escape)?;
                            out.push_str(&text);
                            tail
                        }
                        None => match name_len(after) {
                            0 => {
                                out.push('$');
                                after
                            }
                            len => {
                                if let Some(value) = env.lookup_borrowed(&after[..len]) {
                                    out.push_str(&value);
                                }
                                &after[len..]
                            }
                        },
                    };
                    i = word.len() - tail.len();
                    lit = i;
                }
                b if b == escape => return None,
                _ => i += 1,
            }
        }
        if in_double {
            return None;
        }
        out.push_str(&word[lit..]);
        Some(out)
    }

    /// As [`Lexer::process_word`], also returning the names of the variables that were
    /// referenced and set (used to warn about build args nothing uses).
    pub fn process_word_with_matches(
        &self,
        word: &str,
        env: &dyn Env,
    ) -> Result<(String, BTreeSet<String>), ShellError> {
        scanner::Scanner::with_outputs(self, env, word, false, true)
            .run(word)
            .map(|e| (e.value, e.matched))
    }

    /// Expands `word` and splits it into words (BuildKit's ProcessWords).
    pub fn process_words(&self, word: &str, env: &dyn Env) -> Result<Vec<String>, ShellError> {
        if self.is_literal(word) {
            // The scanner would only split it on whitespace.
            return Ok(word
                .split(crate::dockerfile::go_text::is_space)
                .filter(|w| !w.is_empty())
                .map(str::to_string)
                .collect());
        }
        scanner::Scanner::with_outputs(self, env, word, true, false)
            .run(word)
            .map(|e| e.words)
    }
}
