//! Build secrets: `--secret` flags (buildx's syntax) and `RUN --mount=type=secret` (BuildKit's
//! semantics). A secret's value is read only when a step mounts it and lives in a file of that
//! step's private work dir, bind-mounted read-only over an empty mount point that the sandbox
//! removes afterwards: it never reaches a layer, the image config or the build output.

use crate::dockerfile::instructions::Mount;
use crate::exec::{self, MountKind};
use std::collections::BTreeMap;
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// BuildKit refuses secrets larger than this (500 KB).
const MAX_SECRET_SIZE: u64 = 500 * 1024;

/// Where a secret's value comes from on the machine running the build.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SecretSource {
    File(PathBuf),
    /// The name of an environment variable of the build client.
    Env(String),
}

impl SecretSource {
    /// The value; `None` when it comes from an environment variable that is not set (then
    /// the secret counts as not provided, as in BuildKit).
    fn read(&self, id: &str) -> Result<Option<Vec<u8>>, String> {
        let value = match self {
            SecretSource::File(p) => std::fs::read(p)
                .map_err(|e| format!("reading secret {id} from {}: {e}", p.display()))?,
            SecretSource::Env(var) => match std::env::var_os(var) {
                Some(v) => v.into_encoded_bytes(),
                None => return Ok(None),
            },
        };
        if value.len() as u64 > MAX_SECRET_SIZE {
            return Err(format!("secret {id} too big. max size 500KB"));
        }
        Ok(Some(value))
    }
}

/// Parses one `--secret` value: `id=ID[,src=PATH|,env=VAR][,type=file|env]`. Without a source,
/// the id names an environment variable when one is set, a file otherwise (as buildx does).
pub fn parse_secret_flag(value: &str) -> Result<(String, SecretSource), String> {
    let mut id = None;
    let mut kind = None;
    let mut file = None;
    let mut env = None;
    for field in crate::dockerfile::instructions::mount::csv_fields(value)? {
        let (key, v) = field
            .split_once('=')
            .ok_or_else(|| format!("invalid field '{field}' must be a key=value pair"))?;
        match key.to_ascii_lowercase().as_str() {
            "type" => match v {
                "file" | "env" => kind = Some(v.to_string()),
                _ => return Err(format!("unsupported secret type {v:?}")),
            },
            "id" => id = Some(v.to_string()),
            "source" | "src" => file = Some(v.to_string()),
            "env" => env = Some(v.to_string()),
            _ => return Err(format!("unexpected key '{key}' in '{field}'")),
        }
    }
    if kind.as_deref() == Some("env") && env.is_none() {
        env = file.take();
    }
    let id = id
        .filter(|i| !i.is_empty())
        .ok_or_else(|| format!("secret {value:?}: missing id"))?;
    let source = match (file, env) {
        (Some(f), _) if !f.is_empty() => SecretSource::File(PathBuf::from(f)),
        (_, Some(e)) if !e.is_empty() => SecretSource::Env(e),
        _ if kind.as_deref() != Some("file") && std::env::var_os(&id).is_some() => {
            SecretSource::Env(id.clone())
        }
        _ => SecretSource::File(PathBuf::from(&id)),
    };
    if let SecretSource::File(p) = &source {
        let md = std::fs::metadata(p)
            .map_err(|e| format!("secret {id}: failed to stat {}: {e}", p.display()))?;
        if md.len() > MAX_SECRET_SIZE {
            return Err(format!("secret {id} too big. max size 500KB"));
        }
    }
    Ok((id, source))
}

/// Parses every `--secret` flag; a later flag with the same id wins.
pub fn parse_secret_flags(values: &[String]) -> Result<BTreeMap<String, SecretSource>, String> {
    let mut out = BTreeMap::new();
    for v in values {
        let (id, source) = parse_secret_flag(v)?;
        out.insert(id, source);
    }
    Ok(out)
}

