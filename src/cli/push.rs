//! `kiln push IMAGE` (`kiln image push`): upload a stored image, showing docker's per-layer
//! progress (bars on a terminal, plain lines otherwise).

use super::images::open_store;
use super::pull::registry_options;
use super::transfer_progress::TransferProgress;
use crate::image::digest::Digest;
use crate::image::oci::Descriptor;
use crate::image::reference::Reference;
use crate::registry::push::{push, ManifestUpload, PushImage, PushSource};
use crate::registry::{BlobEvent, Client};
use crate::store::{Image, Store, StoreError};
use anyhow::Result;
use clap::Args;
use std::collections::{HashMap, HashSet};
use std::io::{self, Read};
use std::path::PathBuf;

#[derive(Args, Debug)]
pub struct PushArgs {
    /// Print only the pushed digest line.
    #[arg(short, long)]
    pub quiet: bool,
    /// Registries reached over plain HTTP (comma separated; loopback ones always are).
    #[arg(long = "insecure-registry", value_name = "HOST", value_delimiter = ',')]
    pub insecure_registry: Vec<String>,
    /// The image (`name[:tag]`).
    pub image: String,
}

/// Blobs from the store; other repositories of the same registry whose stored images use a
/// blob are offered for a cross-repository mount.
struct StoreSource<'a> {
    store: &'a Store,
    mounts: HashMap<Digest, Vec<String>>,
}

impl PushSource for StoreSource<'_> {
    fn open_blob(&self, desc: &Descriptor) -> io::Result<Box<dyn Read + Send>> {
        Ok(Box::new(
            self.store
                .open_blob(&desc.digest)
                .map_err(io::Error::other)?,
        ))
    }

    fn mount_candidates(&self, digest: &Digest) -> Vec<String> {
        self.mounts.get(digest).cloned().unwrap_or_default()
    }
}

/// For each blob, the repositories on `domain` (other than `repo`) of stored images using it.
fn mount_sources(store: &Store, domain: &str, repo: &str) -> HashMap<Digest, Vec<String>> {
    let mut out: HashMap<Digest, Vec<String>> = HashMap::new();
    let Ok(entries) = store.entries() else {
        return out;
    };
    let mut seen = HashSet::new();
    for e in entries {
        let Some(name) = e.name else { continue };
        let Ok(r) = Reference::parse(&name) else {
            continue;
        };
        if r.domain() != domain || r.path() == repo {
            continue;
        }
        if !seen.insert((r.path().to_string(), e.manifest.digest.clone())) {
            continue;
        }
        let Ok(img) = store.image(&e.manifest.digest) else {
            continue;
        };
        for d in std::iter::once(&img.manifest.config).chain(&img.manifest.layers) {
            let v = out.entry(d.digest.clone()).or_default();
            if !v.iter().any(|x| x == r.path()) {
                v.push(r.path().to_string());
            }
        }
    }
    out
}

pub fn run(root: Option<PathBuf>, args: PushArgs) -> Result<()> {
    let reference = Reference::parse(&args.image)?;
    let store = open_store(root)?;
    let resolved = match store.resolve(&reference.to_string()) {
        Ok(r) => r,
        Err(StoreError::NoSuchImage(_)) => anyhow::bail!(
            "An image does not exist locally with the tag: {}",
            reference.familiar_name()
        ),
        Err(e) => return Err(e.into()),
    };
    let image = store.image(&resolved.manifest)?;
    push_image(
        &store,
        &reference,
        &image,
        &args.insecure_registry,
        Report {
            quiet: args.quiet,
            on_stderr: false,
        },
    )
}

/// How a push reports: docker's lines and the digest, or only the digest (`quiet`); on
/// stderr when stdout carries an image (`kiln build -o - --push`).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Report {
    pub quiet: bool,
    pub on_stderr: bool,
}

/// Pushes the stored `image` as `reference`, with docker's progress (only the digest line
/// when `quiet`). `kiln build --push` uses it for each tag.
pub(crate) fn push_image(
    store: &Store,
    reference: &Reference,
    image: &Image,
    insecure_registry: &[String],
    report: Report,
) -> Result<()> {
    let client = Client::new(reference.domain(), registry_options(insecure_registry))?;
    let display = if report.on_stderr {
        TransferProgress::plain_on_stderr(report.quiet)
    } else {
        TransferProgress::new(report.quiet)
    };
    display.line(&format!(
        "The push refers to repository [{}]",
        reference.name()
    ));
    let layers: HashSet<Digest> = image
        .manifest
        .layers
        .iter()
        .map(|l| l.digest.clone())
        .collect();
    for l in image.manifest.layers.iter().rev() {
        display.status(&l.digest, "Preparing");
    }
    let progress = |d: &Digest, e: BlobEvent| {
        if !layers.contains(d) {
            return;
        }
        match e {
            BlobEvent::Progress { done, total } => display.bytes(d, "Pushing", done, total),
            BlobEvent::Exists => display.done(d, "Layer already exists"),
            BlobEvent::Mounted { from } => display.done(d, &format!("Mounted from {from}")),
            BlobEvent::Pushed => display.done(d, "Pushed"),
            BlobEvent::Retrying { attempt, .. } => {
                let pause = crate::registry::transport::backoff(client.options().backoff, attempt);
                let secs = pause.as_secs_f64().ceil().max(1.0) as u64;
                display.warning(d, &format!("Retrying in {secs} seconds"))
            }
            _ => {}
        }
    };
    let source = StoreSource {
        store,
        mounts: mount_sources(store, reference.domain(), reference.path()),
    };
    let mut blobs = vec![image.manifest.config.clone()];
    blobs.extend(image.manifest.layers.iter().rev().cloned());
    let digest = push(
        &client,
        reference,
        &PushImage {
            blobs,
            manifests: vec![ManifestUpload {
                media_type: image.manifest_media_type.clone(),
                bytes: image.manifest_bytes.clone(),
            }],
        },
        &source,
        &progress,
    )?;
    let line = format!(
        "{}: digest: {digest} size: {}",
        reference.tag().unwrap_or("latest"),
        image.manifest_bytes.len()
    );
    display.finish();
    match (report.quiet, report.on_stderr) {
        (true, true) => eprintln!("{line}"),
        (true, false) => println!("{line}"),
        (false, _) => display.line(&line),
    }
    Ok(())
}
