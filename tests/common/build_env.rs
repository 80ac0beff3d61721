//! A place to run `kiln build` as a user would: a real registry holding a busybox base image
//! (`BASE` in Dockerfiles stands for it), a scratch dir for contexts, a store, and the kiln
//! binary.

use super::registry::{build_oci_layout, skopeo, Registry, RegistryAuth};
use assert_cmd::Command;
use std::io::Write;
use std::path::{Path, PathBuf};

/// The build tests' base layer, gzipped as a registry serves it.
pub fn busybox_layer() -> Vec<u8> {
    let raw = super::common_store::base_layer(Vec::new());
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(&raw).unwrap();
    gz.finish().unwrap()
}

/// A registry holding `test/busybox:1`, a scratch dir and a store.
pub struct BuildEnv {
    pub reg: Registry,
    pub tmp: tempfile::TempDir,
}

/// What one run of the kiln binary gave.
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    /// stdout and stderr together, for messages.
    pub fn all(&self) -> String {
        format!("{}\n{}", self.stdout, self.stderr)
    }
}

impl BuildEnv {
    pub fn new() -> BuildEnv {
        let reg = Registry::start(RegistryAuth::None);
        let tmp = tempfile::tempdir().unwrap();
        let img = build_oci_layout(&tmp.path().join("base"), "amd64", &[busybox_layer()], "1");
        skopeo(&[
            "copy",
            "--dest-tls-verify=false",
            &format!("oci:{}:1", img.dir.display()),
            &format!("docker://{}/test/busybox:1", reg.host()),
        ]);
        BuildEnv { reg, tmp }
    }

    pub fn base(&self) -> String {
        format!("{}/test/busybox:1", self.reg.host())
    }

    pub fn store(&self) -> PathBuf {
        self.tmp.path().join("store")
    }

    /// A context dir with `Dockerfile` (where `BASE` stands for the base image) and `files`.
    pub fn context(&self, name: &str, dockerfile: &str, files: &[(&str, &str)]) -> PathBuf {
        let dir = self.tmp.path().join(name);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(
            dir.join("Dockerfile"),
            dockerfile.replace("BASE", &self.base()),
        )
        .unwrap();
        for (p, c) in files {
            write(&dir, p, c);
        }
        dir
    }

    /// Runs kiln on this env's store.
    pub fn kiln(&self, args: &[&str]) -> Run {
        let out = Command::cargo_bin("kiln")
            .unwrap()
            .arg("--root")
            .arg(self.store())
            .args(args)
            .output()
            .unwrap();
        Run {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    /// Every file in the layers of the stored image `tag` (saved as an OCI archive and read
    /// back), in layer order.
    pub fn image_files(&self, tag: &str) -> Vec<(String, Vec<u8>)> {
        let oci = self
            .tmp
            .path()
            .join(format!("{}.oci.tar", tag.replace([':', '/'], "_")));
        let r = self.kiln(&["save", "--format", "oci", "-o", oci.to_str().unwrap(), tag]);
        assert_eq!(r.code, 0, "{}", r.all());
        archive_files(&oci)
    }

    /// `kiln build --progress plain -t TAG [extra…] CTX`, which must succeed.
    pub fn build_ok(&self, ctx: &Path, tag: &str, extra: &[&str]) -> Run {
        let ctx = ctx.to_str().unwrap();
        let mut args = vec!["build", "--progress", "plain", "-t", tag];
        args.extend_from_slice(extra);
        args.push(ctx);
        let r = self.kiln(&args);
        assert_eq!(r.code, 0, "build failed:\n{}", r.all());
        r
    }
}

/// Writes `content` to `dir/rel`, creating directories.
pub fn write(dir: &Path, rel: &str, content: &str) {
    let f = dir.join(rel);
    std::fs::create_dir_all(f.parent().unwrap()).unwrap();
    std::fs::write(f, content).unwrap();
}

/// The classic log's steps, each with whether it printed `Using cache`: `[("RUN …", true)]`.
pub fn steps(plain: &str) -> Vec<(String, bool)> {
    let mut out: Vec<(String, bool)> = Vec::new();
    for line in plain.lines() {
        if let Some(rest) = line.strip_prefix("Step ") {
            let text = rest.split_once(" : ").map(|x| x.1).unwrap_or(rest);
            out.push((text.to_string(), false));
        } else if line == " ---> Using cache" {
            if let Some(last) = out.last_mut() {
                last.1 = true;
            }
        }
    }
    out
}

/// Whether the step starting with `prefix` was cached (panics if there is none).
pub fn cached(plain: &str, prefix: &str) -> bool {
    steps(plain)
        .into_iter()
        .find(|(t, _)| t.starts_with(prefix))
        .unwrap_or_else(|| panic!("no step {prefix:?} in:\n{plain}"))
        .1
}

/// The image id of `Successfully built <id>`.
pub fn built_id(plain: &str) -> String {
    plain
        .lines()
        .find_map(|l| l.strip_prefix("Successfully built "))
        .unwrap_or_else(|| panic!("no image id in:\n{plain}"))
        .to_string()
}

/// Every regular file in the layers of the single image of an OCI archive, in layer order:
/// `(path without ./, content)`.
pub fn archive_files(oci_tar: &Path) -> Vec<(String, Vec<u8>)> {
    use std::io::Read;
    let dir = tempfile::tempdir().unwrap();
    let st = std::process::Command::new("tar")
        .arg("-xf")
        .arg(oci_tar)
        .arg("-C")
        .arg(dir.path())
        .status()
        .unwrap();
    assert!(st.success());
    let blob = |d: &str| {
        std::fs::read(
            dir.path()
                .join("blobs/sha256")
                .join(d.strip_prefix("sha256:").unwrap()),
        )
        .unwrap()
    };
    let index: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("index.json")).unwrap()).unwrap();
    let manifest: serde_json::Value =
        serde_json::from_slice(&blob(index["manifests"][0]["digest"].as_str().unwrap())).unwrap();
    let mut out = Vec::new();
    for l in manifest["layers"].as_array().unwrap() {
        let data = blob(l["digest"].as_str().unwrap());
        let raw: Box<dyn Read> = if data.starts_with(&[0x1f, 0x8b]) {
            Box::new(flate2::read::GzDecoder::new(&data[..]))
        } else {
            Box::new(&data[..])
        };
        let mut ar = tar::Archive::new(raw);
        for e in ar.entries().unwrap() {
            let mut e = e.unwrap();
            let name = e
                .path()
                .unwrap()
                .to_string_lossy()
                .trim_start_matches("./")
                .trim_end_matches('/')
                .to_string();
            let mut content = Vec::new();
            if e.header().entry_type().is_file() {
                e.read_to_end(&mut content).unwrap();
            }
            out.push((name, content));
        }
    }
    out
}

/// The content of the top-most `name` in `files` (as [`BuildEnv::image_files`] lists them).
pub fn file_text(files: &[(String, Vec<u8>)], name: &str) -> Option<String> {
    files
        .iter()
        .rev()
        .find(|(p, _)| p == name)
        .map(|(_, c)| String::from_utf8_lossy(c).into_owned())
}
