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
//! entries/<key hex>.json        one step result: Inputs, and the change the step made (its
//!                               config, the history and layers it appended)
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
use crate::image::oci::{Descriptor, History, ImageConfig};
use crate::store::{lock, LockGuard, Store};
use serde::{Deserialize, Serialize};
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

/// Changes whenever what goes into a key changes, so old entries simply stop matching.
const KEY_VERSION: &str = "kiln-cache-v2";

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

impl StepState {
    /// The OCI chain id of the layers (`None` without layers).
    pub fn chain_id(&self) -> Option<Digest> {
        chain_id(&self.config.rootfs.diff_ids)
    }
}

/// The OCI image spec's ChainID of `diff_ids`: the digest that names a stack of layers.
pub fn chain_id(diff_ids: &[Digest]) -> Option<Digest> {
    diff_ids
        .iter()
        .fold(None, |chain, d| Some(chain_next(chain.as_ref(), d)))
}

/// The chain id of a stack of layers with the chain id `chain` plus the layer `diff_id`.
pub fn chain_next(chain: Option<&Digest>, diff_id: &Digest) -> Digest {
    match chain {
        None => diff_id.clone(),
        Some(c) => Digest::of(format!("{c} {diff_id}").as_bytes()),
    }
}

thread_local! {
    /// The last chain id computed on this thread and the layers it names: the steps of a
    /// stage grow one stack of layers, so each needs only the new layers hashed.
    static LAST_CHAIN: std::cell::RefCell<(Vec<Digest>, Option<Digest>)> =
        const { std::cell::RefCell::new((Vec::new(), None)) };
}

/// [`chain_id`], extending the last one computed on this thread when `diff_ids` starts
/// with its layers.
fn chain_id_extending(diff_ids: &[Digest]) -> Option<Digest> {
    LAST_CHAIN.with(|last| {
        let mut last = last.borrow_mut();
        let (known, chain) = &mut *last;
        if !diff_ids.starts_with(known) {
            known.clear();
            *chain = None;
        }
        for d in &diff_ids[known.len()..] {
            *chain = Some(chain_next(chain.as_ref(), d));
            known.push(d.clone());
        }
        chain.clone()
    })
}

/// What a step changed, relative to the state it was built on. Steps only replace the
/// config's other fields and append history and layers, so an entry holds just that, and
/// reading one costs the same for the 60th step of a stage as for the first (an entry with
/// the whole state grew with every step before it).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Change {
    /// The chain id of the layers the step was built on: the entry applies only on top of
    /// exactly those.
    pub on: Option<Digest>,
    /// How many history entries the state it was built on had.
    pub on_history: usize,
    /// The config after the step, with empty `history` and `rootfs.diff_ids`; absent when
    /// the step left it as it was (RUN, COPY, ADD).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config: Option<ImageConfig>,
    /// History entries the step appended.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub history: Vec<History>,
    /// Layers the step appended, and their diff_ids.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub layers: Vec<Descriptor>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub diff_ids: Vec<Digest>,
    /// The chain id of all the layers after the step (for pruning: an image was built from
    /// this entry when the chain id of some prefix of its layers is this).
    pub chain: Option<Digest>,
}

/// The config without its history and layer list: what [`Change::config`] compares.
fn config_rest(config: &ImageConfig) -> ImageConfig {
    let mut c = ImageConfig {
        history: Vec::new(),
        ..config.clone()
    };
    c.rootfs.diff_ids = Vec::new();
    c
}

impl Change {
    /// What turned `before` into `after`; `None` when `after` does not extend `before`
    /// (the step rewrote history or removed layers, which no instruction does).
    pub fn between(before: &StepState, after: &StepState) -> Option<Change> {
        let (hb, ha) = (&before.config.history, &after.config.history);
        let (lb, la) = (&before.layers, &after.layers);
        let (db, da) = (
            &before.config.rootfs.diff_ids,
            &after.config.rootfs.diff_ids,
        );
        if !ha.starts_with(hb) || !la.starts_with(lb) || !da.starts_with(db) || la.len() != da.len()
        {
            return None;
        }
        let rest = config_rest(&after.config);
        Some(Change {
            on: before.chain_id(),
            on_history: hb.len(),
            config: (rest != config_rest(&before.config)).then_some(rest),
            history: ha[hb.len()..].to_vec(),
            layers: la[lb.len()..].to_vec(),
            diff_ids: da[db.len()..].to_vec(),
            chain: after.chain_id(),
        })
    }

