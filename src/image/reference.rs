//! Image references as docker normalises them: `nginx` → `docker.io/library/nginx:latest`.
//!
//! The grammar, the rules for telling a registry host from a path component and the error
//! messages follow distribution/reference's `ParseNormalizedNamed`, because users type the
//! same strings at kiln as at docker and expect the same names (and the same complaints).
//! One difference: only `sha256` digests are accepted, the only algorithm kiln stores.

use super::digest::Digest;
use regex::Regex;
use std::fmt;
use std::net::{IpAddr, Ipv6Addr};
use std::str::FromStr;
use std::sync::LazyLock;

/// Docker Hub's name in references.
pub const DEFAULT_DOMAIN: &str = "docker.io";
/// The legacy Docker Hub name, folded into [`DEFAULT_DOMAIN`].
pub const LEGACY_DEFAULT_DOMAIN: &str = "index.docker.io";
/// Where Docker Hub's registry API actually answers.
pub const DEFAULT_API_HOST: &str = "registry-1.docker.io";
/// Namespace of Docker Hub's official images.
const OFFICIAL_REPO_PREFIX: &str = "library/";
pub const DEFAULT_TAG: &str = "latest";
/// Longest repository path docker accepts.
pub const NAME_TOTAL_LENGTH_MAX: usize = 255;

/// Why a string is not an image reference; the messages are docker's.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReferenceError {
    #[error("invalid reference format")]
    InvalidFormat,
    #[error("invalid reference format: repository name must be lowercase")]
    ContainsUppercase,
    #[error("invalid reference format: repository name ({0}) must be lowercase")]
    RemoteContainsUppercase(String),
    #[error("repository name must have at least one component")]
    NameEmpty,
    #[error("repository name must not be more than {NAME_TOTAL_LENGTH_MAX} characters")]
    NameTooLong,
    #[error("invalid repository name ({0}), cannot specify 64-byte hexadecimal strings")]
    HexName(String),
    #[error("invalid tag format")]
    InvalidTag,
    #[error("unsupported digest algorithm")]
    UnsupportedDigest,
    #[error("invalid checksum digest length")]
    DigestLength,
    #[error("invalid checksum digest format")]
    DigestFormat,
}

// The pieces of distribution/reference's grammar.
const ALPHANUMERIC: &str = "[a-z0-9]+";
const SEPARATOR: &str = "(?:[._]|__|[-]+)";
const DOMAIN_NAME_COMPONENT: &str = "(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])";
const OPTIONAL_PORT: &str = "(?::[0-9]+)?";
/// The grammar's tag is `[\w][\w.-]{0,127}`; the length is checked apart ([`TAG_MAX`]),
/// because a counted repetition makes the compiled automaton over a hundred times larger,
/// and compiling it was a measurable part of every kiln command.
const TAG: &str = "[A-Za-z0-9_][A-Za-z0-9_.-]*";
const TAG_MAX: usize = 128;
const DIGEST: &str = "[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*[:][0-9A-Fa-f]{32,}";
const IPV6_ADDRESS: &str = r"\[(?:[a-fA-F0-9:]+)\]";

fn domain_and_port() -> String {
    let domain_name = format!("{DOMAIN_NAME_COMPONENT}(?:\\.{DOMAIN_NAME_COMPONENT})*");
    format!("(?:{domain_name}|{IPV6_ADDRESS}){OPTIONAL_PORT}")
}

fn remote_name() -> String {
    let path_component = format!("{ALPHANUMERIC}(?:{SEPARATOR}{ALPHANUMERIC})*");
    format!("{path_component}(?:/{path_component})*")
}

static REFERENCE_RE: LazyLock<Regex> = LazyLock::new(|| {
    let name = format!("(?:{}/)?{}", domain_and_port(), remote_name());
    Regex::new(&format!("^({name})(?::({TAG}))?(?:@({DIGEST}))?$")).expect("reference grammar")
});
static ANCHORED_NAME_RE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(&format!(
        "^(?:({})/)?({})$",
        domain_and_port(),
        remote_name()
    ))
    .expect("name grammar")
});
static TAG_RE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(&format!("^{TAG}$")).expect("tag grammar"));
static IDENTIFIER_RE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new("^[a-f0-9]{64}$").expect("identifier grammar"));

