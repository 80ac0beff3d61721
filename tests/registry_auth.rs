//! Authentication against real registries: htpasswd (Basic) and the registry's `token` auth
//! with a token server issuing signed JWTs (Bearer), credentials from docker's config.json.

mod common;

use base64::Engine as _;
use common::registry::{
    build_oci_layout, layer_tar_gz, Registry, RegistryAuth, TestImage, TokenServer,
};
use kiln::image::oci;
use kiln::image::reference::Reference;
use kiln::registry::auth::Credentials;
use kiln::registry::pull::{self, DirTarget};
use kiln::registry::push::{self, DirSource, ManifestUpload, PushImage};
use kiln::registry::{no_progress, Client, Options, PlatformSpec, RegistryError};
use std::path::Path;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

/// Backoff long enough that any retry of a refused request would show in the elapsed time.
fn options(config_dir: &Path) -> Options {
    Options {
        backoff: Duration::from_secs(3),
        docker_config_dir: Some(config_dir.to_path_buf()),
        ..Options::default()
    }
}

fn write_config(dir: &Path, host: &str, user: &str, pass: &str) {
    let auth = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{pass}"));
    std::fs::write(
        dir.join("config.json"),
        serde_json::json!({"auths": {host: {"auth": auth}}}).to_string(),
    )
    .unwrap();
}

fn small_image(dir: &Path) -> TestImage {
    build_oci_layout(
        dir,
        "amd64",
        &[layer_tar_gz(&[("hello.txt", b"hello auth".to_vec())])],
        "1",
    )
}

fn push_small(c: &Client, r: &Reference, img: &TestImage) -> Result<(), RegistryError> {
    push::push(
        c,
        r,
        &PushImage {
            blobs: img.blobs(),
            manifests: vec![ManifestUpload {
                media_type: oci::MEDIA_OCI_MANIFEST.into(),
                bytes: img.manifest_bytes.clone(),
            }],
        },
        &DirSource::new(&img.dir),
        &no_progress,
    )
    .map(|_| ())
}

fn pull_small(c: &Client, r: &Reference) -> Result<(), RegistryError> {
    let dest = tempfile::tempdir().unwrap();
    pull::pull(
        c,
        r,
        &PlatformSpec::default(),
        &DirTarget::new(dest.path()),
        &no_progress,
    )
    .map(|_| ())
}

#[test]
fn htpasswd_basic_auth() {
    let reg = Registry::start(RegistryAuth::Htpasswd {
        user: "alice",
        pass: "s3cret-pw",
    });
    let tmp = tempfile::tempdir().unwrap();
    let img = small_image(&tmp.path().join("img"));
    let r = Reference::parse(&format!("{}/private/app:1", reg.host())).unwrap();

    // No credentials anywhere: refused at once, no retries.
    let empty = tempfile::tempdir().unwrap();
    let c = Client::new(&reg.host(), options(empty.path())).unwrap();
    let started = Instant::now();
    let err = push_small(&c, &r, &img).unwrap_err();
    assert!(matches!(err, RegistryError::Unauthorized { .. }), "{err:?}");
    assert!(started.elapsed() < Duration::from_secs(2), "retried a 401");

    // Wrong password from config.json: a 401 error without the password in it.
    let bad = tempfile::tempdir().unwrap();
    write_config(bad.path(), &reg.host(), "alice", "wrong-pw");
    let c = Client::new(&reg.host(), options(bad.path())).unwrap();
    let started = Instant::now();
    let err = c.ping().unwrap_err();
    assert!(matches!(err, RegistryError::Unauthorized { .. }), "{err:?}");
    assert!(!format!("{err} {err:?}").contains("wrong-pw"));
    assert!(started.elapsed() < Duration::from_secs(2), "retried a 401");

    // The right one: push and pull.
    let good = tempfile::tempdir().unwrap();
    write_config(good.path(), &reg.host(), "alice", "s3cret-pw");
    let c = Client::new(&reg.host(), options(good.path())).unwrap();
    c.ping().unwrap();
    push_small(&c, &r, &img).unwrap();
    pull_small(&c, &r).unwrap();

    // Explicit credentials (as `kiln login` checks them).
    let c = Client::with_credentials(
        &reg.host(),
        options(empty.path()),
        Some(Credentials::Basic {
            username: "alice".into(),
            password: "s3cret-pw".into(),
        }),
    )
    .unwrap();
    c.ping().unwrap();
}

