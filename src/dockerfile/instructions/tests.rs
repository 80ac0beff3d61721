//! Lowering tests on hand-built nodes (the parser's shapes), independent of the parser.

use super::*;
use crate::dockerfile::parser::{Arg, Heredoc, Heredocs};
use std::time::Duration;

struct N(Node<'static>);

fn n(kw: &str, args: &[&str]) -> N {
    // The lines and rare parts are set through methods: no struct literal.
    let mut node = Node::default();
    node.value = kw.to_string().into();
    node.next = args
        .iter()
        .map(|a| Arg {
            value: a.to_string().into(),
        })
        .collect();
    node.original = format!("{kw} {}", args.join(" ")).into();
    node.set_lines(7, 7);
    N(node)
}

impl N {
    fn flags(mut self, f: &[&str]) -> Self {
        self.0.flags = f.iter().map(|s| s.to_string().into()).collect();
        self
    }
    fn json(mut self) -> Self {
        self.0.json = true;
        self
    }
    fn original(mut self, o: &str) -> Self {
        self.0.original = o.to_string().into();
        self
    }
    fn heredoc(mut self, name: &str, content: &str, expand: bool, chomp: bool) -> Self {
        let mut heredocs: Heredocs = self.0.heredocs().iter().cloned().collect();
        heredocs.push(Heredoc {
            name: name.to_string().into(),
            file_descriptor: 0,
            expand,
            chomp,
            content: content.to_string().into(),
        });
        self.0.set_heredocs(heredocs);
        self
    }
    fn ok(self) -> Command<'static> {
        lower(&self.0).expect("lowers").command
    }
    fn err(self) -> String {
        lower(&self.0).expect_err("must fail").to_string()
    }
}

#[test]
fn from_forms() {
    assert_eq!(
        n("FROM", &["alpine:3.19"]).ok(),
        Command::From(From {
            image: "alpine:3.19".into(),
            name: None,
            platform: None
        })
    );
    let Command::From(f) = n("from", &["alpine", "as", "Build-1"])
        .flags(&["--platform=linux/arm64"])
        .ok()
    else {
        panic!()
    };
    assert_eq!(f.name.as_deref(), Some("build-1"));
    assert_eq!(f.platform.as_deref(), Some("linux/arm64"));
    assert_eq!(
        n("FROM", &["a", "AS", "1st"]).err(),
        "Dockerfile:7: FROM: invalid name for build stage: \"1st\", name can't start with a number or contain symbols"
    );
    assert_eq!(
        n("FROM", &["a", "b"]).err(),
        "Dockerfile:7: FROM requires either one or three arguments"
    );
    assert_eq!(
        n("FROM", &["a"]).flags(&["--platfrom=x"]).err(),
        "Dockerfile:7: FROM: unknown flag: platfrom"
    );
}

#[test]
fn run_shell_exec_and_flags() {
    let Command::Run(r) = n("RUN", &["echo $HOME"]).ok() else {
        panic!()
    };
    assert_eq!(r.cmd.args[..], ["echo $HOME"]);
    assert!(r.cmd.prepend_shell);
    let Command::Run(r) = n("RUN", &["echo", "hi"]).json().ok() else {
        panic!()
    };
    assert_eq!(r.cmd.args[..], ["echo", "hi"]);
    assert!(!r.cmd.prepend_shell);
    let Command::Run(r) = n("RUN", &["make"])
        .flags(&[
            "--mount=type=cache,target=/root/.cache",
            "--mount=type=secret,id=tok",
            "--network=none",
            "--security=insecure",
        ])
        .ok()
    else {
        panic!()
    };
    assert_eq!(r.mount_specs.len(), 2);
    assert_eq!(r.network, Network::None);
    assert_eq!(r.security, Security::Insecure);
    assert_eq!(
        n("RUN", &["x"]).flags(&["--network=bridge"]).err(),
        "Dockerfile:7: RUN: unsupported network mode \"bridge\""
    );
    assert_eq!(
        n("RUN", &["x"]).flags(&["--security=open"]).err(),
        "Dockerfile:7: RUN: unsupported security mode \"open\""
    );
    assert_eq!(
        n("RUN", &["x"]).flags(&["--foo"]).err(),
        "Dockerfile:7: RUN: unknown flag: foo"
    );
    assert_eq!(
        n("RUN", &["x"]).flags(&["--mount=from=$X,target=/a"]).err(),
        "Dockerfile:7: RUN: 'from' doesn't support variable expansion, define alias stage instead"
    );
}

