//! The parallel walk of a build context. Symlinks are entries, never followed (a link to
//! `/etc` must not pull the host into a build); excluded directories are skipped unread when
//! no `!` pattern can re-include something below them; the result is sorted by path bytes so
//! every consumer sees one order whatever the thread timing.

use super::error::ContextError;
use super::rules::IgnoreRules;
use rayon::prelude::*;
use rustix::fs as rfs;
use std::ffi::{CStr, OsStr, OsString};
use std::fs;
use std::io;
use std::os::fd::{BorrowedFd, OwnedFd};
use std::os::unix::ffi::{OsStrExt, OsStringExt};
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

    fn of_mode(mode: u32) -> EntryKind {
        match mode & libc::S_IFMT {
            libc::S_IFLNK => EntryKind::Symlink,
            libc::S_IFDIR => EntryKind::Dir,
            libc::S_IFIFO => EntryKind::Fifo,
            libc::S_IFSOCK => EntryKind::Socket,
            libc::S_IFCHR => EntryKind::CharDevice,
            libc::S_IFBLK => EntryKind::BlockDevice,
            _ => EntryKind::File,
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

    fn from_statx(path: PathBuf, st: &rfs::Statx) -> Entry {
        let mode = u32::from(st.stx_mode);
        let ns =
            |t: &rfs::StatxTimestamp| t.tv_sec.saturating_mul(1_000_000_000) + i64::from(t.tv_nsec);
        Entry {
            path,
            kind: EntryKind::of_mode(mode),
            mode,
            uid: st.stx_uid,
            gid: st.stx_gid,
            size: st.stx_size,
            mtime_ns: ns(&st.stx_mtime),
            ctime_ns: ns(&st.stx_ctime),
            ino: st.stx_ino,
            // As `stat` encodes them, so that stamps from either call compare equal.
            dev: libc::makedev(st.stx_dev_major, st.stx_dev_minor),
            rdev: libc::makedev(st.stx_rdev_major, st.stx_rdev_minor),
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
    walk_into(root, rules, |e| e)
}

/// [`walk`], with each entry wrapped by `wrap` as it is placed, so that a caller that keeps
/// more per entry does not move the whole list again.
pub(crate) fn walk_into<T: Send>(
    root: &Path,
    rules: &IgnoreRules,
    wrap: impl Fn(Entry) -> T + Sync,
) -> Result<Vec<T>, ContextError> {
    let md = fs::metadata(root).map_err(|e| ContextError::io(root, e))?;
    if !md.is_dir() {
        return Err(ContextError::NotADirectory(root.to_path_buf()));
    }
    let fd = rfs::open(root, dir_flags(), rfs::Mode::empty())
        .map_err(|e| ContextError::io(root, e.into()))?;
    let walker = Walker {
        root,
        rules,
        wrap: &wrap,
    };
    let segments = walker.dir(fd, &[])?;
    // The segments come in path order already (see `Walker::dir`): each entry is moved once
    // more, here, and nothing is sorted.
    let mut entries = Vec::with_capacity(segments.iter().map(Vec::len).sum());
    for segment in segments {
        entries.extend(segment);
    }
    Ok(entries)
}

/// Directories are opened relative to their parent's descriptor and never through a
/// symlink, so a directory swapped for a link during the walk cannot lead out of the context.
fn dir_flags() -> rfs::OFlags {
    rfs::OFlags::RDONLY | rfs::OFlags::DIRECTORY | rfs::OFlags::NOFOLLOW | rfs::OFlags::CLOEXEC
}

/// What `statx` is asked for: the fields of an [`Entry`], nothing more.
fn statx_mask() -> rfs::StatxFlags {
    rfs::StatxFlags::TYPE
        | rfs::StatxFlags::MODE
        | rfs::StatxFlags::UID
        | rfs::StatxFlags::GID
        | rfs::StatxFlags::SIZE
        | rfs::StatxFlags::MTIME
        | rfs::StatxFlags::CTIME
        | rfs::StatxFlags::INO
}

struct Walker<'a, W> {
    root: &'a Path,
    rules: &'a IgnoreRules,
    wrap: &'a W,
}

/// Where a directory's child goes in path order. A subdirectory's own entry sorts by its
/// name, but everything below it by its name followed by `/`: `a`, `a.txt`, `a/x` is path
/// order, because `.` sorts before `/`.
#[derive(Clone, Copy)]
enum Slot {
    Entry(usize),
    Below(usize),
}

impl<T: Send, W: Fn(Entry) -> T + Sync> Walker<'_, W> {
    fn err(&self, rel: &[u8], e: impl Into<io::Error>) -> ContextError {
        ContextError::io(self.root.join(OsStr::from_bytes(rel)), e.into())
    }

    /// One directory, given open: its children are stat'ed in order on this thread,
    /// relative to the directory (a thread per file costs more than the `statx` it would
    /// run; no path is resolved from the root), and its subdirectories are walked in
    /// parallel. Returns everything below it as segments that are in path order when
    /// concatenated, so the walk never sorts the whole list.
    fn dir(&self, fd: OwnedFd, rel: &[u8]) -> Result<Vec<Vec<T>>, ContextError> {
        let mut dir = rfs::Dir::new(fd).map_err(|e| self.err(rel, e))?;
        // Each child, and whether it is itself excluded (a directory kept only if something
        // below it is re-included).
        let mut children: Vec<(Entry, bool)> = Vec::new();
        while let Some(child) = dir.read() {
            let child = child.map_err(|e| self.err(rel, e))?;
            let name = child.file_name();
            if matches!(name.to_bytes(), b"." | b"..") {
                continue;
            }
            let dirfd = dir.fd().map_err(|e| self.err(rel, e))?;
            if let Some(found) = self.visit(dirfd, rel, name)? {
                children.push(found);
            }
        }
        let dirfd = dir.fd().map_err(|e| self.err(rel, e))?;
        let subdirs: Vec<usize> = (0..children.len())
            .filter(|&i| children[i].0.kind == EntryKind::Dir)
            .collect();
        let below: Vec<Option<Vec<Vec<T>>>> = subdirs
            .par_iter()
            .map(|&i| {
                let path = children[i].0.path_bytes();
                let name = &path[path.len() - name_len(path)..];
                match rfs::openat(
                    dirfd,
                    OsStr::from_bytes(name),
                    dir_flags(),
                    rfs::Mode::empty(),
                ) {
                    Ok(fd) => self.dir(fd, path).map(Some),
                    // Removed since it was listed: no longer part of the context.
                    Err(rustix::io::Errno::NOENT) => Ok(None),
                    Err(e) => Err(self.err(path, e)),
                }
            })
            .collect::<Result<_, _>>()?;
        let mut below_of: Vec<Option<Vec<Vec<T>>>> = (0..children.len()).map(|_| None).collect();
        let mut slots = Vec::with_capacity(children.len() + subdirs.len());
        for (i, segments) in subdirs.into_iter().zip(below) {
            let Some(segments) = segments else { continue };
            if children[i].1 && segments.iter().all(Vec::is_empty) {
                continue;
            }
            below_of[i] = Some(segments);
            slots.push(Slot::Entry(i));
            slots.push(Slot::Below(i));
        }
        slots.extend(
            (0..children.len())
                .filter_map(|i| (children[i].0.kind != EntryKind::Dir).then_some(Slot::Entry(i))),
        );
        let key = |slot: &Slot| -> (&[u8], &[u8]) {
            match *slot {
                Slot::Entry(i) => (name_of(&children[i].0), b""),
                Slot::Below(i) => (name_of(&children[i].0), b"/"),
            }
        };
        slots.sort_unstable_by(|a, b| {
            let (na, sa) = key(a);
            let (nb, sb) = key(b);
            let n = na.len().min(nb.len());
            // Sibling names differ, so the suffixes matter only when one name is a prefix
            // of the other (or for a directory's own entry against what is below it).
            na[..n]
                .cmp(&nb[..n])
                .then_with(|| na[n..].iter().chain(sa).cmp(nb[n..].iter().chain(sb)))
        });
        let mut entries: Vec<Option<Entry>> = children.into_iter().map(|(e, _)| Some(e)).collect();
        let mut out = Vec::new();
        let mut current = Vec::new();
        for slot in slots {
            match slot {
                Slot::Entry(i) => {
                    if let Some(e) = entries[i].take() {
                        current.push((self.wrap)(e));
                    }
                }
                Slot::Below(i) => {
                    if !current.is_empty() {
                        out.push(std::mem::take(&mut current));
                    }
                    out.extend(below_of[i].take().into_iter().flatten());
                }
            }
        }
        if !current.is_empty() {
            out.push(current);
        }
        Ok(out)
    }

    /// One child of a directory: its entry and whether the rules exclude it (`None` when it
    /// is excluded for good, or gone).
    fn visit(
        &self,
        dirfd: BorrowedFd<'_>,
        parent: &[u8],
        name: &CStr,
    ) -> Result<Option<(Entry, bool)>, ContextError> {
        let mut rel = Vec::with_capacity(parent.len() + 1 + name.to_bytes().len());
        if !parent.is_empty() {
            rel.extend_from_slice(parent);
            rel.push(b'/');
        }
        rel.extend_from_slice(name.to_bytes());
        let flags = rfs::AtFlags::SYMLINK_NOFOLLOW | rfs::AtFlags::STATX_DONT_SYNC;
        let st = match rfs::statx(dirfd, name, flags, statx_mask()) {
            Ok(st) => st,
            // Removed between the directory read and now: it is simply not part of the context.
            Err(rustix::io::Errno::NOENT) => return Ok(None),
            Err(e) => return Err(self.err(&rel, e)),
        };
        let mode = u32::from(st.stx_mode);
        let is_dir = mode & libc::S_IFMT == libc::S_IFDIR;
        if !self.rules.is_empty() {
            let text = String::from_utf8_lossy(&rel);
            let ignored = self.rules.is_ignored(&text)?;
            if ignored && !(is_dir && self.rules.may_reinclude_below(&text)) {
                return Ok(None);
            }
            if ignored {
                let entry = Entry::from_statx(PathBuf::from(OsString::from_vec(rel)), &st);
                return Ok(Some((entry, true)));
            }
        }
        let mut entry = Entry::from_statx(PathBuf::from(OsString::from_vec(rel)), &st);
        if entry.kind == EntryKind::Symlink {
            match rfs::readlinkat(dirfd, name, Vec::new()) {
                Ok(t) => {
                    entry.link_target = Some(PathBuf::from(OsString::from_vec(t.into_bytes())))
                }
                Err(rustix::io::Errno::NOENT) => return Ok(None),
                Err(e) => return Err(self.err(entry.path_bytes(), e)),
            }
        }
        Ok(Some((entry, false)))
    }
}

/// The length of the last component of a `/`-separated relative path.
fn name_len(path: &[u8]) -> usize {
    path.iter()
        .rev()
        .position(|b| *b == b'/')
        .unwrap_or(path.len())
}

fn name_of(e: &Entry) -> &[u8] {
    let path = e.path_bytes();
    &path[path.len() - name_len(path)..]
}
