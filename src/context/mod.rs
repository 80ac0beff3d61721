//! The build context: which files a build may see, and what their contents are, quickly.
//!
//! A cache key for COPY/ADD needs the digest of the selected inputs; reading the whole
//! context on every build would make a no-op rebuild cost as much as the first. So a scan
//! keeps a metadata index per context: a file whose size, mtime, ctime, inode, device and
//! mode are those recorded is not read again, and a no-op rebuild costs one `lstat` per file.
//!
//! # Using it (for the layer cache)
//!
//! ```no_run
//! use kiln::context::{
//!     index_dir_for, load_ignore_rules, ContextIndex, DigestOptions, Selection,
//! };
//! use std::path::Path;
//! # fn main() -> Result<(), kiln::context::ContextError> {
//! let context = Path::new("/src/app");
//! // `<Dockerfile>.dockerignore` beside the Dockerfile, else `.dockerignore` in the context.
//! let ignore = load_ignore_rules(context, Some(Path::new("/src/app/Dockerfile")))?;
//! let index_dir = index_dir_for(Path::new("/var/lib/kiln/cache/context-index"), context);
//! let mut ctx = ContextIndex::open(context, index_dir, ignore.rules);
//! let stats = ctx.scan()?; // walk + digests; stats.bytes_hashed == 0 on a no-op rebuild
//! # let _ = stats;
//! // `COPY --chown=app src/ main.go /app/`: a tree and a file; owners ignored.
//! let key_part = ctx.digest_of(
//!     &[Selection::tree("src"), Selection::entry("main.go")],
//!     DigestOptions::default(),
//! )?;
//! # let _ = key_part;
//! # Ok(()) }
//! ```
//!
//! - [`ContextIndex::scan`] walks the context in parallel (excluded directories are skipped
//!   unread when no `!` pattern can re-include something below them; symlinks are never
//!   followed), hashes changed regular files in parallel with bounded memory, and saves the
//!   index atomically. Call it once per build, before computing keys; a scan reflects the
//!   context at that moment.
//! - [`ContextIndex::digest_of`] digests a list of [`Selection`]s (COPY sources after
//!   wildcard expansion, in instruction order; a directory taken with
//!   [`Selection::tree`] brings its whole subtree). It covers paths, types, permission bits,
//!   contents and link texts, owners only with [`DigestOptions::include_owner`], never times
//!   or inode numbers. Selections are taken literally: resolve a source that is a symlink
//!   before selecting it if the copy should follow it. A path that is absent or excluded is
//!   [`ContextError::NotFound`].
//! - [`ContextIndex::get`], [`ContextIndex::content_digest`], [`ContextIndex::entries`] and
//!   [`ContextIndex::entries_under`] give per-entry metadata (for wildcard expansion and
//!   for the copier), in path-byte order.
//! - The index is only a cache: damaged, missing, foreign or unwritable means re-hashing,
//!   never an error or a wrong digest. Files changed within [`RACY_WINDOW`] of the index
//!   write (or while being read) are not trusted on the next scan.

pub mod dockerignore;
mod error;
mod hash;
pub mod ignore_file;
pub mod index;
mod index_file;
pub mod rules;
pub mod selection;
pub mod walk;

pub use error::ContextError;
pub use ignore_file::{load_ignore_rules, parse_ignore_file, LoadedIgnore};
pub use index::{index_dir_for, ContextIndex, ScanStats, ScannedEntry, RACY_WINDOW};
pub use rules::IgnoreRules;
pub use selection::{DigestOptions, Selection};
pub use walk::{walk, Entry, EntryKind};
