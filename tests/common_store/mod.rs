//! Test helpers that make small real images (a busybox layer plus a few files and links)
//! and put them in a store through its public API, the way the builder will.
#![allow(dead_code)]

use kiln::image::digest::Digest;
use kiln::store::{Image, LayerBlob, Store};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub const BUSYBOX: &str = "/bin/busybox";

/// An entry of a hand-made layer tar.
pub enum Entry<'a> {
    Dir(&'a str),
    /// A directory with another mode than 0755 (`/tmp`'s 1777).
    DirMode(&'a str, u32),
    File(&'a str, &'a [u8], u32),
    Symlink(&'a str, &'a str),
    HardLink(&'a str, &'a str),
    /// Any path written as raw header bytes (for `..` and absolute paths, which the tar
    /// crate's own builder refuses).
    RawFile(&'a str, &'a [u8]),
}

fn header(kind: tar::EntryType, mode: u32, size: u64) -> tar::Header {
    let mut h = tar::Header::new_ustar();
    h.set_entry_type(kind);
    h.set_mode(mode);
    h.set_uid(0);
    h.set_gid(0);
    h.set_mtime(1_700_000_000);
    h.set_size(size);
    h
}

/// Builds an uncompressed layer tar from `entries`.
pub fn layer_tar(entries: &[Entry]) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    for e in entries {
        match e {
            Entry::Dir(p) => {
                let mut h = header(tar::EntryType::Directory, 0o755, 0);
                b.append_data(&mut h, p, &[][..]).unwrap();
            }
            Entry::DirMode(p, mode) => {
                let mut h = header(tar::EntryType::Directory, *mode, 0);
                b.append_data(&mut h, p, &[][..]).unwrap();
            }
            Entry::File(p, data, mode) => {
                let mut h = header(tar::EntryType::Regular, *mode, data.len() as u64);
                b.append_data(&mut h, p, *data).unwrap();
            }
            Entry::Symlink(p, target) => {
                let mut h = header(tar::EntryType::Symlink, 0o777, 0);
                b.append_link(&mut h, p, target).unwrap();
            }
            Entry::HardLink(p, target) => {
                let mut h = header(tar::EntryType::Link, 0o644, 0);
                b.append_link(&mut h, p, target).unwrap();
            }
            Entry::RawFile(p, data) => {
                let mut h = header(tar::EntryType::Regular, 0o644, data.len() as u64);
                let name = &mut h.as_old_mut().name;
                name.fill(0);
                name[..p.len()].copy_from_slice(p.as_bytes());
                h.set_cksum();
                b.append(&h, *data).unwrap();
            }
        }
    }
    b.into_inner().unwrap()
}

/// The standard test layer: busybox, a shell link, a couple of files and links.
/// `marker` goes into /etc/marker so that different images get different layers.
pub fn busybox_layer(marker: &str) -> Vec<u8> {
    let busybox = std::fs::read(BUSYBOX).expect("busybox-static is installed");
    layer_tar(&[
        Entry::Dir("bin"),
        Entry::File("bin/busybox", &busybox, 0o755),
        Entry::Symlink("bin/sh", "busybox"),
        Entry::Symlink("bin/ls", "/bin/busybox"),
        Entry::Dir("etc"),
        Entry::File("etc/hello.txt", b"hello from kiln\n", 0o644),
        Entry::File("etc/marker", marker.as_bytes(), 0o600),
        Entry::HardLink("etc/hello-again.txt", "etc/hello.txt"),
    ])
}

/// The applets the build tests' base image links to busybox.
const APPLETS: &[&str] = &[
    "cat",
    "chmod",
    "date",
    "echo",
    "env",
    "false",
    "find",
    "grep",
    "head",
    "hostname",
    "id",
    "ln",
    "ls",
    "mkdir",
    "pwd",
    "rm",
    "sha256sum",
    "sleep",
    "sort",
    "stat",
    "test",
    "touch",
    "tr",
    "true",
    "wc",
    "yes",
];

/// The build tests' base layer (uncompressed): busybox with its applet links and `sh`,
/// /etc/passwd and /etc/group with a user `app` (1000), /home/app, /tmp (1777), plus
/// `extra`.
pub fn base_layer(extra: Vec<Entry>) -> Vec<u8> {
    let busybox = std::fs::read(BUSYBOX).expect("busybox-static is installed");
    let links: Vec<String> = APPLETS.iter().map(|a| format!("bin/{a}")).collect();
    let mut entries = vec![
        Entry::Dir("bin"),
        Entry::File("bin/busybox", &busybox, 0o755),
        Entry::Symlink("bin/sh", "busybox"),
        Entry::Dir("etc"),
        Entry::File(
            "etc/passwd",
            b"root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000:app:/home/app:/bin/sh\n",
            0o644,
        ),
        Entry::File("etc/group", b"root:x:0:\napp:x:1000:\n", 0o644),
        Entry::Dir("home"),
        Entry::Dir("home/app"),
        Entry::DirMode("tmp", 0o1777),
    ];
    entries.extend(links.iter().map(|l| Entry::Symlink(l, "busybox")));
    entries.extend(extra);
    layer_tar(&entries)
}

