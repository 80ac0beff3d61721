//! How each instruction changes the image config, and the history entry it leaves, as
//! BuildKit's Dockerfile frontend writes them (so that `docker inspect` reads the same).

use crate::dockerfile::instructions::{self, Command, CommandLine, Healthcheck, Instruction};
use crate::image::oci::{self, ContainerConfig, History, ImageConfig};
use std::collections::BTreeMap;

/// BuildKit's comment on every history entry it writes.
pub const HISTORY_COMMENT: &str = "buildkit.dockerfile.v0";

/// The default shell of a stage without SHELL.
pub fn default_shell() -> Vec<String> {
    vec!["/bin/sh".to_string(), "-c".to_string()]
}

/// The config of a `FROM scratch` stage.
pub fn scratch_config() -> ImageConfig {
    ImageConfig {
        architecture: "amd64".to_string(),
        os: "linux".to_string(),
        config: Some(ContainerConfig {
            env: Some(vec![format!("PATH={}", crate::plan::DEFAULT_PATH)]),
            ..Default::default()
        }),
        rootfs: oci::RootFs {
            kind: "layers".to_string(),
            diff_ids: Vec::new(),
        },
        ..Default::default()
    }
}

/// Sets `key` in a `KEY=value` list, in place when present.
pub fn set_env(env: &mut Vec<String>, key: &str, value: &str) {
    let entry = format!("{key}={value}");
    match env
        .iter_mut()
        .find(|e| e.split_once('=').map_or(e.as_str(), |(k, _)| k) == key)
    {
        Some(e) => *e = entry,
        None => env.push(entry),
    }
}

/// The argv of a command line: shell form through `shell`, exec form as it is.
pub fn argv(cmd: &CommandLine, shell: &[String]) -> Vec<String> {
    if cmd.prepend_shell {
        let mut v = shell.to_vec();
        v.extend(cmd.args.iter().map(|a| a.to_string()));
        v
    } else {
        instructions::owned(&cmd.args)
    }
}

/// `WORKDIR` resolved against the current one, cleaned.
pub fn resolve_workdir(current: &str, wd: &str) -> String {
    let joined = if wd.starts_with('/') {
        wd.to_string()
    } else {
        let base = if current.is_empty() { "/" } else { current };
        format!("{base}/{wd}")
    };
    let mut parts: Vec<&str> = Vec::new();
    for c in joined.split('/') {
        match c {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            c => parts.push(c),
        }
    }
    format!("/{}", parts.join("/"))
}

/// `80` → `80/tcp`; a range (`8000-8002/udp`) gives one entry per port, as Docker's
/// `nat.ParsePortSpecs` does.
fn ports(p: &str) -> Vec<String> {
    let (num, proto) = match p.split_once('/') {
        Some((n, pr)) => (n, pr.to_ascii_lowercase()),
        None => (p, "tcp".to_string()),
    };
    if let Some((a, b)) = num.split_once('-') {
        if let (Ok(a), Ok(b)) = (a.parse::<u32>(), b.parse::<u32>()) {
            if a <= b && b - a < 65536 {
                return (a..=b).map(|n| format!("{n}/{proto}")).collect();
            }
        }
    }
    vec![format!("{num}/{proto}")]
}

