//! Pulling an image: resolve the reference to one image manifest (choosing a platform from an
//! index), then download the config and layers the target lacks, several at once.

use super::client::{BlobSink, Client, FetchedManifest, ManifestKind};
use super::platform::PlatformSpec;
use super::{run_parallel, BlobEvent, ProgressFn, RegistryError, Result};
use crate::image::digest::Digest;
use crate::image::oci::{
    Descriptor, Manifest, MEDIA_DOCKER_LAYER_FOREIGN, MEDIA_DOCKER_MANIFEST, MEDIA_OCI_MANIFEST,
};
use crate::image::reference::Reference;
use std::io;
use std::path::{Path, PathBuf};

/// Where pulled blobs go (the store, or a plain directory).
pub trait PullTarget: Sync {
    /// Whether the blob is already there (it is then not downloaded).
    fn has_blob(&self, digest: &Digest) -> bool;
    /// A writer for a new blob; committed only after its digest was verified.
    fn begin_blob(&self, desc: &Descriptor) -> io::Result<Box<dyn PendingBlob>>;
}

/// A blob being downloaded.
pub trait PendingBlob: BlobSink + Send {
    /// Makes the verified blob visible.
    fn commit(self: Box<Self>) -> io::Result<()>;
}

/// What a reference resolved to.
#[derive(Debug, Clone)]
pub struct ResolvedImage {
    /// The index (manifest list) the image was chosen from, if the reference named one.
    pub index: Option<FetchedManifest>,
    /// The image manifest, as served.
    pub manifest: FetchedManifest,
    pub parsed: Manifest,
}

impl ResolvedImage {
    /// Config first, then the layers, in manifest order.
    pub fn blobs(&self) -> Vec<Descriptor> {
        std::iter::once(self.parsed.config.clone())
            .chain(self.parsed.layers.iter().cloned())
            .collect()
    }
}

/// Resolves `reference` to one image manifest for `platform`.
pub fn resolve(
    client: &Client,
    reference: &Reference,
    platform: &PlatformSpec,
) -> Result<ResolvedImage> {
    let top = client.get_manifest(reference.path(), &reference.api_reference())?;
    let (index, manifest) = match top.parse()? {
        ManifestKind::Image(_) => (None, top),
        ManifestKind::Index(idx) => {
            let chosen = platform.select(&idx.manifests)?;
            let m = client.get_manifest(reference.path(), chosen.digest.as_str())?;
            if m.is_index() {
                return Err(RegistryError::Invalid {
                    what: format!("index {}", top.digest),
                    reason: format!("entry for {platform} is itself an index"),
                });
            }
            (Some(top), m)
        }
    };
    let parsed = match manifest.parse()? {
        ManifestKind::Image(m) => *m,
        ManifestKind::Index(_) => unreachable!("checked is_index above"),
    };
    if manifest.media_type != MEDIA_OCI_MANIFEST && manifest.media_type != MEDIA_DOCKER_MANIFEST {
        return Err(RegistryError::UnknownMediaType {
            reference: reference.to_string(),
            media_type: manifest.media_type.clone(),
        });
    }
    Ok(ResolvedImage {
        index,
        manifest,
        parsed,
    })
}

/// Pulls `reference` into `target`: every blob of the chosen image that the target lacks.
/// Foreign (non-distributable) layers are skipped, as docker does.
pub fn pull(
    client: &Client,
    reference: &Reference,
    platform: &PlatformSpec,
    target: &dyn PullTarget,
    progress: ProgressFn<'_>,
) -> Result<ResolvedImage> {
    let resolved = resolve(client, reference, platform)?;
    let blobs: Vec<Descriptor> = resolved
        .blobs()
        .into_iter()
        .filter(|d| d.media_type != MEDIA_DOCKER_LAYER_FOREIGN)
        .collect();
    run_parallel(&blobs, client.options().parallel, &|desc| {
        pull_blob(client, reference.path(), desc, target, progress)
    })?;
    Ok(resolved)
}

/// Downloads one blob into the target unless it is there already.
pub fn pull_blob(
    client: &Client,
    repo: &str,
    desc: &Descriptor,
    target: &dyn PullTarget,
    progress: ProgressFn<'_>,
) -> Result<()> {
    if target.has_blob(&desc.digest) {
        progress(&desc.digest, BlobEvent::Exists);
        return Ok(());
    }
    let ctx = || format!("storing blob {}", desc.digest);
    let mut w = target
        .begin_blob(desc)
        .map_err(|e| RegistryError::local(ctx(), e))?;
    client.fetch_blob(repo, desc, &mut w, progress)?;
    w.commit().map_err(|e| RegistryError::local(ctx(), e))?;
    progress(&desc.digest, BlobEvent::Pulled);
    Ok(())
}

/// Blobs in `<root>/blobs/sha256/<hex>`, as in an OCI image layout.
#[derive(Debug, Clone)]
pub struct DirTarget {
    root: PathBuf,
}

impl DirTarget {
    pub fn new(root: impl Into<PathBuf>) -> DirTarget {
        DirTarget { root: root.into() }
    }

    pub fn blob_path(&self, digest: &Digest) -> PathBuf {
        self.root.join("blobs/sha256").join(digest.hex())
    }
}

struct DirPending {
    file: tempfile::NamedTempFile,
    dest: PathBuf,
}

impl io::Write for DirPending {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.file.write(buf)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.file.flush()
    }
}

impl BlobSink for DirPending {
    fn restart(&mut self) -> io::Result<()> {
        self.file.as_file_mut().restart()
    }
}

impl PendingBlob for DirPending {
    fn commit(self: Box<Self>) -> io::Result<()> {
        self.file.as_file().sync_all()?;
        self.file.persist(&self.dest).map_err(|e| e.error)?;
        Ok(())
    }
}

impl PullTarget for DirTarget {
    fn has_blob(&self, digest: &Digest) -> bool {
        self.blob_path(digest).is_file()
    }

    fn begin_blob(&self, desc: &Descriptor) -> io::Result<Box<dyn PendingBlob>> {
        let dest = self.blob_path(&desc.digest);
        let dir = dest.parent().unwrap_or(Path::new("."));
        std::fs::create_dir_all(dir)?;
        Ok(Box::new(DirPending {
            file: tempfile::NamedTempFile::new_in(dir)?,
            dest,
        }))
    }
}
