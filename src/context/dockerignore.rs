//! `.dockerignore` reading and matching with docker's rules (moby/patternmatcher), not
//! gitignore's: patterns are anchored at the context root, `*` and `?` never cross `/`, `**`
//! spans any number of segments, a pattern also matches every path below a directory it
//! matches, and the last matching pattern wins (`!` re-includes). The `ignore` crate implements
//! gitignore semantics (unanchored names, `[!a]`, hidden-file rules), which differ in ways that
//! change what real builds copy, so the matcher is written here.

use regex::Regex;
use std::fmt;

/// A pattern that cannot be used, with the text as written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadPattern {
    pub pattern: String,
    pub reason: &'static str,
}

impl fmt::Display for BadPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid pattern {:?}: {}", self.pattern, self.reason)
    }
}

impl std::error::Error for BadPattern {}

/// Reads the text of an ignore file into patterns, as docker's reader does: a BOM dropped,
/// `#` in column 0 a comment, lines trimmed, paths cleaned and made relative, `!` kept.
pub fn read_patterns(text: &str) -> Vec<String> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut out = Vec::new();
    for line in text.lines() {
        if line.starts_with('#') {
            continue;
        }
        let mut pattern = line.trim();
        if pattern.is_empty() {
            continue;
        }
        let invert = pattern.starts_with('!');
        if invert {
            pattern = pattern[1..].trim();
        }
        let mut cleaned = String::new();
        if !pattern.is_empty() {
            cleaned = clean_path(pattern);
            if let Some(rest) = cleaned.strip_prefix('/') {
                cleaned = rest.to_string();
            }
        }
        if invert {
            cleaned.insert(0, '!');
        }
        out.push(cleaned);
    }
    out
}

/// Go's `filepath.Clean` for `/`-separated paths.
pub fn clean_path(p: &str) -> String {
    let rooted = p.starts_with('/');
    let mut parts: Vec<&str> = Vec::new();
    for seg in p.split('/') {
        match seg {
            "" | "." => {}
            ".." => {
                if parts.last().is_some_and(|l| *l != "..") {
                    parts.pop();
                } else if !rooted {
                    parts.push("..");
                }
            }
            s => parts.push(s),
        }
    }
    let joined = parts.join("/");
    match (rooted, joined.is_empty()) {
        (true, _) => format!("/{joined}"),
        (false, true) => ".".to_string(),
        (false, false) => joined,
    }
}

#[derive(Debug, Clone)]
enum Kind {
    Exact,
    /// `foo**`: the text before the `**` as a prefix.
    Prefix(String),
    /// `**foo`: the text after the `**` as a suffix.
    Suffix(String),
    Regex(Regex),
    /// Accepted when built but unusable (docker reports it at every match).
    Broken(&'static str),
}

#[derive(Debug, Clone)]
struct Pattern {
    text: String,
    cleaned: String,
    exclusion: bool,
    kind: Kind,
}

/// A compiled list of patterns.
#[derive(Debug, Clone, Default)]
pub struct Matcher {
    patterns: Vec<Pattern>,
    exclusions: bool,
}

impl Matcher {
    /// Compiles patterns (as [`read_patterns`] returns them).
    pub fn new<S: AsRef<str>>(patterns: &[S]) -> Result<Matcher, BadPattern> {
        let mut m = Matcher::default();
        for raw in patterns {
            let text = raw.as_ref().trim();
            if text.is_empty() {
                continue;
            }
            let (exclusion, body) = match text.strip_prefix('!') {
                Some(rest) => {
                    if rest.is_empty() {
                        return Err(BadPattern {
                            pattern: text.to_string(),
                            reason: "illegal exclusion pattern",
                        });
                    }
                    (true, rest)
                }
                None => (false, text),
            };
            let cleaned = clean_path(body);
            check_syntax(&cleaned).map_err(|reason| BadPattern {
                pattern: text.to_string(),
                reason,
            })?;
            let kind = compile(&cleaned);
            m.exclusions |= exclusion;
            m.patterns.push(Pattern {
                text: text.to_string(),
                cleaned,
                exclusion,
                kind,
            });
        }
        Ok(m)
    }

    /// Reads and compiles an ignore file's text.
    pub fn from_ignore_file(text: &str) -> Result<Matcher, BadPattern> {
        Matcher::new(&read_patterns(text))
    }

    /// Whether any pattern re-includes (`!`): then an excluded directory must still be walked.
    pub fn has_exclusions(&self) -> bool {
        self.exclusions
    }

    pub fn is_empty(&self) -> bool {
        self.patterns.is_empty()
    }

