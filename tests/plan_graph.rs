//! The stage graph: edges from FROM, COPY --from and RUN --mount=from, --target pruning,
//! parallel levels, and the errors around stage references.

use kiln::dockerfile::parser::parse;
use kiln::plan::{plan, Base, Plan, PlanOptions, StageRef};

fn plan_with<'a>(src: &'a str, target: Option<&str>) -> Result<Plan<'a>, String> {
    let parsed = parse(src.as_bytes()).map_err(|e| e.to_string())?;
    let opts = PlanOptions {
        target: target.map(str::to_string),
        ..Default::default()
    };
    plan(&parsed, &opts).map_err(|e| e.to_string())
}

fn p(src: &str) -> Plan<'_> {
    plan_with(src, None).expect("plans")
}

/// (index, level, deps) of every kept stage.
fn shape(plan: &Plan<'_>) -> Vec<(usize, usize, Vec<usize>)> {
    plan.stages
        .iter()
        .map(|s| (s.index, s.level, s.deps.clone()))
        .collect()
}

const DIAMOND: &str = "FROM alpine AS base
RUN echo base
FROM base AS left
RUN echo left
FROM golang AS right
COPY --from=base /a /a
FROM scratch AS tools
FROM alpine AS final
COPY --from=left /l /l
COPY --from=2 /r /r
RUN --mount=type=bind,from=tools,target=/t true
FROM busybox AS unrelated
";

#[test]
fn edges_from_all_three_sources() {
    let src = DIAMOND.replace("FROM busybox AS unrelated\n", "");
    let plan = p(&src);
    assert_eq!(
        shape(&plan),
        vec![
            (0, 0, vec![]),
            (1, 1, vec![0]),
            (2, 1, vec![0]),
            (3, 0, vec![]),
            (4, 2, vec![1, 2, 3]),
        ]
    );
    let left = plan.stage(1).unwrap();
    assert_eq!(left.base, Base::Stage(0));
    assert!(left.images.is_empty());
    let right = plan.stage(2).unwrap();
    assert_eq!(right.base, Base::Image("golang".into()));
    assert_eq!(right.steps[0].deps, vec![StageRef::Stage(0)]);
    let fin = plan.stage(4).unwrap();
    assert_eq!(fin.steps[0].deps, vec![StageRef::Stage(1)]);
    assert_eq!(fin.steps[1].deps, vec![StageRef::Stage(2)]);
    assert_eq!(fin.steps[2].deps, vec![StageRef::Stage(3)]);
    assert_eq!(plan.stage(3).unwrap().base, Base::Scratch);
    assert_eq!(plan.images(), vec!["alpine", "golang"]);
}

#[test]
fn default_target_is_the_last_stage() {
    let plan = p(DIAMOND);
    assert_eq!(shape(&plan), vec![(5, 0, vec![])]);
    assert_eq!(plan.target().unwrap().name.as_deref(), Some("unrelated"));
}

#[test]
fn target_keeps_only_what_it_needs() {
    let plan = plan_with(DIAMOND, Some("FINAL")).unwrap();
    let kept: Vec<usize> = plan.stages.iter().map(|s| s.index).collect();
    assert_eq!(kept, vec![0, 1, 2, 3, 4]);
    let plan = plan_with(DIAMOND, Some("right")).unwrap();
    assert_eq!(shape(&plan), vec![(0, 0, vec![]), (2, 1, vec![0])]);
    let plan = plan_with(DIAMOND, Some("tools")).unwrap();
    assert_eq!(shape(&plan), vec![(3, 0, vec![])]);
    assert_eq!(
        plan_with(DIAMOND, Some("nope")).unwrap_err(),
        "Dockerfile: target stage \"nope\" could not be found"
    );
}

#[test]
fn copy_from_an_unknown_name_is_an_image() {
    let plan = p("FROM alpine\nCOPY --from=nginx:1.25 /etc/nginx /n\n");
    let s = plan.target().unwrap();
    assert_eq!(s.steps[0].deps, vec![StageRef::Image("nginx:1.25".into())]);
    assert_eq!(s.images, vec!["alpine", "nginx:1.25"]);
    assert!(s.deps.is_empty());
}

#[test]
fn stage_names_are_case_insensitive() {
    let plan = p("FROM alpine AS Builder\nFROM builder\nCOPY --from=BUILDER /a /a\n");
    assert_eq!(plan.stage(0).unwrap().name.as_deref(), Some("builder"));
    assert_eq!(plan.stage(1).unwrap().base, Base::Stage(0));
}

#[test]
fn from_only_sees_earlier_stages() {
    // `FROM later` names an image: the stage called `later` comes after it.
    let plan = plan_with("FROM later AS first\nFROM alpine AS later\n", Some("first")).unwrap();
    assert_eq!(plan.stages[0].base, Base::Image("later".into()));
}

#[test]
fn copy_from_a_later_stage_is_allowed() {
    let plan = plan_with(
        "FROM alpine AS a\nCOPY --from=b /x /x\nFROM alpine AS b\n",
        Some("a"),
    )
    .unwrap();
    assert_eq!(shape(&plan), vec![(0, 1, vec![1]), (1, 0, vec![])]);
}

#[test]
fn reference_errors() {
    assert_eq!(
        plan_with("FROM alpine AS a\nCOPY --from=a /x /x\n", None).unwrap_err(),
        "Dockerfile:1: circular dependency detected on stage: a"
    );
    assert_eq!(
        plan_with(
            "FROM alpine AS a\nCOPY --from=b /x /x\nFROM alpine AS b\nCOPY --from=a /y /y\n",
            None
        )
        .unwrap_err(),
        "Dockerfile:1: circular dependency detected on stage: a"
    );
    assert_eq!(
        plan_with("FROM alpine\nCOPY --from=3 /x /x\n", None).unwrap_err(),
        "Dockerfile:2: COPY: invalid stage index 3"
    );
    assert_eq!(
        plan_with("FROM alpine\nARG S=x\nCOPY --from=$S /x /x\n", None).unwrap_err(),
        "Dockerfile:3: COPY: 'from' doesn't support variable expansion, define alias stage instead"
    );
    assert_eq!(
        plan_with("FROM alpine\nRUN --mount=from=${S},target=/a true\n", None).unwrap_err(),
        "Dockerfile:2: RUN: 'from' doesn't support variable expansion, define alias stage instead"
    );
    assert_eq!(
        plan_with("ARG A\nRUN true\nFROM alpine\n", None).unwrap_err(),
        "Dockerfile:2: RUN: no build stage in current context"
    );
    assert_eq!(
        plan_with("ARG A\n", None).unwrap_err(),
        "Dockerfile: dockerfile contains no stages to build"
    );
}

#[test]
fn duplicate_stage_names_warn_and_the_later_wins() {
    let plan = p("FROM alpine AS x\nFROM busybox AS x\nFROM x\n");
    assert_eq!(
        plan.warnings,
        vec!["Dockerfile:2: Duplicate stage name \"x\", stage names should be unique"]
    );
    assert_eq!(plan.target().unwrap().base, Base::Stage(1));
}

#[test]
fn independent_stages_share_a_level() {
    let mut src = String::new();
    for i in 0..4 {
        src.push_str(&format!("FROM alpine AS s{i}\nRUN echo {i}\n"));
    }
    src.push_str("FROM alpine\n");
    for i in 0..4 {
        src.push_str(&format!("COPY --from=s{i} /o /o{i}\n"));
    }
    let plan = p(&src);
    let levels: Vec<usize> = plan.stages.iter().map(|s| s.level).collect();
    assert_eq!(levels, vec![0, 0, 0, 0, 1]);
}
