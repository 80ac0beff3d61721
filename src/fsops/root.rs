//! [`Root`]: a directory file descriptor through which every path is resolved in-root.

use super::dir::{fd_xattrs, OpenDir};
use super::meta::{FileKind, Meta};
use super::path::{clean_components, join_components};
use rustix::fs::{self as rfs, AtFlags, Dev, FileType, Mode, OFlags, ResolveFlags};
use rustix::io::Errno;
use std::ffi::{OsStr, OsString};
use std::fs::File;
use std::io::{self, Read, Write};
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

/// Symlinks followed in one resolution before giving up, as the kernel's limit.
const MAX_LINKS: usize = 40;

/// A directory that every operation treats as `/`.
#[derive(Debug)]
pub struct Root {
    fd: OwnedFd,
    host: PathBuf,
}

pub(super) fn errno(e: Errno) -> io::Error {
    io::Error::from(e)
}

fn with_path(e: io::Error, op: &str, p: &Path) -> io::Error {
    io::Error::new(e.kind(), format!("{op} {}: {e}", p.display()))
}

impl Root {
    /// Opens `dir` (a host path) as a root.
    pub fn open(dir: &Path) -> io::Result<Root> {
        let fd = rfs::open(
            dir,
            OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC,
            Mode::empty(),
        )
        .map_err(|e| with_path(errno(e), "open root", dir))?;
        Ok(Root {
            fd,
            host: dir.to_path_buf(),
        })
    }

    /// The directory at `p` inside this root (symlinks followed in-root), as a root of its own.
    pub fn open_dir(&self, p: &Path) -> io::Result<Root> {
        let fd = self.resolve_fd(p, OFlags::PATH | OFlags::DIRECTORY)?;
        let rel = join_components(&clean_components(p));
        let host = self.host.join(rel.strip_prefix("/").unwrap_or(&rel));
        Ok(Root { fd, host })
    }

    /// The host path the root was opened at (for messages; never used to reach files).
    pub fn host_path(&self) -> &Path {
        &self.host
    }

    /// Opens `p` with `flags`, resolving every component (final one included) in-root.
    fn resolve_fd(&self, p: &Path, flags: OFlags) -> io::Result<OwnedFd> {
        let rel = join_components(&clean_components(p));
        self.openat2(&rel, flags, Mode::empty())
            .map_err(|e| with_path(e, "open", p))
    }

    fn openat2(&self, rel: &Path, flags: OFlags, mode: Mode) -> io::Result<OwnedFd> {
        let rel: &Path = match rel.strip_prefix("/") {
            Ok(r) if r.as_os_str().is_empty() => Path::new("."),
            Ok(r) => r,
            Err(_) => rel,
        };
        let resolve = ResolveFlags::IN_ROOT | ResolveFlags::NO_MAGICLINKS;
        let mut tries = 0;
        loop {
            match rfs::openat2(&self.fd, rel, flags | OFlags::CLOEXEC, mode, resolve) {
                Err(Errno::AGAIN) if tries < 16 => tries += 1,
                r => return r.map_err(errno),
            }
        }
    }