/// A fully qualified image reference: registry domain, repository path, and a tag and/or
/// a digest (docker allows both; the digest then decides what is pulled).
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Reference {
    domain: String,
    path: String,
    tag: Option<String>,
    digest: Option<Digest>,
}

impl Reference {
    /// Parses what a user typed, normalised as docker does, adding `:latest` when neither a
    /// tag nor a digest is given.
    pub fn parse(s: &str) -> Result<Reference, ReferenceError> {
        let mut r = Self::parse_normalized_named(s)?;
        if r.tag.is_none() && r.digest.is_none() {
            r.tag = Some(DEFAULT_TAG.to_string());
        }
        Ok(r)
    }

    /// distribution/reference's `ParseNormalizedNamed`: no default tag is added.
    pub fn parse_normalized_named(s: &str) -> Result<Reference, ReferenceError> {
        if IDENTIFIER_RE.is_match(s) {
            return Err(ReferenceError::HexName(s.to_string()));
        }
        let (domain, remainder) = split_docker_domain(s);
        let remote = remainder.split(':').next().unwrap_or("");
        if remote.to_lowercase() != remote {
            return Err(ReferenceError::RemoteContainsUppercase(remote.to_string()));
        }
        let r = parse_strict(&format!("{domain}/{remainder}"))?;
        if r.domain.is_empty() {
            // Cannot happen: a domain was prefixed above; refuse rather than guess.
            return Err(ReferenceError::InvalidFormat);
        }
        Ok(r)
    }

    /// The registry host as written in references (`docker.io`, `localhost:5000`).
    pub fn domain(&self) -> &str {
        &self.domain
    }

    /// The repository path on the registry (`library/nginx`).
    pub fn path(&self) -> &str {
        &self.path
    }

    pub fn tag(&self) -> Option<&str> {
        self.tag.as_deref()
    }

    pub fn digest(&self) -> Option<&Digest> {
        self.digest.as_ref()
    }

    /// `domain/path`, without tag or digest.
    pub fn name(&self) -> String {
        format!("{}/{}", self.domain, self.path)
    }

    /// The same repository with another tag (and no digest).
    pub fn with_tag(&self, tag: &str) -> Result<Reference, ReferenceError> {
        if tag.len() > TAG_MAX || !TAG_RE.is_match(tag) {
            return Err(ReferenceError::InvalidTag);
        }
        Ok(Reference {
            domain: self.domain.clone(),
            path: self.path.clone(),
            tag: Some(tag.to_string()),
            digest: None,
        })
    }

    /// The same repository pinned to `digest` (the tag is dropped, as docker does for pulls
    /// by digest).
    pub fn with_digest(&self, digest: Digest) -> Reference {
        Reference {
            domain: self.domain.clone(),
            path: self.path.clone(),
            tag: None,
            digest: Some(digest),
        }
    }

    /// What to ask the registry's manifest endpoint for: the digest if any, else the tag.
    pub fn api_reference(&self) -> String {
        match (&self.digest, &self.tag) {
            (Some(d), _) => d.to_string(),
            (None, Some(t)) => t.clone(),
            (None, None) => DEFAULT_TAG.to_string(),
        }
    }

    /// The short name docker prints (`nginx:latest`, `user/app:1`, `myhost:5000/x:y`).
    pub fn familiar(&self) -> String {
        let mut s = self.familiar_name();
        self.push_suffix(&mut s);
        s
    }

    /// The short repository name without tag or digest (`nginx`, `myhost:5000/x`).
    pub fn familiar_name(&self) -> String {
        if self.domain == DEFAULT_DOMAIN {
            if let Some(rest) = self.path.strip_prefix(OFFICIAL_REPO_PREFIX) {
                if !rest.contains('/') {
                    return rest.to_string();
                }
            }
            return self.path.clone();
        }
        self.name()
    }

    /// The host (and port) the registry API answers on: Docker Hub's is not `docker.io`.
    pub fn api_host(&self) -> &str {
        api_host(&self.domain)
    }

    /// Whether the registry is on this machine (reached over plain HTTP, as docker does).
    pub fn is_loopback(&self) -> bool {
        is_loopback_host(&self.domain)
    }

