//! Path-safe file operations inside a root directory (an image's root filesystem, a build
//! context, an archive's extraction directory).
//!
//! Every path is read as if the root were `/`: the kernel resolves it with `openat2` and
//! `RESOLVE_IN_ROOT`, so neither an absolute symlink (`/etc`) nor a `../../..` one inside the
//! tree can make an operation reach the host around it. Operations that must not follow their
//! final component (lstat, create/replace, symlink, chown, chmod, utimes) act on it through a
//! file descriptor of its parent directory with the `*at` calls and `AT_SYMLINK_NOFOLLOW`.
//! Tree walks open each directory once ([`OpenDir`]) and work on its entries by name.

mod aligned;
mod dir;
mod meta;
mod path;
mod root;

pub use aligned::AlignedBuf;
pub use dir::{
    fd_get_xattr, fd_set_mode, fd_set_owner, fd_set_times, fd_set_xattr, fd_xattr_names, fd_xattrs,
    OpenDir,
};
pub use meta::{FileKind, Meta};
pub use path::{clean_components, join_components};
pub use root::Root;
