//! One logical line to one instruction node: keyword, `--flags`, and the argument shape
//! each keyword uses (BuildKit's `splitCommand` and its dispatch table of line parsers).

use super::json::{parse_array_each, JsonForm};
use super::{Arg, Args, Node, NodeFlags, Slicer};
use crate::dockerfile::go_text::{
    char_at, escape_class, go_lower, go_quote, is_space_byte, is_space_char, trim_left_space,
    trim_space, ASCII_SPACE, BYTE_CLASS, FLAG_SPECIAL, SEPARATOR, SPACE_BYTE,
};
use std::borrow::Cow;

/// ONBUILD may wrap ONBUILD; the parser accepts it (later stages reject it) but bounds the
/// depth so that no input can exhaust the stack.
const MAX_ONBUILD_DEPTH: usize = 64;

/// Fills `node`'s keyword, arguments, flags, form and trigger from a logical line; the parser
/// adds the text, lines and heredocs. The node is filled where it lies in the tree (a node is
/// large, and moving it through every layer cost more than some of the parsing). Returns
/// whether `<<` words may open heredocs: RUN, COPY or ADD in shell form, directly or as the
/// trigger of an ONBUILD. Errors are plain messages; the caller adds the location.
pub(crate) fn instruction<'a>(
    line: &str,
    sl: Slicer<'a>,
    escape: char,
    node: &mut Node<'a>,
) -> Result<bool, String> {
    instruction_at(line, sl, escape, 0, node).map(|(allowed, _)| allowed)
}

/// Whether an instruction, by its keyword and form, may open heredocs.
fn takes_heredocs(keyword: Option<Keyword>, json: bool) -> bool {
    matches!(keyword, Some(Keyword::Run | Keyword::Copy | Keyword::Add)) && !json
}

/// [`instruction`] at an ONBUILD depth; also whether the instruction itself (not its
/// trigger) takes heredocs: only a direct trigger passes that on to its ONBUILD.
fn instruction_at<'a>(
    line: &str,
    sl: Slicer<'a>,
    escape: char,
    depth: usize,
    node: &mut Node<'a>,
) -> Result<(bool, bool), String> {
    let (cmd, rest) = split_keyword(line);
    let args = match rest {
        // Without a leading `--` or space byte the flag scanner would stop at once: the
        // arguments are the text as it is (most instructions take no flags).
        Some(rest)
            if !rest.starts_with("--") && !rest.bytes().next().is_some_and(is_space_byte) =>
        {
            Cow::Borrowed(rest)
        }
        Some(rest) => extract_builder_flags(rest, sl, escape, &mut node.flags),
        None => Cow::Borrowed(""),
    };
    let args = trim_space(&args);
    let keyword = Keyword::of(cmd);
    node.value = keyword_value(cmd, keyword);
    let mut json = false;
    // The arguments go straight into the node.
    let out = &mut node.next;
    match keyword {
        Some(Keyword::Add | Keyword::Copy | Keyword::Volume) => {
            json = parse_json(args, sl, out)?;
            if !json {
                split_whitespace(args, sl, out);
            }
        }
        Some(Keyword::Run | Keyword::Cmd | Keyword::Entrypoint | Keyword::Shell) => {
            json = parse_maybe_json(args, sl, out)?;
        }
        Some(Keyword::From | Keyword::Expose) => split_whitespace(args, sl, out),
        Some(Keyword::User | Keyword::Workdir | Keyword::Maintainer | Keyword::Stopsignal) => {
            if !args.is_empty() {
                out.push(leaf(sl.text(args)));
            }
        }
        Some(Keyword::Arg) => Words::new(args, escape).for_each(|w| out.push(leaf(sl.text(w)))),
        Some(Keyword::Env) => parse_name_val(args, sl, "ENV", escape, out)?,
        Some(Keyword::Label) => parse_name_val(args, sl, "LABEL", escape, out)?,
        Some(Keyword::Healthcheck) => json = parse_health_config(args, sl, out)?,
        Some(Keyword::Onbuild) => {
            if !args.is_empty() {
                if depth >= MAX_ONBUILD_DEPTH {
                    return Err(format!(
                        "ONBUILD nested more than {MAX_ONBUILD_DEPTH} levels deep"
                    ));
                }
                let mut trigger = Box::new(Node::default());
                let (_, takes) = instruction_at(args, sl, escape, depth + 1, &mut trigger)?;
                trigger.original = sl.text(args);
                node.set_trigger(Some(trigger));
                return Ok((takes, false));
            }
        }
        // Unknown instructions keep one empty argument; later stages report them.
        None => out.push(Arg::default()),
    }
    node.json = json;
    let takes = takes_heredocs(keyword, json);
    Ok((takes, takes))
}

