//! `--chown` and `--chmod` values.
//!
//! BuildKit's rules for `--chown`: a numeric user without a group gives `uid:uid`; a user
//! name without a group gives the user's uid and primary gid from the destination's
//! `/etc/passwd`; a group is a number or a name from its `/etc/group`. Names are looked up in
//! the destination root (read in-root, so a symlinked `/etc` cannot point at the host's).

use crate::exec::user;
use crate::fsops::Root;
use std::io::Read;
use std::path::Path;

/// Resolves a `--chown` value against the destination root.
pub fn resolve_chown(dest: &Root, spec: &str) -> Result<(u32, u32), String> {
    let spec = spec.trim();
    if spec.is_empty() {
        return Err("--chown needs a user".to_string());
    }
    let (user_part, group_part) = match spec.split_once(':') {
        Some((u, g)) => (u, Some(g)),
        None => (spec, None),
    };
    if user_part.is_empty() {
        return Err(format!("invalid --chown value {spec:?}: no user"));
    }
    if let Ok(uid) = user_part.parse::<u32>() {
        match group_part {
            None | Some("") => return Ok((uid, uid)),
            Some(g) => {
                if let Ok(gid) = g.parse::<u32>() {
                    return Ok((uid, gid));
                }
            }
        }
    }
    // Names: the exec resolver reads a root's passwd/group by host path, so hand it copies
    // of the destination's files read through the in-root resolver.
    let tmp = tempfile::tempdir().map_err(|e| format!("--chown: temporary dir: {e}"))?;
    let etc = tmp.path().join("etc");
    std::fs::create_dir(&etc).map_err(|e| format!("--chown: temporary dir: {e}"))?;
    for name in ["passwd", "group"] {
        let text = read_in_root(dest, &Path::new("/etc").join(name));
        std::fs::write(etc.join(name), text).map_err(|e| format!("--chown: {e}"))?;
    }
    let u = user::resolve(tmp.path(), spec)?;
    Ok((u.uid, u.gid))
}

fn read_in_root(root: &Root, p: &Path) -> Vec<u8> {
    let mut out = Vec::new();
    if let Ok(mut f) = root.open_read(p) {
        // A file that cannot be read counts as empty, as for a missing one.
        if f.read_to_end(&mut out).is_err() {
            out.clear();
        }
    }
    out
}

/// Parses a `--chmod` value: octal, as BuildKit accepted it at the 20.10 level.
pub fn parse_chmod(spec: &str) -> Result<u32, String> {
    let s = spec.trim();
    if s.is_empty() || !s.bytes().all(|b| (b'0'..=b'7').contains(&b)) {
        return Err(format!(
            "invalid --chmod value {spec:?}: only octal modes (like 755) are supported"
        ));
    }
    let m = u32::from_str_radix(s, 8).map_err(|_| format!("invalid --chmod value {spec:?}"))?;
    if m > 0o7777 {
        return Err(format!("invalid --chmod value {spec:?}: out of range"));
    }
    Ok(m)
}
