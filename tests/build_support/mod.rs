//! Shared by the `build_*` tests: a store with a busybox base image put in through the store
//! API (no registry needed), context dirs, the real `kiln` binary, and readers for what the
//! build left in the store (layer tars, config).
#![allow(dead_code)]

use kiln::store::{Image, Store};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

#[path = "../common_store/mod.rs"]
pub mod common_store;

use common_store::Entry;

/// The base image's name as Dockerfiles write it, and its full name in the store.
pub const BASE: &str = "kiln-test-base:1";
const BASE_FULL: &str = "docker.io/library/kiln-test-base:1";

/// busybox with its applet links, /etc/passwd and /etc/group (user `app`), /tmp, plus `extra`.
pub fn base_layer(extra: Vec<Entry>) -> Vec<u8> {
    common_store::base_layer(extra)
}

/// A store in a temp dir holding the base image, and the `kiln` binary to build with.
pub struct Env {
    pub dir: tempfile::TempDir,
}

/// What one `kiln` run gave.
pub struct Run {
    pub code: i32,
    pub stdout: Vec<u8>,
    pub stderr: String,
}

impl Run {
    pub fn out(&self) -> String {
        String::from_utf8_lossy(&self.stdout).into_owned()
    }
    /// Asserts success and returns self.
    pub fn ok(self) -> Run {
        assert_eq!(
            self.code,
            0,
            "kiln failed:\n{}\n{}",
            self.out(),
            self.stderr
        );
        self
    }
}

impl Env {
    /// A store with the standard base image.
    pub fn new() -> Env {
        Env::with_base(Vec::new())
    }

    /// A store whose base image has `extra` entries on top of busybox.
    pub fn with_base(extra: Vec<Entry>) -> Env {
        let tmp = std::env::var_os("CARGO_TARGET_TMPDIR")
            .map(PathBuf::from)
            .unwrap_or_else(std::env::temp_dir);
        let env = Env {
            dir: tempfile::Builder::new()
                .prefix("kiln-build-test-")
                .tempdir_in(tmp)
                .unwrap(),
        };
        common_store::add_image_with(
            &env.store(),
            &[base_layer(extra)],
            &[BASE_FULL],
            "2024-01-02T03:04:05Z",
            false,
        );
        env
    }

    pub fn root(&self) -> PathBuf {
        self.dir.path().join("store")
    }

    pub fn path(&self, p: &str) -> PathBuf {
        self.dir.path().join(p)
    }

    pub fn store(&self) -> Store {
        Store::open(self.root()).unwrap()
    }

    /// A context dir `name` with a Dockerfile and `files` (in Dockerfiles, `BASE` stands for
    /// the base image).
    pub fn context(&self, name: &str, dockerfile: &str, files: &[(&str, &str)]) -> PathBuf {
        let dir = self.path(name);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("Dockerfile"), dockerfile.replace("BASE", BASE)).unwrap();
        for (p, c) in files {
            let f = dir.join(p);
            std::fs::create_dir_all(f.parent().unwrap()).unwrap();
            let c = if p.ends_with("Dockerfile") {
                c.replace("BASE", BASE)
            } else {
                c.to_string()
            };
            std::fs::write(f, c).unwrap();
        }
        dir
    }

    /// Runs `kiln --root STORE args…` with `stdin` and extra environment variables.
    pub fn kiln_with(&self, args: &[&str], stdin: Option<&[u8]>, envs: &[(&str, &str)]) -> Run {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_kiln"));
        cmd.arg("--root")
            .arg(self.root())
            .args(args)
            .envs(envs.iter().copied())
            .stdin(if stdin.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd.spawn().unwrap();
        let feeder = stdin.map(|data| {
            let mut pipe = child.stdin.take().unwrap();
            let data = data.to_vec();
            std::thread::spawn(move || {
                let _ = pipe.write_all(&data);
            })
        });
        let out = child.wait_with_output().unwrap();
        if let Some(f) = feeder {
            f.join().unwrap();
        }
        Run {
            code: out.status.code().unwrap_or(-1),
            stdout: out.stdout,
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    pub fn kiln(&self, args: &[&str]) -> Run {
        self.kiln_with(args, None, &[])
    }

    /// Builds `ctx` with `extra` flags, tagging the result `tag`; returns the stored image.
    pub fn build(&self, ctx: &Path, tag: &str, extra: &[&str]) -> Image {
        let ctx_s = ctx.display().to_string();
        let mut args = vec!["build", "-t", tag];
        args.extend_from_slice(extra);
        args.push(&ctx_s);
        self.kiln(&args).ok();
        self.image(tag)
    }

    /// The stored image named `tag` (a short name like `app:1`).
    pub fn image(&self, tag: &str) -> Image {
        let store = self.store();
        let r = store
            .resolve(&format!("docker.io/library/{tag}"))
            .unwrap_or_else(|e| panic!("{tag} not in the store: {e}"));
        store.image(&r.manifest).unwrap()
    }

    /// Every layer of `image`, bottom first, as (path, content) entries of its tar.
    pub fn layers(&self, image: &Image) -> Vec<Vec<(String, Vec<u8>)>> {
        let store = self.store();
        image
            .config
            .rootfs
            .diff_ids
            .iter()
            .map(|d| {
                let (reader, _) = store.open_layer(d).unwrap();
                let mut t = tar::Archive::new(reader);
                t.entries()
                    .unwrap()
                    .map(|e| {
                        let mut e = e.unwrap();
                        let p = e.path().unwrap().to_string_lossy().into_owned();
                        let mut data = Vec::new();
                        e.read_to_end(&mut data).unwrap();
                        (p, data)
                    })
                    .collect()
            })
            .collect()
    }
}

/// Whether `needle` occurs in `hay`.
pub fn contains(hay: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty() && hay.windows(needle.len()).any(|w| w == needle)
}

/// sha256 of `data` in hex, as `sha256sum` prints it.
pub fn sha256_hex(data: &[u8]) -> String {
    kiln::image::digest::Digest::of(data).hex().to_string()
}

pub fn read(p: &Path) -> String {
    std::fs::read_to_string(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}
