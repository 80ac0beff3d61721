//! The expansion state machine: a character-by-character port of BuildKit's `shellWord`
//! (`processStopOn`, quotes, `processDollar`, `processName`), quirks included, because a
//! Dockerfile must expand to the same strings under kiln as under `docker build`.
//!
//! Quirks kept on purpose:
//! * A byte-order mark as the very first character is dropped (Go's `text/scanner`).
//! * In `${v:Xword}`, `word` is scanned (and `v` looked up) before an unknown modifier `X`
//!   is rejected; with `skip_unset_env` and `v` unset it is kept verbatim instead.
//! * `${v//p/r}` with `skip_unset_env` and `v` unset is written back as `${v/p/r}`.

use std::borrow::Cow;
use std::cell::Cell;
use std::collections::BTreeSet;

use super::pattern::{PatternCache, GO_EOF_CHAR};
use super::{Env, Expansion, Lexer, ShellError};
pub(super) use crate::dockerfile::go_text::go_quote;
use crate::dockerfile::go_text::is_space;

/// How deeply `${v:-${w:-…}}` may nest. Go grows its stack; a Rust thread does not, so an
/// adversarial word gets an error here instead of a stack overflow. Real Dockerfiles nest a
/// handful of levels.
pub(super) const MAX_NESTING: usize = 200;

thread_local! {
    /// The character buffer of the last scan on this thread, reused by the next one: the
    /// planner expands thousands of short words, each of which would allocate its own.
    static CHARS: Cell<Vec<char>> = const { Cell::new(Vec::new()) };
}

/// A buffer that grew beyond this (a long heredoc body) is freed rather than kept.
const MAX_POOLED_CHARS: usize = 1 << 14;

pub(super) struct Scanner<'a> {
    lexer: &'a Lexer,
    env: &'a dyn Env,
    chars: Vec<char>,
    pos: usize,
    raw_escapes: bool,
    /// BuildKit's `shellWord.wordsBuffer`: the word being built, shared by nested scans.
    words_buf: String,
    matched: BTreeSet<String>,
    unmatched: BTreeSet<String>,
    depth: usize,
    patterns: PatternCache,
    /// Whether the caller wants the split words; [`Lexer::process_word`] does not, and
    /// skipping the word buffer saves a copy of every character (and of every value).
    split: bool,
    /// Whether the caller wants the matched/unmatched names (one allocation per reference).
    track: bool,
}

impl<'a> Scanner<'a> {
    /// A scanner that produces everything ([`Lexer::process`]).
    pub(super) fn new(lexer: &'a Lexer, env: &'a dyn Env, word: &str) -> Self {
        Self::with_outputs(lexer, env, word, true, true)
    }

    /// A scanner that builds the split words only when `split`, and the matched/unmatched
    /// name sets only when `track`; the expanded value is the same either way.
    pub(super) fn with_outputs(
        lexer: &'a Lexer,
        env: &'a dyn Env,
        word: &str,
        split: bool,
        track: bool,
    ) -> Self {
        let word = word.strip_prefix('\u{FEFF}').unwrap_or(word);
        let mut chars = CHARS.with(Cell::take);
        chars.clear();
        chars.extend(word.chars());
        Scanner {
            lexer,
            env,
            chars,
            pos: 0,
            raw_escapes: lexer.raw_escapes,
            words_buf: String::new(),
            matched: BTreeSet::new(),
            unmatched: BTreeSet::new(),
            depth: 0,
            patterns: PatternCache::default(),
            split,
            track,
        }
    }

