//! The flags of `kiln build`, with docker's names and meanings.

use clap::Args;
use std::path::PathBuf;

#[derive(Args, Debug)]
pub struct BuildArgs {
    /// Name of the Dockerfile (default: CONTEXT/Dockerfile).
    #[arg(short = 'f', long = "file")]
    pub file: Option<PathBuf>,
    /// Name and optionally a tag (`name:tag`); may be repeated.
    #[arg(short = 't', long = "tag")]
    pub tags: Vec<String>,
    /// Build-time variables (`KEY=VALUE`, or `KEY` to take it from the environment).
    #[arg(long = "build-arg")]
    pub build_args: Vec<String>,
    /// The stage to build.
    #[arg(long)]
    pub target: Option<String>,
    /// Networking mode for RUN: host (default) or none.
    #[arg(long, default_value = "host")]
    pub network: String,
    /// Export: `type=oci,dest=FILE` or `type=docker,dest=FILE`.
    #[arg(short = 'o', long = "output")]
    pub output: Vec<String>,
    /// Write the image ID to this file.
    #[arg(long)]
    pub iidfile: Option<PathBuf>,
    /// Progress output type (only `plain`, `auto` and `tty` are accepted, all plain).
    #[arg(long, default_value = "plain")]
    pub progress: String,
    /// Print only the image ID.
    #[arg(short, long)]
    pub quiet: bool,
    /// Registries reached over plain HTTP (comma separated; loopback ones always are).
    #[arg(long = "insecure-registry", value_name = "HOST", value_delimiter = ',')]
    pub insecure_registry: Vec<String>,
    /// The build context directory.
    pub context: PathBuf,
}
