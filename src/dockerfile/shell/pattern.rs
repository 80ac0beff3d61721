//! Shell-pattern trimming and replacement for `${v#p}`, `${v%p}`, `${v/p/r}` and friends.
//!
//! BuildKit turns the pattern into an RE2 regular expression and relies on RE2's
//! leftmost-first semantics (`*` is `.*` or `.*?`, `?` is `.`, no bracket expressions: `[`
//! is a literal). The `regex` crate has the same semantics and, like RE2, runs in time linear
//! in the input, so a hostile pattern cannot blow up. Suffix trimming reverses both the
//! pattern and the value so that "shortest rightmost" becomes a leftmost search, as
//! BuildKit does; the reversal keeps escape pairs together.

use std::collections::HashMap;

use regex::{Regex, RegexBuilder};

/// Upper bound for the compiled size of one pattern. A Dockerfile line is at most 64 KiB,
/// so only absurd patterns reach it; they fail with an error instead of using the memory.
const PATTERN_SIZE_LIMIT: usize = 64 << 20;

/// The character Go's `%c` prints for the scanner's EOF (-1).
pub(super) const GO_EOF_CHAR: char = '\u{FFFD}';

/// Compiled patterns, keyed by (pattern, greedy, anchored), so a word that repeats the same
/// `${v#p}` many times compiles it once.
#[derive(Default)]
pub(super) struct PatternCache {
    compiled: HashMap<(String, bool, bool), Result<Regex, String>>,
}

impl PatternCache {
    fn get(&mut self, pattern: &str, greedy: bool, anchored: bool) -> Result<&Regex, String> {
        let key = (pattern.to_string(), greedy, anchored);
        self.compiled
            .entry(key)
            .or_insert_with(|| compile(pattern, greedy, anchored))
            .as_ref()
            .map_err(|e| format!("invalid pattern ({pattern}) in substitution: {e}"))
    }

    /// `${v#p}` / `${v##p}`: remove the shortest (longest if `greedy`) prefix matching `pattern`.
    pub(super) fn trim_prefix(
        &mut self,
        pattern: &str,
        value: &str,
        greedy: bool,
    ) -> Result<String, String> {
        let re = self.get(pattern, greedy, true)?;
        Ok(match re.find(value) {
            Some(m) => value[m.end()..].to_string(),
            None => value.to_string(),
        })
    }

    /// `${v%p}` / `${v%%p}`: remove the shortest (longest if `greedy`) suffix matching `pattern`.
    pub(super) fn trim_suffix(
        &mut self,
        pattern: &str,
        value: &str,
        greedy: bool,
    ) -> Result<String, String> {
        let pattern = reverse_pattern(pattern);
        let value = reverse_string(value);
        let trimmed = self.trim_prefix(&pattern, &value, greedy)?;
        Ok(reverse_string(&trimmed))
    }

    /// `${v/p/r}` (first match) and `${v//p/r}` (every match). Wildcards are greedy. As in
    /// BuildKit, the replace-all form treats `$0`/`${0}` in the replacement as the matched
    /// text and `$$` as `$` (Go's `Regexp.ReplaceAllString`); the single form does not.
    pub(super) fn replace(
        &mut self,
        value: &str,
        pattern: &str,
        replacement: &str,
        all: bool,
    ) -> Result<String, String> {
        let re = self.get(pattern, true, false)?;
        if all {
            return Ok(go_replace_all(re, value, replacement));
        }
        Ok(match re.find(value) {
            Some(m) => format!(
                "{}{}{}",
                &value[..m.start()],
                replacement,
                &value[m.end()..]
            ),
            None => value.to_string(),
        })
    }
}

fn compile(pattern: &str, greedy: bool, anchored: bool) -> Result<Regex, String> {
    let source = shell_pattern_to_regex(pattern, greedy, anchored)?;
    RegexBuilder::new(&source)
        .size_limit(PATTERN_SIZE_LIMIT)
        .build()
        .map_err(|e| match e {
            regex::Error::CompiledTooBig(_) => "pattern too large".to_string(),
            other => other.to_string(),
        })
}

