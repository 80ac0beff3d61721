//! Archives against real tools: `kiln save` read by skopeo and umoci, archives written by
//! skopeo read by `kiln load`, and broken archives refused without touching the store.

mod common_store;

use common_store::*;
use std::io::Write;
use std::process::Command;

const BB: &str = "docker.io/library/busybox:latest";

fn skopeo_inspect(transport: &str) -> serde_json::Value {
    let out = run_tool("skopeo", &["inspect", "--raw", transport]);
    serde_json::from_str(&out).unwrap()
}

fn skopeo_config(transport: &str) -> serde_json::Value {
    let out = run_tool("skopeo", &["inspect", "--config", "--raw", transport]);
    serde_json::from_str(&out).unwrap()
}

#[test]
fn docker_archive_is_read_by_skopeo() {
    let env = Env::new();
    let img = add_busybox(&env.store(), BB, "skopeo");
    let file = env.path("bb.tar");
    env.ok(&["save", "busybox", "-o", path_str(&file)]);
    let t = format!("docker-archive:{}", file.display());
    let info: serde_json::Value =
        serde_json::from_str(&run_tool("skopeo", &["inspect", &t])).unwrap();
    assert_eq!(info["RepoTags"], serde_json::json!([]), "{info}");
    let m = skopeo_inspect(&t);
    // docker-archive's manifest is made up by skopeo; the config must be ours, byte for byte
    assert_eq!(m["config"]["digest"], img.id.as_str());
    let cfg = skopeo_config(&t);
    assert_eq!(
        cfg["rootfs"]["diff_ids"],
        serde_json::to_value(&img.config.rootfs.diff_ids).unwrap()
    );
    // and copied to an OCI layout, the same config and layers come out
    let dir = env.path("oci-copy");
    run_tool(
        "skopeo",
        &["copy", &t, &format!("oci:{}:copied", dir.display())],
    );
    let m2 = skopeo_inspect(&format!("oci:{}:copied", dir.display()));
    assert_eq!(m2["config"]["digest"], img.id.as_str());
    assert_eq!(m2["layers"].as_array().unwrap().len(), 1);
    // and loading the archive into a fresh store gives the same image
    let env2 = Env::new();
    let out = env2.ok(&["load", "-i", path_str(&file)]);
    assert_eq!(out, "Loaded image: busybox:latest\n");
    let q = env2.ok(&["images", "-q", "--no-trunc"]);
    assert_eq!(q.trim(), img.id.as_str());
}

#[test]
fn docker_archive_names_are_familiar() {
    let env = Env::new();
    let store = env.store();
    add_busybox(&store, BB, "n");
    let file = env.path("bb.tar");
    env.ok(&["save", "busybox:latest", "-o", path_str(&file)]);
    let out = Command::new("tar")
        .arg("-xOf")
        .arg(&file)
        .arg("manifest.json")
        .output()
        .unwrap();
    let m: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(m[0]["RepoTags"], serde_json::json!(["busybox:latest"]));
    let t = format!("docker-archive:{}", file.display());
    let info: serde_json::Value =
        serde_json::from_str(&run_tool("skopeo", &["inspect", &t])).unwrap();
    assert_eq!(info["Labels"]["test"], "yes");
}

#[test]
fn oci_archive_is_read_by_umoci_and_skopeo() {
    let env = Env::new();
    let img = add_busybox(&env.store(), BB, "umoci");
    let file = env.path("bb-oci.tar");
    env.ok(&["save", "--format", "oci", "busybox", "-o", path_str(&file)]);
    // skopeo reads the archive as it is; the manifest is ours, byte for byte
    let raw = run_tool(
        "skopeo",
        &[
            "inspect",
            "--raw",
            &format!("oci-archive:{}:latest", file.display()),
        ],
    );
    assert_eq!(raw.as_bytes(), &img.manifest_bytes[..]);
    // umoci unpacks the extracted layout
    let layout = env.path("layout");
    std::fs::create_dir(&layout).unwrap();
    run_tool("tar", &["-xf", path_str(&file), "-C", path_str(&layout)]);
    let bundle = env.path("bundle");
    run_tool(
        "umoci",
        &[
            "unpack",
            "--image",
            &format!("{}:latest", layout.display()),
            path_str(&bundle),
        ],
    );
    let rootfs = bundle.join("rootfs");
    assert_eq!(
        std::fs::read(rootfs.join("bin/busybox")).unwrap(),
        std::fs::read(BUSYBOX).unwrap()
    );
    assert_eq!(
        std::fs::read_to_string(rootfs.join("etc/hello-again.txt")).unwrap(),
        "hello from kiln\n"
    );
    assert_eq!(
        std::fs::read_link(rootfs.join("bin/sh")).unwrap().to_str(),
        Some("busybox")
    );
    assert_eq!(
        std::fs::read_to_string(rootfs.join("etc/marker")).unwrap(),
        "umoci"
    );
}

