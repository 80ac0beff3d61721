//! The parser's behaviour beyond BuildKit's golden files: heredocs, directives, continuation
//! edge cases, flags, argument shapes, errors with their lines, and the `kiln debug parse`
//! command.

use kiln::dockerfile::parser::{dump, parse, Heredoc, Node, ParseResult};
use std::process::Command;

fn ok(src: &str) -> ParseResult<'_> {
    parse(src.as_bytes()).unwrap_or_else(|e| panic!("parse failed: {e}\ninput:\n{src}"))
}

fn dumped(src: &str) -> String {
    dump(&ok(src).ast)
}

fn err(src: &str) -> kiln::dockerfile::error::DockerfileError {
    match parse(src.as_bytes()) {
        Ok(r) => panic!("expected an error, got:\n{}\ninput:\n{src}", dump(&r.ast)),
        Err(e) => e,
    }
}

fn lines(n: &Node) -> (usize, usize) {
    (n.start_line(), n.end_line())
}

fn doc(name: &str, expand: bool, chomp: bool, fd: u32, content: &str) -> Heredoc<'static> {
    Heredoc {
        name: name.to_string().into(),
        file_descriptor: fd,
        expand,
        chomp,
        content: content.to_string().into(),
    }
}

// ---- heredocs ----

#[test]
fn heredoc_basic_body_and_lines() {
    let r = ok("FROM a\nRUN <<EOF\necho hi\n# not a comment\n\nEOF\nRUN b\n");
    let run = &r.ast.children[1];
    assert_eq!(
        run.heredocs(),
        vec![doc("EOF", true, false, 0, "echo hi\n# not a comment\n\n")]
    );
    assert_eq!(lines(run), (2, 6));
    assert_eq!(lines(&r.ast.children[2]), (7, 7));
    assert_eq!(dump(&r.ast), "(from \"a\")\n(run \"<<EOF\")\n(run \"b\")");
}

#[test]
fn heredoc_chomp_compares_without_leading_tabs_but_keeps_them_in_body() {
    let r = ok("FROM a\nRUN <<-EOF\n\techo hi\n\t\tEOF\n");
    assert_eq!(
        r.ast.children[1].heredocs(),
        vec![doc("EOF", true, true, 0, "\techo hi\n")]
    );
    // Without `-`, a tab-indented terminator is body text.
    let e = err("FROM a\nRUN <<EOF\n\tEOF\n");
    assert_eq!((e.line, e.message.as_str()), (2, "unterminated heredoc"));
}

#[test]
fn heredoc_quoted_names_turn_expansion_off() {
    for (line, name) in [
        ("RUN <<'EOF'", "EOF"),
        ("RUN <<\"EOF\"", "EOF"),
        ("RUN <<E'O'F", "EOF"),
        ("RUN <<'E O F'", "E O F"),
    ] {
        let src = format!("FROM a\n{line}\n$x\n{name}\n");
        let r = ok(&src);
        assert_eq!(
            r.ast.children[1].heredocs(),
            vec![doc(name, false, false, 0, "$x\n")],
            "{line}"
        );
    }
}

#[test]
fn heredoc_several_on_one_line_with_descriptor() {
    let r = ok("FROM a\nCOPY <<A 3<<-\"B\" /dest/\na\nA\nb\n\tB\nRUN x\n");
    let copy = &r.ast.children[1];
    assert_eq!(
        copy.heredocs(),
        vec![
            doc("A", true, false, 0, "a\n"),
            doc("B", false, true, 3, "b\n")
        ]
    );
    assert_eq!(lines(copy), (2, 6));
    assert_eq!(
        dump(&r.ast).lines().nth(1),
        Some("(copy \"<<A\" \"3<<-\\\"B\\\"\" \"/dest/\")")
    );
}

#[test]
fn heredoc_in_onbuild_and_add() {
    let r = ok("FROM a\nONBUILD RUN <<EOF\nx\nEOF\nADD <<F /f\ny\nF\n");
    assert_eq!(
        r.ast.children[1].heredocs(),
        vec![doc("EOF", true, false, 0, "x\n")]
    );
    assert_eq!(
        r.ast.children[2].heredocs(),
        vec![doc("F", true, false, 0, "y\n")]
    );
    assert_eq!(
        dump(&r.ast),
        "(from \"a\")\n(onbuild (run \"<<EOF\"))\n(add \"<<F\" \"/f\")"
    );
}

