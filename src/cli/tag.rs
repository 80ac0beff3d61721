//! `kiln tag SRC DST` (`kiln image tag`).

use super::images::open_store;
use crate::store::names;
use anyhow::Result;
use clap::Args;
use std::path::PathBuf;

#[derive(Args, Debug)]
pub struct TagArgs {
    /// The image: name, ID or short ID.
    pub source: String,
    /// The new name (`repo[:tag]`).
    pub target: String,
}

pub fn run(root: Option<PathBuf>, args: TagArgs) -> Result<()> {
    let store = open_store(root)?;
    let src = store.resolve(&args.source)?;
    let dst = names::normalize_tagged(&args.target)?;
    store.tag(&src, &dst)?;
    Ok(())
}
