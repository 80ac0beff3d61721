//! A deterministic tar writer for layers: headers built by hand, USTAR when the entry fits and
//! PAX records otherwise, as Go's archive/tar (and so BuildKit) chooses. Written here because the
//! `tar` crate's Builder follows symlinks and detects sparse files by default, writes GNU long
//! names, and never writes xattrs; layers must carry `security.capability` and must come out
//! byte-identical for identical inputs.

use crate::fsops::AlignedBuf;
use std::io::{self, Read, Write};

const BLOCK: usize = 512;

/// What one entry is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kind {
    File {
        size: u64,
    },
    Dir,
    Symlink {
        target: Vec<u8>,
    },
    /// A hard link to an earlier entry of the same archive.
    Hardlink {
        target: Vec<u8>,
    },
    Char {
        major: u32,
        minor: u32,
    },
    Block {
        major: u32,
        minor: u32,
    },
    Fifo,
}

/// One archive entry's header fields (the name without a leading `/` or `./`; directories
/// get their trailing `/` added here).
#[derive(Debug, Clone)]
pub struct Entry {
    pub name: Vec<u8>,
    pub kind: Kind,
    /// Permission bits with setuid/setgid/sticky (no file-type bits).
    pub mode: u32,
    pub uid: u64,
    pub gid: u64,
    pub mtime: i64,
    /// Extended attributes to carry, sorted by name.
    pub xattrs: Vec<(String, Vec<u8>)>,
}

/// Writes tar entries to `W`; [`TarWriter::finish`] adds the two zero blocks.
pub struct TarWriter<W: Write> {
    out: W,
    /// File data passes through here (allocated on the first file).
    buf: AlignedBuf,
}

const COPY_BUF: usize = 1 << 20;

impl<W: Write> TarWriter<W> {
    pub fn new(out: W) -> Self {
        TarWriter {
            out,
            buf: AlignedBuf::default(),
        }
    }

