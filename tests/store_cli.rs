//! The image commands as users run them: output shapes, docker's rules, prune, concurrent
//! writers, and a load killed half-way.

mod common_store;

use common_store::*;
use std::io::{Read, Write};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const BB: &str = "docker.io/library/busybox:latest";

#[test]
fn images_table_tag_and_quiet() {
    let env = Env::new();
    let store = env.store();
    let img = add_busybox(&store, BB, "t");
    env.ok(&["tag", "busybox", "localhost:5000/team/app:v1"]);
    let out = env.ok(&["images"]);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(
        lines[0],
        "REPOSITORY                TAG       IMAGE ID       CREATED       SIZE"
    );
    assert_eq!(lines.len(), 3, "{out}");
    // busybox-static is about 2 MB; docker's SI units with 3 significant digits
    let size = kiln_size(&store, &img);
    for l in &lines[1..] {
        assert!(l.contains(img.id.short()), "{l}");
        assert!(l.contains(" ago "), "{l}");
        assert!(l.ends_with(&size), "{l} vs {size}");
    }
    assert!(lines
        .iter()
        .any(|l| l.starts_with("busybox                   latest    ")));
    assert!(lines
        .iter()
        .any(|l| l.starts_with("localhost:5000/team/app   v1        ")));
    // -q: one line per image ID
    assert_eq!(env.ok(&["images", "-q"]), format!("{}\n", img.id.short()));
    assert_eq!(
        env.ok(&["image", "ls", "-q", "--no-trunc"]),
        format!("{}\n", img.id)
    );
    // a repository filter
    let f = env.ok(&["images", "localhost:5000/team/app"]);
    assert_eq!(f.lines().count(), 2, "{f}");
    assert!(env.ok(&["images", "nothing"]).lines().count() == 1);
    // --digests shows the manifest digest
    assert!(env
        .ok(&["images", "--digests"])
        .contains(img.manifest_digest.as_str()));
}

fn kiln_size(store: &kiln::store::Store, img: &kiln::store::Image) -> String {
    let n: u64 = img
        .config
        .rootfs
        .diff_ids
        .iter()
        .map(|d| store.layer(d).unwrap().unwrap().size)
        .sum();
    let mb = n as f64 / 1e6;
    // format with 3 significant digits the way docker does for sizes in 1..10 MB
    assert!((1.0..10.0).contains(&mb), "{n}");
    let s = format!("{mb:.2}");
    format!("{}MB", s.trim_end_matches('0').trim_end_matches('.'))
}

#[test]
fn rmi_and_inspect_follow_docker() {
    let env = Env::new();
    let store = env.store();
    let img = add_busybox(&store, BB, "r");
    env.ok(&["tag", "busybox", "busybox:v2"]);
    env.ok(&["image", "tag", img.id.short(), "other/repo:x"]);

    let v: serde_json::Value = serde_json::from_str(&env.ok(&["inspect", "busybox:v2"])).unwrap();
    let v = &v[0];
    assert_eq!(v["Id"], img.id.as_str());
    assert_eq!(
        v["RepoTags"],
        serde_json::json!(["busybox:latest", "busybox:v2", "other/repo:x"])
    );
    assert_eq!(
        v["RepoDigests"][0],
        format!("busybox@{}", img.manifest_digest)
    );
    assert_eq!(v["Created"], "2024-01-02T03:04:05Z");
    assert_eq!(v["Author"], "kiln tests");
    assert_eq!(v["Config"]["Cmd"], serde_json::json!(["/bin/sh"]));
    assert_eq!(v["Architecture"], "amd64");
    assert_eq!(v["Os"], "linux");
    assert_eq!(v["RootFS"]["Type"], "layers");
    assert_eq!(
        v["Size"].as_u64().unwrap(),
        store
            .layer(&img.config.rootfs.diff_ids[0])
            .unwrap()
            .unwrap()
            .size
    );
    // inspect of a missing image: an empty array and an error
    let out = env.kiln(&["inspect", "missing"]);
    assert!(!out.status.success());
    assert_eq!(String::from_utf8_lossy(&out.stdout), "[]\n");
    assert!(String::from_utf8_lossy(&out.stderr).contains("No such image: missing:latest"));

    // an ID with tags in two repositories needs -f
    let out = env.kiln(&["rmi", img.id.short()]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains(&format!(
        "conflict: unable to delete {} (must be forced) - image is referenced in multiple repositories",
        img.id.short()
    )));
    assert_eq!(env.ok(&["rmi", "busybox"]), "Untagged: busybox:latest\n");
    assert_eq!(
        env.ok(&["image", "rm", "-f", img.id.short()]),
        format!(
            "Untagged: busybox:v2\nUntagged: other/repo:x\nDeleted: {}\n",
            img.id
        )
    );
    assert_eq!(env.ok(&["images", "-q"]), "");
    // the image's blobs went with it
    assert!(!store.has_blob(&img.manifest.layers[0].digest));
    let out = env.kiln(&["rmi", "busybox"]);
    assert_eq!(out.status.code(), Some(1));
}

