//! `kiln image prune`: untagged images, unreferenced blobs, layers and snapshots, and the
//! leftovers of interrupted commands.

use super::images::{human_size, open_store};
use anyhow::Result;
use clap::Args;
use std::path::PathBuf;

#[derive(Args, Debug)]
pub struct PruneArgs {
    /// Do not prompt (kiln never prompts; accepted for docker compatibility).
    #[arg(short, long)]
    pub force: bool,
}

pub fn run(root: Option<PathBuf>, _args: PruneArgs) -> Result<()> {
    let store = open_store(root)?;
    let report = store.prune(true)?;
    if !report.deleted_images.is_empty() {
        println!("Deleted Images:");
        for id in &report.deleted_images {
            println!("deleted: {id}");
        }
        println!();
    }
    println!("Total reclaimed space: {}", human_size(report.reclaimed, 4));
    Ok(())
}
