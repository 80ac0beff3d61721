//! The cache inputs of a step that reads the build context: the listing of the files a
//! COPY/ADD (or a RUN bind mount) would read, one line per entry — path, type, permission
//! bits, and the content digest or link text — built from the scanned context (whose
//! metadata index means unchanged files are not read again). Owners are left out: context
//! files are copied as 0:0, or as `--chown` says, which is part of the instruction.

use super::copy::{list_sources, CopyRequest, SourceRoot};
use crate::cache::KeyHasher;
use crate::context::{
    index_dir_for, load_ignore_rules, ContextIndex, EntryKind, LoadedIgnore, ScannedEntry,
};
use crate::dockerfile::instructions::{Command, Instruction};
use crate::fsops::{FileKind, Root};
use crate::image::digest::Digest;
use std::borrow::Cow;
use std::fmt::Write as _;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

/// The instruction in the canonical form that goes into a key: the typed instruction after
/// expansion, without its line number or spelling (`run` and `RUN`, continuation lines and
/// comments do not matter; an ONBUILD trigger counts by its text). An ARG counts as
/// written: a new value misses at the steps that use it, as docker has it, not at the ARG.
pub fn instruction_text(inst: &Instruction) -> String {
    match &inst.command {
        Command::Onbuild(o) => format!("Onbuild({:?})", o.expression),
        Command::Arg(_) => format!("Arg({:?})", inst.original),
        other => format!("{other:?}"),
    }
}

/// A scanned build context, ready to list the inputs of steps.
pub struct ContextInputs {
    index: ContextIndex,
    root: Root,
    ignore: LoadedIgnore,
    /// Entries the last scan read (for the build's debug log).
    pub files_hashed: usize,
}

impl ContextInputs {
    /// Scans `context` (reading only files whose metadata changed since the index in
    /// `index_root` was written).
    pub fn scan(index_root: &Path, context: &Path, dockerfile: &Path) -> anyhow::Result<Self> {
        let ignore = load_ignore_rules(context, Some(dockerfile))?;
        let mut index = ContextIndex::open(
            context,
            index_dir_for(index_root, context),
            ignore.rules.clone(),
        );
        let stats = index.scan()?;
        let root = Root::open(context)
            .map_err(|e| anyhow::anyhow!("opening the context {}: {e}", context.display()))?;
        Ok(ContextInputs {
            index,
            root,
            ignore,
            files_hashed: stats.files_hashed,
        })
    }

    /// The listing of what `req` reads from the context. Errors are those the copy would
    /// give (a missing source, a bad pattern).
    pub fn listing(&self, req: &CopyRequest) -> anyhow::Result<Listing<'_>> {
        let mut lines = Vec::new();
        for src in &req.sources {
            if super::copy::is_url(src) {
                continue;
            }
            if !self.fast_listing(src, req, &mut lines)? {
                return self.slow_listing(req);
            }
        }
        Ok(Listing { lines })
    }

    /// The listing of one literal source straight from the index. `false` when the source
    /// needs the copier's own rules (wildcards, symlinks, excludes, `--parents`).
    fn fast_listing<'a>(
        &'a self,
        src: &str,
        req: &CopyRequest,
        out: &mut Vec<Line<'a>>,
    ) -> anyhow::Result<bool> {
        if !req.excludes.is_empty() || req.parents || src.contains(['*', '?', '[', '\\']) {
            return Ok(false);
        }
        let rel = normalize(src);
        let below: &[ScannedEntry] = if rel.as_os_str().is_empty() {
            self.index.entries()?
        } else {
            let Some(e) = self.index.get(&rel)? else {
                return Ok(false);
            };
            if e.entry.kind == EntryKind::Symlink {
                return Ok(false);
            }
            out.push(line_of_scanned(e));
            if e.entry.kind != EntryKind::Dir {
                return Ok(true);
            }
            self.index.entries_under(&rel)?
        };
        out.extend(below.iter().map(line_of_scanned));
        Ok(true)
    }

    fn slow_listing(&self, req: &CopyRequest) -> anyhow::Result<Listing<'_>> {
        let from = SourceRoot::Context {
            root: &self.root,
            ignore: Some(self.ignore.rules.matcher()),
        };
        let mut lines = Vec::new();
        for e in list_sources(req, from)? {
            let content = match e.kind {
                FileKind::File => match self.index.content_digest(&e.path)? {
                    Some(d) => Content::Digest(Cow::Borrowed(d)),
                    None => Content::Digest(Cow::Owned(self.hash_file(&e.path)?)),
                },
                FileKind::Symlink => {
                    Content::Link(Cow::Owned(e.link_target.unwrap_or_default().into_bytes()))
                }
                _ => Content::None,
            };
            lines.push(Line {
                path: Cow::Owned(e.path.into_bytes()),
                kind: kind_name_fs(e.kind),
                mode: e.mode & 0o7777,
                content,
            });
        }
        Ok(Listing { lines })
    }

    fn hash_file(&self, rel: &str) -> anyhow::Result<Digest> {
        let f = self.root.open_read(Path::new(rel))?;
        Ok(Digest::of_reader(f)?.0)
    }
}