    /// Turns `state` (the state the step starts from) into the state after the step; `false`,
    /// with `state` untouched, when this change was not made on that state.
    pub fn apply(self, state: &mut StepState) -> bool {
        if self.layers.len() != self.diff_ids.len()
            || state.config.history.len() != self.on_history
            || chain_id_extending(&state.config.rootfs.diff_ids) != self.on
        {
            return false;
        }
        if let Some(config) = self.config {
            let history = std::mem::take(&mut state.config.history);
            let diff_ids = std::mem::take(&mut state.config.rootfs.diff_ids);
            state.config = config;
            state.config.history = history;
            state.config.rootfs.diff_ids = diff_ids;
        }
        state.config.history.extend(self.history);
        state.config.rootfs.diff_ids.extend(self.diff_ids);
        state.layers.extend(self.layers);
        true
    }
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
    pub change: Change,
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

    /// Brings `state` (the state the step starts from) to the state after the step cached
    /// under `key`, if there is an entry for it that was made on that state and whose
    /// layers are all in the store; `false`, with `state` untouched, otherwise. Only the
    /// layers the step added are checked on disk (so a hit costs one small read, not one
    /// per layer of the image). A hit marks the entry used now (its file time), which
    /// `builder prune --filter until=` goes by.
    pub fn get(&self, key: &Digest, state: &mut StepState) -> bool {
        let path = self.entry_path(key);
        let Some(entry) = read_entry(&path) else {
            return false;
        };
        if entry.key != *key || !self.has_layers(&entry.change) || !entry.change.apply(state) {
            return false;
        }
        let now = rustix::fs::Timestamps {
            last_access: now_timespec(),
            last_modification: now_timespec(),
        };
        let _ = rustix::fs::utimensat(rustix::fs::CWD, &path, &now, rustix::fs::AtFlags::empty());
        true
    }

