//! [`OpenDir`]: a directory reached once through in-root resolution and then worked on by
//! entry name. A tree walk that keeps the directory open does one lookup per entry instead of
//! resolving the whole path from the root for every operation, which is what makes copying
//! and archiving tens of thousands of files cheap.
//!
//! Safety is the same as [`Root`](super::Root)'s: an entry name is one path component (never
//! empty, `.`, `..` or containing `/`), and no operation follows a final symlink, so nothing
//! done through an `OpenDir` can leave the directory it was opened on.

use super::meta::Meta;
use super::root::errno;
use rustix::fs::{self as rfs, AtFlags, FileType, Mode, OFlags, Timespec, Timestamps};
use rustix::io::Errno;
use std::ffi::{OsStr, OsString};
use std::fs::File;
use std::io;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

/// An open directory plus its in-root path (for messages only; never used to reach files).
#[derive(Debug)]
pub struct OpenDir {
    fd: OwnedFd,
    path: PathBuf,
}

fn at(e: Errno, op: &str, dir: &Path, name: &OsStr) -> io::Error {
    let e = errno(e);
    io::Error::new(e.kind(), format!("{op} {}: {e}", dir.join(name).display()))
}

/// Refuses anything but a single, real path component.
fn check_name(name: &OsStr) -> io::Result<()> {
    let b = name.as_bytes();
    if b.is_empty() || b == b"." || b == b".." || b.contains(&b'/') {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("{name:?} is not a directory entry name"),
        ));
    }
    Ok(())
}

impl OpenDir {
    /// Wraps `fd`, a readable directory descriptor obtained by in-root resolution of `path`.
    pub(super) fn from_fd(fd: OwnedFd, path: PathBuf) -> OpenDir {
        OpenDir { fd, path }
    }

    /// The in-root path the directory was opened at.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The entry names, sorted bytewise (`.` and `..` left out).
    pub fn names(&self) -> io::Result<Vec<OsString>> {
        let dir =
            rfs::Dir::read_from(&self.fd).map_err(|e| at(e, "read", &self.path, "".as_ref()))?;
        let mut names = Vec::new();
        for entry in dir {
            let entry = entry.map_err(|e| at(e, "read", &self.path, "".as_ref()))?;
            let n = entry.file_name().to_bytes();
            if n == b"." || n == b".." {
                continue;
            }
            names.push(OsStr::from_bytes(n).to_os_string());
        }
        names.sort_by(|a, b| a.as_bytes().cmp(b.as_bytes()));
        Ok(names)
    }

    /// Metadata of entry `name` itself (`None` if it does not exist).
    pub fn try_lstat(&self, name: &OsStr) -> io::Result<Option<Meta>> {
        check_name(name)?;
        match rfs::statat(&self.fd, name, AtFlags::SYMLINK_NOFOLLOW) {
            Ok(st) => Ok(Some(Meta::from_stat(&st))),
            Err(Errno::NOENT) => Ok(None),
            Err(e) => Err(at(e, "lstat", &self.path, name)),
        }
    }

    /// The subdirectory `name` (a symlink there is an error, not followed).
    pub fn open_dir(&self, name: &OsStr) -> io::Result<OpenDir> {
        check_name(name)?;
        let fd = rfs::openat(
            &self.fd,
            name,
            OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
            Mode::empty(),
        )
        .map_err(|e| at(e, "open", &self.path, name))?;
        Ok(OpenDir {
            fd,
            path: self.path.join(name),
        })
    }

    /// Opens the regular file `name` for reading; anything else there (a symlink, a FIFO, a
    /// device swapped in since it was listed) is an error rather than something to follow or
    /// block on. `O_NONBLOCK` stays set: it has no effect on a regular file.
    pub fn open_file(&self, name: &OsStr) -> io::Result<File> {
        check_name(name)?;
        let fd = rfs::openat(
            &self.fd,
            name,
            OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::NONBLOCK | OFlags::NOCTTY | OFlags::CLOEXEC,
            Mode::empty(),
        )
        .map_err(|e| at(e, "open", &self.path, name))?;
        let st = rfs::fstat(&fd).map_err(|e| at(e, "stat", &self.path, name))?;
        if FileType::from_raw_mode(st.st_mode) != FileType::RegularFile {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("{} is not a regular file", self.path.join(name).display()),
            ));
        }
        Ok(File::from(fd))
    }

    /// Creates directory `name` with mode 0700 (the caller sets the real mode).
    pub fn mkdir(&self, name: &OsStr) -> io::Result<()> {
        check_name(name)?;
        rfs::mkdirat(&self.fd, name, Mode::from_raw_mode(0o700))
            .map_err(|e| at(e, "mkdir", &self.path, name))
    }

    /// Creates the regular file `name` (mode 0600, the caller sets the real mode) for
    /// writing, replacing a non-directory there (a symlink is replaced, never followed); a
    /// directory there is an error. The exclusive create comes first: in a new tree nothing
    /// is in the way, and one lookup is saved per file.
    pub fn create_file(&self, name: &OsStr) -> io::Result<File> {
        check_name(name)?;
        let create = || {
            rfs::openat(
                &self.fd,
                name,
                OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW | OFlags::CLOEXEC,
                Mode::from_raw_mode(0o600),
            )
        };
        match create() {
            Ok(fd) => return Ok(File::from(fd)),
            Err(Errno::EXIST) => {}
            Err(e) => return Err(at(e, "create", &self.path, name)),
        }
        let st = rfs::statat(&self.fd, name, AtFlags::SYMLINK_NOFOLLOW)
            .map_err(|e| at(e, "lstat", &self.path, name))?;
        if FileType::from_raw_mode(st.st_mode) == FileType::Directory {
            return Err(io::Error::new(
                io::ErrorKind::IsADirectory,
                format!(
                    "cannot replace directory {} with a file",
                    self.path.join(name).display()
                ),
            ));
        }
        rfs::unlinkat(&self.fd, name, AtFlags::empty())
            .map_err(|e| at(e, "remove", &self.path, name))?;
        let fd = create().map_err(|e| at(e, "create", &self.path, name))?;
        Ok(File::from(fd))
    }

    /// The descriptor, for the `fd_*` metadata calls on the directory itself.
    pub fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

