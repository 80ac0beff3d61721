//! Heredoc detection. BuildKit splits the instruction line with its shell lexer (escape `\`
//! whatever the directive says, unset variables kept as written, no environment) and treats
//! each word shaped like `[fd]<<[-]NAME` as a heredoc opener. The lexer here is the part of
//! that shell lexer this needs: word splitting, quotes, escapes and `$`/`${}` scanning.

use super::{Heredoc, Heredocs, List};
use crate::dockerfile::go_text::{
    char_at, is_space, is_space_char, ASCII_SPACE, BACKSLASH, BYTE_CLASS, DOLLAR, FLAG_SPECIAL,
    LESS_THAN,
};
use std::borrow::Cow;

/// The heredocs opened on `line`, in order. An error means a heredoc name could not be lexed.
pub(crate) fn heredocs_from_line(line: &str) -> Result<Heredocs<'_>, String> {
    if let Some(openers) = ascii_opener_words(line) {
        // Nearly always one.
        let mut docs = Heredocs::with_capacity(openers.len());
        for word in openers.iter() {
            if let Some(doc) = heredoc_from_word(word)? {
                docs.push(doc);
            }
        }
        return Ok(docs);
    }
    let mut docs = Heredocs::new();
    let special = line
        .bytes()
        .any(|b| matches!(b, b'\'' | b'"' | b'\\' | b'$'));
    let bom = line.as_bytes().contains(&0xef) && line.contains('\u{feff}');
    if !special && !bom {
        // Nothing to unquote, escape or expand: the lexer's words are pieces of the line.
        for word in plain_words(line).filter(|w| may_open_heredoc(w)) {
            if let Some(doc) = heredoc_from_word(word)? {
                // Nearly always the only one: sized for it.
                docs.reserve_exact(1);
                docs.push(doc);
            }
        }
        return Ok(docs);
    }
    // A line that does not lex gives no words, hence no heredocs (BuildKit ignores the error).
    let mut lexer = Lexer::new(line, true, true);
    lexer.only_openers = true;
    let words = lexer.words().unwrap_or_default();
    for word in &words {
        if let Some(doc) = heredoc_from_word(word)? {
            // The word is the lexer's, not a piece of the line.
            docs.push(Heredoc {
                name: Cow::Owned(doc.name.into_owned()),
                file_descriptor: doc.file_descriptor,
                expand: doc.expand,
                chomp: doc.chomp,
                content: Cow::Borrowed(""),
            });
        }
    }
    Ok(docs)
}

/// The words of [`plain_words`] that may open a heredoc, for an ASCII line without quotes,
/// escapes or `$` (the usual heredoc line); `None` for any other line. One pass over the
/// bytes, which also finds out whether the line is such a line.
fn ascii_opener_words(line: &str) -> Option<List<&str, 2>> {
    let b = line.as_bytes();
    // Quotes and non-ASCII bytes (FLAG_SPECIAL), `\` and `$` give up; spaces end a word.
    let stop = ASCII_SPACE | LESS_THAN | FLAG_SPECIAL | BACKSLASH | DOLLAR;
    let mut out = List::new();
    let mut i = 0;
    loop {
        while b
            .get(i)
            .is_some_and(|&c| BYTE_CLASS[usize::from(c)] & ASCII_SPACE != 0)
        {
            i += 1;
        }
        if i == b.len() {
            return Some(out);
        }
        let start = i;
        loop {
            while let Some(&c) = b.get(i) {
                if BYTE_CLASS[usize::from(c)] & stop != 0 {
                    break;
                }
                i += 1;
            }
            match b.get(i) {
                None => break,
                Some(&c) if BYTE_CLASS[usize::from(c)] & ASCII_SPACE != 0 => break,
                Some(b'<') => {
                    i += 1;
                    if b.get(i) == Some(&b'<') {
                        i += 1;
                        while matches!(b.get(i), Some(b'\t' | b'\r' | b' ')) {
                            i += 1;
                        }
                    }
                }
                Some(_) => return None,
            }
        }
        // Only ASCII bytes were read: `start` and `i` are character boundaries.
        let word = &line[start..i];
        if may_open_heredoc(word) {
            out.push(word);
        }
    }
}

