//! The parallel walk of a build context. Symlinks are entries, never followed (a link to
//! `/etc` must not pull the host into a build); excluded directories are skipped unread when
//! no `!` pattern can re-include something below them; the result is sorted by path bytes so
//! every consumer sees one order whatever the thread timing.

use super::error::ContextError;
use super::rules::IgnoreRules;
use rayon::prelude::*;
use std::fs;
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EntryKind {
    File,
    Dir,
    Symlink,
    Fifo,
    Socket,
    CharDevice,
    BlockDevice,
}

impl EntryKind {
    fn of(ft: fs::FileType) -> EntryKind {
        if ft.is_symlink() {
            EntryKind::Symlink
        } else if ft.is_dir() {
            EntryKind::Dir
        } else if ft.is_fifo() {
            EntryKind::Fifo
        } else if ft.is_socket() {
            EntryKind::Socket
        } else if ft.is_char_device() {
            EntryKind::CharDevice
        } else if ft.is_block_device() {
            EntryKind::BlockDevice
        } else {
            EntryKind::File
        }
    }

    /// A stable one-byte tag, used in digests.
    pub fn tag(self) -> u8 {
        match self {
            EntryKind::File => b'f',
            EntryKind::Dir => b'd',
            EntryKind::Symlink => b'l',
            EntryKind::Fifo => b'p',
            EntryKind::Socket => b's',
            EntryKind::CharDevice => b'c',
            EntryKind::BlockDevice => b'b',
        }
    }
}

/// One file system object in the context, as `lstat` saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// Relative to the context root, `/`-separated, without `./`.
    pub path: PathBuf,
    pub kind: EntryKind,
    /// `st_mode`: file type and permission bits (setuid, setgid and sticky included).
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
    pub size: u64,
    pub mtime_ns: i64,
    pub ctime_ns: i64,
    pub ino: u64,
    pub dev: u64,
    /// Device number, for character and block devices.
    pub rdev: u64,
    /// The link text of a symlink, as stored (not resolved).
    pub link_target: Option<PathBuf>,
}

impl Entry {
    pub(crate) fn from_metadata(path: PathBuf, md: &fs::Metadata) -> Entry {
        Entry {
            path,
            kind: EntryKind::of(md.file_type()),
            mode: md.mode(),
            uid: md.uid(),
            gid: md.gid(),
            size: md.size(),
            mtime_ns: md.mtime().saturating_mul(1_000_000_000) + md.mtime_nsec(),
            ctime_ns: md.ctime().saturating_mul(1_000_000_000) + md.ctime_nsec(),
            ino: md.ino(),
            dev: md.dev(),
            rdev: md.rdev(),
            link_target: None,
        }
    }

    /// The permission bits, `0o7777`.
    pub fn permissions(&self) -> u32 {
        self.mode & 0o7777
    }

    pub fn path_bytes(&self) -> &[u8] {
        self.path.as_os_str().as_bytes()
    }
}

/// Walks `root` and returns every entry the rules keep, sorted by path bytes. A directory
/// that is itself excluded but holds re-included entries is returned too (its mode and owner
/// are part of what a copy of those entries creates), as BuildKit's context transfer does.
pub fn walk(root: &Path, rules: &IgnoreRules) -> Result<Vec<Entry>, ContextError> {
    let md = fs::metadata(root).map_err(|e| ContextError::io(root, e))?;
    if !md.is_dir() {
        return Err(ContextError::NotADirectory(root.to_path_buf()));
    }
    let mut entries = walk_dir(root, Path::new(""), rules)?;
    entries.par_sort_unstable_by(|a, b| a.path_bytes().cmp(b.path_bytes()));
    Ok(entries)
}

/// One directory: its children are stat'ed in order on this thread (a thread per file costs
/// more than the `fstatat` it would run), its subdirectories are walked in parallel.
fn walk_dir(root: &Path, rel: &Path, rules: &IgnoreRules) -> Result<Vec<Entry>, ContextError> {
    let abs = root.join(rel);
    let read = fs::read_dir(&abs).map_err(|e| ContextError::io(&abs, e))?;
    let mut out = Vec::new();
    // Subdirectories to descend into, and whether each is itself excluded (kept only if
    // something below it is re-included).
    let mut subdirs: Vec<(Entry, bool)> = Vec::new();
    for child in read {
        let child = child.map_err(|e| ContextError::io(&abs, e))?;
        if let Some((entry, ignored)) = visit(root, rel, &child, rules)? {
            if entry.kind == EntryKind::Dir {
                subdirs.push((entry, ignored));
            } else {
                out.push(entry);
            }
        }
    }
    let below: Vec<Vec<Entry>> = subdirs
        .par_iter()
        .map(|(d, _)| walk_dir(root, &d.path, rules))
        .collect::<Result<_, _>>()?;
    for ((dir, ignored), entries) in subdirs.into_iter().zip(below) {
        if ignored && entries.is_empty() {
            continue;
        }
        out.extend(entries);
        out.push(dir);
    }
    Ok(out)
}

/// One child of a directory: its entry and whether the rules exclude it (`None` when it is
/// excluded for good, or gone).
fn visit(
    root: &Path,
    parent: &Path,
    child: &fs::DirEntry,
    rules: &IgnoreRules,
) -> Result<Option<(Entry, bool)>, ContextError> {
    let rel = parent.join(child.file_name());
    // `DirEntry::metadata` is an `fstatat` relative to the open directory, without following
    // a symlink: no path resolution from the root for every file.
    let md = match child.metadata() {
        Ok(md) => md,
        // Removed between the directory read and now: it is simply not part of the context.
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(ContextError::io(root.join(&rel), e)),
    };
    let is_dir = md.file_type().is_dir();
    let ignored = rules.is_ignored(&rel.to_string_lossy())?;
    if ignored && !(is_dir && rules.may_reinclude_below(&rel.to_string_lossy())) {
        return Ok(None);
    }
    let mut entry = Entry::from_metadata(rel, &md);
    if entry.kind == EntryKind::Symlink {
        match fs::read_link(child.path()) {
            Ok(t) => entry.link_target = Some(t),
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(ContextError::io(root.join(&entry.path), e)),
        }
    }
    Ok(Some((entry, ignored)))
}
