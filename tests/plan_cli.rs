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
