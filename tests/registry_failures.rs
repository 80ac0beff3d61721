//! Bad inputs and bad networks against a real registry: corrupted blobs, a registry that is
//! down, refused manifest formats, and downloads cut short by a proxy.

mod common;

use common::registry::{
    build_oci_layout, free_port, layer_tar_gz, Registry, RegistryAuth, Tamper, TamperProxy,
    TestImage,
};
use kiln::image::digest::Digest;
use kiln::image::oci;
use kiln::image::reference::Reference;
use kiln::registry::pull::{self, DirTarget};
use kiln::registry::push::{self, DirSource, ManifestUpload, PushImage};
use kiln::registry::{no_progress, BlobEvent, Client, Options, PlatformSpec, RegistryError};
use std::sync::atomic::AtomicUsize;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

fn options() -> Options {
    Options {
        backoff: Duration::from_millis(20),
        max_attempts: 4,
        docker_config_dir: Some(std::env::temp_dir().join("kiln-test-no-docker-config")),
        ..Options::default()
    }
}

/// A registry holding one image at `<host>/fail/img:1`, with a 300 KB pseudo-random layer.
fn seeded() -> (Registry, TestImage, tempfile::TempDir) {
    let reg = Registry::start(RegistryAuth::None);
    let tmp = tempfile::tempdir().unwrap();
    let mut noise = Vec::with_capacity(300_000);
    let mut x: u32 = 12345;
    for _ in 0..300_000 {
        x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
        noise.push((x >> 16) as u8);
    }
    let img = build_oci_layout(
        &tmp.path().join("layout"),
        "amd64",
        &[layer_tar_gz(&[("data/noise", noise)])],
        "1",
    );
    let c = Client::new(&reg.host(), options()).unwrap();
    let r = Reference::parse(&format!("{}/fail/img:1", reg.host())).unwrap();
    push::push(
        &c,
        &r,
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
    .unwrap();
    (reg, img, tmp)
}

#[test]
fn corrupted_blob_on_the_registry_is_a_digest_error() {
    let (reg, img, _tmp) = seeded();
    let layer = &img.layers[0];
    let path = reg.blob_data_path(&layer.digest);
    let mut bytes = std::fs::read(&path).unwrap();
    bytes[1000] ^= 0xff;
    std::fs::write(&path, &bytes).unwrap();
    let c = Client::new(&reg.host(), options()).unwrap();
    let r = Reference::parse(&format!("{}/fail/img:1", reg.host())).unwrap();
    let dest = tempfile::tempdir().unwrap();
    let target = DirTarget::new(dest.path());
    let err = pull::pull(&c, &r, &PlatformSpec::default(), &target, &no_progress).unwrap_err();
    match &err {
        RegistryError::DigestMismatch {
            expected, actual, ..
        } => {
            assert_eq!(expected, layer.digest.as_str());
            assert_eq!(actual, Digest::of(&bytes).as_str());
        }
        e => panic!("expected a digest mismatch, got {e}"),
    }
    assert!(err
        .to_string()
        .starts_with("digest mismatch for blob sha256:"));
    assert!(
        !target.blob_path(&layer.digest).exists(),
        "bad blob committed"
    );
}

#[test]
fn registry_down_is_a_clear_error() {
    let port = free_port();
    let c = Client::new(
        &format!("127.0.0.1:{port}"),
        Options {
            backoff: Duration::from_secs(3),
            ..options()
        },
    )
    .unwrap();
    let started = Instant::now();
    let err = c.get_manifest("x/y", "latest").unwrap_err();
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "retried a refused connection"
    );
    assert!(matches!(err, RegistryError::Unreachable { .. }), "{err:?}");
    let msg = err.to_string();
    assert!(
        msg.starts_with(&format!("cannot reach registry 127.0.0.1:{port}: ")),
        "{msg}"
    );
    assert!(msg.to_lowercase().contains("connection refused"), "{msg}");
}

#[test]
fn missing_manifest_is_not_found_and_not_retried() {
    let (reg, _img, _tmp) = seeded();
    let proxy = TamperProxy::start(
        reg.port,
        Tamper::Fail {
            method: "NONE",
            path: "",
            status: 500,
            times: Arc::new(AtomicUsize::new(0)),
        },
    );
    let c = Client::new(&proxy.host(), options()).unwrap();
    let err = c.get_manifest("fail/img", "nope").unwrap_err();
    assert_eq!(
        proxy.requests.lock().unwrap().len(),
        1,
        "a 404 is not retried"
    );
    assert!(matches!(err, RegistryError::NotFound { .. }), "{err:?}");
    assert_eq!(
        err.to_string(),
        format!(
            "manifest for {}/fail/img:nope not found: manifest unknown",
            proxy.host()
        )
    );
}

