//! Unpacks a layer tar into a directory in overlayfs' own format, so that the directory can
//! serve as an overlay lower dir as it is: OCI whiteouts (`.wh.NAME`) become 0/0 character
//! devices, opaque markers (`.wh..wh..opq`) become `trusted.overlay.opaque=y` on the parent.
//!
//! The tar is untrusted: absolute paths and `..` are refused, a parent that is a symlink or a
//! non-directory is refused (we never follow a link inside the target while creating
//! entries), and every final component is created with no-follow semantics after removing
//! whatever was there. The target must be a fresh directory that nobody else writes.

use super::error::{IoContext, Result, StoreError};
use rustix::fs::{AtFlags, FileType, Mode, Timespec, Timestamps, XattrFlags, CWD};
use std::ffi::{OsStr, OsString};
use std::fs;
use std::io::{self, Read};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Component, Path, PathBuf};

const WHITEOUT_PREFIX: &str = ".wh.";
const OPAQUE_MARKER: &str = ".wh..wh..opq";

/// Unpacks the (uncompressed) layer tar stream `r` into `dest`, whiteouts as overlayfs has
/// them.
pub fn unpack(r: impl Read, dest: &Path) -> Result<()> {
    unpack_as(r, dest, Whiteouts::Overlay)
}

/// Unpacks a tar of plain files (a build context): a `.wh.` name is a file like any other.
pub fn unpack_files(r: impl Read, dest: &Path) -> Result<()> {
    unpack_as(r, dest, Whiteouts::Names)
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Whiteouts {
    /// OCI whiteouts and opaque markers become overlayfs' own.
    Overlay,
    /// They are ordinary names.
    Names,
}

fn unpack_as(r: impl Read, dest: &Path, whiteouts: Whiteouts) -> Result<()> {
    let is_root = rustix::process::geteuid().is_root();
    let mut archive = tar::Archive::new(r);
    let mut dirs: Vec<(PathBuf, u32, u64)> = Vec::new();
    let entries = archive
        .entries()
        .map_err(|e| StoreError::corrupt("layer tar", e))?;
    for entry in entries {
        let mut entry = entry.map_err(|e| StoreError::corrupt("layer tar", e))?;
        let raw = entry
            .path()
            .map_err(|e| StoreError::corrupt("layer tar", e))?
            .into_owned();
        let parts = relative_components(&raw)?;
        let Some((name, parents)) = parts.split_last() else {
            continue; // the root directory itself
        };
        let parent = ensure_parents(dest, parents, &raw)?;
        let name_str = name.to_string_lossy();
        if whiteouts == Whiteouts::Overlay && name_str == OPAQUE_MARKER {
            rustix::fs::lsetxattr(&parent, "trusted.overlay.opaque", b"y", XattrFlags::empty())
                .ctx(|| format!("marking {} opaque", parent.display()))?;
            continue;
        }
        let whiteout = match whiteouts {
            Whiteouts::Overlay => name.as_bytes().strip_prefix(WHITEOUT_PREFIX.as_bytes()),
            Whiteouts::Names => None,
        };
        if let Some(hidden) = whiteout {
            if hidden.is_empty() || hidden == b"." || hidden == b".." {
                return Err(unsafe_path(&raw, "malformed whiteout"));
            }
            let target = parent.join(OsStr::from_bytes(hidden));
            remove_existing(&target)?;
            rustix::fs::mknodat(
                CWD,
                &target,
                FileType::CharacterDevice,
                Mode::empty(),
                rustix::fs::makedev(0, 0),
            )
            .ctx(|| format!("creating whiteout {}", target.display()))?;
            continue;
        }
        let target = parent.join(name);
        let header = entry.header().clone();
        let kind = header.entry_type();
        let mode = header.mode().unwrap_or(0o644) & 0o7777;
        let mtime = header.mtime().unwrap_or(0);
        let (mut uid, mut gid) = (header.uid().unwrap_or(0), header.gid().unwrap_or(0));
        let mut xattrs: Vec<(OsString, Vec<u8>)> = Vec::new();
        if let Ok(Some(pax)) = entry.pax_extensions() {
            for ext in pax.flatten() {
                let Ok(key) = ext.key() else { continue };
                if let Some(attr) = key.strip_prefix("SCHILY.xattr.") {
                    xattrs.push((OsString::from(attr), ext.value_bytes().to_vec()));
                } else if key == "uid" {
                    uid = ext.value().ok().and_then(|v| v.parse().ok()).unwrap_or(uid);
                } else if key == "gid" {
                    gid = ext.value().ok().and_then(|v| v.parse().ok()).unwrap_or(gid);
                }
            }
        }
        use tar::EntryType as T;
        match kind {
            T::Directory => {
                match fs::symlink_metadata(&target) {
                    Ok(m) if m.is_dir() => {}
                    _ => {
                        remove_existing(&target)?;
                        fs::create_dir(&target).ctx(|| format!("creating {}", target.display()))?;
                    }
                }
                dirs.push((target.clone(), mode, mtime));
            }
            T::Regular | T::Continuous | T::GNUSparse => {
                remove_existing(&target)?;
                let mut f = fs::OpenOptions::new()
                    .write(true)
                    .create_new(true)
                    .mode(0o600)
                    .custom_flags(libc::O_NOFOLLOW)
                    .open(&target)
                    .ctx(|| format!("creating {}", target.display()))?;
                io::copy(&mut entry, &mut f).map_err(|e| match e.kind() {
                    io::ErrorKind::UnexpectedEof | io::ErrorKind::InvalidData => {
                        StoreError::corrupt("layer tar", e)
                    }
                    _ => StoreError::Io {
                        context: format!("writing {}", target.display()),
                        source: e,
                    },
                })?;
            }
            T::Symlink => {
                let link = header
                    .link_name()
                    .map_err(|e| StoreError::corrupt("layer tar", e))?
                    .ok_or_else(|| unsafe_path(&raw, "symlink without a target"))?;
                remove_existing(&target)?;
                std::os::unix::fs::symlink(&link, &target)
                    .ctx(|| format!("creating symlink {}", target.display()))?;
            }
            T::Link => {
                let link = entry
                    .link_name()
                    .map_err(|e| StoreError::corrupt("layer tar", e))?
                    .ok_or_else(|| unsafe_path(&raw, "hard link without a target"))?
                    .into_owned();
                let src_parts = relative_components(&link)?;
                let source = existing_path(dest, &src_parts, &link)?;
                if source == target {
                    continue;
                }
                remove_existing(&target)?;
                fs::hard_link(&source, &target)
                    .ctx(|| format!("linking {} to {}", target.display(), source.display()))?;
                continue; // the inode's metadata is the source's
            }
            T::Char | T::Block | T::Fifo => {
                let ft = match kind {
                    T::Char => FileType::CharacterDevice,
                    T::Block => FileType::BlockDevice,
                    _ => FileType::Fifo,
                };
                let dev = rustix::fs::makedev(
                    header.device_major().ok().flatten().unwrap_or(0),
                    header.device_minor().ok().flatten().unwrap_or(0),
                );
                remove_existing(&target)?;
                rustix::fs::mknodat(CWD, &target, ft, Mode::from_raw_mode(mode), dev)
                    .ctx(|| format!("creating device {}", target.display()))?;
            }
            _ => continue, // global headers and the like carry no file
        }
        if is_root {
            std::os::unix::fs::lchown(&target, Some(uid as u32), Some(gid as u32))
                .ctx(|| format!("chown {}", target.display()))?;
        }
        for (attr, value) in &xattrs {
            rustix::fs::lsetxattr(&target, attr.as_os_str(), value, XattrFlags::empty())
                .ctx(|| format!("setting xattr {:?} on {}", attr, target.display()))?;
        }
        if kind != T::Symlink && kind != T::Directory {
            fs::set_permissions(&target, fs::Permissions::from_mode(mode))
                .ctx(|| format!("chmod {}", target.display()))?;
        }
        if kind != T::Directory {
            set_mtime(&target, mtime)?;
        }
    }
    // Directories last, deepest first: creating children changes a directory's mtime, and
    // a read-only directory mode would stop us from creating them.
    for (dir, mode, mtime) in dirs.iter().rev() {
        fs::set_permissions(dir, fs::Permissions::from_mode(*mode))
            .ctx(|| format!("chmod {}", dir.display()))?;
        set_mtime(dir, *mtime)?;
    }
    Ok(())
}

fn set_mtime(path: &Path, mtime: u64) -> Result<()> {
    let t = Timespec {
        tv_sec: mtime.min(i64::MAX as u64) as i64,
        tv_nsec: 0,
    };
    rustix::fs::utimensat(
        CWD,
        path,
        &Timestamps {
            last_access: t,
            last_modification: t,
        },
        AtFlags::SYMLINK_NOFOLLOW,
    )
    .ctx(|| format!("setting times on {}", path.display()))
}

fn unsafe_path(path: &Path, reason: &str) -> StoreError {
    StoreError::UnsafePath {
        path: path.to_path_buf(),
        reason: reason.to_string(),
    }
}

/// The normal components of a tar path; `.` is dropped, absolute paths and `..` refused.
fn relative_components(p: &Path) -> Result<Vec<OsString>> {
    let mut out = Vec::new();
    for c in p.components() {
        match c {
            Component::Normal(n) => out.push(n.to_os_string()),
            Component::CurDir => {}
            Component::ParentDir => return Err(unsafe_path(p, "contains `..`")),
            Component::RootDir | Component::Prefix(_) => return Err(unsafe_path(p, "is absolute")),
        }
    }
    Ok(out)
}

/// Creates the missing parents of an entry, refusing to pass through anything that is not
/// a real directory (a symlink there could point outside the target).
fn ensure_parents(dest: &Path, parents: &[OsString], raw: &Path) -> Result<PathBuf> {
    let mut cur = dest.to_path_buf();
    for p in parents {
        cur.push(p);
        match fs::symlink_metadata(&cur) {
            Ok(m) if m.is_dir() => {}
            Ok(m) if m.file_type().is_symlink() => {
                return Err(unsafe_path(raw, "a parent directory is a symlink"))
            }
            Ok(_) => return Err(unsafe_path(raw, "a parent is not a directory")),
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                fs::create_dir(&cur).ctx(|| format!("creating {}", cur.display()))?;
            }
            Err(e) => return Err(e).ctx(|| format!("inspecting {}", cur.display())),
        }
    }
    Ok(cur)
}

/// The path of an entry already unpacked, reached through real directories only.
fn existing_path(dest: &Path, parts: &[OsString], raw: &Path) -> Result<PathBuf> {
    let Some((name, parents)) = parts.split_last() else {
        return Err(unsafe_path(raw, "hard link to the root"));
    };
    let mut cur = dest.to_path_buf();
    for p in parents {
        cur.push(p);
        match fs::symlink_metadata(&cur) {
            Ok(m) if m.is_dir() => {}
            _ => return Err(unsafe_path(raw, "hard link target is not inside the layer")),
        }
    }
    cur.push(name);
    if fs::symlink_metadata(&cur).is_err() {
        return Err(unsafe_path(raw, "hard link target does not exist"));
    }
    Ok(cur)
}

fn remove_existing(target: &Path) -> Result<()> {
    match fs::symlink_metadata(target) {
        Ok(m) if m.is_dir() => {
            fs::remove_dir_all(target).ctx(|| format!("removing {}", target.display()))
        }
        Ok(_) => fs::remove_file(target).ctx(|| format!("removing {}", target.display())),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e).ctx(|| format!("inspecting {}", target.display())),
    }
}
