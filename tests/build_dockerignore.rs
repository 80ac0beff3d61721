//! `.dockerignore` in real builds: excluded files cannot be copied (not even by name), `!`
//! re-includes, and `<Dockerfile>.dockerignore` beside the Dockerfile wins over the context's.

mod build_support;

use build_support::{read, Env};

const FILES: &[(&str, &str)] = &[
    ("a.txt", "a\n"),
    ("b.log", "b\n"),
    ("logs/keep.log", "keep\n"),
    ("logs/drop.log", "drop\n"),
    ("private/key", "k\n"),
    (
        ".dockerignore",
        "*.log\n**/*.log\n!logs/keep.log\nprivate\n",
    ),
    ("sub/app.Dockerfile", "FROM BASE\nCOPY . /ctx/\n"),
    ("sub/app.Dockerfile.dockerignore", "a.txt\nsub\n"),
];

#[test]
fn dockerignore_excludes_and_reincludes() {
    let env = Env::new();
    let ctx = env.context("ign", "FROM BASE\nCOPY . /ctx/\n", FILES);
    let ctx_s = ctx.display().to_string();
    let out = env.path("out");
    env.kiln(&["build", "-o", &out.display().to_string(), &ctx_s])
        .ok();
    assert_eq!(read(&out.join("ctx/a.txt")), "a\n");
    assert_eq!(
        read(&out.join("ctx/logs/keep.log")),
        "keep\n",
        "! not applied"
    );
    for gone in ["ctx/b.log", "ctx/logs/drop.log", "ctx/private"] {
        assert!(!out.join(gone).exists(), "{gone} was copied");
    }

    // Excluded files do not exist for COPY, even named one by one.
    for src in ["b.log", "private/key", "logs/drop.log"] {
        std::fs::write(
            ctx.join("Dockerfile"),
            format!("FROM {}\nCOPY {src} /x\n", build_support::BASE),
        )
        .unwrap();
        let r = env.kiln(&["build", &ctx_s]);
        assert_eq!(r.code, 1, "{src} copied");
        assert!(
            r.stderr.contains("excluded by .dockerignore"),
            "{src}: {}",
            r.stderr
        );
    }
}

#[test]
fn dockerfile_specific_ignore_file_wins() {
    let env = Env::new();
    let ctx = env.context("ign2", "FROM BASE\n", FILES);
    let out = env.path("out");
    let df = ctx.join("sub/app.Dockerfile").display().to_string();
    env.kiln(&[
        "build",
        "-f",
        &df,
        "-o",
        &out.display().to_string(),
        &ctx.display().to_string(),
    ])
    .ok();
    // Only sub/app.Dockerfile.dockerignore applies: .log files and private/ are copied.
    assert!(!out.join("ctx/a.txt").exists(), "a.txt copied");
    assert!(!out.join("ctx/sub").exists(), "sub copied");
    assert_eq!(read(&out.join("ctx/b.log")), "b\n");
    assert_eq!(read(&out.join("ctx/logs/drop.log")), "drop\n");
    assert_eq!(read(&out.join("ctx/private/key")), "k\n");
}