#[test]
fn schema1_and_unknown_media_types_are_refused() {
    let (reg, _img, _tmp) = seeded();
    let proxy = TamperProxy::start(
        reg.port,
        Tamper::ManifestContentType(oci::MEDIA_DOCKER_SCHEMA1_SIGNED.into()),
    );
    let c = Client::new(&proxy.host(), options()).unwrap();
    let err = c.get_manifest("fail/img", "1").unwrap_err();
    assert!(matches!(err, RegistryError::Schema1 { .. }), "{err:?}");
    assert!(err.to_string().contains("schema 1"), "{err}");

    let proxy = TamperProxy::start(
        reg.port,
        Tamper::ManifestContentType("application/vnd.example.thing+json".into()),
    );
    let c = Client::new(&proxy.host(), options()).unwrap();
    let r = Reference::parse(&format!("{}/fail/img:1", proxy.host())).unwrap();
    let err = pull::resolve(&c, &r, &PlatformSpec::default()).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "unsupported manifest media type \"application/vnd.example.thing+json\" for {}/fail/img:1",
            proxy.host()
        )
    );
}

fn pull_through(
    proxy: &TamperProxy,
    img: &TestImage,
) -> (Result<(), RegistryError>, Vec<BlobEvent>) {
    // One transfer at a time: the config blob is fetched (and counted by the proxy) first.
    let c = Client::new(
        &proxy.host(),
        Options {
            parallel: 1,
            ..options()
        },
    )
    .unwrap();
    let r = Reference::parse(&format!("{}/fail/img:1", proxy.host())).unwrap();
    let dest = tempfile::tempdir().unwrap();
    let target = DirTarget::new(dest.path());
    let events = Mutex::new(Vec::new());
    let layer = img.layers[0].digest.clone();
    let progress = |d: &Digest, e: BlobEvent| {
        if *d == layer && !matches!(e, BlobEvent::Progress { .. }) {
            events.lock().unwrap().push(e);
        }
    };
    let res = pull::pull(&c, &r, &PlatformSpec::default(), &target, &progress).map(|got| {
        assert_eq!(got.manifest.digest, img.manifest_digest);
        assert_eq!(
            std::fs::read(target.blob_path(&layer)).unwrap(),
            img.blob(&layer)
        );
    });
    (res, events.into_inner().unwrap())
}

fn blob_requests(proxy: &TamperProxy, img: &TestImage) -> Vec<String> {
    let layer = img.layers[0].digest.as_str().to_string();
    proxy
        .requests
        .lock()
        .unwrap()
        .iter()
        .filter(|h| h.starts_with("GET ") && h.contains(&layer))
        .cloned()
        .collect()
}

#[test]
fn truncated_download_resumes_with_range() {
    let (reg, img, _tmp) = seeded();
    let proxy = TamperProxy::start(
        reg.port,
        Tamper::CutBlobs {
            after: 100_000,
            times: Arc::new(AtomicUsize::new(2)),
        },
    );
    let (res, events) = pull_through(&proxy, &img);
    res.unwrap();
    assert!(
        matches!(events[0], BlobEvent::Retrying { attempt: 1, .. }),
        "{events:?}"
    );
    assert_eq!(events.last(), Some(&BlobEvent::Pulled));
    let reqs = blob_requests(&proxy, &img);
    // The config blob was cut too; the layer: cut once, then resumed at 100000.
    assert_eq!(reqs.len(), 2, "{reqs:?}");
    assert!(!reqs[0].to_lowercase().contains("range:"));
    assert!(
        reqs[1].to_lowercase().contains("range: bytes=100000-"),
        "{}",
        reqs[1]
    );
}

#[test]
fn truncated_download_without_ranges_starts_over() {
    let (reg, img, _tmp) = seeded();
    let proxy = TamperProxy::start(
        reg.port,
        Tamper::CutBlobsNoRanges {
            after: 150_000,
            times: Arc::new(AtomicUsize::new(2)),
        },
    );
    let (res, events) = pull_through(&proxy, &img);
    res.unwrap();
    assert!(events
        .iter()
        .any(|e| matches!(e, BlobEvent::Retrying { .. })));
    let reqs = blob_requests(&proxy, &img);
    assert!(reqs.len() >= 2, "{reqs:?}");
    assert!(
        reqs.iter().all(|r| !r.to_lowercase().contains("range:")),
        "{reqs:?}"
    );
}