#[test]
fn prune_removes_untagged_images_junk_and_snapshots() {
    let env = Env::new();
    let store = env.store();
    let old = add_busybox(&store, BB, "old");
    store.snapshot(&old.config.rootfs.diff_ids[0]).unwrap();
    let new = add_busybox(&store, BB, "new");
    std::fs::write(store.tmp_dir().join("blob-junk"), vec![1u8; 5000]).unwrap();
    let out = env.ok(&["images"]);
    assert!(out.contains("<none>"), "{out}");
    let out = env.ok(&["image", "prune", "-f"]);
    assert!(
        out.starts_with(&format!("Deleted Images:\ndeleted: {}\n\n", old.id)),
        "{out}"
    );
    let last = out.lines().last().unwrap();
    assert!(last.starts_with("Total reclaimed space: "), "{out}");
    assert!(last.ends_with("MB"), "{last}");
    assert!(!store
        .snapshots_dir()
        .join(old.config.rootfs.diff_ids[0].hex())
        .exists());
    assert!(!store.has_blob(&old.manifest_digest));
    assert!(store.has_blob(&new.manifest_digest));
    assert_eq!(std::fs::read_dir(store.tmp_dir()).unwrap().count(), 0);
    assert_eq!(env.ok(&["image", "prune"]), "Total reclaimed space: 0B\n");
    assert_eq!(
        env.ok(&["images", "-q", "--no-trunc"]).trim(),
        new.id.as_str()
    );
}

#[test]
fn concurrent_writers_keep_the_index_consistent() {
    let env = Env::new();
    let store = env.store();
    let img = add_busybox(&store, BB, "c");
    let archive_src = Env::new();
    add_busybox(&archive_src.store(), "docker.io/library/other:1", "other");
    let archive = env.path("other.tar");
    archive_src.ok(&["save", "other:1", "-o", path_str(&archive)]);

    let workers: Vec<_> = (0..4)
        .map(|w| {
            let root = env.root();
            let archive = archive.clone();
            std::thread::spawn(move || {
                for i in 0..12 {
                    let mut cmd = Command::new(env!("CARGO_BIN_EXE_kiln"));
                    cmd.arg("--root").arg(&root);
                    if w == 0 && i % 3 == 0 {
                        cmd.args(["load", "-q", "-i"]).arg(&archive);
                    } else {
                        cmd.args(["tag", "busybox", &format!("w{w}/repo:t{i}")]);
                    }
                    let out = cmd.output().unwrap();
                    assert!(
                        out.status.success(),
                        "{}",
                        String::from_utf8_lossy(&out.stderr)
                    );
                }
            })
        })
        .collect();
    for w in workers {
        w.join().unwrap();
    }
    let names = store.names_of(&img.id).unwrap();
    // 4 workers x 12 commands, minus the 4 loads of worker 0, plus the original name
    assert_eq!(names.len(), 4 * 12 - 4 + 1, "{names:?}");
    assert!(store.resolve("other:1").is_ok());
    let index: serde_json::Value =
        serde_json::from_slice(&std::fs::read(env.root().join("index.json")).unwrap()).unwrap();
    assert_eq!(index["manifests"].as_array().unwrap().len(), 4 * 12 - 4 + 2);
}

