//! The store's two advisory locks (`flock`, the same lock `File::lock` takes, which is
//! newer than our minimum Rust; released by the kernel when a process dies).
//!
//! - `lock` guards `index.json` and the layer table: exclusive for a read-modify-write,
//!   held only for that short update.
//! - `gc.lock` separates garbage collection from ingestion: anything that writes blobs or
//!   snapshots before naming them in the index holds it shared for its whole run; `prune`
//!   holds it exclusive, so it never sees a half-made import as garbage and every file in
//!   `tmp/` it finds is left over from a dead process.

use super::error::{IoContext, Result};
use rustix::fs::FlockOperation;
use std::fs::{File, OpenOptions};
use std::path::Path;

/// A held lock; dropping it unlocks.
#[derive(Debug)]
pub struct LockGuard {
    _file: File,
}

fn open(path: &Path) -> Result<File> {
    OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(path)
        .ctx(|| format!("opening lock file {}", path.display()))
}

pub fn exclusive(path: &Path) -> Result<LockGuard> {
    let file = open(path)?;
    rustix::fs::flock(&file, FlockOperation::LockExclusive)
        .ctx(|| format!("locking {}", path.display()))?;
    Ok(LockGuard { _file: file })
}

pub fn shared(path: &Path) -> Result<LockGuard> {
    let file = open(path)?;
    rustix::fs::flock(&file, FlockOperation::LockShared)
        .ctx(|| format!("locking {}", path.display()))?;
    Ok(LockGuard { _file: file })
}

/// An exclusive lock if nobody holds the lock now, else `None`.
pub fn try_exclusive(path: &Path) -> Result<Option<LockGuard>> {
    let file = open(path)?;
    match rustix::fs::flock(&file, FlockOperation::NonBlockingLockExclusive) {
        Ok(()) => Ok(Some(LockGuard { _file: file })),
        Err(rustix::io::Errno::WOULDBLOCK) => Ok(None),
        Err(e) => Err(e).ctx(|| format!("locking {}", path.display())),
    }
}