#[test]
fn archives_written_by_skopeo_load() {
    let env = Env::new();
    let img = add_image_with(
        &env.store(),
        &[
            busybox_layer("from-skopeo"),
            layer_tar(&[Entry::File("extra", b"more", 0o644)]),
        ],
        &[BB],
        "2024-05-06T07:08:09Z",
        true,
    );
    let saved = env.path("saved-oci.tar");
    env.ok(&["save", "--format", "oci", "busybox", "-o", path_str(&saved)]);
    // skopeo: our archive → an OCI layout → oci-archive and docker-archive of its own
    let layout = env.path("layout");
    run_tool(
        "skopeo",
        &[
            "copy",
            &format!("oci-archive:{}:latest", saved.display()),
            &format!("oci:{}:v1", layout.display()),
        ],
    );
    let oci_archive = env.path("skopeo-oci.tar");
    run_tool(
        "skopeo",
        &[
            "copy",
            &format!("oci:{}:v1", layout.display()),
            &format!(
                "oci-archive:{}:docker.io/library/fromskopeo:v1",
                oci_archive.display()
            ),
        ],
    );
    let docker_archive = env.path("skopeo-docker.tar");
    run_tool(
        "skopeo",
        &[
            "copy",
            &format!("oci:{}:v1", layout.display()),
            &format!(
                "docker-archive:{}:example.com/team/app:v2",
                docker_archive.display()
            ),
        ],
    );

    let env2 = Env::new();
    let out = env2.ok(&["load", "-i", path_str(&oci_archive)]);
    assert_eq!(out, "Loaded image: fromskopeo:v1\n");
    let out = env2.ok(&["load", "-i", path_str(&docker_archive)]);
    assert_eq!(out, "Loaded image: example.com/team/app:v2\n");
    // same config, hence same image ID, both ways
    let ids = env2.ok(&["images", "-q", "--no-trunc"]);
    assert_eq!(ids.trim(), img.id.as_str(), "{ids}");
    let inspect: serde_json::Value =
        serde_json::from_str(&env2.ok(&["inspect", "example.com/team/app:v2"])).unwrap();
    assert_eq!(
        inspect[0]["RootFS"]["Layers"],
        serde_json::to_value(&img.config.rootfs.diff_ids).unwrap()
    );
    // a bare tag in ref.name (no full name) loads untagged, as docker does
    let bare = env.path("bare.tar");
    run_tool(
        "skopeo",
        &[
            "copy",
            &format!("oci:{}:v1", layout.display()),
            &format!("oci-archive:{}:v1", bare.display()),
        ],
    );
    let env3 = Env::new();
    let out = env3.ok(&["load", "-i", path_str(&bare)]);
    assert_eq!(out, format!("Loaded image ID: {}\n", img.id));
    // and the loaded layers unpack
    let store3 = env3.store();
    for d in &img.config.rootfs.diff_ids {
        store3.snapshot(d).unwrap();
    }
}

fn flip_byte_in_member(file: &std::path::Path, member_prefix: &str) {
    // find the member's data offset by walking the tar headers
    let bytes = std::fs::read(file).unwrap();
    let mut a = tar::Archive::new(&bytes[..]);
    let mut target = None;
    for e in a.entries().unwrap() {
        let e = e.unwrap();
        let p = e.path().unwrap().to_string_lossy().into_owned();
        if p.starts_with(member_prefix) && e.size() > 100_000 {
            target = Some(e.raw_file_position() + 5000);
        }
    }
    let off = target.expect("a large member") as usize;
    let mut bytes = bytes;
    bytes[off] ^= 0x55;
    std::fs::write(file, bytes).unwrap();
}

fn images_table(env: &Env) -> String {
    env.ok(&["images", "--no-trunc"])
}

