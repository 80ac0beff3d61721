//! Image names at the store's edge: full `repo:tag` strings for the index, and their short
//! forms for display. The store itself only ever sees full names
//! (`docker.io/library/busybox:latest`); parsing is [`Reference`]'s.

use super::error::{Result, StoreError};
use crate::image::digest::Digest;
use crate::image::reference::Reference;

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

/// Parses a reference with docker's normalisation (the one parser, [`Reference`]), keeping
/// the tag unset when none was written.
pub fn parse(s: &str) -> Result<Name> {
    let r = Reference::parse_normalized_named(s)
        .map_err(|e| StoreError::InvalidReference(format!("{s}: {e}")))?;
    Ok(Name {
        repo: r.name(),
        tag: r.tag().map(str::to_string),
        digest: r.digest().cloned(),
    })
}

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
