//! `kiln build`: build a Dockerfile into the store, optionally exporting the image.

use super::images::open_store;
use super::pull::{pull_into, registry_options};
use super::transfer_progress::TransferProgress;
use crate::archive::{self, Format, SaveItem};
use crate::build::{self, BuildError, BuildOptions};
use crate::image::reference::Reference;
use crate::registry::PlatformSpec;
use crate::store::names;
use anyhow::{bail, Context, Result};
use clap::Args;
use std::io::Write;
use std::path::{Path, PathBuf};

#[derive(Args, Debug)]
pub struct BuildArgs {
    /// Name of the Dockerfile (default: CONTEXT/Dockerfile).
    #[arg(short = 'f', long = "file")]
    pub file: Option<PathBuf>,
    /// Name and optionally a tag (`name:tag`); may be repeated.
    #[arg(short = 't', long = "tag")]
    pub tags: Vec<String>,
    /// Build-time variables (`KEY=VALUE`, or `KEY` to take it from the environment).
    #[arg(long = "build-arg")]
    pub build_args: Vec<String>,
    /// The stage to build.
    #[arg(long)]
    pub target: Option<String>,
    /// Networking mode for RUN: host (default) or none.
    #[arg(long, default_value = "host")]
    pub network: String,
    /// Export: `type=oci,dest=FILE` or `type=docker,dest=FILE`.
    #[arg(short = 'o', long = "output")]
    pub output: Vec<String>,
    /// Write the image ID to this file.
    #[arg(long)]
    pub iidfile: Option<PathBuf>,
    /// Progress output type (only `plain`, `auto` and `tty` are accepted, all plain).
    #[arg(long, default_value = "plain")]
    pub progress: String,
    /// Print only the image ID.
    #[arg(short, long)]
    pub quiet: bool,
    /// Registries reached over plain HTTP (comma separated; loopback ones always are).
    #[arg(long = "insecure-registry", value_name = "HOST", value_delimiter = ',')]
    pub insecure_registry: Vec<String>,
    /// The build context directory.
    pub context: PathBuf,
}

struct Output {
    format: Format,
    dest: PathBuf,
}

fn parse_output(s: &str) -> Result<Output> {
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

pub fn run(root: Option<PathBuf>, args: BuildArgs) -> Result<()> {
    let network = match args.network.as_str() {
        "host" | "default" => crate::exec::Network::Host,
        "none" => crate::exec::Network::None,
        n => bail!("network mode {n:?} not supported (host or none)"),
    };
    if !matches!(args.progress.as_str(), "plain" | "auto" | "tty") {
        bail!("unsupported progress type {:?}", args.progress);
    }
    let outputs = args
        .output
        .iter()
        .map(|o| parse_output(o))
        .collect::<Result<Vec<_>>>()?;
    let mut tags = Vec::new();
    for t in &args.tags {
        tags.push(names::normalize_tagged(t).with_context(|| format!("invalid tag {t:?}"))?);
    }
    let mut build_args = std::collections::BTreeMap::new();
    for a in &args.build_args {
        match a.split_once('=') {
            Some((k, v)) => {
                build_args.insert(k.to_string(), v.to_string());
            }
            None => {
                if let Ok(v) = std::env::var(a) {
                    build_args.insert(a.clone(), v);
                }
            }
        }
    }
    let context = std::fs::canonicalize(&args.context).with_context(|| {
        format!(
            "unable to prepare context: path {:?} not found",
            args.context
        )
    })?;
    if !context.is_dir() {
        bail!(
            "unable to prepare context: {} is not a directory",
            context.display()
        );
    }
    let dockerfile = match &args.file {
        Some(f) if f.as_os_str() == "-" => {
            bail!("a Dockerfile from standard input is not supported yet")
        }
        Some(f) => std::path::absolute(f)?,
        None => context.join("Dockerfile"),
    };
    let source_date_epoch = match std::env::var("SOURCE_DATE_EPOCH") {
        Ok(v) if !v.is_empty() => Some(
            v.parse::<i64>()
                .with_context(|| format!("invalid SOURCE_DATE_EPOCH {v:?}"))?,
        ),
        _ => None,
    };
    let opts = BuildOptions {
        context,
        dockerfile,
        tags,
        build_args,
        target: args.target.clone(),
        network,
        source_date_epoch,
    };
    let store = open_store(root)?;
    let reg = registry_options(&args.insecure_registry);
    let platform: PlatformSpec = "linux/amd64".parse()?;
    let fetch = |r: &str| -> Result<crate::image::digest::Digest> {
        let reference = Reference::parse(r)?;
        pull_into(
            &store,
            &reference,
            &platform,
            reg.clone(),
            &TransferProgress::plain(true),
        )
    };
    let quiet = args.quiet;
    let mut say = |line: &str| {
        if !quiet {
            let mut o = std::io::stdout().lock();
            let _ = writeln!(o, "{line}");
            let _ = o.flush();
        }
    };
    let image = match build::build(&store, &opts, &fetch, &mut say) {
        Ok(i) => i,
        Err(e @ BuildError::Dockerfile(_)) => bail!("{e}"),
        Err(e) => bail!("{e}"),
    };
    for o in &outputs {
        write_archive(&store, &image, &opts.tags, o)?;
    }
    if let Some(p) = &args.iidfile {
        std::fs::write(p, image.id.to_string())
            .with_context(|| format!("writing {}", p.display()))?;
    }
    if quiet {
        println!("{}", image.id);
    } else {
        println!("writing image {} done", image.id);
        for t in &opts.tags {
            println!("naming to {t} done");
        }
    }
    Ok(())
}

fn write_archive(
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