/// Translates a shell pattern into regex syntax. `\` escapes only `*`, `?` and `\`; a `\`
/// before `}` or `/` only protected that character from the `${…}` scanner and is dropped.
/// Like Go's `text/scanner`, a byte-order mark as the very first character is skipped.
pub(super) fn shell_pattern_to_regex(
    pattern: &str,
    greedy: bool,
    anchored: bool,
) -> Result<String, String> {
    let mut chars = pattern
        .strip_prefix('\u{FEFF}')
        .unwrap_or(pattern)
        .chars()
        .peekable();
    let mut out = String::with_capacity(pattern.len() + 4);
    if anchored {
        out.push('^');
    }
    let star = if greedy { ".*" } else { ".*?" };
    let mut utf8 = [0u8; 4];
    while let Some(tok) = chars.next() {
        match tok {
            '*' => out.push_str(star),
            '?' => out.push('.'),
            '\\' => {
                if matches!(chars.peek(), Some('}') | Some('/')) {
                    continue;
                }
                let escaped = chars.next();
                match escaped {
                    Some(c @ ('*' | '?' | '\\')) => {
                        out.push('\\');
                        out.push(c);
                    }
                    other => {
                        return Err(format!(
                            "invalid escape '\\{}'",
                            other.unwrap_or(GO_EOF_CHAR)
                        ))
                    }
                }
            }
            c => out.push_str(&regex::escape(c.encode_utf8(&mut utf8))),
        }
    }
    Ok(out)
}

/// Reverses a pattern by characters but keeps each `\x` pair in order (`a\*c` → `c\*a`).
pub(super) fn reverse_pattern(pattern: &str) -> String {
    let chars: Vec<char> = pattern.chars().collect();
    let mut out = vec!['\0'; chars.len()];
    let mut i = 0;
    while i < chars.len() {
        let out_idx = chars.len() - 1 - i;
        if chars[i] == '\\' && i + 1 < chars.len() {
            out[out_idx - 1] = '\\';
            out[out_idx] = chars[i + 1];
            i += 2;
        } else {
            out[out_idx] = chars[i];
            i += 1;
        }
    }
    out.into_iter().collect()
}

pub(super) fn reverse_string(s: &str) -> String {
    s.chars().rev().collect()
}

/// Go's `Regexp.ReplaceAllString`: an empty match right after the previous match is not
/// replaced, and the search always advances by at least one character.
fn go_replace_all(re: &Regex, src: &str, template: &str) -> String {
    let mut dst = String::with_capacity(src.len());
    let mut last_match_end = 0;
    let mut search_pos = 0;
    while search_pos <= src.len() {
        let Some(m) = re.find_at(src, search_pos) else {
            break;
        };
        dst.push_str(&src[last_match_end..m.start()]);
        if m.end() > last_match_end || m.start() == 0 {
            go_expand(&mut dst, template, m.as_str());
        }
        last_match_end = m.end();
        let width = src[search_pos..].chars().next().map_or(0, char::len_utf8);
        if search_pos + width > m.end() {
            search_pos += width;
        } else if search_pos + 1 > m.end() {
            search_pos += 1;
        } else {
            search_pos = m.end();
        }
    }
    dst.push_str(&src[last_match_end..]);
    dst
}

/// Go's `Regexp.Expand` for a regex without capture groups: `$$` is `$`, `$0`/`${0}` is the
/// match, any other well-formed reference is empty, a malformed one is a literal `$`.
fn go_expand(dst: &mut String, template: &str, matched: &str) {
    let mut rest = template;
    while let Some(i) = rest.find('$') {
        dst.push_str(&rest[..i]);
        rest = &rest[i + 1..];
        if let Some(after) = rest.strip_prefix('$') {
            dst.push('$');
            rest = after;
            continue;
        }
        match go_extract(rest) {
            None => dst.push('$'),
            Some((group, after)) => {
                rest = after;
                if group == Some(0) {
                    dst.push_str(matched);
                }
            }
        }
    }
    dst.push_str(rest);
}

