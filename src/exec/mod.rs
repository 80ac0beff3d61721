//! The RUN sandbox: a command run in new mount, pid, uts and ipc namespaces (and a new network
//! namespace for `--network none`), with the image's filesystem as its root.
//!
//! The parent ([`run`]) re-executes the kiln binary as `kiln __sandbox SPEC` with the namespaces
//! unshared before exec ([`init`]). That process is single-threaded, so it may fork safely: its
//! child is PID 1 of the new pid namespace, mounts the root (an overlay of the parent snapshot
//! dirs, or a plain directory), `/proc`, a minimal `/dev`, `/sys`, `/etc/hosts` and
//! `/etc/resolv.conf` copies and the step's own mounts, pivots into it, drops to the step's user
//! and execs the command. Everything the sandbox mounted lives only in its mount namespace, and
//! every process in it dies with PID 1, so no mount or process outlives a run on any path:
//! success, failure, Ctrl-C or a killed kiln (the helper and PID 1 carry `PDEATHSIG=SIGKILL`).

pub mod attach;
pub mod etc_files;
pub mod init;
pub mod run;
pub mod spec;
pub mod user;

pub use attach::run_attached;
pub use etc_files::{write_etc_files, EtcFiles};
pub use run::{run, RunError};
pub use spec::{Mount, MountKind, Network, RootFs, SandboxSpec};
