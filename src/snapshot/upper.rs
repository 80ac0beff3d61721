//! An overlay upper dir turned into an OCI layer: overlay's whiteouts (char device 0/0) become
//! `.wh.<name>` entries, opaque directories (`trusted.overlay.opaque=y`) get a `.wh..wh..opq`
//! entry, hard links within the layer become link entries, and overlay's own xattrs stay out.
//! Entries come depth-first in byte order of names, so the same tree gives the same bytes.

use super::tar_writer::{Entry, Kind, TarWriter};
use crate::fsops::{fd_get_xattr, fd_xattr_names};
use rustix::fs::{self as rfs, AtFlags, FileType, Mode, OFlags, Stat};
use std::collections::HashMap;
use std::ffi::{CString, OsStr, OsString};
use std::io::{self, Write};
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

#[derive(Debug, Clone, Default)]
pub struct LayerOptions {
    /// Clamp every mtime to this (seconds since the epoch), as SOURCE_DATE_EPOCH asks.
    pub source_date_epoch: Option<i64>,
}

const OPAQUE_XATTR: &str = "trusted.overlay.opaque";

/// Writes the layer tar of `upper` to `out` and returns `out`.
pub fn write_layer<W: Write>(upper: &Path, out: W, opts: &LayerOptions) -> io::Result<W> {
    let mut w = Walker {
        tar: TarWriter::new(out),
        links: HashMap::new(),
        opts,
        entries: 0,
    };
    let fd = rfs::open(
        upper,
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .map_err(|e| ctx(e, "open", upper))?;
    let started = std::time::Instant::now();
    w.dir(&fd, upper, b"")?;
    let out = w.tar.finish()?;
    tracing::debug!(
        "layer tar of {}: {} entries in {:.2?}",
        upper.display(),
        w.entries,
        started.elapsed()
    );
    Ok(out)
}

fn ctx(e: rustix::io::Errno, op: &str, p: &Path) -> io::Error {
    let e = io::Error::from(e);
    io::Error::new(e.kind(), format!("{op} {}: {e}", p.display()))
}

/// The names in the open directory `fd`, sorted bytewise.
fn sorted_names(fd: &OwnedFd, path: &Path) -> io::Result<Vec<OsString>> {
    let mut names = Vec::new();
    for entry in rfs::Dir::read_from(fd).map_err(|e| ctx(e, "read", path))? {
        let entry = entry.map_err(|e| ctx(e, "read", path))?;
        let n = entry.file_name().to_bytes();
        if n != b"." && n != b".." {
            names.push(OsStr::from_bytes(n).to_os_string());
        }
    }
    names.sort_by(|a, b| a.as_bytes().cmp(b.as_bytes()));
    Ok(names)
}

/// Walks the upper dir with each directory open once, looking entries up by name in it
/// (the walk reads every file of the layer; resolving full paths for each would cost more
/// than the archiving).
struct Walker<'a, W: Write> {
    tar: TarWriter<W>,
    links: HashMap<(u64, u64), Vec<u8>>,
    opts: &'a LayerOptions,
    entries: u64,
}

