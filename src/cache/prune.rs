//! `kiln builder prune` and the build-cache half of `kiln system df`.
//!
//! What docker calls dangling build cache is, here, a cache entry that no stored image was
//! built from: its layers are not a prefix of any image's layers (an abandoned edit, a
//! removed image). `--all` removes the rest too. Cache mounts (`RUN --mount=type=cache`)
//! are cache as well and go in either case. Removing entries frees nothing by itself: the
//! store's collector then removes the layers and snapshots that nothing references.

use super::{Cache, Entry};
use crate::image::digest::Digest;
use crate::store::{self, Store};
use std::collections::{BTreeSet, HashMap, HashSet};
use std::fs;
use std::path::Path;
use std::time::{Duration, SystemTime};

#[derive(Debug, Clone, Default)]
pub struct PruneOptions {
    /// Remove entries that images were built from, too.
    pub all: bool,
    /// Only what was last used longer ago than this.
    pub until: Option<Duration>,
    /// Keep the most recently used entries while the cache's own storage stays under this.
    pub keep_storage: Option<u64>,
}

#[derive(Debug, Clone, Default)]
pub struct PruneReport {
    /// Keys of the removed entries.
    pub removed: Vec<Digest>,
    /// Cache mounts removed, by directory name.
    pub mounts: Vec<String>,
    pub reclaimed: u64,
}

/// What the cache holds, for `system df`.
#[derive(Debug, Clone, Default)]
pub struct Usage {
    pub entries: usize,
    /// Entries some stored image was built from.
    pub in_use: usize,
    /// Bytes of layers that only the cache keeps.
    pub size: u64,
    /// Bytes `builder prune` (without `--all`) would free.
    pub reclaimable: u64,
    pub mounts: usize,
    pub mounts_size: u64,
}

/// What the store's images hold: the chain id of every prefix of every image's layers (the
/// empty prefix included), and every layer blob.
fn image_refs(store: &Store) -> store::Result<(HashSet<Option<Digest>>, BTreeSet<Digest>)> {
    let mut chains = HashSet::new();
    let mut blobs = BTreeSet::new();
    for e in store.entries()? {
        if let Ok(img) = store.image(&e.manifest.digest) {
            chains.insert(None);
            let mut chain: Option<Digest> = None;
            for d in &img.config.rootfs.diff_ids {
                chain = Some(super::chain_next(chain.as_ref(), d));
                chains.insert(chain.clone());
            }
            blobs.extend(img.manifest.layers.iter().map(|l| l.digest.clone()));
        }
    }
    Ok((chains, blobs))
}

/// Whether some stored image was built from `e`: its layers are a prefix of the image's.
fn used_by_image(e: &Entry, chains: &HashSet<Option<Digest>>) -> bool {
    chains.contains(&e.change.chain)
}

fn last_used(path: &Path) -> SystemTime {
    fs::metadata(path)
        .and_then(|m| m.modified())
        .unwrap_or(SystemTime::UNIX_EPOCH)
}

fn dir_size(path: &Path) -> u64 {
    walkdir::WalkDir::new(path)
        .into_iter()
        .flatten()
        .filter_map(|e| e.metadata().ok())
        .filter(|m| m.is_file())
        .map(|m| m.len())
        .sum()
}

