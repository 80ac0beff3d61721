//! Content-addressed blobs under `blobs/sha256/`: written through a hashing temp file and
//! renamed into place only once the digest is known (and matches what was promised), read
//! back through a reader that re-checks the digest at end of file.

use super::atomic;
use super::error::{IoContext, Result, StoreError};
use crate::image::digest::{Digest, HashingWriter};
use sha2::{Digest as _, Sha256};
use std::fs::File;
use std::io::{self, BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use tempfile::NamedTempFile;

/// A blob being written. Nothing is visible in the store until [`BlobWriter::commit`].
pub struct BlobWriter {
    inner: HashingWriter<BufWriter<NamedTempFile>>,
    blobs_dir: PathBuf,
    count: u64,
}

impl BlobWriter {
    pub(crate) fn new(tmp: &Path, blobs_dir: &Path) -> Result<BlobWriter> {
        let f = tempfile::Builder::new()
            .prefix("blob-")
            .tempfile_in(tmp)
            .ctx(|| format!("creating a temporary file in {}", tmp.display()))?;
        Ok(BlobWriter {
            inner: HashingWriter::new(BufWriter::with_capacity(256 * 1024, f)),
            blobs_dir: blobs_dir.to_path_buf(),
            count: 0,
        })
    }

    /// Makes the blob durable and visible. With `expected`, a different digest is an error
    /// and nothing is stored.
    pub fn commit(self, expected: Option<&Digest>) -> Result<(Digest, u64)> {
        let (digest, size, buf) = self.inner.finish();
        if let Some(exp) = expected {
            if *exp != digest {
                return Err(StoreError::DigestMismatch {
                    what: "blob".into(),
                    expected: exp.clone(),
                    actual: digest,
                });
            }
        }
        let tmp = buf
            .into_inner()
            .map_err(|e| e.into_error())
            .ctx(|| "flushing a blob".to_string())?;
        let dest = self.blobs_dir.join(digest.hex());
        if dest.exists() {
            return Ok((digest, size));
        }
        tmp.as_file()
            .sync_all()
            .ctx(|| format!("syncing {}", tmp.path().display()))?;
        tmp.persist(&dest)
            .map_err(|e| e.error)
            .ctx(|| format!("renaming blob into {}", dest.display()))?;
        atomic::sync_dir(&self.blobs_dir)?;
        Ok((digest, size))
    }

    /// Bytes written so far.
    pub fn written(&self) -> u64 {
        self.count
    }
}

impl Write for BlobWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.count += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// A reader that fails with `InvalidData` at end of file if the content does not hash to
/// the expected digest (or has the wrong size), so that a corrupt blob is never exported
/// or pushed as if it were good.
pub struct VerifyingReader<R> {
    inner: R,
    hasher: Sha256,
    count: u64,
    expected: Digest,
    expected_size: Option<u64>,
    done: bool,
}

impl<R: Read> VerifyingReader<R> {
    pub fn new(inner: R, expected: Digest, expected_size: Option<u64>) -> Self {
        VerifyingReader {
            inner,
            hasher: Sha256::new(),
            count: 0,
            expected,
            expected_size,
            done: false,
        }
    }

    fn check(&mut self) -> io::Result<()> {
        self.done = true;
        let actual = Digest::from_hasher(std::mem::take(&mut self.hasher));
        if actual != self.expected {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                StoreError::DigestMismatch {
                    what: "blob".into(),
                    expected: self.expected.clone(),
                    actual,
                },
            ));
        }
        if let Some(size) = self.expected_size {
            if size != self.count {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    StoreError::SizeMismatch {
                        digest: self.expected.clone(),
                        expected: size,
                        actual: self.count,
                    },
                ));
            }
        }
        Ok(())
    }
}

impl<R: Read> Read for VerifyingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.done {
            return Ok(0);
        }
        let n = self.inner.read(buf)?;
        if n == 0 && !buf.is_empty() {
            self.check()?;
            return Ok(0);
        }
        self.hasher.update(&buf[..n]);
        self.count += n as u64;
        Ok(n)
    }
}

/// Opens a blob file for verified reading.
pub(crate) fn open(path: &Path, digest: &Digest) -> Result<VerifyingReader<File>> {
    match File::open(path) {
        Ok(f) => Ok(VerifyingReader::new(f, digest.clone(), None)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            Err(StoreError::MissingBlob(digest.clone()))
        }
        Err(e) => Err(e).ctx(|| format!("opening {}", path.display())),
    }
}