/// The instructions the parser knows, found without lowercasing the keyword into a buffer.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Keyword {
    Add,
    Arg,
    Cmd,
    Copy,
    Entrypoint,
    Env,
    Expose,
    From,
    Healthcheck,
    Label,
    Maintainer,
    Onbuild,
    Run,
    Shell,
    Stopsignal,
    User,
    Volume,
    Workdir,
}

/// Each keyword in the two spellings that are borrowed rather than copied.
const KEYWORDS: [(Keyword, &str, &str); 18] = [
    (Keyword::Add, "ADD", "add"),
    (Keyword::Arg, "ARG", "arg"),
    (Keyword::Cmd, "CMD", "cmd"),
    (Keyword::Copy, "COPY", "copy"),
    (Keyword::Entrypoint, "ENTRYPOINT", "entrypoint"),
    (Keyword::Env, "ENV", "env"),
    (Keyword::Expose, "EXPOSE", "expose"),
    (Keyword::From, "FROM", "from"),
    (Keyword::Healthcheck, "HEALTHCHECK", "healthcheck"),
    (Keyword::Label, "LABEL", "label"),
    (Keyword::Maintainer, "MAINTAINER", "maintainer"),
    (Keyword::Onbuild, "ONBUILD", "onbuild"),
    (Keyword::Run, "RUN", "run"),
    (Keyword::Shell, "SHELL", "shell"),
    (Keyword::Stopsignal, "STOPSIGNAL", "stopsignal"),
    (Keyword::User, "USER", "user"),
    (Keyword::Volume, "VOLUME", "volume"),
    (Keyword::Workdir, "WORKDIR", "workdir"),
];

impl Keyword {
    /// The keyword `cmd` names once lowercased as Go's `strings.ToLower` does.
    pub(crate) fn of(cmd: &str) -> Option<Keyword> {
        const LONGEST: usize = "healthcheck".len();
        let b = cmd.as_bytes();
        if (3..=LONGEST).contains(&b.len()) {
            // A byte equals a lower-case letter but for case exactly when it does with bit
            // 0x20 set (no other byte turns into a letter so).
            let lower = |i: usize| b[i] | 0x20;
            // Length and first letter leave one candidate (two for ADD and ARG).
            use Keyword as K;
            let candidate = match (b.len(), lower(0)) {
                (3, b'a') if lower(1) == b'd' => Some(K::Add),
                (3, b'a') => Some(K::Arg),
                (3, b'c') => Some(K::Cmd),
                (3, b'e') => Some(K::Env),
                (3, b'r') => Some(K::Run),
                (4, b'c') => Some(K::Copy),
                (4, b'f') => Some(K::From),
                (4, b'u') => Some(K::User),
                (5, b'l') => Some(K::Label),
                (5, b's') => Some(K::Shell),
                (6, b'e') => Some(K::Expose),
                (6, b'v') => Some(K::Volume),
                (7, b'o') => Some(K::Onbuild),
                (7, b'w') => Some(K::Workdir),
                (10, b'e') => Some(K::Entrypoint),
                (10, b'm') => Some(K::Maintainer),
                (10, b's') => Some(K::Stopsignal),
                (11, b'h') => Some(K::Healthcheck),
                _ => None,
            };
            if let Some(k) = candidate {
                let (_, spelling) = k.spellings();
                if b.iter().zip(spelling.bytes()).all(|(&c, l)| c | 0x20 == l) {
                    return Some(k);
                }
            }
        }
        if !cmd.is_ascii() {
            // Case mapping can turn non-ASCII letters into ASCII ones (K, the Kelvin sign).
            let lower = go_lower(cmd);
            return KEYWORDS.iter().find(|k| k.2 == lower).map(|k| k.0);
        }
        None
    }

    fn spellings(self) -> (&'static str, &'static str) {
        let (_, upper, lower) = KEYWORDS[self as usize];
        (upper, lower)
    }
}

fn leaf<'a>(value: impl Into<Cow<'a, str>>) -> Arg<'a> {
    Arg {
        value: value.into(),
    }
}

