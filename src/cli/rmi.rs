//! `kiln rmi` (`kiln image rm`): docker's untag-then-delete rules (see `Store::remove`).

use super::images::open_store;
use crate::store::images::Removal;
use anyhow::{bail, Result};
use clap::Args;
use std::path::PathBuf;

#[derive(Args, Debug)]
pub struct RmiArgs {
    /// Remove an image referenced in several repositories.
    #[arg(short, long)]
    pub force: bool,
    /// Images: names, IDs or short IDs.
    #[arg(required = true)]
    pub images: Vec<String>,
}

pub fn run(root: Option<PathBuf>, args: RmiArgs) -> Result<()> {
    let store = open_store(root)?;
    let mut failed = 0;
    for r in &args.images {
        match store.remove(r, args.force) {
            Ok(events) => {
                for e in events {
                    match e {
                        Removal::Untagged(n) => println!("Untagged: {n}"),
                        Removal::Deleted(id) => println!("Deleted: {id}"),
                    }
                }
            }
            Err(e) => {
                eprintln!("Error: {e}");
                failed += 1;
            }
        }
    }
    // Free the deleted images' blobs now unless an import is running (then `image prune`).
    if let Err(e) = store.try_collect() {
        tracing::warn!("collecting unused blobs: {e}");
    }
    if failed > 0 {
        bail!(
            "{failed} of {} images could not be removed",
            args.images.len()
        );
    }
    Ok(())
}
