//! The list of source entries a COPY/ADD would read, for cache keys.

use super::copier;
use super::source::{io_err, rel_str};
use super::{check_flags, select_all, CopyError, CopyRequest, Item, SourceEntry, SourceRoot};
use crate::context::dockerignore::Matcher;
use std::path::Path;

/// Lists the source entries a COPY/ADD would read from `from`, without copying (URL sources
/// have no local entries and are skipped). Errors as [`run`] would for missing sources.
pub fn list_sources(req: &CopyRequest, from: SourceRoot) -> Result<Vec<SourceEntry>, CopyError> {
    check_flags(req)?;
    let excludes = if req.excludes.is_empty() {
        None
    } else {
        Some(Matcher::new(&req.excludes).map_err(|e| CopyError::Rule(format!("--exclude: {e}")))?)
    };
    let mut out = Vec::new();
    for (i, items) in select_all(req, &from)?.into_iter().enumerate() {
        for item in items {
            let Item::Local(sel) = item else { continue };
            if let (Some(m), Some(r)) = (excludes.as_ref(), &sel.match_rel) {
                if copier::is_excluded(m, r, &sel.meta)? {
                    continue;
                }
            }
            list_tree(&from, excludes.as_ref(), i, &sel.path, "", &mut out)?;
        }
    }
    Ok(out)
}

fn list_tree(
    from: &SourceRoot,
    excludes: Option<&Matcher>,
    source: usize,
    p: &Path,
    rel: &str,
    out: &mut Vec<SourceEntry>,
) -> Result<(), CopyError> {
    let root = from.root();
    let meta = root.lstat(p).map_err(|e| io_err(p, e))?;
    if let Some(m) = excludes {
        if copier::is_excluded(m, rel, &meta)? {
            return Ok(());
        }
    }
    let link_target = if meta.is_symlink() {
        Some(
            root.read_link(p)
                .map_err(|e| io_err(p, e))?
                .to_string_lossy()
                .into_owned(),
        )
    } else {
        None
    };
    let (uid, gid) = if from.is_context() {
        (0, 0)
    } else {
        (meta.uid, meta.gid)
    };
    out.push(SourceEntry {
        source,
        path: rel_str(p),
        kind: meta.kind,
        mode: meta.mode,
        uid,
        gid,
        size: if meta.is_file() { meta.size } else { 0 },
        link_target,
    });
    if meta.is_dir() {
        for name in root.read_dir(p).map_err(|e| io_err(p, e))? {
            let child = p.join(&name);
            let Some(cm) = root.try_lstat(&child).map_err(|e| io_err(&child, e))? else {
                continue;
            };
            if !from.visible(&child, &cm)? {
                continue;
            }
            let crel = if rel.is_empty() {
                name.to_string_lossy().into_owned()
            } else {
                format!("{rel}/{}", name.to_string_lossy())
            };
            list_tree(from, excludes, source, &child, &crel, out)?;
        }
    }
    Ok(())
}
