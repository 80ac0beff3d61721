//! What one sandboxed command needs, handed from the parent to `kiln __sandbox` as JSON.

use serde::{Deserialize, Serialize};
use std::path::PathBuf;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum RootFs {
    /// An overlay: `lower` top-most first; `upper` receives the changes (the step's diff);
    /// `work` is overlay's scratch dir on the same filesystem as `upper`; `merged` the mount point.
    Overlay {
        lower: Vec<PathBuf>,
        upper: PathBuf,
        work: PathBuf,
        merged: PathBuf,
    },
    /// A plain directory used as the root in place (changes land in it directly).
    Dir(PathBuf),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub enum Network {
    /// The host's network namespace (docker build's default with `--network host`).
    #[default]
    Host,
    /// A new network namespace with only loopback, up.
    None,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum MountKind {
    Bind { source: PathBuf, readonly: bool },
    Tmpfs { size: Option<u64> },
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Mount {
    /// Absolute path inside the root.
    pub target: String,
    pub kind: MountKind,
    /// Remove the mount point after the run when the sandbox had to create it (cache and
    /// secret mounts leave no trace in the layer).
    pub remove_created: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SandboxSpec {
    pub root: RootFs,
    pub args: Vec<String>,
    /// `KEY=value` entries, as the process sees them.
    pub env: Vec<String>,
    /// Working directory inside the root; created when missing, as the runtime does.
    pub cwd: String,
    /// The USER as written (`name`, `uid`, `name:group`, `uid:gid`); empty means root.
    pub user: String,
    pub hostname: String,
    pub network: Network,
    pub mounts: Vec<Mount>,
    /// Files whose contents become `/etc/hosts` and `/etc/resolv.conf` (private copies, so
    /// a RUN that edits them never touches the host's).
    pub hosts_file: Option<PathBuf>,
    pub resolv_file: Option<PathBuf>,
    /// Where the sandbox records the paths it created in the root for its mount points.
    pub created_log: PathBuf,
}
