//! Which files a COPY/ADD source names: wildcards, symlinks resolved inside the source root,
//! and (for a build context) `.dockerignore` making excluded files invisible, as if the
//! context had been sent without them (BuildKit transfers a filtered context).

use super::glob::{has_wildcard, Glob};
use super::CopyError;
use crate::context::dockerignore::Matcher;
use crate::fsops::{clean_components, join_components, Meta, Root};
use std::ffi::OsString;
use std::io;
use std::path::{Path, PathBuf};

/// Where sources are read from.
#[derive(Clone, Copy)]
pub enum SourceRoot<'a> {
    /// The build context, with its `.dockerignore` (files it excludes do not exist).
    /// Files from the context are owned by 0:0 unless `--chown` says otherwise.
    Context {
        root: &'a Root,
        ignore: Option<&'a Matcher>,
    },
    /// A stage's or image's root filesystem (`--from`): owners are kept.
    Rootfs(&'a Root),
}

impl<'a> SourceRoot<'a> {
    pub(crate) fn root(&self) -> &'a Root {
        match self {
            SourceRoot::Context { root, .. } | SourceRoot::Rootfs(root) => root,
        }
    }

    pub(crate) fn is_context(&self) -> bool {
        matches!(self, SourceRoot::Context { .. })
    }

    fn ignore(&self) -> Option<&'a Matcher> {
        match self {
            SourceRoot::Context { ignore, .. } => *ignore,
            SourceRoot::Rootfs(_) => None,
        }
    }

    /// Whether the entry at canonical path `p` exists in the (filtered) source.
    pub(crate) fn visible(&self, p: &Path, meta: &Meta) -> Result<bool, CopyError> {
        let Some(m) = self.ignore() else {
            return Ok(true);
        };
        let rel = rel_str(p);
        if rel.is_empty() {
            return Ok(true);
        }
        let ignored = m
            .is_ignored(&rel)
            .map_err(|e| CopyError::Rule(format!(".dockerignore: {e}")))?;
        if !ignored {
            return Ok(true);
        }
        // An excluded directory still exists when a `!` pattern re-includes something below.
        if meta.is_dir() && m.has_exclusions() {
            return self.has_visible_below(p);
        }
        Ok(false)
    }

    fn has_visible_below(&self, p: &Path) -> Result<bool, CopyError> {
        let root = self.root();
        for name in root.read_dir(p).map_err(|e| io_err(p, e))? {
            let child = p.join(&name);
            let Some(meta) = root.try_lstat(&child).map_err(|e| io_err(&child, e))? else {
                continue;
            };
            if self.visible(&child, &meta)? {
                return Ok(true);
            }
        }
        Ok(false)
    }
}

/// A path inside a root as docker's matchers see it: relative, `/`-separated.
pub(crate) fn rel_str(p: &Path) -> String {
    let s = p.to_string_lossy();
    s.trim_start_matches('/').to_string()
}

pub(crate) fn io_err(p: &Path, e: io::Error) -> CopyError {
    CopyError::Io {
        path: p.display().to_string(),
        err: e,
    }
}

/// One selected source.
#[derive(Debug, Clone)]
pub(crate) struct Selected {
    /// The name a file takes inside a destination directory (the name as written or
    /// matched, not a followed symlink's target name).
    pub name: OsString,
    /// Canonical path in the source root, symlinks followed.
    pub path: PathBuf,
    pub meta: Meta,
    /// Path below the `--parents` pivot (the whole cleaned path without a `/./` pivot).
    pub parents_rel: PathBuf,
    /// For a wildcard match, its path relative to the wildcard's base (what `--exclude`
    /// sees for a top-level match).
    pub match_rel: Option<String>,
}

