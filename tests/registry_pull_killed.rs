//! A `kiln pull` killed with SIGKILL half-way through a big layer leaves a store that works:
//! no image is listed for the reference, no partial blob is visible, the next pull succeeds
//! and lists the image once, and the junk left in `tmp/` goes at `kiln image prune`.

mod common;

use common::big_image::push_random_image;
use common::registry::{Registry, RegistryAuth};
use kiln::image::digest::Digest;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn kiln(root: &Path, cfg: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_kiln"));
    c.env("DOCKER_CONFIG", cfg)
        .env_remove("KILN_INSECURE_REGISTRIES")
        .arg("--root")
        .arg(root);
    c
}

/// Runs kiln to the end; panics with its stderr unless it succeeds. Returns stdout.
fn kiln_ok(root: &Path, cfg: &Path, args: &[&str]) -> String {
    let out = kiln(root, cfg).args(args).output().unwrap();
    assert!(
        out.status.success(),
        "kiln {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Files directly in `dir` with their sizes (none if it does not exist yet).
fn files(dir: &Path) -> Vec<(PathBuf, u64)> {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    rd.flatten()
        .filter_map(|e| Some((e.path(), e.metadata().ok().filter(|m| m.is_file())?.len())))
        .collect()
}

/// Rows of `kiln images` (header dropped) whose repository is `repo`.
fn image_rows(root: &Path, cfg: &Path, repo: &str) -> Vec<String> {
    kiln_ok(root, cfg, &["images", "--no-trunc"])
        .lines()
        .skip(1)
        .filter(|l| l.split_whitespace().next() == Some(repo))
        .map(str::to_string)
        .collect()
}

/// Every blob in the store hashes to its name.
fn check_blobs(root: &Path) -> usize {
    let all = files(&root.join("blobs/sha256"));
    for (path, _) in &all {
        let name = path.file_name().unwrap().to_string_lossy();
        let bytes = std::fs::read(path).unwrap();
        assert_eq!(
            Digest::of(&bytes).hex(),
            name,
            "blob {name} does not hold what its name says"
        );
    }
    all.len()
}

#[test]
fn pull_killed_mid_layer_leaves_a_working_store() {
    let reg = Registry::start(RegistryAuth::None);
    let tmp = tempfile::tempdir().unwrap();
    let (name, img) = push_random_image(
        &reg,
        &tmp.path().join("layout"),
        "killed/big",
        "1",
        112 << 20,
    );
    let repo = format!("{}/killed/big", reg.host());
    let layer = &img.layers[0];
    assert!(layer.size >= 100 << 20);
    let root = tmp.path().join("store");
    let cfg = tmp.path().join("docker");
    let blob_tmp = root.join("tmp");

    // Start the pull; kill it once a temporary file holds part of the layer.
    let mut child = kiln(&root, &cfg)
        .args(["pull", &name])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(120);
    let partial = loop {
        if let Some(f) = files(&blob_tmp)
            .into_iter()
            .find(|(_, len)| *len >= 4 << 20)
        {
            child.kill().unwrap();
            break f;
        }
        if let Some(st) = child.try_wait().unwrap() {
            panic!("the pull ended ({st}) before part of the layer was seen in tmp/");
        }
        assert!(
            Instant::now() < deadline,
            "no layer data in tmp/ after 120 s"
        );
        std::thread::sleep(Duration::from_millis(2));
    };
    let st = child.wait().unwrap();
    assert_eq!(st.signal(), Some(9), "not killed: {st}");

    // The kill landed mid-layer: the layer is not in the store, its part is in tmp/.
    let leftovers = files(&blob_tmp);
    assert!(
        leftovers
            .iter()
            .any(|(p, len)| *p == partial.0 && *len < layer.size),
        "no partial layer in tmp/: {leftovers:?}"
    );
    assert!(!root.join("blobs/sha256").join(layer.digest.hex()).exists());
    eprintln!(
        "killed with {} of {} layer bytes in {}",
        partial.1,
        layer.size,
        partial.0.display()
    );
    assert!(image_rows(&root, &cfg, &repo).is_empty());
    let out = kiln(&root, &cfg).args(["inspect", &name]).output().unwrap();
    assert!(!out.status.success(), "inspect found a half-pulled image");
    check_blobs(&root);

    // Pull again: the whole image, listed once, inspectable.
    let out = kiln_ok(&root, &cfg, &["pull", &name]);
    assert!(
        out.contains(&format!("Status: Downloaded newer image for {name}")),
        "{out}"
    );
    let rows = image_rows(&root, &cfg, &repo);
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert!(rows[0].contains(img.config.digest.as_str()), "{rows:?}");
    let check_inspect = || {
        let info: serde_json::Value =
            serde_json::from_str(&kiln_ok(&root, &cfg, &["inspect", &name])).unwrap();
        assert_eq!(info[0]["Id"], img.config.digest.as_str());
        assert_eq!(info[0]["RepoTags"], serde_json::json!([name]));
    };
    check_inspect();
    // Manifest, config, layer: each whole.
    assert_eq!(check_blobs(&root), 3);
    let stored = root.join("blobs/sha256").join(layer.digest.hex());
    assert_eq!(std::fs::metadata(&stored).unwrap().len(), layer.size);

    // A prune takes the killed pull's junk and nothing else.
    kiln_ok(&root, &cfg, &["image", "prune", "-f"]);
    assert_eq!(files(&blob_tmp), Vec::new());
    assert_eq!(image_rows(&root, &cfg, &repo).len(), 1);
    check_inspect();
    assert_eq!(check_blobs(&root), 3);
}
