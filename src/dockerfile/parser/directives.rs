//! Parser directives (`# syntax=`, `# escape=`, `# check=`): read only from the comment lines
//! at the very top of the file; the first other line ends the block for good.

use super::Directives;

#[derive(Default)]
pub(crate) struct DirectiveParser {
    done: bool,
    seen_syntax: bool,
    seen_escape: bool,
    seen_check: bool,
}

impl DirectiveParser {
    /// Whether the block has ended.
    pub(crate) fn is_done(&self) -> bool {
        self.done
    }

    /// Ends the block: later lines are not directives.
    pub(crate) fn finish(&mut self) {
        self.done = true;
    }

    /// Looks at a line (newline and leading whitespace already removed). Returns whether it
    /// was a directive; records it in `out`.
    pub(crate) fn line(&mut self, line: &str, out: &mut Directives) -> Result<bool, String> {
        if self.done {
            return Ok(false);
        }
        let Some((key, value)) = line.strip_prefix('#').and_then(parse_directive) else {
            self.done = true;
            return Ok(false);
        };
        let key = key.to_ascii_lowercase();
        let seen = match key.as_str() {
            "syntax" => &mut self.seen_syntax,
            "escape" => &mut self.seen_escape,
            "check" => &mut self.seen_check,
            _ => {
                self.done = true;
                return Ok(false);
            }
        };
        if *seen {
            return Err(format!("only one {key} parser directive can be used"));
        }
        *seen = true;
        match key.as_str() {
            "syntax" => out.syntax = Some(value.to_string()),
            "check" => out.check = Some(value.to_string()),
            _ => {
                out.escape = match value {
                    "\\" => '\\',
                    "`" => '`',
                    _ => {
                        return Err(format!(
                            "invalid escape token '{value}' does not match ` or \\"
                        ))
                    }
                }
            }
        }
        Ok(true)
    }
}

/// Go's `\s`: ASCII whitespace without `\v`.
fn is_re_space(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\u{c}' | '\r' | ' ')
}

/// Matches `^([a-zA-Z][a-zA-Z0-9]*)\s*=\s*(.+?)\s*$` after leading Unicode whitespace.
fn parse_directive(s: &str) -> Option<(&str, &str)> {
    let s = s.trim_start_matches(char::is_whitespace);
    let key_len = s
        .char_indices()
        .find(|&(i, c)| !(c.is_ascii_alphabetic() || (i > 0 && c.is_ascii_digit())))
        .map_or(s.len(), |(i, _)| i);
    if key_len == 0 {
        return None;
    }
    let (key, rest) = s.split_at(key_len);
    let rest = rest.trim_start_matches(is_re_space).strip_prefix('=')?;
    let value = rest.trim_start_matches(is_re_space);
    if value.is_empty() {
        // `\s*` gives back one character so that `.+?` can match: the last blank.
        let last = rest.chars().next_back()?;
        return Some((key, &rest[rest.len() - last.len_utf8()..]));
    }
    Some((key, value.trim_end_matches(is_re_space)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn directive_shapes() {
        assert_eq!(parse_directive(" escape = ` "), Some(("escape", "`")));
        assert_eq!(
            parse_directive("syntax=docker/dockerfile:1"),
            Some(("syntax", "docker/dockerfile:1"))
        );
        assert_eq!(
            parse_directive("check=skip=all"),
            Some(("check", "skip=all"))
        );
        assert_eq!(parse_directive("escape="), None);
        assert_eq!(parse_directive("escape= \t"), Some(("escape", "\t")));
        assert_eq!(parse_directive("1escape=x"), None);
        assert_eq!(parse_directive("esc ape=x"), None);
        assert_eq!(parse_directive("a1=b c"), Some(("a1", "b c")));
    }
}