/// An image config for `diff_ids`, created at `created` (RFC 3339).
pub fn config_json(diff_ids: &[Digest], created: &str) -> Vec<u8> {
    serde_json::to_vec(&serde_json::json!({
        "created": created,
        "author": "kiln tests",
        "architecture": "amd64",
        "os": "linux",
        "config": {"Env": ["PATH=/bin"], "Cmd": ["/bin/sh"], "Labels": {"test": "yes"}},
        "rootfs": {"type": "layers", "diff_ids": diff_ids},
        "history": [{"created": created, "created_by": "kiln tests"}],
    }))
    .unwrap()
}

pub fn manifest_json(config: (&Digest, u64), layers: &[(String, Digest, u64)]) -> Vec<u8> {
    serde_json::to_vec(&serde_json::json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": config.0, "size": config.1},
        "layers": layers.iter().map(|(mt, d, s)| serde_json::json!({"mediaType": mt, "digest": d, "size": s})).collect::<Vec<_>>(),
    }))
    .unwrap()
}

/// Stores an image made of `layers` (uncompressed tars; gzip-compressed in the store when
/// `gzip`) under `names` (full names), through the store API.
pub fn add_image_with(
    store: &Store,
    layers: &[Vec<u8>],
    names: &[&str],
    created: &str,
    gzip: bool,
) -> Image {
    let mut diff_ids = Vec::new();
    let mut descs = Vec::new();
    for l in layers {
        if gzip {
            let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
            enc.write_all(l).unwrap();
            let gz = enc.finish().unwrap();
            let d = store.put_blob(&gz, None).unwrap();
            let mt = "application/vnd.oci.image.layer.v1.tar+gzip";
            let rec = store.register_layer_blob(&d, mt, None).unwrap();
            diff_ids.push(rec.diff_id.clone());
            descs.push((mt.to_string(), d, gz.len() as u64));
        } else {
            let rec = store.put_layer_tar(&l[..]).unwrap();
            let blob: &LayerBlob = rec.uncompressed().unwrap();
            diff_ids.push(rec.diff_id.clone());
            descs.push((blob.media_type.clone(), blob.digest.clone(), blob.size));
        }
    }
    let config = config_json(&diff_ids, created);
    let cd = store.put_blob(&config, None).unwrap();
    let manifest = manifest_json((&cd, config.len() as u64), &descs);
    let names: Vec<String> = names.iter().map(|s| s.to_string()).collect();
    store.add_image(&manifest, &names).unwrap()
}

/// The standard busybox test image under one full name.
pub fn add_busybox(store: &Store, name: &str, marker: &str) -> Image {
    add_image_with(
        store,
        &[busybox_layer(marker)],
        &[name],
        "2024-01-02T03:04:05Z",
        false,
    )
}

/// A temporary store root with the `kiln` binary at hand.
pub struct Env {
    pub dir: tempfile::TempDir,
}

impl Env {
    pub fn new() -> Env {
        let base = std::env::var_os("CARGO_TARGET_TMPDIR")
            .map(PathBuf::from)
            .unwrap_or_else(std::env::temp_dir);
        Env {
            dir: tempfile::Builder::new()
                .prefix("kiln-store-test-")
                .tempdir_in(base)
                .unwrap(),
        }
    }
    pub fn root(&self) -> PathBuf {
        self.dir.path().join("root")
    }
    pub fn path(&self, p: &str) -> PathBuf {
        self.dir.path().join(p)
    }
    pub fn store(&self) -> Store {
        Store::open(self.root()).unwrap()
    }
    pub fn kiln(&self, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_kiln"))
            .arg("--root")
            .arg(self.root())
            .args(args)
            .output()
            .unwrap()
    }
    /// Runs kiln and asserts success, returning standard output.
    pub fn ok(&self, args: &[&str]) -> String {
        let out = self.kiln(args);
        assert!(
            out.status.success(),
            "kiln {args:?} failed: {}\n{}",
            String::from_utf8_lossy(&out.stderr),
            String::from_utf8_lossy(&out.stdout)
        );
        String::from_utf8(out.stdout).unwrap()
    }
}

/// Runs an external tool and asserts success.
pub fn run_tool(cmd: &str, args: &[&str]) -> String {
    let out = Command::new(cmd).args(args).output().unwrap();
    assert!(
        out.status.success(),
        "{cmd} {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

pub fn path_str(p: &Path) -> &str {
    p.to_str().unwrap()
}
