//! An overlay upper dir turned into an OCI layer: overlay's whiteouts (char device 0/0) become
//! `.wh.<name>` entries, opaque directories (`trusted.overlay.opaque=y`) get a `.wh..wh..opq`
//! entry, hard links within the layer become link entries, and overlay's own xattrs stay out.
//! Entries come depth-first in byte order of names, so the same tree gives the same bytes.

use super::tar_writer::{Entry, Kind, TarWriter};
use std::collections::HashMap;
use std::ffi::CString;
use std::fs::Metadata;
use std::io::{self, Write};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
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
    };
    w.dir(upper, b"")?;
    w.tar.finish()
}

struct Walker<'a, W: Write> {
    tar: TarWriter<W>,
    links: HashMap<(u64, u64), Vec<u8>>,
    opts: &'a LayerOptions,
}

impl<W: Write> Walker<'_, W> {
    fn dir(&mut self, dir: &Path, rel: &[u8]) -> io::Result<()> {
        let mut names: Vec<_> = std::fs::read_dir(dir)?
            .map(|e| e.map(|e| e.file_name()))
            .collect::<Result<_, _>>()?;
        names.sort_by(|a, b| a.as_bytes().cmp(b.as_bytes()));
        for name in names {
            let path = dir.join(&name);
            let mut child = rel.to_vec();
            if !child.is_empty() {
                child.push(b'/');
            }
            child.extend_from_slice(name.as_bytes());
            let md = std::fs::symlink_metadata(&path)?;
            self.entry(&path, &child, &md)?;
        }
        Ok(())
    }

    fn mtime(&self, md: &Metadata) -> i64 {
        match self.opts.source_date_epoch {
            Some(e) => md.mtime().min(e),
            None => md.mtime(),
        }
    }

    fn base(&self, name: &[u8], kind: Kind, md: &Metadata, path: &Path) -> io::Result<Entry> {
        Ok(Entry {
            name: name.to_vec(),
            kind,
            mode: md.mode() & 0o7777,
            uid: u64::from(md.uid()),
            gid: u64::from(md.gid()),
            mtime: self.mtime(md),
            xattrs: layer_xattrs(path)?,
        })
    }

    /// An empty OCI marker file (`.wh.<name>` or `.wh..wh..opq`) owned by root.
    fn marker(&mut self, name: Vec<u8>, md: &Metadata) -> io::Result<()> {
        let e = Entry {
            name,
            kind: Kind::File { size: 0 },
            mode: 0,
            uid: 0,
            gid: 0,
            mtime: self.mtime(md),
            xattrs: vec![],
        };
        self.tar.append(&e, Some(&mut io::empty()))
    }

    fn entry(&mut self, path: &Path, name: &[u8], md: &Metadata) -> io::Result<()> {
        let ft = md.file_type();
        // Whiteouts first: overlay may give every whiteout the same inode, which must not be
        // mistaken for a hard link.
        if ft.is_char_device() && md.rdev() == 0 {
            let (dir, base) = split(name);
            let mut wh = dir.to_vec();
            wh.extend_from_slice(b".wh.");
            wh.extend_from_slice(base);
            return self.marker(wh, md);
        }
        if ft.is_dir() {
            let e = self.base(name, Kind::Dir, md, path)?;
            self.tar.append(&e, None)?;
            if get_xattr(path, OPAQUE_XATTR)?.as_deref() == Some(b"y") {
                let mut opq = name.to_vec();
                opq.extend_from_slice(b"/.wh..wh..opq");
                self.marker(opq, md)?;
            }
            return self.dir(path, name);
        }
        if ft.is_file() {
            if md.nlink() > 1 {
                let key = (md.dev(), md.ino());
                if let Some(first) = self.links.get(&key) {
                    let e = self.base(
                        name,
                        Kind::Hardlink {
                            target: first.clone(),
                        },
                        md,
                        path,
                    )?;
                    return self.tar.append(&e, None);
                }
                self.links.insert(key, name.to_vec());
            }
            let e = self.base(name, Kind::File { size: md.len() }, md, path)?;
            let mut f = std::fs::File::open(path)?;
            return self.tar.append(&e, Some(&mut f));
        }
        let kind = if ft.is_symlink() {
            Kind::Symlink {
                target: std::fs::read_link(path)?.as_os_str().as_bytes().to_vec(),
            }
        } else if ft.is_char_device() {
            Kind::Char {
                major: major(md.rdev()),
                minor: minor(md.rdev()),
            }
        } else if ft.is_block_device() {
            Kind::Block {
                major: major(md.rdev()),
                minor: minor(md.rdev()),
            }
        } else if ft.is_fifo() {
            Kind::Fifo
        } else {
            // Sockets cannot be archived; docker skips them too.
            return Ok(());
        };
        let e = self.base(name, kind, md, path)?;
        self.tar.append(&e, None)
    }
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
        if name == "security.capability" || name.starts_with("user.") {
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
