//! A sandboxed command in the foreground (`kiln run`): its standard streams are the caller's
//! choice rather than a line callback, and the signals that would end kiln are passed on to
//! the sandbox instead, so that kiln lives on to clean up after it and report its exit code.

use super::run::{finish, start, RunError};
use super::spec::SandboxSpec;
use std::path::Path;
use std::process::Stdio;
use std::sync::atomic::{AtomicI32, Ordering};

/// The signals passed on to the sandbox while it runs: those a terminal or `kill` sends to
/// stop a foreground program.
const FORWARDED: [libc::c_int; 4] = [libc::SIGINT, libc::SIGTERM, libc::SIGHUP, libc::SIGQUIT];

/// The sandbox helper's pid while one runs attached (0 otherwise), read by the handler.
static TARGET: AtomicI32 = AtomicI32::new(0);

extern "C" fn forward(sig: libc::c_int) {
    let pid = TARGET.load(Ordering::SeqCst);
    if pid > 0 {
        // SAFETY: kill is async-signal-safe.
        unsafe { libc::kill(pid, sig) };
    }
}

/// Runs the command of `spec` with the given standard streams and waits for it. SIGINT,
/// SIGTERM, SIGHUP and SIGQUIT received meanwhile go to the sandbox (whose processes all end
/// with it); the previous handlers are restored afterwards. Returns the command's exit code
/// (128+N when the sandbox was ended by signal N) or the sandbox's setup error.
pub fn run_attached(
    spec: &SandboxSpec,
    helper: &Path,
    stdin: Stdio,
    stdout: Stdio,
    stderr: Stdio,
) -> Result<i32, RunError> {
    let mut child = start(spec, helper, stdin, stdout, stderr)?;
    let pid = i32::try_from(child.id()).unwrap_or(0);
    let status = {
        let _forwarding = Forwarding::install(pid);
        child.wait()?
    };
    finish(spec, status)
}

/// Signal handlers that forward to a pid, restored on drop.
struct Forwarding {
    previous: Vec<(libc::c_int, libc::sigaction)>,
}

impl Forwarding {
    fn install(pid: i32) -> Forwarding {
        TARGET.store(pid, Ordering::SeqCst);
        let mut previous = Vec::new();
        for sig in FORWARDED {
            // SAFETY: a zeroed sigaction is a valid starting value; the handler only reads an
            // atomic and calls kill. Handlers are reset to the default on exec, so the
            // children started later do not inherit them.
            unsafe {
                let mut action: libc::sigaction = std::mem::zeroed();
                action.sa_sigaction = forward as extern "C" fn(libc::c_int) as usize;
                action.sa_flags = libc::SA_RESTART;
                libc::sigemptyset(&mut action.sa_mask);
                let mut old: libc::sigaction = std::mem::zeroed();
                if libc::sigaction(sig, &action, &mut old) == 0 {
                    previous.push((sig, old));
                }
            }
        }
        Forwarding { previous }
    }
}

impl Drop for Forwarding {
    fn drop(&mut self) {
        for (sig, old) in &self.previous {
            // SAFETY: restores a disposition sigaction returned earlier.
            unsafe { libc::sigaction(*sig, old, std::ptr::null_mut()) };
        }
        TARGET.store(0, Ordering::SeqCst);
    }
}