#[test]
fn corrupt_archives_are_refused_and_change_nothing() {
    let env = Env::new();
    add_busybox(&env.store(), BB, "corrupt");
    let docker = env.path("d.tar");
    let oci = env.path("o.tar");
    env.ok(&["save", "busybox", "-o", path_str(&docker)]);
    env.ok(&["save", "--format", "oci", "busybox", "-o", path_str(&oci)]);

    let target = Env::new();
    target.ok(&["images"]);
    let before = images_table(&target);
    let index_before = std::fs::read(target.root().join("index.json")).ok();

    let check = |file: &std::path::Path, what: &str| {
        let out = target.kiln(&["load", "-i", path_str(file)]);
        assert!(!out.status.success(), "{what}: load succeeded");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("error:"), "{what}: {err}");
        assert_eq!(images_table(&target), before, "{what}");
        assert_eq!(
            std::fs::read(target.root().join("index.json")).ok(),
            index_before,
            "{what}"
        );
        err.into_owned()
    };

    // a flipped byte in a layer
    let d1 = env.path("d1.tar");
    std::fs::copy(&docker, &d1).unwrap();
    flip_byte_in_member(&d1, "blobs/");
    let err = check(&d1, "docker-archive, flipped layer byte");
    assert!(err.contains("digest mismatch"), "{err}");
    let o1 = env.path("o1.tar");
    std::fs::copy(&oci, &o1).unwrap();
    flip_byte_in_member(&o1, "blobs/");
    let err = check(&o1, "oci, flipped layer byte");
    assert!(err.contains("digest mismatch"), "{err}");

    // truncated files
    for (src, name) in [(&docker, "dt.tar"), (&oci, "ot.tar")] {
        let bytes = std::fs::read(src).unwrap();
        for cut in [bytes.len() / 2, bytes.len() - 2000, 700] {
            let t = env.path(name);
            std::fs::write(&t, &bytes[..cut]).unwrap();
            check(&t, &format!("{name} truncated at {cut}"));
        }
        // cut inside the big layer: reported as a truncation
        let t = env.path(name);
        std::fs::write(&t, &bytes[..600_000]).unwrap();
        let err = check(&t, "truncated in a layer");
        assert!(err.contains("truncated"), "{err}");
    }
    // not an archive at all
    let junk = env.path("junk.tar");
    std::fs::write(&junk, b"this is not a tar file").unwrap();
    check(&junk, "junk");
    // the rejected loads left no blobs behind
    let blobs = std::fs::read_dir(target.root().join("blobs/sha256"))
        .unwrap()
        .count();
    assert_eq!(blobs, 0);
}

/// Appends a regular file to a hand-made archive.
fn add_file(b: &mut tar::Builder<Vec<u8>>, path: &str, data: &[u8]) {
    let mut h = tar::Header::new_ustar();
    h.set_entry_type(tar::EntryType::Regular);
    h.set_mode(0o644);
    h.set_size(data.len() as u64);
    b.append_data(&mut h, path, data).unwrap();
}

#[test]
fn legacy_docker_archive_with_links_and_compression_loads() {
    // The layout of `docker save` before docker 25: <id>/layer.tar, <id>/json, VERSION,
    // <config>.json, a symlink for a layer used twice; gzip layers; the whole archive gzipped.
    let shared = layer_tar(&[Entry::File("shared", b"same layer twice", 0o644)]);
    let top = busybox_layer("legacy");
    let gz = |data: &[u8]| {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        e.write_all(data).unwrap();
        e.finish().unwrap()
    };
    let diff = |d: &[u8]| kiln::image::digest::Digest::of(d);
    let config = config_json(
        &[diff(&shared), diff(&top), diff(&shared)],
        "2023-03-04T05:06:07Z",
    );
    let config_hex = diff(&config).hex().to_string();
    let mut b = tar::Builder::new(Vec::new());
    add_file(&mut b, "aaa/VERSION", b"1.0");
    add_file(&mut b, "aaa/json", b"{}");
    add_file(&mut b, "aaa/layer.tar", &gz(&shared));
    add_file(&mut b, "bbb/layer.tar", &top);
    let mut h = tar::Header::new_ustar();
    h.set_entry_type(tar::EntryType::Symlink);
    h.set_size(0);
    b.append_link(&mut h, "ccc/layer.tar", "../aaa/layer.tar")
        .unwrap();
    add_file(&mut b, &format!("{config_hex}.json"), &config);
    let manifest = serde_json::json!([{
        "Config": format!("{config_hex}.json"),
        "RepoTags": ["legacy:v1", "registry.example.com:5000/legacy:v2"],
        "Layers": ["aaa/layer.tar", "bbb/layer.tar", "ccc/layer.tar"],
    }]);
    add_file(&mut b, "manifest.json", manifest.to_string().as_bytes());
    add_file(&mut b, "repositories", b"{}");
    let archive = gz(&b.into_inner().unwrap());

    let env = Env::new();
    let file = env.path("legacy.tar.gz");
    std::fs::write(&file, &archive).unwrap();
    let out = env.ok(&["load", "-i", path_str(&file)]);
    assert_eq!(
        out,
        "Loaded image: legacy:v1\nLoaded image: registry.example.com:5000/legacy:v2\n"
    );
    let inspect: serde_json::Value =
        serde_json::from_str(&env.ok(&["inspect", "legacy:v1"])).unwrap();
    assert_eq!(inspect[0]["Id"], format!("sha256:{config_hex}"));
    assert_eq!(
        inspect[0]["Size"].as_u64().unwrap(),
        (2 * shared.len() + top.len()) as u64
    );
    // saved again (layers decompressed on the fly) it reads back in skopeo
    let again = env.path("again.tar");
    env.ok(&["save", "legacy:v1", "-o", path_str(&again)]);
    let cfg = skopeo_config(&format!("docker-archive:{}", again.display()));
    assert_eq!(cfg["rootfs"]["diff_ids"][1], diff(&top).as_str());
    let dir = env.path("copied");
    run_tool(
        "skopeo",
        &[
            "copy",
            &format!("docker-archive:{}", again.display()),
            &format!("oci:{}:x", dir.display()),
        ],
    );
}

