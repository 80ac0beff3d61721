//! Credentials as docker keeps them: `$DOCKER_CONFIG/config.json` (or `~/.docker/config.json`)
//! with `auths` entries (base64 `auth`, `identitytoken`), and `credsStore` / `credHelpers`
//! naming `docker-credential-<name>` programs spoken to with the docker-credential-helpers
//! protocol (`get`/`store`/`erase`, server URL or JSON on stdin, JSON on stdout).
//!
//! `kiln login` writes the same file so that docker and kiln share logins; every other key
//! in it is kept as it was.

use super::auth::Credentials;
use super::RegistryError;
use crate::image::reference::DEFAULT_DOMAIN;
use base64::Engine as _;
use serde_json::{Map, Value};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// The key docker uses for Docker Hub in `auths` and with credential helpers.
pub const DOCKER_HUB_AUTH_KEY: &str = "https://index.docker.io/v1/";

/// The config key for a registry domain: Docker Hub's legacy URL, else `host[:port]`.
pub fn auth_key(domain: &str) -> String {
    let host = normalize_server(domain);
    if host == DEFAULT_DOMAIN || host == "index.docker.io" || host == "registry-1.docker.io" {
        DOCKER_HUB_AUTH_KEY.to_string()
    } else {
        host
    }
}

/// docker's `ConvertToHostname`: drops a scheme and any path.
pub fn normalize_server(s: &str) -> String {
    let s = s
        .strip_prefix("http://")
        .or_else(|| s.strip_prefix("https://"))
        .unwrap_or(s);
    s.split('/').next().unwrap_or(s).to_string()
}