/// A RUN written without flags (which skips reading them) is a RUN with the defaults written.
#[test]
fn run_without_flags_takes_the_declared_defaults() {
    let plain = n("RUN", &["make"]).ok();
    let written = n("RUN", &["make"])
        .flags(&["--network=default", "--security=sandbox"])
        .ok();
    assert_eq!(plain, written);
}

#[test]
fn run_heredoc() {
    let Command::Run(r) = n("RUN", &["<<EOF"])
        .heredoc("EOF", "echo a\necho b\n", true, false)
        .ok()
    else {
        panic!()
    };
    assert_eq!(r.cmd.files.len(), 1);
    assert_eq!(r.cmd.files[0].data, "echo a\necho b\n");
}

#[test]
fn cmd_entrypoint_shell() {
    assert_eq!(
        n("CMD", &["a", "b"]).json().ok(),
        Command::Cmd(CommandLine {
            args: vec!["a".into(), "b".into()].into(),
            prepend_shell: false,
            files: vec![]
        })
    );
    let Command::Entrypoint(e) = n("ENTRYPOINT", &[]).json().ok() else {
        panic!()
    };
    assert!(e.args.is_empty());
    assert_eq!(
        n("SHELL", &["/bin/bash", "-c"]).json().ok(),
        Command::Shell(vec!["/bin/bash".into(), "-c".into()])
    );
    assert_eq!(
        n("SHELL", &["/bin/bash -c"]).err(),
        "Dockerfile:7: SHELL requires the arguments to be in JSON form"
    );
    assert_eq!(
        n("SHELL", &[]).json().err(),
        "Dockerfile:7: SHELL requires at least one argument"
    );
    assert!(n("CMD", &["x"])
        .flags(&["--a=b"])
        .err()
        .contains("unknown flag: a"));
}

#[test]
fn env_label_arg() {
    assert_eq!(
        n("ENV", &["a", "\"x y\"", "=", "b", "z", ""]).ok(),
        Command::Env(
            vec![
                KeyValue {
                    key: "a".into(),
                    value: "\"x y\"".into(),
                    no_delim: false
                },
                KeyValue {
                    key: "b".into(),
                    value: "z".into(),
                    no_delim: true
                },
            ]
            .into()
        )
    );
    assert!(matches!(n("LABEL", &["k", "v", "="]).ok(), Command::Label(l) if l.len() == 1));
    assert_eq!(
        n("ENV", &["", "v", "="]).err(),
        "Dockerfile:7: ENV names can not be blank"
    );
    assert_eq!(
        n("LABEL", &[]).err(),
        "Dockerfile:7: LABEL requires at least one argument"
    );
    assert_eq!(
        n("ARG", &["A", "B=1", "C="]).ok(),
        Command::Arg(
            vec![
                ArgDecl {
                    key: "A".into(),
                    default: None
                },
                ArgDecl {
                    key: "B".into(),
                    default: Some("1".into())
                },
                ArgDecl {
                    key: "C".into(),
                    default: Some("".into())
                },
            ]
            .into()
        )
    );
    assert_eq!(
        n("ARG", &["=1"]).err(),
        "Dockerfile:7: ARG names can not be blank"
    );
    assert_eq!(
        n("ARG", &[]).err(),
        "Dockerfile:7: ARG requires at least one argument"
    );
}

