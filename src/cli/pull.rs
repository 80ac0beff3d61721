//! `kiln pull IMAGE` (`kiln image pull`): download an image into the store, showing docker's
//! per-layer progress (bars on a terminal, plain lines otherwise).

use super::images::open_store;
use super::transfer_progress::TransferProgress;
use crate::image::digest::Digest;
use crate::image::oci::ImageConfig;
use crate::image::reference::Reference;
use crate::registry::pull::{pull_blob, resolve, PendingBlob, PullTarget};
use crate::registry::{client::BlobSink, run_parallel, BlobEvent, Client, Options, PlatformSpec};
use crate::store::{BlobWriter, Store};
use anyhow::{Context, Result};
use clap::Args;
use std::collections::HashSet;
use std::io::{self, Write};
use std::path::PathBuf;
use std::sync::Mutex;

#[derive(Args, Debug)]
pub struct PullArgs {
    /// Platform to choose from a multi-platform image (os/arch[/variant]).
    #[arg(long, default_value = "linux/amd64")]
    pub platform: String,
    /// Print only the image name.
    #[arg(short, long)]
    pub quiet: bool,
    /// Registries reached over plain HTTP (comma separated; loopback ones always are).
    #[arg(long = "insecure-registry", value_name = "HOST", value_delimiter = ',')]
    pub insecure_registry: Vec<String>,
    /// The image (`name[:tag]` or `name@digest`).
    pub image: String,
}

/// Registry options from the command line and the environment.
pub(crate) fn registry_options(insecure: &[String]) -> Options {
    let mut o = Options::default();
    for h in insecure {
        o.insecure.extend(crate::registry::parse_insecure_list(h));
    }
    o
}

/// Serialises progress lines from the transfer threads.
pub(crate) struct Lines {
    out: Mutex<Box<dyn Write + Send>>,
    quiet: bool,
}

impl Lines {
    pub(crate) fn new(quiet: bool) -> Lines {
        Lines {
            out: Mutex::new(Box::new(io::stdout())),
            quiet,
        }
    }

    /// Lines on stderr, for when stdout carries data (`kiln build -o - --push`).
    pub(crate) fn on_stderr(quiet: bool) -> Lines {
        Lines {
            out: Mutex::new(Box::new(io::stderr())),
            quiet,
        }
    }

    pub(crate) fn say(&self, line: &str) {
        if self.quiet {
            return;
        }
        let mut o = self.out.lock().unwrap_or_else(|p| p.into_inner());
        let _ = writeln!(o, "{line}");
        let _ = o.flush();
    }
}

/// Blobs go into the store through its verifying writer; a restart opens a fresh one.
struct StoreTarget<'a> {
    store: &'a Store,
}

struct StorePending {
    store: Store,
    writer: Option<BlobWriter>,
    digest: Digest,
}

impl Write for StorePending {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match &mut self.writer {
            Some(w) => w.write(buf),
            None => Err(io::Error::other("blob writer closed")),
        }
    }
    fn flush(&mut self) -> io::Result<()> {
        match &mut self.writer {
            Some(w) => w.flush(),
            None => Ok(()),
        }
    }
}

impl BlobSink for StorePending {
    fn restart(&mut self) -> io::Result<()> {
        self.writer = Some(self.store.blob_writer().map_err(io::Error::other)?);
        Ok(())
    }
}

impl PendingBlob for StorePending {
    fn commit(mut self: Box<Self>) -> io::Result<()> {
        let w = self
            .writer
            .take()
            .ok_or_else(|| io::Error::other("blob writer closed"))?;
        w.commit(Some(&self.digest)).map_err(io::Error::other)?;
        Ok(())
    }
}

impl PullTarget for StoreTarget<'_> {
    fn has_blob(&self, digest: &Digest) -> bool {
        self.store.has_blob(digest)
    }

    fn begin_blob(&self, desc: &crate::image::oci::Descriptor) -> io::Result<Box<dyn PendingBlob>> {
        Ok(Box::new(StorePending {
            store: self.store.clone(),
            writer: Some(self.store.blob_writer().map_err(io::Error::other)?),
            digest: desc.digest.clone(),
        }))
    }
}

pub fn run(root: Option<PathBuf>, args: PullArgs) -> Result<()> {
    let reference = Reference::parse(&args.image)?;
    let platform: PlatformSpec = args.platform.parse()?;
    let store = open_store(root)?;
    let display = TransferProgress::new(args.quiet);
    pull_into(
        &store,
        &reference,
        &platform,
        registry_options(&args.insecure_registry),
        &display,
    )?;
    println!("{reference}");
    Ok(())
}