/// The keyword as written, borrowed when it is one of the instructions spelled in upper or
/// lower case (nearly every line).
fn keyword_value(cmd: &str, keyword: Option<Keyword>) -> Cow<'static, str> {
    if let Some(k) = keyword {
        let (upper, lower) = k.spellings();
        // A `cmd` as long as its keyword equals it but for case (a non-ASCII one that lowers
        // to it is longer), and keywords are letters: bit 0x20 tells each letter's case.
        if cmd.len() == upper.len() {
            let b = cmd.as_bytes();
            if b.iter().all(|c| c & 0x20 == 0) {
                return Cow::Borrowed(upper);
            }
            if b.iter().all(|c| c & 0x20 != 0) {
                return Cow::Borrowed(lower);
            }
        }
    }
    Cow::Owned(cmd.to_string())
}

/// The keyword and the text after it (BuildKit's split at the first run of `[\t\v\f\r ]`,
/// the only separators its regexp knows).
pub(crate) fn split_keyword(line: &str) -> (&str, Option<&str>) {
    let line = trim_space(line);
    let b = line.as_bytes();
    // Nearly always the keyword is ASCII letters and a separator follows: letters are no
    // separators, so the first byte that is not a letter is then the first separator.
    let i = b
        .iter()
        .position(|c| !c.is_ascii_alphabetic())
        .unwrap_or(b.len());
    if i == b.len() {
        return (line, None);
    }
    if BYTE_CLASS[usize::from(b[i])] & SEPARATOR != 0 {
        let mut j = i + 1;
        while j < b.len() && BYTE_CLASS[usize::from(b[j])] & SEPARATOR != 0 {
            j += 1;
        }
        // The separators are ASCII: `i` and `j` are character boundaries.
        return (&line[..i], Some(&line[j..]));
    }
    split_keyword_general(line)
}

/// [`split_keyword`] for a trimmed line, by the general rule.
fn split_keyword_general(line: &str) -> (&str, Option<&str>) {
    let b = line.as_bytes();
    let sep = |c: &u8| BYTE_CLASS[usize::from(*c)] & SEPARATOR != 0;
    match b.iter().position(sep) {
        None => (line, None),
        Some(i) => {
            let j = b[i..]
                .iter()
                .position(|c| !sep(c))
                .map_or(b.len(), |n| i + n);
            // The separators are ASCII: `i` and `j` are character boundaries.
            (&line[..i], Some(&line[j..]))
        }
    }
}

/// Keyword, flags and the (trimmed) argument text.
#[cfg(test)]
fn split_command(line: &str, escape: char) -> (String, Vec<String>, String) {
    let (cmd, rest) = split_keyword(line);
    let mut flags = NodeFlags::new();
    let args = match rest {
        Some(rest) => extract_builder_flags(rest, Slicer { source: None }, escape, &mut flags),
        None => Cow::Borrowed(""),
    };
    let flags = flags.iter().map(|f| f.to_string()).collect();
    (cmd.to_string(), flags, trim_space(&args).to_string())
}