    fn push_suffix(&self, s: &mut String) {
        if let Some(t) = &self.tag {
            s.push(':');
            s.push_str(t);
        }
        if let Some(d) = &self.digest {
            s.push('@');
            s.push_str(d.as_str());
        }
    }
}

/// The host the registry API answers on for a reference domain.
pub fn api_host(domain: &str) -> &str {
    if domain == DEFAULT_DOMAIN || domain == LEGACY_DEFAULT_DOMAIN {
        DEFAULT_API_HOST
    } else {
        domain
    }
}

/// Whether `host[:port]` names this machine: `localhost`, 127.0.0.0/8 or `[::1]`.
pub fn is_loopback_host(domain: &str) -> bool {
    let host = host_without_port(domain);
    if host.eq_ignore_ascii_case("localhost") {
        return true;
    }
    if let Some(v6) = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
        return v6.parse::<Ipv6Addr>().is_ok_and(|a| a.is_loopback());
    }
    host.parse::<IpAddr>().is_ok_and(|a| a.is_loopback())
}

/// `host` from `host`, `host:port`, `[v6]` or `[v6]:port`.
pub fn host_without_port(domain: &str) -> &str {
    if domain.starts_with('[') {
        return match domain.find(']') {
            Some(end) => &domain[..=end],
            None => domain,
        };
    }
    match domain.rsplit_once(':') {
        Some((h, port)) if port.bytes().all(|b| b.is_ascii_digit()) => h,
        _ => domain,
    }
}

/// distribution/reference's `splitDockerDomain`: the first component is a registry only if
/// it looks like a host (has `.` or `:`, is `localhost`, or has uppercase letters).
fn split_docker_domain(name: &str) -> (String, String) {
    let (domain, mut remote) = match name.split_once('/') {
        None => {
            return (
                DEFAULT_DOMAIN.to_string(),
                format!("{OFFICIAL_REPO_PREFIX}{name}"),
            )
        }
        Some((maybe_domain, rest)) => {
            if maybe_domain == "localhost" {
                (maybe_domain.to_string(), rest.to_string())
            } else if maybe_domain == LEGACY_DEFAULT_DOMAIN {
                (DEFAULT_DOMAIN.to_string(), rest.to_string())
            } else if maybe_domain.contains(['.', ':'])
                || maybe_domain.to_lowercase() != maybe_domain
            {
                (maybe_domain.to_string(), rest.to_string())
            } else {
                (DEFAULT_DOMAIN.to_string(), name.to_string())
            }
        }
    };
    if domain == DEFAULT_DOMAIN && !remote.contains('/') {
        remote = format!("{OFFICIAL_REPO_PREFIX}{remote}");
    }
    (domain, remote)
}

/// distribution/reference's `Parse`, restricted to named references.
fn parse_strict(s: &str) -> Result<Reference, ReferenceError> {
    if s.is_empty() {
        return Err(ReferenceError::NameEmpty);
    }
    let Some(caps) = REFERENCE_RE.captures(s) else {
        let lower = s.to_lowercase();
        if lower != s && REFERENCE_RE.is_match(&lower) {
            return Err(ReferenceError::ContainsUppercase);
        }
        return Err(ReferenceError::InvalidFormat);
    };
    let name = caps.get(1).map_or("", |m| m.as_str());
    let (domain, path) = match ANCHORED_NAME_RE.captures(name) {
        Some(n) => (
            n.get(1).map_or("", |m| m.as_str()).to_string(),
            n.get(2).map_or("", |m| m.as_str()).to_string(),
        ),
        None => (String::new(), name.to_string()),
    };
    if path.len() > NAME_TOTAL_LENGTH_MAX {
        return Err(ReferenceError::NameTooLong);
    }
    let tag = caps.get(2).map(|m| m.as_str().to_string());
    if tag.as_ref().is_some_and(|t| t.len() > TAG_MAX) {
        return Err(ReferenceError::InvalidFormat);
    }
    let digest = match caps.get(3) {
        Some(m) => Some(parse_digest(m.as_str())?),
        None => None,
    };
    Ok(Reference {
        domain,
        path,
        tag,
        digest,
    })
}

