//! ADD of `http(s)://` URLs (downloaded, never extracted) and the recognition of git URLs,
//! which kiln does not fetch.

use super::CopyError;
use sha2::{Digest, Sha256};
use std::io::{Read, Seek, SeekFrom, Write};

pub(crate) fn is_http(src: &str) -> bool {
    let l = src.to_ascii_lowercase();
    l.starts_with("http://") || l.starts_with("https://")
}

/// Git sources as BuildKit recognises them for ADD: `git@host:…`, `git://…`, `ssh://…`, and
/// `http(s)://…` URLs whose path ends in `.git` (a `#ref` fragment allowed).
pub(crate) fn is_git(src: &str) -> bool {
    let l = src.to_ascii_lowercase();
    if l.starts_with("git@") || l.starts_with("git://") || l.starts_with("ssh://") {
        return true;
    }
    if is_http(&l) {
        let no_frag = l.split('#').next().unwrap_or("");
        let no_query = no_frag.split('?').next().unwrap_or("");
        return no_query.trim_end_matches('/').ends_with(".git");
    }
    false
}

/// A downloaded file, verified.
pub(crate) struct Fetched {
    pub file: std::fs::File,
    /// The file name from the URL path (`__unnamed__` when it has none).
    pub name: String,
    /// `Last-Modified`, as seconds since the epoch.
    pub mtime: Option<i64>,
    pub size: u64,
    /// `sha256:<hex>` of the content.
    pub digest: String,
}

/// The name BuildKit gives a URL's file: the last segment of the (decoded) path.
pub(crate) fn file_name(u: &str) -> String {
    let name = url::Url::parse(u)
        .ok()
        .and_then(|u| {
            let path = percent_decode(u.path());
            let base = path.rsplit('/').next().unwrap_or("").to_string();
            (!base.is_empty() && base != ".").then_some(base)
        })
        .unwrap_or_else(|| "__unnamed__".to_string());
    name
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            if let (Some(h), Some(l)) = (
                b.get(i + 1).and_then(|c| (*c as char).to_digit(16)),
                b.get(i + 2).and_then(|c| (*c as char).to_digit(16)),
            ) {
                out.push((h * 16 + l) as u8);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Parses a `--checksum` value (`sha256:<64 hex>`).
pub(crate) fn parse_checksum(spec: &str) -> Result<String, CopyError> {
    let Some(hex) = spec.strip_prefix("sha256:") else {
        return Err(CopyError::Rule(format!(
            "invalid --checksum {spec:?}: only sha256:<hex> digests are supported"
        )));
    };
    if hex.len() != 64 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(CopyError::Rule(format!("invalid --checksum {spec:?}")));
    }
    Ok(format!("sha256:{}", hex.to_ascii_lowercase()))
}

/// Downloads `url` to a temporary file, checking `checksum` (normalised) when given.
pub(crate) fn fetch(url: &str, checksum: Option<&str>) -> Result<Fetched, CopyError> {
    let file = tempfile::tempfile()
        .map_err(|e| CopyError::Remote(format!("failed to download {url}: {e}")))?;
    fetch_into(url, checksum, file)
}

/// [`fetch`] into `file` (empty, open for reading and writing).
pub(crate) fn fetch_into(
    url: &str,
    checksum: Option<&str>,
    mut file: std::fs::File,
) -> Result<Fetched, CopyError> {
    let fail = |m: String| CopyError::Remote(format!("failed to download {url}: {m}"));
    let client = reqwest::blocking::Client::builder()
        .connect_timeout(std::time::Duration::from_secs(30))
        .timeout(None)
        .build()
        .map_err(|e| fail(e.to_string()))?;
    let mut resp = client.get(url).send().map_err(|e| fail(e.to_string()))?;
    if !resp.status().is_success() {
        return Err(fail(format!("HTTP status {}", resp.status())));
    }
    let mtime = resp
        .headers()
        .get(reqwest::header::LAST_MODIFIED)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| chrono::DateTime::parse_from_rfc2822(v).ok())
        .map(|t| t.timestamp());
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 64 * 1024];
    let mut size = 0u64;
    loop {
        let n = resp.read(&mut buf).map_err(|e| fail(e.to_string()))?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        file.write_all(&buf[..n]).map_err(|e| fail(e.to_string()))?;
        size += n as u64;
    }
    let got = format!("sha256:{}", hex::encode(hasher.finalize()));
    if let Some(want) = checksum {
        if want != got {
            return Err(CopyError::Checksum {
                url: url.to_string(),
                expected: want.to_string(),
                actual: got,
            });
        }
    }
    file.seek(SeekFrom::Start(0))
        .map_err(|e| fail(e.to_string()))?;
    Ok(Fetched {
        file,
        name: file_name(url),
        mtime,
        size,
        digest: got,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_kinds_and_names() {
        assert!(is_git("git@github.com:o/r.git"));
        assert!(is_git("git://host/r"));
        assert!(is_git("https://host/o/r.git#main"));
        assert!(!is_git("https://host/o/file.tar.gz"));
        assert!(is_http("HTTPS://x/y"));
        assert_eq!(file_name("http://h/a/b%20c.txt?x=1"), "b c.txt");
        assert_eq!(file_name("http://h/"), "__unnamed__");
        assert_eq!(file_name("http://h"), "__unnamed__");
    }
}