/// Sets the owner of an open file or directory.
pub fn fd_set_owner(fd: BorrowedFd<'_>, uid: u32, gid: u32) -> io::Result<()> {
    rfs::fchown(
        fd,
        Some(rfs::Uid::from_raw(uid)),
        Some(rfs::Gid::from_raw(gid)),
    )
    .map_err(errno)
}

/// Sets the permission bits (with setuid/setgid/sticky) of an open file or directory.
pub fn fd_set_mode(fd: BorrowedFd<'_>, mode: u32) -> io::Result<()> {
    rfs::fchmod(fd, Mode::from_raw_mode(mode & 0o7777)).map_err(errno)
}

/// Sets access and modification times of an open file or directory.
pub fn fd_set_times(fd: BorrowedFd<'_>, atime: (i64, i64), mtime: (i64, i64)) -> io::Result<()> {
    rfs::futimens(fd, &timestamps(atime, mtime)).map_err(errno)
}

/// Access and modification times, each as (seconds, nanoseconds), as the `*utimens` calls
/// take them.
pub(crate) fn timestamps(atime: (i64, i64), mtime: (i64, i64)) -> Timestamps {
    let ts = |t: (i64, i64)| Timespec {
        tv_sec: t.0,
        tv_nsec: t.1 as _,
    };
    Timestamps {
        last_access: ts(atime),
        last_modification: ts(mtime),
    }
}

/// The extended attributes of an open file or directory (none where unsupported).
pub fn fd_xattrs(fd: BorrowedFd<'_>) -> io::Result<Vec<(OsString, Vec<u8>)>> {
    let mut out = Vec::new();
    for name in fd_xattr_names(fd)? {
        if let Some(value) = fd_get_xattr(fd, &name)? {
            out.push((name, value));
        }
    }
    Ok(out)
}

/// The names of the extended attributes of an open file or directory.
pub fn fd_xattr_names(fd: BorrowedFd<'_>) -> io::Result<Vec<OsString>> {
    let mut names = vec![0u8; 256];
    let n = loop {
        match rfs::flistxattr(fd, &mut names[..]) {
            Ok(n) => break n,
            Err(Errno::RANGE) => {
                let len = rfs::flistxattr_query(fd).map_err(errno)?;
                names.resize(len.max(names.len() * 2), 0);
            }
            Err(Errno::NOTSUP) => return Ok(Vec::new()),
            Err(e) => return Err(errno(e)),
        }
    };
    names.truncate(n);
    Ok(names
        .split(|b| *b == 0)
        .filter(|n| !n.is_empty())
        .map(|n| OsStr::from_bytes(n).to_os_string())
        .collect())
}

/// One extended attribute of an open file or directory (`None` if it is not set).
pub fn fd_get_xattr(fd: BorrowedFd<'_>, name: &OsStr) -> io::Result<Option<Vec<u8>>> {
    let mut value = vec![0u8; 256];
    loop {
        match rfs::fgetxattr(fd, name, &mut value[..]) {
            Ok(n) => {
                value.truncate(n);
                return Ok(Some(value));
            }
            Err(Errno::RANGE) => {
                let len = rfs::fgetxattr_query(fd, name).map_err(errno)?;
                value.resize(len.max(value.len() * 2), 0);
            }
            Err(Errno::NODATA) | Err(Errno::NOTSUP) => return Ok(None),
            Err(e) => return Err(errno(e)),
        }
    }
}

/// Sets one extended attribute of an open file or directory.
pub fn fd_set_xattr(fd: BorrowedFd<'_>, name: &OsStr, value: &[u8]) -> io::Result<()> {
    rfs::fsetxattr(fd, name, value, rfs::XattrFlags::empty()).map_err(errno)
}
