//! `kiln load`: reads a docker-archive or an OCI layout tar (optionally gzip/zstd
//! compressed), auto-detected.
//!
//! One streaming pass stores every file of the archive as a candidate blob (hashed on the
//! way in; a `blobs/sha256/<hex>` path must match its content) and keeps the small metadata
//! files in memory. Then each image is checked completely (config, layer diff_ids against
//! the config, sizes) before any name is written; all names go in last, in one index
//! update. A failed load adds no tag; the orphaned blobs are collected right away when no
//! other import runs, else by `image prune`.

use super::ANNOTATION_CONTAINERD_NAME;
use crate::image::digest::Digest;
use crate::image::oci::{
    Descriptor, ImageConfig, Index, Manifest, ANNOTATION_REF_NAME, MEDIA_DOCKER_MANIFEST,
    MEDIA_DOCKER_MANIFEST_LIST, MEDIA_OCI_CONFIG, MEDIA_OCI_INDEX, MEDIA_OCI_LAYER,
    MEDIA_OCI_LAYER_GZIP, MEDIA_OCI_LAYER_ZSTD, MEDIA_OCI_MANIFEST,
};
use crate::store::error::{IoContext, Result, StoreError};
use crate::store::layers::{decompress, Compression};
use crate::store::{names, Store, MAX_JSON};
use serde::Deserialize;
use std::collections::{BTreeMap, HashMap};
use std::io::{self, Read};
use std::path::{Component, Path};

/// What a load added: an image under a name, or an untagged image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Loaded {
    /// Full name (`docker.io/library/busybox:latest`).
    Tag(String),
    Id(Digest),
}

const METADATA_FILES: [&str; 4] = ["manifest.json", "index.json", "oci-layout", "repositories"];

/// What the streaming pass found.
#[derive(Default)]
struct Contents {
    /// Archive path → stored blob digest and size.
    files: HashMap<String, (Digest, u64)>,
    /// Archive path → the path a symlink or hard link points at.
    links: HashMap<String, String>,
    metadata: HashMap<String, Vec<u8>>,
}

impl Contents {
    fn file(&self, path: &str) -> Result<&(Digest, u64)> {
        let mut p = clean(path).ok_or_else(|| bad_archive(format!("bad path {path:?}")))?;
        for _ in 0..16 {
            if let Some(f) = self.files.get(&p) {
                return Ok(f);
            }
            match self.links.get(&p) {
                Some(next) => p = next.clone(),
                None => break,
            }
        }
        Err(bad_archive(format!("{path} is missing")))
    }
}

fn bad_archive(detail: impl ToString) -> StoreError {
    StoreError::corrupt("archive", detail)
}

/// Normalises an archive path (`./a/b` → `a/b`); `None` for absolute paths or `..`.
fn clean(p: &str) -> Option<String> {
    let mut parts = Vec::new();
    for c in Path::new(p).components() {
        match c {
            Component::Normal(n) => parts.push(n.to_str()?.to_string()),
            Component::CurDir => {}
            _ => return None,
        }
    }
    Some(parts.join("/"))
}

/// The target of a link at `at` in archive terms.
fn link_target(at: &str, target: &Path, symlink: bool) -> Option<String> {
    let t = target.to_str()?;
    if !symlink {
        return clean(t);
    }
    let base = Path::new(at).parent().unwrap_or(Path::new(""));
    let mut parts: Vec<String> = Vec::new();
    for c in base.join(t).components() {
        match c {
            Component::Normal(n) => parts.push(n.to_str()?.to_string()),
            Component::ParentDir => {
                parts.pop()?;
            }
            Component::CurDir => {}
            _ => return None,
        }
    }
    Some(parts.join("/"))
}

/// Loads every image of the archive `r` into `store`.
pub fn load(store: &Store, r: impl Read) -> Result<Vec<Loaded>> {
    let result = {
        let _g = store.ingest()?;
        load_locked(store, r)
    };
    if result.is_err() {
        // Best effort: the error is what matters.
        let _ = store.try_collect();
    }
    result
}