#[test]
fn single_argument_instructions() {
    assert_eq!(
        n("MAINTAINER", &["me"]).ok(),
        Command::Maintainer("me".into())
    );
    assert_eq!(
        n("USER", &["app:app"]).ok(),
        Command::User("app:app".into())
    );
    assert_eq!(
        n("WORKDIR", &["/src"]).ok(),
        Command::Workdir("/src".into())
    );
    assert_eq!(
        n("STOPSIGNAL", &["SIGKILL"]).ok(),
        Command::StopSignal("SIGKILL".into())
    );
    assert_eq!(
        n("USER", &["a", "b"]).err(),
        "Dockerfile:7: USER requires exactly one argument"
    );
    assert_eq!(
        n("WORKDIR", &[]).err(),
        "Dockerfile:7: WORKDIR requires exactly one argument"
    );
    assert_eq!(
        n("EXPOSE", &["8080/udp", "443", "80"]).ok(),
        Command::Expose(vec!["443".into(), "80".into(), "8080/udp".into()])
    );
    assert_eq!(
        n("VOLUME", &["/a", "/b"]).json().ok(),
        Command::Volume(vec!["/a".into(), "/b".into()])
    );
    assert_eq!(
        n("VOLUME", &[" "]).json().err(),
        "Dockerfile:7: VOLUME specified can not be an empty string"
    );
}

#[test]
fn copy_and_add() {
    let Command::Copy(c) = n("COPY", &["a", "b", "/dst/"])
        .flags(&[
            "--from=builder",
            "--chown=1:1",
            "--chmod=755",
            "--link",
            "--parents",
            "--exclude=*.md",
            "--exclude=tmp",
        ])
        .ok()
    else {
        panic!()
    };
    assert_eq!(c.sources[..], ["a", "b"]);
    assert_eq!(c.dest, "/dst/");
    assert_eq!(c.from.as_deref(), Some("builder"));
    assert_eq!(c.chown.as_deref(), Some("1:1"));
    assert_eq!(c.chmod.as_deref(), Some("755"));
    assert!(c.link && c.parents);
    assert_eq!(c.excludes, vec!["*.md", "tmp"]);
    let Command::Add(a) = n("ADD", &["https://x/y.tar", "/y"])
        .flags(&["--checksum=sha256:abc", "--keep-git-dir=true"])
        .ok()
    else {
        panic!()
    };
    assert_eq!(a.checksum.as_deref(), Some("sha256:abc"));
    assert!(a.keep_git_dir);
    assert_eq!(
        n("COPY", &["a", "b"]).flags(&["--checksum=x"]).err(),
        "Dockerfile:7: COPY: unknown flag: checksum"
    );
    assert_eq!(
        n("ADD", &["a", "b"]).flags(&["--from=x"]).err(),
        "Dockerfile:7: ADD: unknown flag: from"
    );
    assert_eq!(
        n("COPY", &["a"]).err(),
        "Dockerfile:7: COPY requires at least two arguments, but only one was provided. Destination could not be determined"
    );
    assert_eq!(
        n("COPY", &["a", "--chown=x"]).flags(&["--chown"]).err(),
        "Dockerfile:7: COPY: missing a value on flag: chown"
    );
}

#[test]
fn copy_heredoc_sources() {
    let Command::Copy(c) = n("COPY", &["<<-EOF", "<<'RAW'", "/dst"])
        .heredoc("EOF", "\tline $X\n", true, true)
        .heredoc("RAW", "$Y\n", false, false)
        .ok()
    else {
        panic!()
    };
    assert!(c.sources.is_empty());
    assert_eq!(c.contents.len(), 2);
    assert_eq!(c.contents[0].data, "line $X\n");
    assert!(c.contents[0].expand);
    assert_eq!(c.contents[1].path, "RAW");
    assert!(!c.contents[1].expand);
    assert_eq!(
        n("COPY", &["a", "<<EOF"]).err(),
        "Dockerfile:7: COPY cannot accept a heredoc as a destination"
    );
}

