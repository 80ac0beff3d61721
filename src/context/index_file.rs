//! The persisted metadata index: relative path → (size, mtime, ctime, inode, device, mode) →
//! content digest. It is a cache and nothing else: a missing, truncated, corrupt or foreign
//! file loads as empty (everything is hashed again). It is replaced by a rename of a
//! temporary file, not synced: after a crash the old, the new or a damaged file is there,
//! and a damaged one fails its checksum.
//!
//! Layout (little-endian): magic `KILNCTXI`, version `u32`, count `u64`, then per record a
//! `u32` path length, the path bytes, size `u64`, mtime ns `i64`, ctime ns `i64`, inode
//! `u64`, device `u64`, mode `u32`, the 32 digest bytes; last, the sha256 of everything
//! before it.

use super::walk::Entry;
use crate::image::digest::Digest;
use sha2::{Digest as _, Sha256};
use std::fs;
use std::io::{self, Write};
use std::path::Path;

const MAGIC: &[u8; 8] = b"KILNCTXI";
const VERSION: u32 = 1;
pub(crate) const FILE_NAME: &str = "index";
const FIXED: usize = 8 + 8 + 8 + 8 + 8 + 4 + 32;

/// The metadata a digest is valid for. Equal stamps mean the file was not written since.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Stamp {
    pub size: u64,
    pub mtime_ns: i64,
    pub ctime_ns: i64,
    pub ino: u64,
    pub dev: u64,
    pub mode: u32,
}

impl Stamp {
    pub fn of(e: &Entry) -> Stamp {
        Stamp {
            size: e.size,
            mtime_ns: e.mtime_ns,
            ctime_ns: e.ctime_ns,
            ino: e.ino,
            dev: e.dev,
            mode: e.mode,
        }
    }
}

/// One record of a loaded index, borrowed from its bytes.
pub(crate) struct Record<'a> {
    pub path: &'a [u8],
    pub stamp: Stamp,
    pub digest: &'a [u8; 32],
}

/// The bytes of an index file, checked: [`Loaded::records`] reads them in place, so loading
/// costs one read and one checksum, not an allocation per file.
#[derive(Default)]
pub(crate) struct Loaded {
    bytes: Vec<u8>,
    count: u64,
}

impl Loaded {
    /// How many records the file holds (0 when nothing usable was loaded).
    pub fn len(&self) -> usize {
        self.count as usize
    }

    /// The records in file order, which is path-byte order for an index this module wrote.
    /// A record that does not decode ends the list (and the files after it are hashed
    /// again); the checksum makes that all but impossible.
    pub fn records(&self) -> impl Iterator<Item = Record<'_>> {
        let mut r = Reader(self.bytes.get(HEADER..).unwrap_or_default());
        let mut left = self.count;
        std::iter::from_fn(move || {
            if left == 0 {
                return None;
            }
            left -= 1;
            let len = r.u32()? as usize;
            let path = r.take(len)?;
            let stamp = Stamp {
                size: r.u64()?,
                mtime_ns: r.u64()? as i64,
                ctime_ns: r.u64()? as i64,
                ino: r.u64()?,
                dev: r.u64()?,
                mode: r.u32()?,
            };
            let digest: &[u8; 32] = r.take(32)?.try_into().ok()?;
            Some(Record {
                path,
                stamp,
                digest,
            })
        })
    }
}

/// Magic, version, count.
const HEADER: usize = 8 + 4 + 8;

/// Loads the index in `dir`; anything unreadable yields an empty index and `false`.
pub(crate) fn load(dir: &Path) -> (Loaded, bool) {
    let path = dir.join(FILE_NAME);
    let bytes = match fs::read(&path) {
        Ok(b) => b,
        Err(e) => {
            if e.kind() != io::ErrorKind::NotFound {
                tracing::warn!("context index {}: {e}; hashing again", path.display());
            }
            return (Loaded::default(), false);
        }
    };
    match check(bytes) {
        Some(l) => (l, true),
        None => {
            tracing::warn!(
                "context index {} is damaged or of another version; hashing again",
                path.display()
            );
            (Loaded::default(), false)
        }
    }
}

/// Verifies the checksum and the header, and that the records fill the body exactly.
fn check(mut bytes: Vec<u8>) -> Option<Loaded> {
    let body_len = bytes.len().checked_sub(32)?;
    let (body, sum) = bytes.split_at(body_len);
    if Sha256::digest(body).as_slice() != sum {
        return None;
    }
    let mut r = Reader(body);
    if r.take(8)? != MAGIC || r.u32()? != VERSION {
        return None;
    }
    let count = r.u64()?;
    // Each record takes at least FIXED + 4 bytes: a count beyond that is a lie.
    if count > (body.len() / (FIXED + 4)) as u64 {
        return None;
    }
    bytes.truncate(body_len);
    let loaded = Loaded { bytes, count };
    let mut seen = 0u64;
    let mut end = HEADER;
    for rec in loaded.records() {
        seen += 1;
        end += 4 + rec.path.len() + FIXED;
    }
    (seen == count && end == loaded.bytes.len()).then_some(loaded)
}

struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        if self.0.len() < n {
            return None;
        }
        let (head, tail) = self.0.split_at(n);
        self.0 = tail;
        Some(head)
    }
    fn u32(&mut self) -> Option<u32> {
        Some(u32::from_le_bytes(self.take(4)?.try_into().ok()?))
    }
    fn u64(&mut self) -> Option<u64> {
        Some(u64::from_le_bytes(self.take(8)?.try_into().ok()?))
    }
}

/// Writes `records` (path, stamp, digest) as the index in `dir`, atomically.
pub(crate) fn store<'a>(
    dir: &Path,
    records: impl ExactSizeIterator<Item = (&'a [u8], Stamp, &'a Digest)>,
) -> io::Result<()> {
    let mut body = Vec::with_capacity(records.len() * (FIXED + 48) + 64);
    body.extend_from_slice(MAGIC);
    body.extend_from_slice(&VERSION.to_le_bytes());
    body.extend_from_slice(&(records.len() as u64).to_le_bytes());
    for (path, s, digest) in records {
        let raw = hex::decode(digest.hex()).map_err(io::Error::other)?;
        let len = u32::try_from(path.len()).map_err(io::Error::other)?;
        body.extend_from_slice(&len.to_le_bytes());
        body.extend_from_slice(path);
        body.extend_from_slice(&s.size.to_le_bytes());
        body.extend_from_slice(&s.mtime_ns.to_le_bytes());
        body.extend_from_slice(&s.ctime_ns.to_le_bytes());
        body.extend_from_slice(&s.ino.to_le_bytes());
        body.extend_from_slice(&s.dev.to_le_bytes());
        body.extend_from_slice(&s.mode.to_le_bytes());
        body.extend_from_slice(&raw);
    }
    let sum = Sha256::digest(&body);
    fs::create_dir_all(dir)?;
    let mut tmp = tempfile::Builder::new()
        .prefix(".index-")
        .tempfile_in(dir)?;
    tmp.write_all(&body)?;
    tmp.write_all(&sum)?;
    // No fsync: the index is only a cache and carries its own checksum, so a file torn by a
    // crash loads as empty (everything is hashed again). Waiting for the disk here would
    // cost a rebuild more than the whole scan on a busy machine.
    tmp.persist(dir.join(FILE_NAME)).map_err(|e| e.error)?;
    Ok(())
}

/// The digest stored as raw bytes.
pub(crate) fn digest_from_raw(raw: &[u8; 32]) -> Option<Digest> {
    Some(Digest::from_sha256_bytes(raw))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stamp(n: u64) -> Stamp {
        Stamp {
            size: n,
            mtime_ns: -(n as i64),
            ctime_ns: n as i64 * 3,
            ino: n + 7,
            dev: 42,
            mode: 0o100644,
        }
    }

    #[test]
    fn round_trip_and_every_truncation_or_flip_is_rejected() {
        let dir = tempfile::TempDir::new().unwrap();
        let digests: Vec<Digest> = (0..3u8).map(|i| Digest::of(&[i])).collect();
        let paths: [&[u8]; 3] = [b"a", b"dir/\xffb", b""];
        let recs: Vec<_> = (0..3)
            .map(|i| (paths[i], stamp(i as u64), &digests[i]))
            .collect();
        store(dir.path(), recs.clone().into_iter()).unwrap();
        let (loaded, ok) = load(dir.path());
        assert!(ok);
        assert_eq!(loaded.len(), 3);
        let got: Vec<_> = loaded.records().collect();
        assert_eq!(got.len(), 3);
        for ((p, s, d), rec) in recs.iter().zip(&got) {
            assert_eq!(rec.path, *p);
            assert_eq!(&rec.stamp, s);
            assert_eq!(&digest_from_raw(rec.digest).unwrap(), *d);
        }
        let bytes = fs::read(dir.path().join(FILE_NAME)).unwrap();
        for len in 0..bytes.len() {
            assert!(check(bytes[..len].to_vec()).is_none(), "truncated to {len}");
        }
        for i in 0..bytes.len() {
            let mut b = bytes.clone();
            b[i] ^= 1;
            assert!(check(b).is_none(), "bit flipped at {i}");
        }
        // A well-formed file of another version is not read either.
        let mut other = bytes[..bytes.len() - 32].to_vec();
        other[8] = 2;
        let sum = Sha256::digest(&other);
        other.extend_from_slice(&sum);
        assert!(check(other).is_none());
    }
}