#[test]
fn heredoc_only_for_shell_form_run_copy_add() {
    // JSON form and other instructions: the next line is an instruction, not a body.
    let r = ok("FROM a\nRUN [\"<<EOF\"]\nCMD <<EOF\nLABEL a=b\n");
    assert!(r.ast.children.iter().all(|c| c.heredocs().is_empty()));
    assert_eq!(r.ast.children.len(), 4);
}

#[test]
fn heredoc_after_continuation_and_with_backtick_escape() {
    let r = ok("FROM a\nRUN cat \\\n  <<EOF\nbody\nEOF\n");
    assert_eq!(r.ast.children[1].heredocs().len(), 1);
    assert_eq!(lines(&r.ast.children[1]), (2, 5));
    let r = ok("# escape=`\nFROM a\nRUN <<EOF\nbody\\\nEOF\n");
    assert_eq!(
        r.ast.children[1].heredocs(),
        vec![doc("EOF", true, false, 0, "body\\\n")]
    );
}

#[test]
fn heredoc_crlf_terminator() {
    let r = ok("FROM a\r\nRUN <<EOF\r\nx\r\nEOF\r\nRUN y\r\n");
    assert_eq!(r.ast.children[1].heredocs()[0].content, "x\r\n");
    assert_eq!(dump(&r.ast), "(from \"a\")\n(run \"<<EOF\")\n(run \"y\")");
}

#[test]
fn heredoc_unterminated_is_an_error_on_its_instruction() {
    let e = err("FROM a\nRUN echo \\\n  <<EOF\nabc\n");
    assert_eq!(e.line, 2);
    assert_eq!(e.message, "unterminated heredoc");
    assert_eq!(e.instruction.as_deref(), Some("RUN"));
    assert_eq!(e.to_string(), "Dockerfile:2: RUN: unterminated heredoc");
}

#[test]
fn heredoc_name_forms_as_buildkit_tests_them() {
    let src = concat!(
        "FROM a\n",
        "USER <<INVALID\n",
        "INVALID\n",
        "RUN \"<<NOHEREDOC\"\n",
        "COPY <<X <<Y /dest\nY\nX\nX\nY\n",
        "RUN <<COMPLEX python3\nprint('hi')\nCOMPLEX\n",
        "COPY <<file.txt /dest\nhello\nfile.txt\n",
        "RUN <<eo\\'f\necho\neo'f\n",
        "RUN <<'e'o\\'f\necho\neo'f\n",
        "RUN <<$EOF\n$EOF\n",
        "RUN <<  EOF  > foo\nEOF\n",
        "RUN << -EOF\n-EOF\n",
    );
    let r = ok(src);
    let docs: Vec<Vec<(String, bool, String)>> = r.ast.children[1..]
        .iter()
        .map(|c| {
            c.heredocs()
                .iter()
                .map(|h| (h.name.to_string(), h.expand, h.content.to_string()))
                .collect()
        })
        .collect();
    let d = |n: &str, e: bool, c: &str| (n.to_string(), e, c.to_string());
    assert_eq!(
        docs,
        vec![
            vec![],
            vec![],
            vec![],
            vec![d("X", true, "Y\n"), d("Y", true, "X\n")],
            vec![d("COMPLEX", true, "print('hi')\n")],
            vec![d("file.txt", true, "hello\n")],
            vec![d("eo'f", true, "echo\n")],
            vec![d("eo'f", false, "echo\n")],
            vec![d("$EOF", true, "")],
            vec![d("EOF", true, "")],
            vec![d("-EOF", true, "")],
        ]
    );
}

#[test]
fn not_heredocs() {
    for line in [
        "RUN cat<<EOF",
        "RUN echo '<<EOF'",
        "RUN echo <<",
        "RUN a <<<EOF",
    ] {
        let src = format!("FROM a\n{line}\nRUN b\n");
        let r = ok(&src);
        assert_eq!(r.ast.children.len(), 3, "{line}");
        assert!(r.ast.children[1].heredocs().is_empty(), "{line}");
    }
}

