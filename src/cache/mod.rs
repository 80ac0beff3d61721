//! The layer cache: a step's result (the image config and layers after it) filed under a key
//! made from everything that can change that result, so that an unchanged step is answered
//! without running it.
//!
//! A key is the sha256 of the parent step's key and the step's [`Inputs`]: the instruction
//! after expansion, the environment and build args it can see, and digests of what it reads
//! (the listing of copied context files with their contents, the key of a `--from` stage, a
//! base image's id). Times and inode numbers never go in, so `touch` changes nothing.
//!
//! On disk, under `<store>/cache/`:
//!
//! ```text
//! entries/<key hex>.json        one step result (Inputs + config + layer descriptors)
//! children/<parent hex>/<key>   empty files: the steps ever built on a parent, to explain misses
//! listings/<sha256 hex>         the file listing a COPY/ADD key was made from (for explanations)
//! locks/<key hex>               held while a missing step is built, so that two builds of one
//!                               step do the work once
//! ```
//!
//! An entry is written (temporary file, rename) only after its layers are committed to the
//! store, so a killed build never leaves an entry that names missing data; an entry whose
//! layers are gone anyway (removed by hand, damaged, or lost in a crash) reads as a miss and
//! is rewritten by the build that runs the step again. Entries hold the store's layers against `image prune`:
//! [`Cache::roots`] feeds the store's collector; `kiln builder prune` removes entries.

pub mod explain;
mod key;
pub mod prune;

pub use key::KeyHasher;

use crate::image::digest::Digest;
use crate::image::oci::{Descriptor, ImageConfig};
use crate::store::{lock, LockGuard, Store};
use serde::{Deserialize, Serialize};
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

/// Changes whenever what goes into a key changes, so old entries simply stop matching.
const KEY_VERSION: &str = "kiln-cache-v1";

/// What a step's result depends on, in a form that can be compared field by field to say
/// why a step missed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Inputs {
    /// The instruction after expansion, in canonical form.
    pub instruction: String,
    /// `KEY=value` lines of the environment the step runs with (RUN only), in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub env: Vec<String>,
    /// Other named inputs (`source 0`, `--from`, `base image`, `network`, …) and their
    /// digests or values.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub parts: Vec<(String, String)>,
}

impl Inputs {
    /// The key of a step with these inputs on top of `parent`.
    pub fn key(&self, parent: &Digest) -> Digest {
        let mut h = KeyHasher::new(KEY_VERSION);
        h.field("parent", parent.to_string().as_bytes());
        h.field("instruction", self.instruction.as_bytes());
        for e in &self.env {
            h.field("env", e.as_bytes());
        }
        for (k, v) in &self.parts {
            h.field(k, v.as_bytes());
        }
        h.finish()
    }
}

/// The key a stage starts from: its base.
pub fn base_key(what: &str, id: &str, platform: &str) -> Digest {
    let mut h = KeyHasher::new(KEY_VERSION);
    h.field("base", what.as_bytes());
    h.field("id", id.as_bytes());
    h.field("platform", platform.as_bytes());
    h.finish()
}

/// The image state after a step.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StepState {
    pub config: ImageConfig,
    /// Manifest descriptors, parallel to `config.rootfs.diff_ids`.
    pub layers: Vec<Descriptor>,
}

/// One cached step.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Entry {
    pub key: Digest,
    pub parent: Digest,
    pub inputs: Inputs,
    /// The instruction as written (for explanations; not part of the key).
    #[serde(default)]
    pub text: String,
    pub state: StepState,
    /// The layer this step added, if it made one (for sizes and pruning).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub layer: Option<Digest>,
    /// When the entry was written (Unix seconds).
    pub created: i64,
}

/// The cache of one store.
#[derive(Debug, Clone)]
pub struct Cache {
    store: Store,
    dir: PathBuf,
}