/// The words [`Lexer`] finds in a line without quotes, escapes, `$` or byte-order mark:
/// runs of non-space characters, where the blanks right after a `<<` belong to the word.
fn plain_words(line: &str) -> impl Iterator<Item = &str> {
    let b = line.as_bytes();
    let mut pos = 0;
    std::iter::from_fn(move || {
        loop {
            let (c, len) = char_at(line, pos)?;
            if !is_space_char(c) {
                break;
            }
            pos += len;
        }
        let start = pos;
        while let Some((c, len)) = char_at(line, pos) {
            if is_space_char(c) {
                let word = &line[start..pos];
                pos += len;
                return Some(word);
            }
            pos += len;
            if c == '<' && b.get(pos) == Some(&b'<') {
                pos += 1;
                while matches!(b.get(pos), Some(b'\t' | b'\r' | b' ')) {
                    pos += 1;
                }
            }
        }
        Some(&line[start..])
    })
}

/// The heredoc a COPY/ADD source word opens (`<<EOF`, `3<<-'X'`), if it is one; BuildKit's
/// `MustParseHeredoc`, used to tell heredoc sources from paths.
pub fn parse_heredoc(word: &str) -> Option<Heredoc<'_>> {
    heredoc_from_word(word).ok().flatten()
}

/// Removes the leading tabs of every body line, as `<<-` asks (BuildKit's
/// `ChompHeredocContent`); the parser keeps bodies as written.
pub fn chomp_heredoc_content(content: &str) -> String {
    content
        .split_inclusive('\n')
        .map(|line| line.trim_start_matches('\t'))
        .collect()
}

/// Matches `^(\d*)<<(-?)\s*([^<]*)$` and checks that the name is one shell word.
fn heredoc_from_word(word: &str) -> Result<Option<Heredoc<'_>>, String> {
    let digits = word.bytes().take_while(u8::is_ascii_digit).count();
    let Some(after) = word[digits..].strip_prefix("<<") else {
        return Ok(None);
    };
    let (chomp, after) = match after.strip_prefix('-') {
        Some(a) => (true, a),
        None => (false, after),
    };
    let rest = after.trim_start_matches(['\t', '\n', '\u{c}', '\r', ' ']);
    if rest.contains('<') || rest.is_empty() {
        return Ok(None);
    }
    let file_descriptor = match word[..digits].parse::<u64>() {
        Ok(n) => u32::try_from(n).unwrap_or(u32::MAX),
        Err(_) if digits > 0 => u32::MAX, // overflow: Go's ParseUint saturates
        Err(_) => 0,
    };
    let fail = |e: String| {
        format!(
            "failed to process {}: {e}",
            crate::dockerfile::go_text::go_quote(rest)
        )
    };
    // The usual plain name (`EOF`) lexes to itself, unquoted: no need to run the lexer.
    let plain = |c: char| !is_space(c) && !matches!(c, '\'' | '"' | '\\' | '$' | '<' | '\u{feff}');
    if rest.chars().all(plain) {
        return Ok(Some(Heredoc {
            name: Cow::Borrowed(rest),
            file_descriptor,
            expand: true,
            chomp,
            content: Cow::Borrowed(""),
        }));
    }
    let words = Lexer::new(rest, false, false).words().map_err(fail)?;
    if words.len() != 1 {
        return Ok(None);
    }
    let raw = Lexer::new(rest, true, false).words().map_err(fail)?;
    if raw.len() != 1 {
        return Err(format!(
            "internal lexing of heredoc produced inconsistent results: {rest}"
        ));
    }
    let quotes = |s: &str| s.chars().filter(|&c| c == '\'' || c == '"').count();
    Ok(Some(Heredoc {
        expand: quotes(&words[0]) == quotes(&raw[0]),
        name: Cow::Owned(words.into_iter().next().unwrap_or_default()),
        file_descriptor,
        chomp,
        content: Cow::Borrowed(""),
    }))
}