    /// The parent directory of `p` (resolved in-root) and the final name, which is never
    /// followed by the callers.
    fn parent(&self, p: &Path) -> io::Result<(OwnedFd, OsString)> {
        let mut comps = clean_components(p);
        let Some(name) = comps.pop() else {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "the operation needs a path below the root",
            ));
        };
        let fd = self
            .openat2(
                &join_components(&comps),
                OFlags::PATH | OFlags::DIRECTORY,
                Mode::empty(),
            )
            .map_err(|e| with_path(e, "open parent of", p))?;
        Ok((fd, name))
    }

    /// Metadata of `p`, following a final symlink (in-root).
    pub fn stat(&self, p: &Path) -> io::Result<Meta> {
        let fd = self.resolve_fd(p, OFlags::PATH)?;
        let st = rfs::fstat(&fd).map_err(errno)?;
        Ok(Meta::from_stat(&st))
    }

    /// Metadata of `p` itself (a final symlink is not followed).
    pub fn lstat(&self, p: &Path) -> io::Result<Meta> {
        if clean_components(p).is_empty() {
            return self.stat(p);
        }
        let (dir, name) = self.parent(p)?;
        let st = rfs::statat(&dir, name.as_os_str(), AtFlags::SYMLINK_NOFOLLOW)
            .map_err(|e| with_path(errno(e), "lstat", p))?;
        Ok(Meta::from_stat(&st))
    }

    /// [`Root::lstat`], with `None` when `p` or one of its parents does not exist.
    pub fn try_lstat(&self, p: &Path) -> io::Result<Option<Meta>> {
        match self.lstat(p) {
            Ok(m) => Ok(Some(m)),
            Err(e) if is_missing(&e) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// [`Root::stat`], with `None` when `p` (or its symlink's target) does not exist.
    pub fn try_stat(&self, p: &Path) -> io::Result<Option<Meta>> {
        match self.stat(p) {
            Ok(m) => Ok(Some(m)),
            Err(e) if is_missing(&e) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// The canonical in-root path of `p` with every symlink followed (a final one too, and a
    /// dangling one to where its target would be); the part from the first missing component
    /// on is kept as written. Like containerd's `fs.RootPath`, which BuildKit's copy uses.
    pub fn resolve(&self, p: &Path) -> io::Result<PathBuf> {
        let mut todo: std::collections::VecDeque<OsString> = clean_components(p).into();
        let mut out: Vec<OsString> = Vec::new();
        let mut links = 0;
        let mut missing = false;
        while let Some(c) = todo.pop_front() {
            if c == ".." {
                out.pop();
                continue;
            }
            if c.is_empty() || c == "." {
                continue;
            }
            if missing {
                out.push(c);
                continue;
            }
            out.push(c);
            let here = join_components(&out);
            match self.try_lstat(&here)? {
                Some(m) if m.is_symlink() => {
                    links += 1;
                    if links > MAX_LINKS {
                        return Err(io::Error::new(
                            io::ErrorKind::InvalidInput,
                            format!("too many levels of symbolic links: {}", p.display()),
                        ));
                    }
                    let target = self.read_link(&here)?;
                    out.pop();
                    let tb = target.as_os_str().as_bytes();
                    if tb.starts_with(b"/") {
                        out.clear();
                    }
                    for seg in tb.split(|b| *b == b'/').rev() {
                        todo.push_front(OsStr::from_bytes(seg).to_os_string());
                    }
                }
                Some(_) => {}
                None => missing = true,
            }
        }
        Ok(join_components(&out))
    }

    /// Creates `p` and its missing parents with `mode` (exactly, not masked by the umask)
    /// and, when given, the owner; returns the directories it created, outermost first.
    pub fn mkdir_all(
        &self,
        p: &Path,
        mode: u32,
        owner: Option<(u32, u32)>,
    ) -> io::Result<Vec<PathBuf>> {
        let comps = clean_components(p);
        let mut created = Vec::new();
        for i in 1..=comps.len() {
            let here = join_components(&comps[..i]);
            match self.openat2(&here, OFlags::PATH | OFlags::DIRECTORY, Mode::empty()) {
                Ok(_) => continue,
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => return Err(with_path(e, "mkdir", &here)),
            }
            let (dir, name) = self.parent(&here)?;
            match rfs::mkdirat(&dir, name.as_os_str(), Mode::from_raw_mode(0o700)) {
                Ok(()) => {}
                Err(Errno::EXIST) => {
                    if self.stat(&here).map(|m| m.is_dir()).unwrap_or(false) {
                        continue;
                    }
                    return Err(with_path(
                        io::Error::from_raw_os_error(libc::ENOTDIR),
                        "mkdir",
                        &here,
                    ));
                }
                Err(e) => return Err(with_path(errno(e), "mkdir", &here)),
            }
            if let Some((uid, gid)) = owner {
                self.set_owner(&here, uid, gid)?;
            }
            self.set_mode(&here, mode)?;
            created.push(here);
        }
        Ok(created)
    }

    /// Creates one directory (its parent must exist); `mode` is applied exactly.
    pub fn mkdir(&self, p: &Path, mode: u32) -> io::Result<()> {
        let (dir, name) = self.parent(p)?;
        rfs::mkdirat(&dir, name.as_os_str(), Mode::from_raw_mode(0o700))
            .map_err(|e| with_path(errno(e), "mkdir", p))?;
        self.set_mode(p, mode)
    }

    /// Removes whatever non-directory is at `p` so that it can be replaced; a directory
    /// there is an error (BuildKit: "cannot replace to directory … with file").
    fn clear_for_replace(&self, dir: &OwnedFd, name: &OsStr, p: &Path) -> io::Result<()> {
        match rfs::statat(dir, name, AtFlags::SYMLINK_NOFOLLOW) {
            Ok(st) => {
                if FileType::from_raw_mode(st.st_mode) == FileType::Directory {
                    return Err(io::Error::new(
                        io::ErrorKind::IsADirectory,
                        format!("cannot replace directory {} with a file", p.display()),
                    ));
                }
                rfs::unlinkat(dir, name, AtFlags::empty())
                    .map_err(|e| with_path(errno(e), "remove", p))
            }
            Err(Errno::NOENT) => Ok(()),
            Err(e) => Err(with_path(errno(e), "lstat", p)),
        }
    }

    /// Creates (or replaces) a regular file at `p` for writing. A final symlink is replaced,
    /// never followed.
    pub fn create_file(&self, p: &Path, mode: u32) -> io::Result<File> {
        let (dir, name) = self.parent(p)?;
        self.clear_for_replace(&dir, &name, p)?;
        let fd = rfs::openat(
            &dir,
            name.as_os_str(),
            OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW | OFlags::CLOEXEC,
            Mode::from_raw_mode(0o600),
        )
        .map_err(|e| with_path(errno(e), "create", p))?;
        rfs::fchmod(&fd, Mode::from_raw_mode(mode & 0o7777)).map_err(errno)?;
        Ok(File::from(fd))
    }

    /// Streams `content` into a new file at `p`; returns the bytes written.
    pub fn write_file(&self, p: &Path, mode: u32, content: &mut dyn Read) -> io::Result<u64> {
        let mut f = self.create_file(p, mode)?;
        let n = io::copy(content, &mut f)?;
        f.flush()?;
        Ok(n)
    }

    /// Creates (or replaces a non-directory with) a symlink at `p` pointing to `target`.
    pub fn symlink(&self, target: &Path, p: &Path) -> io::Result<()> {
        let (dir, name) = self.parent(p)?;
        self.clear_for_replace(&dir, &name, p)?;
        rfs::symlinkat(target, &dir, name.as_os_str())
            .map_err(|e| with_path(errno(e), "symlink", p))
    }

    /// Makes `p` a hard link to `existing` (neither followed if a symlink).
    pub fn hardlink(&self, existing: &Path, p: &Path) -> io::Result<()> {
        let (odir, oname) = self.parent(existing)?;
        let (dir, name) = self.parent(p)?;
        self.clear_for_replace(&dir, &name, p)?;
        rfs::linkat(
            &odir,
            oname.as_os_str(),
            &dir,
            name.as_os_str(),
            AtFlags::empty(),
        )
        .map_err(|e| with_path(errno(e), "link", p))
    }

    /// Creates a device node, FIFO or socket node at `p` (replacing a non-directory).
    pub fn mknod(&self, p: &Path, kind: FileKind, mode: u32, rdev: u64) -> io::Result<()> {
        let ft = match kind {
            FileKind::CharDevice => FileType::CharacterDevice,
            FileKind::BlockDevice => FileType::BlockDevice,
            FileKind::Fifo => FileType::Fifo,
            FileKind::Socket => FileType::Socket,
            _ => {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    "mknod needs a device, fifo or socket",
                ))
            }
        };
        let (dir, name) = self.parent(p)?;
        self.clear_for_replace(&dir, &name, p)?;
        rfs::mknodat(
            &dir,
            name.as_os_str(),
            ft,
            Mode::from_raw_mode(mode & 0o777),
            rdev as Dev,
        )
        .map_err(|e| with_path(errno(e), "mknod", p))
    }

    /// Removes a non-directory or an empty directory at `p` (a symlink itself, not its target).
    pub fn remove(&self, p: &Path) -> io::Result<()> {
        let (dir, name) = self.parent(p)?;
        let st = rfs::statat(&dir, name.as_os_str(), AtFlags::SYMLINK_NOFOLLOW)
            .map_err(|e| with_path(errno(e), "lstat", p))?;
        let flags = if FileType::from_raw_mode(st.st_mode) == FileType::Directory {
            AtFlags::REMOVEDIR
        } else {
            AtFlags::empty()
        };
        rfs::unlinkat(&dir, name.as_os_str(), flags).map_err(|e| with_path(errno(e), "remove", p))
    }

    /// Removes `p` and, for a directory, everything below it. Missing is not an error.
    pub fn remove_all(&self, p: &Path) -> io::Result<()> {
        let Some(m) = self.try_lstat(p)? else {
            return Ok(());
        };
        if m.is_dir() {
            for name in self.read_dir(p)? {
                self.remove_all(&p.join(&name))?;
            }
        }
        self.remove(p)
    }

    /// Sets the owner of `p` itself (`lchown`).
    pub fn set_owner(&self, p: &Path, uid: u32, gid: u32) -> io::Result<()> {
        let (dir, name) = self.parent_or_root(p)?;
        rfs::chownat(
            &dir,
            name.as_os_str(),
            Some(rfs::Uid::from_raw(uid)),
            Some(rfs::Gid::from_raw(gid)),
            AtFlags::SYMLINK_NOFOLLOW | empty_path_flag(&name),
        )
        .map_err(|e| with_path(errno(e), "chown", p))
    }

    /// Sets the permission bits (with setuid/setgid/sticky) of `p`; a symlink's own mode
    /// cannot be changed on Linux, so a symlink is left as it is.
    pub fn set_mode(&self, p: &Path, mode: u32) -> io::Result<()> {
        let (dir, name) = self.parent_or_root(p)?;
        if name.is_empty() {
            return rfs::fchmod(&self.reopen_root()?, Mode::from_raw_mode(mode & 0o7777))
                .map_err(|e| with_path(errno(e), "chmod", p));
        }
        let cname = std::ffi::CString::new(name.as_bytes())
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "NUL in a file name"))?;
        // fchmodat2 (Linux 6.6) takes AT_SYMLINK_NOFOLLOW; the plain fchmodat would follow a
        // final symlink, so without it the type is checked first.
        // SAFETY: valid fd and NUL-terminated name for the call's duration.
        let r = unsafe {
            libc::syscall(
                libc::SYS_fchmodat2,
                dir.as_raw_fd(),
                cname.as_ptr(),
                (mode & 0o7777) as libc::c_uint,
                libc::AT_SYMLINK_NOFOLLOW,
            )
        };
        if r == 0 {
            return Ok(());
        }
        let err = io::Error::last_os_error();
        match err.raw_os_error() {
            Some(libc::EOPNOTSUPP) => Ok(()), // a symlink
            Some(libc::ENOSYS) | Some(libc::EINVAL) => {
                let st = rfs::statat(&dir, name.as_os_str(), AtFlags::SYMLINK_NOFOLLOW)
                    .map_err(|e| with_path(errno(e), "lstat", p))?;
                if FileType::from_raw_mode(st.st_mode) == FileType::Symlink {
                    return Ok(());
                }
                rfs::chmodat(
                    &dir,
                    name.as_os_str(),
                    Mode::from_raw_mode(mode & 0o7777),
                    AtFlags::empty(),
                )
                .map_err(|e| with_path(errno(e), "chmod", p))
            }
            _ => Err(with_path(err, "chmod", p)),
        }
    }

    /// Sets access and modification times of `p` itself (not a symlink's target).
    pub fn set_times(&self, p: &Path, atime: (i64, i64), mtime: (i64, i64)) -> io::Result<()> {
        let (dir, name) = self.parent_or_root(p)?;
        let times = super::dir::timestamps(atime, mtime);
        if name.is_empty() {
            // utimensat takes no AT_EMPTY_PATH: the root itself goes through a readable fd.
            return rfs::futimens(&self.reopen_root()?, &times)
                .map_err(|e| with_path(errno(e), "utimes", p));
        }
        rfs::utimensat(&dir, name.as_os_str(), &times, AtFlags::SYMLINK_NOFOLLOW)
            .map_err(|e| with_path(errno(e), "utimes", p))
    }

    /// A readable descriptor of the file or directory `p` itself, or `None` for any other
    /// type (a symlink is not followed; devices and FIFOs are not opened).
    fn open_plain(&self, p: &Path) -> io::Result<Option<OwnedFd>> {
        let (dir, name) = self.parent_or_root(p)?;
        if name.is_empty() {
            return Ok(Some(self.reopen_root()?));
        }
        let st = rfs::statat(&dir, name.as_os_str(), AtFlags::SYMLINK_NOFOLLOW)
            .map_err(|e| with_path(errno(e), "lstat", p))?;
        let ft = FileType::from_raw_mode(st.st_mode);
        if ft != FileType::RegularFile && ft != FileType::Directory {
            return Ok(None);
        }
        let fd = rfs::openat(
            &dir,
            name.as_os_str(),
            OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::NONBLOCK | OFlags::NOCTTY | OFlags::CLOEXEC,
            Mode::empty(),
        )
        .map_err(|e| with_path(errno(e), "open", p))?;
        Ok(Some(fd))
    }

    /// The extended attributes of the file or directory `p` (none for other types).
    pub fn xattrs(&self, p: &Path) -> io::Result<Vec<(OsString, Vec<u8>)>> {
        let Some(fd) = self.open_plain(p)? else {
            return Ok(Vec::new());
        };
        fd_xattrs(fd.as_fd()).map_err(|e| with_path(e, "read xattrs of", p))
    }

    /// Sets an extended attribute on the file or directory `p` (other types are skipped).
    pub fn set_xattr(&self, p: &Path, name: &OsStr, value: &[u8]) -> io::Result<()> {
        let Some(fd) = self.open_plain(p)? else {
            return Ok(());
        };
        rfs::fsetxattr(&fd, name, value, rfs::XattrFlags::empty())
            .map_err(|e| with_path(errno(e), "setxattr", p))
    }

    /// The target of the symlink at `p`.
    pub fn read_link(&self, p: &Path) -> io::Result<PathBuf> {
        let (dir, name) = self.parent(p)?;
        let t = rfs::readlinkat(&dir, name.as_os_str(), Vec::new())
            .map_err(|e| with_path(errno(e), "readlink", p))?;
        Ok(PathBuf::from(OsStr::from_bytes(t.as_bytes())))
    }

    /// Opens `p` for reading, following symlinks in-root.
    pub fn open_read(&self, p: &Path) -> io::Result<File> {
        Ok(File::from(self.resolve_fd(p, OFlags::RDONLY)?))
    }

    /// The directory `p` (symlinks followed in-root), opened for work on its entries.
    pub fn dir(&self, p: &Path) -> io::Result<OpenDir> {
        let fd = self.resolve_fd(p, OFlags::RDONLY | OFlags::DIRECTORY)?;
        Ok(OpenDir::from_fd(fd, join_components(&clean_components(p))))
    }

    /// The names in directory `p` (symlinks followed in-root), sorted bytewise.
    pub fn read_dir(&self, p: &Path) -> io::Result<Vec<OsString>> {
        self.dir(p)?.names()
    }

    /// A readable handle on the root directory itself.
    fn reopen_root(&self) -> io::Result<OwnedFd> {
        rfs::openat(
            &self.fd,
            ".",
            OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
            Mode::empty(),
        )
        .map_err(errno)
    }

    /// Like [`Root::parent`], but the root itself is (root fd, "") for the calls that take
    /// `AT_EMPTY_PATH`.
    fn parent_or_root(&self, p: &Path) -> io::Result<(OwnedFd, OsString)> {
        if clean_components(p).is_empty() {
            let fd = self.fd.as_fd().try_clone_to_owned()?;
            return Ok((fd, OsString::new()));
        }
        self.parent(p)
    }
}

fn empty_path_flag(name: &OsStr) -> AtFlags {
    if name.is_empty() {
        AtFlags::EMPTY_PATH
    } else {
        AtFlags::empty()
    }
}

/// Whether an error means "no such file" (a missing component, or a file used as a dir).
pub(crate) fn is_missing(e: &io::Error) -> bool {
    matches!(e.raw_os_error(), Some(libc::ENOENT) | Some(libc::ENOTDIR))
        || matches!(
            e.kind(),
            io::ErrorKind::NotFound | io::ErrorKind::NotADirectory
        )
}
