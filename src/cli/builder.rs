//! `kiln builder prune` (docker's build-cache cleanup) and `kiln system df`.

use super::images::{human_size, open_store};
use crate::cache::prune::{self, PruneOptions};
use anyhow::{bail, Context, Result};
use clap::{Args, Subcommand};
use std::path::PathBuf;
use std::time::Duration;

#[derive(Subcommand, Debug)]
pub enum BuilderCommand {
    /// Remove build cache.
    #[command(after_help = super::examples::BUILDER_PRUNE)]
    Prune(BuilderPruneArgs),
}

#[derive(Args, Debug)]
pub struct BuilderPruneArgs {
    /// Remove all unused build cache, not just dangling ones (those no stored image was
    /// built from).
    #[arg(short, long)]
    pub all: bool,
    /// Provide filter values (`until=24h`: only cache last used longer ago).
    #[arg(long = "filter")]
    pub filter: Vec<String>,
    /// Amount of disk space to keep for cache (e.g. `5GB`).
    #[arg(long = "keep-storage")]
    pub keep_storage: Option<String>,
    /// Do not prompt for confirmation.
    #[arg(short, long)]
    pub force: bool,
}

#[derive(Subcommand, Debug)]
pub enum SystemCommand {
    /// Show kiln disk usage: images, build cache, cache mounts.
    #[command(after_help = super::examples::SYSTEM)]
    Df,
}

pub fn run_builder(root: Option<PathBuf>, cmd: BuilderCommand) -> Result<()> {
    let BuilderCommand::Prune(a) = cmd;
    let mut opts = PruneOptions {
        all: a.all,
        ..Default::default()
    };
    for f in &a.filter {
        match f.split_once('=') {
            Some(("until", v)) => {
                opts.until =
                    Some(parse_duration(v).with_context(|| format!("invalid filter {f:?}"))?)
            }
            _ => bail!("invalid filter {f:?} (supported: until=DURATION)"),
        }
    }
    if let Some(k) = &a.keep_storage {
        opts.keep_storage =
            Some(parse_size(k).with_context(|| format!("invalid --keep-storage {k:?}"))?);
    }
    if !a.force && std::io::IsTerminal::is_terminal(&std::io::stdin()) {
        let what = if a.all {
            "all build cache"
        } else {
            "all dangling build cache"
        };
        eprint!("WARNING! This will remove {what}.\nAre you sure you want to continue? [y/N] ");
        let mut answer = String::new();
        std::io::stdin().read_line(&mut answer)?;
        if !matches!(answer.trim(), "y" | "Y" | "yes") {
            return Ok(());
        }
    }
    let store = open_store(root)?;
    let report = prune::prune(&store, &opts)?;
    if !report.removed.is_empty() || !report.mounts.is_empty() {
        println!("Deleted build cache objects:");
        for k in &report.removed {
            println!("{}", &k.hex()[..25.min(k.hex().len())]);
        }
        for m in &report.mounts {
            println!("cache mount {m}");
        }
        println!();
    }
    println!("Total:\t{}", human_size(report.reclaimed, 4));
    Ok(())
}