    /// Whether the layers `change` added are all in the store with their recorded sizes.
    /// Contents are verified when they are read (export, push, unpack), not here: a no-op
    /// rebuild must not read every layer.
    fn has_layers(&self, change: &Change) -> bool {
        change
            .diff_ids
            .iter()
            .zip(&change.layers)
            .all(|(diff_id, desc)| {
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
        self.entries_and_unreadable().0
    }

    /// Every cache entry, and the files in the entries directory that do not read as one
    /// (torn, or of an older format): pruning removes those.
    pub fn entries_and_unreadable(&self) -> (Vec<(PathBuf, Entry)>, Vec<PathBuf>) {
        let (mut good, mut bad) = (Vec::new(), Vec::new());
        let Ok(rd) = fs::read_dir(self.dir.join("entries")) else {
            return (good, bad);
        };
        for e in rd.flatten() {
            let p = e.path();
            match read_entry(&p) {
                Some(en) => good.push((p, en)),
                None => bad.push(p),
            }
        }
        (good, bad)
    }

    /// Blob digests and diff_ids the cache keeps alive (for the store's collector).
    pub fn roots(store: &Store) -> (Vec<Digest>, Vec<Digest>) {
        let cache = Cache {
            store: store.clone(),
            dir: store.root().join("cache"),
        };
        let mut blobs = Vec::new();
        let mut diff_ids = Vec::new();
        // Each entry keeps the layers it added; those it was built on belong to the entry
        // before it, or to the base image.
        for (_, e) in cache.entries() {
            blobs.extend(e.change.layers.iter().map(|l| l.digest.clone()));
            diff_ids.extend(e.change.diff_ids.iter().cloned());
        }
        (blobs, diff_ids)
    }
}

fn read_entry(path: &Path) -> Option<Entry> {
    let bytes = read_small(path).ok()?;
    serde_json::from_slice(&bytes).ok()
}

/// Reads a file that is usually a few KiB: `fs::read` asks for its size first, one system
/// call more for every cached step.
fn read_small(path: &Path) -> io::Result<Vec<u8>> {
    let f = fs::File::open(path)?;
    let mut buf = Vec::with_capacity(8192);
    // Through `Take`: `File::read_to_end` itself asks for the size first.
    io::Read::read_to_end(&mut io::Read::take(f, u64::MAX), &mut buf)?;
    Ok(buf)
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::image::oci::ContainerConfig;

    fn layer(n: u8) -> (Descriptor, Digest) {
        let desc = Descriptor {
            media_type: "application/vnd.oci.image.layer.v1.tar+gzip".into(),
            digest: Digest::of(&[n, 0]),
            size: u64::from(n),
            platform: None,
            annotations: Default::default(),
            urls: Vec::new(),
        };
        (desc, Digest::of(&[n]))
    }

    fn state(layers: &[u8], history: &[&str], env: &str) -> StepState {
        let mut s = StepState {
            config: ImageConfig {
                config: Some(ContainerConfig {
                    env: Some(vec![env.to_string()]),
                    ..Default::default()
                }),
                ..Default::default()
            },
            layers: Vec::new(),
        };
        for n in layers {
            let (desc, diff) = layer(*n);
            s.layers.push(desc);
            s.config.rootfs.diff_ids.push(diff);
        }
        s.config.history = history
            .iter()
            .map(|h| History {
                created_by: Some(h.to_string()),
                ..Default::default()
            })
            .collect();
        s
    }

    #[test]
    fn chain_ids_follow_the_image_spec_and_extend_from_the_last_one() {
        let ids: Vec<Digest> = (0..4u8).map(|n| layer(n).1).collect();
        assert_eq!(chain_id(&[]), None);
        assert_eq!(chain_id(&ids[..1]), Some(ids[0].clone()));
        let two = Digest::of(format!("{} {}", ids[0], ids[1]).as_bytes());
        assert_eq!(chain_id(&ids[..2]), Some(two.clone()));
        let three = Digest::of(format!("{two} {}", ids[2]).as_bytes());
        assert_eq!(chain_id(&ids[..3]), Some(three));
        // The memo gives the same answers growing, shrinking and on another stack.
        let other: Vec<Digest> = (7..9u8).map(|n| layer(n).1).collect();
        for ids in [
            &ids[..1],
            &ids[..3],
            &ids[..4],
            &ids[..2],
            &other[..],
            &[],
            &ids[..4],
        ] {
            assert_eq!(chain_id_extending(ids), chain_id(ids));
        }
    }

    #[test]
    fn a_change_replays_only_on_the_state_it_was_made_on() {
        let before = state(&[1, 2], &["FROM", "RUN a"], "A=1");
        // A RUN: one layer and one history entry more, config otherwise the same.
        let after = state(&[1, 2, 3], &["FROM", "RUN a", "RUN b"], "A=1");
        let change = Change::between(&before, &after).unwrap();
        assert_eq!(change.config, None);
        assert_eq!((change.layers.len(), change.history.len()), (1, 1));
        assert_eq!(change.chain, after.chain_id());
        let mut s = before.clone();
        assert!(change.clone().apply(&mut s));
        assert_eq!(s, after);
        // An ENV: no layer, a new config.
        let env = state(&[1, 2, 3], &["FROM", "RUN a", "RUN b", "ENV"], "A=2");
        let change2 = Change::between(&after, &env).unwrap();
        assert!(change2.config.is_some() && change2.layers.is_empty());
        let mut s2 = after.clone();
        assert!(change2.apply(&mut s2));
        assert_eq!(s2, env);
        // Not on other layers, nor on another history; the state is left as it was.
        for other in [
            state(&[1, 9], &["FROM", "RUN a"], "A=1"),
            state(&[1, 2], &["FROM"], "A=1"),
            state(&[1], &["FROM", "RUN a"], "A=1"),
        ] {
            let mut s = other.clone();
            assert!(!change.clone().apply(&mut s));
            assert_eq!(s, other);
        }
        // A step that rewrote what it was built on is not described as a change.
        assert!(Change::between(&after, &before).is_none());
        let rewritten = state(&[1, 2, 3], &["FROM", "RUN x", "RUN b"], "A=1");
        assert!(Change::between(&before, &rewritten).is_none());
    }
}