// ---- directives ----

#[test]
fn escape_directive_backtick() {
    let r = ok("# escape=`\nFROM a\nRUN echo `\n  hi\nCOPY a\\b c\nRUN x\\\nRUN y\n");
    assert_eq!(r.directives.escape, '`');
    assert_eq!(
        dump(&r.ast),
        "(from \"a\")\n(run \"echo   hi\")\n(copy \"a\\\\b\" \"c\")\n(run \"x\\\\\")\n(run \"y\")"
    );
}

#[test]
fn directives_are_case_insensitive_and_recorded() {
    let r = ok("# SYNTAX = docker/dockerfile:1\n#Check=skip=all\n  # Escape = ` \nFROM a\n");
    assert_eq!(r.directives.syntax.as_deref(), Some("docker/dockerfile:1"));
    assert_eq!(r.directives.check.as_deref(), Some("skip=all"));
    assert_eq!(r.directives.escape, '`');
    assert!(
        r.ast.children[0].prev_comments().is_empty(),
        "directives are not comments"
    );
}

#[test]
fn directives_after_comment_blank_or_instruction_are_ignored() {
    for src in [
        "# hello\n# escape=`\nFROM a\nRUN a\\\nb\n",
        "\n# escape=`\nFROM a\nRUN a\\\nb\n",
        "FROM a\n# escape=`\nRUN a\\\nb\n",
        "# unknown=1\n# escape=`\nFROM a\nRUN a\\\nb\n",
    ] {
        let r = ok(src);
        assert_eq!(r.directives.escape, '\\', "{src:?}");
        assert_eq!(dump(&r.ast).lines().last(), Some("(run \"ab\")"), "{src:?}");
    }
}

#[test]
fn directive_errors() {
    let e = err("# escape=x\nFROM a\n");
    assert_eq!(e.line, 1);
    assert_eq!(e.message, "invalid escape token 'x' does not match ` or \\");
    let e = err("# syntax=a\n# escape=`\n# ESCAPE=\\\nFROM a\n");
    assert_eq!(e.line, 3);
    assert_eq!(e.message, "only one escape parser directive can be used");
    assert_eq!(
        e.to_string(),
        "Dockerfile:3: only one escape parser directive can be used"
    );
}

#[test]
fn prev_comments() {
    let r = ok("# syntax=x\n# one\n  #two  \n\nFROM a\n#\n# three\nRUN b\nRUN c\n");
    // BuildKit takes the comment text from the untrimmed line after its first byte, so an
    // indented comment keeps its `#`.
    assert_eq!(r.ast.children[0].prev_comments(), vec!["one", "#two"]);
    assert_eq!(r.ast.children[1].prev_comments(), vec!["three"]);
    assert!(r.ast.children[2].prev_comments().is_empty());
}

// ---- continuation ----

#[test]
fn continuation_edge_cases() {
    // Comment and blank lines inside a continuation are skipped; no separator is inserted.
    let r = ok("FROM a\nRUN echo good\\\n# comment\n\n   \nbye \\\n\tend\n");
    assert_eq!(
        dump(&r.ast).lines().last(),
        Some("(run \"echo goodbye \\tend\")")
    );
    assert_eq!(lines(&r.ast.children[1]), (2, 7));
    assert_eq!(r.warnings.len(), 1);
    assert_eq!(r.warnings[0].line, 7);
    assert!(r.warnings[0]
        .message
        .starts_with("Empty continuation line found in: RUN"));
    // A trailing escape at end of file is allowed.
    assert_eq!(dumped("FROM a\nRUN a \\"), "(from \"a\")\n(run \"a\")");
    assert_eq!(dumped("FROM a\nRUN a \\\n"), "(from \"a\")\n(run \"a\")");
    // Two escapes at the end do not continue.
    assert_eq!(
        dumped("RUN a\\\\\nRUN b"),
        "(run \"a\\\\\\\\\")\n(run \"b\")"
    );
    // A comment ending in the escape does not continue.
    assert_eq!(dumped("# a \\\nFROM a"), "(from \"a\")");
    // A line that is only the escape continues and adds nothing.
    let r = ok("FROM a\n\\\nRUN x\n");
    assert_eq!(lines(&r.ast.children[1]), (2, 3));
    assert_eq!(dump(&r.ast), "(from \"a\")\n(run \"x\")");
}

