//! An image's root filesystem as plain files (`--output type=local`) or as one tar
//! (`type=tar`): the layers' snapshots (overlay-format dirs) applied bottom to top, with
//! overlay's meaning of whiteouts (char device 0/0 removes the path below) and opaque
//! directories (`trusted.overlay.opaque=y` hides everything below).
//!
//! Only the destination's top directory is trusted: inside it, every path is reached through
//! directories this code made sure are real directories, and each final component is removed
//! and created without following links, so that a link in the image (`/x -> /`) can never
//! lead a write outside the destination.

use crate::snapshot::upper::{write_layer, LayerOptions};
use crate::store::error::{IoContext, Result};
use crate::store::{Image, Store};
use rustix::fs::{AtFlags, FileType, Mode, Timespec, Timestamps, XattrFlags, CWD};
use std::collections::HashMap;
use std::fs;
use std::io::{self, Write};
use std::os::unix::fs::{FileTypeExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

const OPAQUE_XATTR: &str = "trusted.overlay.opaque";

/// Writes the root filesystem of `image` into `dest` (created when missing; what is there
/// already is overwritten where the image has the same path).
pub fn export_dir(store: &Store, image: &Image, dest: &Path) -> Result<()> {
    let _g = store.ingest()?;
    fs::create_dir_all(dest).ctx(|| format!("creating {}", dest.display()))?;
    let owners = rustix::process::geteuid().is_root();
    for diff_id in &image.config.rootfs.diff_ids {
        let snapshot = store.snapshot(diff_id)?;
        let mut a = Applier {
            links: HashMap::new(),
            owners,
        };
        a.dir(&snapshot, dest)?;
    }
    Ok(())
}

/// Writes the root filesystem of `image` to `out` as one tar (sorted, as layers are).
pub fn write_tar(store: &Store, image: &Image, out: impl Write) -> Result<()> {
    let tmp = tempfile::Builder::new()
        .prefix("rootfs-")
        .tempdir_in(store.tmp_dir())
        .ctx(|| "creating a temporary directory".to_string())?;
    let root = tmp.path().join("rootfs");
    export_dir(store, image, &root)?;
    let mut out = write_layer(&root, out, &LayerOptions::default())
        .ctx(|| "writing the root filesystem tar".to_string())?;
    out.flush()
        .ctx(|| "writing the root filesystem tar".to_string())
}

/// Applies one snapshot dir onto the destination.
struct Applier {
    /// Hard links of this layer: (dev, inode) in the snapshot → first path written.
    links: HashMap<(u64, u64), PathBuf>,
    /// Whether to give files their owners (only root can).
    owners: bool,
}

impl Applier {
    /// Applies the entries of `src` into `dst`, a real directory.
    fn dir(&mut self, src: &Path, dst: &Path) -> Result<()> {
        let mut names: Vec<_> = fs::read_dir(src)
            .and_then(|it| it.map(|e| e.map(|e| e.file_name())).collect())
            .ctx(|| format!("reading {}", src.display()))?;
        names.sort();
        for name in names {
            let s = src.join(&name);
            let d = dst.join(&name);
            let md = fs::symlink_metadata(&s).ctx(|| format!("reading {}", s.display()))?;
            let ft = md.file_type();
            if ft.is_char_device() && md.rdev() == 0 {
                remove_any(&d)?;
                continue;
            }
            if ft.is_dir() {
                match fs::symlink_metadata(&d) {
                    Ok(m) if m.is_dir() => {
                        if is_opaque(&s) {
                            clear_dir(&d)?;
                        }
                    }
                    Ok(_) => {
                        remove_any(&d)?;
                        fs::create_dir(&d).ctx(|| format!("creating {}", d.display()))?;
                    }
                    Err(_) => fs::create_dir(&d).ctx(|| format!("creating {}", d.display()))?,
                }
                self.dir(&s, &d)?;
                self.attrs(&s, &d, &md)?;
                continue;
            }
            remove_any(&d)?;
            if ft.is_file() {
                let key = (md.dev(), md.ino());
                if md.nlink() > 1 {
                    if let Some(first) = self.links.get(&key) {
                        fs::hard_link(first, &d).ctx(|| format!("linking {}", d.display()))?;
                        continue;
                    }
                }
                copy_file(&s, &d)?;
                if md.nlink() > 1 {
                    self.links.insert(key, d.clone());
                }
            } else if ft.is_symlink() {
                let target = fs::read_link(&s).ctx(|| format!("reading {}", s.display()))?;
                std::os::unix::fs::symlink(&target, &d)
                    .ctx(|| format!("creating {}", d.display()))?;
            } else if ft.is_char_device() || ft.is_block_device() || ft.is_fifo() {
                let kind = FileType::from_raw_mode(md.mode());
                let made = rustix::fs::mknodat(CWD, &d, kind, Mode::empty(), md.rdev() as _);
                match made {
                    Ok(()) => {}
                    // Device nodes need privileges: skip them without, as unpacking does.
                    Err(rustix::io::Errno::PERM) if !self.owners => continue,
                    Err(e) => {
                        return Err(io::Error::from(e)).ctx(|| format!("creating {}", d.display()))
                    }
                }
            } else {
                continue; // sockets are not part of an image
            }
            self.attrs(&s, &d, &md)?;
        }
        Ok(())
    }

    /// Owner, mode, kept xattrs and times of `d` from `s` (links get owner and times only).
    fn attrs(&self, s: &Path, d: &Path, md: &fs::Metadata) -> Result<()> {
        let link = md.file_type().is_symlink();
        if self.owners {
            std::os::unix::fs::lchown(d, Some(md.uid()), Some(md.gid()))
                .ctx(|| format!("setting the owner of {}", d.display()))?;
        }
        if !link {
            fs::set_permissions(d, fs::Permissions::from_mode(md.mode() & 0o7777))
                .ctx(|| format!("setting the mode of {}", d.display()))?;
            copy_xattrs(s, d)?;
        }
        let ts = |sec: i64, nsec: i64| Timespec {
            tv_sec: sec,
            tv_nsec: nsec as _,
        };
        let times = Timestamps {
            last_access: ts(md.atime(), md.atime_nsec()),
            last_modification: ts(md.mtime(), md.mtime_nsec()),
        };
        rustix::fs::utimensat(CWD, d, &times, AtFlags::SYMLINK_NOFOLLOW)
            .map_err(io::Error::from)
            .ctx(|| format!("setting the times of {}", d.display()))
    }
}

fn copy_file(s: &Path, d: &Path) -> Result<()> {
    let mut from = fs::File::open(s).ctx(|| format!("opening {}", s.display()))?;
    let mut to = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .custom_flags(libc::O_NOFOLLOW)
        .open(d)
        .ctx(|| format!("creating {}", d.display()))?;
    io::copy(&mut from, &mut to).ctx(|| format!("writing {}", d.display()))?;
    Ok(())
}

fn is_opaque(p: &Path) -> bool {
    let mut buf = [0u8; 4];
    matches!(rustix::fs::lgetxattr(p, OPAQUE_XATTR, &mut buf), Ok(1) if buf[0] == b'y')
}

/// Removes whatever is at `p` (a directory with its contents; a link itself, not its target).
fn remove_any(p: &Path) -> Result<()> {
    match fs::symlink_metadata(p) {
        Ok(m) if m.is_dir() => fs::remove_dir_all(p).ctx(|| format!("removing {}", p.display())),
        Ok(_) => fs::remove_file(p).ctx(|| format!("removing {}", p.display())),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e).ctx(|| format!("reading {}", p.display())),
    }
}

