//! Interim image-name handling at the store's edge: docker's normalisation
//! (`busybox` → `docker.io/library/busybox:latest`) and its reverse for display.
//!
//! The store itself only ever sees full names (`docker.io/library/busybox:latest`); the full
//! reference grammar lives in `image::reference`, which should replace [`parse`] here once
//! it is wired in.

use super::error::{Result, StoreError};
use crate::image::digest::Digest;
use regex::Regex;
use std::sync::OnceLock;

/// A parsed, normalised reference: full repository name plus tag and/or digest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Name {
    /// e.g. `docker.io/library/busybox`
    pub repo: String,
    pub tag: Option<String>,
    pub digest: Option<Digest>,
}

impl Name {
    /// `repo:tag`, with `latest` when no tag was given.
    pub fn tagged(&self) -> String {
        format!("{}:{}", self.repo, self.tag.as_deref().unwrap_or("latest"))
    }
}

fn component_re() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| Regex::new(r"^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$").expect("static regex"))
}

fn tag_re() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| Regex::new(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$").expect("static regex"))
}

fn domain_re() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        Regex::new(r"^(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*(?::[0-9]+)?$|^\[[0-9a-fA-F:]+\](?::[0-9]+)?$")
            .expect("static regex")
    })
}

/// Parses a reference the way docker does, filling in `docker.io` and `library/`.
pub fn parse(s: &str) -> Result<Name> {
    let bad = || StoreError::InvalidReference(s.to_string());
    if s.is_empty() || s.len() > 255 + 128 + 72 {
        return Err(bad());
    }
    let (rest, digest) = match s.split_once('@') {
        Some((r, d)) => (r, Some(d.parse::<Digest>().map_err(|_| bad())?)),
        None => (s, None),
    };
    let last_slash = rest.rfind('/').map(|i| i + 1).unwrap_or(0);
    let (path, tag) = match rest[last_slash..].rfind(':') {
        Some(i) => {
            let t = &rest[last_slash + i + 1..];
            if !tag_re().is_match(t) {
                return Err(bad());
            }
            (&rest[..last_slash + i], Some(t.to_string()))
        }
        None => (rest, None),
    };
    let (domain, remainder) = match path.split_once('/') {
        Some((first, more))
            if first.contains('.')
                || first.contains(':')
                || first == "localhost"
                || first.chars().any(|c| c.is_ascii_uppercase()) =>
        {
            (first.to_string(), more.to_string())
        }
        _ => ("docker.io".to_string(), path.to_string()),
    };
    let domain = if domain == "index.docker.io" {
        "docker.io".to_string()
    } else {
        domain
    };
    if !domain_re().is_match(&domain) {
        return Err(bad());
    }
    let remainder = if domain == "docker.io" && !remainder.contains('/') {
        format!("library/{remainder}")
    } else {
        remainder
    };
    if remainder.is_empty() || !remainder.split('/').all(|c| component_re().is_match(c)) {
        return Err(bad());
    }
    Ok(Name {
        repo: format!("{domain}/{remainder}"),
        tag,
        digest,
    })
}

/// Normalises a reference that must name a tag (`busybox` → `docker.io/library/busybox:latest`).
pub fn normalize_tagged(s: &str) -> Result<String> {
    let n = parse(s)?;
    if n.digest.is_some() {
        return Err(StoreError::InvalidReference(format!(
            "{s}: a tag is needed here, not a digest"
        )));
    }
    Ok(n.tagged())
}

/// Docker's short form of a full name: `docker.io/library/busybox` → `busybox`.
pub fn familiar(full: &str) -> String {
    if let Some(rest) = full.strip_prefix("docker.io/") {
        rest.strip_prefix("library/").unwrap_or(rest).to_string()
    } else {
        full.to_string()
    }
}

/// Splits a full `repo:tag` name at the tag.
pub fn split_tag(full: &str) -> (&str, &str) {
    let last_slash = full.rfind('/').map(|i| i + 1).unwrap_or(0);
    match full[last_slash..].rfind(':') {
        Some(i) => (&full[..last_slash + i], &full[last_slash + i + 1..]),
        None => (full, "latest"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalises_like_docker() {
        assert_eq!(
            normalize_tagged("busybox").unwrap(),
            "docker.io/library/busybox:latest"
        );
        assert_eq!(
            normalize_tagged("me/app:v1").unwrap(),
            "docker.io/me/app:v1"
        );
        assert_eq!(
            normalize_tagged("localhost:5000/app").unwrap(),
            "localhost:5000/app:latest"
        );
        assert_eq!(normalize_tagged("quay.io/a/b:c").unwrap(), "quay.io/a/b:c");
        assert!(parse("Busybox").is_err());
        assert!(parse("a:b:c").is_err());
        assert!(parse("").is_err());
    }

    #[test]
    fn familiar_names() {
        assert_eq!(familiar("docker.io/library/busybox"), "busybox");
        assert_eq!(familiar("docker.io/me/app"), "me/app");
        assert_eq!(familiar("quay.io/a/b"), "quay.io/a/b");
        assert_eq!(
            split_tag("localhost:5000/app:v1"),
            ("localhost:5000/app", "v1")
        );
    }
}
