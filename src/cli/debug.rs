//! `kiln debug`: the parser's tree in BuildKit's dump format, and the build plan.

use anyhow::{Context, Result};
use clap::Subcommand;
use std::path::PathBuf;

#[derive(Subcommand, Debug)]
pub enum DebugCommand {
    /// Print the syntax tree of a Dockerfile in BuildKit's dump format.
    #[command(after_help = super::examples::DEBUG_PARSE)]
    Parse {
        /// Print the tree (the default; kept for BuildKit's `dockerfile-parse --dump` habit).
        #[arg(long)]
        dump: bool,
        /// The Dockerfile (`-` for standard input).
        file: PathBuf,
    },
    /// Print the build plan: stages (index, name, base, level, deps) and their expanded steps.
    #[command(after_help = super::examples::DEBUG_PLAN)]
    Plan {
        /// The Dockerfile (`-` for standard input).
        file: PathBuf,
        /// Plan only this stage and the stages it needs.
        #[arg(long)]
        target: Option<String>,
        /// A build arg (`KEY=VALUE`, or `KEY` to take the value from the environment).
        #[arg(long = "build-arg", value_name = "KEY=VALUE")]
        build_args: Vec<String>,
    },
}

pub fn run(cmd: DebugCommand) -> Result<()> {
    match cmd {
        DebugCommand::Parse { dump: _, file } => {
            let (name, bytes) = read_dockerfile(&file)?;
            let parsed = crate::dockerfile::parser::parse(&bytes).map_err(|e| e.in_file(name))?;
            let mut text = crate::dockerfile::parser::dump(&parsed.ast);
            text.push('\n');
            super::stdout::print(&text)?;
            Ok(())
        }
        DebugCommand::Plan {
            file,
            target,
            build_args,
        } => {
            let (name, bytes) = read_dockerfile(&file)?;
            let parsed =
                crate::dockerfile::parser::parse(&bytes).map_err(|e| e.in_file(name.clone()))?;
            let opts = crate::plan::PlanOptions {
                target,
                build_args: parse_build_args(&build_args),
                ..Default::default()
            };
            let plan = crate::plan::plan(&parsed, &opts).map_err(|e| e.in_file(name))?;
            for w in &plan.warnings {
                eprintln!("{w}");
            }
            super::stdout::print(&crate::plan::render::render(&plan))?;
            Ok(())
        }
    }
}

/// `KEY=VALUE` pairs; a bare `KEY` takes its value from the environment, as `docker build`
/// does, and is dropped when the environment has none.
fn parse_build_args(args: &[String]) -> std::collections::BTreeMap<String, String> {
    args.iter()
        .filter_map(|a| match a.split_once('=') {
            Some((k, v)) => Some((k.to_string(), v.to_string())),
            None => std::env::var(a).ok().map(|v| (a.clone(), v)),
        })
        .collect()
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