fn clear_dir(p: &Path) -> Result<()> {
    let entries = fs::read_dir(p).ctx(|| format!("reading {}", p.display()))?;
    for e in entries {
        let e = e.ctx(|| format!("reading {}", p.display()))?;
        remove_any(&e.path())?;
    }
    Ok(())
}

/// The xattrs an image carries (file capabilities and user attributes), as layers do.
fn copy_xattrs(s: &Path, d: &Path) -> Result<()> {
    let mut names = vec![0u8; 4096];
    let n = match rustix::fs::llistxattr(s, &mut names) {
        Ok(n) => n,
        Err(_) => return Ok(()),
    };
    for name in names[..n].split(|&b| b == 0).filter(|x| !x.is_empty()) {
        let Ok(name) = std::str::from_utf8(name) else {
            continue;
        };
        if name != "security.capability" && !name.starts_with("user.") {
            continue;
        }
        let mut value = vec![0u8; 64 * 1024];
        let Ok(len) = rustix::fs::lgetxattr(s, name, &mut value) else {
            continue;
        };
        rustix::fs::lsetxattr(d, name, &value[..len], XattrFlags::empty())
            .map_err(io::Error::from)
            .ctx(|| format!("setting {name} on {}", d.display()))?;
    }
    Ok(())
}