#[test]
fn crlf_and_bom() {
    assert_eq!(
        dumped("\u{feff}FROM a\r\nRUN a \\\r\n b\r\n"),
        "(from \"a\")\n(run \"a  b\")"
    );
    let r = ok("\u{feff}# escape=`\r\nFROM a\r\n");
    assert_eq!(r.directives.escape, '`');
}

#[test]
fn keywords_keep_case_and_dispatch_case_insensitively() {
    let r = ok("from a\ncMd [\"x\"]\nOnBuild run b\n");
    assert_eq!(r.ast.children[0].value, "from");
    assert_eq!(r.ast.children[1].value, "cMd");
    assert!(r.ast.children[1].json);
    assert_eq!(
        dump(&r.ast),
        "(from \"a\")\n(cmd \"x\")\n(onbuild (run \"b\"))"
    );
    assert_eq!(r.ast.children[2].trigger().unwrap().value, "run");
    assert_eq!(r.ast.children[2].original, "OnBuild run b");
}

// ---- flags and shapes ----

#[test]
fn flags_are_extracted_for_every_instruction() {
    let r = ok(concat!(
        "FROM --platform=$P a AS b\n",
        "COPY --from=build --chown=\"a b\" --link src dst\n",
        "RUN --mount=type=cache,target=/x --network=none make --jobs=4\n",
        "ONBUILD ADD --chmod=644 a b\n",
        "HEALTHCHECK --interval=5s CMD [\"curl\", \"x\"]\n",
        "USER --x\n",
    ));
    let c = &r.ast.children;
    assert_eq!(c[0].flags[..], ["--platform=$P"]);
    assert_eq!(c[1].flags[..], ["--from=build", "--chown=a b", "--link"]);
    assert_eq!(
        c[2].flags[..],
        ["--mount=type=cache,target=/x", "--network=none"]
    );
    assert_eq!(c[3].trigger().unwrap().flags[..], ["--chmod=644"]);
    assert!(c[4].json);
    assert!(c[5].next.is_empty());
    assert_eq!(
        dump(&r.ast),
        concat!(
            "(from [\"--platform=$P\"] \"a\" \"AS\" \"b\")\n",
            "(copy [\"--from=build\" \"--chown=a b\" \"--link\"] \"src\" \"dst\")\n",
            "(run [\"--mount=type=cache,target=/x\" \"--network=none\"] \"make --jobs=4\")\n",
            "(onbuild (add [\"--chmod=644\"] \"a\" \"b\"))\n",
            "(healthcheck [\"--interval=5s\"] \"CMD\" \"curl\" \"x\")\n",
            "(user [\"--x\"])"
        )
    );
}

#[test]
fn argument_shapes() {
    let src = concat!(
        "FROM a\n",
        "ENV A=1 B=\"x y\" C=a\\ b\n",
        "ENV LEGACY some value\n",
        "LABEL \"k\"=v\n",
        "ARG x y=\"1 2\"\n",
        "EXPOSE 80/tcp\t443\n",
        "WORKDIR /a b\n",
        "HEALTHCHECK NONE\n",
        "HEALTHCHECK\n",
        "SHELL [\"/bin/sh\", \"-c\"]\n",
        "VOLUME /a /b\n",
        "ENTRYPOINT [\"a\", 'b']\n",
        "STOPSIGNAL SIGKILL\n",
        "CMD [\"a\", 1e400]\n",
        "NOSUCH x y\n",
        "CMD []\n",
    );
    let expected = concat!(
        "(from \"a\")\n",
        "(env \"A\" \"1\" \"=\" \"B\" \"\\\"x y\\\"\" \"=\" \"C\" \"a\\\\ b\" \"=\")\n",
        "(env \"LEGACY\" \"some value\" \"\")\n",
        "(label \"\\\"k\\\"\" \"v\" \"=\")\n",
        "(arg \"x\" \"y=\\\"1 2\\\"\")\n",
        "(expose \"80/tcp\" \"443\")\n",
        "(workdir \"/a b\")\n",
        "(healthcheck \"NONE\")\n",
        "(healthcheck)\n",
        "(shell \"/bin/sh\" \"-c\")\n",
        "(volume \"/a\" \"/b\")\n",
        "(entrypoint \"[\\\"a\\\", 'b']\")\n",
        "(stopsignal \"SIGKILL\")\n",
        "(cmd \"[\\\"a\\\", 1e400]\")\n",
        "(nosuch \"\")\n",
        "(cmd)"
    );
    let r = ok(src);
    assert_eq!(dump(&r.ast), expected);
    assert!(
        r.ast.children.last().is_some_and(|c| c.json),
        "CMD [] is JSON form"
    );
}

