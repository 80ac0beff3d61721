//! Pull and push against a real distribution registry, checked with an independent client
//! (skopeo) in both directions.

mod common;

use common::registry::{
    build_oci_layout, busybox, layer_tar_gz, skopeo, Registry, RegistryAuth, TestImage,
};
use kiln::image::digest::Digest;
use kiln::image::oci::{self, Index};
use kiln::image::reference::Reference;
use kiln::registry::pull::{self, DirTarget};
use kiln::registry::push::{self, DirSource, ManifestUpload, PushImage};
use kiln::registry::{BlobEvent, Client, Options, PlatformSpec, RegistryError};
use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Duration;

fn options(config_dir: &std::path::Path) -> Options {
    Options {
        backoff: Duration::from_millis(50),
        docker_config_dir: Some(config_dir.to_path_buf()),
        ..Options::default()
    }
}

fn client(reg: &Registry, cfg: &tempfile::TempDir) -> Client {
    Client::new(&reg.host(), options(cfg.path())).unwrap()
}

fn image(dir: &std::path::Path, arch: &str, payload: &[u8]) -> TestImage {
    let l1 = layer_tar_gz(&[("bin/busybox", busybox())]);
    let l2 = layer_tar_gz(&[
        ("etc/motd", payload.to_vec()),
        ("etc/arch", arch.as_bytes().to_vec()),
    ]);
    build_oci_layout(dir, arch, &[l1, l2], "v1")
}

fn push_image(
    c: &Client,
    r: &Reference,
    img: &TestImage,
    source: &DirSource,
) -> Vec<(Digest, BlobEvent)> {
    let events = Mutex::new(Vec::new());
    let progress = |d: &Digest, e: BlobEvent| {
        if !matches!(e, BlobEvent::Progress { .. }) {
            events.lock().unwrap().push((d.clone(), e));
        }
    };
    let pushed = push::push(
        c,
        r,
        &PushImage {
            blobs: img.blobs(),
            manifests: vec![ManifestUpload {
                media_type: oci::MEDIA_OCI_MANIFEST.into(),
                bytes: img.manifest_bytes.clone(),
            }],
        },
        source,
        &progress,
    )
    .unwrap();
    assert_eq!(pushed, img.manifest_digest);
    events.into_inner().unwrap()
}

