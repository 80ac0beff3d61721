//! `kiln login` and `kiln logout`: docker's commands, sharing docker's config.json.
//!
//! Credentials are checked against the registry (`GET /v2/` through the whole auth
//! handshake) before anything is written; they are stored in `auths`, or through the
//! `credsStore` / `credHelpers` program when one is configured.

use crate::registry::auth::Credentials;
use crate::registry::credentials::{auth_key, default_config_dir, normalize_server, DockerConfig};
use crate::registry::{parse_insecure_list, Client, Options};
use anyhow::{bail, Context, Result};
use clap::Args;
use std::io::{BufRead, IsTerminal, Read, Write};

#[derive(Args, Debug)]
pub struct LoginArgs {
    /// Username.
    #[arg(short = 'u', long)]
    pub username: Option<String>,
    /// Password (visible to other users of the machine: prefer --password-stdin).
    #[arg(short = 'p', long)]
    pub password: Option<String>,
    /// Read the password from standard input.
    #[arg(long)]
    pub password_stdin: bool,
    /// Registries reached over plain HTTP (comma separated; loopback ones always are).
    #[arg(long = "insecure-registry", value_name = "HOST", value_delimiter = ',')]
    pub insecure_registry: Vec<String>,
    /// The registry (default: Docker Hub).
    pub server: Option<String>,
}

#[derive(Args, Debug)]
pub struct LogoutArgs {
    /// The registry (default: Docker Hub).
    pub server: Option<String>,
}

/// The registry domain named on the command line (`https://host:5000/v2/` → `host:5000`).
fn registry_domain(server: Option<&str>) -> String {
    match server.map(normalize_server) {
        None => "docker.io".to_string(),
        Some(s) if s.is_empty() || s == "index.docker.io" || s == "registry-1.docker.io" => {
            "docker.io".to_string()
        }
        Some(s) => s,
    }
}

pub fn login(args: LoginArgs) -> Result<()> {
    let domain = registry_domain(args.server.as_deref());
    let key = auth_key(&domain);
    let config_dir = default_config_dir();
    let mut options = Options::default();
    for h in &args.insecure_registry {
        options.insecure.extend(parse_insecure_list(h));
    }
    let mut config = DockerConfig::load(&config_dir)?;

    if args.password.is_some() && args.password_stdin {
        bail!("--password and --password-stdin are mutually exclusive");
    }
    let mut password = args.password.clone();
    if password.is_some() {
        eprintln!("WARNING! Using --password via the CLI is insecure. Use --password-stdin.");
    }
    if args.password_stdin {
        if args.username.is_none() {
            bail!("Must provide --username with --password-stdin");
        }
        let mut s = String::new();
        std::io::stdin()
            .read_to_string(&mut s)
            .context("reading the password from standard input")?;
        password = Some(s.trim_end_matches(['\n', '\r']).to_string());
    }

    // Without a username or password, try what is stored first, as docker does.
    if args.username.is_none() && password.is_none() {
        if let Some(existing) = config.get(&domain)? {
            println!("Authenticating with existing credentials...");
            let client = Client::with_credentials(&domain, options.clone(), Some(existing))?;
            if client.ping().is_ok() {
                println!("Login Succeeded");
                return Ok(());
            }
        }
    }

    let interactive = std::io::stdin().is_terminal();
    let username = match args.username {
        Some(u) => u,
        None if interactive => prompt("Username: ")?,
        None if password.is_some() => bail!("Must provide --username with --password"),
        None => bail!("Cannot perform an interactive login from a non TTY device"),
    };
    if username.trim().is_empty() {
        bail!("Non-null Username Required");
    }
    let password = match password {
        Some(p) => p,
        None if interactive => prompt_hidden("Password: ")?,
        None => bail!("Cannot perform an interactive login from a non TTY device"),
    };
    if password.is_empty() {
        bail!("Password Required");
    }
    let creds = Credentials::Basic {
        username: username.trim().to_string(),
        password,
    };
    let client = Client::with_credentials(&domain, options, Some(creds.clone()))?;
    client
        .ping()
        .with_context(|| format!("login attempt to {}/v2/ failed", client.base_url()))?;
    config
        .store(&domain, &creds)
        .with_context(|| format!("storing credentials for {key}"))?;
    println!("Login Succeeded");
    Ok(())
}

pub fn logout(args: LogoutArgs) -> Result<()> {
    let domain = registry_domain(args.server.as_deref());
    let key = auth_key(&domain);
    let mut config = DockerConfig::load(&default_config_dir())?;
    // docker checks first, then erases (and says so) only what is there.
    let stored = config.get(&domain).unwrap_or(None).is_some() || has_entry(&config, &key);
    if !stored {
        println!("Not logged in to {key}");
        return Ok(());
    }
    println!("Removing login credentials for {key}");
    config
        .erase(&domain)
        .with_context(|| format!("removing credentials for {key}"))?;
    Ok(())
}

fn has_entry(config: &DockerConfig, key: &str) -> bool {
    std::fs::read(config.path())
        .ok()
        .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok())
        .and_then(|v| v.get("auths").and_then(|a| a.as_object()).cloned())
        .is_some_and(|a| a.keys().any(|k| auth_key(k) == key))
}

fn prompt(label: &str) -> Result<String> {
    eprint!("{label}");
    std::io::stderr().flush().ok();
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line)?;
    Ok(line.trim_end_matches(['\n', '\r']).to_string())
}

/// Reads a line from the terminal with echo off.
fn prompt_hidden(label: &str) -> Result<String> {
    eprint!("{label}");
    std::io::stderr().flush().ok();
    let fd = libc::STDIN_FILENO;
    // SAFETY: termios is plain data; tcgetattr fills it for a terminal fd (checked above).
    let mut term: libc::termios = unsafe { std::mem::zeroed() };
    let have_term = unsafe { libc::tcgetattr(fd, &mut term) } == 0;
    let saved = term;
    if have_term {
        term.c_lflag &= !libc::ECHO;
        // SAFETY: fd is our stdin and `term` came from tcgetattr.
        unsafe { libc::tcsetattr(fd, libc::TCSANOW, &term) };
    }
    let mut line = String::new();
    let res = std::io::stdin().lock().read_line(&mut line);
    if have_term {
        // SAFETY: restores the settings read above.
        unsafe { libc::tcsetattr(fd, libc::TCSANOW, &saved) };
    }
    eprintln!();
    res?;
    Ok(line.trim_end_matches(['\n', '\r']).to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_names_as_docker_reads_them() {
        assert_eq!(registry_domain(None), "docker.io");
        assert_eq!(registry_domain(Some("index.docker.io")), "docker.io");
        assert_eq!(
            registry_domain(Some("https://index.docker.io/v1/")),
            "docker.io"
        );
        assert_eq!(
            registry_domain(Some("http://127.0.0.1:5000/v2/")),
            "127.0.0.1:5000"
        );
        assert_eq!(registry_domain(Some("reg.example")), "reg.example");
    }
}