/// Word accumulation as in BuildKit's `wordsStruct`.
#[derive(Default)]
struct Words {
    word: String,
    words: Vec<String>,
    in_word: bool,
    /// Keep only the words that may open a heredoc (the rest would be dropped anyway).
    only_openers: bool,
}

/// `\d*<<…`: the shape of every heredoc opener.
fn may_open_heredoc(word: &str) -> bool {
    word.trim_start_matches(|c: char| c.is_ascii_digit())
        .starts_with("<<")
}

impl Words {
    fn add_char(&mut self, c: char) {
        if is_space(c) {
            if self.in_word && !self.word.is_empty() {
                self.end_word();
                self.in_word = false;
            }
        } else {
            self.add_raw_char(c);
        }
    }
    fn end_word(&mut self) {
        if self.only_openers && !may_open_heredoc(&self.word) {
            self.word.clear();
        } else {
            self.words.push(std::mem::take(&mut self.word));
        }
    }
    fn add_raw_char(&mut self, c: char) {
        self.word.push(c);
        self.in_word = true;
    }
    fn add_string(&mut self, s: &str) {
        s.chars().for_each(|c| self.add_char(c));
    }
    fn add_raw_string(&mut self, s: &str) {
        self.word.push_str(s);
        self.in_word = true;
    }
    fn finish(mut self) -> Vec<String> {
        if !self.word.is_empty() {
            self.end_word();
        }
        self.words
    }
}

const ESCAPE: char = '\\';

/// `${...}` may nest; deeper than this is treated as a lexing error so that no line can
/// exhaust the stack (BuildKit has no limit; real Dockerfiles never come close).
const MAX_NESTING: usize = 256;

struct Lexer {
    chars: Vec<char>,
    pos: usize,
    raw_quotes: bool,
    raw_escapes: bool,
    depth: usize,
    /// Return only the words shaped like heredoc openers.
    only_openers: bool,
}

