//! `kiln inspect` (`kiln image inspect`): docker's `image inspect` JSON.

use super::images::{image_size, open_store};
use crate::store::{names, Store};
use anyhow::{bail, Result};
use clap::Args;
use serde_json::{json, Value};
use std::path::PathBuf;

#[derive(Args, Debug)]
pub struct InspectArgs {
    /// Images: names, IDs or short IDs.
    #[arg(required = true)]
    pub images: Vec<String>,
}

fn describe(store: &Store, reference: &str) -> Result<Value> {
    let r = store.resolve(reference)?;
    let img = store.image(&r.manifest)?;
    let entries: Vec<_> = store
        .entries()?
        .into_iter()
        .filter(|e| e.id == r.id)
        .collect();
    let mut tags = Vec::new();
    let mut digests = Vec::new();
    let mut last_tag = None;
    for e in &entries {
        if let Some(n) = &e.name {
            tags.push(names::familiar(n));
            let repo = names::familiar(names::split_tag(n).0);
            let d = format!("{repo}@{}", e.manifest.digest);
            if !digests.contains(&d) {
                digests.push(d);
            }
            last_tag = last_tag.max(e.created_at.clone());
        }
    }
    let other = |k: &str| img.config.other.get(k).cloned().unwrap_or(json!(""));
    let mut v = json!({
        "Id": img.id.to_string(),
        "RepoTags": tags,
        "RepoDigests": digests,
        "Parent": "",
        "Comment": other("comment"),
        "Created": img.config.created.clone().unwrap_or_default(),
        "DockerVersion": other("docker_version"),
        "Author": img.config.author.clone().unwrap_or_default(),
        "Config": img.config.config,
        "Architecture": img.config.architecture,
        "Os": img.config.os,
        "Size": image_size(store, &img),
        "RootFS": {
            "Type": img.config.rootfs.kind,
            "Layers": img.config.rootfs.diff_ids,
        },
        "Metadata": {
            "LastTagTime": last_tag.unwrap_or_else(|| "0001-01-01T00:00:00Z".into()),
        },
    });
    if let Some(variant) = &img.config.variant {
        v["Variant"] = json!(variant);
    }
    Ok(v)
}

pub fn run(root: Option<PathBuf>, args: InspectArgs) -> Result<()> {
    let store = open_store(root)?;
    let mut out = Vec::new();
    let mut errors = Vec::new();
    for r in &args.images {
        match describe(&store, r) {
            Ok(v) => out.push(v),
            Err(e) => errors.push(e),
        }
    }
    let mut buf = Vec::new();
    let fmt = serde_json::ser::PrettyFormatter::with_indent(b"    ");
    let mut ser = serde_json::Serializer::with_formatter(&mut buf, fmt);
    serde::Serialize::serialize(&out, &mut ser)?;
    super::stdout::print(&format!("{}\n", String::from_utf8_lossy(&buf)))?;
    if let Some(last) = errors.pop() {
        for e in errors {
            eprintln!("Error: {e:#}");
        }
        bail!(last);
    }
    Ok(())
}
