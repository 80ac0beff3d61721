//! Streaming content digests of context files. Memory stays bounded (one buffer per thread,
//! whatever the file size), and a file that changes while it is read is detected: the
//! metadata is taken from the open descriptor before and after reading, and only a digest
//! whose file did not change under it may be remembered in the index.

use super::walk::Entry;
use crate::fsops::AlignedBuf;
use crate::image::digest::Digest;
use sha2::{Digest as _, Sha256};
use std::cell::RefCell;
use std::fs::{self, File};
use std::io::{self, Read};
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

const BUF_SIZE: usize = 256 * 1024;
const ATTEMPTS: usize = 3;

thread_local! {
    static BUF: RefCell<AlignedBuf> = RefCell::new(AlignedBuf::new(BUF_SIZE));
}

/// A file's digest and the metadata it belongs to.
pub(crate) struct Hashed {
    pub digest: Digest,
    /// Bytes read (on retries, every attempt counts).
    pub bytes_read: u64,
    /// Metadata of the descriptor the digest was read from.
    pub metadata: fs::Metadata,
    /// False when the file kept changing while being read: the digest is of one read of it,
    /// but must not be trusted on a later scan.
    pub stable: bool,
}

/// Hashes the regular file at `abs`. A symlink put in its place is not followed.
pub(crate) fn hash_file(abs: &Path) -> io::Result<Hashed> {
    let mut file = fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NOCTTY | libc::O_NONBLOCK)
        .open(abs)?;
    let mut bytes_read = 0;
    let mut attempt = 0;
    loop {
        attempt += 1;
        let before = file.metadata()?;
        if !before.file_type().is_file() {
            return Err(io::Error::other("no longer a regular file"));
        }
        let _ = rustix::fs::fadvise(&file, 0, None, rustix::fs::Advice::Sequential);
        let (digest, n) = digest_stream(&mut file)?;
        bytes_read += n;
        let after = file.metadata()?;
        let stable = n == before.len() && same_stamp(&before, &after);
        if stable || attempt == ATTEMPTS {
            return Ok(Hashed {
                digest,
                bytes_read,
                metadata: before,
                stable,
            });
        }
        io::Seek::rewind(&mut file)?;
    }
}

fn digest_stream(file: &mut File) -> io::Result<(Digest, u64)> {
    BUF.with(|buf| {
        let mut buf = buf.borrow_mut();
        let mut hasher = Sha256::new();
        let mut total = 0u64;
        loop {
            let n = match file.read(&mut buf[..]) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            hasher.update(&buf[..n]);
            total += n as u64;
        }
        Ok((Digest::from_hasher(hasher), total))
    })
}

fn same_stamp(a: &fs::Metadata, b: &fs::Metadata) -> bool {
    use std::os::unix::fs::MetadataExt;
    a.len() == b.len()
        && a.mtime() == b.mtime()
        && a.mtime_nsec() == b.mtime_nsec()
        && a.ctime() == b.ctime()
        && a.ctime_nsec() == b.ctime_nsec()
        && a.ino() == b.ino()
}

/// Refreshes `entry`'s metadata from the descriptor that was hashed, keeping its path and
/// link target, so that the index records what was actually read.
pub(crate) fn refresh_entry(entry: &mut Entry, md: &fs::Metadata) {
    let path = std::mem::take(&mut entry.path);
    let link = entry.link_target.take();
    *entry = Entry::from_metadata(path, md);
    entry.link_target = link;
}
