//! `kiln build --push` against a real distribution registry on a loopback port: every tag is
//! pushed and the registry serves the built manifest; a push with no tag is refused up front.

mod build_support;
// Both fixtures bring the shared base layer module; the two copies are the same code.
#[allow(clippy::duplicate_mod)]
mod common;

use build_support::Env;
use common::registry::{skopeo, Registry, RegistryAuth};

#[test]
fn push_every_tag_after_the_build() {
    let reg = Registry::start(RegistryAuth::None);
    let env = Env::new();
    let ctx = env.context(
        "push",
        "FROM BASE\nRUN echo pushed > /pushed\nLABEL pushed=yes\n",
        &[],
    );
    let t1 = format!("{}/test/built:1", reg.host());
    let t2 = format!("{}/test/built:latest", reg.host());
    let meta = env.path("meta.json");
    let run = env
        .kiln(&[
            "build",
            "-t",
            &t1,
            "-t",
            &t2,
            "--push",
            "--metadata-file",
            &meta.display().to_string(),
            &ctx.display().to_string(),
        ])
        .ok();
    let store = env.store();
    let image = store.image(&store.resolve(&t1).unwrap().manifest).unwrap();
    assert!(
        run.out().contains(&format!(
            "1: digest: {} size: {}",
            image.manifest_digest,
            image.manifest_bytes.len()
        )),
        "{}",
        run.out()
    );
    for t in [&t1, &t2] {
        let raw = skopeo(&[
            "inspect",
            "--raw",
            "--tls-verify=false",
            &format!("docker://{t}"),
        ]);
        assert_eq!(raw.as_bytes(), &image.manifest_bytes[..], "{t}");
        let cfg = skopeo(&[
            "inspect",
            "--config",
            "--tls-verify=false",
            &format!("docker://{t}"),
        ]);
        let cfg: serde_json::Value = serde_json::from_str(&cfg).unwrap();
        assert_eq!(cfg["config"]["Labels"]["pushed"], "yes");
    }
    let m: serde_json::Value = serde_json::from_slice(&std::fs::read(&meta).unwrap()).unwrap();
    assert_eq!(
        m["containerimage.digest"],
        image.manifest_digest.to_string()
    );
    assert_eq!(m["image.name"], format!("{t1},{t2}"));
}

#[test]
fn push_without_a_tag_is_refused_before_building() {
    let env = Env::new();
    let ctx = env.context("notag", "FROM BASE\nRUN touch /x\n", &[]);
    for flags in [&["--push"][..], &["--output", "type=registry"][..]] {
        let mut args = vec!["build"];
        args.extend_from_slice(flags);
        let ctx_s = ctx.display().to_string();
        args.push(&ctx_s);
        let r = env.kiln(&args);
        assert_eq!(r.code, 1);
        assert!(
            r.stderr.contains("tag is needed when pushing to registry"),
            "{}",
            r.stderr
        );
        assert!(!r.out().contains("RUN touch"), "built anyway: {}", r.out());
    }
}

/// With the image going to stdout, the push reports on stderr: stdout stays a clean tar.
#[test]
fn push_with_the_image_on_stdout_reports_on_stderr() {
    let reg = Registry::start(RegistryAuth::None);
    let env = Env::new();
    let ctx = env.context("tostdout", "FROM BASE\nRUN echo out > /out\n", &[]);
    let tag = format!("{}/test/stdout:1", reg.host());
    for quiet in [false, true] {
        let mut args = vec!["build", "-t", &tag, "--push", "-o", "type=tar,dest=-"];
        if quiet {
            args.push("-q");
        }
        let ctx_s = ctx.display().to_string();
        args.push(&ctx_s);
        let run = env.kiln(&args).ok();
        let mut names = Vec::new();
        let mut ar = tar::Archive::new(&run.stdout[..]);
        for e in ar.entries().unwrap() {
            names.push(e.unwrap().path().unwrap().display().to_string());
        }
        assert!(names.iter().any(|n| n == "out"), "{names:?}");
        // The pushed manifest's digest is reported, and it is what the registry serves.
        let digest = run
            .stderr
            .lines()
            .find_map(|l| l.strip_prefix("1: digest: "))
            .and_then(|l| l.split_whitespace().next())
            .unwrap_or_else(|| panic!("no digest line: {}", run.stderr))
            .to_string();
        let raw = skopeo(&[
            "inspect",
            "--raw",
            "--tls-verify=false",
            &format!("docker://{tag}"),
        ]);
        assert_eq!(
            digest,
            format!("sha256:{}", build_support::sha256_hex(raw.as_bytes()))
        );
        assert!(!String::from_utf8_lossy(&run.stdout).contains("digest: sha256:"));
        if !quiet {
            assert!(
                run.stderr.contains("The push refers to repository"),
                "{}",
                run.stderr
            );
        }
    }
}
