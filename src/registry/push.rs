//! Pushing an image: blobs first (skipping those the registry has, mounting from another
//! repository when one is known to hold them, else uploading in one PUT or in PATCH chunks),
//! several at once, then the manifests.

use super::client::{pull_scope, push_scope, Client, UploadStart};
use super::transport::backoff;
use super::{run_parallel, BlobEvent, ProgressFn, RegistryError, Result};
use crate::image::digest::Digest;
use crate::image::oci::Descriptor;
use crate::image::reference::Reference;
use sha2::Digest as _;
use std::io::{self, Read};
use std::path::PathBuf;

/// Where pushed blobs come from (the store, or a plain directory).
pub trait PushSource: Sync {
    /// The blob's bytes; opened again if an upload has to start over.
    fn open_blob(&self, desc: &Descriptor) -> io::Result<Box<dyn Read + Send>>;
    /// Repositories on the same registry known to hold the blob (mount candidates).
    fn mount_candidates(&self, _digest: &Digest) -> Vec<String> {
        Vec::new()
    }
}

/// A manifest to store, as exact bytes.
#[derive(Debug, Clone)]
pub struct ManifestUpload {
    pub media_type: String,
    pub bytes: Vec<u8>,
}

/// What to push: blobs, then manifests in order; all but the last are stored by digest
/// (children of an index), the last under the reference's tag (or digest).
#[derive(Debug, Clone)]
pub struct PushImage {
    pub blobs: Vec<Descriptor>,
    pub manifests: Vec<ManifestUpload>,
}

/// Pushes an image; returns the digest of the last (tagged) manifest.
pub fn push(
    client: &Client,
    reference: &Reference,
    image: &PushImage,
    source: &dyn PushSource,
    progress: ProgressFn<'_>,
) -> Result<Digest> {
    let repo = reference.path();
    let last = image
        .manifests
        .last()
        .ok_or_else(|| RegistryError::Invalid {
            what: "push".into(),
            reason: "no manifest to push".into(),
        })?;
    // Each blob once, even if listed twice (a layer reused in one image).
    let mut blobs: Vec<&Descriptor> = Vec::new();
    for b in &image.blobs {
        if !blobs.iter().any(|x| x.digest == b.digest) {
            blobs.push(b);
        }
    }
    run_parallel(&blobs, client.options().parallel, &|desc| {
        push_blob(client, repo, desc, source, progress)
    })?;
    let n = image.manifests.len();
    for m in &image.manifests[..n - 1] {
        let d = Digest::of(&m.bytes);
        client.put_manifest(repo, d.as_str(), &m.media_type, &m.bytes)?;
    }
    client.put_manifest(
        repo,
        &reference.api_reference(),
        &last.media_type,
        &last.bytes,
    )
}

/// Pushes one blob unless the registry has it; retries transient failures from the start.
pub fn push_blob(
    client: &Client,
    repo: &str,
    desc: &Descriptor,
    source: &dyn PushSource,
    progress: ProgressFn<'_>,
) -> Result<()> {
    let scopes = [push_scope(repo)];
    if client.blob_exists(repo, &desc.digest, &scopes)?.is_some() {
        progress(&desc.digest, BlobEvent::Exists);
        return Ok(());
    }
    let max = client.options().max_attempts;
    let mut attempt = 0;
    loop {
        attempt += 1;
        match push_blob_once(client, repo, desc, source, progress) {
            Ok(()) => return Ok(()),
            Err(e) if e.is_transient() && attempt < max => {
                progress(
                    &desc.digest,
                    BlobEvent::Retrying {
                        attempt,
                        reason: e.to_string(),
                    },
                );
                std::thread::sleep(backoff(client.options().backoff, attempt));
            }
            Err(e) if attempt > 1 && e.is_transient() => {
                return Err(RegistryError::RetriesExhausted {
                    what: format!("blob {}", desc.digest),
                    attempts: attempt,
                    last: Box::new(e),
                })
            }
            Err(e) => return Err(e),
        }
    }
}

