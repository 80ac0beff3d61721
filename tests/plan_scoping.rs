//! ARG/ENV scoping and expansion, end to end: Dockerfile text → parser → planner.

use kiln::dockerfile::instructions::Command;
use kiln::dockerfile::parser::parse;
use kiln::plan::scope::pairs;
use kiln::plan::{plan, Plan, PlanOptions, Step};

fn plan_with<'a>(
    src: &'a str,
    args: &[(&str, &str)],
    target: Option<&str>,
) -> Result<Plan<'a>, String> {
    let parsed = parse(src.as_bytes()).map_err(|e| e.to_string())?;
    let opts = PlanOptions {
        target: target.map(str::to_string),
        build_args: args
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        ..Default::default()
    };
    plan(&parsed, &opts).map_err(|e| e.to_string())
}

fn p(src: &str) -> Plan<'_> {
    plan_with(src, &[], None).expect("plans")
}

/// The rendered steps of the last stage.
fn last_steps(plan: &Plan<'_>) -> Vec<String> {
    plan.target()
        .expect("a target")
        .steps
        .iter()
        .map(|s| s.instruction.to_string())
        .collect()
}

fn last_step<'p, 'a>(plan: &'p Plan<'a>) -> &'p Step<'a> {
    plan.target().unwrap().steps.last().unwrap()
}

#[test]
fn global_arg_is_usable_in_from_only() {
    let plan = p("ARG V=3.19\nFROM alpine:$V\nWORKDIR /v$V\n");
    assert_eq!(
        plan.target().unwrap().base,
        kiln::plan::Base::Image("alpine:3.19".into())
    );
    assert_eq!(last_steps(&plan), vec!["WORKDIR /v"]);
}

#[test]
fn redeclared_global_arg_takes_the_global_value() {
    let plan = p("ARG V=3.19\nFROM alpine\nARG V\nWORKDIR /v$V\n");
    assert_eq!(last_steps(&plan)[1], "WORKDIR /v3.19");
    assert_eq!(
        pairs(&last_step(&plan).args()),
        vec![("V".to_string(), "3.19".to_string())]
    );
}

#[test]
fn stage_default_overrides_global_and_build_arg_overrides_both() {
    let src = "ARG V=1\nFROM alpine:$V\nARG V=2\nWORKDIR /$V\n";
    let plan = p(src);
    assert_eq!(
        plan.target().unwrap().base,
        kiln::plan::Base::Image("alpine:1".into())
    );
    assert_eq!(last_steps(&plan)[1], "WORKDIR /2");
    let plan = plan_with(src, &[("V", "9")], None).unwrap();
    assert_eq!(
        plan.target().unwrap().base,
        kiln::plan::Base::Image("alpine:9".into())
    );
    assert_eq!(last_steps(&plan), vec!["ARG V=9", "WORKDIR /9"]);
    assert!(plan.warnings.is_empty());
}

#[test]
fn arg_defaults_see_earlier_args() {
    let plan = p("ARG A=x\nARG B=${A}y\nFROM alpine:$B\nARG C=1 D=${C}2\nWORKDIR /$D\n");
    assert_eq!(
        plan.target().unwrap().base,
        kiln::plan::Base::Image("alpine:xy".into())
    );
    assert_eq!(last_steps(&plan)[1], "WORKDIR /12");
}

#[test]
fn global_arg_without_value_expands_empty() {
    let plan = p("ARG IMG\nFROM ${IMG:-busybox}\nARG IMG\nWORKDIR /${IMG:-none}\n");
    assert_eq!(
        plan.target().unwrap().base,
        kiln::plan::Base::Image("busybox".into())
    );
    assert_eq!(last_steps(&plan)[1], "WORKDIR /none");
    assert!(last_step(&plan).args().is_empty());
}

#[test]
fn env_wins_over_arg_of_the_same_name() {
    let plan = p("FROM alpine\nENV X=env\nARG X=arg\nWORKDIR /$X\nRUN true\n");
    let steps = last_steps(&plan);
    assert_eq!(steps[2], "WORKDIR /env");
    let run = last_step(&plan);
    assert_eq!(run.run_env(), vec![("X".to_string(), "env".to_string())]);

    let plan = p("FROM alpine\nARG X=arg\nENV X=env\nWORKDIR /$X\n");
    assert_eq!(last_steps(&plan)[2], "WORKDIR /env");
    let plan = p("FROM alpine\nARG X=arg\nENV Y=$X\nWORKDIR /$Y\n");
    assert_eq!(last_steps(&plan)[2], "WORKDIR /arg");
}

