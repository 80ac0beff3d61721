//! Images and names: `index.json` entries (one per tag, plus untagged "dangling" images),
//! resolution of what users type (names, digests, short image IDs) and docker's rules for
//! tagging and removal. An image's ID is its config digest, as in docker.

use super::error::{Result, StoreError};
use super::{atomic, names, Store, MAX_JSON};
use crate::image::digest::Digest;
use crate::image::oci::{
    Descriptor, ImageConfig, Index, Manifest, ANNOTATION_REF_NAME, MEDIA_DOCKER_CONFIG,
    MEDIA_DOCKER_MANIFEST, MEDIA_DOCKER_MANIFEST_LIST, MEDIA_OCI_INDEX, MEDIA_OCI_MANIFEST,
};
use std::collections::{BTreeMap, BTreeSet};
use std::io;

/// The image ID (config digest), cached on each index entry so listing needs no manifests.
pub const ANNOTATION_IMAGE_ID: &str = "io.kiln.image.id";
/// When the entry was written (RFC 3339): docker's `LastTagTime`.
pub const ANNOTATION_CREATED_AT: &str = "io.kiln.image.created-at";

/// One `index.json` entry: a tag (or no tag) pointing at a manifest.
#[derive(Debug, Clone)]
pub struct ImageEntry {
    /// Full name with tag (`docker.io/library/busybox:latest`); `None` for a dangling image.
    pub name: Option<String>,
    pub manifest: Descriptor,
    pub id: Digest,
    pub created_at: Option<String>,
}

/// A stored image, with its manifest and config as they were received.
#[derive(Debug, Clone)]
pub struct Image {
    pub id: Digest,
    pub manifest_digest: Digest,
    pub manifest_media_type: String,
    pub manifest: Manifest,
    pub manifest_bytes: Vec<u8>,
    pub config: ImageConfig,
    pub config_bytes: Vec<u8>,
}

/// What a user's image reference resolved to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolved {
    pub id: Digest,
    pub manifest: Digest,
    /// The tag named, when the reference was a name rather than an ID or digest.
    pub name: Option<String>,
}

/// What `remove` did, in docker's order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Removal {
    Untagged(String),
    Deleted(Digest),
}

fn is_manifest_type(mt: &str) -> bool {
    mt == MEDIA_OCI_MANIFEST || mt == MEDIA_DOCKER_MANIFEST
}

/// The media type of a manifest document, from its own field or its config's.
pub fn manifest_media_type(m: &Manifest) -> &'static str {
    match m.media_type.as_deref() {
        Some(MEDIA_DOCKER_MANIFEST) => MEDIA_DOCKER_MANIFEST,
        Some(_) => MEDIA_OCI_MANIFEST,
        None if m.config.media_type == MEDIA_DOCKER_CONFIG => MEDIA_DOCKER_MANIFEST,
        None => MEDIA_OCI_MANIFEST,
    }
}

/// Parses a manifest, refusing indexes and schema 1 with a clear message.
pub fn parse_manifest(bytes: &[u8]) -> Result<Manifest> {
    #[derive(serde::Deserialize)]
    struct Probe {
        #[serde(rename = "mediaType", default)]
        media_type: Option<String>,
        #[serde(rename = "schemaVersion", default)]
        schema_version: Option<u32>,
        #[serde(default)]
        manifests: Option<serde_json::Value>,
    }
    let probe: Probe =
        serde_json::from_slice(bytes).map_err(|e| StoreError::corrupt("manifest", e))?;
    let mt = probe.media_type.as_deref().unwrap_or("");
    if probe.manifests.is_some() || mt == MEDIA_OCI_INDEX || mt == MEDIA_DOCKER_MANIFEST_LIST {
        return Err(StoreError::Unsupported(
            "an image index where an image manifest was expected".into(),
        ));
    }
    if probe.schema_version != Some(2) {
        return Err(StoreError::Unsupported(format!(
            "manifest schema version {:?} (only schema 2 and OCI are supported)",
            probe.schema_version
        )));
    }
    if !mt.is_empty() && !is_manifest_type(mt) {
        return Err(StoreError::Unsupported(format!("manifest media type {mt}")));
    }
    serde_json::from_slice(bytes).map_err(|e| StoreError::corrupt("manifest", e))
}

fn now_rfc3339() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Nanos, true)
}

