//! The `/etc/hosts` and `/etc/resolv.conf` a sandbox sees: private copies in the run's work
//! directory, so that a command editing them never touches the host's.

use std::io;
use std::path::{Path, PathBuf};

/// The two files written by [`write_etc_files`], for `SandboxSpec::{hosts_file, resolv_file}`.
#[derive(Debug, Clone)]
pub struct EtcFiles {
    pub hosts: PathBuf,
    pub resolv: PathBuf,
}

/// Writes `dir/hosts` (localhost, with `hostname` on the loopback address as BuildKit's sandbox
/// has it, so that the name resolves without DNS) and `dir/resolv.conf` (the host's, as the
/// sandbox shares the host's network).
pub fn write_etc_files(dir: &Path, hostname: &str) -> io::Result<EtcFiles> {
    let hosts = dir.join("hosts");
    std::fs::write(
        &hosts,
        format!("127.0.0.1\tlocalhost {hostname}\n::1\tlocalhost ip6-localhost ip6-loopback\n"),
    )?;
    let resolv = dir.join("resolv.conf");
    std::fs::write(
        &resolv,
        std::fs::read("/etc/resolv.conf").unwrap_or_default(),
    )?;
    Ok(EtcFiles { hosts, resolv })
}
