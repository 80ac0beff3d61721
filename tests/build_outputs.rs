//! `kiln build --output` of every type (local dir, rootfs tar to a file or stdout, OCI layout
//! dir and tar, docker archive on stdout), `--label`, `--metadata-file` and `--platform`.

mod build_support;

use build_support::{read, Env};
use std::collections::BTreeMap;
use std::io::Read;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;

/// Three layers: files, a deletion (whiteout), a directory replaced (opaque).
const DOCKERFILE: &str = "FROM BASE\n\
    RUN mkdir -p /d/sub && echo keep > /d/keep && echo gone > /d/gone && echo x > /d/sub/x \
        && ln -s /d/keep /link && echo hl > /h1 && ln /h1 /h2 \
        && echo run > /tool && chmod 0751 /tool\n\
    RUN rm /d/gone\n\
    RUN rm -rf /d/sub && mkdir /d/sub && chmod 0705 /d/sub && echo new > /d/sub/y\n\
    LABEL from.dockerfile=yes\n";

fn check_rootfs(root: &Path) {
    assert_eq!(read(&root.join("d/keep")), "keep\n");
    assert!(!root.join("d/gone").exists(), "whiteout not applied");
    assert!(!root.join("d/sub/x").exists(), "opaque dir not applied");
    assert_eq!(read(&root.join("d/sub/y")), "new\n");
    let mode = |p: &str| std::fs::symlink_metadata(root.join(p)).unwrap().mode() & 0o7777;
    assert_eq!(mode("d/sub"), 0o705);
    assert_eq!(mode("tool"), 0o751);
    assert_eq!(mode("bin/busybox"), 0o755);
    assert_eq!(
        std::fs::read_link(root.join("link")).unwrap(),
        Path::new("/d/keep")
    );
    let ino = |p: &str| std::fs::metadata(root.join(p)).unwrap().ino();
    assert_eq!(ino("h1"), ino("h2"), "hard link lost");
}

/// Path → content (None for non-files) of a tar.
fn tar_entries(data: &[u8]) -> BTreeMap<String, Option<Vec<u8>>> {
    let mut out = BTreeMap::new();
    let mut t = tar::Archive::new(data);
    for e in t.entries().unwrap() {
        let mut e = e.unwrap();
        let p = e.path().unwrap().to_string_lossy().into_owned();
        let content = if e.header().entry_type().is_file() {
            let mut v = Vec::new();
            e.read_to_end(&mut v).unwrap();
            Some(v)
        } else {
            None
        };
        out.insert(p, content);
    }
    out
}

#[test]
fn local_and_rootfs_tar_outputs() {
    let env = Env::new();
    let ctx = env.context("outs", DOCKERFILE, &[]);
    let ctx_s = ctx.display().to_string();
    let local = env.path("local");
    let tarfile = env.path("rootfs.tar");
    env.kiln(&[
        "build",
        "-o",
        &format!("type=local,dest={}", local.display()),
        "--output",
        &format!("type=tar,dest={}", tarfile.display()),
        &ctx_s,
    ])
    .ok();
    check_rootfs(&local);

    let entries = tar_entries(&std::fs::read(&tarfile).unwrap());
    assert_eq!(entries["d/keep"].as_deref(), Some(&b"keep\n"[..]));
    assert_eq!(entries["d/sub/y"].as_deref(), Some(&b"new\n"[..]));
    for gone in ["d/gone", "d/sub/x"] {
        assert!(!entries.contains_key(gone), "{gone} in the rootfs tar");
    }
    assert!(
        !entries.keys().any(|k| k.contains(".wh.")),
        "whiteouts in a rootfs tar"
    );

    // `-o -`: the rootfs tar on stdout, the progress on stderr.
    let run = env.kiln(&["build", "-o", "-", &ctx_s]).ok();
    let entries = tar_entries(&run.stdout);
    assert_eq!(entries["d/keep"].as_deref(), Some(&b"keep\n"[..]));
    assert!(run.stderr.contains("Successfully built "), "{}", run.stderr);

    // The `-o DIR` shorthand is type=local, and an existing dir is written into.
    let again = env.path("again");
    std::fs::create_dir(&again).unwrap();
    std::fs::write(again.join("stale"), "x").unwrap();
    std::fs::set_permissions(&again, std::fs::Permissions::from_mode(0o700)).unwrap();
    env.kiln(&["build", "-o", &again.display().to_string(), &ctx_s])
        .ok();
    check_rootfs(&again);
}

