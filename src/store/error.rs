//! Errors of the local store, typed so that commands can tell "not found" and "conflict"
//! (docker's exit messages) from I/O failures.

use crate::image::digest::Digest;
use std::io;
use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{context}: {source}")]
    Io {
        context: String,
        #[source]
        source: io::Error,
    },
    #[error("digest mismatch for {what}: expected {expected}, got {actual}")]
    DigestMismatch {
        what: String,
        expected: Digest,
        actual: Digest,
    },
    #[error("size mismatch for {digest}: expected {expected} bytes, got {actual}")]
    SizeMismatch {
        digest: Digest,
        expected: u64,
        actual: u64,
    },
    #[error("No such image: {0}")]
    NoSuchImage(String),
    #[error("blob {0} is missing from the store")]
    MissingBlob(Digest),
    #[error("{0}")]
    Ambiguous(String),
    #[error("conflict: {0}")]
    Conflict(String),
    #[error("invalid reference format: {0}")]
    InvalidReference(String),
    #[error("corrupt {what}: {detail}")]
    Corrupt { what: String, detail: String },
    #[error("unsafe layer entry {path:?}: {reason}")]
    UnsafePath { path: PathBuf, reason: String },
    #[error("unsupported: {0}")]
    Unsupported(String),
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

impl StoreError {
    pub fn corrupt(what: impl Into<String>, detail: impl ToString) -> StoreError {
        StoreError::Corrupt {
            what: what.into(),
            detail: detail.to_string(),
        }
    }
}

/// Adds a human context to `io::Result`s, the way `anyhow::Context` does for the CLI.
pub trait IoContext<T> {
    fn ctx(self, context: impl FnOnce() -> String) -> Result<T>;
}

impl<T> IoContext<T> for io::Result<T> {
    fn ctx(self, context: impl FnOnce() -> String) -> Result<T> {
        self.map_err(|source| StoreError::Io {
            context: context(),
            source,
        })
    }
}

impl<T> IoContext<T> for rustix::io::Result<T> {
    fn ctx(self, context: impl FnOnce() -> String) -> Result<T> {
        self.map_err(|e| StoreError::Io {
            context: context(),
            source: e.into(),
        })
    }
}
