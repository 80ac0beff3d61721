//! The OCI distribution client: auth, pull, push.
//!
//! Independent of the local store: blobs are streamed into [`pull::PullTarget`] writers and
//! read from [`push::PushSource`] readers, and manifests travel as the exact bytes the
//! registry served or will store (never re-serialised, so digests hold).

pub mod auth;
pub mod client;
pub mod credentials;
pub mod platform;
pub mod pull;
pub mod push;
pub mod transport;

pub use client::{Client, FetchedManifest};
pub use platform::PlatformSpec;

use crate::image::digest::Digest;
use std::time::Duration;

/// What happened to one blob during a pull or push, reported so that the command line can
/// print docker's per-layer lines.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BlobEvent {
    /// Bytes transferred so far out of the blob's size.
    Progress {
        done: u64,
        total: u64,
    },
    /// Already present where it was going (local store on pull, registry on push).
    Exists,
    /// Mounted on the registry from another repository instead of uploaded.
    Mounted {
        from: String,
    },
    Pushed,
    Pulled,
    /// A transient failure; the transfer starts over (or resumes) after a pause.
    Retrying {
        attempt: u32,
        reason: String,
    },
}

/// Receives [`BlobEvent`]s; called from several transfer threads at once.
pub type ProgressFn<'a> = &'a (dyn Fn(&Digest, BlobEvent) + Sync);

/// A progress callback that ignores everything.
pub fn no_progress(_: &Digest, _: BlobEvent) {}

/// Why a registry operation failed. Messages never contain credentials.
#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    /// No answer. `retryable` is false when nothing listens (connection refused, no such
    /// host): a registry that is down is reported at once rather than retried.
    #[error("cannot reach registry {registry}: {reason}")]
    Unreachable {
        registry: String,
        reason: String,
        retryable: bool,
    },
    #[error("unauthorized: {message}")]
    Unauthorized { message: String },
    #[error("denied: {message}")]
    Denied { message: String },
    #[error("{what} not found: {message}")]
    NotFound { what: String, message: String },
    #[error("{url}: HTTP {status}: {message}")]
    Http {
        url: String,
        status: u16,
        message: String,
    },
    #[error("digest mismatch for {what}: expected {expected}, got {actual}")]
    DigestMismatch {
        what: String,
        expected: String,
        actual: String,
    },
    #[error("size mismatch for {what}: expected {expected} bytes, got {actual}")]
    SizeMismatch {
        what: String,
        expected: u64,
        actual: u64,
    },
    #[error(
        "{reference} uses the deprecated image manifest schema 1 ({media_type}), which kiln does not support; push it again with a current client to convert it"
    )]
    Schema1 {
        reference: String,
        media_type: String,
    },
    #[error("unsupported manifest media type {media_type:?} for {reference}")]
    UnknownMediaType {
        reference: String,
        media_type: String,
    },
    #[error(
        "no matching manifest for {wanted} in the manifest list entries (available: {available})"
    )]
    PlatformNotFound { wanted: String, available: String },
    #[error("invalid {what}: {reason}")]
    Invalid { what: String, reason: String },
    #[error("credentials: {0}")]
    Credentials(String),
    /// A transfer broke off (network side).
    #[error("{context}: {source}")]
    Io {
        context: String,
        #[source]
        source: std::io::Error,
    },
    /// Reading or writing local files failed: retrying the transfer would not help.
    #[error("{context}: {source}")]
    Local {
        context: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{what}: gave up after {attempts} attempts: {last}")]
    RetriesExhausted {
        what: String,
        attempts: u32,
        last: Box<RegistryError>,
    },
}

impl RegistryError {
    /// Whether trying again may help: dropped connections, 5xx, 429. Never auth or 404.
    pub fn is_transient(&self) -> bool {
        match self {
            RegistryError::Unreachable { retryable, .. } => *retryable,
            RegistryError::Http { status, .. } => *status >= 500 || *status == 429,
            RegistryError::Io { .. } => true,
            _ => false,
        }
    }

    pub(crate) fn io(context: impl Into<String>, source: std::io::Error) -> Self {
        RegistryError::Io {
            context: context.into(),
            source,
        }
    }

    pub(crate) fn local(context: impl Into<String>, source: std::io::Error) -> Self {
        RegistryError::Local {
            context: context.into(),
            source,
        }
    }
}

pub type Result<T, E = RegistryError> = std::result::Result<T, E>;

/// How the client talks to registries.
#[derive(Debug, Clone)]
pub struct Options {
    /// Registries (`host[:port]`) reached over plain HTTP although not on loopback.
    pub insecure: Vec<String>,
    /// Blobs up to this size are uploaded in one PUT; bigger ones in PATCH chunks.
    pub chunk_threshold: u64,
    /// Size of one PATCH chunk.
    pub chunk_size: u64,
    /// Blobs transferred at once.
    pub parallel: usize,
    /// Attempts per blob transfer (1 = no retry).
    pub max_attempts: u32,
    /// Pause before the first retry; doubled for each further one.
    pub backoff: Duration,
    /// Where docker's `config.json` lives (`$DOCKER_CONFIG`, else `~/.docker`).
    pub docker_config_dir: Option<std::path::PathBuf>,
    pub user_agent: String,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            insecure: insecure_from_env(),
            chunk_threshold: 32 << 20,
            chunk_size: 16 << 20,
            parallel: 3,
            max_attempts: 5,
            backoff: Duration::from_millis(500),
            docker_config_dir: None,
            user_agent: format!("kiln/{}", env!("CARGO_PKG_VERSION")),
        }
    }
}

/// Registries listed in `KILN_INSECURE_REGISTRIES` (comma separated).
pub fn insecure_from_env() -> Vec<String> {
    std::env::var("KILN_INSECURE_REGISTRIES")
        .map(|v| parse_insecure_list(&v))
        .unwrap_or_default()
}

/// Splits a comma-separated `--insecure-registry` value, dropping any scheme.
pub fn parse_insecure_list(v: &str) -> Vec<String> {
    v.split(',')
        .map(|s| {
            let s = s.trim();
            let s = s
                .strip_prefix("http://")
                .or_else(|| s.strip_prefix("https://"))
                .unwrap_or(s);
            s.trim_end_matches('/').to_string()
        })
        .filter(|s| !s.is_empty())
        .collect()
}

/// Runs `f` on every item with at most `workers` threads, stopping at the first error.
pub(crate) fn run_parallel<T: Sync>(
    items: &[T],
    workers: usize,
    f: &(dyn Fn(&T) -> Result<()> + Sync),
) -> Result<()> {
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
    let next = AtomicUsize::new(0);
    let failed = AtomicBool::new(false);
    let first_error = std::sync::Mutex::new(None);
    let workers = workers.clamp(1, items.len().max(1));
    std::thread::scope(|s| {
        for _ in 0..workers {
            s.spawn(|| loop {
                if failed.load(Ordering::SeqCst) {
                    return;
                }
                let i = next.fetch_add(1, Ordering::SeqCst);
                let Some(item) = items.get(i) else { return };
                if let Err(e) = f(item) {
                    failed.store(true, Ordering::SeqCst);
                    let mut slot = first_error.lock().unwrap_or_else(|p| p.into_inner());
                    if slot.is_none() {
                        *slot = Some(e);
                    }
                    return;
                }
            });
        }
    });
    match first_error.into_inner().unwrap_or_else(|p| p.into_inner()) {
        Some(e) => Err(e),
        None => Ok(()),
    }
}
