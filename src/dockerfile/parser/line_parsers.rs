//! One logical line to one instruction node: keyword, `--flags`, and the argument shape
//! each keyword uses (BuildKit's `splitCommand` and its dispatch table of line parsers).

use super::json::{parse_array, JsonArray};
use super::{Arg, Node, Slicer};
use crate::dockerfile::go_text::{
    go_lower, go_quote, is_space, is_space_byte, trim_left_space, trim_space,
};
use std::borrow::Cow;

/// ONBUILD may wrap ONBUILD; the parser accepts it (later stages reject it) but bounds the
/// depth so that no input can exhaust the stack.
const MAX_ONBUILD_DEPTH: usize = 64;

/// Builds the instruction node for a logical line. Errors are plain messages; the caller adds
/// the location.
pub(crate) fn node_from_line<'a>(
    line: &str,
    sl: Slicer<'a>,
    escape: char,
) -> Result<Node<'a>, String> {
    node_from_line_at(line, sl, escape, 0)
}

fn node_from_line_at<'a>(
    line: &str,
    sl: Slicer<'a>,
    escape: char,
    depth: usize,
) -> Result<Node<'a>, String> {
    let (cmd, rest) = split_keyword(line);
    let (args, flags) = match rest {
        Some(rest) => extract_builder_flags(rest, sl, escape),
        None => (Cow::Borrowed(""), Vec::new()),
    };
    let args = trim_space(&args);
    let mut json = false;
    let next = with_lower(cmd, |keyword| -> Result<Vec<Arg<'a>>, String> {
        Ok(match keyword {
            "add" | "copy" | "volume" => match parse_json(args)? {
                Some(v) => {
                    json = true;
                    v
                }
                None => split_whitespace(args, sl),
            },
            "run" | "cmd" | "entrypoint" | "shell" => {
                let (v, j) = parse_maybe_json(args, sl)?;
                json = j;
                v
            }
            "from" | "expose" => split_whitespace(args, sl),
            "user" | "workdir" | "maintainer" | "stopsignal" => string_node(args, sl),
            "arg" => {
                let words = parse_words(args, escape);
                let mut out = Vec::with_capacity(words.len());
                out.extend(words.into_iter().map(|w| leaf(sl.text(w))));
                out
            }
            "env" => parse_name_val(args, sl, "ENV", escape)?,
            "label" => parse_name_val(args, sl, "LABEL", escape)?,
            "healthcheck" => {
                let (v, j) = parse_health_config(args, sl)?;
                json = j;
                v
            }
            "onbuild" => {
                if args.is_empty() {
                    Vec::new()
                } else {
                    if depth >= MAX_ONBUILD_DEPTH {
                        return Err(format!(
                            "ONBUILD nested more than {MAX_ONBUILD_DEPTH} levels deep"
                        ));
                    }
                    let child = node_from_line_at(args, sl, escape, depth + 1)?;
                    vec![Arg {
                        value: Cow::Borrowed(""),
                        children: vec![child],
                    }]
                }
            }
            // Unknown instructions keep one empty argument; later stages report them.
            _ => vec![Arg::default()],
        })
    })?;
    Ok(Node {
        value: keyword_value(cmd),
        next,
        flags,
        json,
        original: sl.text(line),
        ..Node::default()
    })
}

/// Calls `f` with the keyword lowercased as Go's `strings.ToLower` does, without allocating
/// for the usual short ASCII keywords.
pub(crate) fn with_lower<R>(cmd: &str, f: impl FnOnce(&str) -> R) -> R {
    const CAP: usize = 16;
    if cmd.is_ascii() && cmd.len() <= CAP {
        let mut buf = [0u8; CAP];
        for (d, s) in buf.iter_mut().zip(cmd.bytes()) {
            *d = s.to_ascii_lowercase();
        }
        f(std::str::from_utf8(&buf[..cmd.len()]).unwrap_or_default())
    } else {
        f(&go_lower(cmd))
    }
}

fn leaf<'a>(value: impl Into<Cow<'a, str>>) -> Arg<'a> {
    Arg {
        value: value.into(),
        children: Vec::new(),
    }
}

/// The keyword as written, borrowed when it is one of the instructions spelled in upper or
/// lower case (nearly every line).
fn keyword_value(cmd: &str) -> Cow<'static, str> {
    const LOWER: [&str; 18] = [
        "add",
        "arg",
        "cmd",
        "copy",
        "entrypoint",
        "env",
        "expose",
        "from",
        "healthcheck",
        "label",
        "maintainer",
        "onbuild",
        "run",
        "shell",
        "stopsignal",
        "user",
        "volume",
        "workdir",
    ];
    use crate::dockerfile::instructions::INSTRUCTIONS;
    INSTRUCTIONS
        .iter()
        .chain(LOWER.iter())
        .find(|k| **k == cmd)
        .map_or_else(|| Cow::Owned(cmd.to_string()), |k| Cow::Borrowed(*k))
}