#[test]
fn oci_layout_dir_tar_and_docker_on_stdout() {
    let env = Env::new();
    let ctx = env.context("oci", DOCKERFILE, &[]);
    let ctx_s = ctx.display().to_string();
    let dir = env.path("layout");
    let meta = env.path("meta.json");
    env.kiln(&[
        "build",
        "-t",
        "outs:1",
        "-t",
        "outs:2",
        "--label",
        "a=b",
        "--label",
        "from.dockerfile=overridden",
        "--metadata-file",
        &meta.display().to_string(),
        "--output",
        &format!("type=oci,dest={},tar=false", dir.display()),
        &ctx_s,
    ])
    .ok();
    let image = env.image("outs:1");
    // The layout is complete and valid: every blob's name is its digest, skopeo reads it.
    for e in std::fs::read_dir(dir.join("blobs/sha256")).unwrap() {
        let e = e.unwrap();
        let data = std::fs::read(e.path()).unwrap();
        assert_eq!(
            build_support::sha256_hex(&data),
            e.file_name().to_string_lossy()
        );
    }
    let index: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("index.json")).unwrap()).unwrap();
    let refs: Vec<&str> = index["manifests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            m["annotations"]["org.opencontainers.image.ref.name"]
                .as_str()
                .unwrap()
        })
        .collect();
    assert_eq!(refs, ["1", "2"]);
    let cfg = common_skopeo(&["inspect", "--config", &format!("oci:{}:2", dir.display())]);
    let cfg: serde_json::Value = serde_json::from_str(&cfg).unwrap();
    let labels = &cfg["config"]["Labels"];
    assert_eq!(labels["a"], "b");
    assert_eq!(labels["from.dockerfile"], "overridden");
    assert_eq!(
        cfg["rootfs"]["diff_ids"].as_array().unwrap().len(),
        image.config.rootfs.diff_ids.len()
    );

    // buildx's metadata file.
    let m: serde_json::Value = serde_json::from_slice(&std::fs::read(&meta).unwrap()).unwrap();
    assert_eq!(
        m["containerimage.digest"],
        image.manifest_digest.to_string()
    );
    assert_eq!(m["containerimage.config.digest"], image.id.to_string());
    assert_eq!(
        m["image.name"],
        "docker.io/library/outs:1,docker.io/library/outs:2"
    );

    // Untagged, as an OCI tar: one index entry, with no name.
    let archive = env.path("untagged.tar");
    env.kiln(&[
        "build",
        "--output",
        &format!("type=oci,dest={}", archive.display()),
        &ctx_s,
    ])
    .ok();
    let entries = tar_entries(&std::fs::read(&archive).unwrap());
    let index: serde_json::Value =
        serde_json::from_slice(entries["index.json"].as_ref().unwrap()).unwrap();
    assert_eq!(index["manifests"].as_array().unwrap().len(), 1);
    assert!(index["manifests"][0]
        .get("annotations")
        .is_none_or(|a| a.is_null()));
    common_skopeo(&["inspect", &format!("oci-archive:{}", archive.display())]);

    // A docker archive on stdout.
    let run = env
        .kiln(&["build", "-t", "outs:3", "-o", "type=docker,dest=-", &ctx_s])
        .ok();
    let entries = tar_entries(&run.stdout);
    let manifest: serde_json::Value =
        serde_json::from_slice(entries["manifest.json"].as_ref().unwrap()).unwrap();
    assert_eq!(manifest[0]["RepoTags"][0], "outs:3");
}

#[test]
fn platform_other_than_the_machine_is_refused() {
    let env = Env::new();
    let host = match std::env::consts::ARCH {
        "x86_64" => "linux/amd64",
        "aarch64" => "linux/arm64",
        other => panic!("no test platform for {other}"),
    };
    let ctx = env.context("plat", "FROM BASE\nRUN true\n", &[]);
    let ctx_s = ctx.display().to_string();
    env.kiln(&["build", "--platform", host, &ctx_s]).ok();
    let r = env.kiln(&["build", "--platform", "linux/s390x", &ctx_s]);
    assert_eq!(r.code, 1);
    assert!(
        r.stderr
            .contains("kiln cannot build for linux/s390x on this machine: no emulation"),
        "{}",
        r.stderr
    );
    let ctx = env.context(
        "fromplat",
        "FROM --platform=$BUILDPLATFORM BASE AS ok\nFROM --platform=linux/s390x BASE\nRUN true\n",
        &[],
    );
    let r = env.kiln(&["build", &ctx.display().to_string()]);
    assert_eq!(r.code, 1);
    assert!(
        r.stderr.contains(
            "Dockerfile:2: kiln cannot build for linux/s390x on this machine: no emulation"
        ),
        "{}",
        r.stderr
    );
}

fn common_skopeo(args: &[&str]) -> String {
    build_support::common_store::run_tool("skopeo", args)
}

#[test]
fn local_export_never_follows_links_of_the_image() {
    use build_support::common_store::{add_image_with, layer_tar, Entry};
    let env = Env::new();
    let victim = env.path("victim");
    std::fs::create_dir(&victim).unwrap();
    let victim_s = victim.display().to_string();
    // Layer 1: `x` and `y` link out of the image; layer 2 puts a directory and a file there.
    let base = build_support::base_layer(vec![
        Entry::Symlink("x", &victim_s),
        Entry::Symlink("y", &victim_s),
    ]);
    let top = layer_tar(&[
        Entry::Dir("x"),
        Entry::File("x/inside", b"dir replaced the link\n", 0o644),
        Entry::File("y", b"file replaced the link\n", 0o600),
    ]);
    add_image_with(
        &env.store(),
        &[base, top],
        &["docker.io/library/links-out:1"],
        "2024-01-02T03:04:05Z",
        true,
    );
    let ctx = env.context("linksout", "FROM links-out:1\nLABEL x=y\n", &[]);
    let out = env.path("out");
    env.kiln(&[
        "build",
        "-o",
        &out.display().to_string(),
        &ctx.display().to_string(),
    ])
    .ok();
    assert_eq!(read(&out.join("x/inside")), "dir replaced the link\n");
    assert_eq!(read(&out.join("y")), "file replaced the link\n");
    assert_eq!(
        std::fs::read_dir(&victim).unwrap().count(),
        0,
        "wrote through a link"
    );
}