#[test]
fn env_pairs_see_the_scope_before_the_instruction() {
    let plan = p("FROM alpine\nENV a=1\nENV a=2 b=$a\nENV c d e\n");
    assert_eq!(last_steps(&plan)[1], "ENV a=2 b=1");
    assert_eq!(last_steps(&plan)[2], "ENV c=\"d e\"");
    let env = &pairs(&plan.target().unwrap().final_env);
    assert_eq!(
        env,
        &vec![
            ("a".to_string(), "2".to_string()),
            ("b".to_string(), "1".to_string()),
            ("c".to_string(), "d e".to_string()),
        ]
    );
}

#[test]
fn env_quotes_are_processed() {
    let plan = p("FROM alpine\nENV A=\"x y\" B='$A' C=\"$A\" D=a\\ b\n");
    let Command::Env(kvs) = &last_step(&plan).instruction.command else {
        panic!()
    };
    let vals: Vec<&str> = kvs.iter().map(|k| &*k.value).collect();
    assert_eq!(vals, vec!["x y", "$A", "", "a b"]);
}

#[test]
fn child_stage_inherits_env_not_args() {
    let plan = p("FROM alpine AS one\nARG X=1\nENV E=e\nFROM one\nWORKDIR /$X$E\n");
    assert_eq!(last_steps(&plan), vec!["WORKDIR /e"]);
    assert_eq!(
        pairs(&last_step(&plan).env()),
        vec![("E".to_string(), "e".to_string())]
    );
}

#[test]
fn scratch_starts_with_default_path() {
    let plan = p("FROM scratch\nWORKDIR $PATH\n");
    assert_eq!(
        last_steps(&plan),
        vec![format!("WORKDIR {}", kiln::plan::DEFAULT_PATH)]
    );
}

#[test]
fn base_image_env_is_used_when_known() {
    let parsed = parse(b"FROM golang:1.22\nWORKDIR $GOPATH/src\n").unwrap();
    let mut opts = PlanOptions::default();
    opts.image_env
        .insert("golang:1.22".into(), vec![("GOPATH".into(), "/go".into())]);
    let plan = plan(&parsed, &opts).unwrap();
    assert_eq!(last_steps(&plan), vec!["WORKDIR /go/src"]);
    assert_eq!(plan.images(), vec!["golang:1.22"]);
}

#[test]
fn proxy_args_need_no_declaration_and_stay_out_of_expansion() {
    let src = "FROM alpine\nWORKDIR /x$HTTP_PROXY\nRUN true\n";
    let plan = plan_with(
        src,
        &[("HTTP_PROXY", "http://p:3128"), ("no_proxy", "x")],
        None,
    )
    .unwrap();
    assert!(plan.warnings.is_empty(), "{:?}", plan.warnings);
    assert_eq!(last_steps(&plan)[0], "WORKDIR /x");
    assert!(last_step(&plan).args().is_empty());
    assert_eq!(
        plan.proxy_env,
        vec![
            ("HTTP_PROXY".to_string(), "http://p:3128".to_string()),
            ("no_proxy".to_string(), "x".to_string())
        ]
    );
    let declared = "FROM alpine\nARG HTTP_PROXY\nWORKDIR /x$HTTP_PROXY\n";
    let plan = plan_with(declared, &[("HTTP_PROXY", "p")], None).unwrap();
    assert_eq!(last_steps(&plan)[1], "WORKDIR /xp");
}

#[test]
fn platform_args() {
    let plan = p("FROM alpine-$TARGETARCH:$BUILDOS\nWORKDIR /$TARGETOS\n");
    assert_eq!(
        plan.target().unwrap().base,
        kiln::plan::Base::Image("alpine-amd64:linux".into())
    );
    assert_eq!(last_steps(&plan), vec!["WORKDIR /"]);
    let plan = p("FROM alpine\nARG TARGETPLATFORM TARGETVARIANT BUILDARCH\nWORKDIR /$TARGETPLATFORM/$BUILDARCH/${TARGETVARIANT:-none}\n");
    assert_eq!(last_steps(&plan)[1], "WORKDIR /linux/amd64/amd64/none");
    let plan = plan_with("FROM --platform=$BUILDPLATFORM alpine\n", &[], None).unwrap();
    assert_eq!(
        plan.target().unwrap().platform.as_deref(),
        Some("linux/amd64")
    );
}