/// Expands one source string. A literal that names nothing is an error; a wildcard that
/// matches nothing selects nothing (BuildKit's `AllowEmptyWildcard`).
pub(crate) fn select(from: &SourceRoot, src: &str) -> Result<Vec<Selected>, CopyError> {
    let root = from.root();
    let (pivot, _) = split_pivot(src);
    let comps = clean_components(Path::new(src));
    let pivot_len = clean_components(Path::new(&pivot)).len();
    let Some(wild_at) = comps
        .iter()
        .position(|c| has_wildcard(&c.to_string_lossy()))
    else {
        let lexical = join_components(&comps);
        let path = root.resolve(&lexical).map_err(|e| io_err(&lexical, e))?;
        let meta = root.try_lstat(&path).map_err(|e| io_err(&path, e))?;
        let found = match meta {
            Some(m) => {
                // The name as written must exist too (an excluded symlink is not there).
                let lex_meta = root.try_lstat(&lexical).map_err(|e| io_err(&lexical, e))?;
                let lex_ok = match lex_meta {
                    Some(lm) => from.visible(&lexical, &lm)?,
                    None => true,
                };
                (lex_ok && from.visible(&path, &m)?).then_some(m)
            }
            None => None,
        };
        let Some(meta) = found else {
            return Err(not_found(from, src, &lexical));
        };
        let name = comps.last().cloned().unwrap_or_else(|| OsString::from("/"));
        return Ok(vec![Selected {
            name,
            path,
            meta,
            parents_rel: join_rel(&comps[pivot_len.min(comps.len())..]),
            match_rel: None,
        }]);
    };
    let base_comps = &comps[..wild_at];
    let pattern: Vec<String> = comps[wild_at..]
        .iter()
        .map(|c| c.to_string_lossy().into_owned())
        .collect();
    let glob = Glob::new(&pattern.join("/"))
        .map_err(|e| CopyError::Rule(format!("source {src:?}: {e}")))?;
    let base_lexical = join_components(base_comps);
    let base = root
        .resolve(&base_lexical)
        .map_err(|e| io_err(&base_lexical, e))?;
    match root.try_stat(&base).map_err(|e| io_err(&base, e))? {
        Some(m) if m.is_dir() => {}
        _ => return Ok(Vec::new()),
    }
    let mut matches = Vec::new();
    walk_matches(from, &base, "", &glob, &mut matches)?;
    let mut out = Vec::new();
    for rel in matches {
        let mut full = base_comps.to_vec();
        full.extend(clean_components(Path::new(&rel)));
        let at = base.join(&rel);
        let path = root.resolve(&at).map_err(|e| io_err(&at, e))?;
        let Some(meta) = root.try_lstat(&path).map_err(|e| io_err(&path, e))? else {
            continue; // a dangling symlink matched: nothing to copy
        };
        if !from.visible(&path, &meta)? {
            continue;
        }
        out.push(Selected {
            name: full.last().cloned().unwrap_or_default(),
            path,
            meta,
            parents_rel: join_rel(&full[pivot_len.min(full.len())..]),
            match_rel: Some(rel),
        });
    }
    Ok(out)
}

/// Walks `dir` (not following symlinks) in sorted order and collects the relative paths
/// matching `glob`; a matched directory is not descended into (Go's `filepath.Walk` with
/// `SkipDir`).
fn walk_matches(
    from: &SourceRoot,
    dir: &Path,
    prefix: &str,
    glob: &Glob,
    out: &mut Vec<String>,
) -> Result<(), CopyError> {
    let root = from.root();
    for name in root.read_dir(dir).map_err(|e| io_err(dir, e))? {
        let child = dir.join(&name);
        let Some(meta) = root.try_lstat(&child).map_err(|e| io_err(&child, e))? else {
            continue;
        };
        if !from.visible(&child, &meta)? {
            continue;
        }
        let rel = if prefix.is_empty() {
            name.to_string_lossy().into_owned()
        } else {
            format!("{prefix}/{}", name.to_string_lossy())
        };
        if glob.matches(&rel) {
            out.push(rel);
        } else if meta.is_dir() {
            walk_matches(from, &child, &rel, glob, out)?;
        }
    }
    Ok(())
}

/// BuildKit's `--parents` pivot: `a/./b/c` keeps `b/c`; without one, the whole path.
fn split_pivot(src: &str) -> (String, String) {
    if let Some(i) = src.find("/./") {
        (src[..i].to_string(), src[i + 3..].to_string())
    } else {
        (String::new(), src.to_string())
    }
}

fn join_rel(parts: &[OsString]) -> PathBuf {
    let mut p = PathBuf::new();
    for c in parts {
        p.push(c);
    }
    p
}

fn not_found(from: &SourceRoot, src: &str, lexical: &Path) -> CopyError {
    if from.is_context() {
        CopyError::NotFound(format!(
            "file not found in build context or excluded by .dockerignore: stat {}: file does not exist",
            src.trim_start_matches("./")
        ))
    } else {
        CopyError::NotFound(format!("\"{}\": not found", lexical.display()))
    }
}