impl<W: Write> Walker<'_, W> {
    fn dir(&mut self, fd: &OwnedFd, dir: &Path, rel: &[u8]) -> io::Result<()> {
        for name in sorted_names(fd, dir)? {
            let path = dir.join(&name);
            let mut child = rel.to_vec();
            if !child.is_empty() {
                child.push(b'/');
            }
            child.extend_from_slice(name.as_bytes());
            let st = rfs::statat(fd, &name, AtFlags::SYMLINK_NOFOLLOW)
                .map_err(|e| ctx(e, "lstat", &path))?;
            self.entries += 1;
            self.entry(fd, &name, &path, &child, &st)?;
        }
        Ok(())
    }

    #[allow(clippy::unnecessary_cast)]
    fn mtime(&self, st: &Stat) -> i64 {
        let m = st.st_mtime as i64;
        match self.opts.source_date_epoch {
            Some(e) => m.min(e),
            None => m,
        }
    }

    fn base(&self, name: &[u8], kind: Kind, st: &Stat, xattrs: Vec<(String, Vec<u8>)>) -> Entry {
        Entry {
            name: name.to_vec(),
            kind,
            mode: st.st_mode & 0o7777,
            uid: u64::from(st.st_uid),
            gid: u64::from(st.st_gid),
            mtime: self.mtime(st),
            xattrs,
        }
    }

    /// An empty OCI marker file (`.wh.<name>` or `.wh..wh..opq`) owned by root.
    fn marker(&mut self, name: Vec<u8>, st: &Stat) -> io::Result<()> {
        let e = Entry {
            name,
            kind: Kind::File { size: 0 },
            mode: 0,
            uid: 0,
            gid: 0,
            mtime: self.mtime(st),
            xattrs: vec![],
        };
        self.tar.append(&e, Some(&mut io::empty()))
    }

    /// Opens entry `name` of `dir` (never following a symlink) with `flags`.
    fn open_at(dir: &OwnedFd, name: &OsStr, flags: OFlags, path: &Path) -> io::Result<OwnedFd> {
        rfs::openat(
            dir,
            name,
            flags | OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
            Mode::empty(),
        )
        .map_err(|e| ctx(e, "open", path))
    }

    #[allow(clippy::unnecessary_cast)]
    fn entry(
        &mut self,
        dir: &OwnedFd,
        fname: &OsStr,
        path: &Path,
        name: &[u8],
        st: &Stat,
    ) -> io::Result<()> {
        let ft = FileType::from_raw_mode(st.st_mode);
        let rdev = st.st_rdev as u64;
        // Whiteouts first: overlay may give every whiteout the same inode, which must not be
        // mistaken for a hard link.
        if ft == FileType::CharacterDevice && rdev == 0 {
            let (d, base) = split(name);
            let mut wh = d.to_vec();
            wh.extend_from_slice(b".wh.");
            wh.extend_from_slice(base);
            return self.marker(wh, st);
        }
        if ft == FileType::Directory {
            let sub = Self::open_at(dir, fname, OFlags::DIRECTORY, path)?;
            let xattrs = layer_xattrs_fd(sub.as_fd()).map_err(|e| with(e, path))?;
            let e = self.base(name, Kind::Dir, st, xattrs);
            self.tar.append(&e, None)?;
            let opaque =
                fd_get_xattr(sub.as_fd(), OsStr::new(OPAQUE_XATTR)).map_err(|e| with(e, path))?;
            if opaque.as_deref() == Some(b"y") {
                let mut opq = name.to_vec();
                opq.extend_from_slice(b"/.wh..wh..opq");
                self.marker(opq, st)?;
            }
            return self.dir(&sub, path, name);
        }
        if ft == FileType::RegularFile {
            let key = (st.st_dev as u64, st.st_ino as u64);
            if st.st_nlink > 1 {
                if let Some(first) = self.links.get(&key) {
                    let kind = Kind::Hardlink {
                        target: first.clone(),
                    };
                    let xattrs = layer_xattrs(path)?;
                    let e = self.base(name, kind, st, xattrs);
                    return self.tar.append(&e, None);
                }
                self.links.insert(key, name.to_vec());
            }
            let fd = Self::open_at(dir, fname, OFlags::NOCTTY, path)?;
            let xattrs = layer_xattrs_fd(fd.as_fd()).map_err(|e| with(e, path))?;
            let e = self.base(
                name,
                Kind::File {
                    size: st.st_size as u64,
                },
                st,
                xattrs,
            );
            let mut f = std::fs::File::from(fd);
            return self.tar.append(&e, Some(&mut f));
        }
        let kind = match ft {
            FileType::Symlink => {
                let t = rfs::readlinkat(dir, fname, Vec::new())
                    .map_err(|e| ctx(e, "readlink", path))?;
                Kind::Symlink {
                    target: t.as_bytes().to_vec(),
                }
            }
            FileType::CharacterDevice => Kind::Char {
                major: major(rdev),
                minor: minor(rdev),
            },
            FileType::BlockDevice => Kind::Block {
                major: major(rdev),
                minor: minor(rdev),
            },
            FileType::Fifo => Kind::Fifo,
            // Sockets cannot be archived; docker skips them too.
            _ => return Ok(()),
        };
        let xattrs = layer_xattrs(path)?;
        let e = self.base(name, kind, st, xattrs);
        self.tar.append(&e, None)
    }
}

