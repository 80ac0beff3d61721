//! Go's `filepath.Match` for `/`-separated paths: `*` and `?` never match `/`, `[...]` is a
//! class (`^` negates, `a-z` ranges; as in Go, a class may match `/`), `\` escapes. COPY sources use it on context paths.

use regex::Regex;

/// Whether `s` holds an unescaped `*`, `?` or `[` (BuildKit's `containsWildcards`).
pub fn has_wildcard(s: &str) -> bool {
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'\\' => i += 1,
            b'*' | b'?' | b'[' => return true,
            _ => {}
        }
        i += 1;
    }
    false
}

/// A compiled pattern.
#[derive(Debug, Clone)]
pub struct Glob {
    re: Regex,
}

impl Glob {
    pub fn new(pattern: &str) -> Result<Glob, String> {
        let bad = || format!("syntax error in pattern {pattern:?}");
        let mut re = String::from("^");
        let chars: Vec<char> = pattern.chars().collect();
        let mut i = 0;
        while i < chars.len() {
            let c = chars[i];
            match c {
                '*' => re.push_str("[^/]*"),
                '?' => re.push_str("[^/]"),
                '\\' => {
                    i += 1;
                    let e = *chars.get(i).ok_or_else(bad)?;
                    re.push_str(&regex::escape(&e.to_string()));
                }
                '[' => {
                    i += 1;
                    let mut class = String::from("[");
                    if chars.get(i) == Some(&'^') {
                        class.push('^');
                        i += 1;
                    }
                    let mut n = 0;
                    loop {
                        let Some(&c) = chars.get(i) else {
                            return Err(bad());
                        };
                        if c == ']' && n > 0 {
                            break;
                        }
                        let lo = if c == '\\' {
                            i += 1;
                            *chars.get(i).ok_or_else(bad)?
                        } else if c == ']' {
                            return Err(bad());
                        } else {
                            c
                        };
                        class.push_str(&class_char(lo));
                        if chars.get(i + 1) == Some(&'-') && chars.get(i + 2) != Some(&']') {
                            i += 2;
                            let mut hi = *chars.get(i).ok_or_else(bad)?;
                            if hi == '\\' {
                                i += 1;
                                hi = *chars.get(i).ok_or_else(bad)?;
                            }
                            if hi < lo {
                                return Err(bad());
                            }
                            class.push('-');
                            class.push_str(&class_char(hi));
                        }
                        n += 1;
                        i += 1;
                    }
                    class.push(']');
                    re.push_str(&class);
                }
                c => re.push_str(&regex::escape(&c.to_string())),
            }
            i += 1;
        }
        re.push('$');
        Regex::new(&re).map(|re| Glob { re }).map_err(|_| bad())
    }

    pub fn matches(&self, s: &str) -> bool {
        self.re.is_match(s)
    }
}

fn class_char(c: char) -> String {
    match c {
        '\\' | ']' | '[' | '^' | '-' | '&' | '~' => format!("\\{c}"),
        c => c.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_match_rules() {
        let m = |p: &str, s: &str| Glob::new(p).unwrap().matches(s);
        assert!(m("*.txt", "a.txt"));
        assert!(!m("*.txt", "d/a.txt"));
        assert!(m("a?c", "abc"));
        assert!(!m("a?c", "a/c"));
        assert!(m("[ab]*", "bx.dat"));
        assert!(!m("[ab]*", "cx"));
        assert!(m("[^a]x", "bx"));
        assert!(!m("[^a]x", "ax"));
        assert!(m("[a-c]1", "b1"));
        assert!(m("d*/x*.txt", "dir/xy.txt"));
        assert!(m("\\*", "*"));
        assert!(!m("\\*", "a"));
        assert!(Glob::new("[").is_err());
        assert!(Glob::new("a\\").is_err());
        assert!(has_wildcard("a*"));
        assert!(!has_wildcard("a\\*"));
    }
}