/// Takes the leading `--flag` words off the argument text, into `words`. BuildKit scans bytes here and
/// treats each byte as a rune (so non-ASCII text in a flag comes out Latin-1-decoded, and the
/// bytes 0x85 and 0xA0 separate words); this is reproduced exactly.
fn extract_builder_flags<'l, 'a>(
    line: &'l str,
    sl: Slicer<'a>,
    escape: char,
    words: &mut NodeFlags<'a>,
) -> Cow<'l, str> {
    #[derive(PartialEq)]
    enum Phase {
        Spaces,
        Word,
        Quote,
    }
    let b = line.as_bytes();
    let esc = escape as u32 as u8;
    let mut word = String::new();
    let mut phase = Phase::Spaces;
    let mut quote = 0u8;
    let mut blank_ok = false;
    // Borrowed unless a Latin-1 "space" byte split a character.
    let rest_from = |pos: usize| match line.get(pos..) {
        Some(r) => Cow::Borrowed(r),
        None => Cow::Owned(String::from_utf8_lossy(&b[pos..]).into_owned()),
    };
    let mut pos = 0;
    while pos <= b.len() {
        let ch = b.get(pos).copied().unwrap_or(0);
        if phase == Phase::Spaces {
            if pos == b.len() {
                break;
            }
            if is_space_byte(ch) {
                pos += 1;
                continue;
            }
            if ch != b'-' || pos + 1 == b.len() || b[pos + 1] != b'-' {
                return rest_from(pos);
            }
            // Usually the flag is what runs up to the next space, without quotes, escapes or
            // non-ASCII bytes: then it is that text as it is.
            let space = |c: &u8| BYTE_CLASS[usize::from(*c)] & SPACE_BYTE != 0;
            let stop = match escape_class(escape) {
                // The escape's class bit folds its test into the table load.
                Some(esc_class) => {
                    let stops = SPACE_BYTE | FLAG_SPECIAL | esc_class;
                    b[pos..]
                        .iter()
                        .position(|&c| BYTE_CLASS[usize::from(c)] & stops != 0)
                }
                None => b[pos..].iter().position(|&c| {
                    BYTE_CLASS[usize::from(c)] & (SPACE_BYTE | FLAG_SPECIAL) != 0 || c == esc
                }),
            }
            .map_or(b.len(), |n| pos + n);
            let plain = b.get(stop).is_none_or(space);
            let len = if plain {
                stop - pos
            } else {
                b[stop..]
                    .iter()
                    .position(space)
                    .map_or(b.len(), |n| stop + n)
                    - pos
            };
            let flag = &b[pos..pos + len];
            if plain {
                let end = pos + len;
                if flag == b"--" {
                    return rest_from(end);
                }
                words.push(match line.get(pos..end) {
                    Some(t) => sl.text(t),
                    None => Cow::Owned(String::from_utf8_lossy(flag).into_owned()),
                });
                if end == b.len() {
                    break;
                }
                // The space after it.
                pos = end + 1;
                continue;
            }
            phase = Phase::Word;
            word.reserve(len);
        }
        if pos == b.len() {
            if word != "--" && (blank_ok || !word.is_empty()) {
                words.push(Cow::Owned(word));
            }
            break;
        }
        if phase == Phase::Word {
            if is_space_byte(ch) {
                phase = Phase::Spaces;
                if word == "--" {
                    return rest_from(pos);
                }
                if blank_ok || !word.is_empty() {
                    words.push(Cow::Owned(std::mem::take(&mut word)));
                }
                word.clear();
                blank_ok = false;
                pos += 1;
                continue;
            }
            if ch == b'\'' || ch == b'"' {
                quote = ch;
                blank_ok = true;
                phase = Phase::Quote;
                pos += 1;
                continue;
            }
            let mut ch = ch;
            if ch == esc {
                if pos + 1 == b.len() {
                    pos += 1;
                    continue;
                }
                pos += 1;
                ch = b[pos];
            }
            word.push(ch as char);
            pos += 1;
            continue;
        }
        // Phase::Quote
        if ch == quote {
            phase = Phase::Word;
            pos += 1;
            continue;
        }
        let mut ch = ch;
        if ch == esc {
            if pos + 1 == b.len() {
                phase = Phase::Word;
                pos += 1;
                continue;
            }
            pos += 1;
            ch = b[pos];
        }
        word.push(ch as char);
        pos += 1;
    }
    Cow::Borrowed("")
}

/// Go's `regexp.Split(s, -1)` on `[\t\v\f\r ]+`, one node per piece (into `out`); nothing
/// for "".
fn split_whitespace<'a>(rest: &str, sl: Slicer<'a>, out: &mut Args<'a>) {
    if rest.is_empty() {
        return;
    }
    go_split_ws_each(rest, usize::MAX, |s| out.push(leaf(sl.text(s))));
}

/// Go's `regexp.Split` with `[\t\v\f\r ]+` and a limit `n` (> 0) on the number of pieces.
#[cfg(test)]
fn go_split_ws(s: &str, n: usize) -> Vec<&str> {
    let mut out = Vec::new();
    go_split_ws_each(s, n, |p| out.push(p));
    out
}

/// [`go_split_ws`], handing each piece to `each` instead of collecting them.
fn go_split_ws_each<'a>(s: &'a str, n: usize, mut each: impl FnMut(&'a str)) {
    let mut pieces = 0;
    let mut beg = 0;
    let mut end = 0;
    let bytes = s.as_bytes();
    let sep = |c: &u8| BYTE_CLASS[usize::from(*c)] & SEPARATOR != 0;
    while beg < bytes.len() && pieces != n - 1 {
        let Some(k) = bytes[beg..].iter().position(sep) else {
            break;
        };
        // The separators are ASCII: `m0` and `m1` are character boundaries.
        let m0 = beg + k;
        let m1 = bytes[m0..]
            .iter()
            .position(|c| !sep(c))
            .map_or(bytes.len(), |k| m0 + k);
        end = m0;
        each(&s[beg..m0]);
        pieces += 1;
        beg = m1;
    }
    if end != s.len() || pieces == 0 {
        each(&s[beg..]);
    }
}

const NOT_STRING_ARRAY: &str =
    "when using JSON array syntax, arrays must be comprised of strings only";

