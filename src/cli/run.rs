//! `kiln run`: a container from a stored image, in the foreground, in the same sandbox as a
//! build's RUN (host network unless `--network none`). Its root is an overlay of the image's
//! layer snapshots with a fresh upper dir, all removed when it exits: kiln keeps no
//! containers. The exit code is the process's, or docker's 125 (kiln could not run it),
//! 126 (the command cannot be run) or 127 (no such command).

mod process;
mod streams;

use super::images::open_store;
use crate::exec::{self, Network, RootFs, SandboxSpec};
use crate::store::{Store, StoreError};
use anyhow::{anyhow, bail, Context, Result};
use clap::{Args, ValueEnum};
use process::{process, Overrides};
use std::io::Read;
use std::path::PathBuf;
use streams::Streams;

/// docker's exit code for a container that could not be run at all.
const RUN_FAILED: i32 = 125;

#[derive(Args, Debug)]
pub struct RunArgs {
    /// Remove the container when it exits (always so: kiln keeps no containers).
    #[arg(long)]
    pub rm: bool,
    /// A name for the container (checked as docker does; not kept, as the container is not).
    #[arg(long)]
    pub name: Option<String>,
    /// Set an environment variable (`KEY=VALUE`, or `KEY` to pass kiln's own value on).
    #[arg(short = 'e', long = "env", value_name = "KEY=VALUE")]
    pub env: Vec<String>,
    /// Working directory inside the container (absolute).
    #[arg(short = 'w', long = "workdir", value_name = "DIR")]
    pub workdir: Option<String>,
    /// User to run as: `name`, `uid`, `name:group` or `uid:gid`.
    #[arg(short = 'u', long = "user", value_name = "USER")]
    pub user: Option<String>,
    /// Overwrite the image's ENTRYPOINT (an empty string clears it); the image's CMD is
    /// then dropped unless a command is given.
    #[arg(long, value_name = "COMMAND")]
    pub entrypoint: Option<String>,
    /// Give the container kiln's own terminal (no new pseudo-terminal is made) and TERM=xterm.
    #[arg(short = 't', long = "tty")]
    pub tty: bool,
    /// Keep standard input open: the container reads kiln's.
    #[arg(short = 'i', long = "interactive")]
    pub interactive: bool,
    /// Network: the host's (`host`, the default) or only a loopback interface (`none`).
    #[arg(long, value_enum, default_value_t = NetworkMode::Host)]
    pub network: NetworkMode,
    /// The image (name, ID or short ID), then the command and its arguments, which replace
    /// the image's CMD.
    #[arg(
        required = true,
        trailing_var_arg = true,
        value_name = "IMAGE [COMMAND] [ARG...]"
    )]
    pub args: Vec<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum NetworkMode {
    Host,
    None,
}

/// Runs the container and returns kiln's exit code.
pub fn run(root: Option<PathBuf>, args: RunArgs) -> i32 {
    match run_container(root, args) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("kiln: {e:#}");
            RUN_FAILED
        }
    }
}

fn run_container(root: Option<PathBuf>, args: RunArgs) -> Result<i32> {
    if let Some(name) = &args.name {
        check_name(name)?;
    }
    let (image_ref, cmd) = args
        .args
        .split_first()
        .ok_or_else(|| anyhow!("an image is required"))?;
    let store = open_store(root)?;
    let _ingest = store.ingest()?;
    let image = match store.resolve(image_ref) {
        Ok(r) => store.image(&r.manifest)?,
        Err(StoreError::NoSuchImage(_)) => bail!(
            "Unable to find image '{image_ref}' locally (kiln run does not pull: \
             `kiln pull {image_ref}` or `kiln load` it first)"
        ),
        Err(e) => return Err(e.into()),
    };
    let id = container_id()?;
    let hostname = id[..12].to_string();
    let overrides = Overrides {
        env: args.env.clone(),
        workdir: args.workdir.clone(),
        user: args.user.clone(),
        entrypoint: args.entrypoint.clone(),
        cmd: cmd.to_vec(),
        tty: args.tty,
    };
    let proc = process(image.config.config.as_ref(), &hostname, &overrides, |k| {
        std::env::var(k).ok()
    })
    .map_err(|e| anyhow!(e))?;

    let work = store.work_dir()?;
    let root = overlay(&store, &image.config.rootfs.diff_ids, work.path())?;
    let etc = exec::write_etc_files(work.path(), &hostname)
        .context("writing the container's /etc/hosts")?;
    let spec = SandboxSpec {
        root,
        args: proc.args,
        env: proc.env,
        cwd: proc.cwd,
        user: proc.user,
        hostname,
        network: match args.network {
            NetworkMode::Host => Network::Host,
            NetworkMode::None => Network::None,
        },
        mounts: Vec::new(),
        hosts_file: Some(etc.hosts),
        resolv_file: Some(etc.resolv),
        created_log: work.path().join("created.log"),
    };
    let helper = std::env::current_exe().context("finding the kiln binary")?;
    let mut streams = Streams::new(args.interactive, args.tty)?;
    let (stdin, stdout, stderr) = streams.take();
    let result = exec::run_attached(&spec, &helper, stdin, stdout, stderr);
    streams.join();
    let code = result.map_err(|e| anyhow!("{e}"))?;
    Ok(code)
}

/// The root: the image's snapshots, top-most first, under a fresh upper dir in `work`.
fn overlay(
    store: &Store,
    diff_ids: &[crate::image::digest::Digest],
    work: &std::path::Path,
) -> Result<RootFs> {
    let mut lower = Vec::new();
    for d in diff_ids.iter().rev() {
        lower.push(
            store
                .snapshot(d)
                .with_context(|| format!("unpacking layer {d}"))?,
        );
    }
    let dir = |name: &str| -> Result<PathBuf> {
        let p = work.join(name);
        std::fs::create_dir(&p).with_context(|| format!("creating {}", p.display()))?;
        Ok(p)
    };
    if lower.is_empty() {
        lower.push(dir("empty")?);
    }
    Ok(RootFs::Overlay {
        lower,
        upper: dir("upper")?,
        work: dir("work")?,
        merged: dir("merged")?,
    })
}

/// A random 64-hex-digit container ID, as docker makes them (its first 12 are the hostname).
fn container_id() -> Result<String> {
    let mut bytes = [0u8; 32];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut bytes))
        .context("reading /dev/urandom")?;
    Ok(hex::encode(bytes))
}

/// docker's rule for container names.
fn check_name(name: &str) -> Result<()> {
    let mut chars = name.strip_prefix('/').unwrap_or(name).chars();
    let first_ok = chars.next().is_some_and(|c| c.is_ascii_alphanumeric());
    let rest: Vec<char> = chars.collect();
    if !first_ok
        || rest.is_empty()
        || !rest
            .iter()
            .all(|c| c.is_ascii_alphanumeric() || "_.-".contains(*c))
    {
        bail!("Invalid container name ({name}), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed");
    }
    Ok(())
}
