//! The tree copy itself, with the metadata rules of BuildKit's copier (tonistiigi/fsutil):
//! a directory is merged into an existing one, a non-directory replaces what is there (a
//! directory in the way is an error), nested directories take the source's metadata, the
//! top-level destination directory keeps its own, hard links within one source stay links,
//! and owner, mode (with `--chmod` replacing only the permission bits) and times come from the
//! source.

use super::source::{io_err, SourceRoot};
use super::{CopyError, Summary};
use crate::context::dockerignore::Matcher;
use crate::fsops::{
    fd_set_mode, fd_set_owner, fd_set_times, fd_set_xattr, fd_xattrs, FileKind, Meta, OpenDir, Root,
};
use std::collections::HashMap;
use std::fs::File;
use std::io::{self, Read, Write};
use std::os::fd::{AsFd, BorrowedFd};
use std::path::{Path, PathBuf};

pub(crate) struct Copier<'a> {
    pub from: SourceRoot<'a>,
    pub dest: &'a Root,
    pub chown: Option<(u32, u32)>,
    pub chmod: Option<u32>,
    pub excludes: Option<&'a Matcher>,
    /// Source (dev, inode) → the first destination path written for it.
    inodes: HashMap<(u64, u64), PathBuf>,
    pub summary: Summary,
    /// Reused for the contents of small files.
    buf: Vec<u8>,
}

/// Files up to this size are copied through [`Copier::buf`].
const SMALL_FILE: u64 = 1 << 20;