/// Applies a config-only instruction (or the config part of WORKDIR) to `cfg`.
pub fn apply(cfg: &mut ImageConfig, inst: &Instruction) {
    let c = cfg.config.get_or_insert_with(Default::default);
    let shell = c.shell.clone().unwrap_or_else(default_shell);
    match &inst.command {
        Command::Env(kvs) => {
            let env = c.env.get_or_insert_with(Vec::new);
            for kv in kvs {
                set_env(env, &kv.key, &kv.value);
            }
        }
        Command::Label(kvs) => {
            let labels = c.labels.get_or_insert_with(BTreeMap::new);
            for kv in kvs {
                labels.insert(kv.key.to_string(), kv.value.to_string());
            }
        }
        Command::Maintainer(m) => cfg.author = Some(m.to_string()),
        Command::Cmd(cl) => {
            c.cmd = Some(argv(cl, &shell));
            c.args_escaped = cl.prepend_shell.then_some(true);
        }
        Command::Entrypoint(cl) => {
            c.entrypoint = Some(argv(cl, &shell));
            // An ENTRYPOINT resets the CMD inherited from the base (docker's rule).
            c.cmd = None;
        }
        Command::Shell(s) => c.shell = Some(instructions::owned(s)),
        Command::Expose(ports) => {
            let ex = c.exposed_ports.get_or_insert_with(BTreeMap::new);
            for p in ports.iter().flat_map(|p| self::ports(p)) {
                ex.insert(p, serde_json::json!({}));
            }
        }
        Command::Volume(vols) => {
            let v = c.volumes.get_or_insert_with(BTreeMap::new);
            for vol in vols {
                v.insert(vol.to_string(), serde_json::json!({}));
            }
        }
        Command::User(u) => c.user = Some(u.to_string()),
        Command::Workdir(wd) => {
            let cur = c.working_dir.clone().unwrap_or_default();
            c.working_dir = Some(resolve_workdir(&cur, wd));
        }
        Command::StopSignal(s) => c.stop_signal = Some(s.to_string()),
        Command::Healthcheck(h) => {
            c.healthcheck = Some(match h {
                Healthcheck::None => oci::Healthcheck {
                    test: Some(vec!["NONE".to_string()]),
                    ..Default::default()
                },
                Healthcheck::Check(hc) => {
                    let nz = |d: std::time::Duration| {
                        (!d.is_zero()).then(|| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX))
                    };
                    oci::Healthcheck {
                        test: Some(hc.test.clone()),
                        interval: nz(hc.interval),
                        timeout: nz(hc.timeout),
                        start_period: nz(hc.start_period),
                        start_interval: nz(hc.start_interval),
                        retries: (hc.retries != 0).then_some(i64::from(hc.retries)),
                    }
                }
            })
        }
        Command::Onbuild(o) => c
            .on_build
            .get_or_insert_with(Vec::new)
            .push(o.expression.clone()),
        Command::From(_)
        | Command::Run(_)
        | Command::Arg(_)
        | Command::Copy(_)
        | Command::Add(_) => {}
    }
}

/// The history entry of an instruction; `layer` when it made one.
pub fn history(created_by: String, layer: bool, created: &str) -> History {
    History {
        created: Some(created.to_string()),
        created_by: Some(if layer {
            format!("{created_by} # buildkit")
        } else {
            created_by
        }),
        author: None,
        comment: Some(HISTORY_COMMENT.to_string()),
        empty_layer: (!layer).then_some(true),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn workdir_resolution_cleans_relative_paths() {
        assert_eq!(resolve_workdir("/abs/dir", "rel"), "/abs/dir/rel");
        assert_eq!(
            resolve_workdir("/created/only", "../sibling"),
            "/created/sibling"
        );
        assert_eq!(resolve_workdir("", "x/./y/"), "/x/y");
        assert_eq!(resolve_workdir("/a", "/b/../c"), "/c");
    }

    #[test]
    fn env_is_replaced_in_place() {
        let mut env = vec!["PATH=/bin".to_string(), "A=1".to_string()];
        set_env(&mut env, "PATH", "/usr/bin");
        set_env(&mut env, "B", "x=y");
        assert_eq!(env, ["PATH=/usr/bin", "A=1", "B=x=y"]);
    }

    #[test]
    fn exposed_ports_get_a_protocol() {
        assert_eq!(ports("80"), ["80/tcp"]);
        assert_eq!(ports("53/UDP"), ["53/udp"]);
        assert_eq!(ports("8000-8002"), ["8000/tcp", "8001/tcp", "8002/tcp"]);
    }
}