/// When the text is a JSON array of strings, adds its strings to `out` and returns true;
/// false when it is not JSON.
fn parse_json<'a>(rest: &str, sl: Slicer<'a>, out: &mut Args<'a>) -> Result<bool, String> {
    let rest = trim_left_space(rest);
    if !rest.starts_with('[') {
        return Ok(false);
    }
    let before = out.len();
    let form = parse_array_each(rest, |s| {
        out.push(leaf(match s {
            Cow::Borrowed(text) => sl.text(text),
            Cow::Owned(decoded) => Cow::Owned(decoded),
        }))
    });
    match form {
        JsonForm::Strings => Ok(true),
        JsonForm::NotJson => {
            out.truncate(before);
            Ok(false)
        }
        JsonForm::NotStrings => {
            out.truncate(before);
            Err(NOT_STRING_ARRAY.to_string())
        }
    }
}

/// JSON-or-string: adds the nodes to `out` (after what it holds) and says whether they came
/// from JSON.
fn parse_maybe_json<'a>(rest: &str, sl: Slicer<'a>, out: &mut Args<'a>) -> Result<bool, String> {
    if rest.is_empty() {
        return Ok(false);
    }
    if parse_json(rest, sl, out)? {
        return Ok(true);
    }
    out.push(leaf(sl.text(rest)));
    Ok(false)
}

/// `HEALTHCHECK <type> <json-or-string>`; the type ends at the first space byte.
fn parse_health_config<'a>(rest: &str, sl: Slicer<'a>, out: &mut Args<'a>) -> Result<bool, String> {
    let b = rest.as_bytes();
    let sep = b.iter().position(|&c| is_space_byte(c)).unwrap_or(b.len());
    if sep == 0 {
        return Ok(false);
    }
    let next = b[sep..]
        .iter()
        .position(|&c| !is_space_byte(c))
        .map_or(b.len(), |p| sep + p);
    let typ = match rest.get(..sep) {
        Some(t) => sl.text(t),
        None => Cow::Owned(String::from_utf8_lossy(&b[..sep]).into_owned()),
    };
    out.push(leaf(typ));
    match rest.get(next..) {
        Some(cmd) => parse_maybe_json(cmd, sl, out),
        None => parse_maybe_json(&String::from_utf8_lossy(&b[next..]), sl, out),
    }
}

/// BuildKit's `parseWords`: whitespace-separated words with quotes and escapes kept. Every
/// word is a slice of the text (only an escape token at the very end is dropped, and that
/// shortens the last word), so none is copied here.
pub(crate) struct Words<'l> {
    s: &'l str,
    pos: usize,
    escape: char,
}

impl<'l> Words<'l> {
    pub(crate) fn new(s: &'l str, escape: char) -> Self {
        Words { s, pos: 0, escape }
    }
}

impl<'l> Iterator for Words<'l> {
    type Item = &'l str;

    /// One pass over the bytes, a table load and a test per byte: quotes, the escape token,
    /// ASCII spaces and non-ASCII characters stop the run, and only then is the byte looked
    /// at closely.
    fn next(&mut self) -> Option<&'l str> {
        let Some(esc_class) = escape_class(self.escape) else {
            return self.next_general();
        };
        let s = self.s;
        let b = s.as_bytes();
        let mut i = self.pos;
        // Skip the spaces before a word.
        loop {
            let &c = b.get(i)?;
            if BYTE_CLASS[usize::from(c)] & ASCII_SPACE != 0 {
                i += 1;
            } else if c.is_ascii() {
                break;
            } else {
                let (ch, len) = char_at(s, i)?;
                if !is_space_char(ch) {
                    break;
                }
                i += len;
            }
        }
        let start = i;
        // 0 outside quotes, else the open quote.
        let mut quote = 0u8;
        let unquoted = ASCII_SPACE | FLAG_SPECIAL | esc_class;
        // Only quotes and non-ASCII (FLAG_SPECIAL) and, between double quotes, the escape.
        let in_double = FLAG_SPECIAL | esc_class;
        let in_single = FLAG_SPECIAL;
        loop {
            let mask = match quote {
                0 => unquoted,
                b'"' => in_double,
                _ => in_single,
            };
            while let Some(&c) = b.get(i) {
                if BYTE_CLASS[usize::from(c)] & mask != 0 {
                    break;
                }
                i += 1;
            }
            let Some(&c) = b.get(i) else {
                break;
            };
            if !c.is_ascii() {
                let (ch, len) = char_at(s, i)?;
                if quote == 0 && is_space_char(ch) {
                    self.pos = i + len;
                    return Some(&s[start..i]);
                }
                i += len;
                continue;
            }
            if BYTE_CLASS[usize::from(c)] & esc_class != 0 {
                // (Reached between single quotes only via FLAG_SPECIAL: never, as the escape
                // is neither a quote nor non-ASCII; so here it escapes.) The escape and the
                // character after it stay; at the very end the escape is dropped (and ends
                // a quote).
                if i + 1 == b.len() {
                    self.pos = b.len();
                    return (i > start).then(|| &s[start..i]);
                }
                i += 1 + char_at(s, i + 1).map_or(1, |(_, n)| n);
                continue;
            }
            if quote == 0 {
                if BYTE_CLASS[usize::from(c)] & ASCII_SPACE != 0 {
                    // Not empty: a word starts with a character that is not a space.
                    self.pos = i + 1;
                    return Some(&s[start..i]);
                }
                // A quote opens.
                quote = c;
            } else if c == quote {
                quote = 0;
            }
            i += 1;
        }
        self.pos = i;
        (i > start).then(|| &s[start..i])
    }
}

