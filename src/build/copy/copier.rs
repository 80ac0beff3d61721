//! The tree copy itself, with the metadata rules of BuildKit's copier (tonistiigi/fsutil):
//! a directory is merged into an existing one, a non-directory replaces what is there (a
//! directory in the way is an error), nested directories take the source's metadata, the
//! top-level destination directory keeps its own, hard links within one source stay links,
//! and owner, mode (with `--chmod` replacing only the permission bits) and times come from the
//! source.

use super::source::{io_err, SourceRoot};
use super::{CopyError, Summary};
use crate::context::dockerignore::Matcher;
use crate::fsops::{FileKind, Meta, Root};
use std::collections::HashMap;
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
}

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
        let mut apply_info = true;
        match meta.kind {
            FileKind::Dir => {
                let created = self.copy_dir_only(&meta, dst, overwrite_meta)?;
                for name in root.read_dir(src).map_err(|e| io_err(src, e))? {
                    let child = src.join(&name);
                    let Some(cmeta) = root.try_lstat(&child).map_err(|e| io_err(&child, e))? else {
                        continue;
                    };
                    if !self.from.visible(&child, &cmeta)? {
                        continue;
                    }
                    let crel = if rel.is_empty() {
                        name.to_string_lossy().into_owned()
                    } else {
                        format!("{rel}/{}", name.to_string_lossy())
                    };
                    self.copy(&child, &crel, &dst.join(&name), true)?;
                }
                if !overwrite_meta {
                    apply_info = created;
                }
            }
            FileKind::File => {
                let key = (meta.dev, meta.ino);
                let linked = match self.inodes.get(&key) {
                    Some(first) if meta.nlink > 1 => {
                        let first = first.clone();
                        self.dest
                            .hardlink(&first, dst)
                            .map_err(|e| io_err(dst, e))?;
                        true
                    }
                    _ => false,
                };
                if !linked {
                    let mut f = root.open_read(src).map_err(|e| io_err(src, e))?;
                    let n = self
                        .dest
                        .write_file(dst, meta.mode, &mut f)
                        .map_err(|e| io_err(dst, e))?;
                    self.summary.bytes += n;
                    if meta.nlink > 1 {
                        self.inodes.insert(key, dst.to_path_buf());
                    }
                }
                self.summary.files += 1;
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
            // BuildKit's copier silently skips sockets.
            FileKind::Socket => return Ok(()),
        }
        if apply_info {
            self.copy_info(&meta, src, dst)?;
        }
        Ok(())
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
        let (uid, gid) = match self.chown {
            Some(o) => o,
            None if self.from.is_context() => (0, 0),
            None => (meta.uid, meta.gid),
        };
        self.dest
            .set_owner(dst, uid, gid)
            .map_err(|e| io_err(dst, e))?;
        if !meta.is_symlink() {
            let mode = match self.chmod {
                Some(c) => (meta.mode & !0o777) | (c & 0o777),
                None => meta.mode,
            };
            self.dest.set_mode(dst, mode).map_err(|e| io_err(dst, e))?;
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