fn onbuild(trigger: &str, args: &[&str]) -> N {
    let child = n(trigger, args).0;
    let mut node = Node::default();
    node.value = "ONBUILD".into();
    node.original = format!("ONBUILD {trigger} {}", args.join(" ")).into();
    node.set_trigger(Some(Box::new(child)));
    node.set_lines(3, 3);
    N(node)
}

#[test]
fn onbuild_triggers() {
    let Command::Onbuild(o) = onbuild("RUN", &["make"]).ok() else {
        panic!()
    };
    assert_eq!(o.expression, "RUN make");
    assert!(matches!(o.trigger.command, Command::Run(_)));
    assert_eq!(
        onbuild("ONBUILD", &["RUN", "x"]).err(),
        "Dockerfile:3: Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed"
    );
    assert_eq!(
        onbuild("FROM", &["x"]).err(),
        "Dockerfile:3: FROM isn't allowed as an ONBUILD trigger"
    );
    assert_eq!(
        onbuild("maintainer", &["x"]).err(),
        "Dockerfile:3: MAINTAINER isn't allowed as an ONBUILD trigger"
    );
    // the trigger itself is checked
    assert_eq!(
        onbuild("COPY", &["a"]).err(),
        "Dockerfile:3: COPY requires at least two arguments, but only one was provided. Destination could not be determined"
    );
}

#[test]
fn healthcheck_forms() {
    assert_eq!(
        n("HEALTHCHECK", &["NONE"]).ok(),
        Command::Healthcheck(Healthcheck::None)
    );
    let check = |c: Command<'static>| match c {
        Command::Healthcheck(h) => match h {
            Healthcheck::Check(h) => h,
            Healthcheck::None => panic!("NONE"),
        },
        other => panic!("{other:?}"),
    };
    let h = check(
        n("HEALTHCHECK", &["CMD", "curl -f x"])
            .flags(&[
                "--interval=30s",
                "--timeout=1m30s",
                "--start-period=5s",
                "--start-interval=500ms",
                "--retries=3",
            ])
            .ok(),
    );
    assert_eq!(h.test, vec!["CMD-SHELL", "curl -f x"]);
    assert_eq!(h.interval, Duration::from_secs(30));
    assert_eq!(h.timeout, Duration::from_secs(90));
    assert_eq!(h.start_interval, Duration::from_millis(500));
    assert_eq!(h.retries, 3);
    let h = check(n("HEALTHCHECK", &["CMD", "curl", "-f"]).json().ok());
    assert_eq!(h.test, vec!["CMD", "curl", "-f"]);
    assert_eq!(
        n("HEALTHCHECK", &["NONE", "x"]).err(),
        "Dockerfile:7: HEALTHCHECK NONE takes no arguments"
    );
    assert_eq!(
        n("HEALTHCHECK", &["CONNECT", "TCP 7000"]).err(),
        "Dockerfile:7: Unknown type \"CONNECT\" in HEALTHCHECK (try CMD)"
    );
    assert_eq!(
        n("HEALTHCHECK", &["CMD"]).err(),
        "Dockerfile:7: Missing command after HEALTHCHECK CMD"
    );
    assert_eq!(
        n("HEALTHCHECK", &["CMD", "x"])
            .flags(&["--interval=1"])
            .err(),
        "Dockerfile:7: HEALTHCHECK: time: missing unit in duration \"1\""
    );
    assert_eq!(
        n("HEALTHCHECK", &["CMD", "x"])
            .flags(&["--timeout=10us"])
            .err(),
        "Dockerfile:7: HEALTHCHECK: Interval \"timeout\" cannot be less than 1ms"
    );
    assert_eq!(
        n("HEALTHCHECK", &["CMD", "x"])
            .flags(&["--retries=-2"])
            .err(),
        "Dockerfile:7: HEALTHCHECK: --retries cannot be negative (-2)"
    );
}