/// The directory holding `config.json`: `$DOCKER_CONFIG`, else `~/.docker`.
pub fn default_config_dir() -> PathBuf {
    if let Some(d) = std::env::var_os("DOCKER_CONFIG").filter(|d| !d.is_empty()) {
        return PathBuf::from(d);
    }
    let home = std::env::var_os("HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| "/root".into());
    home.join(".docker")
}

/// docker's config file, kept as JSON so that unknown keys survive a rewrite.
pub struct DockerConfig {
    path: PathBuf,
    root: Map<String, Value>,
}

impl DockerConfig {
    /// Loads `dir/config.json`; a missing file is an empty config.
    pub fn load(dir: &Path) -> Result<DockerConfig, RegistryError> {
        let path = dir.join("config.json");
        let root = match std::fs::read(&path) {
            Ok(bytes) if bytes.iter().all(u8::is_ascii_whitespace) => Map::new(),
            Ok(bytes) => match serde_json::from_slice::<Value>(&bytes) {
                Ok(Value::Object(m)) => m,
                Ok(_) => {
                    return Err(RegistryError::Credentials(format!(
                        "{}: not a JSON object",
                        path.display()
                    )))
                }
                Err(e) => {
                    return Err(RegistryError::Credentials(format!(
                        "{}: {e}",
                        path.display()
                    )))
                }
            },
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Map::new(),
            Err(e) => {
                return Err(RegistryError::local(
                    format!("reading {}", path.display()),
                    e,
                ))
            }
        };
        Ok(DockerConfig { path, root })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The credential helper for `key`: `credHelpers[host]`, else `credsStore`.
    pub fn helper_for(&self, key: &str) -> Option<String> {
        let host = normalize_server(key);
        if let Some(Value::Object(h)) = self.root.get("credHelpers") {
            for (k, v) in h {
                if (k == key || normalize_server(k) == host) && v.is_string() {
                    return v.as_str().map(str::to_string);
                }
            }
        }
        self.root
            .get("credsStore")
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
    }

    /// The stored credentials for a registry domain, if any.
    pub fn get(&self, domain: &str) -> Result<Option<Credentials>, RegistryError> {
        let key = auth_key(domain);
        if let Some(helper) = self.helper_for(&key) {
            return helper_get(&helper, &key);
        }
        Ok(self.auths_entry(&key).and_then(decode_auth_entry))
    }

    /// The `auths` entry for `key`, also matching keys written as URLs.
    fn auths_entry(&self, key: &str) -> Option<&Map<String, Value>> {
        let Some(Value::Object(auths)) = self.root.get("auths") else {
            return None;
        };
        if let Some(Value::Object(e)) = auths.get(key) {
            return Some(e);
        }
        let host = normalize_server(key);
        auths.iter().find_map(|(k, v)| match v {
            Value::Object(e) if auth_key(k) == key || normalize_server(k) == host => Some(e),
            _ => None,
        })
    }

    /// Stores credentials for a registry, through its helper if one is configured.
    pub fn store(&mut self, domain: &str, creds: &Credentials) -> Result<(), RegistryError> {
        let key = auth_key(domain);
        if let Some(helper) = self.helper_for(&key) {
            helper_store(&helper, &key, creds)?;
            // docker keeps an empty entry so that `auths` lists the registry.
            self.auths_mut().insert(key, Value::Object(Map::new()));
        } else {
            let mut entry = Map::new();
            match creds {
                Credentials::Basic { username, password } => {
                    entry.insert(
                        "auth".into(),
                        Value::String(
                            base64::engine::general_purpose::STANDARD
                                .encode(format!("{username}:{password}")),
                        ),
                    );
                }
                Credentials::IdentityToken { username, token } => {
                    entry.insert(
                        "auth".into(),
                        Value::String(
                            base64::engine::general_purpose::STANDARD
                                .encode(format!("{username}:")),
                        ),
                    );
                    entry.insert("identitytoken".into(), Value::String(token.clone()));
                }
            }
            self.auths_mut().insert(key, Value::Object(entry));
        }
        self.save()
    }

    /// Removes the credentials for a registry; `false` if there were none in the file.
    pub fn erase(&mut self, domain: &str) -> Result<bool, RegistryError> {
        let key = auth_key(domain);
        let mut found = false;
        if let Some(Value::Object(auths)) = self.root.get_mut("auths") {
            let host = normalize_server(&key);
            let keys: Vec<String> = auths
                .keys()
                .filter(|k| *k == &key || normalize_server(k) == host)
                .cloned()
                .collect();
            for k in keys {
                auths.remove(&k);
                found = true;
            }
        }
        if let Some(helper) = self.helper_for(&key) {
            // The helper may hold it even when `auths` does not list it.
            if helper_erase(&helper, &key)? {
                found = true;
            }
        }
        if found {
            self.save()?;
        }
        Ok(found)
    }

    fn auths_mut(&mut self) -> &mut Map<String, Value> {
        let v = self
            .root
            .entry("auths")
            .or_insert_with(|| Value::Object(Map::new()));
        if !v.is_object() {
            *v = Value::Object(Map::new());
        }
        match v {
            Value::Object(m) => m,
            _ => unreachable!("just made an object"),
        }
    }

    /// Writes the file atomically (temp file + rename) with mode 0600.
    pub fn save(&self) -> Result<(), RegistryError> {
        use std::os::unix::fs::PermissionsExt;
        let dir = self.path.parent().unwrap_or(Path::new("."));
        std::fs::create_dir_all(dir)
            .map_err(|e| RegistryError::local(format!("creating {}", dir.display()), e))?;
        let mut tmp = tempfile::NamedTempFile::new_in(dir)
            .map_err(|e| RegistryError::local(format!("writing in {}", dir.display()), e))?;
        let ctx = || format!("writing {}", self.path.display());
        tmp.as_file()
            .set_permissions(std::fs::Permissions::from_mode(0o600))
            .map_err(|e| RegistryError::local(ctx(), e))?;
        let mut bytes = serde_json::to_vec_pretty(&Value::Object(self.root.clone()))
            .map_err(|e| RegistryError::Credentials(e.to_string()))?;
        bytes.push(b'\n');
        tmp.write_all(&bytes)
            .and_then(|_| tmp.as_file().sync_all())
            .map_err(|e| RegistryError::local(ctx(), e))?;
        tmp.persist(&self.path)
            .map_err(|e| RegistryError::local(ctx(), e.error))?;
        Ok(())
    }
}

fn decode_auth_entry(e: &Map<String, Value>) -> Option<Credentials> {
    let s = |k: &str| e.get(k).and_then(Value::as_str).filter(|v| !v.is_empty());
    let (mut username, mut password) = (
        s("username").map(str::to_string),
        s("password").map(str::to_string),
    );
    if let Some(auth) = s("auth") {
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(auth.trim())
            .ok()?;
        let text = String::from_utf8(decoded).ok()?;
        let (u, p) = text.split_once(':')?;
        username = Some(u.to_string());
        password = Some(p.to_string());
    }
    if let Some(token) = s("identitytoken") {
        return Some(Credentials::IdentityToken {
            username: username.unwrap_or_default(),
            token: token.to_string(),
        });
    }
    match (username, password) {
        (Some(username), Some(password)) if !password.is_empty() => {
            Some(Credentials::Basic { username, password })
        }
        _ => None,
    }
}

fn helper_program(helper: &str) -> String {
    format!("docker-credential-{helper}")
}

/// Runs `docker-credential-<helper> <action>` with `input` on stdin.
fn run_helper(helper: &str, action: &str, input: &[u8]) -> Result<(bool, String), RegistryError> {
    let prog = helper_program(helper);
    let mut child = Command::new(&prog)
        .arg(action)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| RegistryError::Credentials(format!("running {prog} {action}: {e}")))?;
    if let Some(mut stdin) = child.stdin.take() {
        let _ = stdin.write_all(input);
    }
    let out = child
        .wait_with_output()
        .map_err(|e| RegistryError::Credentials(format!("running {prog} {action}: {e}")))?;
    let stdout = String::from_utf8_lossy(&out.stdout).trim().to_string();
    Ok((out.status.success(), stdout))
}

/// Helpers answer "credentials not found in native keychain" when they hold nothing.
fn is_not_found(msg: &str) -> bool {
    msg.contains("credentials not found")
}

fn helper_get(helper: &str, key: &str) -> Result<Option<Credentials>, RegistryError> {
    let (ok, stdout) = run_helper(helper, "get", key.as_bytes())?;
    if !ok {
        if is_not_found(&stdout) || stdout.is_empty() {
            return Ok(None);
        }
        // Helper output on failure is an error message, never a secret.
        return Err(RegistryError::Credentials(format!(
            "{} get: {stdout}",
            helper_program(helper)
        )));
    }
    let v: Value = serde_json::from_str(&stdout).map_err(|_| {
        RegistryError::Credentials(format!("{} get: unreadable answer", helper_program(helper)))
    })?;
    let username = v.get("Username").and_then(Value::as_str).unwrap_or("");
    let secret = v.get("Secret").and_then(Value::as_str).unwrap_or("");
    if secret.is_empty() {
        return Ok(None);
    }
    Ok(Some(if username == "<token>" {
        Credentials::IdentityToken {
            username: username.to_string(),
            token: secret.to_string(),
        }
    } else {
        Credentials::Basic {
            username: username.to_string(),
            password: secret.to_string(),
        }
    }))
}

fn helper_store(helper: &str, key: &str, creds: &Credentials) -> Result<(), RegistryError> {
    let (username, secret) = match creds {
        Credentials::Basic { username, password } => (username.as_str(), password.as_str()),
        Credentials::IdentityToken { token, .. } => ("<token>", token.as_str()),
    };
    let input = serde_json::json!({"ServerURL": key, "Username": username, "Secret": secret});
    let (ok, stdout) = run_helper(helper, "store", input.to_string().as_bytes())?;
    if ok {
        Ok(())
    } else {
        Err(RegistryError::Credentials(format!(
            "{} store failed: {stdout}",
            helper_program(helper)
        )))
    }
}

fn helper_erase(helper: &str, key: &str) -> Result<bool, RegistryError> {
    let (ok, stdout) = run_helper(helper, "erase", key.as_bytes())?;
    if ok {
        Ok(true)
    } else if is_not_found(&stdout) {
        Ok(false)
    } else {
        Err(RegistryError::Credentials(format!(
            "{} erase failed: {stdout}",
            helper_program(helper)
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_follow_docker() {
        assert_eq!(auth_key("docker.io"), DOCKER_HUB_AUTH_KEY);
        assert_eq!(auth_key("index.docker.io"), DOCKER_HUB_AUTH_KEY);
        assert_eq!(auth_key("https://index.docker.io/v1/"), DOCKER_HUB_AUTH_KEY);
        assert_eq!(auth_key("127.0.0.1:5000"), "127.0.0.1:5000");
        assert_eq!(auth_key("https://reg.example:5000/v2/"), "reg.example:5000");
    }

    #[test]
    fn reads_auths_and_keeps_other_keys_on_write() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("config.json"),
            r#"{"auths":{"https://reg.example/v1/":{"auth":"dXNlcjpwYTpzcw=="},"tok.example":{"auth":"dTo=","identitytoken":"rt"}},"psFormat":"table"}"#,
        )
        .unwrap();
        let mut cfg = DockerConfig::load(dir.path()).unwrap();
        assert_eq!(
            cfg.get("reg.example").unwrap(),
            Some(Credentials::Basic {
                username: "user".into(),
                password: "pa:ss".into()
            })
        );
        assert!(matches!(
            cfg.get("tok.example").unwrap(),
            Some(Credentials::IdentityToken { ref token, .. }) if token == "rt"
        ));
        assert_eq!(cfg.get("other.example").unwrap(), None);
        cfg.store(
            "127.0.0.1:5000",
            &Credentials::Basic {
                username: "a".into(),
                password: "b".into(),
            },
        )
        .unwrap();
        let v: Value =
            serde_json::from_slice(&std::fs::read(dir.path().join("config.json")).unwrap())
                .unwrap();
        assert_eq!(v["psFormat"], "table");
        assert_eq!(v["auths"]["127.0.0.1:5000"]["auth"], "YTpi");
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir.path().join("config.json"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        let mut cfg = DockerConfig::load(dir.path()).unwrap();
        assert!(cfg.erase("reg.example").unwrap());
        assert!(!cfg.erase("reg.example").unwrap());
        assert_eq!(
            DockerConfig::load(dir.path())
                .unwrap()
                .get("reg.example")
                .unwrap(),
            None
        );
    }

    #[test]
    fn helper_choice_follows_docker() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("config.json"),
            r#"{"credsStore":"desktop","credHelpers":{"reg.example:5000":"ecr","https://other.example/v2/":"gcr"}}"#,
        )
        .unwrap();
        let cfg = DockerConfig::load(dir.path()).unwrap();
        assert_eq!(cfg.helper_for("reg.example:5000").as_deref(), Some("ecr"));
        assert_eq!(cfg.helper_for("other.example").as_deref(), Some("gcr"));
        assert_eq!(
            cfg.helper_for(DOCKER_HUB_AUTH_KEY).as_deref(),
            Some("desktop")
        );
        // A helper that is not installed is an error naming the program, not a silent miss.
        let err = cfg.get("reg.example:5000").unwrap_err().to_string();
        assert!(err.contains("docker-credential-ecr get"), "{err}");
    }

    #[test]
    fn missing_or_broken_files() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(
            DockerConfig::load(dir.path())
                .unwrap()
                .get("x.example")
                .unwrap(),
            None
        );
        std::fs::write(dir.path().join("config.json"), "{broken").unwrap();
        assert!(DockerConfig::load(dir.path()).is_err());
    }
}
