//! Lexical path handling for paths read inside a root: docker cleans every path (Go's
//! `filepath.Clean`) before it resolves it, and `..` never climbs above the root.

use std::ffi::{OsStr, OsString};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

/// The components of `p` cleaned as if `p` were absolute: empty and `.` segments dropped,
/// `..` removing the previous one (and nothing at the root).
pub fn clean_components(p: &Path) -> Vec<OsString> {
    let mut out: Vec<OsString> = Vec::new();
    for seg in p.as_os_str().as_bytes().split(|b| *b == b'/') {
        match seg {
            b"" | b"." => {}
            b".." => {
                out.pop();
            }
            s => out.push(OsStr::from_bytes(s).to_os_string()),
        }
    }
    out
}

/// `/` followed by the components joined with `/`.
pub fn join_components(parts: &[OsString]) -> PathBuf {
    let mut s = OsString::from("/");
    for (i, p) in parts.iter().enumerate() {
        if i > 0 {
            s.push("/");
        }
        s.push(p);
    }
    PathBuf::from(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cleans_like_go_rooted() {
        let c = |p: &str| join_components(&clean_components(Path::new(p)));
        assert_eq!(c("a/b/../c"), PathBuf::from("/a/c"));
        assert_eq!(c("../../etc/passwd"), PathBuf::from("/etc/passwd"));
        assert_eq!(c("/./x//y/."), PathBuf::from("/x/y"));
        assert_eq!(c(""), PathBuf::from("/"));
        assert_eq!(c("/.."), PathBuf::from("/"));
    }
}
