//! `kiln build`: build a Dockerfile into the store, optionally exporting the image.

use super::images::open_store;
use super::pull::{pull_into, registry_options};
use super::transfer_progress::TransferProgress;
mod args;
mod display;
mod output;

pub use args::BuildArgs;
use output::{parse_output, write_archive};

use crate::build::{self, BuildError, BuildOptions};
use crate::image::reference::Reference;
use crate::registry::PlatformSpec;
use crate::store::names;
use anyhow::{bail, Context, Result};
use std::path::PathBuf;

pub fn run(root: Option<PathBuf>, args: BuildArgs) -> Result<()> {
    let network = match args.network.as_str() {
        "host" | "default" => crate::exec::Network::Host,
        "none" => crate::exec::Network::None,
        n => bail!("network mode {n:?} not supported (host or none)"),
    };
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
        no_cache: args.no_cache,
        no_cache_filter: args.no_cache_filter.clone(),
        pull: args.pull,
        explain_cache: args.explain_cache,
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
    let quiet = args.quiet || args.progress == "quiet";
    let progress = display::for_build(&args.progress, quiet)?;
    let image = match build::build(&store, &opts, &fetch, progress.as_ref()) {
        Ok(i) => i,
        Err(e @ BuildError::Dockerfile(_)) => bail!("{e}"),
        Err(e) => bail!("{e}"),
    };
    drop(progress);
    for o in &outputs {
        write_archive(&store, &image, &opts.tags, o)?;
    }
    if let Some(p) = &args.iidfile {
        std::fs::write(p, image.id.to_string())
            .with_context(|| format!("writing {}", p.display()))?;
    }
    if quiet {
        println!("{}", image.id);
    }
    Ok(())
}
