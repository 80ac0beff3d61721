//! ADD of a local tar archive: recognised by its content (a compression magic, then a valid
//! tar header, as docker's `isArchivePath`), never by its name, and extracted into the
//! destination directory as docker's chrooted untar does: the directory is the root for every
//! entry, so absolute names and `..` stay inside it and symlinks in the archive resolve
//! inside it; entry owners, modes and times come from the headers.

use super::source::io_err;
use super::{CopyError, Summary};
use crate::fsops::{clean_components, join_components, FileKind, Root};
use std::fs::File;
use std::io::{self, BufReader, Read};
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Compression {
    None,
    Gzip,
    Bzip2,
    Xz,
    Zstd,
}

fn detect(head: &[u8]) -> Compression {
    if head.starts_with(&[0x1f, 0x8b, 0x08]) {
        Compression::Gzip
    } else if head.starts_with(b"BZh") {
        Compression::Bzip2
    } else if head.starts_with(&[0xfd, b'7', b'z', b'X', b'Z', 0x00]) {
        Compression::Xz
    } else if head.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
        Compression::Zstd
    } else {
        Compression::None
    }
}

fn decompressor(file: File) -> io::Result<Box<dyn Read>> {
    let mut r = BufReader::new(file);
    let head = {
        use std::io::BufRead;
        r.fill_buf()?.to_vec()
    };
    Ok(match detect(&head) {
        Compression::None => Box::new(r),
        Compression::Gzip => Box::new(flate2::read::MultiGzDecoder::new(r)),
        Compression::Bzip2 => Box::new(bzip2::read::MultiBzDecoder::new(r)),
        Compression::Xz => Box::new(liblzma::read::XzDecoder::new_multi_decoder(r)),
        Compression::Zstd => Box::new(zstd::stream::read::Decoder::new(r)?),
    })
}

/// Whether a tar header block has a valid checksum (unsigned or signed sum, as Go accepts).
fn valid_header(block: &[u8; 512]) -> bool {
    if block.iter().all(|b| *b == 0) {
        return false;
    }
    let field = &block[148..156];
    let text: String = field
        .iter()
        .take_while(|b| **b != 0)
        .map(|b| *b as char)
        .collect();
    let Ok(want) = i64::from_str_radix(text.trim(), 8) else {
        return false;
    };
    let mut unsigned: i64 = 0;
    let mut signed: i64 = 0;
    for (i, b) in block.iter().enumerate() {
        let b = if (148..156).contains(&i) { b' ' } else { *b };
        unsigned += b as i64;
        signed += (b as i8) as i64;
    }
    want == unsigned || want == signed
}