impl Lexer {
    fn new(s: &str, raw_quotes: bool, raw_escapes: bool) -> Self {
        // Go's text/scanner skips a byte-order mark at the start.
        let s = s.strip_prefix('\u{feff}').unwrap_or(s);
        let mut chars = Vec::with_capacity(s.len());
        chars.extend(s.chars());
        Lexer {
            chars,
            pos: 0,
            raw_quotes,
            raw_escapes,
            depth: 0,
            only_openers: false,
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

    fn words(mut self) -> Result<Vec<String>, String> {
        let raw = self.raw_escapes;
        self.stop_on(None, raw).map(|(_, w)| w)
    }

    /// Processes until `stop` (or the end when `None`); returns the text and its words.
    fn stop_on(
        &mut self,
        stop: Option<char>,
        raw_escapes: bool,
    ) -> Result<(String, Vec<String>), String> {
        let saved = std::mem::replace(&mut self.raw_escapes, raw_escapes);
        let r = self.stop_on_inner(stop);
        self.raw_escapes = saved;
        r
    }

    fn stop_on_inner(&mut self, stop: Option<char>) -> Result<(String, Vec<String>), String> {
        // The outermost scan yields about as much as it reads.
        let mut result = String::with_capacity(if self.depth == 0 { self.chars.len() } else { 0 });
        let mut words = Words {
            only_openers: self.only_openers,
            ..Words::default()
        };
        while let Some(c) = self.peek() {
            if Some(c) == stop {
                self.pos += 1;
                return Ok((result, words.finish()));
            }
            match c {
                '$' => {
                    let t = self.dollar()?;
                    result.push_str(&t);
                    words.add_string(&t);
                }
                '<' => {
                    let t = self.possible_heredoc();
                    result.push_str(&t);
                    words.add_raw_string(&t);
                }
                '\'' => {
                    let t = self.single_quote()?;
                    result.push_str(&t);
                    words.add_raw_string(&t);
                }
                '"' => {
                    let t = self.double_quote()?;
                    result.push_str(&t);
                    words.add_raw_string(&t);
                }
                _ => {
                    self.pos += 1;
                    if c == ESCAPE {
                        if self.raw_escapes {
                            words.add_raw_char(c);
                            result.push(c);
                        }
                        let Some(e) = self.next() else { break };
                        words.add_raw_char(e);
                        result.push(e);
                    } else {
                        words.add_char(c);
                        result.push(c);
                    }
                }
            }
        }
        match stop {
            Some(s) => Err(format!(
                "unexpected end of statement while looking for matching {s}"
            )),
            None => Ok((result, words.finish())),
        }
    }

    /// `<<` keeps the blanks after it in its word, so `<< EOF` is one word.
    fn possible_heredoc(&mut self) -> String {
        self.pos += 1;
        if self.peek() != Some('<') {
            return "<".into();
        }
        self.pos += 1;
        let mut out = String::from("<<");
        while let Some(c @ ('\t' | '\r' | ' ')) = self.peek() {
            out.push(c);
            self.pos += 1;
        }
        out
    }

    fn single_quote(&mut self) -> Result<String, String> {
        let mut out = String::new();
        let q = self.next().unwrap_or('\'');
        if self.raw_quotes {
            out.push(q);
        }
        loop {
            match self.next() {
                None => {
                    return Err(
                        "unexpected end of statement while looking for matching single-quote"
                            .into(),
                    )
                }
                Some('\'') => {
                    if self.raw_quotes {
                        out.push('\'');
                    }
                    return Ok(out);
                }
                Some(c) => out.push(c),
            }
        }
    }

    fn double_quote(&mut self) -> Result<String, String> {
        let mut out = String::new();
        let q = self.next().unwrap_or('"');
        if self.raw_quotes {
            out.push(q);
        }
        loop {
            match self.peek() {
                None => {
                    return Err(
                        "unexpected end of statement while looking for matching double-quote"
                            .into(),
                    )
                }
                Some('"') => {
                    self.pos += 1;
                    if self.raw_quotes {
                        out.push('"');
                    }
                    return Ok(out);
                }
                Some('$') => {
                    let v = self.dollar()?;
                    out.push_str(&v);
                }
                Some(mut c) => {
                    self.pos += 1;
                    if c == ESCAPE {
                        if self.raw_escapes {
                            out.push(c);
                        }
                        match self.peek() {
                            None => continue,
                            Some(n @ ('"' | '$' | ESCAPE)) => {
                                self.pos += 1;
                                c = n;
                            }
                            Some(_) => {}
                        }
                    }
                    out.push(c);
                }
            }
        }
    }

    /// `$name`, `${name}` and `${name<op>word}` with no variable set: kept as written.
    fn dollar(&mut self) -> Result<String, String> {
        if self.depth >= MAX_NESTING {
            return Err("substitutions nested too deeply".into());
        }
        self.depth += 1;
        let r = self.dollar_inner();
        self.depth -= 1;
        r
    }

    fn dollar_inner(&mut self) -> Result<String, String> {
        self.pos += 1;
        if self.peek() != Some('{') {
            let name = self.name();
            return Ok(format!("${name}"));
        }
        self.pos += 1;
        match self.peek() {
            None => return Err("syntax error: missing '}'".into()),
            Some('{' | '}' | ':') => return Err("syntax error: bad substitution".into()),
            Some(_) => {}
        }
        let name = self.name();
        let c = self.next();
        match c {
            Some('}') => Ok(format!("${{{name}}}")),
            Some(':' | '+' | '-' | '?' | '#' | '%') => {
                let mut op = String::new();
                let mut modifier = c;
                op.push(c.unwrap_or('\u{fffd}'));
                if c == Some(':') {
                    modifier = self.next();
                    op.push(modifier.unwrap_or('\u{fffd}'));
                }
                let raw = matches!(modifier, Some('#' | '%'));
                let (word, _) = self.stop_on(Some('}'), raw).map_err(|e| self.missing(e))?;
                Ok(format!("${{{name}{op}{word}}}"))
            }
            Some('/') => {
                if self.peek() == Some('/') {
                    self.pos += 1;
                }
                let (pattern, _) = self.stop_on(Some('/'), true).map_err(|e| {
                    if self.peek().is_none() {
                        "syntax error: missing '/' in ${}".into()
                    } else {
                        e
                    }
                })?;
                let (repl, _) = self.stop_on(Some('}'), true).map_err(|e| self.missing(e))?;
                Ok(format!("${{{name}/{pattern}/{repl}}}"))
            }
            _ => Err(format!(
                "unsupported modifier ({}) in substitution",
                c.unwrap_or('\u{fffd}')
            )),
        }
    }

    fn missing(&self, e: String) -> String {
        if self.peek().is_none() {
            "syntax error: missing '}'".into()
        } else {
            e
        }
    }

    fn name(&mut self) -> String {
        crate::dockerfile::shell::scan_name(&self.chars, &mut self.pos)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dockerfile::test_inputs::every_string;

    #[test]
    fn plain_lines_split_as_the_lexer_splits_them() {
        for line in [
            "COPY <<EOF /etc/conf",
            "RUN a << EOF b",
            "RUN a <<\t EOF",
            "RUN x <<<EOF <<<<y 3<<-E\u{a0}z",
            "RUN <<",
            "  RUN\t<<A\r <<B  ",
            "RUN a<b<<c",
            "",
        ] {
            let mut lexer = Lexer::new(line, true, true);
            lexer.only_openers = true;
            let slow = lexer.words().unwrap_or_default();
            let fast: Vec<&str> = plain_words(line).filter(|w| may_open_heredoc(w)).collect();
            assert_eq!(fast, slow, "{line:?}");
            let all = Lexer::new(line, true, true).words().unwrap_or_default();
            assert_eq!(plain_words(line).collect::<Vec<_>>(), all, "{line:?}");
        }
    }

    /// The one-pass scan of plain ASCII lines against the lexer, on every short line over an
    /// alphabet of the bytes that matter (and a few that make it give up).
    #[test]
    fn ascii_openers_match_the_lexer() {
        let alphabet = [
            "a", " ", "<", "<<", "\t", "\r", "\n", "1", "-", "\u{b}", "$", "'", "é", "\\",
        ];
        for s in every_string(&alphabet, 5) {
            let fast = ascii_opener_words(&s);
            let plain =
                s.is_ascii() && !s.bytes().any(|b| matches!(b, b'\'' | b'"' | b'\\' | b'$'));
            assert_eq!(fast.is_some(), plain, "{s:?}");
            if let Some(words) = fast {
                let mut lexer = Lexer::new(&s, true, true);
                lexer.only_openers = true;
                let slow = lexer.words().unwrap_or_default();
                assert_eq!(words.to_vec(), slow, "{s:?}");
            }
        }
    }

    fn names(line: &str) -> Vec<(String, bool, bool, u32)> {
        heredocs_from_line(line)
            .unwrap()
            .into_iter()
            .map(|h| (h.name.into_owned(), h.expand, h.chomp, h.file_descriptor))
            .collect()
    }

    #[test]
    fn forms() {
        assert_eq!(names("RUN <<EOF"), vec![("EOF".into(), true, false, 0)]);
        assert_eq!(names("RUN <<-EOF"), vec![("EOF".into(), true, true, 0)]);
        assert_eq!(names("RUN <<'EOF'"), vec![("EOF".into(), false, false, 0)]);
        assert_eq!(
            names("RUN <<\"EOF\""),
            vec![("EOF".into(), false, false, 0)]
        );
        assert_eq!(names("RUN <<eo'f'"), vec![("eof".into(), false, false, 0)]);
        assert_eq!(names("RUN 3<<EOF"), vec![("EOF".into(), true, false, 3)]);
        assert_eq!(
            names("COPY <<A <<-B /dest"),
            vec![("A".into(), true, false, 0), ("B".into(), true, true, 0)]
        );
        assert_eq!(names("RUN <<'A B'"), vec![("A B".into(), false, false, 0)]);
    }

    #[test]
    fn not_heredocs() {
        assert!(names("RUN echo <<").is_empty());
        assert!(names("RUN cat<<EOF").is_empty());
        assert!(names("RUN <<<EOF").is_empty());
        assert!(names("RUN echo 'unterminated <<EOF").is_empty());
        assert!(names("RUN echo \"<<EOF\"").is_empty());
    }

    #[test]
    fn blanks_after_the_operator() {
        assert_eq!(
            names("RUN <<  EOF  > foo"),
            vec![("EOF".into(), true, false, 0)]
        );
        // Only blanks straight after `<<` join the word: `<<- EOF` is two words, no heredoc.
        assert!(names("RUN <<- EOF").is_empty());
        assert_eq!(names("RUN << -EOF"), vec![("-EOF".into(), true, false, 0)]);
        // A vertical tab is not one of the blanks kept.
        assert!(names("RUN <<\u{b}EOF").is_empty());
    }

    #[test]
    fn escaped_quotes_in_names() {
        assert_eq!(names("RUN <<eo\\'f"), vec![("eo'f".into(), true, false, 0)]);
        assert_eq!(
            names("RUN <<'e'o\\'f"),
            vec![("eo'f".into(), false, false, 0)]
        );
    }

    #[test]
    fn word_level_helper() {
        for w in [
            "<<EOF",
            "<<'EOF'",
            "<<\"EOF\"",
            "<<-EOF",
            "<<-'EOF'",
            "<<EO\"F\"",
            "<< EOF",
            "<<- EOF",
        ] {
            assert_eq!(
                heredoc_from_word(w).unwrap().map(|h| h.name.into_owned()),
                Some("EOF".to_string()),
                "{w}"
            );
        }
        for w in ["<<'EOF", "<<\"EOF", "<<EOF'", "<<EOF\""] {
            assert!(heredoc_from_word(w).is_err(), "{w}");
        }
        for w in ["", "EOF", "<<", "<<-", "<EOF", "<<<EOF", "<<EOF sh"] {
            assert_eq!(heredoc_from_word(w).unwrap(), None, "{w}");
        }
    }

    #[test]
    fn public_helpers() {
        assert_eq!(
            parse_heredoc("<<-'X'").map(|h| (h.name.into_owned(), h.expand, h.chomp)),
            Some(("X".to_string(), false, true))
        );
        assert_eq!(parse_heredoc("/dest"), None);
        assert_eq!(parse_heredoc("<<'X"), None);
        assert_eq!(
            chomp_heredoc_content("\thello\n\t\tworld\n x\t\n"),
            "hello\nworld\n x\t\n"
        );
    }

    #[test]
    fn deep_nesting_does_not_overflow() {
        let line = format!("RUN <<EOF {}", "${a:-".repeat(100_000));
        assert!(names(&line).is_empty());
    }

    #[test]
    fn variables_kept_as_written() {
        assert_eq!(names("RUN <<$EOF"), vec![("$EOF".into(), true, false, 0)]);
        assert_eq!(
            names("RUN <<${A:-x}"),
            vec![("${A:-x}".into(), true, false, 0)]
        );
    }
}
