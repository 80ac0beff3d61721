//! Lowering from real Dockerfile text: the parser's node shapes as the instructions read them,
//! and errors that name the line.

use kiln::dockerfile::instructions::{lower_all, Command, Healthcheck, Instruction, Network};
use kiln::dockerfile::parser::parse;

fn lower(src: &str) -> Result<Vec<Instruction<'_>>, String> {
    let parsed = parse(src.as_bytes()).map_err(|e| e.to_string())?;
    lower_all(&parsed.ast).map_err(|e| e.to_string())
}

fn rendered(src: &str) -> Vec<String> {
    lower(src)
        .expect("lowers")
        .iter()
        .map(|i| i.to_string())
        .collect()
}

#[test]
fn every_instruction_round_trips() {
    let src = r#"# syntax=docker/dockerfile:1
ARG A=1 B
FROM --platform=linux/amd64 alpine:3.19 AS Build
MAINTAINER me <me@example.com>
LABEL a=b "c d"="e f"
ENV X=1 Y="two words"
ENV OLD legacy form
RUN --network=none --mount=type=cache,target=/c echo hi
RUN ["echo", "exec"]
CMD ["sh"]
ENTRYPOINT ["/bin/app", "--flag"]
SHELL ["/bin/bash", "-c"]
EXPOSE 80 443/tcp
VOLUME /data /logs
VOLUME ["/json"]
USER app:app
WORKDIR /src
COPY --from=0 --chown=1:2 --chmod=644 --link --parents --exclude=*.md a b /dst/
ADD --checksum=sha256:abc --keep-git-dir https://example.com/x.tar /x
ONBUILD RUN make
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=30s --retries=2 CMD curl -f http://localhost/
HEALTHCHECK NONE
"#;
    assert_eq!(
        rendered(src),
        vec![
            "ARG A=1 B",
            "FROM --platform=linux/amd64 alpine:3.19 AS build",
            "MAINTAINER me <me@example.com>",
            "LABEL a=b \"\\\"c d\\\"\"=\"\\\"e f\\\"\"",
            "ENV X=1 Y=\"\\\"two words\\\"\"",
            "ENV OLD=\"legacy form\"",
            "RUN --mount=type=cache,target=/c --network=none echo hi",
            "RUN [\"echo\",\"exec\"]",
            "CMD [\"sh\"]",
            "ENTRYPOINT [\"/bin/app\",\"--flag\"]",
            "SHELL [\"/bin/bash\",\"-c\"]",
            "EXPOSE 443/tcp 80",
            "VOLUME [\"/data\",\"/logs\"]",
            "VOLUME [\"/json\"]",
            "USER app:app",
            "WORKDIR /src",
            "COPY --from=0 --chown=1:2 --chmod=644 --link --parents --exclude=*.md a b /dst/",
            "ADD --checksum=sha256:abc --keep-git-dir https://example.com/x.tar /x",
            "ONBUILD RUN make",
            "STOPSIGNAL SIGTERM",
            "HEALTHCHECK --interval=30s --retries=2 [\"CMD-SHELL\",\"curl -f http://localhost/\"]",
            "HEALTHCHECK NONE",
        ]
    );
}

#[test]
fn lines_are_kept() {
    let list = lower("FROM alpine\n\n# c\nRUN a \\\n  b\nCMD x\n").unwrap();
    let lines: Vec<(usize, usize)> = list.iter().map(|i| (i.line, i.end_line)).collect();
    assert_eq!(lines, vec![(1, 1), (4, 5), (6, 6)]);
}

#[test]
fn run_heredoc_and_flags() {
    let list = lower("FROM alpine\nRUN --network=host <<EOF\necho a\nEOF\n").unwrap();
    let Command::Run(r) = &list[1].command else {
        panic!()
    };
    assert_eq!(r.network, Network::Host);
    assert_eq!(r.cmd.files.len(), 1);
    assert_eq!(r.cmd.files[0].name, "EOF");
    assert_eq!(r.cmd.files[0].data, "echo a\n");
}

#[test]
fn copy_heredoc_source() {
    let list = lower("FROM alpine\nCOPY <<-EOF /etc/motd\n\thi\nEOF\n").unwrap();
    let Command::Copy(c) = &list[1].command else {
        panic!()
    };
    assert!(c.sources.is_empty());
    assert_eq!(c.contents[0].data, "hi\n");
    assert_eq!(c.dest, "/etc/motd");
}

#[test]
fn healthcheck_exec_form() {
    let list =
        lower("FROM alpine\nHEALTHCHECK --timeout=3s CMD [\"/bin/check\", \"-q\"]\n").unwrap();
    let Command::Healthcheck(h) = &list[1].command else {
        panic!()
    };
    let Healthcheck::Check(h) = h else { panic!() };
    assert_eq!(h.test, vec!["CMD", "/bin/check", "-q"]);
    assert_eq!(h.timeout.as_secs(), 3);
}

#[test]
fn errors_name_line_and_instruction() {
    let cases = [
        ("FROM alpine\nFORM x\n", "Dockerfile:2: unknown instruction: FORM (did you mean FROM?)"),
        ("FROM alpine\n\n\nCOPY --foo=1 a b\n", "Dockerfile:4: COPY: unknown flag: foo"),
        ("FROM alpine\nADD --from=x a b\n", "Dockerfile:2: ADD: unknown flag: from"),
        ("FROM alpine\nRUN --network=bridge x\n", "Dockerfile:2: RUN: unsupported network mode \"bridge\""),
        ("FROM alpine\nONBUILD ONBUILD RUN x\n", "Dockerfile:2: Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed"),
        ("FROM alpine\nONBUILD FROM x\n", "Dockerfile:2: FROM isn't allowed as an ONBUILD trigger"),
        ("FROM alpine\nONBUILD MAINTAINER x\n", "Dockerfile:2: MAINTAINER isn't allowed as an ONBUILD trigger"),
        ("FROM alpine\nSHELL /bin/sh -c\n", "Dockerfile:2: SHELL requires the arguments to be in JSON form"),
        ("FROM alpine\nHEALTHCHECK --interval=1d CMD x\n", "Dockerfile:2: HEALTHCHECK: time: unknown unit \"d\" in duration \"1d\""),
        ("FROM alpine AS 9lives\n", "Dockerfile:1: FROM: invalid name for build stage: \"9lives\", name can't start with a number or contain symbols"),
        ("FROM alpine\nCOPY x\n", "Dockerfile:2: COPY requires at least two arguments, but only one was provided. Destination could not be determined"),
    ];
    for (src, want) in cases {
        assert_eq!(lower(src).unwrap_err(), want, "for {src:?}");
    }
}