/// Splits at the first run of `[\t\v\f\r ]`, the only separators BuildKit's regexp knows.
fn is_ascii_sep(c: char) -> bool {
    matches!(c, '\t' | '\u{b}' | '\u{c}' | '\r' | ' ')
}

/// The keyword and the text after it (BuildKit's split at the first separator run).
pub(crate) fn split_keyword(line: &str) -> (&str, Option<&str>) {
    let line = trim_space(line);
    match line.find(is_ascii_sep) {
        None => (line, None),
        Some(i) => (&line[..i], Some(line[i..].trim_start_matches(is_ascii_sep))),
    }
}

/// Keyword, flags and the (trimmed) argument text.
#[cfg(test)]
fn split_command(line: &str, escape: char) -> (String, Vec<String>, String) {
    let (cmd, rest) = split_keyword(line);
    let (args, flags) = match rest {
        Some(rest) => extract_builder_flags(rest, Slicer { source: None }, escape),
        None => (Cow::Borrowed(""), Vec::new()),
    };
    let flags = flags.into_iter().map(Cow::into_owned).collect();
    (cmd.to_string(), flags, trim_space(&args).to_string())
}

/// Takes the leading `--flag` words off the argument text. BuildKit scans bytes here and
/// treats each byte as a rune (so non-ASCII text in a flag comes out Latin-1-decoded, and the
/// bytes 0x85 and 0xA0 separate words); this is reproduced exactly.
fn extract_builder_flags<'l, 'a>(
    line: &'l str,
    sl: Slicer<'a>,
    escape: char,
) -> (Cow<'l, str>, Vec<Cow<'a, str>>) {
    #[derive(PartialEq)]
    enum Phase {
        Spaces,
        Word,
        Quote,
    }
    let b = line.as_bytes();
    let esc = escape as u32 as u8;
    let mut words = Vec::new();
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
                return (rest_from(pos), words);
            }
            // Usually the flag is what runs up to the next space, without quotes, escapes or
            // non-ASCII bytes: then it is that text as it is.
            let len = b[pos..]
                .iter()
                .position(|&c| is_space_byte(c))
                .unwrap_or(b.len() - pos);
            let flag = &b[pos..pos + len];
            if flag
                .iter()
                .all(|&c| c.is_ascii() && c != b'\'' && c != b'"' && c != esc)
            {
                let end = pos + len;
                if flag == b"--" {
                    return (rest_from(end), words);
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
                    return (rest_from(pos), words);
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
    (Cow::Borrowed(""), words)
}

/// Go's `regexp.Split(s, -1)` on `[\t\v\f\r ]+`, one node per piece; nothing for "".
fn split_whitespace<'a>(rest: &str, sl: Slicer<'a>) -> Vec<Arg<'a>> {
    if rest.is_empty() {
        return Vec::new();
    }
    let mut out = Vec::new();
    go_split_ws_each(rest, usize::MAX, |s| out.push(leaf(sl.text(s))));
    out
}

/// Go's `regexp.Split` with `[\t\v\f\r ]+` and a limit `n` (> 0) on the number of pieces.
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
    let mut i = 0;
    let bytes = s.as_bytes();
    while i < bytes.len() {
        if pieces == n - 1 {
            break;
        }
        if is_ascii_sep(bytes[i] as char) {
            let m0 = i;
            while i < bytes.len() && is_ascii_sep(bytes[i] as char) {
                i += 1;
            }
            end = m0;
            each(&s[beg..m0]);
            pieces += 1;
            beg = i;
        } else {
            i += 1;
        }
    }
    if end != s.len() || pieces == 0 {
        each(&s[beg..]);
    }
}

fn string_node<'a>(rest: &str, sl: Slicer<'a>) -> Vec<Arg<'a>> {
    if rest.is_empty() {
        Vec::new()
    } else {
        vec![leaf(sl.text(rest))]
    }
}

const NOT_STRING_ARRAY: &str =
    "when using JSON array syntax, arrays must be comprised of strings only";

/// `Some(nodes)` when the text is a JSON array of strings, `None` when it is not JSON.
fn parse_json<'a>(rest: &str) -> Result<Option<Vec<Arg<'a>>>, String> {
    let rest = trim_left_space(rest);
    if !rest.starts_with('[') {
        return Ok(None);
    }
    match parse_array(rest) {
        JsonArray::NotJson => Ok(None),
        JsonArray::NotStrings => Err(NOT_STRING_ARRAY.to_string()),
        JsonArray::Strings(v) => Ok(Some(v.into_iter().map(leaf).collect())),
    }
}

