//! The COPY/ADD engine: copies sources from a build context (filtered by `.dockerignore`) or
//! from another root filesystem (`--from`) into a destination root, with docker's (BuildKit's)
//! rules, and with every path resolved inside its root (see [`crate::fsops`]).
//!
//! The rules, as BuildKit's Dockerfile frontend and its copier apply them:
//! - a destination ending in `/` (or `.`) is a directory; more than one source needs one;
//!   a relative destination is relative to WORKDIR; missing directories are created with
//!   mode 0755 and the `--chown` owner;
//! - a source directory copies its contents; a file copied onto an existing directory goes
//!   inside it; a symlink named as a source (or matched by a wildcard) is followed inside the
//!   source root, symlinks inside a copied directory are copied as symlinks;
//! - a wildcard (Go's `filepath.Match`) that matches nothing copies nothing, a literal that
//!   names nothing is an error;
//! - owner 0:0 for context files, the source's owner for `--from`, `--chown` for both;
//!   modes (special bits included) and times kept; `--chmod` replaces the permission bits;
//! - ADD extracts local tar archives (detected by content) into the destination directory and
//!   downloads URLs (mode 0600, `Last-Modified` as mtime, `--checksum` verified).

mod archive;
mod copier;
mod glob;
mod list;
mod owner;
mod place;
mod remote;
mod source;

pub use list::list_sources;

/// An ADD URL downloaded (and verified) to compute its step's cache key, kept for the copy
/// so that a step that runs does not download it a second time.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Prefetched {
    pub url: String,
    /// The `--checksum` it was verified against.
    pub checksum: Option<String>,
    /// The downloaded content.
    pub path: PathBuf,
    pub name: String,
    pub mtime: Option<i64>,
    pub size: u64,
    pub digest: String,
}

impl Prefetched {
    /// What a cache key needs to know of the URL: the content's digest and
    /// `Last-Modified` (which becomes the file's mtime). BuildKit, too, downloads the URL
    /// to decide.
    pub fn fingerprint(&self) -> String {
        format!("{} mtime={:?}", self.digest, self.mtime)
    }

    fn open(&self) -> Result<remote::Fetched, CopyError> {
        let file = std::fs::File::open(&self.path).map_err(|e| {
            CopyError::Remote(format!(
                "reading the download of {} at {}: {e}",
                self.url,
                self.path.display()
            ))
        })?;
        Ok(remote::Fetched {
            file,
            name: self.name.clone(),
            mtime: self.mtime,
            size: self.size,
            digest: self.digest.clone(),
        })
    }
}

/// Downloads `url` into the new file `path`, verified against `checksum` (`--checksum`).
pub fn prefetch_url(
    url: &str,
    checksum: Option<&str>,
    path: &Path,
) -> Result<Prefetched, CopyError> {
    let parsed = checksum.map(remote::parse_checksum).transpose()?;
    let file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create_new(true)
        .open(path)
        .map_err(|e| {
            CopyError::Remote(format!("failed to download {url}: {}: {e}", path.display()))
        })?;
    let f = remote::fetch_into(url, parsed.as_deref(), file)?;
    Ok(Prefetched {
        url: url.to_string(),
        checksum: checksum.map(str::to_string),
        path: path.to_path_buf(),
        name: f.name,
        mtime: f.mtime,
        size: f.size,
        digest: f.digest,
    })
}

/// Whether an ADD source is a URL that is downloaded.
pub fn is_url(src: &str) -> bool {
    remote::is_http(src)
}
pub use owner::{parse_chmod, resolve_chown};
pub use source::SourceRoot;

use crate::context::dockerignore::Matcher;
use crate::fsops::{clean_components, join_components, FileKind, Root};
use copier::Copier;
use place::{place, place_parents, place_url};
use source::{select, Selected};
use std::io;
use std::path::{Path, PathBuf};

