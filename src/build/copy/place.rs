//! Where each selected source lands in the destination, and the writing of it.

use super::copier::Copier;
use super::source::{io_err, Selected};
use super::{archive, remote, CopyError, CopyRequest, Summary};
use crate::fsops::Root;
use std::path::{Path, PathBuf};

fn mkdirs(dest: &Root, p: &Path, owner: Option<(u32, u32)>) -> Result<u64, CopyError> {
    let created = dest.mkdir_all(p, 0o755, owner).map_err(|e| io_err(p, e))?;
    Ok(created.len() as u64)
}

/// Where one source lands (BuildKit's `prepareTargetDir`), with the parent directories made.
fn target_for(
    dest: &Root,
    dst: &Path,
    dir_form: bool,
    name: &std::ffi::OsStr,
    src_is_dir: bool,
    chown: Option<(u32, u32)>,
    summary: &mut Summary,
) -> Result<PathBuf, CopyError> {
    let ensure = if dir_form {
        dst.to_path_buf()
    } else {
        dst.parent().unwrap_or(Path::new("/")).to_path_buf()
    };
    let ensure = dest.resolve(&ensure).map_err(|e| io_err(&ensure, e))?;
    summary.dirs += mkdirs(dest, &ensure, chown)?;
    let resolved = dest.resolve(dst).map_err(|e| io_err(dst, e))?;
    let existing = dest.try_stat(&resolved).map_err(|e| io_err(&resolved, e))?;
    let mut target = resolved;
    if !src_is_dir && existing.is_some_and(|m| m.is_dir()) {
        target = target.join(name);
    }
    let parent = if src_is_dir && existing.is_none() {
        target.clone()
    } else {
        target.parent().unwrap_or(Path::new("/")).to_path_buf()
    };
    summary.dirs += mkdirs(dest, &parent, chown)?;
    Ok(target)
}

pub(super) fn place(
    copier: &mut Copier,
    req: &CopyRequest,
    sel: &Selected,
    dst: &Path,
    dir_form: bool,
    summary: &mut Summary,
) -> Result<(), CopyError> {
    let dest = copier.dest;
    // A wildcard match is itself subject to --exclude; a source named literally is not.
    if let Some(r) = &sel.match_rel {
        if copier.excluded(r, &sel.meta)? {
            return Ok(());
        }
    }
    if req.is_add && sel.meta.is_file() && archive::is_archive(copier.from.root(), &sel.path)? {
        // An archive always unpacks into a directory at the destination path.
        let d = dest.resolve(dst).map_err(|e| io_err(dst, e))?;
        summary.dirs += mkdirs(dest, &d, copier.chown)?;
        let into = dest.open_dir(&d).map_err(|e| io_err(&d, e))?;
        return archive::extract(copier.from.root(), &sel.path, &into, summary);
    }
    let target = target_for(
        dest,
        dst,
        dir_form,
        &sel.name,
        sel.meta.is_dir(),
        copier.chown,
        summary,
    )?;
    copier.copy(&sel.path, "", &target, false)
}

/// `--parents`: the source's path below the pivot is recreated under the destination, the
/// directories on the way taking their source's metadata.
pub(super) fn place_parents(
    copier: &mut Copier,
    sel: &Selected,
    dst: &Path,
) -> Result<(), CopyError> {
    let dest = copier.dest;
    if let Some(r) = &sel.match_rel {
        if copier.excluded(r, &sel.meta)? {
            return Ok(());
        }
    }
    let base = dest.resolve(dst).map_err(|e| io_err(dst, e))?;
    copier.summary.dirs += mkdirs(dest, &base, copier.chown)?;
    let rel = sel.parents_rel.clone();
    let comps: Vec<_> = rel.components().collect();
    // The source directories along the path, from the source's own canonical path upward.
    let mut src_dirs = Vec::new();
    let mut s = sel.path.clone();
    for _ in 1..comps.len() {
        s = s.parent().unwrap_or(Path::new("/")).to_path_buf();
        src_dirs.push(s.clone());
    }
    src_dirs.reverse();
    let mut at = base.clone();
    for (i, c) in comps.iter().take(comps.len().saturating_sub(1)).enumerate() {
        at = at.join(c);
        if dest.try_lstat(&at).map_err(|e| io_err(&at, e))?.is_none() {
            let sp = &src_dirs[i];
            let meta = copier.from.root().stat(sp).map_err(|e| io_err(sp, e))?;
            dest.mkdir(&at, meta.mode).map_err(|e| io_err(&at, e))?;
            copier.summary.dirs += 1;
            copier.copy_info(&meta, sp, &at)?;
        }
    }
    let target = if comps.is_empty() {
        base
    } else {
        base.join(&rel)
    };
    copier.copy(&sel.path, "", &target, !comps.is_empty())
}

pub(super) fn place_url(
    dest: &Root,
    mut fetched: remote::Fetched,
    dst: &Path,
    dir_form: bool,
    chown: Option<(u32, u32)>,
    chmod: Option<u32>,
    summary: &mut Summary,
) -> Result<(), CopyError> {
    let name = std::ffi::OsString::from(&fetched.name);
    let target = target_for(dest, dst, dir_form, &name, false, chown, summary)?;
    let mode = chmod.map(|c| c & 0o777).unwrap_or(0o600);
    let n = dest
        .write_file(&target, mode, &mut fetched.file)
        .map_err(|e| io_err(&target, e))?;
    if n != fetched.size {
        return Err(CopyError::Remote(format!(
            "{}: wrote {n} of {} downloaded bytes",
            target.display(),
            fetched.size
        )));
    }
    let (uid, gid) = chown.unwrap_or((0, 0));
    dest.set_owner(&target, uid, gid)
        .map_err(|e| io_err(&target, e))?;
    dest.set_mode(&target, mode)
        .map_err(|e| io_err(&target, e))?;
    let t = match fetched.mtime {
        Some(t) => (t, 0),
        None => {
            let now = chrono::Utc::now();
            (now.timestamp(), now.timestamp_subsec_nanos() as i64)
        }
    };
    dest.set_times(&target, t, t)
        .map_err(|e| io_err(&target, e))?;
    summary.files += 1;
    summary.bytes += n;
    Ok(())
}
