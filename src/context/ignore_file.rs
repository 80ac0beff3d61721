//! Finding and loading the ignore file as docker does: `<Dockerfile name>.dockerignore` beside
//! the Dockerfile wins over `.dockerignore` at the context root (so one context can serve
//! several Dockerfiles with different exclusions). A pattern that cannot be used is reported
//! with the file and line, at load time, rather than in the middle of a walk.

use super::dockerignore::{read_patterns, Matcher};
use super::error::ContextError;
use super::rules::IgnoreRules;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

/// The rules in force for a build and the file they came from (`None`: no ignore file).
#[derive(Debug, Clone)]
pub struct LoadedIgnore {
    pub source: Option<PathBuf>,
    pub rules: IgnoreRules,
}

/// Loads the ignore rules for a build of `context_dir` with the Dockerfile at `dockerfile`
/// (`None` when the Dockerfile does not come from a file, e.g. standard input).
pub fn load_ignore_rules(
    context_dir: &Path,
    dockerfile: Option<&Path>,
) -> Result<LoadedIgnore, ContextError> {
    let mut candidates = Vec::new();
    if let Some(df) = dockerfile {
        if let Some(name) = df.file_name() {
            let mut own = name.to_os_string();
            own.push(".dockerignore");
            candidates.push(df.with_file_name(own));
        }
    }
    candidates.push(context_dir.join(".dockerignore"));
    for path in candidates {
        match fs::read(&path) {
            Ok(bytes) => {
                let text = String::from_utf8_lossy(&bytes);
                let rules = parse_ignore_file(&path, &text)?;
                return Ok(LoadedIgnore {
                    source: Some(path),
                    rules,
                });
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
            Err(e) => {
                return Err(ContextError::IgnoreFile {
                    path,
                    reason: format!("cannot read ignore file: {e}"),
                })
            }
        }
    }
    Ok(LoadedIgnore {
        source: None,
        rules: IgnoreRules::none(),
    })
}

/// Compiles an ignore file's text, naming `file` and the line of the first unusable pattern.
pub fn parse_ignore_file(file: &Path, text: &str) -> Result<IgnoreRules, ContextError> {
    let body = text.strip_prefix('\u{feff}').unwrap_or(text);
    for (i, line) in body.lines().enumerate() {
        for pattern in read_patterns(line) {
            check_one(&pattern).map_err(|reason| ContextError::BadIgnorePattern {
                file: file.to_path_buf(),
                line: i + 1,
                pattern: line.trim().to_string(),
                reason,
            })?;
        }
    }
    IgnoreRules::parse(text).map_err(|e| ContextError::IgnoreFile {
        path: file.to_path_buf(),
        reason: e.to_string(),
    })
}

/// Compiles one pattern and evaluates it once: some faults (a reversed class range) only
/// show when a pattern is matched, and `!` patterns are not evaluated until something is
/// excluded, so the body is checked as a plain pattern.
fn check_one(pattern: &str) -> Result<(), &'static str> {
    Matcher::new(&[pattern]).map_err(|e| e.reason)?;
    let body = pattern.strip_prefix('!').unwrap_or(pattern);
    let m = Matcher::new(&[body]).map_err(|e| e.reason)?;
    m.is_ignored("probe").map(|_| ()).map_err(|e| e.reason)
}