impl<'l> Words<'l> {
    /// [`Words::next`] for any escape character, a character at a time.
    fn next_general(&mut self) -> Option<&'l str> {
        let s = self.s;
        let bytes = s.as_bytes();
        let escape = self.escape;
        // Skip the spaces before a word.
        let mut i = self.pos;
        loop {
            let (c, len) = char_at(s, i)?;
            if !is_space_char(c) {
                break;
            }
            i += len;
        }
        // The word is `s[start..end]`.
        let start = i;
        let mut end = start;
        let mut quote: Option<u8> = None;
        // Bytes that need no decision are skipped a run at a time: outside quotes, ASCII
        // other than spaces, quotes and the escape; inside, ASCII other than the closing
        // quote and the escape. (A non-ASCII escape never equals an ASCII byte, and
        // non-ASCII characters end a run: they are decoded below.)
        let esc = u8::try_from(escape)
            .ok()
            .filter(u8::is_ascii)
            .unwrap_or(0xff);
        loop {
            let rest = &bytes[i..];
            let run = match quote {
                None => rest.iter().position(|&b| {
                    BYTE_CLASS[usize::from(b)] & (SPACE_BYTE | FLAG_SPECIAL) != 0 || b == esc
                }),
                Some(q) => rest
                    .iter()
                    .position(|&b| !b.is_ascii() || b == q || b == esc),
            }
            .unwrap_or(rest.len());
            if run > 0 {
                i += run;
                end = i;
            }
            let Some((ch, len)) = char_at(s, i) else {
                break;
            };
            match quote {
                None => {
                    if is_space_char(ch) {
                        // Not empty: only an escape at the very end of the text leaves a
                        // word empty.
                        self.pos = i + len;
                        return Some(&s[start..end]);
                    }
                    if ch == '\'' || ch == '"' {
                        quote = Some(ch as u8);
                    }
                    if ch == escape {
                        // The escape and the character after it stay; at the very end it is
                        // dropped.
                        i += len;
                        if let Some((_, n)) = char_at(s, i) {
                            i += n;
                            end = i;
                        }
                        continue;
                    }
                }
                Some(q) => {
                    if u32::from(ch) == u32::from(q) {
                        quote = None;
                    }
                    if ch == escape && q != b'\'' {
                        i += len;
                        match char_at(s, i) {
                            Some((_, n)) => {
                                i += n;
                                end = i;
                            }
                            None => quote = None,
                        }
                        continue;
                    }
                }
            }
            i += len;
            end = i;
        }
        self.pos = i;
        (end > start).then(|| &s[start..end])
    }
}

/// [`Words`] collected, for tests.
#[cfg(test)]
pub(crate) fn parse_words(rest: &str, escape: char) -> Vec<&str> {
    Words::new(rest, escape).collect()
}

