//! `--output` of `kiln build`: where the built image goes besides the store.

use crate::archive::{self, Format, SaveItem};
use anyhow::{bail, Context, Result};
use std::path::{Path, PathBuf};

pub(super) struct Output {
    format: Format,
    dest: PathBuf,
}

pub(super) fn parse_output(s: &str) -> Result<Output> {
    let mut kind = None;
    let mut dest = None;
    for field in s.split(',') {
        match field.split_once('=') {
            Some(("type", v)) => kind = Some(v.to_string()),
            Some(("dest", v)) => dest = Some(PathBuf::from(v)),
            _ => bail!("invalid --output field {field:?} (expected type=oci|docker,dest=FILE)"),
        }
    }
    let format = match kind.as_deref() {
        Some("oci") => Format::Oci,
        Some("docker") => Format::Docker,
        Some(k) => bail!("unsupported output type {k:?} (oci and docker are)"),
        None => bail!("--output needs type=oci or type=docker"),
    };
    let dest = dest.ok_or_else(|| anyhow::anyhow!("--output needs dest=FILE"))?;
    Ok(Output { format, dest })
}

pub(super) fn write_archive(
    store: &crate::store::Store,
    image: &crate::store::Image,
    tags: &[String],
    o: &Output,
) -> Result<()> {
    let dir = match o.dest.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => Path::new(".").to_path_buf(),
    };
    let tmp = tempfile::Builder::new()
        .prefix(".kiln-build-")
        .tempfile_in(&dir)
        .with_context(|| format!("creating a file in {}", dir.display()))?;
    let items = [SaveItem {
        manifest: image.manifest_digest.clone(),
        names: tags.to_vec(),
    }];
    let w = std::io::BufWriter::with_capacity(1 << 20, tmp.as_file());
    archive::save(store, &items, o.format, w)?;
    tmp.as_file().sync_all().context("syncing the archive")?;
    tmp.persist(&o.dest)
        .map_err(|e| e.error)
        .with_context(|| format!("writing {}", o.dest.display()))?;
    Ok(())
}
