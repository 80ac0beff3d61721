//! `kiln save`: writes images as a docker-archive or an OCI layout tar.
//!
//! docker-archive (as docker ≥ 25 writes it): `blobs/sha256/<hex>` for configs and
//! uncompressed layer tars, `manifest.json` naming them with the image's tags, and the
//! legacy `repositories` file. OCI: `oci-layout`, the blobs exactly as stored (OCI
//! manifests byte for byte, Docker schema 2 ones in OCI form, layers in their stored
//! compression) and an `index.json` whose entries
//! carry the tag in `org.opencontainers.image.ref.name` and the full name in
//! `io.containerd.image.name`, as docker does. Every blob is verified while it is copied.

use super::ANNOTATION_CONTAINERD_NAME;
use crate::image::digest::Digest;
use crate::image::oci::{
    Descriptor, Index, ANNOTATION_REF_NAME, MEDIA_DOCKER_MANIFEST, MEDIA_OCI_CONFIG,
    MEDIA_OCI_INDEX, MEDIA_OCI_LAYER, MEDIA_OCI_LAYER_GZIP, MEDIA_OCI_MANIFEST,
};
use crate::store::error::{IoContext, Result, StoreError};
use crate::store::{names, Image, Store};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::io::{self, Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Docker,
    Oci,
}

/// One image to save and the full names (`repo:tag`) to record for it.
#[derive(Debug, Clone)]
pub struct SaveItem {
    pub manifest: Digest,
    pub names: Vec<String>,
}

/// Writes `items` to `out` as one archive.
pub fn save(store: &Store, items: &[SaveItem], format: Format, out: impl Write) -> Result<()> {
    let _g = store.ingest()?;
    let images = collect(store, items)?;
    let mut tar = tar::Builder::new(out);
    match format {
        Format::Docker => write_docker(store, &images, &mut tar)?,
        Format::Oci => write_oci(store, &images, &mut tar)?,
    }
    tar.into_inner()
        .and_then(|mut w| w.flush())
        .ctx(|| "finishing the archive".to_string())
}

/// Writes `items` as an OCI image layout directory at `dir` (created when missing; its
/// `index.json` is replaced, blobs already there are kept).
pub fn save_oci_dir(store: &Store, items: &[SaveItem], dir: &Path) -> Result<()> {
    let _g = store.ingest()?;
    let images = collect(store, items)?;
    fs::create_dir_all(dir).ctx(|| format!("creating {}", dir.display()))?;
    let mut sink = DirSink {
        root: dir.to_path_buf(),
    };
    write_oci(store, &images, &mut sink)
}

/// The images of `items`, each once, with the names asked for it.
fn collect(store: &Store, items: &[SaveItem]) -> Result<Vec<(Image, Vec<String>)>> {
    let mut images: Vec<(Image, Vec<String>)> = Vec::new();
    for it in items {
        let img = store.image(&it.manifest)?;
        match images
            .iter_mut()
            .find(|(i, _)| i.manifest_digest == img.manifest_digest)
        {
            Some((_, names)) => {
                for n in &it.names {
                    if !names.contains(n) {
                        names.push(n.clone());
                    }
                }
            }
            None => images.push((img, it.names.clone())),
        }
    }
    Ok(images)
}

/// Where the files of an OCI layout go: a tar, or a directory.
trait Sink {
    fn put(&mut self, path: &str, size: u64, data: &mut dyn Read) -> Result<()>;

    fn put_bytes(&mut self, path: &str, bytes: &[u8]) -> Result<()> {
        self.put(path, bytes.len() as u64, &mut &bytes[..])
    }
}

impl<W: Write> Sink for tar::Builder<W> {
    fn put(&mut self, path: &str, size: u64, data: &mut dyn Read) -> Result<()> {
        append(self, path, size, data)
    }
}

/// A layout directory: each file written to a temporary name and renamed into place, so that
/// a blob is never seen half-written; blobs already present (same name, same size) are kept.
struct DirSink {
    root: PathBuf,
}