fn push_blob_once(
    client: &Client,
    repo: &str,
    desc: &Descriptor,
    source: &dyn PushSource,
    progress: ProgressFn<'_>,
) -> Result<()> {
    let mut session = None;
    for from in source.mount_candidates(&desc.digest) {
        if from == repo {
            continue;
        }
        let scopes = [push_scope(repo), pull_scope(&from)];
        match client.start_upload(repo, Some((&desc.digest, &from)), &scopes)? {
            UploadStart::Mounted => {
                progress(&desc.digest, BlobEvent::Mounted { from });
                return Ok(());
            }
            UploadStart::Session(loc) => {
                // The registry declined the mount and opened a normal upload: use it.
                session = Some(loc);
                break;
            }
        }
    }
    let scopes = [push_scope(repo)];
    let location = match session {
        Some(l) => l,
        None => match client.start_upload(repo, None, &scopes)? {
            UploadStart::Session(l) => l,
            UploadStart::Mounted => unreachable!("no mount was asked for"),
        },
    };
    let ctx = || format!("reading blob {}", desc.digest);
    let mut reader = source
        .open_blob(desc)
        .map_err(|e| RegistryError::local(ctx(), e))?;
    let mut hasher = sha2::Sha256::new();
    let total = desc.size;
    if total <= client.options().chunk_threshold {
        let mut bytes = Vec::with_capacity(total as usize);
        reader
            .take(total + 1)
            .read_to_end(&mut bytes)
            .map_err(|e| RegistryError::local(ctx(), e))?;
        hasher.update(&bytes);
        check_local(desc, bytes.len() as u64, hasher)?;
        client.put_blob(&location, &desc.digest, &bytes, &scopes)?;
    } else {
        let chunk = client.options().chunk_size.max(1) as usize;
        let mut buf = vec![0u8; chunk];
        let mut location = location;
        let mut sent = 0u64;
        loop {
            let n = read_full(&mut reader, &mut buf).map_err(|e| RegistryError::local(ctx(), e))?;
            if n == 0 {
                break;
            }
            hasher.update(&buf[..n]);
            location = client.patch_chunk(&location, sent, &buf[..n], &scopes)?;
            sent += n as u64;
            progress(&desc.digest, BlobEvent::Progress { done: sent, total });
            if sent > total {
                break;
            }
        }
        check_local(desc, sent, hasher)?;
        client.finish_upload(&location, &desc.digest, &scopes)?;
    }
    progress(&desc.digest, BlobEvent::Progress { done: total, total });
    progress(&desc.digest, BlobEvent::Pushed);
    Ok(())
}

/// Refuses to close an upload whose bytes do not match the descriptor.
fn check_local(desc: &Descriptor, size: u64, hasher: sha2::Sha256) -> Result<()> {
    let what = format!("local blob {}", desc.digest);
    if size != desc.size {
        return Err(RegistryError::SizeMismatch {
            what,
            expected: desc.size,
            actual: size,
        });
    }
    let actual = Digest::from_hasher(hasher);
    if actual != desc.digest {
        return Err(RegistryError::DigestMismatch {
            what,
            expected: desc.digest.to_string(),
            actual: actual.to_string(),
        });
    }
    Ok(())
}

/// Fills `buf` unless the reader ends first; returns the bytes read.
fn read_full(r: &mut dyn Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

/// Blobs read from `<root>/blobs/sha256/<hex>` (an OCI image layout).
#[derive(Debug, Clone)]
pub struct DirSource {
    pub root: PathBuf,
    /// Mount candidates offered for every blob.
    pub mount_from: Vec<String>,
}

impl DirSource {
    pub fn new(root: impl Into<PathBuf>) -> DirSource {
        DirSource {
            root: root.into(),
            mount_from: Vec::new(),
        }
    }
}

impl PushSource for DirSource {
    fn open_blob(&self, desc: &Descriptor) -> io::Result<Box<dyn Read + Send>> {
        let p = self.root.join("blobs/sha256").join(desc.digest.hex());
        Ok(Box::new(std::fs::File::open(p)?))
    }

    fn mount_candidates(&self, _digest: &Digest) -> Vec<String> {
        self.mount_from.clone()
    }
}
