//! `kiln build`: build a Dockerfile into the store, optionally exporting the image.

use super::images::open_store;
use super::pull::{pull_into, registry_options};
use super::transfer_progress::TransferProgress;
mod args;
mod display;
mod output;
mod results;
mod stdin_input;

pub use args::BuildArgs;
use output::parse_output;

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
    args.check_platform()?;
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
    let publish = results::Publish {
        outputs: &outputs,
        tags: &tags,
        push: args.extra.push,
        insecure_registry: &args.insecure_registry,
        quiet: args.quiet,
        metadata_file: args.extra.metadata_file.as_ref(),
    };
    publish.check()?;
    let secrets = args.secrets()?;
    let store = open_store(root)?;
    let input = stdin_input::build_input(&store, &args.context, args.file.as_deref())?;
    let source_date_epoch = match std::env::var("SOURCE_DATE_EPOCH") {
        Ok(v) if !v.is_empty() => Some(
            v.parse::<i64>()
                .with_context(|| format!("invalid SOURCE_DATE_EPOCH {v:?}"))?,
        ),
        _ => None,
    };
    let opts = BuildOptions {
        context: input.context.clone(),
        dockerfile: input.dockerfile.clone(),
        tags: tags.clone(),
        build_args,
        target: args.target.clone(),
        network,
        source_date_epoch,
        no_cache: args.no_cache,
        no_cache_filter: args.no_cache_filter.clone(),
        pull: args.pull,
        explain_cache: args.explain_cache,
        secrets,
        labels: args.labels(),
    };
    let reg = registry_options(&args.insecure_registry);
    let platform: PlatformSpec = crate::build::platform::host_platform();
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
    // An image written to stdout moves the progress to stderr, as buildx does.
    let to_stderr = outputs.iter().any(|o| o.uses_stdout());
    let progress = display::for_build(&args.progress, quiet, to_stderr)?;
    let image = match build::build(&store, &opts, &fetch, progress.as_ref()) {
        Ok(i) => i,
        Err(e @ BuildError::Dockerfile(_)) => bail!("{e}"),
        Err(e) => bail!("{e}"),
    };
    drop(progress);
    publish.run(&store, &image)?;
    if let Some(p) = &args.iidfile {
        std::fs::write(p, image.id.to_string())
            .with_context(|| format!("writing {}", p.display()))?;
    }
    if quiet {
        say_to(to_stderr, &image.id.to_string());
    }
    Ok(())
}

/// A final result line, on stderr when stdout carries an exported image.
fn say_to(stderr: bool, line: &str) {
    if stderr {
        eprintln!("{line}");
    } else {
        println!("{line}");
    }
}