/// ENV and LABEL: `key value` (legacy) or `key=value ...`, as key/value/separator triples.
fn parse_name_val<'a>(
    rest: &str,
    sl: Slicer<'a>,
    key: &str,
    escape: char,
    out: &mut Args<'a>,
) -> Result<(), String> {
    let mut words = Words::new(rest, escape);
    let Some(first) = words.next() else {
        return Ok(());
    };
    if !first.as_bytes().contains(&b'=') {
        let mut parts = [""; 2];
        let mut n = 0;
        go_split_ws_each(rest, 2, |p| {
            parts[n] = p;
            n += 1;
        });
        if n < 2 {
            return Err(format!("{key} must have two arguments"));
        }
        out.push(leaf(sl.text(parts[0])));
        out.push(leaf(sl.text(parts[1])));
        out.push(leaf(""));
        return Ok(());
    }
    let mut pair = |word: &str| {
        let Some(eq) = word.bytes().position(|b| b == b'=') else {
            return Err(format!(
                "Syntax error - can't find = in {}. Must be of the form: name=value",
                go_quote(word)
            ));
        };
        // Room for the whole triple at once: a second pair outgrows the three arguments
        // kept in place, and growing one push at a time would move them twice (to 4, then
        // 8); this moves them once.
        out.reserve(3);
        // `=` is ASCII: both sides are text.
        out.push(leaf(sl.text(&word[..eq])));
        out.push(leaf(sl.text(&word[eq + 1..])));
        out.push(leaf("="));
        Ok(())
    };
    pair(first)?;
    words.try_for_each(pair)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dockerfile::test_inputs::every_string;

    #[test]
    fn flags() {
        let f = |l: &str| {
            let (c, f, a) = split_command(l, '\\');
            (c, f, a)
        };
        assert_eq!(
            f("COPY --from=a --chown=\"x y\" src dst"),
            (
                "COPY".into(),
                vec!["--from=a".into(), "--chown=x y".into()],
                "src dst".into()
            )
        );
        assert_eq!(f("COPY -- foo /tmp/").1, Vec::<String>::new());
        assert_eq!(f("COPY -- foo /tmp/").2, "foo /tmp/");
        assert_eq!(f("RUN --a=\\\"b --c").1, vec!["--a=\"b", "--c"]);
        // Bytes taken as Latin-1 runes, as BuildKit does: é (C3 A9) becomes two characters,
        // and à (C3 A0) ends the word at its NBSP-valued second byte.
        assert_eq!(f("RUN --a=é x").1, vec!["--a=\u{c3}\u{a9}"]);
        assert_eq!(f("RUN --a=àb x").1, vec!["--a=\u{c3}"]);
        assert_eq!(f("RUN --a=àb x").2, "b x");
        assert_eq!(f("RUN").0, "RUN");
        assert_eq!(f("RUN --x").1, vec!["--x"]);
    }

    #[test]
    fn keywords_as_go_lowercases_them() {
        for (k, upper, lower) in KEYWORDS {
            assert_eq!(Keyword::of(upper), Some(k));
            assert_eq!(Keyword::of(lower), Some(k));
            let mixed: String = upper
                .chars()
                .enumerate()
                .map(|(i, c)| {
                    if i % 2 == 1 {
                        c.to_ascii_lowercase()
                    } else {
                        c
                    }
                })
                .collect();
            assert_eq!(Keyword::of(&mixed), Some(k), "{mixed}");
            assert_eq!(keyword_value(&mixed, Some(k)), mixed);
            assert!(matches!(keyword_value(upper, Some(k)), Cow::Borrowed(u) if u == upper));
            assert!(matches!(keyword_value(lower, Some(k)), Cow::Borrowed(l) if l == lower));
            for bad in [&upper[1..], &upper[..upper.len() - 1]] {
                assert_ne!(Keyword::of(bad), Some(k), "{bad}");
            }
            assert_eq!(Keyword::of(&format!("{upper}S")), None);
        }
        assert_eq!(Keyword::of("WOR\u{212a}DIR"), Some(Keyword::Workdir));
        assert_eq!(Keyword::of("ADG"), None);
        assert_eq!(Keyword::of("AR\0"), None);
        assert_eq!(Keyword::of(""), None);
        assert_eq!(Keyword::of("R"), None);
    }

    /// BuildKit's `parseWords` as first written here, a character at a time: the reference
    /// for the byte-wise [`Words`].
    fn reference_words(rest: &str, escape: char) -> Vec<&str> {
        use crate::dockerfile::go_text::is_space;
        let mut words = Vec::new();
        let (mut in_word, mut quote, mut blank_ok) = (false, None, false);
        let (mut start, mut end) = (0, 0);
        let mut it = rest.char_indices();
        loop {
            let Some((i, ch)) = it.next() else {
                if in_word && (blank_ok || end > start) {
                    words.push(&rest[start..end]);
                }
                return words;
            };
            if !in_word {
                if is_space(ch) {
                    continue;
                }
                in_word = true;
                (start, end) = (i, i);
            }
            match quote {
                None => {
                    if is_space(ch) {
                        in_word = false;
                        if blank_ok || end > start {
                            words.push(&rest[start..end]);
                        }
                        blank_ok = false;
                        continue;
                    }
                    if ch == '\'' || ch == '"' {
                        quote = Some(ch);
                        blank_ok = true;
                    }
                    if ch == escape {
                        if let Some((j, n)) = it.next() {
                            end = j + n.len_utf8();
                        }
                        continue;
                    }
                }
                Some(q) => {
                    if ch == q {
                        quote = None;
                    }
                    if ch == escape && q != '\'' {
                        match it.next() {
                            Some((j, n)) => end = j + n.len_utf8(),
                            None => quote = None,
                        }
                        continue;
                    }
                }
            }
            end = i + ch.len_utf8();
        }
    }

    #[test]
    fn words_match_the_reference() {
        let alphabet = [
            "a", " ", "\\", "`", "'", "\"", "\t", "é", "\u{a0}", "\u{2003}", "=", "\u{b}",
        ];
        for s in every_string(&alphabet, 5) {
            for escape in ['\\', '`'] {
                assert_eq!(
                    parse_words(&s, escape),
                    reference_words(&s, escape),
                    "{s:?} {escape:?}"
                );
            }
        }
    }

    #[test]
    fn words() {
        assert_eq!(
            parse_words("abc=\"123 456\" def", '\\'),
            vec!["abc=\"123 456\"", "def"]
        );
        assert_eq!(parse_words("a\\ b c\\", '\\'), vec!["a\\ b", "c"]);
        assert_eq!(parse_words("'' x", '\\'), vec!["''", "x"]);
        assert_eq!(parse_words("\"a\\\"b\" c", '\\'), vec!["\"a\\\"b\"", "c"]);
        assert_eq!(parse_words("'a\\' b", '\\'), vec!["'a\\'", "b"]);
    }

    #[test]
    fn heredocs_open_on_run_copy_add_and_their_direct_onbuild() {
        let opens = |line: &str| {
            let mut node = Node::default();
            instruction(line, Slicer { source: None }, '\\', &mut node).unwrap()
        };
        assert!(opens("RUN <<EOF"));
        assert!(opens("COPY <<EOF /x"));
        assert!(opens("ONBUILD ADD <<EOF /x"));
        assert!(!opens("RUN [\"<<EOF\"]"));
        assert!(!opens("CMD <<EOF"));
        // BuildKit looks at the trigger only, not at a trigger's trigger.
        assert!(!opens("ONBUILD ONBUILD RUN <<EOF"));
        assert!(!opens("ONBUILD"));
    }

    /// The letters-first split against the general rule, and the flag scanner's own answer
    /// where `instruction_at` skips it, on every short line over an alphabet of what matters.
    #[test]
    fn keyword_split_and_flag_skip_match_the_general_path() {
        let alphabet = [
            "R", "u", " ", "\t", "\u{b}", "\r", "\n", "-", "--", "1", "é", "\u{a0}", "\u{85}", "=",
            "\"", "\\",
        ];
        for s in every_string(&alphabet, 5) {
            let split = split_keyword(&s);
            assert_eq!(split, split_keyword_general(trim_space(&s)), "{s:?}");
            if let Some(rest) = split.1 {
                if !rest.starts_with("--") && !rest.bytes().next().is_some_and(is_space_byte) {
                    let mut flags = NodeFlags::new();
                    let scanned =
                        extract_builder_flags(rest, Slicer { source: None }, '\\', &mut flags);
                    assert_eq!(scanned, rest, "{s:?}");
                    assert!(flags.is_empty(), "{s:?}");
                }
            }
        }
    }

    /// The flag scanner's stop set with the escape's class bit is the one it had with the
    /// escape compared byte by byte, for each escape token that has a class.
    #[test]
    fn flag_stops_with_the_escape_class_match_the_comparison() {
        for escape in ['\\', '`'] {
            let class = escape_class(escape).expect("a Dockerfile's escape token has a class");
            for c in 0..=255u8 {
                let by_class = BYTE_CLASS[usize::from(c)] & (SPACE_BYTE | FLAG_SPECIAL | class);
                let compared = BYTE_CLASS[usize::from(c)] & (SPACE_BYTE | FLAG_SPECIAL) != 0
                    || u32::from(c) == escape as u32;
                assert_eq!(by_class != 0, compared, "{escape:?} {c:#x}");
            }
        }
    }

    #[test]
    fn go_split() {
        assert_eq!(go_split_ws("a b\t c", usize::MAX), vec!["a", "b", "c"]);
        assert_eq!(go_split_ws("a b\t c", 2), vec!["a", "b\t c"]);
        assert_eq!(go_split_ws("abc", 2), vec!["abc"]);
        assert_eq!(go_split_ws("a ", 2), vec!["a", ""]);
    }
}