/// Removes cache entries (and cache mounts) as `opts` says, then collects the data nothing
/// references any more.
pub fn prune(store: &Store, opts: &PruneOptions) -> anyhow::Result<PruneReport> {
    let cache = Cache::open(store)?;
    let mut report = PruneReport::default();
    // Hold off builds' ingestion while entries go, so that no build files an entry for a
    // layer being collected.
    let gc = store::lock::exclusive(&store.root().join("gc.lock"))?;
    let (chains, image_blobs) = image_refs(store)?;
    let now = SystemTime::now();
    let old_enough = |p: &Path| match opts.until {
        Some(d) => now.duration_since(last_used(p)).unwrap_or_default() >= d,
        None => true,
    };
    let (mut entries, unreadable) = cache.entries_and_unreadable();
    // Torn entries, and entries of an older format, are of no use to any build.
    for p in unreadable {
        let _ = fs::remove_file(p);
    }
    // Least recently used first, so `--keep-storage` keeps the newest.
    entries.sort_by_key(|(p, _)| last_used(p));
    let mut cache_bytes: HashMap<Digest, u64> = HashMap::new();
    for (_, e) in &entries {
        for l in &e.change.layers {
            if !image_blobs.contains(&l.digest) {
                cache_bytes.insert(l.digest.clone(), l.size);
            }
        }
    }
    let mut total: u64 = cache_bytes.values().sum();
    for (path, e) in &entries {
        let dangling = !used_by_image(e, &chains);
        let eligible = (opts.all || dangling) && old_enough(path);
        let over = opts.keep_storage.is_none_or(|k| total > k);
        if !eligible || !over {
            continue;
        }
        fs::remove_file(path)?;
        let _ = fs::remove_file(
            cache
                .dir()
                .join("children")
                .join(e.parent.hex())
                .join(e.key.hex()),
        );
        for desc in &e.change.layers {
            if let Some(b) = cache_bytes.remove(&desc.digest) {
                total = total.saturating_sub(b);
            }
        }
        report.removed.push(e.key.clone());
    }
    // Listings and child records of entries that are gone.
    let kept = cache.entries();
    let listed: BTreeSet<String> = kept
        .iter()
        .flat_map(|(_, e)| e.inputs.parts.iter().map(|(_, v)| v.clone()))
        .collect();
    if let Ok(rd) = fs::read_dir(cache.dir().join("listings")) {
        for f in rd.flatten() {
            let name = format!("sha256:{}", f.file_name().to_string_lossy());
            if !listed.contains(&name) {
                let _ = fs::remove_file(f.path());
            }
        }
    }
    if opts.all {
        let _ = fs::remove_dir_all(cache.dir().join("context-index"));
    }
    let mounts = store.root().join("cache-mounts");
    if let Ok(rd) = fs::read_dir(&mounts) {
        for m in rd.flatten() {
            // Directories only: `<name>.lock` files belong to builds that may be running.
            if m.path().is_dir() && old_enough(&m.path()) {
                report.reclaimed += dir_size(&m.path());
                fs::remove_dir_all(m.path())?;
                report
                    .mounts
                    .push(m.file_name().to_string_lossy().into_owned());
            }
        }
    }
    drop(gc);
    report.reclaimed += store.prune(false)?.reclaimed;
    Ok(report)
}

/// What the cache holds and what pruning it would free.
pub fn usage(store: &Store) -> anyhow::Result<Usage> {
    let cache = Cache::open(store)?;
    let (chains, image_blobs) = image_refs(store)?;
    let mut u = Usage::default();
    let mut only_cache: HashMap<Digest, (u64, bool)> = HashMap::new();
    for (_, e) in cache.entries() {
        u.entries += 1;
        let used = used_by_image(&e, &chains);
        if used {
            u.in_use += 1;
        }
        for l in &e.change.layers {
            if image_blobs.contains(&l.digest) {
                continue;
            }
            let slot = only_cache.entry(l.digest.clone()).or_insert((l.size, true));
            slot.1 &= !used;
        }
    }
    u.size = only_cache.values().map(|(s, _)| s).sum();
    u.reclaimable = only_cache
        .values()
        .filter(|(_, r)| *r)
        .map(|(s, _)| s)
        .sum();
    let mounts = store.root().join("cache-mounts");
    if let Ok(rd) = fs::read_dir(&mounts) {
        for m in rd.flatten().filter(|m| m.path().is_dir()) {
            u.mounts += 1;
            u.mounts_size += dir_size(&m.path());
        }
    }
    Ok(u)
}
