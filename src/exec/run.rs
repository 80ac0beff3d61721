//! The parent side of a sandboxed run: write the spec, start `kiln __sandbox` with the
//! namespaces unshared, stream its output, and afterwards take the sandbox's mount-point stubs
//! back out of the step's diff.

use super::init::{err_path, SETUP_FAILED};
use super::spec::{Network, RootFs, SandboxSpec};
use std::io::{BufRead, BufReader};
use std::os::fd::{FromRawFd, OwnedFd};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};

#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("sandbox setup failed: {0}")]
    Setup(String),
    #[error("starting the sandbox helper {helper}: {source}")]
    Spawn {
        helper: String,
        source: std::io::Error,
    },
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

/// Runs the command described by `spec`, using `helper` (the kiln binary) for the inside,
/// passing each line of its combined stdout/stderr to `output`. Returns the command's exit
/// code (128+N when killed by signal N).
pub fn run(
    spec: &SandboxSpec,
    helper: &Path,
    mut output: impl FnMut(&[u8]),
) -> Result<i32, RunError> {
    let (read_end, write_end) = pipe()?;
    let mut child = start(
        spec,
        helper,
        Stdio::null(),
        Stdio::from(write_end.try_clone()?),
        Stdio::from(write_end),
    )?;
    let mut reader = BufReader::new(std::fs::File::from(read_end));
    let mut line = Vec::new();
    loop {
        line.clear();
        if reader.read_until(b'\n', &mut line)? == 0 {
            break;
        }
        output(&line);
    }
    let status = child.wait()?;
    finish(spec, status)
}

/// Writes the spec and starts `helper __sandbox` with the namespaces unshared and the given
/// standard streams; [`finish`] must follow once it has exited.
pub(super) fn start(
    spec: &SandboxSpec,
    helper: &Path,
    stdin: Stdio,
    stdout: Stdio,
    stderr: Stdio,
) -> Result<Child, RunError> {
    let spec_path = spec_path(spec);
    let _ = std::fs::remove_file(err_path(spec));
    std::fs::write(
        &spec_path,
        serde_json::to_vec(spec).map_err(std::io::Error::other)?,
    )?;
    let mut flags =
        libc::CLONE_NEWNS | libc::CLONE_NEWPID | libc::CLONE_NEWUTS | libc::CLONE_NEWIPC;
    if spec.network == Network::None {
        flags |= libc::CLONE_NEWNET;
    }
    let mut cmd = Command::new(helper);
    cmd.arg("__sandbox")
        .arg(&spec_path)
        .env_clear()
        .stdin(stdin)
        .stdout(stdout)
        .stderr(stderr);
    // SAFETY: only async-signal-safe calls between fork and exec.
    unsafe {
        cmd.pre_exec(move || {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) != 0 || libc::unshare(flags) != 0
            {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    // The Command (and with it the parent's copies of the child's pipe ends) is dropped on
    // return, so that readers see end of file when the sandbox exits.
    cmd.spawn().map_err(|source| RunError::Spawn {
        helper: helper.display().to_string(),
        source,
    })
}

/// Cleans up after the helper started by [`start`] exited with `status`, and turns the
/// status into the command's exit code or the sandbox's setup error.
pub(super) fn finish(spec: &SandboxSpec, status: ExitStatus) -> Result<i32, RunError> {
    let _ = std::fs::remove_file(spec_path(spec));
    remove_stubs(spec);
    let code = status
        .code()
        .unwrap_or_else(|| status.signal().map_or(SETUP_FAILED, |s| 128 + s));
    let err_path = err_path(spec);
    let setup_error = std::fs::read_to_string(&err_path).unwrap_or_default();
    let _ = std::fs::remove_file(&err_path);
    if code == SETUP_FAILED && !setup_error.is_empty() {
        return Err(RunError::Setup(setup_error));
    }
    Ok(code)
}

fn spec_path(spec: &SandboxSpec) -> PathBuf {
    spec.created_log.with_extension("spec.json")
}

fn pipe() -> std::io::Result<(OwnedFd, OwnedFd)> {
    let mut fds = [0; 2];
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: pipe2 just returned these two descriptors, owned by nobody else.
    Ok(unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) })
}

/// Removes, deepest first, the mount points the sandbox created that are still empty, so that
/// they do not show up in the step's layer.
fn remove_stubs(spec: &SandboxSpec) {
    let Ok(log) = std::fs::read_to_string(&spec.created_log) else {
        return;
    };
    let _ = std::fs::remove_file(&spec.created_log);
    let base = match &spec.root {
        RootFs::Overlay { upper, .. } => upper,
        RootFs::Dir(d) => d,
    };
    let mut paths: Vec<&str> = log.lines().filter(|l| !l.is_empty()).collect();
    paths.sort_by_key(|p| std::cmp::Reverse(p.len()));
    for p in paths {
        let full = base.join(p.trim_start_matches('/'));
        let Ok(md) = std::fs::symlink_metadata(&full) else {
            continue;
        };
        if md.is_dir() {
            let _ = std::fs::remove_dir(&full);
        } else if md.is_file() && md.len() == 0 {
            let _ = std::fs::remove_file(&full);
        }
    }
}
