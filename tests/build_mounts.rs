//! RUN --mount=type=bind: read-only by default, `rw` writes thrown away, and a source that
//! is a symlink never leads out of the context.

mod common;

use common::build_env::{file_text, BuildEnv};

#[test]
fn bind_mounts_of_the_context() {
    let env = BuildEnv::new();
    let ctx = env.context(
        "bind",
        "FROM BASE
RUN --mount=type=bind,source=data,target=/m cat /m/x.txt > /ro && (echo no > /m/x.txt || echo refused > /ro-write)
RUN --mount=type=bind,source=data,target=/m,rw echo changed > /m/x.txt && cat /m/x.txt > /rw
RUN --mount=type=bind,source=inside,target=/i cat /i/x.txt > /via-link
",
        &[("data/x.txt", "original\n")],
    );
    std::os::unix::fs::symlink("data", ctx.join("inside")).unwrap();
    env.build_ok(&ctx, "bind:1", &[]);
    let files = env.image_files("bind:1");
    let get =
        |n: &str| file_text(&files, n).unwrap_or_else(|| panic!("{n} not in the image: {files:?}"));
    assert_eq!(get("ro"), "original\n");
    assert_eq!(get("ro-write"), "refused\n");
    assert_eq!(get("rw"), "changed\n");
    assert_eq!(get("via-link"), "original\n");
    // The rw mount wrote to a copy: the context is as it was, and nothing of /m is in a layer.
    assert_eq!(
        std::fs::read_to_string(ctx.join("data/x.txt")).unwrap(),
        "original\n"
    );
    assert!(!files.iter().any(|(p, _)| p.starts_with("m/")), "{files:?}");

    // A source that is a symlink out of the context resolves inside it: /etc of the host is
    // not what the step sees.
    let out = env.context(
        "escape",
        "FROM BASE\nRUN --mount=type=bind,source=escape,target=/e cat /e/passwd\n",
        &[],
    );
    std::os::unix::fs::symlink("/etc", out.join("escape")).unwrap();
    let r = env.kiln(&["build", "--progress", "plain", out.to_str().unwrap()]);
    assert_eq!(r.code, 1, "{}", r.all());
    assert!(
        r.all().contains("not found in build context"),
        "{}",
        r.all()
    );
    assert!(!r.stdout.contains("root:x:0:0"), "{}", r.stdout);
}
