//! The local content-addressed image store.
//!
//! Layout under the root (an OCI image layout plus kiln's own metadata):
//!
//! ```text
//! oci-layout, index.json      OCI layout; index entries carry the full reference name
//! blobs/sha256/<hex>          manifests, configs, layers (verified on the way in and out)
//! layers/<diff_id hex>.json   layer table: diff_id -> blobs holding it, uncompressed size
//! snapshots/<diff_id hex>/    unpacked layers in overlay format (lower dirs for RUN)
//! tmp/                        in-progress writes; junk from dead processes, pruned
//! lock, gc.lock               see [`lock`]
//! ```
//!
//! Every file becomes visible by an atomic rename, and the index is written last, so a
//! killed process leaves only junk in `tmp/` and no entry ever names a missing blob.
//!
//! How writers use it (pull, load, build), all while holding [`Store::ingest`]:
//! 1. blobs in: [`Store::blob_writer`] + [`BlobWriter::commit`] with the expected digest
//!    (pull), or [`Store::put_layer_tar`] for a fresh uncompressed layer (build);
//! 2. layers registered: [`Store::register_layer_blob`] checks a (compressed) blob
//!    against its diff_id and records it; [`Store::compressed_layer`] makes gzip/zstd
//!    forms late, for push and export;
//! 3. names last: [`Store::add_image`] with the manifest bytes as they are and full
//!    `repo:tag` names.
//!
//! Snapshots for RUN: [`Store::snapshot`] unpacks a stored layer once;
//! [`Store::work_dir`] + [`Store::commit_snapshot`] adopt an overlay upper dir as is.

pub mod atomic;
pub mod blobs;
pub mod error;
pub mod gc;
pub mod images;
pub mod layers;
pub mod lock;
pub mod names;
pub mod unpack;

pub use blobs::{BlobWriter, VerifyingReader};
pub use error::{Result, StoreError};
pub use images::{Image, ImageEntry, Resolved};
pub use layers::{LayerBlob, LayerRecord};
pub use lock::LockGuard;

use crate::image::digest::Digest;
use crate::image::oci::MEDIA_OCI_LAYER;
use error::IoContext;
use std::fs::{self, File};
use std::io::{self, Read};
use std::path::{Path, PathBuf};

/// The largest JSON document (manifest, config, index) read into memory.
pub const MAX_JSON: u64 = 16 << 20;

/// An open store. Cheap to clone; holds no lock of its own.
#[derive(Debug, Clone)]
pub struct Store {
    root: PathBuf,
}

impl Store {
    /// `/var/lib/kiln` for root, `$XDG_DATA_HOME/kiln` (or `~/.local/share/kiln`) otherwise.
    pub fn default_root() -> PathBuf {
        if rustix::process::geteuid().is_root() {
            return PathBuf::from("/var/lib/kiln");
        }
        if let Some(x) = std::env::var_os("XDG_DATA_HOME").filter(|x| !x.is_empty()) {
            return PathBuf::from(x).join("kiln");
        }
        let home = std::env::var_os("HOME").unwrap_or_else(|| "/".into());
        PathBuf::from(home).join(".local/share/kiln")
    }

    /// Opens (creating if needed) the store at `root`.
    pub fn open(root: impl Into<PathBuf>) -> Result<Store> {
        let store = Store { root: root.into() };
        for dir in [
            store.root.clone(),
            store.blobs_dir(),
            store.tmp_dir(),
            store.layers_dir(),
            store.snapshots_dir(),
        ] {
            fs::create_dir_all(&dir).ctx(|| format!("creating {}", dir.display()))?;
        }
        if !store.index_path().exists() {
            // Re-checked under the lock: another process may be writing the first image.
            let _g = store.lock_index()?;
            if !store.index_path().exists() {
                let empty = store.read_index()?;
                store.write_index(&empty)?;
            }
        }
        let layout = store.root.join("oci-layout");
        if !layout.exists() {
            atomic::write_file(
                &store.tmp_dir(),
                &layout,
                br#"{"imageLayoutVersion":"1.0.0"}"#,
            )?;
        }
        Ok(store)
    }

    pub fn root(&self) -> &Path {
        &self.root
    }
    pub fn blobs_dir(&self) -> PathBuf {
        self.root.join("blobs/sha256")
    }
    pub fn tmp_dir(&self) -> PathBuf {
        self.root.join("tmp")
    }
    pub fn layers_dir(&self) -> PathBuf {
        self.root.join("layers")
    }
    pub fn snapshots_dir(&self) -> PathBuf {
        self.root.join("snapshots")
    }
    pub(crate) fn index_path(&self) -> PathBuf {
        self.root.join("index.json")
    }

