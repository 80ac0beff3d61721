//! The ignore rules as the walk uses them: the docker matcher, plus what is needed to decide
//! whether an excluded directory can be skipped without reading it.
//!
//! Without `!` patterns an excluded directory excludes everything below it, so the walk never
//! opens it (a `node_modules` costs nothing). With `!` patterns a path below an excluded
//! directory can be re-included, so the directory must be read unless no exception pattern
//! can match anything below it. When the exception texts are known (rules read from an ignore
//! file) that is decided per directory; with a bare [`Matcher`] every excluded directory is
//! read.

use super::dockerignore::{read_patterns, BadPattern, Matcher};

#[derive(Debug, Clone, Default)]
pub struct IgnoreRules {
    matcher: Matcher,
    /// The cleaned bodies of the `!` patterns, when known.
    exceptions: Option<Vec<String>>,
}

impl IgnoreRules {
    /// Rules that ignore nothing.
    pub fn none() -> IgnoreRules {
        IgnoreRules::default()
    }

    /// Reads and compiles an ignore file's text.
    pub fn parse(text: &str) -> Result<IgnoreRules, BadPattern> {
        let patterns = read_patterns(text);
        let matcher = Matcher::new(&patterns)?;
        let exceptions = patterns
            .iter()
            .filter_map(|p| p.strip_prefix('!'))
            .map(|p| p.trim().to_string())
            .collect();
        Ok(IgnoreRules {
            matcher,
            exceptions: Some(exceptions),
        })
    }

    pub fn matcher(&self) -> &Matcher {
        &self.matcher
    }

    /// Whether the rules exclude nothing at all (the walk then skips asking).
    pub fn is_empty(&self) -> bool {
        self.matcher.is_empty()
    }

    /// Whether `rel` (relative to the context root, `/`-separated) is excluded.
    pub fn is_ignored(&self, rel: &str) -> Result<bool, BadPattern> {
        if self.matcher.is_empty() {
            return Ok(false);
        }
        self.matcher.is_ignored(rel)
    }

    /// Whether something below the excluded directory `dir` may be re-included, so that the
    /// directory must be read. Errs on the side of reading.
    pub fn may_reinclude_below(&self, dir: &str) -> bool {
        if !self.matcher.has_exclusions() {
            return false;
        }
        match &self.exceptions {
            None => true,
            Some(list) => list.iter().any(|p| could_match_below(p, dir)),
        }
    }
}

impl From<Matcher> for IgnoreRules {
    fn from(matcher: Matcher) -> IgnoreRules {
        IgnoreRules {
            matcher,
            exceptions: None,
        }
    }
}

const WILDCARDS: &[char] = &['*', '?', '[', '\\'];

/// Whether `pattern` can match a path strictly below `dir` that it does not already match
/// through `dir` or one of its ancestors. A pattern that matches `dir` or an ancestor matches
/// every path below in the same way, so it cannot make a descendant differ from `dir`.
/// `*`, `?` and classes never cross `/`, so a pattern without `**` matches only paths with
/// exactly as many segments as it has.
fn could_match_below(pattern: &str, dir: &str) -> bool {
    let pat: Vec<&str> = pattern.split('/').collect();
    let dirs: Vec<&str> = dir.split('/').collect();
    for (i, seg) in pat.iter().enumerate() {
        let Some(d) = dirs.get(i) else {
            // The pattern is longer than `dir`: it can name something below it.
            return true;
        };
        let literal_end = seg.find(WILDCARDS).unwrap_or(seg.len());
        if !d.starts_with(&seg[..literal_end]) {
            return false;
        }
        if seg.contains("**") {
            // `**` spans any number of segments (and, in `foo**`, any suffix of this one).
            return true;
        }
        if literal_end == seg.len() && seg != d {
            return false;
        }
    }
    // The pattern ends at `dir` or above it.
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exception_reach() {
        assert!(could_match_below("a/b/c", "a"));
        assert!(could_match_below("a/b/c", "a/b"));
        assert!(!could_match_below("a/b/c", "a/b/c"));
        assert!(!could_match_below("a/b", "a/x"));
        assert!(!could_match_below("a", "a/b"));
        assert!(could_match_below("*/keep", "vendor"));
        assert!(could_match_below("v*/keep", "vendor"));
        assert!(!could_match_below("x*/keep", "vendor"));
        assert!(could_match_below("**/keep", "vendor/deep"));
        assert!(could_match_below("ven**", "vendor/deep"));
        assert!(!could_match_below("lib**", "vendor"));
        assert!(!could_match_below("*.md", "docs"));
    }

    #[test]
    fn bare_matcher_reads_every_excluded_dir_when_exceptions_exist() {
        let with = IgnoreRules::from(Matcher::from_ignore_file("a\n!b/c\n").unwrap());
        assert!(with.may_reinclude_below("a"));
        let parsed = IgnoreRules::parse("a\n!b/c\n").unwrap();
        assert!(!parsed.may_reinclude_below("a"));
        assert!(parsed.may_reinclude_below("b"));
        let without = IgnoreRules::parse("a\n").unwrap();
        assert!(!without.may_reinclude_below("a"));
    }
}