    /// Expands the whole word; errors carry BuildKit's `failed to process "…"` prefix.
    pub(super) fn run(mut self, source: &str) -> Result<Expansion, ShellError> {
        let raw = self.raw_escapes;
        let result = self.process_stop_on(None, raw);
        let chars = std::mem::take(&mut self.chars);
        if chars.capacity() <= MAX_POOLED_CHARS {
            CHARS.with(|c| c.set(chars));
        }
        match result {
            Ok((value, words)) => Ok(Expansion {
                value,
                words,
                matched: self.matched,
                unmatched: self.unmatched,
            }),
            Err(msg) => Err(ShellError(format!(
                "failed to process {}: {msg}",
                go_quote(source)
            ))),
        }
    }

    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }

    fn next(&mut self) -> Option<char> {
        let c = self.peek();
        if c.is_some() {
            self.pos += 1;
        }
        c
    }

    fn process_stop_on(
        &mut self,
        stop: Option<char>,
        raw_escapes: bool,
    ) -> Result<(String, Vec<String>), String> {
        if self.depth >= MAX_NESTING {
            return Err(format!(
                "variable substitutions nested more than {MAX_NESTING} levels deep"
            ));
        }
        self.depth += 1;
        let saved = std::mem::replace(&mut self.raw_escapes, raw_escapes);
        // A nested `${v<op>word}` scan has a word list of its own (as in BuildKit, where each
        // scan owns its words): the outer word being built must survive it.
        let outer_word = std::mem::take(&mut self.words_buf);
        let result = self.scan_until(stop);
        self.words_buf = outer_word;
        self.raw_escapes = saved;
        self.depth -= 1;
        result
    }

    fn scan_until(&mut self, stop: Option<char>) -> Result<(String, Vec<String>), String> {
        // The outermost scan usually yields about as much as it reads.
        let mut result = if self.depth == 1 {
            String::with_capacity(self.chars.len())
        } else {
            String::new()
        };
        let mut words = Vec::new();
        self.words_buf.clear();
        let quotes = !self.lexer.skip_process_quotes;
        while let Some(ch) = self.peek() {
            if Some(ch) == stop {
                self.pos += 1;
                self.flush_word(&mut words);
                return Ok((result, words));
            }
            match ch {
                '$' => {
                    let value = self.process_dollar()?;
                    result.push_str(&value);
                    // Unquoted expansion results are split on whitespace.
                    if self.split {
                        for c in value.chars() {
                            self.add_char(&mut words, c);
                        }
                    }
                }
                '\'' if quotes => {
                    let value = self.process_single_quote()?;
                    result.push_str(&value);
                    if self.split {
                        self.words_buf.push_str(&value);
                    }
                }
                '"' if quotes => {
                    let value = self.process_double_quote()?;
                    result.push_str(&value);
                    if self.split {
                        self.words_buf.push_str(&value);
                    }
                }
                _ => {
                    self.pos += 1;
                    let mut ch = ch;
                    if ch == self.lexer.escape {
                        if self.raw_escapes {
                            if self.split {
                                self.words_buf.push(ch);
                            }
                            result.push(ch);
                        }
                        // The escape token makes the next character literal; at the end
                        // of the input it is dropped.
                        match self.next() {
                            None => break,
                            Some(escaped) => ch = escaped,
                        }
                        if self.split {
                            self.words_buf.push(ch);
                        }
                    } else {
                        self.add_char(&mut words, ch);
                    }
                    result.push(ch);
                }
            }
        }
        if let Some(stop) = stop {
            return Err(format!(
                "unexpected end of statement while looking for matching {stop}"
            ));
        }
        self.flush_word(&mut words);
        Ok((result, words))
    }

    /// BuildKit's `wordsStruct.addChar`: whitespace ends a non-empty word and is dropped.
    fn add_char(&mut self, words: &mut Vec<String>, c: char) {
        if !self.split {
            return;
        }
        if is_space(c) {
            self.flush_word(words);
        } else {
            self.words_buf.push(c);
        }
    }

    fn flush_word(&mut self, words: &mut Vec<String>) {
        if !self.words_buf.is_empty() {
            words.push(std::mem::take(&mut self.words_buf));
        }
    }

    /// Everything up to the next `'` is literal; a `'` cannot be escaped inside.
    fn process_single_quote(&mut self) -> Result<String, String> {
        let mut result = String::new();
        let open = self.next();
        if self.lexer.raw_quotes {
            result.extend(open);
        }
        loop {
            match self.next() {
                None => {
                    return Err(
                        "unexpected end of statement while looking for matching single-quote"
                            .to_string(),
                    )
                }
                Some('\'') => {
                    if self.lexer.raw_quotes {
                        result.push('\'');
                    }
                    return Ok(result);
                }
                Some(c) => result.push(c),
            }
        }
    }

    /// `$` still expands; the escape token escapes only `"`, `$` and itself.
    fn process_double_quote(&mut self) -> Result<String, String> {
        let mut result = String::new();
        let open = self.next();
        if self.lexer.raw_quotes {
            result.extend(open);
        }
        loop {
            match self.peek() {
                None => {
                    return Err(
                        "unexpected end of statement while looking for matching double-quote"
                            .to_string(),
                    )
                }
                Some('"') => {
                    self.pos += 1;
                    if self.lexer.raw_quotes {
                        result.push('"');
                    }
                    return Ok(result);
                }
                Some('$') => {
                    let value = self.process_dollar()?;
                    result.push_str(&value);
                }
                Some(mut ch) => {
                    self.pos += 1;
                    let escape = self.lexer.escape;
                    if ch == escape {
                        if self.raw_escapes {
                            result.push(ch);
                        }
                        match self.peek() {
                            None => continue,
                            Some(c) if c == '"' || c == '$' || c == escape => {
                                self.pos += 1;
                                ch = c;
                            }
                            Some(_) => {}
                        }
                    }
                    result.push(ch);
                }
            }
        }
    }

    /// The expansion of one `$…`; borrowed from the environment when it is a plain lookup.
    fn process_dollar(&mut self) -> Result<Cow<'a, str>, String> {
        self.pos += 1; // the '$'
        if self.peek() != Some('{') {
            let name = self.process_name();
            if name.is_empty() {
                return Ok(Cow::Borrowed("$"));
            }
            return Ok(match self.get_env(&name) {
                Some(value) => value,
                None if self.lexer.skip_unset_env => Cow::Owned(format!("${name}")),
                None => Cow::Borrowed(""),
            });
        }
        self.pos += 1; // the '{'
        match self.peek() {
            None => return Err("syntax error: missing '}'".to_string()),
            Some('{' | '}' | ':') => return Err("syntax error: bad substitution".to_string()),
            Some(_) => {}
        }
        let name = self.process_name();
        let first = self.next();
        let mut modifier = first.unwrap_or(GO_EOF_CHAR).to_string();
        match first {
            Some('}') => Ok(match self.get_env(&name) {
                Some(value) => value,
                None if self.lexer.skip_unset_env => Cow::Owned(format!("${{{name}}}")),
                None => Cow::Borrowed(""),
            }),
            Some(':' | '+' | '-' | '?' | '#' | '%') => {
                let mut op = first;
                let null_is_unset = op == Some(':');
                if null_is_unset {
                    op = self.next();
                    modifier.push(op.unwrap_or(GO_EOF_CHAR));
                }
                let pattern_op = matches!(op, Some('#' | '%'));
                if null_is_unset && pattern_op {
                    return Err(format!("unsupported modifier ({modifier}) in substitution"));
                }
                let word = self.scan_word(Some('}'), pattern_op, "syntax error: missing '}'")?;
                let value = self.get_env(&name);
                if value.is_none() && self.lexer.skip_unset_env {
                    return Ok(Cow::Owned(format!("${{{name}{modifier}{word}}}")));
                }
                let unset = match &value {
                    None => true,
                    Some(v) => null_is_unset && v.is_empty(),
                };
                match op {
                    Some('-') => Ok(if unset {
                        Cow::Owned(word)
                    } else {
                        value.unwrap_or_default()
                    }),
                    Some('+') => Ok(if unset {
                        Cow::Borrowed("")
                    } else {
                        Cow::Owned(word)
                    }),
                    Some('?') => {
                        let message = match (&value, word.is_empty()) {
                            (_, false) => word,
                            (None, true) => "is not allowed to be unset".to_string(),
                            (Some(_), true) => "is not allowed to be empty".to_string(),
                        };
                        if unset {
                            Err(format!("{name}: {message}"))
                        } else {
                            Ok(value.unwrap_or_default())
                        }
                    }
                    Some(c @ ('%' | '#')) => {
                        // `%`/`#` trim the shortest match, `%%`/`##` the longest.
                        let (pattern, greedy) = match word.strip_prefix(c) {
                            Some(rest) => (rest, true),
                            None => (word.as_str(), false),
                        };
                        let value = value.unwrap_or_default();
                        if c == '%' {
                            self.patterns.trim_suffix(pattern, &value, greedy)
                        } else {
                            self.patterns.trim_prefix(pattern, &value, greedy)
                        }
                        .map(Cow::Owned)
                    }
                    _ => Err(format!("unsupported modifier ({modifier}) in substitution")),
                }
            }
            Some('/') => {
                let all = self.peek() == Some('/');
                if all {
                    self.pos += 1;
                }
                let pattern =
                    self.scan_word(Some('/'), true, "syntax error: missing '/' in ${}")?;
                let replacement = self.scan_word(Some('}'), true, "syntax error: missing '}'")?;
                let value = self.get_env(&name);
                if value.is_none() && self.lexer.skip_unset_env {
                    return Ok(Cow::Owned(format!("${{{name}/{pattern}/{replacement}}}")));
                }
                let value = value.unwrap_or_default();
                self.patterns
                    .replace(&value, &pattern, &replacement, all)
                    .map(Cow::Owned)
            }
            _ => Err(format!("unsupported modifier ({modifier}) in substitution")),
        }
    }

    /// Scans the word of a `${…}` modifier; running out of input gives `at_eof`.
    fn scan_word(
        &mut self,
        stop: Option<char>,
        raw_escapes: bool,
        at_eof: &str,
    ) -> Result<String, String> {
        match self.process_stop_on(stop, raw_escapes) {
            Ok((word, _)) => Ok(word),
            Err(_) if self.peek().is_none() => Err(at_eof.to_string()),
            Err(e) => Err(e),
        }
    }

    /// A run of letters, digits and `_`; a run of digits only if it starts with a digit; or
    /// one special parameter character.
    fn process_name(&mut self) -> String {
        super::scan_name(&self.chars, &mut self.pos)
    }

    fn get_env(&mut self, name: &str) -> Option<Cow<'a, str>> {
        let value = self.env.lookup_borrowed(name);
        if !self.track {
            return value;
        }
        if value.is_some() {
            self.matched.insert(name.to_string());
        } else {
            self.unmatched.insert(name.to_string());
        }
        value
    }
}