impl<'a> Copier<'a> {
    pub fn new(
        from: SourceRoot<'a>,
        dest: &'a Root,
        chown: Option<(u32, u32)>,
        chmod: Option<u32>,
        excludes: Option<&'a Matcher>,
    ) -> Copier<'a> {
        Copier {
            from,
            dest,
            chown,
            chmod,
            excludes,
            inodes: HashMap::new(),
            summary: Summary::default(),
            buf: Vec::new(),
        }
    }

    /// Hard links are kept within one source (BuildKit runs one copier per source).
    pub fn reset_links(&mut self) {
        self.inodes.clear();
    }

    pub fn excluded(&self, rel: &str, meta: &Meta) -> Result<bool, CopyError> {
        match self.excludes {
            Some(m) => is_excluded(m, rel, meta),
            None => Ok(false),
        }
    }

    /// Copies `src` (canonical in the source root) to `dst` (canonical in the destination).
    /// `rel` is the path below the copied source, for `--exclude`. `overwrite_meta` is false
    /// only for the top level, whose existing directory keeps its metadata.
    pub fn copy(
        &mut self,
        src: &Path,
        rel: &str,
        dst: &Path,
        overwrite_meta: bool,
    ) -> Result<(), CopyError> {
        let root = self.from.root();
        let meta = root.lstat(src).map_err(|e| io_err(src, e))?;
        if self.excluded(rel, &meta)? {
            return Ok(());
        }
        if meta.is_dir() {
            let created = self.copy_dir_only(&meta, dst, overwrite_meta)?;
            let sdir = root.dir(src).map_err(|e| io_err(src, e))?;
            let ddir = self.dest.dir(dst).map_err(|e| io_err(dst, e))?;
            self.copy_children(&sdir, &ddir, rel)?;
            if overwrite_meta || created {
                self.copy_info_fd(&meta, sdir.as_fd(), ddir.as_fd(), dst)?;
            }
            return Ok(());
        }
        if self.copy_special(&meta, src, dst)? {
            self.copy_info(&meta, src, dst)?;
        }
        Ok(())
    }

    /// Copies the visible entries of `sdir` into `ddir`, each looked up and opened by name in
    /// the directories already open (one lookup per entry, not a walk from the root).
    fn copy_children(
        &mut self,
        sdir: &OpenDir,
        ddir: &OpenDir,
        rel: &str,
    ) -> Result<(), CopyError> {
        let names = sdir.names().map_err(|e| io_err(sdir.path(), e))?;
        for name in names {
            let src = sdir.path().join(&name);
            let Some(meta) = sdir.try_lstat(&name).map_err(|e| io_err(&src, e))? else {
                continue;
            };
            if !self.from.visible(&src, &meta)? {
                continue;
            }
            let crel = if rel.is_empty() {
                name.to_string_lossy().into_owned()
            } else {
                format!("{rel}/{}", name.to_string_lossy())
            };
            if self.excluded(&crel, &meta)? {
                continue;
            }
            let dst = ddir.path().join(&name);
            match meta.kind {
                FileKind::Dir => {
                    // mkdir first: in a new tree nothing is in the way.
                    match ddir.mkdir(&name) {
                        Ok(()) => self.summary.dirs += 1,
                        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                            let m = ddir.try_lstat(&name).map_err(|e| io_err(&dst, e))?;
                            if !m.is_some_and(|m| m.is_dir()) {
                                return Err(CopyError::Rule(format!(
                                    "cannot copy to non-directory: {}",
                                    dst.display()
                                )));
                            }
                        }
                        Err(e) => return Err(io_err(&dst, e)),
                    }
                    let sub = ddir.open_dir(&name).map_err(|e| io_err(&dst, e))?;
                    // A new directory gets its mode at once (as `mkdir` with it would), an
                    // existing one takes the source's; owner and times follow the contents.
                    fd_set_mode(sub.as_fd(), meta.mode).map_err(|e| io_err(&dst, e))?;
                    let ssub = sdir.open_dir(&name).map_err(|e| io_err(&src, e))?;
                    self.copy_children(&ssub, &sub, &crel)?;
                    self.copy_info_fd(&meta, ssub.as_fd(), sub.as_fd(), &dst)?;
                }
                FileKind::File => {
                    if self.linked(&meta, &dst)? {
                        self.copy_info(&meta, &src, &dst)?;
                        continue;
                    }
                    let mut input = sdir.open_file(&name).map_err(|e| io_err(&src, e))?;
                    let mut out = ddir.create_file(&name).map_err(|e| io_err(&dst, e))?;
                    let n = self
                        .copy_data(&meta, &mut input, &mut out)
                        .map_err(|e| io_err(&dst, e))?;
                    self.summary.bytes += n;
                    self.summary.files += 1;
                    if meta.nlink > 1 {
                        self.inodes.insert((meta.dev, meta.ino), dst.clone());
                    }
                    self.copy_info_fd(&meta, input.as_fd(), out.as_fd(), &dst)?;
                }
                _ => {
                    if self.copy_special(&meta, &src, &dst)? {
                        self.copy_info(&meta, &src, &dst)?;
                    }
                }
            }
        }
        Ok(())
    }

    /// Copies a file's bytes. A small file goes through one reused buffer (a read, the read
    /// that finds the end, one write); a big one is copied by the kernel (`io::copy` from
    /// File to File uses copy_file_range, or sendfile across filesystems) without a round
    /// trip through this process.
    fn copy_data(&mut self, meta: &Meta, input: &mut File, out: &mut File) -> io::Result<u64> {
        if meta.size > SMALL_FILE {
            return io::copy(input, out);
        }
        // A plain read loop: `read_to_end` would stat and seek the file first.
        let want = (meta.size as usize + 1).max(4096);
        if self.buf.len() < want {
            self.buf.resize(want, 0);
        }
        let mut n = 0;
        loop {
            if n == self.buf.len() {
                self.buf.resize(n * 2, 0);
            }
            match input.read(&mut self.buf[n..]) {
                Ok(0) => break,
                Ok(k) => n += k,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        out.write_all(&self.buf[..n])?;
        Ok(n as u64)
    }

    /// If `meta` is a file with a copy already written for its inode, links `dst` to it.
    fn linked(&mut self, meta: &Meta, dst: &Path) -> Result<bool, CopyError> {
        if meta.nlink <= 1 {
            return Ok(false);
        }
        let Some(first) = self.inodes.get(&(meta.dev, meta.ino)) else {
            return Ok(false);
        };
        self.dest.hardlink(first, dst).map_err(|e| io_err(dst, e))?;
        self.summary.files += 1;
        Ok(true)
    }

    /// Copies a non-directory by path: a file (or hard link), symlink or device node.
    /// Returns whether the entry was written (a socket is skipped, as BuildKit's copier does).
    fn copy_special(&mut self, meta: &Meta, src: &Path, dst: &Path) -> Result<bool, CopyError> {
        let root = self.from.root();
        match meta.kind {
            FileKind::File => {
                if !self.linked(meta, dst)? {
                    let mut f = root.open_read(src).map_err(|e| io_err(src, e))?;
                    let n = self
                        .dest
                        .write_file(dst, meta.mode, &mut f)
                        .map_err(|e| io_err(dst, e))?;
                    self.summary.bytes += n;
                    if meta.nlink > 1 {
                        self.inodes.insert((meta.dev, meta.ino), dst.to_path_buf());
                    }
                    self.summary.files += 1;
                }
            }
            FileKind::Symlink => {
                let target = root.read_link(src).map_err(|e| io_err(src, e))?;
                self.dest
                    .symlink(&target, dst)
                    .map_err(|e| io_err(dst, e))?;
                self.summary.symlinks += 1;
            }
            FileKind::CharDevice | FileKind::BlockDevice | FileKind::Fifo => {
                self.dest
                    .mknod(dst, meta.kind, meta.mode, meta.rdev)
                    .map_err(|e| io_err(dst, e))?;
                self.summary.files += 1;
            }
            FileKind::Socket => return Ok(false),
            FileKind::Dir => {
                return Err(CopyError::Rule(format!(
                    "{}: a directory where a file was expected",
                    src.display()
                )))
            }
        }
        Ok(true)
    }

    /// [`Copier::copy_info`] for an entry open on both sides: owner, mode, times and xattrs
    /// set through the descriptors.
    fn copy_info_fd(
        &self,
        meta: &Meta,
        src: BorrowedFd<'_>,
        dst: BorrowedFd<'_>,
        dst_path: &Path,
    ) -> Result<(), CopyError> {
        let (uid, gid) = self.owner_of(meta);
        fd_set_owner(dst, uid, gid).map_err(|e| io_err(dst_path, e))?;
        fd_set_mode(dst, self.mode_of(meta)).map_err(|e| io_err(dst_path, e))?;
        fd_set_times(dst, meta.atime, meta.mtime).map_err(|e| io_err(dst_path, e))?;
        let attrs = fd_xattrs(src).map_err(|e| io_err(dst_path, e))?;
        for (name, value) in attrs {
            if let Err(e) = fd_set_xattr(dst, &name, &value) {
                tracing::debug!("xattr {name:?} not copied to {}: {e}", dst_path.display());
            }
        }
        Ok(())
    }

    fn owner_of(&self, meta: &Meta) -> (u32, u32) {
        match self.chown {
            Some(o) => o,
            None if self.from.is_context() => (0, 0),
            None => (meta.uid, meta.gid),
        }
    }

    fn mode_of(&self, meta: &Meta) -> u32 {
        match self.chmod {
            Some(c) => (meta.mode & !0o777) | (c & 0o777),
            None => meta.mode,
        }
    }

    /// Creates the directory `dst` if missing (true if created); an existing non-directory is
    /// an error; an existing directory below the top level takes the source's mode.
    fn copy_dir_only(
        &mut self,
        meta: &Meta,
        dst: &Path,
        overwrite_meta: bool,
    ) -> Result<bool, CopyError> {
        match self.dest.try_lstat(dst).map_err(|e| io_err(dst, e))? {
            None => {
                self.dest
                    .mkdir(dst, meta.mode)
                    .map_err(|e| io_err(dst, e))?;
                self.summary.dirs += 1;
                Ok(true)
            }
            Some(m) if !m.is_dir() => Err(CopyError::Rule(format!(
                "cannot copy to non-directory: {}",
                dst.display()
            ))),
            Some(_) => {
                if overwrite_meta {
                    self.dest
                        .set_mode(dst, meta.mode)
                        .map_err(|e| io_err(dst, e))?;
                }
                Ok(false)
            }
        }
    }

    /// Owner, mode and times of the source applied to `dst`.
    pub fn copy_info(&self, meta: &Meta, src: &Path, dst: &Path) -> Result<(), CopyError> {
        let (uid, gid) = self.owner_of(meta);
        self.dest
            .set_owner(dst, uid, gid)
            .map_err(|e| io_err(dst, e))?;
        if !meta.is_symlink() {
            self.dest
                .set_mode(dst, self.mode_of(meta))
                .map_err(|e| io_err(dst, e))?;
        }
        self.dest
            .set_times(dst, meta.atime, meta.mtime)
            .map_err(|e| io_err(dst, e))?;
        self.copy_xattrs(meta, src, dst)
    }

    /// Extended attributes (file capabilities, for one) follow the owner change, which would
    /// clear `security.capability`. As in BuildKit, one that cannot be set is skipped.
    fn copy_xattrs(&self, meta: &Meta, src: &Path, dst: &Path) -> Result<(), CopyError> {
        if !(meta.is_file() || meta.is_dir()) {
            return Ok(());
        }
        let root = self.from.root();
        let attrs = root.xattrs(src).map_err(|e| io_err(src, e))?;
        for (name, value) in attrs {
            if let Err(e) = self.dest.set_xattr(dst, &name, &value) {
                tracing::debug!("xattr {name:?} not copied to {}: {e}", dst.display());
            }
        }
        Ok(())
    }
}

/// Whether `--exclude` patterns drop the entry at `rel` (relative to the copied source). A
/// matched directory is still entered when a `!` pattern may re-include something below it.
pub(crate) fn is_excluded(m: &Matcher, rel: &str, meta: &Meta) -> Result<bool, CopyError> {
    if rel.is_empty() {
        return Ok(false);
    }
    let hit = m
        .is_ignored(rel)
        .map_err(|e| CopyError::Rule(format!("--exclude: {e}")))?;
    Ok(hit && !(meta.is_dir() && m.has_exclusions()))
}
