//! [`ContextIndex`]: a scanned build context with a content digest for every regular file,
//! kept fresh cheaply through the persisted metadata index (see [`super::index_file`]).

use super::error::ContextError;
use super::hash::{hash_file, refresh_entry};
use super::index_file::{self, Stamp};
use super::rules::IgnoreRules;
use super::selection::{self, DigestOptions, Selection};
use super::walk::{walk_into, Entry, EntryKind};
use crate::image::digest::Digest;
use rayon::prelude::*;
use sha2::{Digest as _, Sha256};
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// How recent a file's mtime or ctime may be, relative to the index write, and still be
/// trusted on the next scan. File times have coarse granularity (a kernel tick), so a file
/// written again in the same tick as it was hashed keeps its stamp; such a file is hashed
/// again next time instead (git's "racy clean" rule).
pub const RACY_WINDOW: Duration = Duration::from_secs(2);

/// Where a scanned file's digest came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Digested {
    /// Not a regular file: nothing to digest.
    NotFile,
    /// From the index: the stamp matched.
    Reused,
    /// Not in the index, or changed: to be read.
    Missing,
    /// Read now, and unchanged while read.
    Hashed,
    /// Read now, but it changed while read: not saved in the index.
    Untrusted,
    /// Removed since the walk saw it.
    Gone,
}

/// Takes each file's digest from the index when its stamp matches. Both lists are in path
/// order, so one merge pass matches them: no map of the index is built.
fn reuse_digests(entries: &mut [ScannedEntry], old: &index_file::Loaded) -> Vec<Digested> {
    let mut records = old.records().peekable();
    entries
        .iter_mut()
        .map(|s| {
            if s.entry.kind != EntryKind::File {
                return Digested::NotFile;
            }
            let path = s.entry.path_bytes();
            while records.next_if(|r| r.path < path).is_some() {}
            match records.peek() {
                Some(r) if r.path == path && r.stamp == Stamp::of(&s.entry) => {
                    s.digest = index_file::digest_from_raw(r.digest);
                    Digested::Reused
                }
                _ => Digested::Missing,
            }
        })
        .collect()
}

/// A context entry and, for a regular file, its content digest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScannedEntry {
    pub entry: Entry,
    pub digest: Option<Digest>,
}

/// What a scan did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ScanStats {
    /// Entries kept by the ignore rules (files, directories, links, others).
    pub entries: usize,
    /// Regular files among them.
    pub files: usize,
    /// Their total size.
    pub file_bytes: u64,
    /// Files whose content was read.
    pub files_hashed: usize,
    /// Bytes read to hash them.
    pub bytes_hashed: u64,
    /// Files whose digest came from the index without reading them.
    pub files_reused: usize,
    /// Files left out of the saved index because they changed too recently (or while read).
    pub files_untrusted: usize,
    /// Whether a usable index was found.
    pub index_loaded: bool,
    /// Whether the index on disk now matches this scan (written, or already up to date); a
    /// failure to write only costs a re-hash next time.
    pub index_saved: bool,
}

/// A build context and the digests of its files. See the module docs of [`crate::context`].
#[derive(Debug)]
pub struct ContextIndex {
    root: PathBuf,
    index_dir: PathBuf,
    rules: IgnoreRules,
    racy_window: Duration,
    entries: Option<Vec<ScannedEntry>>,
}