    /// Held (shared) by anything that writes blobs or snapshots and names them later, so
    /// that `prune` cannot collect them in between. Hold it while using a snapshot too.
    pub fn ingest(&self) -> Result<LockGuard> {
        lock::shared(&self.root.join("gc.lock"))
    }

    /// The index lock, for read-modify-write of `index.json` and the layer table.
    pub(crate) fn lock_index(&self) -> Result<LockGuard> {
        lock::exclusive(&self.root.join("lock"))
    }

    // ---- blobs ----

    pub fn blob_path(&self, d: &Digest) -> PathBuf {
        self.blobs_dir().join(d.hex())
    }

    pub fn has_blob(&self, d: &Digest) -> bool {
        self.blob_path(d).is_file()
    }

    pub fn blob_size(&self, d: &Digest) -> Result<u64> {
        match fs::metadata(self.blob_path(d)) {
            Ok(m) => Ok(m.len()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                Err(StoreError::MissingBlob(d.clone()))
            }
            Err(e) => Err(e).ctx(|| format!("inspecting blob {d}")),
        }
    }

    /// A writer for a new blob; see [`BlobWriter::commit`].
    pub fn blob_writer(&self) -> Result<BlobWriter> {
        BlobWriter::new(&self.tmp_dir(), &self.blobs_dir())
    }

    /// Stores `bytes` as a blob, checking them against `expected` if given.
    pub fn put_blob(&self, bytes: &[u8], expected: Option<&Digest>) -> Result<Digest> {
        let mut w = self.blob_writer()?;
        io::Write::write_all(&mut w, bytes).ctx(|| "writing a blob".to_string())?;
        Ok(w.commit(expected)?.0)
    }

    /// Opens a blob for reading; the reader fails at end of file if the content is corrupt.
    pub fn open_blob(&self, d: &Digest) -> Result<VerifyingReader<File>> {
        blobs::open(&self.blob_path(d), d)
    }

    /// Reads a small blob (JSON) whole, verified.
    pub fn read_blob(&self, d: &Digest) -> Result<Vec<u8>> {
        let size = self.blob_size(d)?;
        if size > MAX_JSON {
            return Err(StoreError::corrupt(
                format!("blob {d}"),
                format!("{size} bytes is too large for a JSON document"),
            ));
        }
        let mut buf = Vec::with_capacity(size as usize);
        self.open_blob(d)?
            .read_to_end(&mut buf)
            .map_err(|e| read_error(d, e))?;
        Ok(buf)
    }

    // ---- layers ----

    fn layer_path(&self, diff_id: &Digest) -> PathBuf {
        self.layers_dir().join(format!("{}.json", diff_id.hex()))
    }