impl Sink for DirSink {
    fn put(&mut self, path: &str, size: u64, data: &mut dyn Read) -> Result<()> {
        let dest = self.root.join(path);
        let parent = dest.parent().unwrap_or(&self.root).to_path_buf();
        if path.starts_with("blobs/")
            && fs::symlink_metadata(&dest).is_ok_and(|m| m.is_file() && m.len() == size)
        {
            return Ok(());
        }
        fs::create_dir_all(&parent).ctx(|| format!("creating {}", parent.display()))?;
        let mut tmp = tempfile::Builder::new()
            .prefix(".kiln-")
            .tempfile_in(&parent)
            .ctx(|| format!("creating a file in {}", parent.display()))?;
        io::copy(data, tmp.as_file_mut())
            .map_err(|e| copy_error(path, || format!("writing {}", dest.display()), e))?;
        tmp.as_file()
            .sync_all()
            .ctx(|| format!("syncing {}", dest.display()))?;
        tmp.persist(&dest)
            .map_err(|e| e.error)
            .ctx(|| format!("writing {}", dest.display()))?;
        let mode = fs::Permissions::from_mode(0o644);
        fs::set_permissions(&dest, mode).ctx(|| format!("setting mode of {}", dest.display()))
    }
}

/// A failed copy of store content: corruption when the store's verifying reader said so.
fn copy_error(path: &str, context: impl FnOnce() -> String, e: io::Error) -> StoreError {
    if let Some(inner) = e.get_ref().and_then(|i| i.downcast_ref::<StoreError>()) {
        StoreError::corrupt(format!("store content for {path}"), inner)
    } else if e.kind() == io::ErrorKind::InvalidData {
        StoreError::corrupt(format!("store content for {path}"), e)
    } else {
        StoreError::Io {
            context: context(),
            source: e,
        }
    }
}

fn header(size: u64) -> tar::Header {
    let mut h = tar::Header::new_ustar();
    h.set_entry_type(tar::EntryType::Regular);
    h.set_mode(0o644);
    h.set_uid(0);
    h.set_gid(0);
    h.set_mtime(0);
    h.set_size(size);
    h
}

fn append<W: Write>(
    tar: &mut tar::Builder<W>,
    path: &str,
    size: u64,
    data: impl Read,
) -> Result<()> {
    let mut h = header(size);
    tar.append_data(&mut h, path, data)
        .map_err(|e| copy_error(path, || format!("writing {path} to the archive"), e))
}

fn append_bytes<W: Write>(tar: &mut tar::Builder<W>, path: &str, bytes: &[u8]) -> Result<()> {
    append(tar, path, bytes.len() as u64, bytes)
}

fn blob_path(d: &Digest) -> String {
    format!("blobs/sha256/{}", d.hex())
}

#[derive(Serialize)]
struct DockerManifestItem {
    #[serde(rename = "Config")]
    config: String,
    #[serde(rename = "RepoTags")]
    repo_tags: Option<Vec<String>>,
    #[serde(rename = "Layers")]
    layers: Vec<String>,
}

fn write_docker<W: Write>(
    store: &Store,
    images: &[(Image, Vec<String>)],
    tar: &mut tar::Builder<W>,
) -> Result<()> {
    let mut written = BTreeSet::new();
    let mut manifest = Vec::new();
    let mut repositories: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
    for (img, tags) in images {
        let config_path = blob_path(&img.id);
        if written.insert(img.id.clone()) {
            append_bytes(tar, &config_path, &img.config_bytes)?;
        }
        let mut layers = Vec::new();
        for diff_id in &img.config.rootfs.diff_ids {
            if written.insert(diff_id.clone()) {
                let (reader, size) = store.open_layer(diff_id)?;
                append(tar, &blob_path(diff_id), size, reader)?;
            }
            layers.push(blob_path(diff_id));
        }
        let familiar: Vec<String> = tags.iter().map(|t| names::familiar(t)).collect();
        if let Some(top) = img.config.rootfs.diff_ids.last() {
            for t in &familiar {
                let (repo, tag) = names::split_tag(t);
                repositories
                    .entry(repo.to_string())
                    .or_default()
                    .insert(tag.to_string(), top.hex().to_string());
            }
        }
        manifest.push(DockerManifestItem {
            config: config_path,
            repo_tags: (!familiar.is_empty()).then_some(familiar),
            layers,
        });
    }
    let json = serde_json::to_vec(&manifest).expect("manifest.json serialises");
    append_bytes(tar, "manifest.json", &json)?;
    if !repositories.is_empty() {
        let json = serde_json::to_vec(&repositories).expect("repositories serialises");
        append_bytes(tar, "repositories", &json)?;
    }
    Ok(())
}