/// JSON-or-string: the nodes and whether they came from JSON.
fn parse_maybe_json<'a>(rest: &str, sl: Slicer<'a>) -> Result<(Vec<Arg<'a>>, bool), String> {
    if rest.is_empty() {
        return Ok((Vec::new(), false));
    }
    Ok(match parse_json(rest)? {
        Some(v) => (v, true),
        None => (vec![leaf(sl.text(rest))], false),
    })
}

/// `HEALTHCHECK <type> <json-or-string>`; the type ends at the first space byte.
fn parse_health_config<'a>(rest: &str, sl: Slicer<'a>) -> Result<(Vec<Arg<'a>>, bool), String> {
    let b = rest.as_bytes();
    let sep = b.iter().position(|&c| is_space_byte(c)).unwrap_or(b.len());
    if sep == 0 {
        return Ok((Vec::new(), false));
    }
    let next = b[sep..]
        .iter()
        .position(|&c| !is_space_byte(c))
        .map_or(b.len(), |p| sep + p);
    let typ = match rest.get(..sep) {
        Some(t) => sl.text(t),
        None => Cow::Owned(String::from_utf8_lossy(&b[..sep]).into_owned()),
    };
    let (mut args, json) = match rest.get(next..) {
        Some(cmd) => parse_maybe_json(cmd, sl)?,
        None => parse_maybe_json(&String::from_utf8_lossy(&b[next..]), sl)?,
    };
    args.insert(0, leaf(typ));
    Ok((args, json))
}

/// BuildKit's `parseWords`: whitespace-separated words with quotes and escapes kept. Every
/// word is a slice of `rest` (only an escape token at the very end is dropped, and that
/// shortens the last word), so none is copied here.
pub(crate) fn parse_words(rest: &str, escape: char) -> Vec<&str> {
    #[derive(PartialEq)]
    enum Phase {
        Spaces,
        Word,
        Quote,
    }
    let mut words = Vec::new();
    let mut phase = Phase::Spaces;
    let mut quote = '\0';
    let mut blank_ok = false;
    // The current word is `rest[start..end]`.
    let (mut start, mut end) = (0, 0);
    let mut it = rest.char_indices();
    loop {
        let Some((i, ch)) = it.next() else {
            if phase != Phase::Spaces && (blank_ok || end > start) {
                words.push(&rest[start..end]);
            }
            break;
        };
        if phase == Phase::Spaces {
            if is_space(ch) {
                continue;
            }
            phase = Phase::Word;
            (start, end) = (i, i);
        }
        if phase == Phase::Word {
            if is_space(ch) {
                phase = Phase::Spaces;
                if blank_ok || end > start {
                    words.push(&rest[start..end]);
                }
                blank_ok = false;
                continue;
            }
            if ch == '\'' || ch == '"' {
                quote = ch;
                blank_ok = true;
                phase = Phase::Quote;
            }
            if ch == escape {
                // The escape and the character after it stay; at the very end it is dropped.
                if let Some((j, n)) = it.next() {
                    end = j + n.len_utf8();
                }
                continue;
            }
            end = i + ch.len_utf8();
            continue;
        }
        // Phase::Quote
        if ch == quote {
            phase = Phase::Word;
        }
        if ch == escape && quote != '\'' {
            match it.next() {
                Some((j, n)) => end = j + n.len_utf8(),
                None => phase = Phase::Word,
            }
            continue;
        }
        end = i + ch.len_utf8();
    }
    words
}

/// ENV and LABEL: `key value` (legacy) or `key=value ...`, as key/value/separator triples.
fn parse_name_val<'a>(
    rest: &str,
    sl: Slicer<'a>,
    key: &str,
    escape: char,
) -> Result<Vec<Arg<'a>>, String> {
    let words = parse_words(rest, escape);
    let Some(first) = words.first() else {
        return Ok(Vec::new());
    };
    if !first.contains('=') {
        let parts = go_split_ws(rest, 2);
        if parts.len() < 2 {
            return Err(format!("{key} must have two arguments"));
        }
        return Ok(vec![
            leaf(sl.text(parts[0])),
            leaf(sl.text(parts[1])),
            leaf(""),
        ]);
    }
    let mut out = Vec::with_capacity(words.len() * 3);
    for word in words {
        let Some((key, value)) = word.split_once('=') else {
            return Err(format!(
                "Syntax error - can't find = in {}. Must be of the form: name=value",
                go_quote(word)
            ));
        };
        out.push(leaf(sl.text(key)));
        out.push(leaf(sl.text(value)));
        out.push(leaf("="));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

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
    fn go_split() {
        assert_eq!(go_split_ws("a b\t c", usize::MAX), vec!["a", "b", "c"]);
        assert_eq!(go_split_ws("a b\t c", 2), vec!["a", "b\t c"]);
        assert_eq!(go_split_ws("abc", 2), vec!["abc"]);
        assert_eq!(go_split_ws("a ", 2), vec!["a", ""]);
    }
}