    /// Whether `path` (relative to the context root, `/`-separated) is ignored: the last
    /// pattern that matches the path or any of its ancestor directories decides.
    pub fn is_ignored(&self, path: &str) -> Result<bool, BadPattern> {
        let path = clean_path(path);
        if path == "." {
            return Ok(false);
        }
        let parent = match path.rfind('/') {
            Some(i) => &path[..i],
            None => "",
        };
        let mut ignored = false;
        for p in &self.patterns {
            // A pattern that cannot change the current answer is not evaluated.
            if p.exclusion != ignored {
                continue;
            }
            let mut hit = p.matches(&path)?;
            if !hit && !parent.is_empty() {
                for (i, _) in parent
                    .match_indices('/')
                    .chain(std::iter::once((parent.len(), "")))
                {
                    if p.matches(&parent[..i])? {
                        hit = true;
                        break;
                    }
                }
            }
            if hit {
                ignored = !p.exclusion;
            }
        }
        Ok(ignored)
    }
}

impl Pattern {
    fn matches(&self, path: &str) -> Result<bool, BadPattern> {
        Ok(match &self.kind {
            Kind::Exact => path == self.cleaned,
            Kind::Prefix(prefix) => path.starts_with(prefix.as_str()),
            Kind::Suffix(suffix) => {
                path.ends_with(suffix.as_str())
                    || suffix.strip_prefix('/').is_some_and(|s| path == s)
            }
            Kind::Regex(re) => re.is_match(path),
            Kind::Broken(reason) => {
                return Err(BadPattern {
                    pattern: self.text.clone(),
                    reason,
                })
            }
        })
    }
}

/// The syntax check docker runs when the matcher is built (Go's `filepath.Match` rules):
/// classes must be well formed and a pattern may not end in a lone `\`.
fn check_syntax(p: &str) -> Result<(), &'static str> {
    let chars: Vec<char> = p.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        match chars[i] {
            '\\' => {
                if i + 1 >= chars.len() {
                    return Err("trailing backslash");
                }
                i += 2;
            }
            '[' => {
                i = parse_class(&chars, i + 1).map(|(_, _, next)| next)?;
            }
            _ => i += 1,
        }
    }
    Ok(())
}

/// Parses a class body starting after `[`; returns (negated, ranges, index after `]`).
#[allow(clippy::type_complexity)]
fn parse_class(
    chars: &[char],
    mut i: usize,
) -> Result<(bool, Vec<(char, char)>, usize), &'static str> {
    let mut negated = false;
    if chars.get(i) == Some(&'^') {
        negated = true;
        i += 1;
    }
    let mut ranges = Vec::new();
    loop {
        if chars.get(i) == Some(&']') && !ranges.is_empty() {
            return Ok((negated, ranges, i + 1));
        }
        let (lo, next) = class_char(chars, i)?;
        i = next;
        let mut hi = lo;
        if chars.get(i) == Some(&'-') {
            let (h, next) = class_char(chars, i + 1)?;
            hi = h;
            i = next;
        }
        ranges.push((lo, hi));
    }
}

/// One (possibly escaped) class member, as Go's `getEsc`.
fn class_char(chars: &[char], mut i: usize) -> Result<(char, usize), &'static str> {
    match chars.get(i) {
        None => return Err("unterminated character class"),
        Some('-') | Some(']') => return Err("malformed character class"),
        Some('\\') => {
            i += 1;
            if i >= chars.len() {
                return Err("unterminated character class");
            }
        }
        _ => {}
    }
    let c = chars[i];
    if i + 1 >= chars.len() {
        return Err("unterminated character class");
    }
    Ok((c, i + 1))
}

/// Turns a cleaned pattern into a matcher, following patternmatcher's translation.
fn compile(p: &str) -> Kind {
    #[derive(PartialEq)]
    enum Mode {
        Exact,
        Prefix,
        Suffix,
        Regex,
    }
    let chars: Vec<char> = p.chars().collect();
    let mut re = String::from("^");
    let mut mode = Mode::Exact;
    let mut i = 0;
    let mut broken: Option<&'static str> = None;
    while i < chars.len() {
        let ch = chars[i];
        let first = i == 0;
        i += 1;
        match ch {
            '*' if chars.get(i) == Some(&'*') => {
                i += 1;
                if chars.get(i) == Some(&'/') {
                    i += 1;
                }
                if i >= chars.len() {
                    if mode == Mode::Exact {
                        mode = Mode::Prefix;
                    } else {
                        re.push_str(".*");
                        mode = Mode::Regex;
                    }
                } else {
                    re.push_str("(.*/)?");
                    mode = Mode::Regex;
                }
                if first {
                    mode = Mode::Suffix;
                }
            }
            '*' => {
                re.push_str("[^/]*");
                mode = Mode::Regex;
            }
            '?' => {
                re.push_str("[^/]");
                mode = Mode::Regex;
            }
            '\\' => {
                if let Some(&next) = chars.get(i) {
                    i += 1;
                    re.push_str(&regex::escape(&next.to_string()));
                    mode = Mode::Regex;
                }
            }
            '[' => {
                mode = Mode::Regex;
                match parse_class(&chars, i) {
                    Ok((negated, ranges, next)) => {
                        i = next;
                        re.push('[');
                        if negated {
                            re.push('^');
                        }
                        for (lo, hi) in ranges {
                            if lo > hi {
                                broken = Some("character class range out of order");
                            }
                            re.push_str(&class_escape(lo));
                            if hi != lo {
                                re.push('-');
                                re.push_str(&class_escape(hi));
                            }
                        }
                        re.push(']');
                    }
                    Err(reason) => broken = Some(reason),
                }
            }
            c => re.push_str(&regex::escape(&c.to_string())),
        }
    }
    if let Some(reason) = broken {
        return Kind::Broken(reason);
    }
    match mode {
        Mode::Exact => Kind::Exact,
        Mode::Prefix => Kind::Prefix(p[..p.len() - 2].to_string()),
        Mode::Suffix => Kind::Suffix(p[2..].to_string()),
        Mode::Regex => {
            re.push('$');
            match Regex::new(&re) {
                Ok(r) => Kind::Regex(r),
                Err(_) => Kind::Broken("invalid pattern"),
            }
        }
    }
}

fn class_escape(c: char) -> String {
    if c.is_ascii_alphanumeric() {
        c.to_string()
    } else {
        format!("\\x{{{:x}}}", c as u32)
    }
}

#[cfg(test)]
mod tests;