/// Parses the name after `$` as Go's `regexp.extract` does; returns the group number (if
/// the name is a number without leading zeros) and the rest of the template.
fn go_extract(s: &str) -> Option<(Option<u64>, &str)> {
    let (brace, body) = match s.strip_prefix('{') {
        Some(b) => (true, b),
        None => (false, s),
    };
    let name_len: usize = body
        .chars()
        .take_while(|&c| {
            crate::dockerfile::go_text::is_letter(c)
                || crate::dockerfile::go_text::is_digit(c)
                || c == '_'
        })
        .map(char::len_utf8)
        .sum();
    if name_len == 0 {
        return None;
    }
    let name = &body[..name_len];
    let mut end = name_len;
    if brace {
        if !body[end..].starts_with('}') {
            return None;
        }
        end += 1;
    }
    let mut num: Option<u64> = Some(0);
    for b in name.bytes() {
        match num {
            Some(n) if b.is_ascii_digit() && n < 100_000_000 => {
                num = Some(n * 10 + u64::from(b - b'0'));
            }
            _ => {
                num = None;
                break;
            }
        }
    }
    if name.len() > 1 && name.starts_with('0') {
        num = None;
    }
    Some((num, &body[end..]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn converts_like_buildkit() {
        // BuildKit's TestConvertShellPatternToRegex, in regex-crate escaping.
        assert_eq!(shell_pattern_to_regex("*", true, true).unwrap(), "^.*");
        assert_eq!(shell_pattern_to_regex("*", false, true).unwrap(), "^.*?");
        assert_eq!(shell_pattern_to_regex("?", true, true).unwrap(), "^.");
        assert_eq!(shell_pattern_to_regex("\\*", true, true).unwrap(), "^\\*");
        assert_eq!(
            shell_pattern_to_regex("(()[]{\\}^$.\\*\\?|\\\\", true, true).unwrap(),
            "^\\(\\(\\)\\[\\]\\{\\}\\^\\$\\.\\*\\?\\|\\\\"
        );
        assert_eq!(shell_pattern_to_regex("a\\/b", true, false).unwrap(), "a/b");
        for bad in ["\\", "\\x", "\\\\\\"] {
            assert!(shell_pattern_to_regex(bad, true, true).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn bracket_expressions_are_literal() {
        let mut cache = PatternCache::default();
        assert_eq!(cache.trim_prefix("[ab]", "[ab]c", false).unwrap(), "c");
        assert_eq!(cache.trim_prefix("[ab]", "ac", false).unwrap(), "ac");
    }

    #[test]
    fn reverses_strings_and_patterns() {
        assert_eq!(reverse_string("54321"), "12345");
        assert_eq!(reverse_string("🖖🚀👽"), "👽🚀🖖");
        for (pattern, expected) in [
            ("a\\*c", "c\\*a"),
            ("\\\\\\ab", "b\\a\\\\"),
            ("ab\\", "\\ba"),
            ("👽\\🚀🖖", "🖖\\🚀👽"),
            ("\\\\b", "b\\\\"),
        ] {
            assert_eq!(reverse_pattern(pattern), expected, "{pattern:?}");
        }
    }

    #[test]
    fn wildcards_do_not_cross_newlines() {
        let mut cache = PatternCache::default();
        assert_eq!(cache.trim_prefix("*x", "a\nx", true).unwrap(), "a\nx");
        assert_eq!(cache.trim_prefix("*x", "ax\nx", true).unwrap(), "\nx");
    }

    #[test]
    fn replace_all_follows_go_empty_match_rules() {
        let mut cache = PatternCache::default();
        assert_eq!(cache.replace("xxyy", "", "-", true).unwrap(), "-x-x-y-y-");
        assert_eq!(cache.replace("xxyy", "", "-", false).unwrap(), "-xxyy");
        assert_eq!(cache.replace("abc", "*", "-", true).unwrap(), "-");
        assert_eq!(cache.replace("a\nb", "*", "-", true).unwrap(), "-\n-");
    }

    #[test]
    fn replace_all_expands_go_templates() {
        let mut cache = PatternCache::default();
        assert_eq!(cache.replace("abc", "b", "[$0]", true).unwrap(), "a[b]c");
        assert_eq!(cache.replace("abc", "b", "[${0}]", true).unwrap(), "a[b]c");
        assert_eq!(cache.replace("abc", "b", "$$", true).unwrap(), "a$c");
        assert_eq!(cache.replace("abc", "b", "$1x", true).unwrap(), "ac");
        assert_eq!(cache.replace("abc", "b", "$00", true).unwrap(), "ac");
        assert_eq!(cache.replace("abc", "b", "$.", true).unwrap(), "a$.c");
        assert_eq!(cache.replace("abc", "b", "${0", true).unwrap(), "a${0c");
        // The single-replacement form is plain text.
        assert_eq!(cache.replace("abc", "b", "$0", false).unwrap(), "a$0c");
    }
}