/// go-digest's checks and messages, for the one algorithm kiln supports.
fn parse_digest(s: &str) -> Result<Digest, ReferenceError> {
    let (alg, hex) = s.split_once(':').ok_or(ReferenceError::DigestFormat)?;
    match alg {
        "sha256" => {}
        "sha384" | "sha512" => return Err(ReferenceError::UnsupportedDigest),
        _ => return Err(ReferenceError::UnsupportedDigest),
    }
    if hex.len() != 64 {
        return Err(ReferenceError::DigestLength);
    }
    s.parse().map_err(|_| ReferenceError::DigestFormat)
}

impl FromStr for Reference {
    type Err = ReferenceError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Reference::parse(s)
    }
}

impl fmt::Display for Reference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut s = self.name();
        self.push_suffix(&mut s);
        f.write_str(&s)
    }
}

impl fmt::Debug for Reference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Reference({self})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FFF: &str = "sha256:ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff";

    fn named(s: &str) -> Reference {
        Reference::parse_normalized_named(s).unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    #[test]
    fn familiar_names_become_docker_hub_library_images() {
        let r = Reference::parse("nginx").unwrap();
        assert_eq!(r.to_string(), "docker.io/library/nginx:latest");
        assert_eq!(r.familiar(), "nginx:latest");
        assert_eq!(r.api_host(), "registry-1.docker.io");
        assert_eq!(r.api_reference(), "latest");
        assert!(!r.is_loopback());
        let r = Reference::parse("index.docker.io/user/app:1").unwrap();
        assert_eq!(r.to_string(), "docker.io/user/app:1");
        assert_eq!(r.familiar(), "user/app:1");
        assert_eq!(r.familiar_name(), "user/app");
    }

    #[test]
    fn hosts_ports_tags_and_digests() {
        let r = Reference::parse("myhost:5000/x:y").unwrap();
        assert_eq!(
            (r.domain(), r.path(), r.tag()),
            ("myhost:5000", "x", Some("y"))
        );
        assert_eq!(r.familiar(), "myhost:5000/x:y");
        assert_eq!(r.api_host(), "myhost:5000");
        let d = format!("repo@{FFF}");
        let r = Reference::parse(&d).unwrap();
        assert_eq!(r.to_string(), format!("docker.io/library/repo@{FFF}"));
        assert_eq!(r.tag(), None);
        assert_eq!(r.api_reference(), FFF);
        let both = format!("busybox:latest@{FFF}");
        let r = Reference::parse(&both).unwrap();
        assert_eq!(r.to_string(), format!("docker.io/library/{both}"));
        assert_eq!(r.familiar(), both);
        assert_eq!(r.api_reference(), FFF);
        let r = Reference::parse("localhost/x").unwrap();
        assert_eq!(r.to_string(), "localhost/x:latest");
        assert!(r.is_loopback());
    }

    #[test]
    fn loopback_detection() {
        for h in [
            "localhost",
            "localhost:5000",
            "127.0.0.1:5000",
            "127.1.2.3",
            "[::1]:5000",
            "[::1]",
        ] {
            assert!(is_loopback_host(h), "{h}");
        }
        for h in [
            "example.com",
            "203.0.113.1:5000",
            "[fc00::1]:5000",
            "localhost.example.com",
            "128.0.0.1",
        ] {
            assert!(!is_loopback_host(h), "{h}");
        }
    }

    #[test]
    fn docker_error_messages() {
        let e = |s: &str| Reference::parse(s).unwrap_err().to_string();
        assert_eq!(
            e("Uppercase:tag"),
            "invalid reference format: repository name (library/Uppercase) must be lowercase"
        );
        assert_eq!(
            e("test:5000/Uppercase/lowercase:tag"),
            "invalid reference format: repository name (Uppercase/lowercase) must be lowercase"
        );
        assert_eq!(e(""), "invalid reference format");
        assert_eq!(e(":justtag"), "invalid reference format");
        assert_eq!(e("aa/asdf$$^/aa"), "invalid reference format");
        assert_eq!(
            e("1a3f5e7d9c1b3a5f7e9d1c3b5a7f9e1d3c5b7a9f1e3d5d7c9b1a3f5e7d9c1b3a"),
            "invalid repository name (1a3f5e7d9c1b3a5f7e9d1c3b5a7f9e1d3c5b7a9f1e3d5d7c9b1a3f5e7d9c1b3a), cannot specify 64-byte hexadecimal strings"
        );
        assert_eq!(
            e("repo@sha256:ffffffffffffffffffffffffffffffffff"),
            "invalid checksum digest length"
        );
        assert_eq!(
            e(&format!("validname@invaliddigest:{}", &FFF[7..])),
            "unsupported digest algorithm"
        );
        assert_eq!(
            e(&format!("{}a:tag", "a/".repeat(128))),
            "repository name must not be more than 255 characters"
        );
        // A tag is at most 128 characters, in a reference and on its own.
        let tag128 = format!("t{}", "a".repeat(127));
        let r = Reference::parse(&format!("repo:{tag128}")).unwrap();
        assert_eq!(r.tag(), Some(tag128.as_str()));
        assert!(r.with_tag(&tag128).is_ok());
        assert_eq!(e(&format!("repo:{tag128}b")), "invalid reference format");
        assert_eq!(
            r.with_tag(&format!("{tag128}b")).unwrap_err(),
            ReferenceError::InvalidTag
        );
    }

    // distribution/reference normalize_test.go: TestValidateReferenceName.
    #[test]
    fn validate_reference_name() {
        for name in [
            "docker/docker",
            "library/debian",
            "debian",
            "docker.io/docker/docker",
            "docker.io/library/debian",
            "docker.io/debian",
            "index.docker.io/docker/docker",
            "index.docker.io/library/debian",
            "index.docker.io/debian",
            "127.0.0.1:5000/docker/docker",
            "127.0.0.1:5000/library/debian",
            "127.0.0.1:5000/debian",
            "203.0.113.7",
            "203.0.113.7:80",
            "203.0.113.7:8/debian",
            "203.0.113.8:25000/debian",
            "thisisthesongthatneverendsitgoesonandonandonthisisthesongthatnev",
            "[fc00::1]:5000/docker",
            "[fc00::1]:5000/docker/docker",
            "[fc00:1:2:3:4:5:6:7]:5000/library/debian",
            "docker.io/1a3f5e7d9c1b3a5f7e9d1c3b5a7f9e1d3c5b7a9f1e3d5d7c9b1a3f5e7d9c1b3a",
            "Docker/docker",
            "DOCKER/docker",
        ] {
            assert!(
                Reference::parse_normalized_named(name).is_ok(),
                "{name} should be valid"
            );
        }
        for name in [
            "https://github.com/docker/docker",
            "docker/Docker",
            "-docker",
            "-docker/docker",
            "-docker.io/docker/docker",
            "docker///docker",
            "docker.io/docker/Docker",
            "docker.io/docker///docker",
            "[fc00::1]",
            "[fc00::1]:5000",
            "fc00::1:5000/debian",
            "[fe80::1%eth0]:5000/debian",
            "[2001:db8:3:4::192.0.2.33]:5000/debian",
            "1a3f5e7d9c1b3a5f7e9d1c3b5a7f9e1d3c5b7a9f1e3d5d7c9b1a3f5e7d9c1b3a",
        ] {
            assert!(
                Reference::parse_normalized_named(name).is_err(),
                "{name} should be invalid"
            );
        }
    }

    // normalize_test.go: TestValidateRemoteName.
    #[test]
    fn validate_remote_name() {
        for name in [
            "docker/docker",
            "thisisthesongthatneverendsitgoesonandonandonthisisthesongthatnev",
            "docker-rules/docker",
            "docker---rules/docker",
            "doc/docker",
            "d/docker",
            "jess/t",
            "dock__er/docker",
        ] {
            assert!(
                Reference::parse_normalized_named(name).is_ok(),
                "{name} should be valid"
            );
        }
        let long = format!(
            "{}/docker",
            "this_is_not_a_valid_namespace_because_its_lenth_is_greater_than_255_".repeat(4)
        );
        for name in [
            "docker/Docker",
            "docker///docker",
            "1a3f5e7d9c1b3a5f7e9d1c3b5a7f9e1d3c5b7a9f1e3d5d7c9b1a3f5e7d9c1b3a",
            "-docker/docker",
            "docker-/docker",
            "-docker-/docker",
            "____/____",
            "_docker/_docker",
            "dock..er/docker",
            "dock_.er/docker",
            "dock-.er/docker",
            "docker/",
            long.as_str(),
        ] {
            assert!(
                Reference::parse_normalized_named(name).is_err(),
                "{name} should be invalid"
            );
        }
    }

    // normalize_test.go: TestParseRepositoryInfo (remote, familiar, full, ambiguous, domain).
    #[test]
    fn parse_repository_info() {
        let cases = [
            (
                "fooo/bar",
                "fooo/bar",
                "docker.io/fooo/bar",
                "index.docker.io/fooo/bar",
                "docker.io",
            ),
            (
                "library/ubuntu",
                "ubuntu",
                "docker.io/library/ubuntu",
                "library/ubuntu",
                "docker.io",
            ),
            (
                "nonlibrary/ubuntu",
                "nonlibrary/ubuntu",
                "docker.io/nonlibrary/ubuntu",
                "",
                "docker.io",
            ),
            (
                "other/library",
                "other/library",
                "docker.io/other/library",
                "",
                "docker.io",
            ),
            (
                "private/moonbase",
                "127.0.0.1:8000/private/moonbase",
                "127.0.0.1:8000/private/moonbase",
                "",
                "127.0.0.1:8000",
            ),
            (
                "privatebase",
                "127.0.0.1:8000/privatebase",
                "127.0.0.1:8000/privatebase",
                "",
                "127.0.0.1:8000",
            ),
            (
                "private/moonbase",
                "example.com/private/moonbase",
                "example.com/private/moonbase",
                "",
                "example.com",
            ),
            (
                "privatebase",
                "example.com/privatebase",
                "example.com/privatebase",
                "",
                "example.com",
            ),
            (
                "private/moonbase",
                "example.com:8000/private/moonbase",
                "example.com:8000/private/moonbase",
                "",
                "example.com:8000",
            ),
            (
                "privatebasee",
                "example.com:8000/privatebasee",
                "example.com:8000/privatebasee",
                "",
                "example.com:8000",
            ),
            (
                "library/ubuntu-12.04-base",
                "ubuntu-12.04-base",
                "docker.io/library/ubuntu-12.04-base",
                "index.docker.io/library/ubuntu-12.04-base",
                "docker.io",
            ),
            (
                "library/foo",
                "foo",
                "docker.io/library/foo",
                "docker.io/foo",
                "docker.io",
            ),
            (
                "library/foo/bar",
                "library/foo/bar",
                "docker.io/library/foo/bar",
                "",
                "docker.io",
            ),
            (
                "store/foo/bar",
                "store/foo/bar",
                "docker.io/store/foo/bar",
                "",
                "docker.io",
            ),
            ("bar", "Foo/bar", "Foo/bar", "", "Foo"),
            ("bar", "FOO/bar", "FOO/bar", "", "FOO"),
        ];
        for (remote, familiar, full, ambiguous, domain) in cases {
            let mut inputs = vec![familiar, full];
            if !ambiguous.is_empty() {
                inputs.push(ambiguous);
            }
            for input in inputs {
                let r = named(input);
                assert_eq!(r.familiar_name(), familiar, "familiar of {input}");
                assert_eq!(r.to_string(), full, "full of {input}");
                assert_eq!(r.domain(), domain, "domain of {input}");
                assert_eq!(r.path(), remote, "path of {input}");
            }
        }
    }

    // normalize_test.go: TestParseAnyReference (the named cases) and TestNormalizedSplitHostname.
    #[test]
    fn normalized_equivalents_and_split() {
        let d = "sha256:dbcc1c35ac38df41fd2f5e4130b32ffdb93ebae8b3dbe638c23575912276fc9c";
        let cases = [
            ("redis".to_string(), "docker.io/library/redis".to_string()),
            (
                "redis:latest".into(),
                "docker.io/library/redis:latest".into(),
            ),
            (
                "docker.io/library/redis:latest".into(),
                "docker.io/library/redis:latest".into(),
            ),
            (format!("redis@{d}"), format!("docker.io/library/redis@{d}")),
            (
                format!("docker.io/library/redis@{d}"),
                format!("docker.io/library/redis@{d}"),
            ),
            ("dmcgowan/myapp".into(), "docker.io/dmcgowan/myapp".into()),
            (
                "dmcgowan/myapp:latest".into(),
                "docker.io/dmcgowan/myapp:latest".into(),
            ),
            (
                "docker.io/mcgowan/myapp:latest".into(),
                "docker.io/mcgowan/myapp:latest".into(),
            ),
            (
                format!("dmcgowan/myapp@{d}"),
                format!("docker.io/dmcgowan/myapp@{d}"),
            ),
            (
                "dbcc1c35ac38df41fd2f5e4130b32ffdb93ebae8b3dbe638c23575912276fc9".into(),
                "docker.io/library/dbcc1c35ac38df41fd2f5e4130b32ffdb93ebae8b3dbe638c23575912276fc9"
                    .into(),
            ),
            ("dbcc1".into(), "docker.io/library/dbcc1".into()),
        ];
        for (input, full) in cases {
            assert_eq!(named(&input).to_string(), full, "{input}");
        }
        for (input, domain, path) in [
            ("test.com/foo", "test.com", "foo"),
            ("test_com/foo", "docker.io", "test_com/foo"),
            ("docker/migrator", "docker.io", "docker/migrator"),
            ("test.com:8080/foo", "test.com:8080", "foo"),
            ("test-com:8080/foo", "test-com:8080", "foo"),
            ("foo", "docker.io", "library/foo"),
            ("xn--n3h.com/foo", "xn--n3h.com", "foo"),
            ("xn--n3h.com:18080/foo", "xn--n3h.com:18080", "foo"),
            ("docker.io/foo", "docker.io", "library/foo"),
            ("docker.io/library/foo", "docker.io", "library/foo"),
            ("docker.io/library/foo/bar", "docker.io", "library/foo/bar"),
        ] {
            let r = named(input);
            assert_eq!((r.domain(), r.path()), (domain, path), "{input}");
        }
    }

    // reference_test.go: TestReferenceParse, the cases that hold with a domain in front
    // (parse_strict is given what ParseNormalizedNamed gives it: always a domain).
    #[test]
    fn strict_parse_table() {
        let ok = [
            (
                "test.com/repo:tag",
                "test.com",
                "test.com/repo",
                Some("tag"),
                None,
            ),
            ("test:5000/repo", "test:5000", "test:5000/repo", None, None),
            (
                "test:5000/repo:tag",
                "test:5000",
                "test:5000/repo",
                Some("tag"),
                None,
            ),
            (
                &*format!("test:5000/repo@{FFF}"),
                "test:5000",
                "test:5000/repo",
                None,
                Some(FFF),
            ),
            (
                &*format!("test:5000/repo:tag@{FFF}"),
                "test:5000",
                "test:5000/repo",
                Some("tag"),
                Some(FFF),
            ),
            (
                "sub-dom1.foo.com/bar/baz/quux",
                "sub-dom1.foo.com",
                "sub-dom1.foo.com/bar/baz/quux",
                None,
                None,
            ),
            (
                "sub-dom1.foo.com/bar/baz/quux:some-long-tag",
                "sub-dom1.foo.com",
                "sub-dom1.foo.com/bar/baz/quux",
                Some("some-long-tag"),
                None,
            ),
            (
                "b.gcr.io/test.example.com/my-app:test.example.com",
                "b.gcr.io",
                "b.gcr.io/test.example.com/my-app",
                Some("test.example.com"),
                None,
            ),
            (
                "xn--n3h.com/myimage:xn--n3h.com",
                "xn--n3h.com",
                "xn--n3h.com/myimage",
                Some("xn--n3h.com"),
                None,
            ),
            (
                "foo/foo_bar.com:8080",
                "foo",
                "foo/foo_bar.com",
                Some("8080"),
                None,
            ),
            (
                "203.0.113.9/repo",
                "203.0.113.9",
                "203.0.113.9/repo",
                None,
                None,
            ),
            (
                "203.0.113.9:5000/repo",
                "203.0.113.9:5000",
                "203.0.113.9:5000/repo",
                None,
                None,
            ),
            (
                "203.0.113.9:5000/repo:5050",
                "203.0.113.9:5000",
                "203.0.113.9:5000/repo",
                Some("5050"),
                None,
            ),
            (
                "[2001:db8::1]/repo",
                "[2001:db8::1]",
                "[2001:db8::1]/repo",
                None,
                None,
            ),
            (
                "[2001:db8:1:2:3:4:5:6]/repo:tag",
                "[2001:db8:1:2:3:4:5:6]",
                "[2001:db8:1:2:3:4:5:6]/repo",
                Some("tag"),
                None,
            ),
            (
                "[2001:db8::1]:5000/repo",
                "[2001:db8::1]:5000",
                "[2001:db8::1]:5000/repo",
                None,
                None,
            ),
            (
                "[2001:db8::1]:5000/repo:tag",
                "[2001:db8::1]:5000",
                "[2001:db8::1]:5000/repo",
                Some("tag"),
                None,
            ),
            (
                &*format!("[2001:db8::1]:5000/repo:tag@{FFF}"),
                "[2001:db8::1]:5000",
                "[2001:db8::1]:5000/repo",
                Some("tag"),
                Some(FFF),
            ),
            (
                "[2001:db8::]:5000/repo",
                "[2001:db8::]:5000",
                "[2001:db8::]:5000/repo",
                None,
                None,
            ),
            (
                "[::1]:5000/repo",
                "[::1]:5000",
                "[::1]:5000/repo",
                None,
                None,
            ),
            (
                "lowercase/x:Uppercase",
                "lowercase",
                "lowercase/x",
                Some("Uppercase"),
                None,
            ),
        ];
        for (input, domain, name, tag, digest) in ok {
            let r = parse_strict(input).unwrap_or_else(|e| panic!("{input}: {e}"));
            assert_eq!(r.to_string(), input);
            assert_eq!(r.domain(), domain, "{input}");
            assert_eq!(r.name(), name, "{input}");
            assert_eq!(r.tag(), tag, "{input}");
            assert_eq!(r.digest().map(|d| d.as_str()), digest, "{input}");
        }
        let long_ok = format!("{}a:tag-puts-this-over-max", "a/".repeat(127));
        assert_eq!(
            parse_strict(&long_ok).unwrap().tag(),
            Some("tag-puts-this-over-max")
        );
        let bad = [
            ("", ReferenceError::NameEmpty),
            (":justtag", ReferenceError::InvalidFormat),
            (&*format!("@{FFF}"), ReferenceError::InvalidFormat),
            (
                "x/repo@sha256:ffffffffffffffffffffffffffffffffff",
                ReferenceError::DigestLength,
            ),
            ("x/Uppercase:tag", ReferenceError::ContainsUppercase),
            (
                "test:5000/Uppercase/lowercase:tag",
                ReferenceError::ContainsUppercase,
            ),
            // The path (after the domain) is what is limited to 255 characters.
            (
                &*format!("x/{}a:tag", "a/".repeat(128)),
                ReferenceError::NameTooLong,
            ),
            ("aa/asdf$$^/aa", ReferenceError::InvalidFormat),
            ("[2001:db8::1]", ReferenceError::InvalidFormat),
            ("[2001:db8::1]:5000", ReferenceError::InvalidFormat),
            ("[2001:db8::1]:tag", ReferenceError::InvalidFormat),
            ("[fe80::1%eth0]:5000/repo", ReferenceError::InvalidFormat),
            (
                "[fe80::1%@invalidzone]:5000/repo",
                ReferenceError::InvalidFormat,
            ),
        ];
        for (input, err) in bad {
            assert_eq!(parse_strict(input).unwrap_err(), err, "{input:?}");
        }
    }

    #[test]
    fn with_tag_and_digest() {
        let r = Reference::parse("test.com:8000/foo").unwrap();
        assert_eq!(
            r.with_tag("TAG5").unwrap().to_string(),
            "test.com:8000/foo:TAG5"
        );
        assert_eq!(r.with_tag("-foo"), Err(ReferenceError::InvalidTag));
        let d: Digest = FFF.parse().unwrap();
        assert_eq!(
            r.with_digest(d).to_string(),
            format!("test.com:8000/foo@{FFF}")
        );
    }
}