    /// The layer table's entry for `diff_id`, if any.
    pub fn layer(&self, diff_id: &Digest) -> Result<Option<LayerRecord>> {
        let path = self.layer_path(diff_id);
        match fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes)
                .map(Some)
                .map_err(|e| StoreError::corrupt(path.display().to_string(), e)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e).ctx(|| format!("reading {}", path.display())),
        }
    }

    /// Records that blob `blob` (already stored) holds the layer `diff_id` of `size`
    /// uncompressed bytes.
    pub fn record_layer(
        &self,
        diff_id: &Digest,
        size: u64,
        blob: LayerBlob,
    ) -> Result<LayerRecord> {
        if !self.has_blob(&blob.digest) {
            return Err(StoreError::MissingBlob(blob.digest));
        }
        let _g = self.lock_index()?;
        let mut rec = self.layer(diff_id)?.unwrap_or(LayerRecord {
            diff_id: diff_id.clone(),
            size,
            blobs: Vec::new(),
        });
        if !rec.blobs.iter().any(|b| b.digest == blob.digest) {
            rec.blobs.push(blob);
            let json = serde_json::to_vec_pretty(&rec).expect("layer record serialises");
            atomic::write_file(&self.tmp_dir(), &self.layer_path(diff_id), &json)?;
        }
        Ok(rec)
    }

    /// Stores an uncompressed layer tar streamed from `r` (the builder's commit path): one
    /// pass computes the diff_id, which is also the blob's digest.
    pub fn put_layer_tar(&self, mut r: impl Read) -> Result<LayerRecord> {
        let _g = self.ingest()?;
        let mut w = self.blob_writer()?;
        io::copy(&mut r, &mut w).ctx(|| "storing a layer".to_string())?;
        self.commit_layer_tar(w)
    }

    /// Commits a blob writer that received an uncompressed layer tar and records the layer
    /// (its digest is its diff_id). The caller holds [`Store::ingest`].
    pub fn commit_layer_tar(&self, w: BlobWriter) -> Result<LayerRecord> {
        let (digest, size) = w.commit(None)?;
        self.record_layer(
            &digest,
            size,
            LayerBlob {
                digest: digest.clone(),
                media_type: MEDIA_OCI_LAYER.to_string(),
                size,
            },
        )
    }

    /// Registers a stored layer blob (compressed or not) in the layer table, computing its
    /// diff_id; with `expected`, a different diff_id is an error.
    pub fn register_layer_blob(
        &self,
        blob: &Digest,
        media_type: &str,
        expected: Option<&Digest>,
    ) -> Result<LayerRecord> {
        if let Some(exp) = expected {
            if let Some(rec) = self.layer(exp)? {
                if rec.blobs.iter().any(|b| &b.digest == blob) {
                    return Ok(rec);
                }
            }
        }
        let size = self.blob_size(blob)?;
        let (diff_id, usize_) = layers::diff_id_of(self.open_blob(blob)?)?;
        if let Some(exp) = expected {
            if *exp != diff_id {
                return Err(StoreError::DigestMismatch {
                    what: format!("layer {blob} (diff_id)"),
                    expected: exp.clone(),
                    actual: diff_id,
                });
            }
        }
        self.record_layer(
            &diff_id,
            usize_,
            LayerBlob {
                digest: blob.clone(),
                media_type: media_type.to_string(),
                size,
            },
        )
    }

    /// Streams layer `diff_id` uncompressed, verifying both the blob digest and the diff_id
    /// at end of file. Returns the reader and the uncompressed size.
    pub fn open_layer(&self, diff_id: &Digest) -> Result<(Box<dyn Read>, u64)> {
        let rec = self.layer(diff_id)?.ok_or_else(|| {
            StoreError::corrupt(format!("layer {diff_id}"), "not in the layer table")
        })?;
        let blob = rec
            .uncompressed()
            .or_else(|| rec.blobs.iter().find(|b| self.has_blob(&b.digest)))
            .ok_or_else(|| StoreError::MissingBlob(diff_id.clone()))?;
        let raw = self.open_blob(&blob.digest)?;
        let plain = layers::decompress(raw)?;
        Ok((
            Box::new(VerifyingReader::new(plain, diff_id.clone(), Some(rec.size))),
            rec.size,
        ))
    }

    /// The blob of layer `diff_id` in `compression`, made from the uncompressed stream and
    /// kept in the layer table the first time it is asked for (push and export compress
    /// late; building only hashes).
    pub fn compressed_layer(
        &self,
        diff_id: &Digest,
        compression: layers::Compression,
    ) -> Result<LayerBlob> {
        let media_type = match compression {
            layers::Compression::None => MEDIA_OCI_LAYER,
            layers::Compression::Gzip => crate::image::oci::MEDIA_OCI_LAYER_GZIP,
            layers::Compression::Zstd => crate::image::oci::MEDIA_OCI_LAYER_ZSTD,
        };
        if let Some(rec) = self.layer(diff_id)? {
            if let Some(b) = rec
                .blobs
                .iter()
                .find(|b| b.media_type == media_type && self.has_blob(&b.digest))
            {
                return Ok(b.clone());
            }
        }
        let _g = self.ingest()?;
        let (mut reader, size) = self.open_layer(diff_id)?;
        let w = self.blob_writer()?;
        let w = match compression {
            layers::Compression::None => {
                let mut w = w;
                io::copy(&mut reader, &mut w).map_err(|e| read_error(diff_id, e))?;
                w
            }
            layers::Compression::Gzip => {
                let mut enc = flate2::write::GzEncoder::new(w, flate2::Compression::new(6));
                io::copy(&mut reader, &mut enc).map_err(|e| read_error(diff_id, e))?;
                enc.finish().ctx(|| "compressing a layer".to_string())?
            }
            layers::Compression::Zstd => {
                let mut enc =
                    zstd::stream::write::Encoder::new(w, 3).ctx(|| "starting zstd".to_string())?;
                io::copy(&mut reader, &mut enc).map_err(|e| read_error(diff_id, e))?;
                enc.finish().ctx(|| "compressing a layer".to_string())?
            }
        };
        let (digest, blob_size) = w.commit(None)?;
        let blob = LayerBlob {
            digest,
            media_type: media_type.to_string(),
            size: blob_size,
        };
        self.record_layer(diff_id, size, blob.clone())?;
        Ok(blob)
    }

    // ---- snapshots ----

    /// A fresh directory under `tmp/` (same filesystem as the snapshots), for a tree that
    /// will become a snapshot through [`Store::commit_snapshot`], such as an overlay upper dir.
    pub fn work_dir(&self) -> Result<tempfile::TempDir> {
        tempfile::Builder::new()
            .prefix("work-")
            .tempdir_in(self.tmp_dir())
            .ctx(|| "creating a work directory".to_string())
    }

    /// Makes `dir` (in overlay format, on the store's filesystem) the snapshot of layer
    /// `diff_id` by renaming it, so that the builder's upper dir becomes the next lower dir
    /// as it is. If the snapshot exists already, `dir` is left where it is.
    pub fn commit_snapshot(&self, diff_id: &Digest, dir: &Path) -> Result<PathBuf> {
        let dest = self.snapshots_dir().join(diff_id.hex());
        if dest.is_dir() {
            return Ok(dest);
        }
        sync_tree(dir)?;
        match fs::rename(dir, &dest) {
            Ok(()) => atomic::sync_dir(&self.snapshots_dir())?,
            Err(_) if dest.is_dir() => {}
            Err(e) => return Err(e).ctx(|| format!("renaming into {}", dest.display())),
        }
        Ok(dest)
    }

    /// The unpacked form of layer `diff_id` (overlay whiteouts applied), made on first use
    /// by unpacking into `tmp/` and renaming. Hold [`Store::ingest`] while using it.
    pub fn snapshot(&self, diff_id: &Digest) -> Result<PathBuf> {
        let dest = self.snapshots_dir().join(diff_id.hex());
        if dest.is_dir() {
            return Ok(dest);
        }
        let _g = self.ingest()?;
        let work = tempfile::Builder::new()
            .prefix("snapshot-")
            .tempdir_in(self.tmp_dir())
            .ctx(|| "creating a snapshot directory".to_string())?;
        let (mut reader, _) = self.open_layer(diff_id)?;
        let tree = work.path().join("tree");
        fs::create_dir(&tree).ctx(|| format!("creating {}", tree.display()))?;
        unpack::unpack(&mut reader, &tree)?;
        // The tar reader stops at the end-of-archive marker: drain the rest so that the
        // digest check at end of file runs.
        io::copy(&mut reader, &mut io::sink()).map_err(|e| read_error(diff_id, e))?;
        self.commit_snapshot(diff_id, &tree)
    }
}