fn normalize(src: &str) -> PathBuf {
    let mut out = PathBuf::new();
    for c in Path::new(src).components() {
        match c {
            std::path::Component::Normal(n) => out.push(n),
            std::path::Component::ParentDir => {
                out.pop();
            }
            _ => {}
        }
    }
    out
}

fn line_of_scanned(e: &ScannedEntry) -> Line<'_> {
    let entry = &e.entry;
    let content = match entry.kind {
        EntryKind::File => match &e.digest {
            Some(d) => Content::Digest(Cow::Borrowed(d)),
            None => Content::None,
        },
        EntryKind::Symlink => Content::Link(Cow::Borrowed(
            entry
                .link_target
                .as_deref()
                .map(|p| p.as_os_str().as_bytes())
                .unwrap_or_default(),
        )),
        EntryKind::CharDevice | EntryKind::BlockDevice => Content::Dev(entry.rdev),
        _ => Content::None,
    };
    Line {
        path: Cow::Borrowed(entry.path_bytes()),
        kind: kind_name(entry.kind),
        mode: entry.mode & 0o7777,
        content,
    }
}

/// What a step reads from the context, one line per entry.
pub struct Listing<'a> {
    lines: Vec<Line<'a>>,
}

struct Line<'a> {
    path: Cow<'a, [u8]>,
    kind: &'static str,
    mode: u32,
    content: Content<'a>,
}

enum Content<'a> {
    None,
    Digest(Cow<'a, Digest>),
    Link(Cow<'a, [u8]>),
    Dev(u64),
}

impl Listing<'_> {
    /// The digest that goes into the key: of the fields themselves, framed, so that a
    /// no-op rebuild never formats the listing as text.
    pub fn digest(&self) -> Digest {
        let mut h = KeyHasher::new("kiln-listing-v1");
        for l in &self.lines {
            h.field("path", &l.path);
            h.field("kind", l.kind.as_bytes());
            h.field("mode", &l.mode.to_le_bytes());
            match &l.content {
                Content::None => h.field("none", b""),
                Content::Digest(d) => h.field("digest", d.hex().as_bytes()),
                Content::Link(t) => h.field("link", t),
                Content::Dev(d) => h.field("dev", &d.to_le_bytes()),
            }
        }
        h.finish()
    }

    /// `path\tkind\tmode\tcontent` lines, kept for explanations.
    pub fn text(&self) -> Vec<u8> {
        let mut out = String::new();
        for l in &self.lines {
            let content = match &l.content {
                Content::None => String::new(),
                Content::Digest(d) => d.to_string(),
                Content::Link(t) => format!("-> {}", String::from_utf8_lossy(t)),
                Content::Dev(d) => format!("dev {d}"),
            };
            let _ = writeln!(
                out,
                "{}\t{}\t{:04o}\t{content}",
                String::from_utf8_lossy(&l.path),
                l.kind,
                l.mode
            );
        }
        out.into_bytes()
    }
}

fn kind_name(k: EntryKind) -> &'static str {
    match k {
        EntryKind::File => "file",
        EntryKind::Dir => "dir",
        EntryKind::Symlink => "symlink",
        EntryKind::Fifo => "fifo",
        EntryKind::Socket => "socket",
        EntryKind::CharDevice => "chardev",
        EntryKind::BlockDevice => "blockdev",
    }
}

fn kind_name_fs(k: FileKind) -> &'static str {
    match k {
        FileKind::File => "file",
        FileKind::Dir => "dir",
        FileKind::Symlink => "symlink",
        FileKind::Fifo => "fifo",
        FileKind::Socket => "socket",
        FileKind::CharDevice => "chardev",
        FileKind::BlockDevice => "blockdev",
    }
}