fn write_oci(store: &Store, images: &[(Image, Vec<String>)], tar: &mut dyn Sink) -> Result<()> {
    tar.put_bytes("oci-layout", br#"{"imageLayoutVersion":"1.0.0"}"#)?;
    let mut written = BTreeSet::new();
    let mut index = Index {
        schema_version: 2,
        media_type: Some(MEDIA_OCI_INDEX.to_string()),
        manifests: Vec::new(),
        annotations: BTreeMap::new(),
    };
    for (img, tags) in images {
        for d in img
            .manifest
            .layers
            .iter()
            .chain(std::iter::once(&img.manifest.config))
        {
            if written.insert(d.digest.clone()) {
                let size = store.blob_size(&d.digest)?;
                let mut reader = store.open_blob(&d.digest)?;
                tar.put(&blob_path(&d.digest), size, &mut reader)?;
            }
        }
        let (media_type, manifest) = if img.manifest_media_type == MEDIA_DOCKER_MANIFEST {
            (
                MEDIA_OCI_MANIFEST.to_string(),
                to_oci_manifest(&img.manifest_bytes)?,
            )
        } else {
            (img.manifest_media_type.clone(), img.manifest_bytes.clone())
        };
        let manifest_digest = Digest::of(&manifest);
        if written.insert(manifest_digest.clone()) {
            tar.put_bytes(&blob_path(&manifest_digest), &manifest)?;
        }
        let desc = Descriptor {
            media_type,
            digest: manifest_digest,
            size: manifest.len() as u64,
            platform: None,
            annotations: BTreeMap::new(),
            urls: Vec::new(),
        };
        if tags.is_empty() {
            index.manifests.push(desc.clone());
        }
        for t in tags {
            let mut d = desc.clone();
            d.annotations
                .insert(ANNOTATION_CONTAINERD_NAME.to_string(), t.clone());
            d.annotations.insert(
                ANNOTATION_REF_NAME.to_string(),
                names::split_tag(t).1.to_string(),
            );
            index.manifests.push(d);
        }
    }
    let json = serde_json::to_vec(&index).expect("index serialises");
    tar.put_bytes("index.json", &json)
}

/// The OCI form of a Docker schema 2 manifest: the same config and layer blobs under OCI
/// media types. OCI tools (skopeo's and umoci's layout readers) skip index entries of
/// Docker types, so an OCI archive carries this form; the image ID (config digest) is
/// unchanged, the manifest digest is not.
fn to_oci_manifest(bytes: &[u8]) -> Result<Vec<u8>> {
    let mut v: serde_json::Value =
        serde_json::from_slice(bytes).map_err(|e| StoreError::corrupt("manifest", e))?;
    v["mediaType"] = MEDIA_OCI_MANIFEST.into();
    v["config"]["mediaType"] = MEDIA_OCI_CONFIG.into();
    if let Some(layers) = v["layers"].as_array_mut() {
        for l in layers {
            let mt = match l["mediaType"].as_str() {
                Some("application/vnd.docker.image.rootfs.diff.tar.gzip") => MEDIA_OCI_LAYER_GZIP,
                Some("application/vnd.docker.image.rootfs.foreign.diff.tar.gzip") => {
                    "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip"
                }
                Some("application/vnd.docker.image.rootfs.diff.tar") => MEDIA_OCI_LAYER,
                _ => continue,
            };
            l["mediaType"] = mt.into();
        }
    }
    Ok(serde_json::to_vec(&v).expect("manifest serialises"))
}