#[test]
fn bearer_token_auth_with_the_registry_token_scheme() {
    let ts = TokenServer::start("bob", "t0ken-pw");
    let reg = Registry::start(RegistryAuth::Token(&ts));
    let tmp = tempfile::tempdir().unwrap();
    let img = small_image(&tmp.path().join("img"));
    let r = Reference::parse(&format!("{}/bob/app:1", reg.host())).unwrap();

    // Anonymous: the token server hands out a token without access; the registry refuses it.
    let empty = tempfile::tempdir().unwrap();
    let c = Client::new(&reg.host(), options(empty.path())).unwrap();
    let before = ts.requests.load(Ordering::SeqCst);
    let started = Instant::now();
    let err = pull_small(&c, &r).unwrap_err();
    assert!(matches!(err, RegistryError::Unauthorized { .. }), "{err:?}");
    assert_eq!(
        ts.requests.load(Ordering::SeqCst) - before,
        1,
        "one token request"
    );
    assert!(started.elapsed() < Duration::from_secs(2), "retried a 401");

    // Wrong password: the token server's refusal is reported.
    let bad = tempfile::tempdir().unwrap();
    write_config(bad.path(), &reg.host(), "bob", "nope");
    let c = Client::new(&reg.host(), options(bad.path())).unwrap();
    let err = push_small(&c, &r, &img).unwrap_err();
    assert!(matches!(err, RegistryError::Unauthorized { .. }), "{err:?}");
    let msg = err.to_string();
    assert!(msg.contains("incorrect username or password"), "{msg}");
    assert!(!msg.contains("nope"));

    // Right password: push (scope pull,push) and pull (scope pull), tokens cached per scope.
    let good = tempfile::tempdir().unwrap();
    write_config(good.path(), &reg.host(), "bob", "t0ken-pw");
    let c = Client::new(&reg.host(), options(good.path())).unwrap();
    let before = ts.requests.load(Ordering::SeqCst);
    push_small(&c, &r, &img).unwrap();
    let after_push = ts.requests.load(Ordering::SeqCst);
    assert_eq!(after_push - before, 1, "one token for the whole push");
    pull_small(&c, &r).unwrap();
    pull_small(&c, &r).unwrap();
    assert_eq!(
        ts.requests.load(Ordering::SeqCst) - after_push,
        1,
        "one more token, for the pull scope, reused"
    );
    let scopes = ts.scopes.lock().unwrap().clone();
    assert!(
        scopes.contains(&"repository:bob/app:pull,push".to_string()),
        "{scopes:?}"
    );
    assert!(
        scopes.contains(&"repository:bob/app:pull".to_string()),
        "{scopes:?}"
    );
}

#[test]
fn identity_token_from_config_is_exchanged_for_a_bearer_token() {
    let ts = TokenServer::start("erin", "unused-pw");
    let reg = Registry::start(RegistryAuth::Token(&ts));
    let tmp = tempfile::tempdir().unwrap();
    let img = small_image(&tmp.path().join("img"));
    let r = Reference::parse(&format!("{}/erin/app:1", reg.host())).unwrap();
    let cfg = tempfile::tempdir().unwrap();
    let write = |token: &str| {
        std::fs::write(
            cfg.path().join("config.json"),
            serde_json::json!({"auths": {reg.host(): {"auth": "ZXJpbjo=", "identitytoken": token}}})
                .to_string(),
        )
        .unwrap();
    };
    write("not-the-token");
    let c = Client::new(&reg.host(), options(cfg.path())).unwrap();
    let err = push_small(&c, &r, &img).unwrap_err();
    assert!(matches!(err, RegistryError::Unauthorized { .. }), "{err:?}");
    assert!(err.to_string().contains("invalid refresh token"), "{err}");
    assert!(!err.to_string().contains("not-the-token"));

    write(&TokenServer::refresh_token_for("erin"));
    let c = Client::new(&reg.host(), options(cfg.path())).unwrap();
    push_small(&c, &r, &img).unwrap();
    pull_small(&c, &r).unwrap();
}
