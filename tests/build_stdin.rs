//! `kiln build` reading from standard input as docker does: `-f -` (the Dockerfile), `-` with a
//! tar (plain or gzip) of the context, and `-` with a lone Dockerfile (an empty context).

mod build_support;

use build_support::{read, Env, BASE};
use std::io::Write;

fn context_tar(files: &[(&str, &str)]) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    for (p, c) in files {
        let mut h = tar::Header::new_gnu();
        h.set_mode(0o644);
        h.set_uid(0);
        h.set_gid(0);
        h.set_mtime(1_700_000_000);
        h.set_uid(0);
        h.set_gid(0);
        h.set_mtime(1_700_000_000);
        h.set_size(c.len() as u64);
        h.set_entry_type(tar::EntryType::Regular);
        b.append_data(&mut h, p, c.as_bytes()).unwrap();
    }
    b.into_inner().unwrap()
}

#[test]
fn dockerfile_from_stdin_with_a_context_dir() {
    let env = Env::new();
    let ctx = env.context(
        "ctx",
        "FROM BASE\nRUN false\n",
        &[("a.txt", "from context\n")],
    );
    let out = env.path("out");
    let df = format!("FROM {BASE}\nCOPY a.txt /a.txt\n");
    env.kiln_with(
        &[
            "build",
            "-f",
            "-",
            "-o",
            &out.display().to_string(),
            &ctx.display().to_string(),
        ],
        Some(df.as_bytes()),
        &[],
    )
    .ok();
    // The Dockerfile on stdin was used, not the one in the context (which fails).
    assert_eq!(read(&out.join("a.txt")), "from context\n");
}

#[test]
fn context_tar_from_stdin_plain_and_gzip() {
    let env = Env::new();
    let files = [
        ("Dockerfile", &*format!("FROM {BASE}\nCOPY . /ctx/\n")),
        (
            "other.Dockerfile",
            &*format!("FROM {BASE}\nCOPY sub/b.txt /only-b\n"),
        ),
        ("sub/b.txt", "bee\n"),
        (".dockerignore", "ignored.txt\n"),
        ("ignored.txt", "no\n"),
    ];
    let tar = context_tar(&files);
    let out = env.path("plain");
    env.kiln_with(
        &["build", "-o", &out.display().to_string(), "-"],
        Some(&tar),
        &[],
    )
    .ok();
    assert_eq!(read(&out.join("ctx/sub/b.txt")), "bee\n");
    assert!(out.join("ctx/Dockerfile").exists());
    assert!(
        !out.join("ctx/ignored.txt").exists(),
        ".dockerignore not applied"
    );

    // gzip, with -f naming a Dockerfile inside the tar.
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(&tar).unwrap();
    let gz = gz.finish().unwrap();
    let out = env.path("gz");
    env.kiln_with(
        &[
            "build",
            "-f",
            "other.Dockerfile",
            "-o",
            &out.display().to_string(),
            "-",
        ],
        Some(&gz),
        &[],
    )
    .ok();
    assert_eq!(read(&out.join("only-b")), "bee\n");

    // A tar with an entry escaping the context is refused.
    let mut evil = tar::Builder::new(Vec::new());
    let mut h = tar::Header::new_gnu();
    h.set_mode(0o644);
    h.set_uid(0);
    h.set_gid(0);
    h.set_mtime(1_700_000_000);
    h.set_size(1);
    h.set_entry_type(tar::EntryType::Regular);
    let name = b"../escape";
    h.as_old_mut().name[..name.len()].copy_from_slice(name);
    h.set_cksum();
    evil.append(&h, &b"x"[..]).unwrap();
    let r = env.kiln_with(&["build", "-"], Some(&evil.into_inner().unwrap()), &[]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(
        r.stderr.contains("unpacking the build context") && r.stderr.contains("../escape"),
        "{}",
        r.stderr
    );
    assert!(!env.root().join("tmp/escape").exists());

    // A context is plain files: a name that a layer would read as a whiteout is a file.
    let files = [
        (
            "Dockerfile",
            &*format!("FROM {BASE}\nCOPY .wh.note /note\n"),
        ),
        (".wh.note", "not a whiteout\n"),
        ("sub/.wh..wh..opq", "not opaque\n"),
    ];
    let out = env.path("wh");
    env.kiln_with(
        &["build", "-o", &out.display().to_string(), "-"],
        Some(&context_tar(&files)),
        &[],
    )
    .ok();
    assert_eq!(read(&out.join("note")), "not a whiteout\n");
}

#[test]
fn lone_dockerfile_on_stdin_means_no_context() {
    let env = Env::new();
    let out = env.path("out");
    let df = format!("FROM {BASE}\nRUN echo no context > /note\n");
    env.kiln_with(
        &["build", "-o", &out.display().to_string(), "-"],
        Some(df.as_bytes()),
        &[],
    )
    .ok();
    assert_eq!(read(&out.join("note")), "no context\n");

    let df = format!("FROM {BASE}\nCOPY anything /x\n");
    let r = env.kiln_with(&["build", "-"], Some(df.as_bytes()), &[]);
    assert_eq!(r.code, 1);
    assert!(r.stderr.contains("anything"), "{}", r.stderr);

    let r = env.kiln_with(&["build", "-f", "-", "-"], Some(df.as_bytes()), &[]);
    assert_eq!(r.code, 1);
    assert!(
        r.stderr.contains("can't use stdin for both"),
        "{}",
        r.stderr
    );
}