    /// Writes `entry`, taking exactly `size` bytes from `data` for regular files.
    pub fn append(&mut self, entry: &Entry, data: Option<&mut dyn Read>) -> io::Result<()> {
        let mut name = entry.name.clone();
        if entry.kind == Kind::Dir && !name.ends_with(b"/") {
            name.push(b'/');
        }
        let link: &[u8] = match &entry.kind {
            Kind::Symlink { target } | Kind::Hardlink { target } => target,
            _ => b"",
        };
        let size = match entry.kind {
            Kind::File { size } => size,
            _ => 0,
        };
        let mut pax: Vec<(String, Vec<u8>)> = Vec::new();
        let (prefix, short_name) = match split_ustar_name(&name) {
            Some(split) => split,
            None => {
                pax.push(("path".into(), name.clone()));
                (Vec::new(), truncate(&name, 100))
            }
        };
        if link.len() > 100 || !link.is_ascii() {
            pax.push(("linkpath".into(), link.to_vec()));
        }
        if entry.uid > 0o7777777 {
            pax.push(("uid".into(), entry.uid.to_string().into_bytes()));
        }
        if entry.gid > 0o7777777 {
            pax.push(("gid".into(), entry.gid.to_string().into_bytes()));
        }
        if size > 0o77777777777 {
            pax.push(("size".into(), size.to_string().into_bytes()));
        }
        if !(0..=0o77777777777).contains(&entry.mtime) {
            pax.push(("mtime".into(), entry.mtime.to_string().into_bytes()));
        }
        for (k, v) in &entry.xattrs {
            pax.push((format!("SCHILY.xattr.{k}"), v.clone()));
        }
        if !pax.is_empty() {
            self.write_pax(&name, &pax)?;
        }
        let (typeflag, devmajor, devminor) = match &entry.kind {
            Kind::File { .. } => (b'0', 0, 0),
            Kind::Hardlink { .. } => (b'1', 0, 0),
            Kind::Symlink { .. } => (b'2', 0, 0),
            Kind::Char { major, minor } => (b'3', *major, *minor),
            Kind::Block { major, minor } => (b'4', *major, *minor),
            Kind::Dir => (b'5', 0, 0),
            Kind::Fifo => (b'6', 0, 0),
        };
        let mut h = [0u8; BLOCK];
        put(&mut h[0..100], &short_name);
        octal(&mut h[100..108], u64::from(entry.mode & 0o7777));
        octal(&mut h[108..116], entry.uid.min(0o7777777));
        octal(&mut h[116..124], entry.gid.min(0o7777777));
        octal(&mut h[124..136], size.min(0o77777777777));
        octal(&mut h[136..148], entry.mtime.clamp(0, 0o77777777777) as u64);
        h[156] = typeflag;
        put(&mut h[157..257], &truncate(link, 100));
        h[257..263].copy_from_slice(b"ustar\0");
        h[263..265].copy_from_slice(b"00");
        if matches!(entry.kind, Kind::Char { .. } | Kind::Block { .. }) {
            octal(&mut h[329..337], u64::from(devmajor));
            octal(&mut h[337..345], u64::from(devminor));
        }
        put(&mut h[345..500], &prefix);
        checksum(&mut h);
        self.out.write_all(&h)?;
        if let (Kind::File { size }, Some(data)) = (&entry.kind, data) {
            let copied = self.copy_data(data, *size)?;
            if copied != *size {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    format!(
                        "{} changed size while being archived",
                        String::from_utf8_lossy(&entry.name)
                    ),
                ));
            }
            self.pad(*size)?;
        } else if size > 0 {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "file entry without data",
            ));
        }
        Ok(())
    }

    /// Copies up to `size` bytes of `data` through one reused buffer, big enough that a
    /// large file costs few reads and writes (`io::copy` would use 8 KiB at a time).
    fn copy_data(&mut self, data: &mut dyn Read, size: u64) -> io::Result<u64> {
        if self.buf.is_empty() {
            self.buf = AlignedBuf::new(COPY_BUF);
        }
        let mut left = size;
        while left > 0 {
            let want = left.min(self.buf.len() as u64) as usize;
            let n = match data.read(&mut self.buf[..want]) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            self.out.write_all(&self.buf[..n])?;
            left -= n as u64;
        }
        Ok(size - left)
    }

    fn write_pax(&mut self, name: &[u8], records: &[(String, Vec<u8>)]) -> io::Result<()> {
        let mut body = Vec::new();
        for (k, v) in records {
            // The length prefix counts itself, so find the fixed point.
            let rest = k.len() + v.len() + 3;
            let mut len = rest + 1;
            while len != rest + len.to_string().len() {
                len = rest + len.to_string().len();
            }
            body.extend_from_slice(len.to_string().as_bytes());
            body.push(b' ');
            body.extend_from_slice(k.as_bytes());
            body.push(b'=');
            body.extend_from_slice(v);
            body.push(b'\n');
        }
        let trimmed = name.strip_suffix(b"/").unwrap_or(name);
        let (dir, base) = match trimmed.iter().rposition(|&b| b == b'/') {
            Some(i) => (&trimmed[..=i], &trimmed[i + 1..]),
            None => (&b""[..], trimmed),
        };
        let mut pax_name = dir.to_vec();
        pax_name.extend_from_slice(b"PaxHeaders.0/");
        pax_name.extend_from_slice(base);
        let mut h = [0u8; BLOCK];
        put(&mut h[0..100], &truncate(&pax_name, 100));
        octal(&mut h[100..108], 0o644);
        octal(&mut h[108..116], 0);
        octal(&mut h[116..124], 0);
        octal(&mut h[124..136], body.len() as u64);
        octal(&mut h[136..148], 0);
        h[156] = b'x';
        h[257..263].copy_from_slice(b"ustar\0");
        h[263..265].copy_from_slice(b"00");
        checksum(&mut h);
        self.out.write_all(&h)?;
        self.out.write_all(&body)?;
        self.pad(body.len() as u64)
    }

    fn pad(&mut self, size: u64) -> io::Result<()> {
        let rem = (size % BLOCK as u64) as usize;
        if rem != 0 {
            self.out.write_all(&[0u8; BLOCK][..BLOCK - rem])?;
        }
        Ok(())
    }

    /// Ends the archive and returns the writer.
    pub fn finish(mut self) -> io::Result<W> {
        self.out.write_all(&[0u8; BLOCK * 2])?;
        self.out.flush()?;
        Ok(self.out)
    }
}

/// Splits a name into USTAR's prefix (≤155) and name (≤100) fields, if it fits as ASCII.
fn split_ustar_name(name: &[u8]) -> Option<(Vec<u8>, Vec<u8>)> {
    if !name.is_ascii() {
        return None;
    }
    if name.len() <= 100 {
        return Some((Vec::new(), name.to_vec()));
    }
    if name.len() > 256 {
        return None;
    }
    // Split at a `/` so that the prefix fits in 155 and the rest in 100 (the rest non-empty).
    let limit = name.len().min(156);
    let i = name[..limit].iter().rposition(|&b| b == b'/')?;
    let (prefix, rest) = (&name[..i], &name[i + 1..]);
    if rest.is_empty() || rest.len() > 100 || prefix.len() > 155 {
        return None;
    }
    Some((prefix.to_vec(), rest.to_vec()))
}

fn truncate(b: &[u8], n: usize) -> Vec<u8> {
    b[..b.len().min(n)].to_vec()
}

fn put(field: &mut [u8], value: &[u8]) {
    let n = value.len().min(field.len());
    field[..n].copy_from_slice(&value[..n]);
}

/// Zero-padded octal with a NUL terminator, as Go's archive/tar writes numeric fields.
fn octal(field: &mut [u8], v: u64) {
    let digits = field.len() - 1;
    let s = format!("{v:0digits$o}");
    field[..digits].copy_from_slice(&s.as_bytes()[s.len() - digits..]);
    field[digits] = 0;
}

fn checksum(h: &mut [u8; BLOCK]) {
    h[148..156].copy_from_slice(b"        ");
    let sum: u32 = h.iter().map(|&b| u32::from(b)).sum();
    let s = format!("{sum:06o}\0 ");
    h[148..156].copy_from_slice(s.as_bytes());
}
