//! `kiln pull` against bad registries and bad content: every failure is a clear error, exit
//! code 1, and nothing is added to the store (no tag, no new blob).

mod common;

use assert_cmd::Command;
use common::registry::{build_oci_layout, layer_tar_gz, skopeo, Registry, RegistryAuth};
use std::path::Path;

struct Outcome {
    ok: bool,
    code: Option<i32>,
    stderr: String,
}

fn kiln(root: &Path, cfg: &Path, args: &[&str]) -> Outcome {
    let out = Command::cargo_bin("kiln")
        .unwrap()
        .env("DOCKER_CONFIG", cfg)
        .env_remove("KILN_INSECURE_REGISTRIES")
        .arg("--root")
        .arg(root)
        .args(args)
        .output()
        .unwrap();
    Outcome {
        ok: out.status.success(),
        code: out.status.code(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// Names of the blobs in the store (empty when the store was never created).
fn stored_blobs(root: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(root.join("blobs/sha256"))
        .map(|d| {
            d.map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

fn images(root: &Path, cfg: &Path) -> String {
    let out = Command::cargo_bin("kiln")
        .unwrap()
        .env("DOCKER_CONFIG", cfg)
        .arg("--root")
        .arg(root)
        .args(["images", "-q"])
        .output()
        .unwrap();
    assert!(out.status.success());
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn assert_rejected(o: &Outcome, needle: &str) {
    assert!(!o.ok, "the pull should fail");
    assert_eq!(
        o.code,
        Some(1),
        "exit code 1 for a failed command: {}",
        o.stderr
    );
    assert!(
        o.stderr.to_lowercase().contains(&needle.to_lowercase()),
        "error should mention {needle:?}: {}",
        o.stderr
    );
}

#[test]
fn failed_pulls_add_nothing_to_the_store() {
    let reg = Registry::start(RegistryAuth::None);
    let tmp = tempfile::tempdir().unwrap();
    let cfg = tmp.path().join("docker");
    let root = tmp.path().join("store");
    let img = build_oci_layout(
        &tmp.path().join("layout"),
        "amd64",
        &[layer_tar_gz(&[("a.txt", b"payload".to_vec())])],
        "1",
    );
    let name = format!("{}/rej/img:1", reg.host());
    skopeo(&[
        "copy",
        "--dest-tls-verify=false",
        &format!("oci:{}:1", img.dir.display()),
        &format!("docker://{name}"),
    ]);

    let before = stored_blobs(&root);

    // An unknown tag.
    let o = kiln(
        &root,
        &cfg,
        &["pull", &format!("{}/rej/img:nope", reg.host())],
    );
    assert_rejected(&o, "not found");

    // The layer's bytes corrupted on the registry's disk.
    let layer = &img.layers[0].digest;
    std::fs::write(reg.blob_data_path(layer), b"not the layer").unwrap();
    let o = kiln(&root, &cfg, &["pull", &name]);
    assert_rejected(&o, "mismatch");
    assert!(
        images(&root, &cfg).trim().is_empty(),
        "no image after a corrupt pull"
    );
    let after: Vec<String> = stored_blobs(&root);
    assert!(
        !after.contains(&layer.hex().to_string()),
        "the corrupt layer must not be stored under its digest"
    );
    assert!(
        after.len() <= before.len() + 1,
        "at most the (verified) config was kept: {after:?}"
    );

    // A registry that is down.
    drop(reg);
    let o = kiln(&root, &cfg, &["pull", &name]);
    assert_rejected(&o, "connect");
    assert!(images(&root, &cfg).trim().is_empty());
}

#[test]
fn wrong_password_is_a_clear_error_and_stores_nothing() {
    let reg = Registry::start(RegistryAuth::Htpasswd {
        user: "alice",
        pass: "right",
    });
    let tmp = tempfile::tempdir().unwrap();
    let cfg = tmp.path().join("docker");
    let root = tmp.path().join("store");
    let o = kiln(
        &root,
        &cfg,
        &["login", "-u", "alice", "-p", "wrong", &reg.host()],
    );
    assert!(!o.ok);
    assert_eq!(o.code, Some(1));
    assert!(
        !o.stderr.contains("wrong"),
        "the password must not be echoed: {}",
        o.stderr
    );
    let o = kiln(
        &root,
        &cfg,
        &["pull", &format!("{}/private/img:1", reg.host())],
    );
    assert_rejected(&o, "unauthorized");
    assert!(images(&root, &cfg).trim().is_empty());
    assert!(stored_blobs(&root).is_empty());
}