#[test]
fn unknown_instruction() {
    assert_eq!(
        n("FORM", &["x"]).err(),
        "Dockerfile:7: unknown instruction: FORM (did you mean FROM?)"
    );
    assert_eq!(
        n("frobnicate", &["x"]).err(),
        "Dockerfile:7: unknown instruction: FROBNICATE"
    );
}

#[test]
fn display_is_canonical() {
    let i = lower(
        &n("COPY", &["a", "/b"])
            .flags(&["--link", "--from=x"])
            .original("COPY --link --from=x a /b")
            .0,
    )
    .unwrap();
    assert_eq!(i.to_string(), "COPY --from=x --link a /b");
    assert_eq!(i.line, 7);
}

/// The keyword match (length and first letter, then one comparison) finds what a
/// case-insensitive search of the whole list finds.
#[test]
fn keywords_match_in_any_case() {
    let reference = |w: &str| INSTRUCTIONS.iter().position(|k| k.eq_ignore_ascii_case(w));
    let mut words: Vec<String> = [
        "",
        "A",
        "AD",
        "ADDD",
        "AR",
        "ARGS",
        "ADG",
        "ARD",
        "CM",
        "CMDX",
        "COP",
        "ENVY",
        "FRO",
        "Ｆrom",
        "ſhell",
        "run\u{0}",
        "R\u{e9}N",
        "ONBUILD ",
        " RUN",
        "xxxxxxxxxxxx",
    ]
    .iter()
    .map(|w| w.to_string())
    .collect();
    for k in INSTRUCTIONS {
        let mixed: String = k
            .chars()
            .enumerate()
            .map(|(i, c)| {
                if i % 2 == 1 {
                    c.to_ascii_lowercase()
                } else {
                    c
                }
            })
            .collect();
        words.extend([k.to_string(), k.to_lowercase(), mixed]);
        for i in 0..k.len() {
            // Each letter changed in turn: same length and (mostly) same first letter.
            let mut w = k.as_bytes().to_vec();
            w[i] = if w[i] == b'Z' { b'Y' } else { b'Z' };
            words.push(String::from_utf8(w).expect("ASCII"));
        }
        words.push(format!("{k}S"));
        words.push(k[1..].to_string());
    }
    for w in &words {
        assert_eq!(Keyword::of(w).map(|k| k as usize), reference(w), "{w:?}");
    }
    for (i, k) in INSTRUCTIONS.iter().enumerate() {
        assert_eq!(Keyword::of(k).map(Keyword::name), Some(*k));
        assert_eq!(Keyword::of(k).map(|k| k as usize), Some(i));
    }
}

/// Cache keys hold the expanded instruction's `Debug` text (`build::inputs`): the in-place
/// lists print as the `Vec`s they replaced, and HEALTHCHECK as when it was boxed.
#[test]
fn debug_text_is_stable() {
    let cases = [
        (
            n("RUN", &["make"])
                .flags(&["--mount=type=cache,target=/c"])
                .ok(),
            r#"Run(Run { cmd: CommandLine { args: ["make"], prepend_shell: true, files: [] }, mount_specs: ["type=cache,target=/c"], mounts: [], network: Default, security: Sandbox })"#,
        ),
        (
            n("ENV", &["a", "1", "=", "b", "2", "="]).ok(),
            r#"Env([KeyValue { key: "a", value: "1", no_delim: false }, KeyValue { key: "b", value: "2", no_delim: false }])"#,
        ),
        (
            n("ARG", &["A=1"]).ok(),
            r#"Arg([ArgDecl { key: "A", default: Some("1") }])"#,
        ),
        (
            n("COPY", &["a", "/b"]).ok(),
            r#"Copy(Copy { sources: ["a"], contents: [], dest: "/b", from: None, chown: None, chmod: None, link: false, parents: false, excludes: [], checksum: None, keep_git_dir: false })"#,
        ),
        (n("HEALTHCHECK", &["NONE"]).ok(), "Healthcheck(None)"),
    ];
    for (command, text) in cases {
        assert_eq!(format!("{command:?}"), text);
    }
}