#[test]
fn endless_truncation_gives_up_with_a_clear_error() {
    let (reg, img, _tmp) = seeded();
    let proxy = TamperProxy::start(
        reg.port,
        Tamper::CutBlobsNoRanges {
            after: 1000,
            times: Arc::new(AtomicUsize::new(usize::MAX)),
        },
    );
    let started = Instant::now();
    let (res, _events) = pull_through(&proxy, &img);
    let err = res.unwrap_err();
    assert!(
        matches!(err, RegistryError::RetriesExhausted { attempts: 4, .. }),
        "{err:?}"
    );
    let msg = err.to_string();
    assert!(msg.contains("gave up after 4 attempts"), "{msg}");
    assert!(started.elapsed() < Duration::from_secs(20));
    // Bounded: 4 attempts for the blob that failed first, not a storm.
    assert!(blob_requests(&proxy, &img).len() <= 4);
}

fn fail(method: &'static str, path: &'static str, status: u16, times: usize) -> Tamper {
    Tamper::Fail {
        method,
        path,
        status,
        times: Arc::new(AtomicUsize::new(times)),
    }
}

#[test]
fn server_errors_and_429_are_retried() {
    let (reg, img, tmp) = seeded();
    // Manifest GET: two 503s, then the registry's answer.
    let proxy = TamperProxy::start(reg.port, fail("GET", "/manifests/", 503, 2));
    let c = Client::new(&proxy.host(), options()).unwrap();
    let m = c.get_manifest("fail/img", "1").unwrap();
    assert_eq!(m.digest, img.manifest_digest);
    assert_eq!(proxy.requests.lock().unwrap().len(), 3);

    // Blob GET: a 429 with Retry-After, then the blob.
    let proxy = TamperProxy::start(reg.port, fail("GET", "/blobs/sha256:", 429, 1));
    let (res, _) = pull_through(&proxy, &img);
    res.unwrap();

    // Upload: the first blob PUT gets a 502; the blob is uploaded again and the push succeeds.
    let proxy = TamperProxy::start(reg.port, fail("PUT", "/blobs/uploads/", 502, 1));
    let c = Client::new(&proxy.host(), options()).unwrap();
    let other = build_oci_layout(
        &tmp.path().join("other"),
        "amd64",
        &[layer_tar_gz(&[("x", b"retried upload".to_vec())])],
        "1",
    );
    let r = Reference::parse(&format!("{}/fail/retry:1", proxy.host())).unwrap();
    let retried = Mutex::new(0);
    let progress = |_: &Digest, e: BlobEvent| {
        if matches!(e, BlobEvent::Retrying { .. }) {
            *retried.lock().unwrap() += 1;
        }
    };
    let d = push::push(
        &c,
        &r,
        &PushImage {
            blobs: other.blobs(),
            manifests: vec![ManifestUpload {
                media_type: oci::MEDIA_OCI_MANIFEST.into(),
                bytes: other.manifest_bytes.clone(),
            }],
        },
        &DirSource::new(&other.dir),
        &progress,
    )
    .unwrap();
    assert_eq!(d, other.manifest_digest);
    assert_eq!(*retried.lock().unwrap(), 1);
    let back = Client::new(&reg.host(), options())
        .unwrap()
        .get_manifest("fail/retry", "1")
        .unwrap();
    assert_eq!(back.bytes, other.manifest_bytes);

    // A registry that keeps failing: a bounded number of attempts, then a clear error.
    let proxy = TamperProxy::start(reg.port, fail("GET", "/manifests/", 500, usize::MAX));
    let c = Client::new(&proxy.host(), options()).unwrap();
    let err = c.get_manifest("fail/img", "1").unwrap_err();
    assert!(
        err.to_string().contains("gave up after 4 attempts"),
        "{err}"
    );
    assert!(err.to_string().contains("injected failure"), "{err}");
    assert_eq!(proxy.requests.lock().unwrap().len(), 4);
}

#[test]
fn manifest_digest_is_checked() {
    let (reg, img, _tmp) = seeded();
    let wrong = Digest::of(b"something else");
    let proxy = TamperProxy::start(reg.port, Tamper::ManifestDigestHeader(wrong.to_string()));
    let c = Client::new(&proxy.host(), options()).unwrap();
    let err = c.get_manifest("fail/img", "1").unwrap_err();
    match err {
        RegistryError::DigestMismatch {
            expected, actual, ..
        } => {
            assert_eq!(expected, wrong.as_str());
            assert_eq!(actual, img.manifest_digest.as_str());
        }
        e => panic!("expected a digest mismatch, got {e}"),
    }
    // Asked by digest, the bytes must hash to it whatever the headers say.
    let c = Client::new(&reg.host(), options()).unwrap();
    let err = c.get_manifest("fail/img", wrong.as_str()).unwrap_err();
    assert!(matches!(err, RegistryError::NotFound { .. }), "{err:?}");
    let ok = c
        .get_manifest("fail/img", img.manifest_digest.as_str())
        .unwrap();
    assert_eq!(ok.bytes, img.manifest_bytes);
}
