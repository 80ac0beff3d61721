//! Choosing one image out of an index (manifest list) by platform, as `--platform` does.

use super::RegistryError;
use crate::image::oci::{Descriptor, Platform};
use std::fmt;
use std::str::FromStr;

/// `os/arch[/variant]`, e.g. `linux/amd64` or `linux/arm64/v8`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlatformSpec {
    pub os: String,
    pub architecture: String,
    pub variant: Option<String>,
}

impl Default for PlatformSpec {
    fn default() -> Self {
        PlatformSpec {
            os: "linux".into(),
            architecture: "amd64".into(),
            variant: None,
        }
    }
}

impl FromStr for PlatformSpec {
    type Err = RegistryError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let parts: Vec<&str> = s.split('/').collect();
        let bad = || RegistryError::Invalid {
            what: "platform".into(),
            reason: format!("{s:?}: expected os/arch[/variant]"),
        };
        if parts.iter().any(|p| p.is_empty()) {
            return Err(bad());
        }
        let lower = |p: &str| p.to_ascii_lowercase();
        match parts.as_slice() {
            [os, arch] => Ok(PlatformSpec::normalized(&lower(os), &lower(arch), None)),
            [os, arch, variant] => Ok(PlatformSpec::normalized(
                &lower(os),
                &lower(arch),
                Some(&lower(variant)),
            )),
            _ => Err(bad()),
        }
    }
}

impl PlatformSpec {
    /// containerd's normalisation of architecture aliases.
    fn normalized(os: &str, arch: &str, variant: Option<&str>) -> PlatformSpec {
        let (arch, variant) = match (arch, variant) {
            ("x86_64" | "x86-64", v) => ("amd64", v),
            ("aarch64", v) => ("arm64", v),
            ("arm64", Some("8") | Some("v8")) => ("arm64", None),
            ("armhf", _) => ("arm", Some("v7")),
            ("armel", _) => ("arm", Some("v6")),
            ("i386", v) => ("386", v),
            (a, v) => (a, v),
        };
        PlatformSpec {
            os: os.to_string(),
            architecture: arch.to_string(),
            variant: variant.map(str::to_string),
        }
    }

    /// Whether an index entry's platform is this one. A wanted variant must match; when none
    /// is wanted, any variant does (ARM defaults aside, which kiln does not guess).
    pub fn matches(&self, p: &Platform) -> bool {
        let theirs = PlatformSpec::normalized(
            &p.os.to_ascii_lowercase(),
            &p.architecture.to_ascii_lowercase(),
            p.variant.as_deref(),
        );
        theirs.os == self.os
            && theirs.architecture == self.architecture
            && match &self.variant {
                None => true,
                Some(v) => theirs.variant.as_deref() == Some(v),
            }
    }

    /// The index entry for this platform, or an error listing what the index offers.
    pub fn select<'a>(&self, manifests: &'a [Descriptor]) -> Result<&'a Descriptor, RegistryError> {
        let candidates: Vec<&Descriptor> = manifests
            .iter()
            .filter(|d| d.platform.as_ref().is_some_and(|p| self.matches(p)))
            .collect();
        // An exact variant match beats a variant-less entry when no variant was asked for.
        let best = candidates
            .iter()
            .find(|d| {
                d.platform
                    .as_ref()
                    .and_then(|p| p.variant.as_ref())
                    .is_none()
            })
            .or(candidates.first());
        best.copied()
            .ok_or_else(|| RegistryError::PlatformNotFound {
                wanted: self.to_string(),
                available: {
                    let list: Vec<String> = manifests
                        .iter()
                        .filter_map(|d| d.platform.as_ref())
                        .filter(|p| p.os != "unknown")
                        .map(|p| {
                            let mut s = format!("{}/{}", p.os, p.architecture);
                            if let Some(v) = &p.variant {
                                s.push('/');
                                s.push_str(v);
                            }
                            s
                        })
                        .collect();
                    if list.is_empty() {
                        "none".to_string()
                    } else {
                        list.join(", ")
                    }
                },
            })
    }
}

impl fmt::Display for PlatformSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.os, self.architecture)?;
        if let Some(v) = &self.variant {
            write!(f, "/{v}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::image::digest::Digest;

    fn entry(os: &str, arch: &str, variant: Option<&str>, n: u8) -> Descriptor {
        Descriptor {
            media_type: crate::image::oci::MEDIA_OCI_MANIFEST.into(),
            digest: Digest::of(&[n]),
            size: 1,
            platform: Some(Platform {
                architecture: arch.into(),
                os: os.into(),
                os_version: None,
                os_features: vec![],
                variant: variant.map(Into::into),
            }),
            annotations: Default::default(),
            urls: vec![],
        }
    }

    #[test]
    fn parses_and_normalises() {
        let p: PlatformSpec = "linux/x86_64".parse().unwrap();
        assert_eq!(p.to_string(), "linux/amd64");
        let p: PlatformSpec = "linux/arm64/v8".parse().unwrap();
        assert_eq!(p.to_string(), "linux/arm64");
        let p: PlatformSpec = "linux/arm/v7".parse().unwrap();
        assert_eq!(p.variant.as_deref(), Some("v7"));
        assert!("linux".parse::<PlatformSpec>().is_err());
        assert!("linux//".parse::<PlatformSpec>().is_err());
    }

    #[test]
    fn selects_from_index_and_names_whats_available() {
        let list = vec![
            entry("linux", "arm", Some("v6"), 1),
            entry("linux", "arm", Some("v7"), 2),
            entry("linux", "amd64", None, 3),
            entry("unknown", "unknown", None, 4),
        ];
        let d = PlatformSpec::default().select(&list).unwrap();
        assert_eq!(d.digest, Digest::of(&[3]));
        let d = "linux/arm/v7"
            .parse::<PlatformSpec>()
            .unwrap()
            .select(&list)
            .unwrap();
        assert_eq!(d.digest, Digest::of(&[2]));
        let e = "linux/s390x"
            .parse::<PlatformSpec>()
            .unwrap()
            .select(&list)
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            "no matching manifest for linux/s390x in the manifest list entries (available: linux/arm/v6, linux/arm/v7, linux/amd64)"
        );
    }
}