impl Store {
    /// The current `index.json` (empty if none yet). The file is replaced atomically, so no
    /// lock is needed to read a consistent version.
    pub fn read_index(&self) -> Result<Index> {
        let path = self.index_path();
        match std::fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes)
                .map_err(|e| StoreError::corrupt(path.display().to_string(), e)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(Index {
                schema_version: 2,
                media_type: Some(MEDIA_OCI_INDEX.to_string()),
                manifests: Vec::new(),
                annotations: BTreeMap::new(),
            }),
            Err(e) => Err(StoreError::Io {
                context: format!("reading {}", path.display()),
                source: e,
            }),
        }
    }

    pub(crate) fn write_index(&self, index: &Index) -> Result<()> {
        let json = serde_json::to_vec_pretty(index).expect("index serialises");
        atomic::write_file(&self.tmp_dir(), &self.index_path(), &json)
    }

    /// Runs `f` on the index under the index lock and writes the result.
    pub(crate) fn update_index<T>(&self, f: impl FnOnce(&mut Index) -> Result<T>) -> Result<T> {
        let _g = self.lock_index()?;
        let mut index = self.read_index()?;
        let before = serde_json::to_vec(&index).ok();
        let out = f(&mut index)?;
        // A rebuild that names the same image again changes nothing: no write, no fsync.
        if before.is_none() || before != serde_json::to_vec(&index).ok() {
            self.write_index(&index)?;
        }
        Ok(out)
    }

    /// All index entries, in index order.
    pub fn entries(&self) -> Result<Vec<ImageEntry>> {
        let index = self.read_index()?;
        let mut out = Vec::new();
        for d in index.manifests {
            let id = match d
                .annotations
                .get(ANNOTATION_IMAGE_ID)
                .and_then(|s| s.parse::<Digest>().ok())
            {
                Some(id) => id,
                None => match self.read_blob(&d.digest).and_then(|b| parse_manifest(&b)) {
                    Ok(m) => m.config.digest,
                    Err(_) => continue, // not an image we can show (an index, say)
                },
            };
            out.push(ImageEntry {
                name: d.annotations.get(ANNOTATION_REF_NAME).cloned(),
                created_at: d.annotations.get(ANNOTATION_CREATED_AT).cloned(),
                manifest: d,
                id,
            });
        }
        Ok(out)
    }

    /// Reads an image by manifest digest.
    pub fn image(&self, manifest: &Digest) -> Result<Image> {
        let manifest_bytes = self.read_blob(manifest)?;
        let m = parse_manifest(&manifest_bytes)?;
        if m.config.size > MAX_JSON {
            return Err(StoreError::corrupt("image config", "too large"));
        }
        let config_bytes = self.read_blob(&m.config.digest)?;
        let config: ImageConfig = serde_json::from_slice(&config_bytes)
            .map_err(|e| StoreError::corrupt(format!("image config {}", m.config.digest), e))?;
        Ok(Image {
            id: m.config.digest.clone(),
            manifest_digest: manifest.clone(),
            manifest_media_type: manifest_media_type(&m).to_string(),
            manifest: m,
            manifest_bytes,
            config,
            config_bytes,
        })
    }

    /// Adds an image whose config and layers are already stored: stores the manifest bytes
    /// as they are, then names it `names` (full `repo:tag` names) in one index update. With
    /// no names the image is kept untagged unless the store already has it.
    pub fn add_image(&self, manifest_bytes: &[u8], names: &[String]) -> Result<Image> {
        let mut v = self.add_images(&[(manifest_bytes.to_vec(), names.to_vec())])?;
        Ok(v.remove(0))
    }

    /// [`Store::add_image`] for several images, all named in a single index update: either
    /// every name is written or none is.
    pub fn add_images(&self, images: &[(Vec<u8>, Vec<String>)]) -> Result<Vec<Image>> {
        for n in images.iter().flat_map(|(_, names)| names) {
            check_full_name(n)?;
        }
        let _g = self.ingest()?;
        let mut staged = Vec::new();
        for (manifest_bytes, names) in images {
            let image = self.stage_image(manifest_bytes)?;
            let desc = Descriptor {
                media_type: image.manifest_media_type.clone(),
                digest: image.manifest_digest.clone(),
                size: manifest_bytes.len() as u64,
                platform: None,
                annotations: BTreeMap::new(),
                urls: Vec::new(),
            };
            staged.push((image, desc, names));
        }
        self.update_index(|index| {
            for (image, desc, names) in &staged {
                if names.is_empty() && !index.manifests.iter().any(|e| e.digest == desc.digest) {
                    index.manifests.push(entry(desc, &image.id, None));
                }
                for n in names.iter() {
                    set_name(index, n, desc, &image.id);
                }
            }
            Ok(())
        })?;
        Ok(staged.into_iter().map(|(image, _, _)| image).collect())
    }

    /// Checks that an image's blobs are all present and consistent, and stores its manifest.
    fn stage_image(&self, manifest_bytes: &[u8]) -> Result<Image> {
        let m = parse_manifest(manifest_bytes)?;
        for d in std::iter::once(&m.config).chain(m.layers.iter()) {
            let size = self.blob_size(&d.digest)?;
            if size != d.size {
                return Err(StoreError::SizeMismatch {
                    digest: d.digest.clone(),
                    expected: d.size,
                    actual: size,
                });
            }
        }
        let digest = self.put_blob(manifest_bytes, None)?;
        let image = self.image(&digest)?;
        if image.config.rootfs.diff_ids.len() != image.manifest.layers.len() {
            return Err(StoreError::corrupt(
                "image",
                format!(
                    "config lists {} layers, manifest {}",
                    image.config.rootfs.diff_ids.len(),
                    image.manifest.layers.len()
                ),
            ));
        }
        Ok(image)
    }

    /// Points `name` (full `repo:tag`) at the image `target`.
    pub fn tag(&self, target: &Resolved, name: &str) -> Result<()> {
        check_full_name(name)?;
        self.update_index(|index| {
            let found = index
                .manifests
                .iter()
                .find(|e| e.digest == target.manifest)
                .cloned()
                .ok_or_else(|| StoreError::NoSuchImage(target.id.to_string()))?;
            set_name(index, name, &found, &target.id);
            Ok(())
        })
    }

    /// Resolves what a user typed: a name (`busybox`, `busybox:1.36`, `x@sha256:…`), a full
    /// image ID (`sha256:…`), or a unique prefix of one.
    pub fn resolve(&self, s: &str) -> Result<Resolved> {
        let entries = self.entries()?;
        let by_id = |prefix: &str| -> Result<Option<Resolved>> {
            let ids: BTreeSet<&Digest> = entries
                .iter()
                .filter(|e| e.id.hex().starts_with(prefix))
                .map(|e| &e.id)
                .collect();
            if ids.len() > 1 {
                return Err(StoreError::Ambiguous(format!(
                    "multiple IDs found with provided prefix: {prefix}"
                )));
            }
            Ok(ids.into_iter().next().map(|id| {
                let e = entries
                    .iter()
                    .filter(|e| &e.id == id)
                    .max_by_key(|e| e.name.is_some())
                    .expect("id came from entries");
                Resolved {
                    id: id.clone(),
                    manifest: e.manifest.digest.clone(),
                    name: None,
                }
            }))
        };
        if let Some(hex) = s.strip_prefix("sha256:") {
            if let Some(r) = entries.iter().find(|e| e.manifest.digest.hex() == hex) {
                return Ok(Resolved {
                    id: r.id.clone(),
                    manifest: r.manifest.digest.clone(),
                    name: None,
                });
            }
            if !hex.is_empty() && hex.len() <= 64 && is_hex(hex) {
                if let Some(r) = by_id(hex)? {
                    return Ok(r);
                }
            }
            return Err(StoreError::NoSuchImage(s.to_string()));
        }
        if let Ok(n) = names::parse(s) {
            if let Some(d) = &n.digest {
                if let Some(e) = entries.iter().find(|e| {
                    &e.manifest.digest == d
                        && e.name.as_deref().map(|x| names::split_tag(x).0) == Some(&n.repo)
                }) {
                    return Ok(Resolved {
                        id: e.id.clone(),
                        manifest: e.manifest.digest.clone(),
                        name: None,
                    });
                }
            } else {
                let full = n.tagged();
                if let Some(e) = entries.iter().find(|e| e.name.as_deref() == Some(&full)) {
                    return Ok(Resolved {
                        id: e.id.clone(),
                        manifest: e.manifest.digest.clone(),
                        name: Some(full),
                    });
                }
            }
        }
        if s.len() <= 64 && is_hex(s) {
            if let Some(r) = by_id(s)? {
                return Ok(r);
            }
        }
        let shown = match names::parse(s) {
            Ok(n) if n.digest.is_none() => names::familiar(&n.tagged()),
            _ => s.to_string(),
        };
        Err(StoreError::NoSuchImage(shown))
    }

    /// Full tag names of the image `id`.
    pub fn names_of(&self, id: &Digest) -> Result<Vec<String>> {
        Ok(self
            .entries()?
            .into_iter()
            .filter(|e| &e.id == id)
            .filter_map(|e| e.name)
            .collect())
    }

    /// `rmi` for one reference, with docker's rules: a name is untagged and the image
    /// deleted once nothing names it; an ID deletes the image and all its tags, but only
    /// with `force` when the tags span several repositories.
    pub fn remove(&self, s: &str, force: bool) -> Result<Vec<Removal>> {
        let r = self.resolve(s)?;
        // manifest → image ID, for entries written without our ID annotation (the mapping
        // is content-addressed, so reading it outside the lock is safe)
        let ids: BTreeMap<Digest, String> = self
            .entries()?
            .into_iter()
            .map(|e| (e.manifest.digest, e.id.to_string()))
            .collect();
        self.update_index(|index| {
            let mut out = Vec::new();
            let id_of = |e: &Descriptor| {
                e.annotations
                    .get(ANNOTATION_IMAGE_ID)
                    .cloned()
                    .or_else(|| ids.get(&e.digest).cloned())
            };
            let idstr = Some(r.id.to_string());
            if let Some(name) = &r.name {
                index
                    .manifests
                    .retain(|e| e.annotations.get(ANNOTATION_REF_NAME) != Some(name));
                out.push(Removal::Untagged(names::familiar(name)));
                let still_named = index.manifests.iter().any(|e| {
                    id_of(e) == idstr && e.annotations.contains_key(ANNOTATION_REF_NAME)
                });
                if still_named {
                    return Ok(out);
                }
            } else {
                let tags: Vec<String> = index
                    .manifests
                    .iter()
                    .filter(|e| id_of(e) == idstr)
                    .filter_map(|e| e.annotations.get(ANNOTATION_REF_NAME).cloned())
                    .collect();
                let repos: BTreeSet<&str> = tags.iter().map(|t| names::split_tag(t).0).collect();
                if repos.len() > 1 && !force {
                    return Err(StoreError::Conflict(format!(
                        "unable to delete {} (must be forced) - image is referenced in multiple repositories",
                        r.id.short()
                    )));
                }
                out.extend(tags.iter().map(|t| Removal::Untagged(names::familiar(t))));
            }
            index.manifests.retain(|e| id_of(e) != idstr);
            out.push(Removal::Deleted(r.id.clone()));
            Ok(out)
        })
    }
}

