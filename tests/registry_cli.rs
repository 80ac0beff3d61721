//! `kiln pull` / `kiln push` with the store, against real registries, checked with skopeo
//! and docker's plain progress lines.

mod common;

use assert_cmd::Command;
use common::registry::{build_oci_layout, layer_tar_gz, skopeo, Registry, RegistryAuth};
use std::path::Path;

fn kiln(root: &Path, cfg: &Path, args: &[&str]) -> (bool, String, String) {
    let out = Command::cargo_bin("kiln")
        .unwrap()
        .env("DOCKER_CONFIG", cfg)
        .env_remove("KILN_INSECURE_REGISTRIES")
        .arg("--root")
        .arg(root)
        .args(args)
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn pull_then_push_with_docker_lines() {
    let reg = Registry::start(RegistryAuth::None);
    let other = Registry::start(RegistryAuth::None);
    let tmp = tempfile::tempdir().unwrap();
    let cfg = tmp.path().join("docker");
    let root = tmp.path().join("store");
    let img = build_oci_layout(
        &tmp.path().join("layout"),
        "amd64",
        &[
            layer_tar_gz(&[("a.txt", b"first".to_vec())]),
            layer_tar_gz(&[("b.txt", b"second".to_vec())]),
        ],
        "1",
    );
    let name = format!("{}/cli/img:1", reg.host());
    skopeo(&[
        "copy",
        "--dest-tls-verify=false",
        &format!("oci:{}:1", img.dir.display()),
        &format!("docker://{name}"),
    ]);
    let (l1, l2) = (img.layers[0].digest.short(), img.layers[1].digest.short());

    let (ok, out, err) = kiln(&root, &cfg, &["pull", &name]);
    assert!(ok, "{err}");
    let mut lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 10, "{out}");
    assert_eq!(
        lines[..3],
        [
            "1: Pulling from cli/img".to_string(),
            format!("{l1}: Pulling fs layer"),
            format!("{l2}: Pulling fs layer"),
        ]
    );
    // Downloads finish in any order; extraction ("Pull complete") goes layer by layer.
    lines[3..5].sort();
    let mut downloaded = [
        format!("{l1}: Download complete"),
        format!("{l2}: Download complete"),
    ];
    downloaded.sort();
    assert_eq!(lines[3..5], downloaded);
    assert_eq!(
        lines[5..],
        [
            format!("{l1}: Pull complete"),
            format!("{l2}: Pull complete"),
            format!("Digest: {}", img.manifest_digest),
            format!("Status: Downloaded newer image for {name}"),
            name.clone(),
        ]
    );

    // Again: nothing to download.
    let (ok, out, err) = kiln(&root, &cfg, &["pull", &name]);
    assert!(ok, "{err}");
    assert_eq!(
        out,
        format!(
            "1: Pulling from cli/img\n{l1}: Already exists\n{l2}: Already exists\nDigest: {}\nStatus: Image is up to date for {name}\n{name}\n",
            img.manifest_digest
        )
    );

    // Push under another name on the same registry: mounted from cli/img.
    let copy = format!("{}/cli/copy:2", reg.host());
    let (ok, _, err) = kiln(&root, &cfg, &["tag", &name, &copy]);
    assert!(ok, "{err}");
    let (ok, out, err) = kiln(&root, &cfg, &["push", &copy]);
    assert!(ok, "{err}");
    let size = img.manifest_bytes.len();
    let mut lines: Vec<&str> = out.lines().collect();
    assert_eq!(
        lines[0],
        format!("The push refers to repository [{}/cli/copy]", reg.host())
    );
    assert_eq!(
        lines[1..3],
        [format!("{l2}: Preparing"), format!("{l1}: Preparing")]
    );
    lines[3..5].sort();
    let mut mounted = [
        format!("{l1}: Mounted from cli/img"),
        format!("{l2}: Mounted from cli/img"),
    ];
    mounted.sort();
    assert_eq!(lines[3..5], mounted);
    assert_eq!(
        lines[5],
        format!("2: digest: {} size: {size}", img.manifest_digest)
    );
    let raw = skopeo(&[
        "inspect",
        "--tls-verify=false",
        "--raw",
        &format!("docker://{copy}"),
    ]);
    assert_eq!(raw.as_bytes(), &img.manifest_bytes[..]);

    // To another registry: pushed; then again: already there.
    let far = format!("{}/far/away:3", other.host());
    assert!(kiln(&root, &cfg, &["tag", &name, &far]).0);
    let (ok, out, err) = kiln(&root, &cfg, &["push", &far]);
    assert!(ok, "{err}");
    assert!(out.contains(&format!("{l1}: Pushed\n")), "{out}");
    assert!(out.contains(&format!("{l2}: Pushed\n")), "{out}");
    assert!(out.ends_with(&format!(
        "3: digest: {} size: {size}\n",
        img.manifest_digest
    )));
    let (ok, out, _) = kiln(&root, &cfg, &["push", &far]);
    assert!(ok);
    assert!(
        out.contains(&format!("{l1}: Layer already exists\n")),
        "{out}"
    );
    let info: serde_json::Value = serde_json::from_str(&skopeo(&[
        "inspect",
        "--tls-verify=false",
        &format!("docker://{far}"),
    ]))
    .unwrap();
    assert_eq!(info["Digest"], img.manifest_digest.as_str());

    // Errors: an image the store lacks, a tag the registry lacks.
    let (ok, _, err) = kiln(&root, &cfg, &["push", &format!("{}/no/such:1", reg.host())]);
    assert!(!ok);
    assert!(
        err.contains("An image does not exist locally with the tag"),
        "{err}"
    );
    let (ok, _, err) = kiln(
        &root,
        &cfg,
        &["pull", &format!("{}/cli/img:nope", reg.host())],
    );
    assert!(!ok);
    assert!(err.contains("manifest unknown"), "{err}");
}
