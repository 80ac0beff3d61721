//! What a container runs, from the image config and `kiln run`'s flags, by docker's rules:
//! `-e` entries first and the image's Env after them unless overridden, on top of the
//! runtime's own PATH, HOSTNAME and TERM; a command line replaces the image's Cmd;
//! `--entrypoint` replaces the Entrypoint and drops the image's Cmd; `-w` must be absolute.

use crate::image::oci::ContainerConfig;
use crate::plan::DEFAULT_PATH;

/// The flags of `kiln run` that shape the process.
#[derive(Debug, Default, Clone)]
pub struct Overrides {
    /// `-e` entries as given (`KEY=VALUE`, or `KEY` to take the value from kiln's environment).
    pub env: Vec<String>,
    pub workdir: Option<String>,
    pub user: Option<String>,
    pub entrypoint: Option<String>,
    /// The command line after the image name (replaces the image's Cmd when not empty).
    pub cmd: Vec<String>,
    pub tty: bool,
}

/// The process to start in the container.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Process {
    pub args: Vec<String>,
    pub env: Vec<String>,
    pub cwd: String,
    pub user: String,
}

/// Merges `config` (the image's) with `o`; `hostname` becomes `HOSTNAME`; `lookup` reads
/// kiln's own environment for `-e KEY`. Errors are docker's wording for what it refuses.
pub fn process(
    config: Option<&ContainerConfig>,
    hostname: &str,
    o: &Overrides,
    lookup: impl Fn(&str) -> Option<String>,
) -> Result<Process, String> {
    let image = config.cloned().unwrap_or_default();
    let mut user_env = Vec::new();
    for e in &o.env {
        let key = e.split_once('=').map_or(e.as_str(), |(k, _)| k);
        if key.is_empty() {
            return Err(format!("invalid environment variable: {e}"));
        }
        if e.contains('=') {
            user_env.push(e.clone());
        } else if let Some(v) = lookup(key) {
            user_env.push(format!("{key}={v}"));
        }
    }
    // The daemon's merge: the user's entries, then the image's that they do not override.
    let mut config_env = user_env.clone();
    for e in image.env.unwrap_or_default() {
        if !user_env.iter().any(|u| key_of(u) == key_of(&e)) {
            config_env.push(e);
        }
    }
    // The runtime's own entries come first and are replaced in place by the config's.
    let mut env = vec![
        format!("PATH={DEFAULT_PATH}"),
        format!("HOSTNAME={hostname}"),
    ];
    if o.tty {
        env.push("TERM=xterm".to_string());
    }
    for e in config_env {
        match env.iter_mut().find(|x| key_of(x) == key_of(&e)) {
            Some(slot) => *slot = e,
            None => env.push(e),
        }
    }

    let entrypoint = match &o.entrypoint {
        Some(e) if e.is_empty() => Vec::new(),
        Some(e) => vec![e.clone()],
        None => image.entrypoint.unwrap_or_default(),
    };
    let cmd = if !o.cmd.is_empty() {
        o.cmd.clone()
    } else if o.entrypoint.is_some() {
        Vec::new()
    } else {
        image.cmd.unwrap_or_default()
    };
    let args: Vec<String> = entrypoint.into_iter().chain(cmd).collect();
    if args.is_empty() {
        return Err("no command specified".to_string());
    }

    let cwd = match &o.workdir {
        Some(w) if !w.starts_with('/') => {
            return Err(format!(
                "the working directory '{w}' is invalid, it needs to be an absolute path"
            ))
        }
        Some(w) => w.clone(),
        None => image
            .working_dir
            .filter(|w| !w.is_empty())
            .unwrap_or_else(|| "/".into()),
    };
    let user = o.user.clone().or(image.user).unwrap_or_default();
    Ok(Process {
        args,
        env,
        cwd,
        user,
    })
}

fn key_of(entry: &str) -> &str {
    entry.split_once('=').map_or(entry, |(k, _)| k)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn image() -> ContainerConfig {
        ContainerConfig {
            env: Some(vec!["PATH=/bin".into(), "A=image".into(), "B=image".into()]),
            entrypoint: Some(vec!["/entry".into(), "--flag".into()]),
            cmd: Some(vec!["default".into()]),
            working_dir: Some("/srv".into()),
            user: Some("app".into()),
            ..Default::default()
        }
    }

    fn no_env(_: &str) -> Option<String> {
        None
    }

    #[test]
    fn image_defaults() {
        let p = process(Some(&image()), "abc", &Overrides::default(), no_env).unwrap();
        assert_eq!(p.args, ["/entry", "--flag", "default"]);
        assert_eq!(p.env, ["PATH=/bin", "HOSTNAME=abc", "A=image", "B=image"]);
        assert_eq!((p.cwd.as_str(), p.user.as_str()), ("/srv", "app"));
    }

    #[test]
    fn flags_override_in_docker_order() {
        let o = Overrides {
            env: vec![
                "B=flag".into(),
                "C=flag".into(),
                "FROM_HOST".into(),
                "UNSET".into(),
            ],
            workdir: Some("/tmp".into()),
            user: Some("1000:1000".into()),
            cmd: vec!["x".into()],
            tty: true,
            ..Default::default()
        };
        let host = |k: &str| (k == "FROM_HOST").then(|| "h".to_string());
        let p = process(Some(&image()), "abc", &o, host).unwrap();
        assert_eq!(p.args, ["/entry", "--flag", "x"]);
        assert_eq!(
            p.env,
            [
                "PATH=/bin",
                "HOSTNAME=abc",
                "TERM=xterm",
                "B=flag",
                "C=flag",
                "FROM_HOST=h",
                "A=image"
            ]
        );
        assert_eq!((p.cwd.as_str(), p.user.as_str()), ("/tmp", "1000:1000"));
    }

    #[test]
    fn entrypoint_resets_cmd_unless_given() {
        let mut o = Overrides {
            entrypoint: Some("/bin/echo".into()),
            ..Default::default()
        };
        let p = process(Some(&image()), "h", &o, no_env).unwrap();
        assert_eq!(p.args, ["/bin/echo"]);
        o.cmd = vec!["hi".into()];
        assert_eq!(
            process(Some(&image()), "h", &o, no_env).unwrap().args,
            ["/bin/echo", "hi"]
        );
        o.entrypoint = Some(String::new());
        assert_eq!(
            process(Some(&image()), "h", &o, no_env).unwrap().args,
            ["hi"]
        );
    }

    #[test]
    fn refusals() {
        let o = Overrides {
            workdir: Some("rel".into()),
            ..Default::default()
        };
        assert!(process(Some(&image()), "h", &o, no_env)
            .unwrap_err()
            .contains("needs to be an absolute path"));
        let o = Overrides {
            env: vec!["=x".into()],
            ..Default::default()
        };
        assert!(process(Some(&image()), "h", &o, no_env)
            .unwrap_err()
            .contains("invalid environment variable"));
        let p = process(None, "h", &Overrides::default(), no_env);
        assert_eq!(p.unwrap_err(), "no command specified");
        let bare = process(
            None,
            "h",
            &Overrides {
                cmd: vec!["sh".into()],
                ..Default::default()
            },
            no_env,
        )
        .unwrap();
        assert_eq!(bare.env[0], format!("PATH={DEFAULT_PATH}"));
        assert_eq!((bare.cwd.as_str(), bare.user.as_str()), ("/", ""));
    }
}
