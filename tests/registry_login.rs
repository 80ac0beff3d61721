//! `kiln login` / `kiln logout` against a real registry with htpasswd auth, writing docker's
//! config.json directly or through a credential helper program.

mod common;

use assert_cmd::Command;
use common::registry::{Registry, RegistryAuth};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

fn kiln(config: &Path) -> Command {
    let mut c = Command::cargo_bin("kiln").unwrap();
    c.env("DOCKER_CONFIG", config)
        .env_remove("KILN_INSECURE_REGISTRIES");
    c
}

fn read_config(dir: &Path) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(dir.join("config.json")).unwrap()).unwrap()
}

#[test]
fn login_writes_config_and_logout_removes_it() {
    let reg = Registry::start(RegistryAuth::Htpasswd {
        user: "carol",
        pass: "pa55word",
    });
    let host = reg.host();
    let cfg = tempfile::tempdir().unwrap();
    std::fs::write(
        cfg.path().join("config.json"),
        r#"{"auths":{"other.example":{"auth":"eDp5"}},"detachKeys":"ctrl-e,e"}"#,
    )
    .unwrap();

    // Wrong password: exit 1, a clear error, nothing written, the password never shown.
    let out = kiln(cfg.path())
        .args(["login", "-u", "carol", "--password-stdin", &host])
        .write_stdin("not-it\n")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!("login attempt to http://{host}/v2/ failed")),
        "{stderr}"
    );
    assert!(stderr.contains("unauthorized"), "{stderr}");
    assert!(!stderr.contains("not-it"));
    assert!(read_config(cfg.path())["auths"].get(&host).is_none());

    // Right password via -p: docker's warning and message.
    let out = kiln(cfg.path())
        .args(["login", "-u", "carol", "-p", "pa55word", &host])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout), "Login Succeeded\n");
    assert!(String::from_utf8_lossy(&out.stderr)
        .contains("WARNING! Using --password via the CLI is insecure. Use --password-stdin."));
    let v = read_config(cfg.path());
    assert_eq!(v["auths"][&host]["auth"], "Y2Fyb2w6cGE1NXdvcmQ=");
    assert_eq!(v["auths"]["other.example"]["auth"], "eDp5");
    assert_eq!(v["detachKeys"], "ctrl-e,e");
    let mode = std::fs::metadata(cfg.path().join("config.json"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);

    // Stored credentials are reused when none are given.
    let out = kiln(cfg.path()).args(["login", &host]).output().unwrap();
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).ends_with("Login Succeeded\n"));

    let out = kiln(cfg.path()).args(["logout", &host]).output().unwrap();
    assert!(out.status.success());
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        format!("Removing login credentials for {host}\n")
    );
    let v = read_config(cfg.path());
    assert!(v["auths"].get(&host).is_none());
    assert_eq!(v["auths"]["other.example"]["auth"], "eDp5");
    let out = kiln(cfg.path()).args(["logout", &host]).output().unwrap();
    assert!(out.status.success());
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        format!("Not logged in to {host}\n")
    );

    // Without a terminal and without credentials there is nothing to ask.
    let out = kiln(cfg.path()).args(["login", &host]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("non TTY device"));
}

const HELPER: &str = r#"#!/bin/sh
# A credential helper keeping one entry in $KILN_TEST_CRED_STORE.
store="$KILN_TEST_CRED_STORE"
case "$1" in
  store) cat > "$store" ;;
  get)
    read -r server
    if [ -s "$store" ] && grep -q "\"ServerURL\":\"$server\"" "$store"; then cat "$store"
    else echo "credentials not found in native keychain"; exit 1; fi ;;
  erase)
    read -r server
    if [ -s "$store" ]; then rm -f "$store"
    else echo "credentials not found in native keychain"; exit 1; fi ;;
esac
"#;

#[test]
fn login_through_a_credential_helper() {
    let reg = Registry::start(RegistryAuth::Htpasswd {
        user: "dave",
        pass: "h3lper-pw",
    });
    let host = reg.host();
    let tmp = tempfile::tempdir().unwrap();
    let bin = tmp.path().join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let helper = bin.join("docker-credential-kilntest");
    std::fs::write(&helper, HELPER).unwrap();
    std::fs::set_permissions(&helper, std::fs::Permissions::from_mode(0o755)).unwrap();
    let store = tmp.path().join("store.json");
    let cfg = tmp.path().join("docker");
    std::fs::create_dir_all(&cfg).unwrap();
    std::fs::write(cfg.join("config.json"), r#"{"credsStore":"kilntest"}"#).unwrap();
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let run = |args: &[&str], stdin: &str| {
        kiln(&cfg)
            .env("PATH", &path)
            .env("KILN_TEST_CRED_STORE", &store)
            .args(args)
            .write_stdin(stdin.to_string())
            .output()
            .unwrap()
    };

    let out = run(
        &["login", "-u", "dave", "--password-stdin", &host],
        "h3lper-pw\n",
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stored: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&store).unwrap()).unwrap();
    assert_eq!(
        stored,
        serde_json::json!({"ServerURL": host, "Username": "dave", "Secret": "h3lper-pw"})
    );
    // The secret is not in config.json, which keeps its credsStore.
    let v = read_config(&cfg);
    assert_eq!(v["credsStore"], "kilntest");
    assert_eq!(v["auths"][&host], serde_json::json!({}));
    assert!(!std::fs::read_to_string(cfg.join("config.json"))
        .unwrap()
        .contains("h3lper-pw"));

    // The helper's `get` answers the next login.
    let out = run(&["login", &host], "");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("Authenticating with existing credentials")
    );

    let out = run(&["logout", &host], "");
    assert!(out.status.success());
    assert!(!store.exists(), "erased through the helper");
    assert!(read_config(&cfg)["auths"].get(&host).is_none());
}
