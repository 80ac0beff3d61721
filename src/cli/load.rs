//! `kiln load` (`kiln image load`): a docker-archive or OCI layout tar into the store.

use super::images::open_store;
use crate::archive::{self, Loaded};
use crate::store::names;
use anyhow::{bail, Context, Result};
use clap::Args;
use std::io::IsTerminal;
use std::path::PathBuf;

#[derive(Args, Debug)]
pub struct LoadArgs {
    /// Read from a file instead of standard input.
    #[arg(short, long)]
    pub input: Option<PathBuf>,
    /// Print nothing.
    #[arg(short, long)]
    pub quiet: bool,
}

pub fn run(root: Option<PathBuf>, args: LoadArgs) -> Result<()> {
    let store = open_store(root)?;
    let loaded = match &args.input {
        Some(path) => {
            let f =
                std::fs::File::open(path).with_context(|| format!("opening {}", path.display()))?;
            archive::load(&store, std::io::BufReader::with_capacity(1 << 20, f))
                .with_context(|| format!("loading {}", path.display()))?
        }
        None => {
            let stdin = std::io::stdin();
            if stdin.is_terminal() {
                bail!("requested load from stdin, but stdin is empty");
            }
            archive::load(&store, stdin.lock()).context("loading standard input")?
        }
    };
    if !args.quiet {
        for l in loaded {
            match l {
                Loaded::Tag(n) => println!("Loaded image: {}", names::familiar(&n)),
                Loaded::Id(id) => println!("Loaded image ID: {id}"),
            }
        }
    }
    Ok(())
}