pub fn run_system(root: Option<PathBuf>, cmd: SystemCommand) -> Result<()> {
    let SystemCommand::Df = cmd;
    let store = open_store(root)?;
    let u = prune::usage(&store)?;
    let images = store.entries()?;
    let mut ids = std::collections::BTreeSet::new();
    let mut blobs = std::collections::BTreeMap::new();
    let mut tagged_blobs = std::collections::BTreeSet::new();
    let mut active = std::collections::BTreeSet::new();
    for e in &images {
        ids.insert(e.id.clone());
        let Ok(img) = store.image(&e.manifest.digest) else {
            continue;
        };
        let mut all = vec![(img.manifest.config.digest.clone(), img.manifest.config.size)];
        all.extend(
            img.manifest
                .layers
                .iter()
                .map(|l| (l.digest.clone(), l.size)),
        );
        for (d, s) in all {
            if e.name.is_some() {
                tagged_blobs.insert(d.clone());
            }
            blobs.insert(d, s);
        }
        if e.name.is_some() {
            active.insert(e.id.clone());
        }
    }
    let size: u64 = blobs.values().sum();
    let reclaimable: u64 = blobs
        .iter()
        .filter(|(d, _)| !tagged_blobs.contains(*d))
        .map(|(_, s)| s)
        .sum();
    let pct = |part: u64, whole: u64| (part * 100).checked_div(whole).unwrap_or(0);
    println!(
        "{:<16}{:<10}{:<10}{:<12}RECLAIMABLE",
        "TYPE", "TOTAL", "ACTIVE", "SIZE"
    );
    println!(
        "{:<16}{:<10}{:<10}{:<12}{} ({}%)",
        "Images",
        ids.len(),
        active.len(),
        human_size(size, 4),
        human_size(reclaimable, 4),
        pct(reclaimable, size)
    );
    println!(
        "{:<16}{:<10}{:<10}{:<12}{}",
        "Build Cache",
        u.entries,
        u.in_use,
        human_size(u.size, 4),
        human_size(u.reclaimable, 4)
    );
    println!(
        "{:<16}{:<10}{:<10}{:<12}{}",
        "Cache mounts",
        u.mounts,
        0,
        human_size(u.mounts_size, 4),
        human_size(u.mounts_size, 4)
    );
    Ok(())
}

/// Go's duration syntax as docker's filters take it: `24h`, `1h30m`, `90s`, `500ms`.
fn parse_duration(s: &str) -> Result<Duration> {
    let mut total = 0f64;
    let mut rest = s.trim();
    if rest.is_empty() {
        bail!("empty duration");
    }
    while !rest.is_empty() {
        let n = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .ok_or_else(|| anyhow::anyhow!("missing unit in duration {s:?}"))?;
        let value: f64 = rest[..n]
            .parse()
            .with_context(|| format!("bad number in {s:?}"))?;
        rest = &rest[n..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let unit = &rest[..unit_len];
        rest = &rest[unit_len..];
        total += value
            * match unit {
                "ns" => 1e-9,
                "us" | "µs" => 1e-6,
                "ms" => 1e-3,
                "s" => 1.0,
                "m" => 60.0,
                "h" => 3600.0,
                u => bail!("unknown unit {u:?} in duration {s:?}"),
            };
    }
    Ok(Duration::from_secs_f64(total))
}

/// docker's `RAMInBytes`: `512MB`, `5GB`, `1g`, `100` (bytes); binary multiples.
fn parse_size(s: &str) -> Result<u64> {
    let t = s.trim().to_ascii_lowercase();
    let n = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let value: f64 = t[..n].parse().with_context(|| format!("bad size {s:?}"))?;
    let mult: u64 = match t[n..].trim_end_matches("ib").trim_end_matches('b') {
        "" => 1,
        "k" => 1 << 10,
        "m" => 1 << 20,
        "g" => 1 << 30,
        "t" => 1 << 40,
        "p" => 1 << 50,
        u => bail!("unknown unit {u:?} in size {s:?}"),
    };
    Ok((value * mult as f64) as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_and_sizes() {
        assert_eq!(parse_duration("24h").unwrap(), Duration::from_secs(86400));
        assert_eq!(parse_duration("1h30m").unwrap(), Duration::from_secs(5400));
        assert_eq!(parse_duration("500ms").unwrap(), Duration::from_millis(500));
        assert!(parse_duration("10").is_err());
        assert!(parse_duration("3d").is_err());
        assert_eq!(parse_size("5GB").unwrap(), 5 << 30);
        assert_eq!(parse_size("512m").unwrap(), 512 << 20);
        assert_eq!(parse_size("100").unwrap(), 100);
        assert!(parse_size("1x").is_err());
    }
}