/// One COPY or ADD instruction, after variable expansion.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub struct CopyRequest {
    /// Sources as written (context-relative, or paths in the `--from` root, or URLs for ADD).
    pub sources: Vec<String>,
    /// The destination as written (a trailing `/` makes it a directory).
    pub dest: String,
    /// The WORKDIR a relative destination is resolved against (`/` when empty).
    pub workdir: String,
    pub chown: Option<String>,
    pub chmod: Option<String>,
    /// `--exclude` patterns (docker's pattern rules), applied below each source.
    pub excludes: Vec<String>,
    /// `--parents`: keep each source's path (below a `/./` pivot, if any) under the dest.
    pub parents: bool,
    /// ADD rather than COPY.
    pub is_add: bool,
    /// ADD `--checksum=sha256:…` for a URL source.
    pub checksum: Option<String>,
    /// ADD `--keep-git-dir` (only meaningful for git sources, which are not supported).
    pub keep_git_dir: bool,
    /// `--link`: changes only how the layer is made, not the files.
    pub link: bool,
    /// URLs already downloaded for the step's key (ADD only).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub prefetched: Vec<Prefetched>,
}

impl CopyRequest {
    fn instruction(&self) -> &'static str {
        if self.is_add {
            "ADD"
        } else {
            "COPY"
        }
    }
}

/// What a copy wrote.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Summary {
    /// Regular files (and device nodes, hard links) written.
    pub files: u64,
    /// Directories created.
    pub dirs: u64,
    pub symlinks: u64,
    /// Bytes of file content written.
    pub bytes: u64,
}

impl Summary {
    fn add(&mut self, o: &Summary) {
        self.files += o.files;
        self.dirs += o.dirs;
        self.symlinks += o.symlinks;
        self.bytes += o.bytes;
    }
}

#[derive(Debug, thiserror::Error)]
pub enum CopyError {
    /// A source that names nothing (docker's wording).
    #[error("{0}")]
    NotFound(String),
    /// A rule of COPY/ADD broken, with the source or flag it concerns.
    #[error("{0}")]
    Rule(String),
    #[error("{path}: {err}")]
    Io { path: String, err: io::Error },
    #[error("{0}")]
    Remote(String),
    #[error("checksum mismatch for {url}: expected {expected}, got {actual}")]
    Checksum {
        url: String,
        expected: String,
        actual: String,
    },
}

/// One source entry a COPY would read, for cache keys: in source order, then in walk order
/// (sorted bytewise by name at each level).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceEntry {
    /// Index of the source (in [`CopyRequest::sources`]) that selected it.
    pub source: usize,
    /// Canonical path in the source root, relative (`src/a.txt`; empty for the root).
    pub path: String,
    pub kind: FileKind,
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
    pub size: u64,
    pub link_target: Option<String>,
}

/// The destination path as BuildKit forms it, and whether it names a directory.
fn dest_path(req: &CopyRequest) -> (PathBuf, bool) {
    let d = req.dest.as_str();
    let dir_form = d.is_empty() || d == "." || d.ends_with('/') || d.ends_with("/.");
    let joined = if d.starts_with('/') {
        d.to_string()
    } else {
        let wd = if req.workdir.is_empty() {
            "/"
        } else {
            req.workdir.as_str()
        };
        format!("{wd}/{d}")
    };
    (
        join_components(&clean_components(Path::new(&joined))),
        dir_form,
    )
}

enum Item {
    Local(Selected),
    Url(String),
    /// A URL already downloaded and verified.
    Fetched(remote::Fetched),
}

fn check_flags(req: &CopyRequest) -> Result<(), CopyError> {
    let instr = req.instruction();
    if req.sources.is_empty() {
        return Err(CopyError::Rule(format!(
            "{instr} requires at least two arguments"
        )));
    }
    for s in &req.sources {
        if remote::is_git(s) {
            return Err(CopyError::Rule(format!(
                "{instr} {s}: git sources are not supported"
            )));
        }
        if remote::is_http(s) && !req.is_add {
            return Err(CopyError::Rule(format!(
                "COPY {s}: source can't be a URL for COPY"
            )));
        }
    }
    if req.keep_git_dir {
        return Err(CopyError::Rule(format!(
            "{instr}: --keep-git-dir is only valid with a git source"
        )));
    }
    if req.checksum.is_some() {
        if !req.is_add {
            return Err(CopyError::Rule(
                "COPY: --checksum is only valid for ADD".to_string(),
            ));
        }
        if let Some(s) = req.sources.iter().find(|s| !remote::is_http(s)) {
            return Err(CopyError::Rule(format!(
                "ADD {s}: checksum can't be specified for non-HTTP(S) sources"
            )));
        }
    }
    Ok(())
}