/// Whether the regular file at `path` in `root` is a (possibly compressed) tar archive.
pub(crate) fn is_archive(root: &Root, path: &Path) -> Result<bool, CopyError> {
    let f = root.open_read(path).map_err(|e| io_err(path, e))?;
    let Ok(mut r) = decompressor(f) else {
        return Ok(false);
    };
    let mut block = [0u8; 512];
    let mut n = 0;
    while n < block.len() {
        match r.read(&mut block[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(_) => return Ok(false),
        }
    }
    Ok(n == block.len() && valid_header(&block))
}

/// An entry name as a path inside the extraction root (absolute and `..` clamped).
fn entry_path(name: &Path) -> Option<PathBuf> {
    let comps = clean_components(name);
    if comps.is_empty() {
        return None;
    }
    Some(join_components(&comps))
}

fn tar_err(archive: &Path, e: impl std::fmt::Display) -> CopyError {
    CopyError::Rule(format!("reading archive {}: {e}", archive.display()))
}

/// Extracts the archive at `path` in `src` into `dest` (a directory root).
pub(crate) fn extract(
    src: &Root,
    path: &Path,
    dest: &Root,
    summary: &mut Summary,
) -> Result<(), CopyError> {
    let f = src.open_read(path).map_err(|e| io_err(path, e))?;
    let r = decompressor(f).map_err(|e| tar_err(path, e))?;
    let mut ar = tar::Archive::new(r);
    let mut dir_times: Vec<(PathBuf, i64)> = Vec::new();
    for entry in ar.entries().map_err(|e| tar_err(path, e))? {
        let mut entry = entry.map_err(|e| tar_err(path, e))?;
        let name = entry.path().map_err(|e| tar_err(path, e))?.into_owned();
        let Some(target) = entry_path(&name) else {
            continue; // the archive's own root ("./"): the destination keeps its metadata
        };
        let hdr = entry.header().clone();
        let et = hdr.entry_type();
        let kind = match et {
            tar::EntryType::Regular | tar::EntryType::Continuous | tar::EntryType::GNUSparse => {
                FileKind::File
            }
            tar::EntryType::Directory => FileKind::Dir,
            tar::EntryType::Symlink => FileKind::Symlink,
            tar::EntryType::Link => FileKind::File,
            tar::EntryType::Char => FileKind::CharDevice,
            tar::EntryType::Block => FileKind::BlockDevice,
            tar::EntryType::Fifo => FileKind::Fifo,
            _ => continue, // PAX/GNU metadata records are consumed by the reader
        };
        let mode = hdr.mode().map_err(|e| tar_err(path, e))? & 0o7777;
        let uid = hdr.uid().map_err(|e| tar_err(path, e))? as u32;
        let gid = hdr.gid().map_err(|e| tar_err(path, e))? as u32;
        let mtime = hdr.mtime().map_err(|e| tar_err(path, e))? as i64;
        if let Some(parent) = target.parent() {
            if dest
                .try_stat(parent)
                .map_err(|e| io_err(parent, e))?
                .is_none()
            {
                dest.mkdir_all(parent, 0o755, Some((0, 0)))
                    .map_err(|e| io_err(parent, e))?;
            }
        }
        // What is in the way is replaced, unless both are directories (then merged).
        if let Some(existing) = dest.try_lstat(&target).map_err(|e| io_err(&target, e))? {
            if !(existing.is_dir() && kind == FileKind::Dir) {
                dest.remove_all(&target).map_err(|e| io_err(&target, e))?;
            }
        }
        match et {
            tar::EntryType::Directory => {
                if dest
                    .try_lstat(&target)
                    .map_err(|e| io_err(&target, e))?
                    .is_none()
                {
                    dest.mkdir(&target, mode).map_err(|e| io_err(&target, e))?;
                    summary.dirs += 1;
                }
            }
            tar::EntryType::Symlink => {
                let link = entry
                    .link_name()
                    .map_err(|e| tar_err(path, e))?
                    .ok_or_else(|| {
                        tar_err(path, format!("symlink {} without target", name.display()))
                    })?
                    .into_owned();
                dest.symlink(&link, &target)
                    .map_err(|e| io_err(&target, e))?;
                summary.symlinks += 1;
            }
            tar::EntryType::Link => {
                let link = entry
                    .link_name()
                    .map_err(|e| tar_err(path, e))?
                    .ok_or_else(|| {
                        tar_err(path, format!("hard link {} without target", name.display()))
                    })?
                    .into_owned();
                let Some(existing) = entry_path(&link) else {
                    return Err(tar_err(
                        path,
                        format!("invalid hard link target {}", link.display()),
                    ));
                };
                dest.hardlink(&existing, &target)
                    .map_err(|e| io_err(&target, e))?;
                summary.files += 1;
                continue; // the link shares the first entry's metadata
            }
            tar::EntryType::Char | tar::EntryType::Block | tar::EntryType::Fifo => {
                let rdev = rustix::fs::makedev(
                    hdr.device_major().ok().flatten().unwrap_or(0),
                    hdr.device_minor().ok().flatten().unwrap_or(0),
                );
                dest.mknod(&target, kind, mode, rdev)
                    .map_err(|e| io_err(&target, e))?;
                summary.files += 1;
            }
            _ => {
                let n = dest
                    .write_file(&target, mode, &mut entry)
                    .map_err(|e| io_err(&target, e))?;
                summary.files += 1;
                summary.bytes += n;
            }
        }
        dest.set_owner(&target, uid, gid)
            .map_err(|e| io_err(&target, e))?;
        if kind != FileKind::Symlink {
            dest.set_mode(&target, mode)
                .map_err(|e| io_err(&target, e))?;
        }
        if kind == FileKind::Dir {
            dir_times.push((target, mtime));
        } else {
            dest.set_times(&target, (mtime, 0), (mtime, 0))
                .map_err(|e| io_err(&target, e))?;
        }
    }
    // Directory times last: writing entries into a directory changes its mtime.
    for (p, t) in dir_times.iter().rev() {
        dest.set_times(p, (*t, 0), (*t, 0))
            .map_err(|e| io_err(p, e))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn magic_bytes() {
        assert_eq!(detect(&[0x1f, 0x8b, 0x08, 0]), Compression::Gzip);
        assert_eq!(detect(b"BZh91AY"), Compression::Bzip2);
        assert_eq!(
            detect(&[0xfd, b'7', b'z', b'X', b'Z', 0, 1]),
            Compression::Xz
        );
        assert_eq!(detect(&[0x28, 0xb5, 0x2f, 0xfd, 1]), Compression::Zstd);
        assert_eq!(detect(b"plain text"), Compression::None);
    }

    #[test]
    fn header_checksum() {
        let mut h = tar::Header::new_ustar();
        h.set_path("a.txt").unwrap();
        h.set_size(0);
        h.set_cksum();
        let mut block = [0u8; 512];
        block.copy_from_slice(h.as_bytes());
        assert!(valid_header(&block));
        block[0] = b'b';
        assert!(!valid_header(&block));
        assert!(!valid_header(&[0u8; 512]));
    }
}
