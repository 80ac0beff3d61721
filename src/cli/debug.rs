//! `kiln debug`: the parser's tree in BuildKit's dump format, and the build plan.

use anyhow::{Context, Result};
use clap::Subcommand;
use std::path::PathBuf;

#[derive(Subcommand, Debug)]
pub enum DebugCommand {
    /// Print the syntax tree of a Dockerfile in BuildKit's dump format.
    Parse {
        /// Print the tree (the default; kept for BuildKit's `dockerfile-parse --dump` habit).
        #[arg(long)]
        dump: bool,
        /// The Dockerfile (`-` for standard input).
        file: PathBuf,
    },
}

pub fn run(cmd: DebugCommand) -> Result<()> {
    match cmd {
        DebugCommand::Parse { dump: _, file } => {
            let (name, bytes) = read_dockerfile(&file)?;
            let parsed = crate::dockerfile::parser::parse(&bytes).map_err(|e| e.in_file(name))?;
            println!("{}", crate::dockerfile::parser::dump(&parsed.ast));
            Ok(())
        }
    }
}

/// Reads a Dockerfile from a path or `-`, returning the name to use in messages.
pub(crate) fn read_dockerfile(file: &PathBuf) -> Result<(String, Vec<u8>)> {
    if file.as_os_str() == "-" {
        let mut buf = Vec::new();
        std::io::Read::read_to_end(&mut std::io::stdin(), &mut buf)
            .context("reading standard input")?;
        Ok(("Dockerfile".to_string(), buf))
    } else {
        let bytes = std::fs::read(file).with_context(|| format!("reading {}", file.display()))?;
        Ok((file.display().to_string(), bytes))
    }
}