fn is_hex(s: &str) -> bool {
    s.bytes()
        .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

fn check_full_name(n: &str) -> Result<()> {
    match names::parse(n) {
        Ok(p) if p.digest.is_none() && p.tag.is_some() && p.tagged() == n => Ok(()),
        _ => Err(StoreError::InvalidReference(format!(
            "{n} (the store wants a full name with a tag, such as docker.io/library/busybox:latest)"
        ))),
    }
}

fn entry(desc: &Descriptor, id: &Digest, name: Option<&str>) -> Descriptor {
    let mut d = desc.clone();
    d.annotations.clear();
    d.annotations
        .insert(ANNOTATION_IMAGE_ID.to_string(), id.to_string());
    d.annotations
        .insert(ANNOTATION_CREATED_AT.to_string(), now_rfc3339());
    if let Some(n) = name {
        d.annotations
            .insert(ANNOTATION_REF_NAME.to_string(), n.to_string());
    }
    d
}

/// Moves `name` to `desc`. An image that loses its last name stays, untagged (docker's
/// `<none>`), and an untagged entry for `desc` is dropped now that it has a name.
fn set_name(index: &mut Index, name: &str, desc: &Descriptor, id: &Digest) {
    let already = |e: &Descriptor| {
        e.digest == desc.digest
            && e.annotations.get(ANNOTATION_REF_NAME).map(String::as_str) == Some(name)
    };
    if index.manifests.iter().any(already) {
        return;
    }
    let mut orphans = Vec::new();
    index.manifests.retain(|e| {
        if e.annotations.get(ANNOTATION_REF_NAME).map(String::as_str) == Some(name) {
            if e.digest != desc.digest {
                orphans.push(e.clone());
            }
            false
        } else {
            e.digest != desc.digest || e.annotations.contains_key(ANNOTATION_REF_NAME)
        }
    });
    for o in orphans {
        if !index.manifests.iter().any(|e| e.digest == o.digest) {
            let mut d = o;
            d.annotations.remove(ANNOTATION_REF_NAME);
            index.manifests.push(d);
        }
    }
    index.manifests.push(entry(desc, id, Some(name)));
}