#[test]
fn save_to_stdout_and_load_from_stdin() {
    let env = Env::new();
    let img = add_busybox(&env.store(), BB, "pipe");
    for format in ["docker", "oci"] {
        let save = Command::new(env!("CARGO_BIN_EXE_kiln"))
            .arg("--root")
            .arg(env.root())
            .args(["save", "--format", format, "busybox"])
            .output()
            .unwrap();
        assert!(save.status.success());
        let other = Env::new();
        let mut load = Command::new(env!("CARGO_BIN_EXE_kiln"))
            .arg("--root")
            .arg(other.root())
            .arg("load")
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        load.stdin.take().unwrap().write_all(&save.stdout).unwrap();
        let out = load.wait_with_output().unwrap();
        assert!(out.status.success(), "{format}");
        assert_eq!(
            String::from_utf8_lossy(&out.stdout),
            "Loaded image: busybox:latest\n"
        );
        assert_eq!(
            other.ok(&["images", "-q", "--no-trunc"]).trim(),
            img.id.as_str()
        );
    }
}

#[test]
fn oci_index_picks_this_platform() {
    let env = Env::new();
    let img = add_busybox(&env.store(), BB, "multi");
    let file = env.path("o.tar");
    env.ok(&["save", "--format", "oci", "busybox", "-o", path_str(&file)]);
    // Rewrite: index.json -> nested index (arm64 entry first, then amd64) -> manifest.
    let layout = env.path("layout");
    std::fs::create_dir(&layout).unwrap();
    run_tool("tar", &["-xf", path_str(&file), "-C", path_str(&layout)]);
    let desc = |platform_arch: &str| {
        serde_json::json!({
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "digest": img.manifest_digest,
            "size": img.manifest_bytes.len(),
            "platform": {"architecture": platform_arch, "os": "linux"},
        })
    };
    let (arch, other) = match std::env::consts::ARCH {
        "aarch64" => ("arm64", "amd64"),
        _ => ("amd64", "arm64"),
    };
    let nested = serde_json::to_vec(&serde_json::json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": [
            {"mediaType": "application/vnd.oci.image.manifest.v1+json",
             "digest": kiln::image::digest::Digest::of(b"missing"), "size": 7,
             "platform": {"architecture": other, "os": "linux"}},
            desc(arch),
        ],
    }))
    .unwrap();
    let nd = kiln::image::digest::Digest::of(&nested);
    std::fs::write(layout.join("blobs/sha256").join(nd.hex()), &nested).unwrap();
    let index = serde_json::json!({
        "schemaVersion": 2,
        "manifests": [{
            "mediaType": "application/vnd.oci.image.index.v1+json",
            "digest": nd, "size": nested.len(),
            "annotations": {"org.opencontainers.image.ref.name": "docker.io/library/multi:1"},
        }],
    });
    std::fs::write(layout.join("index.json"), index.to_string()).unwrap();
    let multi = env.path("multi.tar");
    run_tool(
        "tar",
        &["-cf", path_str(&multi), "-C", path_str(&layout), "."],
    );
    let other_env = Env::new();
    assert_eq!(
        other_env.ok(&["load", "-i", path_str(&multi)]),
        "Loaded image: multi:1\n"
    );
    let r = other_env.store().resolve("multi:1").unwrap();
    assert_eq!(r.manifest, img.manifest_digest);
}