#[test]
fn go_quoting_in_dump() {
    assert_eq!(
        dumped("RUN [\"\\u0000 \\u00a0 é \\ud83d\\ude00 \\u200b\"]"),
        "(run \"\\x00 \\u00a0 é \u{1f600} \\u200b\")"
    );
}

// ---- errors ----

#[test]
fn errors_name_line_and_instruction() {
    let e = err("FROM a\n\nENV PATH\n");
    assert_eq!(
        (e.line, e.message.as_str()),
        (3, "ENV must have two arguments")
    );
    assert_eq!(e.to_string(), "Dockerfile:3: ENV must have two arguments");

    let e = err("FROM a\nLABEL a=b c\n");
    assert_eq!(e.line, 2);
    assert_eq!(
        e.message,
        "Syntax error - can't find = in \"c\". Must be of the form: name=value"
    );

    let e = err("FROM a\nRUN a \\\n b\nCMD [\"echo\", [\"x\"]]\n");
    assert_eq!(e.line, 4);
    assert_eq!(e.instruction.as_deref(), Some("CMD"));
    assert_eq!(
        e.to_string(),
        "Dockerfile:4: CMD: when using JSON array syntax, arrays must be comprised of strings only"
    );

    let e = err("FROM a\nONBUILD COPY [1]\n");
    assert_eq!((e.line, e.instruction.as_deref()), (2, Some("ONBUILD")));
}

#[test]
fn files_without_instructions_fail() {
    for src in ["", "\n\n", "# comment\n", "# syntax=x\n", "\u{feff}"] {
        let e = err(src);
        assert_eq!(e.message, "file with no instructions", "{src:?}");
    }
    // A lone continuation is an (empty, unknown) instruction, as in BuildKit.
    assert_eq!(dumped("\\\n"), "(\"\")");
}

#[test]
fn line_length_limit() {
    let long = "a".repeat(65_535);
    let src = format!("FROM a\nRUN {}\n", &long[4..]);
    let r = ok(&src);
    assert_eq!(r.ast.children.len(), 2);
    let e = err(&format!("FROM a\nRUN {}\n", &long[3..]));
    assert_eq!(e.line, 2);
    assert_eq!(
        e.message,
        "dockerfile line greater than max allowed size of 65535"
    );
    // The limit counts a CR, and a last line without a newline.
    assert!(parse(format!("FROM a\nRUN {}\r\n", &long[4..]).as_bytes()).is_err());
    assert!(parse(format!("FROM a\nRUN {}", &long[3..]).as_bytes()).is_err());
}

#[test]
fn onbuild_nesting_is_bounded() {
    let ok_src = format!("{}RUN x\n", "ONBUILD ".repeat(10));
    assert!(parse(ok_src.as_bytes()).is_ok());
    let deep = format!("{}RUN x\n", "ONBUILD ".repeat(10_000));
    assert!(parse(deep.as_bytes()).is_err());
}

#[test]
fn invalid_utf8_is_replaced_not_fatal() {
    let r = parse(b"FROM a\nRUN \xff\xfe\n").expect("parses");
    assert_eq!(r.ast.children[1].next[0].value, "\u{fffd}\u{fffd}");
}

