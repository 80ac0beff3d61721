//! The flags of `kiln build`, with docker's names and meanings.

use crate::build::platform::check_platform;
use crate::build::secrets::{parse_secret_flags, SecretSource};
use anyhow::Result;
use clap::Args;
use std::collections::BTreeMap;
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
    /// Export: `type=local,dest=DIR`, `type=tar,dest=FILE`, `type=oci|docker,dest=FILE`
    /// (`dest=-` is standard output; `tar=false` gives an OCI layout directory).
    #[arg(short = 'o', long = "output")]
    pub output: Vec<String>,
    /// buildx's flags (boxed: the command enum stays small).
    #[command(flatten)]
    pub extra: Box<ExtraArgs>,
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
    /// The build context directory, or `-` for a tar of it (or a lone Dockerfile) on
    /// standard input.
    pub context: PathBuf,
}

/// The flags that BuildKit's client (buildx) added to `docker build`.
#[derive(Args, Debug)]
pub struct ExtraArgs {
    /// A secret for `RUN --mount=type=secret`: `id=ID[,src=FILE|,env=VAR][,type=file|env]`.
    #[arg(long = "secret")]
    pub secrets: Vec<String>,
    /// Metadata for the image (`KEY=VALUE`); may be repeated.
    #[arg(long = "label")]
    pub labels: Vec<String>,
    /// Target platform (only the machine's own: there is no emulation).
    #[arg(long)]
    pub platform: Option<String>,
    /// Push every `--tag` to its registry after the build.
    #[arg(long)]
    pub push: bool,
    /// Write the build result's metadata (image digests and names) to this JSON file.
    #[arg(long = "metadata-file")]
    pub metadata_file: Option<PathBuf>,
}

impl BuildArgs {
    /// The `--label`s (`KEY=VALUE`; a bare `KEY` gets an empty value, as docker gives it).
    pub fn labels(&self) -> BTreeMap<String, String> {
        self.extra
            .labels
            .iter()
            .map(|l| match l.split_once('=') {
                Some((k, v)) => (k.to_string(), v.to_string()),
                None => (l.clone(), String::new()),
            })
            .collect()
    }

    /// The `--secret`s by id.
    pub fn secrets(&self) -> Result<BTreeMap<String, SecretSource>> {
        parse_secret_flags(&self.extra.secrets)
            .map_err(|e| anyhow::anyhow!("invalid --secret: {e}"))
    }

    /// Refuses a `--platform` other than the machine's.
    pub fn check_platform(&self) -> Result<()> {
        if let Some(p) = &self.extra.platform {
            for one in p.split(',') {
                check_platform(one.trim()).map_err(|e| anyhow::anyhow!("{e}"))?;
            }
        }
        Ok(())
    }
}