/// Maps a read error of a verified blob to a corruption error when it is one.
pub(crate) fn read_error(d: &Digest, e: io::Error) -> StoreError {
    match e.kind() {
        io::ErrorKind::InvalidData | io::ErrorKind::UnexpectedEof => {
            StoreError::corrupt(format!("blob {d}"), e)
        }
        _ => StoreError::Io {
            context: format!("reading blob {d}"),
            source: e,
        },
    }
}

/// Entries up to which a tree is flushed file by file rather than with one `syncfs`.
const FSYNC_EACH_MAX: usize = 256;

/// Flushes an unpacked tree to disk before it is renamed into place. A small tree (the
/// usual COPY of a few files) is flushed entry by entry: `syncfs` would wait for every dirty
/// page of the whole filesystem, which on a busy machine costs far more than the tree.
/// A big tree takes one `syncfs`.
fn sync_tree(dir: &Path) -> Result<()> {
    let mut entries = Vec::new();
    for e in walkdir::WalkDir::new(dir).into_iter() {
        let Ok(e) = e else {
            entries.clear();
            break;
        };
        if e.file_type().is_file() || e.file_type().is_dir() {
            entries.push(e.into_path());
        }
        if entries.len() > FSYNC_EACH_MAX {
            break;
        }
    }
    if entries.is_empty() || entries.len() > FSYNC_EACH_MAX {
        let f = File::open(dir).ctx(|| format!("opening {}", dir.display()))?;
        return rustix::fs::syncfs(&f).ctx(|| format!("syncing {}", dir.display()));
    }
    // Files first, then directories deepest first, so each entry is durable before the
    // directory that names it.
    entries.sort_by_key(|p| (p.is_dir(), std::cmp::Reverse(p.components().count())));
    for p in entries {
        let f = File::open(&p).ctx(|| format!("opening {}", p.display()))?;
        f.sync_all().ctx(|| format!("syncing {}", p.display()))?;
    }
    Ok(())
}