/// Pulls `reference` into `store` (tagging it when the reference has a tag) and returns the
/// manifest digest of the image for `platform`.
pub(crate) fn pull_into(
    store: &Store,
    reference: &Reference,
    platform: &PlatformSpec,
    options: Options,
    display: &TransferProgress,
) -> Result<Digest> {
    let _ingest = store.ingest()?;
    let client = Client::new(reference.domain(), options)?;
    let what = reference
        .tag()
        .map_or_else(|| reference.api_reference(), |t| t.to_string());
    display.line(&format!("{what}: Pulling from {}", reference.path()));

    let resolved = resolve(&client, reference, platform)?;
    let layers: HashSet<Digest> = resolved
        .parsed
        .layers
        .iter()
        .map(|l| l.digest.clone())
        .collect();
    let mut downloaded = false;
    for l in &resolved.parsed.layers {
        if store.has_blob(&l.digest) {
            display.done(&l.digest, "Already exists");
        } else {
            downloaded = true;
            display.status(&l.digest, "Pulling fs layer");
        }
    }
    downloaded |= !store.has_blob(&resolved.manifest.digest);
    let progress = |d: &Digest, e: BlobEvent| {
        if !layers.contains(d) {
            return;
        }
        match e {
            BlobEvent::Progress { done, total } => display.bytes(d, "Downloading", done, total),
            BlobEvent::Pulled => display.status(d, "Download complete"),
            BlobEvent::Retrying { attempt, .. } => {
                let pause = crate::registry::transport::backoff(client.options().backoff, attempt);
                let secs = pause.as_secs_f64().ceil().max(1.0) as u64;
                display.warning(d, &format!("Retrying in {secs} seconds"))
            }
            _ => {}
        }
    };
    let target = StoreTarget { store };
    let blobs = resolved.blobs();
    run_parallel(&blobs, client.options().parallel, &|desc| {
        pull_blob(&client, reference.path(), desc, &target, &progress)
    })?;

    // Record the layers' diff_ids (verifying them against the config), then the image.
    let config_bytes = store.read_blob(&resolved.parsed.config.digest)?;
    let config: ImageConfig =
        serde_json::from_slice(&config_bytes).context("reading the image config")?;
    if config.rootfs.diff_ids.len() != resolved.parsed.layers.len() {
        anyhow::bail!(
            "image config lists {} layers but the manifest has {}",
            config.rootfs.diff_ids.len(),
            resolved.parsed.layers.len()
        );
    }
    // docker's "Pull complete" follows extraction, layer by layer in order: here the layer's
    // diff_id is checked and recorded, and the layer unpacked into the snapshot that builds
    // stack (so that the first build on a pulled base does not pay for it).
    for (l, diff_id) in resolved.parsed.layers.iter().zip(&config.rootfs.diff_ids) {
        let known = store
            .layer(diff_id)?
            .is_some_and(|rec| rec.blobs.iter().any(|b| b.digest == l.digest));
        store
            .register_layer_blob(&l.digest, &l.media_type, Some(diff_id))
            .with_context(|| format!("registering layer {}", l.digest))?;
        if !store.snapshots_dir().join(diff_id.hex()).is_dir() {
            store
                .snapshot(diff_id)
                .with_context(|| format!("extracting layer {}", l.digest))?;
        }
        if !known {
            display.done(&l.digest, "Pull complete");
        }
    }
    let names = match (reference.tag(), reference.digest()) {
        (Some(_), None) => vec![reference.to_string()],
        _ => Vec::new(),
    };
    let before = names
        .first()
        .and_then(|n| store.resolve(n).ok())
        .map(|r| r.manifest);
    store.add_image(&resolved.manifest.bytes, &names)?;
    display.finish();

    let top = resolved
        .index
        .as_ref()
        .map_or(&resolved.manifest.digest, |i| &i.digest);
    display.line(&format!("Digest: {top}"));
    if !downloaded && before.as_ref() == Some(&resolved.manifest.digest) {
        display.line(&format!(
            "Status: Image is up to date for {}",
            reference.familiar()
        ));
    } else {
        display.line(&format!(
            "Status: Downloaded newer image for {}",
            reference.familiar()
        ));
    }
    Ok(resolved.manifest.digest.clone())
}