#[test]
fn expansion_per_instruction() {
    let src = "FROM alpine
ARG P=8080 U=app S=SIGTERM D=/data N=name
LABEL \"$N\"=\"v $U\"
EXPOSE $P/udp 22
USER $U:$U
STOPSIGNAL $S
VOLUME [\"$D\", \"/b\"]
WORKDIR $D/w
COPY --chown=$U:$U --chmod=0${P} src-$N $D/
ADD --checksum=sha256:$N http://x/$N.tar /$N
RUN echo $U > $D
CMD echo $U
ENTRYPOINT [\"$U\"]
ONBUILD RUN echo $U
RUN --mount=type=cache,target=$D/cache,id=c-$N,uid=${P} true
";
    let plan = p(src);
    assert_eq!(
        last_steps(&plan),
        vec![
            "ARG P=8080 U=app S=SIGTERM D=/data N=name",
            "LABEL name=\"v app\"",
            // sorted as written (before expansion), as BuildKit does
            "EXPOSE 8080/udp 22",
            "USER app:app",
            "STOPSIGNAL SIGTERM",
            "VOLUME [\"/data\",\"/b\"]",
            "WORKDIR /data/w",
            "COPY --chown=app:app --chmod=08080 src-name /data/",
            "ADD --checksum=sha256:name http://x/name.tar /name",
            "RUN echo $U > $D",
            "CMD echo $U",
            "ENTRYPOINT [\"$U\"]",
            "ONBUILD RUN echo $U",
            "RUN --mount=type=cache,target=/data/cache,id=c-name,sharing=shared,uid=8080,rw true",
        ]
    );
}

#[test]
fn expose_splits_words() {
    let plan = p("FROM alpine\nARG PORTS=\"80 443/tcp\"\nEXPOSE $PORTS\n");
    let Command::Expose(ports) = &last_step(&plan).instruction.command else {
        panic!()
    };
    assert_eq!(ports, &["80", "443/tcp"]);
}

#[test]
fn copy_heredoc_bodies_expand_unless_quoted() {
    let src =
        "FROM alpine\nARG N=kiln\nCOPY <<EOF /a\nhello $N\nEOF\nCOPY <<'EOF' /b\nhello $N\nEOF\n";
    let plan = p(src);
    let steps = &plan.target().unwrap().steps;
    let data = |i: usize| match &steps[i].instruction.command {
        Command::Copy(c) => c.contents[0].data.clone(),
        _ => panic!(),
    };
    assert_eq!(data(1), "hello kiln\n");
    assert_eq!(data(2), "hello $N\n");
}

#[test]
fn expansion_errors_name_the_line() {
    let e = plan_with("FROM alpine\n\nWORKDIR ${X:?X must be set}\n", &[], None).unwrap_err();
    assert!(e.starts_with("Dockerfile:3: WORKDIR: "), "{e}");
    assert!(e.contains("X must be set"), "{e}");
    let e = plan_with("FROM alpine\nARG E=\nVOLUME $E\n", &[], None).unwrap_err();
    assert_eq!(
        e,
        "Dockerfile:3: VOLUME specified can not be an empty string"
    );
    let e = plan_with("FROM ${NOPE}\n", &[], None).unwrap_err();
    assert_eq!(
        e,
        "Dockerfile:1: FROM: base name (${NOPE}) should not be blank"
    );
    let e = plan_with(
        "FROM alpine\nRUN --mount=type=$T,target=/a true\n",
        &[],
        None,
    )
    .unwrap_err();
    assert_eq!(e, "Dockerfile:2: RUN: unsupported mount type \"\"");
}

#[test]
fn unused_build_args_are_reported() {
    let src = "ARG G\nFROM alpine AS a\nARG A\nFROM alpine AS b\nARG B\n";
    let plan = plan_with(
        src,
        &[("G", "1"), ("A", "1"), ("B", "1"), ("ZZ", "1"), ("Y", "2")],
        Some("b"),
    )
    .unwrap();
    // A is only declared in a stage the target does not need.
    assert_eq!(
        plan.warnings,
        vec!["[Warning] One or more build-args [A Y ZZ] were not consumed"]
    );
    let plan = plan_with(src, &[("G", "1"), ("TARGETARCH", "arm64")], None).unwrap();
    assert!(plan.warnings.is_empty());
}

#[test]
fn stop_signal_is_checked_after_expansion() {
    let plan = p("FROM alpine\nARG S=sigquit\nSTOPSIGNAL $S\n");
    assert_eq!(last_steps(&plan)[1], "STOPSIGNAL sigquit");
    assert_eq!(
        plan_with("FROM alpine\nSTOPSIGNAL SIGNOPE\n", &[], None).unwrap_err(),
        "Dockerfile:2: STOPSIGNAL: Invalid signal: SIGNOPE"
    );
}