fn with(e: io::Error, p: &Path) -> io::Error {
    io::Error::new(e.kind(), format!("{}: {e}", p.display()))
}

/// Whether a layer carries the xattr `name`: file capabilities and user attributes
/// (overlay's and other trusted/security ones describe this host, not the image).
fn carried(name: &str) -> bool {
    name == "security.capability" || name.starts_with("user.")
}

/// [`layer_xattrs`] of an open file or directory.
fn layer_xattrs_fd(fd: BorrowedFd<'_>) -> io::Result<Vec<(String, Vec<u8>)>> {
    let mut out = Vec::new();
    for name in fd_xattr_names(fd)? {
        let Some(name) = name.to_str().filter(|n| carried(n)) else {
            continue;
        };
        if let Some(v) = fd_get_xattr(fd, OsStr::new(name))? {
            out.push((name.to_string(), v));
        }
    }
    out.sort();
    Ok(out)
}

fn split(name: &[u8]) -> (&[u8], &[u8]) {
    match name.iter().rposition(|&b| b == b'/') {
        Some(i) => (&name[..=i], &name[i + 1..]),
        None => (b"", name),
    }
}

fn major(dev: u64) -> u32 {
    libc::major(dev)
}

fn minor(dev: u64) -> u32 {
    libc::minor(dev)
}

fn cpath(p: &Path) -> io::Result<CString> {
    CString::new(p.as_os_str().as_bytes()).map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))
}

/// The xattrs a layer carries: file capabilities and user attributes (overlay's and other
/// trusted/security ones describe this host, not the image).
fn layer_xattrs(path: &Path) -> io::Result<Vec<(String, Vec<u8>)>> {
    let c = cpath(path)?;
    let mut buf = vec![0u8; 1024];
    let n = loop {
        let n = unsafe { libc::llistxattr(c.as_ptr(), buf.as_mut_ptr().cast(), buf.len()) };
        if n >= 0 {
            break n as usize;
        }
        let e = io::Error::last_os_error();
        match e.raw_os_error() {
            Some(libc::ERANGE) => buf.resize(buf.len() * 4, 0),
            Some(libc::ENOTSUP) => return Ok(vec![]),
            _ => return Err(e),
        }
    };
    let mut out = Vec::new();
    for name in buf[..n].split(|&b| b == 0).filter(|s| !s.is_empty()) {
        let Ok(name) = std::str::from_utf8(name) else {
            continue;
        };
        if carried(name) {
            if let Some(v) = get_xattr(path, name)? {
                out.push((name.to_string(), v));
            }
        }
    }
    out.sort();
    Ok(out)
}

fn get_xattr(path: &Path, name: &str) -> io::Result<Option<Vec<u8>>> {
    let c = cpath(path)?;
    let cname = CString::new(name).map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?;
    let mut buf = vec![0u8; 256];
    loop {
        let n = unsafe {
            libc::lgetxattr(
                c.as_ptr(),
                cname.as_ptr(),
                buf.as_mut_ptr().cast(),
                buf.len(),
            )
        };
        if n >= 0 {
            buf.truncate(n as usize);
            return Ok(Some(buf));
        }
        let e = io::Error::last_os_error();
        match e.raw_os_error() {
            Some(libc::ERANGE) => buf.resize(buf.len() * 4, 0),
            Some(libc::ENODATA) | Some(libc::ENOTSUP) => return Ok(None),
            _ => return Err(e),
        }
    }
}