/// Selects every source (all of them before anything is written, so a missing one fails
/// the instruction without a partial copy).
fn select_all(req: &CopyRequest, from: &SourceRoot) -> Result<Vec<Vec<Item>>, CopyError> {
    let instr = req.instruction();
    let mut out = Vec::new();
    for s in &req.sources {
        if remote::is_http(s) {
            out.push(vec![Item::Url(s.clone())]);
            continue;
        }
        let items = select(from, s).map_err(|e| match e {
            CopyError::NotFound(m) => CopyError::NotFound(format!("{instr} failed: {m}")),
            e => e,
        })?;
        out.push(items.into_iter().map(Item::Local).collect());
    }
    Ok(out)
}

/// Runs a COPY/ADD: reads from `from`, writes into `dest`.
pub fn run(req: &CopyRequest, from: SourceRoot, dest: &Root) -> Result<Summary, CopyError> {
    check_flags(req)?;
    let instr = req.instruction();
    let chown = match &req.chown {
        Some(c) => Some(
            resolve_chown(dest, c).map_err(|e| CopyError::Rule(format!("{instr} --chown: {e}")))?,
        ),
        None => None,
    };
    let chmod = match &req.chmod {
        Some(c) => Some(parse_chmod(c).map_err(|e| CopyError::Rule(format!("{instr}: {e}")))?),
        None => None,
    };
    let checksum = match &req.checksum {
        Some(c) => Some(remote::parse_checksum(c)?),
        None => None,
    };
    let excludes = if req.excludes.is_empty() {
        None
    } else {
        Some(
            Matcher::new(&req.excludes)
                .map_err(|e| CopyError::Rule(format!("{instr} --exclude: {e}")))?,
        )
    };
    let (dst, dir_form) = dest_path(req);
    let selected = select_all(req, &from)?;
    let total: usize = selected.iter().map(Vec::len).sum();
    if (req.sources.len() > 1 || total > 1) && !dir_form {
        return Err(CopyError::Rule(format!(
            "When using {instr} with more than one source file, the destination must be a directory and end with a /"
        )));
    }
    // Downloads first, so that a failed or mismatching one leaves the destination untouched.
    let mut selected = selected;
    for items in &mut selected {
        for item in items.iter_mut() {
            if let Item::Url(u) = item {
                let done = req
                    .prefetched
                    .iter()
                    .find(|p| p.url == *u && p.checksum == req.checksum);
                *item = Item::Fetched(match done {
                    Some(p) => p.open()?,
                    None => remote::fetch(u, checksum.as_deref())?,
                });
            }
        }
    }
    let mut copier = Copier::new(from, dest, chown, chmod, excludes.as_ref());
    let mut summary = Summary::default();
    for items in selected {
        copier.reset_links();
        for item in items {
            match item {
                Item::Url(u) => {
                    let f = remote::fetch(&u, checksum.as_deref())?;
                    place_url(dest, f, &dst, dir_form, chown, chmod, &mut summary)?
                }
                Item::Fetched(f) => place_url(dest, f, &dst, dir_form, chown, chmod, &mut summary)?,
                Item::Local(sel) => {
                    if req.parents {
                        place_parents(&mut copier, &sel, &dst)?;
                    } else {
                        place(&mut copier, req, &sel, &dst, dir_form, &mut summary)?;
                    }
                }
            }
        }
    }
    summary.add(&copier.summary);
    Ok(summary)
}
