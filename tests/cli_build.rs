//! `kiln build` at the command line as docker users meet it: the classic plain log, `-q`,
//! usage errors and their exit codes, `--build-arg K` from the environment.

mod common;

use common::build_env::{built_id, BuildEnv};

#[test]
fn plain_log_quiet_and_usage_errors() {
    let env = BuildEnv::new();
    let ctx = env.context(
        "cli",
        "FROM BASE\nARG WHO\nRUN echo hello $WHO\nCMD [\"sh\"]\n",
        &[],
    );
    let c = ctx.to_str().unwrap();

    // The classic log, line for line where docker's is fixed.
    let r = env.kiln(&["build", "--progress", "plain", "-t", "cli:1", c]);
    assert_eq!(r.code, 0, "{}", r.all());
    let lines: Vec<&str> = r.stdout.lines().collect();
    assert!(lines[0].starts_with("Step 1/4 : FROM "), "{}", r.stdout);
    assert!(lines.contains(&"Step 2/4 : ARG WHO"), "{}", r.stdout);
    assert!(
        lines.contains(&"Step 3/4 : RUN echo hello $WHO"),
        "{}",
        r.stdout
    );
    assert!(lines.contains(&"hello"), "{}", r.stdout);
    assert!(lines.contains(&"Successfully tagged cli:1"), "{}", r.stdout);
    let id = built_id(&r.stdout);
    assert_eq!(id.len(), 12, "{id}");
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with(" ---> ") && l.ends_with(&id)),
        "the last step's id is the image's: {}",
        r.stdout
    );

    // -q: only the image id, on stdout.
    let q = env.kiln(&["build", "-q", "-t", "cli:1", c]);
    assert_eq!(q.code, 0, "{}", q.all());
    let out = q.stdout.trim();
    assert!(
        out.starts_with("sha256:") && out.len() == 71,
        "{}",
        q.stdout
    );
    assert!(out[7..].starts_with(&id), "{out} vs {id}");
    assert_eq!(q.stdout.lines().count(), 1, "{}", q.stdout);

    // --build-arg K takes the value from the environment; the RUN then misses.
    let out = assert_cmd::Command::cargo_bin("kiln")
        .unwrap()
        .env("WHO", "from-env")
        .arg("--root")
        .arg(env.store())
        .args(["build", "--progress", "plain", "--build-arg", "WHO", c])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}");
    assert!(stdout.contains("hello from-env"), "{stdout}");

    // Usage errors: exit 2, with the flag named.
    let bad = env.kiln(&["build", "--no-such-flag", c]);
    assert_eq!(bad.code, 2, "{}", bad.all());
    assert!(bad.stderr.contains("--no-such-flag"), "{}", bad.stderr);
    let bad = env.kiln(&["build", "--progress", "fancy", c]);
    assert_eq!(bad.code, 2, "{}", bad.all());
    assert!(bad.stderr.contains("fancy"), "{}", bad.stderr);
    // A failed build: exit 1.
    let missing = env.kiln(&["build", "/nonexistent-context-dir"]);
    assert_eq!(missing.code, 1, "{}", missing.all());
    assert!(
        missing.stderr.contains("unable to prepare context"),
        "{}",
        missing.stderr
    );
    // No colour codes outside a terminal.
    assert!(!r.stdout.contains('\u{1b}'), "{}", r.stdout);
}
