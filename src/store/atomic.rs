//! Atomic file replacement: write into the store's `tmp/`, fsync the file, rename into place,
//! fsync the directory. A crash leaves either the old file or the new one, plus junk in `tmp/`.

use super::error::{IoContext, Result};
use std::fs::File;
use std::io::Write;
use std::path::Path;

/// Replaces `dest` with `bytes`, atomically. `tmp` must be on the same filesystem.
pub fn write_file(tmp: &Path, dest: &Path, bytes: &[u8]) -> Result<()> {
    let mut f = tempfile::Builder::new()
        .prefix("write-")
        .tempfile_in(tmp)
        .ctx(|| format!("creating a temporary file in {}", tmp.display()))?;
    f.write_all(bytes)
        .and_then(|_| f.as_file().sync_all())
        .ctx(|| format!("writing {}", f.path().display()))?;
    f.persist(dest)
        .map_err(|e| e.error)
        .ctx(|| format!("renaming into {}", dest.display()))?;
    sync_parent(dest)
}

/// Fsyncs the directory holding `path`, making a rename into it durable.
pub fn sync_parent(path: &Path) -> Result<()> {
    match path.parent() {
        Some(dir) => sync_dir(dir),
        None => Ok(()),
    }
}

pub fn sync_dir(dir: &Path) -> Result<()> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .ctx(|| format!("syncing directory {}", dir.display()))
}
