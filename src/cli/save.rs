//! `kiln save` (`kiln image save`): images to a docker-archive or OCI layout tar.

use super::images::open_store;
use crate::archive::{self, Format, SaveItem};
use anyhow::{bail, Context, Result};
use clap::{Args, ValueEnum};
use std::io::{IsTerminal, Write};
use std::path::PathBuf;

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum SaveFormat {
    Docker,
    Oci,
}

#[derive(Args, Debug)]
pub struct SaveArgs {
    /// Write to a file instead of standard output.
    #[arg(short, long)]
    pub output: Option<PathBuf>,
    /// Archive format.
    #[arg(long, value_enum, default_value = "docker")]
    pub format: SaveFormat,
    /// Images: names, IDs or short IDs.
    #[arg(required = true)]
    pub images: Vec<String>,
}

pub fn run(root: Option<PathBuf>, args: SaveArgs) -> Result<()> {
    let store = open_store(root)?;
    let mut items = Vec::new();
    for r in &args.images {
        let res = store.resolve(r)?;
        items.push(SaveItem {
            manifest: res.manifest.clone(),
            names: res.name.into_iter().collect(),
        });
    }
    let format = match args.format {
        SaveFormat::Docker => Format::Docker,
        SaveFormat::Oci => Format::Oci,
    };
    match &args.output {
        Some(path) => {
            // Write next to the destination and rename, so a failed save leaves no
            // half-written archive under the requested name.
            let dir = match path.parent() {
                Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
                _ => PathBuf::from("."),
            };
            let tmp = tempfile::Builder::new()
                .prefix(".kiln-save-")
                .tempfile_in(&dir)
                .with_context(|| format!("creating a file in {}", dir.display()))?;
            let w = std::io::BufWriter::with_capacity(1 << 20, tmp.as_file());
            archive::save(&store, &items, format, w)?;
            tmp.as_file().sync_all().context("syncing the archive")?;
            tmp.persist(path)
                .map_err(|e| e.error)
                .with_context(|| format!("writing {}", path.display()))?;
        }
        None => {
            let stdout = std::io::stdout();
            if stdout.is_terminal() {
                bail!("cowardly refusing to save to a terminal. Use the -o flag or redirect");
            }
            let mut w = std::io::BufWriter::with_capacity(1 << 20, stdout.lock());
            archive::save(&store, &items, format, &mut w)?;
            w.flush()?;
        }
    }
    Ok(())
}