struct Prepared {
    manifest: Vec<u8>,
    names: Vec<String>,
}

fn load_locked(store: &Store, r: impl Read) -> Result<Vec<Loaded>> {
    let contents = read_archive(store, r)?;
    let prepared = if contents.metadata.contains_key("manifest.json") {
        prepare_docker(store, &contents)?
    } else if contents.metadata.contains_key("index.json") {
        prepare_oci(store, &contents)?
    } else {
        return Err(bad_archive(
            "neither manifest.json (docker-archive) nor index.json (OCI layout) found",
        ));
    };
    let batch: Vec<(Vec<u8>, Vec<String>)> = prepared
        .into_iter()
        .map(|p| (p.manifest, p.names))
        .collect();
    let images = store.add_images(&batch)?;
    let mut loaded = Vec::new();
    for (img, (_, names)) in images.into_iter().zip(batch) {
        if names.is_empty() {
            loaded.push(Loaded::Id(img.id));
        } else {
            loaded.extend(names.into_iter().map(Loaded::Tag));
        }
    }
    Ok(loaded)
}

fn tar_error(e: io::Error) -> StoreError {
    match e.kind() {
        io::ErrorKind::InvalidData | io::ErrorKind::UnexpectedEof | io::ErrorKind::Other => {
            bad_archive(e)
        }
        _ => StoreError::Io {
            context: "reading the archive".into(),
            source: e,
        },
    }
}

fn read_archive(store: &Store, r: impl Read) -> Result<Contents> {
    let mut contents = Contents::default();
    let mut archive = tar::Archive::new(decompress(r)?);
    let mut any = false;
    for entry in archive.entries().map_err(tar_error)? {
        let mut entry = entry.map_err(tar_error)?;
        any = true;
        let raw = entry
            .path()
            .map_err(tar_error)?
            .to_string_lossy()
            .into_owned();
        let Some(path) = clean(&raw) else {
            return Err(bad_archive(format!("unsafe path {raw:?}")));
        };
        let kind = entry.header().entry_type();
        if kind.is_symlink() || kind.is_hard_link() {
            let target = entry
                .link_name()
                .map_err(tar_error)?
                .ok_or_else(|| bad_archive(format!("link {raw} without a target")))?;
            let t = link_target(&path, &target, kind.is_symlink())
                .ok_or_else(|| bad_archive(format!("link {raw} points outside the archive")))?;
            contents.links.insert(path, t);
            continue;
        }
        if !kind.is_file() {
            continue;
        }
        if METADATA_FILES.contains(&path.as_str()) {
            let mut buf = Vec::new();
            (&mut entry)
                .take(MAX_JSON + 1)
                .read_to_end(&mut buf)
                .map_err(tar_error)?;
            if buf.len() as u64 > MAX_JSON {
                return Err(bad_archive(format!("{path} is too large")));
            }
            contents.metadata.insert(path, buf);
            continue;
        }
        let name = path.rsplit('/').next().unwrap_or("");
        if name == "VERSION" || name == "json" {
            continue; // docker's legacy per-layer files: nothing reads them
        }
        let expected = match path.strip_prefix("blobs/") {
            Some(rest) => match rest.split_once('/') {
                Some(("sha256", hex)) => Some(
                    format!("sha256:{hex}")
                        .parse::<Digest>()
                        .map_err(|_| bad_archive(format!("bad blob name {path}")))?,
                ),
                Some((alg, _)) => {
                    return Err(StoreError::Unsupported(format!("digest algorithm {alg}")))
                }
                None => None,
            },
            None => None,
        };
        let declared = entry.size();
        let mut w = store.blob_writer()?;
        let copied = io::copy(&mut entry, &mut w).map_err(|e| match e.kind() {
            io::ErrorKind::UnexpectedEof | io::ErrorKind::InvalidData => {
                bad_archive(format!("{path}: {e}"))
            }
            _ => StoreError::Io {
                context: format!("storing {path}"),
                source: e,
            },
        })?;
        if copied != declared {
            return Err(bad_archive(format!(
                "truncated: {path} has {copied} of its {declared} bytes"
            )));
        }
        let (digest, size) = w.commit(expected.as_ref()).map_err(|e| match e {
            StoreError::DigestMismatch { .. } => bad_archive(format!("{path}: {e}")),
            e => e,
        })?;
        contents.files.insert(path, (digest, size));
    }
    if !any {
        return Err(bad_archive("not a tar archive, or an empty one"));
    }
    Ok(contents)
}

