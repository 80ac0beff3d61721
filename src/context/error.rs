//! Errors of the context walk, hashing and selection digests. Problems with the persisted
//! index are deliberately absent: a bad index only costs a re-hash.

use super::dockerignore::BadPattern;
use std::io;
use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum ContextError {
    #[error("build context {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("build context root {0} is not a directory")]
    NotADirectory(PathBuf),
    #[error("build context: {0}")]
    Pattern(#[from] BadPattern),
    #[error("{path}: {reason}")]
    IgnoreFile { path: PathBuf, reason: String },
    #[error("{file}:{line}: invalid ignore pattern {pattern:?}: {reason}")]
    BadIgnorePattern {
        file: PathBuf,
        line: usize,
        pattern: String,
        reason: &'static str,
    },
    #[error(
        "{0:?}: no such file or directory in the build context (or excluded by .dockerignore)"
    )]
    NotFound(String),
    #[error("{0:?}: path escapes the build context")]
    OutsideContext(String),
    #[error("the build context has not been scanned yet")]
    NotScanned,
}

impl ContextError {
    pub(crate) fn io(path: impl Into<PathBuf>, source: io::Error) -> Self {
        ContextError::Io {
            path: path.into(),
            source,
        }
    }
}
