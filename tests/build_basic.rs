//! `kiln build` end to end: a busybox base image pushed to a real registry, real Dockerfiles
//! built into the store and exported, the results read back with skopeo and umoci.

mod common;

use common::build_env::BuildEnv;
use common::registry::skopeo;
use std::path::{Path, PathBuf};

/// The shared build environment, plus a build exported as an OCI archive and unpacked by
/// umoci (an independent reader).
struct Fixture {
    env: BuildEnv,
    tmp: PathBuf,
}

impl Fixture {
    fn new() -> Fixture {
        let env = BuildEnv::new();
        let tmp = env.tmp.path().to_path_buf();
        Fixture { env, tmp }
    }

    fn context(&self, name: &str, dockerfile: &str, files: &[(&str, &str)]) -> PathBuf {
        self.env.context(name, dockerfile, files)
    }

    fn kiln(&self, args: &[&str]) -> (i32, String, String) {
        let r = self.env.kiln(args);
        (r.code, r.stdout, r.stderr)
    }

    /// Builds `ctx` to an OCI archive (files named after `name`) and returns (archive, config JSON, unpacked rootfs).
    fn build(
        &self,
        ctx: &Path,
        name: &str,
        extra: &[&str],
    ) -> (PathBuf, serde_json::Value, PathBuf) {
        let archive = self.tmp.join(format!("{name}.tar"));
        let output = format!("type=oci,dest={}", archive.display());
        let mut args = vec!["build", "--output", &output];
        args.extend_from_slice(extra);
        let ctx_s = ctx.display().to_string();
        args.push(&ctx_s);
        let (code, out, err) = self.kiln(&args);
        assert_eq!(code, 0, "build failed:\n{out}\n{err}");
        let cfg = skopeo(&[
            "inspect",
            "--config",
            &format!("oci-archive:{}", archive.display()),
        ]);
        let cfg: serde_json::Value = serde_json::from_str(&cfg).unwrap();
        let layout = self.tmp.join(format!("{name}-layout"));
        std::fs::create_dir_all(&layout).unwrap();
        let mut t = tar::Archive::new(std::fs::File::open(&archive).unwrap());
        t.unpack(&layout).unwrap();
        let index: serde_json::Value =
            serde_json::from_slice(&std::fs::read(layout.join("index.json")).unwrap()).unwrap();
        let tag = index["manifests"][0]["annotations"]["org.opencontainers.image.ref.name"]
            .as_str()
            .unwrap_or("latest")
            .to_string();
        let bundle = self.tmp.join(format!("{name}-bundle"));
        let out = std::process::Command::new("umoci")
            .args(["unpack", "--image"])
            .arg(format!("{}:{tag}", layout.display()))
            .arg(&bundle)
            .output()
            .expect("umoci is needed");
        assert!(
            out.status.success(),
            "umoci unpack: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        (archive, cfg, bundle.join("rootfs"))
    }
}

fn read(p: PathBuf) -> String {
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

#[test]
fn run_copy_whiteout_and_config() {
    let fx = Fixture::new();
    let ctx = fx.context(
        "single",
        "FROM BASE\n\
         RUN mkdir -p /data && echo one > /data/a && echo two > /data/b\n\
         RUN rm /data/b\n\
         RUN yes | head -c 4 > /yes.txt\n\
         ENV GREETING=hello\n\
         WORKDIR /work\n\
         RUN echo \"$GREETING from $(pwd)\" > out.txt\n\
         COPY . /ctx/\n\
         USER app\n\
         RUN id -u > /tmp/uid\n\
         EXPOSE 80\n\
         LABEL purpose=test\n\
         CMD [\"sh\", \"-c\", \"echo $GREETING\"]\n",
        &[
            ("keep.txt", "kept\n"),
            ("secret.txt", "hidden\n"),
            ("sub/inner.txt", "inner\n"),
            (".dockerignore", "secret.txt\n"),
        ],
    );
    let (_, cfg, rootfs) = fx.build(&ctx, "single", &["-t", "single:1"]);
    assert_eq!(read(rootfs.join("data/a")), "one\n");
    assert!(!rootfs.join("data/b").exists(), "deleted file came back");
    // SIGPIPE is back to its default in RUN, so `yes` ends when `head` does.
    assert_eq!(read(rootfs.join("yes.txt")), "y\ny\n");
    assert_eq!(read(rootfs.join("work/out.txt")), "hello from /work\n");
    assert_eq!(read(rootfs.join("ctx/keep.txt")), "kept\n");
    assert_eq!(read(rootfs.join("ctx/sub/inner.txt")), "inner\n");
    assert!(
        !rootfs.join("ctx/secret.txt").exists(),
        ".dockerignore not applied"
    );
    assert_eq!(read(rootfs.join("tmp/uid")), "1000\n");
    let c = &cfg["config"];
    let env: Vec<&str> = c["Env"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert!(env.contains(&"GREETING=hello"), "{env:?}");
    assert_eq!(c["WorkingDir"], "/work");
    assert_eq!(c["User"], "app");
    assert_eq!(c["Cmd"], serde_json::json!(["sh", "-c", "echo $GREETING"]));
    assert!(c["ExposedPorts"].get("80/tcp").is_some(), "{c}");
    assert_eq!(c["Labels"]["purpose"], "test");
    // One layer per RUN/COPY/WORKDIR on top of the base, matching the history.
    let layers = cfg["rootfs"]["diff_ids"].as_array().unwrap().len();
    assert_eq!(layers, 1 + 7);
    let hist = cfg["history"].as_array().unwrap();
    let with_layer = hist.iter().filter(|h| h["empty_layer"] != true).count();
    assert_eq!(
        with_layer,
        layers - 1,
        "base history is empty in this fixture"
    );
    // The image is in the store under its tag.
    let (code, out, _) = fx.kiln(&["images"]);
    assert_eq!(code, 0);
    assert!(out.contains("single"), "{out}");
}

#[test]
fn multi_stage_copy_from_and_entrypoint() {
    let fx = Fixture::new();
    let ctx = fx.context(
        "multi",
        "FROM BASE AS builder\n\
         RUN mkdir /out && echo built > /out/artifact\n\
         FROM scratch AS empty\n\
         FROM BASE\n\
         COPY --from=builder /out/artifact /app/artifact\n\
         ENTRYPOINT [\"/bin/cat\"]\n",
        &[],
    );
    let iid = fx.tmp.join("iid");
    let iid_s = iid.display().to_string();
    let (_, cfg, rootfs) = fx.build(&ctx, "multi", &["--iidfile", &iid_s, "-t", "multi:1"]);
    assert_eq!(read(rootfs.join("app/artifact")), "built\n");
    assert!(!rootfs.join("out").exists(), "builder files leaked");
    assert_eq!(cfg["config"]["Entrypoint"], serde_json::json!(["/bin/cat"]));
    assert!(
        cfg["config"].get("Cmd").is_none_or(|v| v.is_null()),
        "inherited CMD kept"
    );
    assert!(read(iid).starts_with("sha256:"));

    // --target stops at the named stage.
    let (_, cfg, rootfs) = fx.build(
        &ctx,
        "target",
        &["--target", "builder", "-t", "multi:builder"],
    );
    assert_eq!(read(rootfs.join("out/artifact")), "built\n");
    assert_eq!(cfg["config"]["Cmd"], serde_json::json!(["/bin/sh"]));
}

#[test]
fn failing_run_and_bad_dockerfile() {
    let fx = Fixture::new();
    let ctx = fx.context("fail", "FROM BASE\nRUN echo before && exit 3\n", &[]);
    let (code, out, err) = fx.kiln(&["build", &ctx.display().to_string()]);
    assert_eq!(code, 1, "{out}\n{err}");
    assert!(out.contains("before"), "RUN output not streamed: {out}");
    assert!(
        err.contains(r#"process "/bin/sh -c echo before && exit 3" did not complete successfully: exit code: 3"#),
        "{err}"
    );
    assert!(err.contains("Dockerfile:2"), "{err}");

    let ctx = fx.context("bad", "FROM BASE\nFORM x\n", &[]);
    let (code, _, err) = fx.kiln(&["build", &ctx.display().to_string()]);
    assert_eq!(code, 1);
    assert!(
        err.contains("Dockerfile:2: unknown instruction: FORM"),
        "{err}"
    );
}
