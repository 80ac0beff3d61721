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
    /// Progress output type (only `plain`, `auto` and `tty` are accepted, all plain).
    #[arg(long, default_value = "plain")]
    pub progress: String,
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