#[test]
fn large_file_parses_quickly_enough() {
    let mut src = String::from("FROM scratch\n");
    for i in 0..10_000 {
        src.push_str(&format!(
            "RUN --mount=type=cache,target=/c echo {i} \\\n  && true\n"
        ));
    }
    let t = std::time::Instant::now();
    let r = parse(src.as_bytes()).expect("parses");
    let elapsed = t.elapsed();
    assert_eq!(r.ast.children.len(), 10_001);
    assert_eq!(r.ast.end_line, 20_001);
    // Generous even for an unoptimised build on a busy machine; catches quadratic behaviour.
    assert!(
        elapsed.as_secs() < 2,
        "10,000 instructions took {elapsed:?}"
    );
}

// ---- the kiln binary ----

#[test]
fn debug_parse_prints_buildkit_dump() {
    let dir = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/testdata/buildkit/testfiles/json"
    );
    let out = Command::new(env!("CARGO_BIN_EXE_kiln"))
        .args(["debug", "parse", "--dump", &format!("{dir}/Dockerfile")])
        .output()
        .expect("running kiln");
    assert!(
        out.status.success(),
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let expected = std::fs::read(format!("{dir}/result")).expect("reading result");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&expected)
    );
}

#[test]
fn debug_parse_reports_bad_file_with_line() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("Dockerfile");
    std::fs::write(&path, "FROM a\n\nENV PATH\n").expect("writing Dockerfile");
    let out = Command::new(env!("CARGO_BIN_EXE_kiln"))
        .args(["debug", "parse"])
        .arg(&path)
        .output()
        .expect("running kiln");
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("Dockerfile:3: ENV must have two arguments"),
        "stderr: {stderr}"
    );
    assert!(out.stdout.is_empty());
}

#[test]
fn empty_continuation_warnings_name_the_instruction() {
    let src = concat!(
        "\nFROM alpine:3.6\n\nRUN valid \\\n    continuation\n\n",
        "RUN something \\\n\n    following \\\n\n    more\n\n",
        "RUN another \\\n\n    thing\n\n",
        "RUN non-indented \\\n# this is a comment\n   after-comment\n\n",
        "RUN indented \\\n    # this is an indented comment\n    comment\n\t",
    );
    let r = ok(src);
    assert_eq!(r.warnings.len(), 2);
    assert_eq!(
        r.warnings[0].message,
        "Empty continuation line found in: RUN something     following     more"
    );
    assert_eq!(r.warnings[0].line, 11);
    assert_eq!(
        r.warnings[1].message,
        "Empty continuation line found in: RUN another     thing"
    );
    assert_eq!(
        dump(&r.ast).lines().last(),
        Some("(run \"indented     comment\")")
    );
}

#[test]
fn long_line_after_instructions() {
    let src = format!("\n\t\tFROM image\n\t\tLABEL test={}\n", "a".repeat(65_536));
    let e = err(&src);
    assert_eq!(
        e.message,
        "dockerfile line greater than max allowed size of 65535"
    );
    assert_eq!(e.line, 3);
}

/// Deterministic mutations of BuildKit's vectors (a small, always-on complement to the
/// fuzzer): parsing never panics and a parsed tree always dumps.
#[test]
fn mutated_vectors_never_panic() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/testdata/buildkit/testfiles");
    let mut seeds: Vec<Vec<u8>> = std::fs::read_dir(dir)
        .expect("listing testfiles")
        .map(|e| std::fs::read(e.expect("entry").path().join("Dockerfile")).expect("reading"))
        .collect();
    seeds.push(b"FROM a\nRUN <<EOF 3<<-'X'\nbody\nEOF\n\tX\nONBUILD COPY <<A /a\nA\n".to_vec());
    let alphabet = b"\\`\"'$<-{}[]#=\n\r\t :,\xc2\xa0\xff0";
    let mut state = 0x2545_f491_4f6c_dd1d_u64;
    let mut rand = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    for seed in &seeds {
        for _ in 0..80 {
            let mut input = seed.clone();
            for _ in 0..1 + rand() % 8 {
                let pos = (rand() as usize) % (input.len() + 1);
                let byte = alphabet[(rand() as usize) % alphabet.len()];
                match rand() % 3 {
                    0 if pos < input.len() => input[pos] = byte,
                    1 if pos < input.len() => {
                        input.remove(pos);
                    }
                    _ => input.insert(pos, byte),
                }
            }
            if let Ok(r) = parse(&input) {
                let _ = dump(&r.ast);
            };
        }
    }
}