impl ContextIndex {
    /// Prepares to scan `context_dir`, keeping the metadata index in `index_dir` (created on
    /// the first save; see [`index_dir_for`]). Nothing is read yet.
    pub fn open(
        context_dir: impl Into<PathBuf>,
        index_dir: impl Into<PathBuf>,
        rules: impl Into<IgnoreRules>,
    ) -> ContextIndex {
        ContextIndex {
            root: context_dir.into(),
            index_dir: index_dir.into(),
            rules: rules.into(),
            racy_window: RACY_WINDOW,
            entries: None,
        }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Walks the context and brings every file's digest up to date: files whose metadata
    /// match the index are not read; the others are hashed in parallel. The refreshed index
    /// is then saved.
    pub fn scan(&mut self) -> Result<ScanStats, ContextError> {
        let started = Instant::now();
        // The index is read while the context is walked: they touch different files.
        let ((old, index_loaded), walked) = rayon::join(
            || index_file::load(&self.index_dir),
            || {
                let w = walk_into(&self.root, &self.rules, |entry| ScannedEntry {
                    entry,
                    digest: None,
                });
                (w, started.elapsed())
            },
        );
        let (entries, walk_time) = walked;
        let mut entries = entries?;
        let loaded = started.elapsed();
        let mut state = reuse_digests(&mut entries, &old);
        let reused = started.elapsed();
        let hashed_files = AtomicU64::new(0);
        let hashed_bytes = AtomicU64::new(0);
        entries
            .par_iter_mut()
            .zip(state.par_iter_mut())
            .filter(|(_, st)| **st == Digested::Missing)
            .try_for_each(|(s, st)| {
                let abs = self.root.join(&s.entry.path);
                let h = match hash_file(&abs) {
                    Ok(h) => h,
                    // Removed since the walk saw it: no longer part of the context.
                    Err(e) if e.kind() == io::ErrorKind::NotFound => {
                        *st = Digested::Gone;
                        return Ok(());
                    }
                    Err(e) => return Err(ContextError::io(&abs, e)),
                };
                hashed_files.fetch_add(1, Ordering::Relaxed);
                hashed_bytes.fetch_add(h.bytes_read, Ordering::Relaxed);
                refresh_entry(&mut s.entry, &h.metadata);
                s.digest = Some(h.digest);
                *st = if h.stable {
                    Digested::Hashed
                } else {
                    Digested::Untrusted
                };
                Ok(())
            })?;
        if state.contains(&Digested::Gone) {
            let mut gone = state.iter().map(|st| *st == Digested::Gone);
            entries.retain(|_| !gone.next().unwrap_or(false));
            state.retain(|st| *st != Digested::Gone);
        }

        let mut stats = ScanStats {
            entries: entries.len(),
            index_loaded,
            files_hashed: hashed_files.load(Ordering::Relaxed) as usize,
            bytes_hashed: hashed_bytes.load(Ordering::Relaxed),
            ..ScanStats::default()
        };
        for s in &entries {
            if s.entry.kind == EntryKind::File {
                stats.files += 1;
                stats.file_bytes += s.entry.size;
            }
        }
        stats.files_reused = stats.files - stats.files_hashed;

        let written_at = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_nanos().min(i64::MAX as u128) as i64)
            .unwrap_or(0);
        let trust_before = written_at.saturating_sub(self.racy_window.as_nanos() as i64);
        let trusted = |s: &ScannedEntry, st: Digested| {
            matches!(st, Digested::Reused | Digested::Hashed)
                && s.entry.mtime_ns.max(s.entry.ctime_ns) < trust_before
        };
        let keep: Vec<_> = entries
            .iter()
            .zip(&state)
            .filter(|(s, st)| trusted(s, **st))
            .filter_map(|(s, _)| {
                let d = s.digest.as_ref()?;
                Some((s.entry.path_bytes(), Stamp::of(&s.entry), d))
            })
            .collect();
        stats.files_untrusted = stats.files - keep.len();
        let hashed = started.elapsed();
        // Every kept record came unchanged from the loaded index (nothing was hashed, and the
        // kept paths are as many as the loaded ones): a no-op rebuild does not rewrite the
        // index.
        let unchanged = index_loaded && stats.files_hashed == 0 && keep.len() == old.len();
        stats.index_saved = if unchanged { true } else { self.save(keep) };
        self.entries = Some(entries);
        tracing::debug!(
            "context scan of {}: walk {walk_time:.1?} (index read beside it), index ready \
             {loaded:.1?}, reused {:.1?}, hashed {:.1?}, index save {:.1?}; {stats:?}",
            self.root.display(),
            reused - loaded,
            hashed - reused,
            started.elapsed() - hashed,
        );
        Ok(stats)
    }

    fn save(&self, keep: Vec<(&[u8], Stamp, &Digest)>) -> bool {
        match index_file::store(&self.index_dir, keep.into_iter()) {
            Ok(()) => true,
            Err(e) => {
                tracing::warn!(
                    "cannot save the context index in {}: {e}",
                    self.index_dir.display()
                );
                false
            }
        }
    }

    /// Every entry of the last scan, sorted by path bytes.
    pub fn entries(&self) -> Result<&[ScannedEntry], ContextError> {
        self.entries.as_deref().ok_or(ContextError::NotScanned)
    }

    /// The entry at `rel` (relative to the context root), if the context has it.
    pub fn get(&self, rel: impl AsRef<Path>) -> Result<Option<&ScannedEntry>, ContextError> {
        let all = self.entries()?;
        let key = selection::normalize(rel.as_ref())?;
        Ok(all
            .binary_search_by(|e| e.entry.path_bytes().cmp(key.as_os_str().as_bytes()))
            .ok()
            .map(|i| &all[i]))
    }

    /// The content digest of the regular file at `rel`.
    pub fn content_digest(&self, rel: impl AsRef<Path>) -> Result<Option<&Digest>, ContextError> {
        Ok(self.get(rel)?.and_then(|e| e.digest.as_ref()))
    }

    /// The entries strictly below the directory `rel` (everything for the root `.`), in
    /// path order.
    pub fn entries_under(&self, rel: impl AsRef<Path>) -> Result<&[ScannedEntry], ContextError> {
        let all = self.entries()?;
        let key = selection::normalize(rel.as_ref())?;
        Ok(selection::below(all, key.as_os_str().as_bytes()))
    }

    /// The digest of the selected inputs of a COPY or ADD: see [`Selection`] for what goes
    /// in and what does not.
    pub fn digest_of(
        &self,
        selections: &[Selection],
        options: DigestOptions,
    ) -> Result<Digest, ContextError> {
        selection::digest(self.entries()?, selections, options)
    }
}

/// The index directory for `context_dir` under `cache_dir` (e.g.
/// `<store>/cache/context-index`): one per canonical context path, so that two contexts
/// never share stamps.
pub fn index_dir_for(cache_dir: &Path, context_dir: &Path) -> PathBuf {
    let canonical = context_dir
        .canonicalize()
        .unwrap_or_else(|_| context_dir.to_path_buf());
    let h = Sha256::digest(canonical.as_os_str().as_bytes());
    cache_dir.join(hex::encode(h))
}