fn parse_json<'a, T: Deserialize<'a>>(what: &str, bytes: &'a [u8]) -> Result<T> {
    serde_json::from_slice(bytes).map_err(|e| bad_archive(format!("{what}: {e}")))
}

#[derive(Deserialize)]
struct DockerItem {
    #[serde(rename = "Config")]
    config: String,
    #[serde(rename = "RepoTags", default)]
    repo_tags: Option<Vec<String>>,
    #[serde(rename = "Layers", default)]
    layers: Vec<String>,
}

fn read_config(store: &Store, digest: &Digest) -> Result<ImageConfig> {
    let bytes = store.read_blob(digest)?;
    parse_json(&format!("config {digest}"), &bytes)
}

fn prepare_docker(store: &Store, c: &Contents) -> Result<Vec<Prepared>> {
    let items: Vec<DockerItem> = parse_json("manifest.json", &c.metadata["manifest.json"])?;
    let mut out = Vec::new();
    for item in items {
        let (config_digest, config_size) = c.file(&item.config)?.clone();
        let config = read_config(store, &config_digest)?;
        if config.rootfs.diff_ids.len() != item.layers.len() {
            return Err(bad_archive(format!(
                "{}: config lists {} layers, manifest.json {}",
                item.config,
                config.rootfs.diff_ids.len(),
                item.layers.len()
            )));
        }
        let mut layers = Vec::new();
        for (path, diff_id) in item.layers.iter().zip(&config.rootfs.diff_ids) {
            let (digest, size) = c.file(path)?.clone();
            let media_type = {
                let mut f = store.open_blob(&digest)?;
                let mut head = [0u8; 4];
                let n = f.read(&mut head).ctx(|| format!("reading {path}"))?;
                match Compression::sniff(&head[..n]) {
                    Compression::None => MEDIA_OCI_LAYER,
                    Compression::Gzip => MEDIA_OCI_LAYER_GZIP,
                    Compression::Zstd => MEDIA_OCI_LAYER_ZSTD,
                }
            };
            store
                .register_layer_blob(&digest, media_type, Some(diff_id))
                .map_err(|e| match e {
                    StoreError::DigestMismatch { .. } | StoreError::Corrupt { .. } => {
                        bad_archive(format!("layer {path}: {e}"))
                    }
                    e => e,
                })?;
            layers.push(descriptor(media_type, digest, size));
        }
        let manifest = Manifest {
            schema_version: 2,
            media_type: Some(MEDIA_OCI_MANIFEST.to_string()),
            config: descriptor(MEDIA_OCI_CONFIG, config_digest, config_size),
            layers,
            annotations: BTreeMap::new(),
        };
        let names = item
            .repo_tags
            .unwrap_or_default()
            .iter()
            .map(|t| names::normalize_tagged(t))
            .collect::<Result<Vec<_>>>()?;
        out.push(Prepared {
            manifest: serde_json::to_vec(&manifest).expect("manifest serialises"),
            names,
        });
    }
    Ok(out)
}

fn descriptor(media_type: &str, digest: Digest, size: u64) -> Descriptor {
    Descriptor {
        media_type: media_type.to_string(),
        digest,
        size,
        platform: None,
        annotations: BTreeMap::new(),
        urls: Vec::new(),
    }
}