impl Cache {
    pub fn open(store: &Store) -> io::Result<Cache> {
        let dir = store.root().join("cache");
        for sub in ["entries", "children", "listings", "locks"] {
            fs::create_dir_all(dir.join(sub))?;
        }
        Ok(Cache {
            store: store.clone(),
            dir,
        })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn entry_path(&self, key: &Digest) -> PathBuf {
        self.dir.join("entries").join(format!("{}.json", key.hex()))
    }

    /// The entry for `key` if there is one whose layers are all in the store. `parent` is
    /// the state the step starts from, whose layers the caller already holds: the entry must
    /// extend them, and only the layers it adds are checked on disk (so a hit costs one
    /// small read, not one per layer of the image). A hit marks the entry used now (its
    /// file time), which `builder prune --filter until=` goes by.
    pub fn get(&self, key: &Digest, parent: &StepState) -> Option<Entry> {
        let path = self.entry_path(key);
        let entry = read_entry(&path)?;
        if entry.key != *key || !self.extends(&entry.state, parent) {
            return None;
        }
        let now = rustix::fs::Timestamps {
            last_access: now_timespec(),
            last_modification: now_timespec(),
        };
        let _ = rustix::fs::utimensat(rustix::fs::CWD, &path, &now, rustix::fs::AtFlags::empty());
        Some(entry)
    }

    /// Whether `state` is `parent` plus layers that are all in the store with their
    /// recorded sizes. Contents are verified when they are read (export, push, unpack), not
    /// here: a no-op rebuild must not read every layer.
    fn extends(&self, state: &StepState, parent: &StepState) -> bool {
        let (ids, layers) = (&state.config.rootfs.diff_ids, &state.layers);
        let n = parent.layers.len();
        if ids.len() != layers.len()
            || layers.len() < n
            || layers[..n] != parent.layers[..]
            || ids[..n] != parent.config.rootfs.diff_ids[..]
        {
            return false;
        }
        ids[n..].iter().zip(&layers[n..]).all(|(diff_id, desc)| {
            matches!(self.store.layer(diff_id), Ok(Some(_)))
                && self
                    .store
                    .blob_size(&desc.digest)
                    .is_ok_and(|s| s == desc.size)
        })
    }

    /// Files `entry` (its layers must be committed already). The entry is renamed into
    /// place but not synced: losing it in a crash costs a miss, a torn one fails to parse
    /// (a miss too), and one that outlives its layers fails [`Cache::get`]'s check, so the
    /// build does not wait for the disk once more per step.
    pub fn put(&self, entry: &Entry) -> io::Result<()> {
        let json = serde_json::to_vec(entry).map_err(io::Error::other)?;
        let mut tmp = tempfile::Builder::new()
            .prefix("cache-entry-")
            .tempfile_in(self.store.tmp_dir())?;
        io::Write::write_all(&mut tmp, &json)?;
        tmp.persist(self.entry_path(&entry.key))
            .map_err(|e| e.error)?;
        let children = self.dir.join("children").join(entry.parent.hex());
        fs::create_dir_all(&children)?;
        fs::write(children.join(entry.key.hex()), b"")?;
        Ok(())
    }

    /// Keeps the listing a key was made from, for explanations (once per distinct listing).
    pub fn put_listing(&self, digest: &Digest, text: &[u8]) -> io::Result<()> {
        let path = self.dir.join("listings").join(digest.hex());
        if path.exists() {
            return Ok(());
        }
        // Explanations only: not worth waiting for the disk (a torn listing explains less).
        let mut tmp = tempfile::Builder::new()
            .prefix("listing-")
            .tempfile_in(self.store.tmp_dir())?;
        io::Write::write_all(&mut tmp, text)?;
        tmp.persist(path).map_err(|e| e.error)?;
        Ok(())
    }

    pub fn has_listing(&self, digest: &Digest) -> bool {
        self.dir.join("listings").join(digest.hex()).exists()
    }

    pub fn listing(&self, digest: &Digest) -> Option<Vec<u8>> {
        fs::read(self.dir.join("listings").join(digest.hex())).ok()
    }

    /// The entries ever built on `parent` (for explanations), newest first.
    pub fn children(&self, parent: &Digest) -> Vec<Entry> {
        let dir = self.dir.join("children").join(parent.hex());
        let Ok(rd) = fs::read_dir(dir) else {
            return Vec::new();
        };
        let mut out: Vec<Entry> = rd
            .flatten()
            .filter_map(|e| {
                let hex = e.file_name().to_string_lossy().into_owned();
                read_entry(&self.dir.join("entries").join(format!("{hex}.json")))
            })
            .collect();
        out.sort_by_key(|e| std::cmp::Reverse(e.created));
        out
    }

    /// Held while a missing step is built: a second build of the same step waits, then
    /// finds the first one's entry.
    pub fn lock(&self, key: &Digest) -> io::Result<LockGuard> {
        lock::exclusive(&self.dir.join("locks").join(key.hex())).map_err(io::Error::other)
    }

    /// Every cache entry (unreadable ones are skipped).
    pub fn entries(&self) -> Vec<(PathBuf, Entry)> {
        let Ok(rd) = fs::read_dir(self.dir.join("entries")) else {
            return Vec::new();
        };
        rd.flatten()
            .filter_map(|e| {
                let p = e.path();
                read_entry(&p).map(|en| (p, en))
            })
            .collect()
    }

    /// Blob digests and diff_ids the cache keeps alive (for the store's collector).
    pub fn roots(store: &Store) -> (Vec<Digest>, Vec<Digest>) {
        let cache = Cache {
            store: store.clone(),
            dir: store.root().join("cache"),
        };
        let mut blobs = Vec::new();
        let mut diff_ids = Vec::new();
        for (_, e) in cache.entries() {
            blobs.extend(e.state.layers.iter().map(|l| l.digest.clone()));
            diff_ids.extend(e.state.config.rootfs.diff_ids.iter().cloned());
        }
        (blobs, diff_ids)
    }
}

fn read_entry(path: &Path) -> Option<Entry> {
    let bytes = fs::read(path).ok()?;
    serde_json::from_slice(&bytes).ok()
}

fn now_timespec() -> rustix::fs::Timespec {
    let d = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    rustix::fs::Timespec {
        tv_sec: d.as_secs() as i64,
        tv_nsec: d.subsec_nanos() as _,
    }
}

/// Now, in Unix seconds.
pub fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}
