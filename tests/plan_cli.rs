//! `kiln debug plan` as a user runs it.

use assert_cmd::Command;
use predicates::prelude::*;
use std::io::Write;

const SRC: &str = "ARG BASE=alpine
FROM ${BASE}:3.19 AS build
ARG V=1
ENV OUT=/out/$V
RUN --mount=type=cache,target=/root/.cache make $OUT
FROM busybox AS docs
RUN echo docs
FROM scratch
COPY --from=build /out /out
";

fn dockerfile(src: &str) -> tempfile::NamedTempFile {
    let mut f = tempfile::NamedTempFile::new().expect("temp file");
    f.write_all(src.as_bytes()).expect("write");
    f
}

fn kiln() -> Command {
    Command::cargo_bin("kiln").expect("kiln binary")
}

#[test]
fn prints_stages_and_steps() {
    let f = dockerfile(SRC);
    let out = kiln()
        .args(["debug", "plan"])
        .arg(f.path())
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let out = String::from_utf8(out).unwrap();
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(
        lines,
        vec![
            "global args: BASE=alpine",
            "stage #0 build: base=image alpine:3.19 level=0 deps=-",
            "  L3 ARG V=1",
            "  L4 ENV OUT=/out/1",
            "  L5 RUN --mount=type=cache,target=/root/.cache,sharing=shared,rw make $OUT",
            "stage #2 (unnamed): base=scratch level=1 deps=#0 build",
            "  L9 COPY --from=build /out /out  <- #0 build",
            "target: #2",
        ]
    );
}

#[test]
fn target_and_build_args() {
    let f = dockerfile(SRC);
    kiln()
        .args(["debug", "plan", "--target", "build", "--build-arg", "V=7"])
        .args(["--build-arg", "BASE=debian", "--build-arg", "UNUSED=1"])
        .arg(f.path())
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "stage #0 build: base=image debian:3.19",
        ))
        .stdout(predicate::str::contains("  L4 ENV OUT=/out/7"))
        .stdout(predicate::str::contains("docs").not())
        .stdout(predicate::str::contains("target: #0 build"))
        .stderr(predicate::str::contains(
            "[Warning] One or more build-args [UNUSED] were not consumed",
        ));
}

#[test]
fn reads_standard_input() {
    kiln()
        .args(["debug", "plan", "-"])
        .write_stdin("FROM alpine\nWORKDIR /app\n")
        .assert()
        .success()
        .stdout(predicate::str::contains("  L2 WORKDIR /app"));
}

#[test]
fn errors_name_file_and_line() {
    let f = dockerfile("FROM alpine\nRUN true\nFORM x\n");
    let name = f.path().display().to_string();
    kiln()
        .args(["debug", "plan"])
        .arg(f.path())
        .assert()
        .code(1)
        .stderr(predicate::str::contains(format!(
            "{name}:3: unknown instruction: FORM (did you mean FROM?)"
        )));
    let f = dockerfile(SRC);
    kiln()
        .args(["debug", "plan", "--target", "nope"])
        .arg(f.path())
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            "target stage \"nope\" could not be found",
        ));
}

/// `kiln debug plan big | head -1`: the reader going away ends the output quietly.
#[test]
fn a_reader_that_stops_early_ends_the_output_quietly() {
    use std::io::{BufRead, Read};
    let mut src = String::from("FROM scratch\n");
    for i in 0..5000 {
        src.push_str(&format!(
            "LABEL step{i}=\"a value long enough to fill a pipe quickly\"\n"
        ));
    }
    let f = dockerfile(&src);
    for cmd in ["plan", "parse"] {
        let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("kiln"))
            .args(["debug", cmd])
            .arg(f.path())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let mut first = String::new();
        std::io::BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut first)
            .unwrap();
        assert!(!first.is_empty());
        // The reader is gone now, with most of the output not yet written.
        let mut err = String::new();
        child
            .stderr
            .take()
            .unwrap()
            .read_to_string(&mut err)
            .unwrap();
        let status = child.wait().unwrap();
        assert!(status.success(), "{cmd}: {status:?} {err}");
        assert!(!err.contains("panicked"), "{cmd}: {err}");
    }
}