/// A blob of the OCI layout: from the archive (already verified by name), or already in
/// the store.
fn oci_blob(store: &Store, c: &Contents, d: &Descriptor) -> Result<()> {
    if !store.has_blob(&d.digest) {
        return Err(bad_archive(format!("blob {} is missing", d.digest)));
    }
    let size = match c.files.get(&format!("blobs/sha256/{}", d.digest.hex())) {
        Some((_, s)) => *s,
        None => store.blob_size(&d.digest)?,
    };
    if size != d.size {
        return Err(bad_archive(format!(
            "blob {}: descriptor says {} bytes, file has {size}",
            d.digest, d.size
        )));
    }
    Ok(())
}

fn host_platform() -> (&'static str, &'static str) {
    let arch = match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        "x86" => "386",
        "powerpc64" => "ppc64le",
        other => other,
    };
    ("linux", arch)
}

/// Picks the manifest for this host from an index.
fn pick_from_index(store: &Store, c: &Contents, d: &Descriptor) -> Result<Descriptor> {
    oci_blob(store, c, d)?;
    let idx: Index = parse_json(&format!("index {}", d.digest), &store.read_blob(&d.digest)?)?;
    let (os, arch) = host_platform();
    idx.manifests
        .iter()
        .find(|m| {
            m.platform
                .as_ref()
                .is_some_and(|p| p.os == os && p.architecture == arch)
        })
        .cloned()
        .ok_or_else(|| {
            StoreError::Unsupported(format!("index {} has no image for {os}/{arch}", d.digest))
        })
}

fn prepare_oci(store: &Store, c: &Contents) -> Result<Vec<Prepared>> {
    let index: Index = parse_json("index.json", &c.metadata["index.json"])?;
    let mut out: Vec<Prepared> = Vec::new();
    for top in &index.manifests {
        let mut d = top.clone();
        if d.media_type == MEDIA_OCI_INDEX || d.media_type == MEDIA_DOCKER_MANIFEST_LIST {
            d = pick_from_index(store, c, &d)?;
        }
        if d.media_type != MEDIA_OCI_MANIFEST && d.media_type != MEDIA_DOCKER_MANIFEST {
            return Err(StoreError::Unsupported(format!(
                "index.json entry of type {}",
                d.media_type
            )));
        }
        oci_blob(store, c, &d)?;
        let manifest_bytes = store.read_blob(&d.digest)?;
        let m = crate::store::images::parse_manifest(&manifest_bytes)?;
        oci_blob(store, c, &m.config)?;
        let config = read_config(store, &m.config.digest)?;
        if config.rootfs.diff_ids.len() != m.layers.len() {
            return Err(bad_archive(format!(
                "image {}: config lists {} layers, manifest {}",
                d.digest,
                config.rootfs.diff_ids.len(),
                m.layers.len()
            )));
        }
        for (l, diff_id) in m.layers.iter().zip(&config.rootfs.diff_ids) {
            oci_blob(store, c, l)?;
            store
                .register_layer_blob(&l.digest, &l.media_type, Some(diff_id))
                .map_err(|e| match e {
                    StoreError::DigestMismatch { .. } | StoreError::Corrupt { .. } => {
                        bad_archive(format!("layer {}: {e}", l.digest))
                    }
                    e => e,
                })?;
        }
        let name = top
            .annotations
            .get(ANNOTATION_CONTAINERD_NAME)
            .map(|n| names::normalize_tagged(n))
            .or_else(|| {
                top.annotations
                    .get(ANNOTATION_REF_NAME)
                    .filter(|n| n.contains('/') || n.contains(':'))
                    .map(|n| names::normalize_tagged(n))
            })
            .transpose()?;
        match out.iter_mut().find(|p| p.manifest == manifest_bytes) {
            Some(p) => p.names.extend(name),
            None => out.push(Prepared {
                manifest: manifest_bytes,
                names: name.into_iter().collect(),
            }),
        }
    }
    Ok(out)
}
