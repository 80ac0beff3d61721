//! Digests of selected context inputs (the sources of one COPY or ADD), the part of a cache
//! key that says "these inputs are the same as last time".
//!
//! What goes in, per entry: the path relative to the context root, the type, the permission
//! bits (`0o7777`: setuid, setgid and sticky included), the owner only when asked (a COPY
//! without `--chown` gives files root ownership whatever they had), the content digest of a
//! regular file, the link text of a symlink, the device number of a device. What never goes
//! in: times, inode and device numbers, sizes apart from content. So `touch` changes nothing
//! and `chmod +x` changes the digest.

use super::error::ContextError;
use super::index::ScannedEntry;
use super::walk::EntryKind;
use crate::image::digest::Digest;
use sha2::{Digest as _, Sha256};
use std::os::unix::ffi::OsStrExt;
use std::path::{Component, Path, PathBuf};

/// One source of a COPY or ADD, after wildcard expansion.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Selection {
    /// Relative to the context root (`.` or empty: the root). Not resolved through symlinks:
    /// a selected symlink counts as the link itself.
    pub path: PathBuf,
    /// For a directory: everything below it too (what `COPY dir/ dst` copies).
    pub recursive: bool,
}

impl Selection {
    /// Just the entry at `path` (a file, a link, or a directory without its contents).
    pub fn entry(path: impl Into<PathBuf>) -> Selection {
        Selection {
            path: path.into(),
            recursive: false,
        }
    }

    /// The entry at `path` and, if it is a directory, everything below it.
    pub fn tree(path: impl Into<PathBuf>) -> Selection {
        Selection {
            path: path.into(),
            recursive: true,
        }
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DigestOptions {
    /// Include uid and gid (a COPY that keeps source owners; not the default for COPY).
    pub include_owner: bool,
}

/// `rel` as a normalised relative path (`""` for the root); `..` may not leave the context.
pub(crate) fn normalize(rel: &Path) -> Result<PathBuf, ContextError> {
    let mut out = PathBuf::new();
    for c in rel.components() {
        match c {
            Component::RootDir | Component::CurDir | Component::Prefix(_) => {}
            Component::ParentDir => {
                if !out.pop() {
                    return Err(ContextError::OutsideContext(
                        rel.to_string_lossy().into_owned(),
                    ));
                }
            }
            Component::Normal(n) => out.push(n),
        }
    }
    Ok(out)
}

/// The entries strictly below `dir` (`""`: all) in a list sorted by path bytes. Paths with a
/// common prefix are contiguous in that order.
pub(crate) fn below<'a>(all: &'a [ScannedEntry], dir: &[u8]) -> &'a [ScannedEntry] {
    if dir.is_empty() {
        return all;
    }
    let mut prefix = dir.to_vec();
    prefix.push(b'/');
    let start = all.partition_point(|e| e.entry.path_bytes() < prefix.as_slice());
    let len = all[start..]
        .iter()
        .take_while(|e| e.entry.path_bytes().starts_with(&prefix))
        .count();
    &all[start..start + len]
}

pub(crate) fn digest(
    all: &[ScannedEntry],
    selections: &[Selection],
    options: DigestOptions,
) -> Result<Digest, ContextError> {
    let mut h = Sha256::new();
    h.update(b"kiln context selection v1\0");
    h.update([u8::from(options.include_owner)]);
    for sel in selections {
        let key = normalize(&sel.path)?;
        let key = key.as_os_str().as_bytes();
        h.update(b"S");
        put_bytes(&mut h, key);
        h.update([u8::from(sel.recursive)]);
        let mut is_dir = key.is_empty();
        if !key.is_empty() {
            let i = all
                .binary_search_by(|e| e.entry.path_bytes().cmp(key))
                .map_err(|_| ContextError::NotFound(sel.path.to_string_lossy().into_owned()))?;
            put_entry(&mut h, &all[i], options)?;
            is_dir = all[i].entry.kind == EntryKind::Dir;
        }
        if sel.recursive && is_dir {
            for e in below(all, key) {
                put_entry(&mut h, e, options)?;
            }
        }
    }
    Ok(Digest::from_hasher(h))
}

fn put_bytes(h: &mut Sha256, b: &[u8]) {
    h.update((b.len() as u64).to_le_bytes());
    h.update(b);
}

fn put_entry(h: &mut Sha256, e: &ScannedEntry, options: DigestOptions) -> Result<(), ContextError> {
    let entry = &e.entry;
    h.update(b"E");
    put_bytes(h, entry.path_bytes());
    h.update([entry.kind.tag()]);
    h.update(entry.permissions().to_le_bytes());
    if options.include_owner {
        h.update(entry.uid.to_le_bytes());
        h.update(entry.gid.to_le_bytes());
    }
    match entry.kind {
        EntryKind::File => {
            let d = e.digest.as_ref().ok_or(ContextError::NotScanned)?;
            put_bytes(h, d.as_str().as_bytes());
        }
        EntryKind::Symlink => {
            let t = entry.link_target.as_deref().unwrap_or(Path::new(""));
            put_bytes(h, t.as_os_str().as_bytes());
        }
        EntryKind::CharDevice | EntryKind::BlockDevice => h.update(entry.rdev.to_le_bytes()),
        EntryKind::Dir | EntryKind::Fifo | EntryKind::Socket => {}
    }
    Ok(())
}