#[test]
fn docker_schema2_images_are_stored_as_they_are_and_exported() {
    let env = Env::new();
    let store = env.store();
    let layer = busybox_layer("schema2");
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    enc.write_all(&layer).unwrap();
    let gz = enc.finish().unwrap();
    let ld = store.put_blob(&gz, None).unwrap();
    let mt = "application/vnd.docker.image.rootfs.diff.tar.gzip";
    let rec = store.register_layer_blob(&ld, mt, None).unwrap();
    let config = config_json(std::slice::from_ref(&rec.diff_id), "2022-02-02T02:02:02Z");
    let cd = store.put_blob(&config, None).unwrap();
    let manifest = serde_json::to_vec_pretty(&serde_json::json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
        "config": {"mediaType": "application/vnd.docker.container.image.v1+json", "size": config.len(), "digest": cd},
        "layers": [{"mediaType": mt, "size": gz.len(), "digest": ld}],
    }))
    .unwrap();
    let img = store
        .add_image(&manifest, &["docker.io/library/s2:1".to_string()])
        .unwrap();
    assert_eq!(
        img.manifest_media_type,
        "application/vnd.docker.distribution.manifest.v2+json"
    );
    assert!(env.ok(&["images"]).contains("s2           1         "));
    let oci = env.path("s2-oci.tar");
    env.ok(&["save", "--format", "oci", "s2:1", "-o", path_str(&oci)]);
    let raw = run_tool(
        "skopeo",
        &[
            "inspect",
            "--raw",
            &format!("oci-archive:{}:1", oci.display()),
        ],
    );
    // the OCI form of the manifest: same config (image ID) and layers, OCI media types
    let m: serde_json::Value = serde_json::from_str(&raw).unwrap();
    assert_eq!(m["mediaType"], "application/vnd.oci.image.manifest.v1+json");
    assert_eq!(m["config"]["digest"], img.id.as_str());
    assert_eq!(
        m["layers"][0]["digest"],
        img.manifest.layers[0].digest.as_str()
    );
    assert_eq!(
        m["layers"][0]["mediaType"],
        "application/vnd.oci.image.layer.v1.tar+gzip"
    );
    let docker = env.path("s2-docker.tar");
    env.ok(&["save", "s2:1", "-o", path_str(&docker)]);
    let cfg = skopeo_config(&format!("docker-archive:{}", docker.display()));
    assert_eq!(cfg["rootfs"]["diff_ids"][0], rec.diff_id.as_str());
    // and back: the OCI archive loads into a fresh store as the same image
    let other = Env::new();
    assert_eq!(
        other.ok(&["load", "-i", path_str(&oci)]),
        "Loaded image: s2:1\n"
    );
    let r = other.store().resolve("s2:1").unwrap();
    assert_eq!(r.id, img.id);
}

#[test]
fn several_images_in_one_archive() {
    let env = Env::new();
    let store = env.store();
    let shared = busybox_layer("shared");
    let a = add_image_with(
        &store,
        &[shared.clone(), layer_tar(&[Entry::File("a", b"a", 0o644)])],
        &["docker.io/library/a:1"],
        "2024-01-01T00:00:00Z",
        false,
    );
    let b = add_image_with(
        &store,
        &[shared, layer_tar(&[Entry::File("b", b"b", 0o644)])],
        &["docker.io/library/b:1"],
        "2024-01-01T00:00:00Z",
        false,
    );
    for format in ["docker", "oci"] {
        let file = env.path(&format!("two-{format}.tar"));
        env.ok(&[
            "save",
            "--format",
            format,
            "a:1",
            "b:1",
            "-o",
            path_str(&file),
        ]);
        // the shared layer is in the archive once
        let list = run_tool("tar", &["-tf", path_str(&file)]);
        let shared_path = format!("blobs/sha256/{}", a.config.rootfs.diff_ids[0].hex());
        assert_eq!(
            list.lines().filter(|l| *l == shared_path).count(),
            1,
            "{list}"
        );
        if format == "docker" {
            let cfg = skopeo_config(&format!("docker-archive:{}:b:1", file.display()));
            assert_eq!(
                cfg["rootfs"]["diff_ids"],
                serde_json::to_value(&b.config.rootfs.diff_ids).unwrap()
            );
        }
        let other = Env::new();
        assert_eq!(
            other.ok(&["load", "-i", path_str(&file)]),
            "Loaded image: a:1\nLoaded image: b:1\n"
        );
        assert_eq!(other.store().resolve("a:1").unwrap().id, a.id);
        assert_eq!(other.store().resolve("b:1").unwrap().id, b.id);
    }
}
