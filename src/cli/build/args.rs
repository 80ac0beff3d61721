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
    /// Progress output: `auto` (tty on a terminal, else plain), `plain` (docker's classic
    /// log), `tty` (live display), `quiet` (only the image ID).
    #[arg(long, default_value = "auto", value_parser = ["auto", "plain", "tty", "quiet"])]
    pub progress: String,
    /// Do not use the cache when building the image.
    #[arg(long = "no-cache")]
    pub no_cache: bool,
    /// Do not use the cache for these stages (name or index; may be repeated or comma separated).
    #[arg(long = "no-cache-filter", value_delimiter = ',')]
    pub no_cache_filter: Vec<String>,
    /// Always pull base images, even when the store has them.
    #[arg(long)]
    pub pull: bool,
    /// Say why the first cache miss of each stage missed (which file, arg or instruction changed).
    #[arg(long = "explain-cache")]
    pub explain_cache: bool,
    /// Print only the image ID.
    #[arg(short, long)]
    pub quiet: bool,
    /// Registries reached over plain HTTP (comma separated; loopback ones always are).
    #[arg(long = "insecure-registry", value_name = "HOST", value_delimiter = ',')]
    pub insecure_registry: Vec<String>,
    /// The build context directory.
    pub context: PathBuf,
}