/// A reader of `n` pseudo-random bytes (incompressible, cheap to make).
struct Noise {
    left: u64,
    state: u64,
}

impl Read for Noise {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = (buf.len() as u64).min(self.left) as usize;
        for chunk in buf[..n].chunks_mut(8) {
            self.state ^= self.state << 13;
            self.state ^= self.state >> 7;
            self.state ^= self.state << 17;
            let b = self.state.to_le_bytes();
            chunk.copy_from_slice(&b[..chunk.len()]);
        }
        self.left -= n as u64;
        Ok(n)
    }
}

fn big_layer_file(path: &std::path::Path, size: u64) {
    let f = std::fs::File::create(path).unwrap();
    let mut b = tar::Builder::new(std::io::BufWriter::new(f));
    let mut h = tar::Header::new_ustar();
    h.set_entry_type(tar::EntryType::Regular);
    h.set_mode(0o644);
    h.set_size(size);
    h.set_mtime(0);
    b.append_data(
        &mut h,
        "random.bin",
        Noise {
            left: size,
            state: 0x9e37_79b9_7f4a_7c15,
        },
    )
    .unwrap();
    b.into_inner().unwrap().flush().unwrap();
}

fn dir_bytes(dir: &std::path::Path) -> u64 {
    std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .filter_map(|e| e.metadata().ok())
        .map(|m| m.len())
        .sum()
}

#[test]
fn a_load_killed_half_way_leaves_a_usable_store() {
    let src = Env::new();
    let layer = src.path("big-layer.tar");
    big_layer_file(&layer, 200 << 20);
    let store = src.store();
    let big = {
        let rec = store
            .put_layer_tar(std::fs::File::open(&layer).unwrap())
            .unwrap();
        std::fs::remove_file(&layer).unwrap();
        let blob = rec.uncompressed().unwrap().clone();
        let config = config_json(std::slice::from_ref(&rec.diff_id), "2024-01-01T00:00:00Z");
        let cd = store.put_blob(&config, None).unwrap();
        let manifest = manifest_json(
            (&cd, config.len() as u64),
            &[(blob.media_type, blob.digest, blob.size)],
        );
        store
            .add_image(&manifest, &["docker.io/library/big:1".to_string()])
            .unwrap()
    };
    let archive = src.path("big.tar");
    src.ok(&["save", "big:1", "-o", path_str(&archive)]);
    drop(store);

    let env = Env::new();
    add_busybox(&env.store(), BB, "k");
    let before = env.ok(&["images"]);
    let tmp = env.root().join("tmp");

    let mut child = Command::new(env!("CARGO_BIN_EXE_kiln"))
        .arg("--root")
        .arg(env.root())
        .args(["load", "-i"])
        .arg(&archive)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Kill it once it is well into the big layer.
    let start = Instant::now();
    while dir_bytes(&tmp) < 20 << 20 {
        assert!(
            start.elapsed() < Duration::from_secs(120),
            "load made no progress"
        );
        assert!(
            child.try_wait().unwrap().is_none(),
            "load finished too soon"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    rustix::process::kill_process(
        rustix::process::Pid::from_child(&child),
        rustix::process::Signal::KILL,
    )
    .unwrap();
    let status = child.wait().unwrap();
    assert!(!status.success());

    // The store still reads, unchanged; the junk is in tmp/ only.
    assert_eq!(env.ok(&["images"]), before);
    assert!(dir_bytes(&tmp) > 0);
    assert!(!env.store().has_blob(&big.config.rootfs.diff_ids[0]));

    // A new load succeeds despite the junk, and the result is right.
    assert_eq!(
        env.ok(&["load", "-i", path_str(&archive)]),
        "Loaded image: big:1\n"
    );
    let out = env.ok(&["images"]);
    assert!(out.contains("big          1         "), "{out}");
    assert!(out.contains("210MB"), "{out}");
    assert!(out.contains("busybox      latest    "), "{out}");
    // prune reclaims the dead load's junk
    let pruned = env.ok(&["image", "prune"]);
    assert!(pruned.contains("MB"), "{pruned}");
    assert_eq!(std::fs::read_dir(&tmp).unwrap().count(), 0);
    assert_eq!(env.ok(&["images"]), out);
}
