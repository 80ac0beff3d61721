//! Filesystem steps (COPY/ADD, WORKDIR's directory) run in a helper process, `kiln __copy
//! SPEC`, started with a new mount namespace: the overlay it writes through, and the read-only
//! view of a `--from` stage, exist only there, so no mount outlives the step on any path.

use super::copy::{self, CopyRequest, SourceRoot};
use crate::context::load_ignore_rules;
use crate::exec::init::{bind, mount_overlay, mount_raw};
use crate::fsops::Root;
use serde::{Deserialize, Serialize};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// One filesystem step, handed to the helper as JSON.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FsSpec {
    /// The parent snapshots, top-most first (an empty directory for an empty parent).
    pub lower: Vec<PathBuf>,
    pub upper: PathBuf,
    pub work: PathBuf,
    pub merged: PathBuf,
    pub op: FsOp,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum FsOp {
    Copy {
        request: Box<CopyRequest>,
        source: CopySource,
    },
    /// `mkdir -p` with mode 0755.
    Mkdir { path: String },
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum CopySource {
    /// The build context, filtered by the ignore file found for `dockerfile`.
    Context {
        dir: PathBuf,
        dockerfile: Option<PathBuf>,
    },
    /// A plain directory read as a context without ignore rules (heredoc sources).
    Plain(PathBuf),
    /// Another stage's or image's snapshots (top-most first), mounted read-only on `mount`.
    Layers { lower: Vec<PathBuf>, mount: PathBuf },
}

/// Runs `spec` through the helper `exe` (the kiln binary); the error is the helper's message.
pub fn run(spec: &FsSpec, exe: &Path, spec_path: &Path) -> Result<(), String> {
    let json = serde_json::to_vec(spec).map_err(|e| e.to_string())?;
    std::fs::write(spec_path, json).map_err(|e| format!("writing {}: {e}", spec_path.display()))?;
    let mut cmd = Command::new(exe);
    cmd.arg("__copy")
        .arg(spec_path)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    // SAFETY: only async-signal-safe calls between fork and exec.
    unsafe {
        cmd.pre_exec(|| {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) != 0
                || libc::unshare(libc::CLONE_NEWNS) != 0
            {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let started = std::time::Instant::now();
    let out = cmd
        .output()
        .map_err(|e| format!("starting the copy helper {}: {e}", exe.display()))?;
    tracing::debug!("filesystem step helper ran in {:.2?}", started.elapsed());
    let _ = std::fs::remove_file(spec_path);
    if out.status.success() {
        return Ok(());
    }
    let msg = String::from_utf8_lossy(&out.stderr).trim().to_string();
    Err(if msg.is_empty() {
        format!("copy helper failed: {}", out.status)
    } else {
        msg
    })
}

/// The helper's entry point: returns the process exit code.
pub fn main(spec_path: &Path) -> i32 {
    match helper(spec_path) {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("{e}");
            1
        }
    }
}

fn helper(spec_path: &Path) -> Result<(), String> {
    let bytes =
        std::fs::read(spec_path).map_err(|e| format!("reading {}: {e}", spec_path.display()))?;
    let spec: FsSpec = serde_json::from_slice(&bytes).map_err(|e| format!("bad spec: {e}"))?;
    raise_fd_limit();
    mount_raw(None, "/", None, libc::MS_REC | libc::MS_PRIVATE, None)
        .map_err(|e| format!("making / private: {e}"))?;
    mount_overlay(&spec.lower, &spec.upper, &spec.work, &spec.merged)?;
    let dest = Root::open(&spec.merged).map_err(|e| format!("opening the root: {e}"))?;
    match &spec.op {
        FsOp::Mkdir { path } => {
            dest.mkdir_all(Path::new(path), 0o755, None)
                .map_err(|e| format!("creating {path}: {e}"))?;
        }
        FsOp::Copy { request, source } => match source {
            CopySource::Context { dir, dockerfile } => {
                let ignore =
                    load_ignore_rules(dir, dockerfile.as_deref()).map_err(|e| e.to_string())?;
                let root = Root::open(dir).map_err(|e| format!("opening the context: {e}"))?;
                let from = SourceRoot::Context {
                    root: &root,
                    ignore: Some(ignore.rules.matcher()),
                };
                copy::run(request, from, &dest).map_err(|e| e.to_string())?;
            }
            CopySource::Plain(dir) => {
                let root =
                    Root::open(dir).map_err(|e| format!("opening {}: {e}", dir.display()))?;
                let from = SourceRoot::Context {
                    root: &root,
                    ignore: None,
                };
                copy::run(request, from, &dest).map_err(|e| e.to_string())?;
            }
            CopySource::Layers { lower, mount } => {
                match lower.as_slice() {
                    [] => {}
                    [one] => bind(one, mount, true)?,
                    many => {
                        let dirs: Vec<String> =
                            many.iter().map(|p| p.display().to_string()).collect();
                        let data = format!("lowerdir={}", dirs.join(":"));
                        mount_raw(
                            Some(Path::new("overlay")),
                            mount,
                            Some("overlay"),
                            libc::MS_RDONLY,
                            Some(&data),
                        )
                        .map_err(|e| format!("mounting the source stage: {e}"))?;
                    }
                }
                let root =
                    Root::open(mount).map_err(|e| format!("opening the source stage: {e}"))?;
                copy::run(request, SourceRoot::Rootfs(&root), &dest).map_err(|e| e.to_string())?;
            }
        },
    }
    Ok(())
}

/// The copy keeps two directories open per level of the tree it walks: lift the soft limit
/// on open files to the hard one (as Go programs do at start) so that a deep tree fits.
fn raise_fd_limit() {
    use rustix::process::{getrlimit, setrlimit, Resource};
    let mut lim = getrlimit(Resource::Nofile);
    if lim.current < lim.maximum {
        lim.current = lim.maximum;
        let _ = setrlimit(Resource::Nofile, lim);
    }
}