/// Adds the secret mount `m` of a RUN to its `mounts` and `env`: the value is written to a
/// file under `work` (the step's work dir, removed after the step) that is bind-mounted
/// read-only at the target (`/run/secrets/<id>` by default; relative targets are under
/// `workdir`), and with `env=` set as that variable. A secret that was not provided is an
/// error when `required`, and is skipped otherwise.
pub fn add_secret_mount(
    m: &Mount,
    secrets: &BTreeMap<String, SecretSource>,
    workdir: &str,
    work: &Path,
    mounts: &mut Vec<exec::Mount>,
    env: &mut Vec<String>,
) -> Result<(), String> {
    let id = if !m.source.is_empty() {
        m.source.clone()
    } else if !m.id.is_empty() {
        m.id.clone()
    } else {
        base_name(&m.target).to_string()
    };
    let target = if !m.target.is_empty() {
        Some(super::image_config::resolve_workdir(workdir, &m.target))
    } else if m.env.is_none() {
        Some(format!("/run/secrets/{}", base_name(&id)))
    } else {
        None
    };
    let value = match secrets.get(&id) {
        Some(source) => source.read(&id)?,
        None => None,
    };
    let Some(value) = value else {
        if m.required {
            return Err(format!(
                "secret {id}: not found (it is required: pass --secret id={id},src=FILE)"
            ));
        }
        return Ok(());
    };
    if let Some(var) = &m.env {
        let text = String::from_utf8(value.clone())
            .map_err(|_| format!("secret {id}: env={var} needs a UTF-8 value"))?;
        let prefix = format!("{var}=");
        env.retain(|e| !e.starts_with(&prefix));
        env.push(format!("{var}={text}"));
    }
    if let Some(target) = target {
        let file = write_secret_file(work, &id, &value, m)?;
        mounts.push(exec::Mount {
            target,
            kind: MountKind::Bind {
                source: file,
                readonly: true,
            },
            remove_created: true,
        });
    }
    Ok(())
}

/// The secret's file in `work/secrets` (a 0700 dir), created 0600 and then given the mount's
/// mode (default 0400) and owner (default root), which the step sees through the bind mount.
fn write_secret_file(work: &Path, id: &str, value: &[u8], m: &Mount) -> Result<PathBuf, String> {
    let dir = work.join("secrets");
    let io_err = |what: &str, e: std::io::Error| format!("secret {id}: {what}: {e}");
    if !dir.is_dir() {
        std::fs::DirBuilder::new()
            .mode(0o700)
            .create(&dir)
            .map_err(|e| io_err("creating its directory", e))?;
    }
    let n = std::fs::read_dir(&dir)
        .map_err(|e| io_err("listing its directory", e))?
        .count();
    let path = dir.join(format!("secret-{n}"));
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&path)
        .map_err(|e| io_err("creating its file", e))?;
    f.write_all(value)
        .and_then(|_| f.flush())
        .map_err(|e| io_err("writing its file", e))?;
    drop(f);
    std::os::unix::fs::chown(&path, Some(m.uid.unwrap_or(0)), Some(m.gid.unwrap_or(0)))
        .map_err(|e| io_err("setting its owner", e))?;
    let mode = m.mode.unwrap_or(0o400) & 0o7777;
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode))
        .map_err(|e| io_err("setting its mode", e))?;
    Ok(path)
}