#[test]
fn push_is_readable_by_skopeo() {
    let reg = Registry::start(RegistryAuth::None);
    let cfg = tempfile::tempdir().unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let img = image(&tmp.path().join("layout"), "amd64", b"hello");
    let r = Reference::parse(&format!("{}/kiln/pushed:v1", reg.host())).unwrap();
    let c = client(&reg, &cfg);
    let events = push_image(&c, &r, &img, &DirSource::new(&img.dir));
    for b in img.blobs() {
        assert!(
            events.contains(&(b.digest.clone(), BlobEvent::Pushed)),
            "{events:?}"
        );
    }
    let url = format!("docker://{r}");
    let raw = skopeo(&["inspect", "--tls-verify=false", "--raw", &url]);
    assert_eq!(raw.as_bytes(), &img.manifest_bytes[..]);
    let info: serde_json::Value =
        serde_json::from_str(&skopeo(&["inspect", "--tls-verify=false", &url])).unwrap();
    assert_eq!(info["Digest"], img.manifest_digest.as_str());
    let layers: Vec<&str> = info["Layers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    let want: Vec<&str> = img.layers.iter().map(|l| l.digest.as_str()).collect();
    assert_eq!(layers, want);
    // skopeo copies it out byte for byte.
    let out = tmp.path().join("copied");
    skopeo(&[
        "copy",
        "--src-tls-verify=false",
        &url,
        &format!("oci:{}:x", out.display()),
    ]);
    for b in img.blobs() {
        let copied = std::fs::read(out.join("blobs/sha256").join(b.digest.hex())).unwrap();
        assert_eq!(copied, img.blob(&b.digest));
    }

    // A second push finds every blob in place.
    let events = push_image(&c, &r, &img, &DirSource::new(&img.dir));
    assert_eq!(events.len(), 3);
    assert!(
        events.iter().all(|(_, e)| *e == BlobEvent::Exists),
        "{events:?}"
    );
}

#[test]
fn pulls_what_skopeo_pushed_in_both_manifest_formats() {
    let reg = Registry::start(RegistryAuth::None);
    let cfg = tempfile::tempdir().unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let img = image(&tmp.path().join("layout"), "amd64", b"from skopeo");
    let src = format!("oci:{}:v1", img.dir.display());
    let oci_ref = format!("{}/other/oci:1", reg.host());
    skopeo(&[
        "copy",
        "--dest-tls-verify=false",
        &src,
        &format!("docker://{oci_ref}"),
    ]);
    let v2s2_ref = format!("{}/other/v2s2:1", reg.host());
    skopeo(&[
        "copy",
        "--dest-tls-verify=false",
        "--format",
        "v2s2",
        &src,
        &format!("docker://{v2s2_ref}"),
    ]);
    let c = client(&reg, &cfg);

    let dest = tempfile::tempdir().unwrap();
    let target = DirTarget::new(dest.path());
    let events = Mutex::new(Vec::new());
    let progress = |d: &Digest, e: BlobEvent| {
        if !matches!(e, BlobEvent::Progress { .. }) {
            events.lock().unwrap().push((d.clone(), e));
        }
    };
    let r = Reference::parse(&oci_ref).unwrap();
    let got = pull::pull(&c, &r, &PlatformSpec::default(), &target, &progress).unwrap();
    assert_eq!(got.manifest.media_type, oci::MEDIA_OCI_MANIFEST);
    assert_eq!(got.manifest.digest, img.manifest_digest);
    assert!(got.index.is_none());
    for b in img.blobs() {
        assert_eq!(
            std::fs::read(target.blob_path(&b.digest)).unwrap(),
            img.blob(&b.digest)
        );
        assert!(events
            .lock()
            .unwrap()
            .contains(&(b.digest.clone(), BlobEvent::Pulled)));
    }

    // The Docker schema 2 copy: same layers, docker media types, new manifest digest.
    events.lock().unwrap().clear();
    let r = Reference::parse(&v2s2_ref).unwrap();
    let got = pull::pull(&c, &r, &PlatformSpec::default(), &target, &progress).unwrap();
    assert_eq!(got.manifest.media_type, oci::MEDIA_DOCKER_MANIFEST);
    assert_ne!(got.manifest.digest, img.manifest_digest);
    let raw = skopeo(&[
        "inspect",
        "--tls-verify=false",
        "--raw",
        &format!("docker://{v2s2_ref}"),
    ]);
    assert_eq!(raw.as_bytes(), &got.manifest.bytes[..]);
    for l in &got.parsed.layers {
        assert_eq!(l.media_type, oci::MEDIA_DOCKER_LAYER_GZIP);
        assert!(events
            .lock()
            .unwrap()
            .contains(&(l.digest.clone(), BlobEvent::Exists)));
    }
    // The config was converted to docker's media type but has the same bytes.
    assert_eq!(got.parsed.config.media_type, oci::MEDIA_DOCKER_CONFIG);

    // By digest.
    let by_digest = r.with_digest(got.manifest.digest.clone());
    let again = pull::resolve(&c, &by_digest, &PlatformSpec::default()).unwrap();
    assert_eq!(again.manifest.bytes, got.manifest.bytes);
}

#[test]
fn chunked_uploads_and_cross_repository_mounts() {
    let reg = Registry::start(RegistryAuth::None);
    let cfg = tempfile::tempdir().unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let img = image(&tmp.path().join("layout"), "amd64", &vec![b'x'; 5000]);
    let c = Client::new(
        &reg.host(),
        Options {
            chunk_threshold: 64 << 10,
            chunk_size: 48 << 10,
            ..options(cfg.path())
        },
    )
    .unwrap();
    // Busybox is ~1 MB: it goes up in many PATCH chunks; the small layer in one PUT.
    assert!(img.layers[0].size > 10 * (48 << 10));
    assert!(img.layers[1].size < 64 << 10);
    let a = Reference::parse(&format!("{}/team/a:1", reg.host())).unwrap();
    let events = Mutex::new(0u64);
    let progress = |d: &Digest, e: BlobEvent| {
        if *d == img.layers[0].digest {
            if let BlobEvent::Progress { done, total } = e {
                assert!(done <= total);
                *events.lock().unwrap() += 1;
            }
        }
    };
    push::push(
        &c,
        &a,
        &PushImage {
            blobs: img.blobs(),
            manifests: vec![ManifestUpload {
                media_type: oci::MEDIA_OCI_MANIFEST.into(),
                bytes: img.manifest_bytes.clone(),
            }],
        },
        &DirSource::new(&img.dir),
        &progress,
    )
    .unwrap();
    assert!(*events.lock().unwrap() > 10, "progress per chunk");
    let out = tmp.path().join("copied");
    skopeo(&[
        "copy",
        "--src-tls-verify=false",
        &format!("docker://{a}"),
        &format!("oci:{}:x", out.display()),
    ]);
    for b in img.blobs() {
        let copied = std::fs::read(out.join("blobs/sha256").join(b.digest.hex())).unwrap();
        assert_eq!(copied, img.blob(&b.digest), "{}", b.digest);
    }

    // Into another repository: every blob mounted from team/a.
    let b = Reference::parse(&format!("{}/team/b:1", reg.host())).unwrap();
    let mut source = DirSource::new(&img.dir);
    source.mount_from = vec!["team/a".into()];
    let events = push_image(&c, &b, &img, &source);
    for d in img.blobs() {
        assert!(
            events.contains(&(
                d.digest.clone(),
                BlobEvent::Mounted {
                    from: "team/a".into()
                }
            )),
            "{events:?}"
        );
    }
    // A mount from a repository that lacks the blob falls back to an upload (202).
    let other = image(&tmp.path().join("other"), "amd64", b"new content");
    let c2 = Reference::parse(&format!("{}/team/c:1", reg.host())).unwrap();
    let mut source = DirSource::new(&other.dir);
    source.mount_from = vec!["team/nothing-here".into()];
    let events = push_image(&c, &c2, &other, &source);
    let new_layer = &other.layers[1].digest;
    assert!(
        events.contains(&(new_layer.clone(), BlobEvent::Pushed)),
        "{events:?}"
    );
    let raw = skopeo(&[
        "inspect",
        "--tls-verify=false",
        "--raw",
        &format!("docker://{c2}"),
    ]);
    assert_eq!(raw.as_bytes(), &other.manifest_bytes[..]);
}

#[test]
fn platform_selection_from_an_index() {
    let reg = Registry::start(RegistryAuth::None);
    let cfg = tempfile::tempdir().unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let amd = image(&tmp.path().join("amd"), "amd64", b"amd64 payload");
    let arm = image(&tmp.path().join("arm"), "arm64", b"arm64 payload");
    // One blob directory holding both images.
    let all = tmp.path().join("all");
    for img in [&amd, &arm] {
        for b in img.blobs() {
            let p = all.join("blobs/sha256");
            std::fs::create_dir_all(&p).unwrap();
            std::fs::write(p.join(b.digest.hex()), img.blob(&b.digest)).unwrap();
        }
    }
    let index = Index {
        schema_version: 2,
        media_type: Some(oci::MEDIA_OCI_INDEX.into()),
        manifests: vec![amd.index_entry("amd64"), arm.index_entry("arm64")],
        annotations: BTreeMap::new(),
    };
    let index_bytes = serde_json::to_vec(&index).unwrap();
    let r = Reference::parse(&format!("{}/multi/arch:1", reg.host())).unwrap();
    let c = client(&reg, &cfg);
    let mut blobs = amd.blobs();
    blobs.extend(arm.blobs());
    let pushed = push::push(
        &c,
        &r,
        &PushImage {
            blobs,
            manifests: vec![
                ManifestUpload {
                    media_type: oci::MEDIA_OCI_MANIFEST.into(),
                    bytes: amd.manifest_bytes.clone(),
                },
                ManifestUpload {
                    media_type: oci::MEDIA_OCI_MANIFEST.into(),
                    bytes: arm.manifest_bytes.clone(),
                },
                ManifestUpload {
                    media_type: oci::MEDIA_OCI_INDEX.into(),
                    bytes: index_bytes.clone(),
                },
            ],
        },
        &DirSource::new(&all),
        &kiln::registry::no_progress,
    )
    .unwrap();
    assert_eq!(pushed, Digest::of(&index_bytes));

    let got = pull::resolve(&c, &r, &PlatformSpec::default()).unwrap();
    assert_eq!(got.manifest.digest, amd.manifest_digest);
    assert_eq!(got.index.as_ref().unwrap().digest, pushed);
    let arm64: PlatformSpec = "linux/arm64".parse().unwrap();
    let got = pull::resolve(&c, &r, &arm64).unwrap();
    assert_eq!(got.manifest.digest, arm.manifest_digest);
    let dest = tempfile::tempdir().unwrap();
    let target = DirTarget::new(dest.path());
    pull::pull(&c, &r, &arm64, &target, &kiln::registry::no_progress).unwrap();
    assert_eq!(
        std::fs::read(target.blob_path(&arm.config.digest)).unwrap(),
        arm.config_bytes
    );
    assert!(!target.blob_path(&amd.config.digest).exists());

    // The same children under a Docker manifest list.
    let list = Index {
        media_type: Some(oci::MEDIA_DOCKER_MANIFEST_LIST.into()),
        ..index.clone()
    };
    let list_bytes = serde_json::to_vec(&list).unwrap();
    let as_list = r.with_tag("list").unwrap();
    c.put_manifest(
        as_list.path(),
        "list",
        oci::MEDIA_DOCKER_MANIFEST_LIST,
        &list_bytes,
    )
    .unwrap();
    let got = pull::resolve(&c, &as_list, &arm64).unwrap();
    assert_eq!(got.manifest.digest, arm.manifest_digest);
    let top = got.index.unwrap();
    assert_eq!(top.media_type, oci::MEDIA_DOCKER_MANIFEST_LIST);
    assert_eq!(top.bytes, list_bytes);

    let s390x: PlatformSpec = "linux/s390x".parse().unwrap();
    let err = pull::resolve(&c, &r, &s390x).unwrap_err();
    assert!(matches!(err, RegistryError::PlatformNotFound { .. }));
    assert_eq!(
        err.to_string(),
        "no matching manifest for linux/s390x in the manifest list entries (available: linux/amd64, linux/arm64)"
    );
}