/// `path.Base` of Go for a slash path.
fn base_name(p: &str) -> &str {
    let t = p.trim_end_matches('/');
    match t.rsplit_once('/') {
        Some((_, b)) => b,
        None if t.is_empty() && p.starts_with('/') => "/",
        None => t,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flag_forms() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("tok");
        std::fs::write(&f, "s3cret").unwrap();
        let src = format!("id=tok,src={}", f.display());
        assert_eq!(
            parse_secret_flag(&src).unwrap(),
            ("tok".into(), SecretSource::File(f.clone()))
        );
        assert_eq!(
            parse_secret_flag("id=x,env=KILN_TEST_SECRET_VAR").unwrap(),
            ("x".into(), SecretSource::Env("KILN_TEST_SECRET_VAR".into()))
        );
        assert_eq!(
            parse_secret_flag("id=x,type=env,src=VAR2").unwrap().1,
            SecretSource::Env("VAR2".into())
        );
        // Without a source: the environment variable named like the id, when it is set.
        assert_eq!(
            parse_secret_flag("id=PATH").unwrap().1,
            SecretSource::Env("PATH".into())
        );
        let missing = parse_secret_flag("id=kiln-no-such-file-or-var").unwrap_err();
        assert!(missing.contains("failed to stat"), "{missing}");
        assert!(parse_secret_flag("src=/x")
            .unwrap_err()
            .contains("missing id"));
        assert!(parse_secret_flag("id=a,type=ssh").is_err());
        assert!(parse_secret_flag("id=a,bogus=1").is_err());
        assert!(parse_secret_flag("id=a,noequals").is_err());
    }

    fn mount(fields: &str) -> Mount {
        crate::dockerfile::instructions::mount::parse(fields, &mut |s| Ok(s.to_string())).unwrap()
    }

    #[test]
    fn mount_defaults_and_options() {
        let work = tempfile::tempdir().unwrap();
        let f = work.path().join("value");
        std::fs::write(&f, "abc").unwrap();
        let secrets: BTreeMap<_, _> = [("tok".to_string(), SecretSource::File(f))].into();
        let (mut mounts, mut env) = (Vec::new(), Vec::new());
        add_secret_mount(
            &mount("type=secret,id=tok"),
            &secrets,
            "/",
            work.path(),
            &mut mounts,
            &mut env,
        )
        .unwrap();
        add_secret_mount(
            &mount("type=secret,target=rel/tok,mode=0440,uid=7,gid=8,env=TOK"),
            &secrets,
            "/work",
            work.path(),
            &mut mounts,
            &mut env,
        )
        .unwrap();
        // Optional and missing: skipped; required and missing: an error naming it.
        add_secret_mount(
            &mount("type=secret,id=other"),
            &secrets,
            "/",
            work.path(),
            &mut mounts,
            &mut env,
        )
        .unwrap();
        let err = add_secret_mount(
            &mount("type=secret,id=other,required"),
            &secrets,
            "/",
            work.path(),
            &mut mounts,
            &mut env,
        )
        .unwrap_err();
        assert!(err.contains("secret other: not found"), "{err}");
        assert_eq!(mounts.len(), 2);
        assert_eq!(mounts[0].target, "/run/secrets/tok");
        assert_eq!(mounts[1].target, "/work/rel/tok");
        assert_eq!(env, vec!["TOK=abc".to_string()]);
        use std::os::unix::fs::MetadataExt;
        for (m, mode) in mounts.iter().zip([0o400, 0o440]) {
            let MountKind::Bind { source, readonly } = &m.kind else {
                panic!("not a bind mount")
            };
            assert!(*readonly && source.starts_with(work.path()));
            assert_eq!(std::fs::read(source).unwrap(), b"abc");
            assert_eq!(std::fs::metadata(source).unwrap().mode() & 0o7777, mode);
        }
        // From an unset environment variable: not provided.
        let unset: BTreeMap<_, _> = [(
            "e".to_string(),
            SecretSource::Env("KILN_TEST_UNSET_SECRET_VAR".into()),
        )]
        .into();
        let mut none = Vec::new();
        add_secret_mount(
            &mount("type=secret,id=e"),
            &unset,
            "/",
            work.path(),
            &mut none,
            &mut env,
        )
        .unwrap();
        assert!(none.is_empty());
        let err = add_secret_mount(
            &mount("type=secret,id=e,required"),
            &unset,
            "/",
            work.path(),
            &mut none,
            &mut env,
        )
        .unwrap_err();
        assert!(err.contains("secret e: not found"), "{err}");
        // env only: no file.
        let (mut mounts, mut env) = (Vec::new(), vec!["TOK=old".to_string()]);
        add_secret_mount(
            &mount("type=secret,id=tok,env=TOK"),
            &secrets,
            "/",
            work.path(),
            &mut mounts,
            &mut env,
        )
        .unwrap();
        assert!(mounts.is_empty());
        assert_eq!(env, vec!["TOK=abc".to_string()]);
    }
}
