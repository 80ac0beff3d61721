//! A readable, line-per-item rendering of a plan (`kiln debug plan`).

use std::fmt::Write;

use super::{Base, Plan, StageRef};

fn stage_label(plan: &Plan, index: usize) -> String {
    match plan.stage(index).and_then(|s| s.name.clone()) {
        Some(n) => format!("#{index} {n}"),
        None => format!("#{index}"),
    }
}

/// One line per stage (`stage #1 build: base=… level=… deps=…`), then one per step
/// (`  L12 COPY --from=build /x /y  <- #0 build`).
pub fn render(plan: &Plan) -> String {
    let mut out = String::new();
    let user_args: Vec<String> = plan
        .global_args
        .iter()
        .skip(super::scope::platform_args().len())
        .map(|(k, v)| match v {
            Some(v) => format!("{k}={v}"),
            None => k.clone(),
        })
        .collect();
    if !user_args.is_empty() {
        let _ = writeln!(out, "global args: {}", user_args.join(" "));
    }
    for s in &plan.stages {
        let base = match &s.base {
            Base::Scratch => "scratch".to_string(),
            Base::Image(r) => format!("image {r}"),
            Base::Stage(j) => format!("stage {}", stage_label(plan, *j)),
        };
        let deps = if s.deps.is_empty() {
            "-".to_string()
        } else {
            s.deps
                .iter()
                .map(|d| stage_label(plan, *d))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let _ = write!(
            out,
            "stage #{} {}: base={base} level={} deps={deps}",
            s.index,
            s.name.as_deref().unwrap_or("(unnamed)"),
            s.level
        );
        if let Some(p) = &s.platform {
            let _ = write!(out, " platform={p}");
        }
        out.push('\n');
        for step in &s.steps {
            let _ = write!(out, "  L{} {}", step.instruction.line, step.instruction);
            let reads: Vec<String> = step
                .deps
                .iter()
                .map(|d| match d {
                    StageRef::Stage(j) => stage_label(plan, *j),
                    StageRef::Image(i) => format!("image {i}"),
                })
                .collect();
            if !reads.is_empty() {
                let _ = write!(out, "  <- {}", reads.join(", "));
            }
            out.push('\n');
        }
    }
    if let Some(t) = plan.target() {
        let _ = writeln!(out, "target: {}", stage_label(plan, t.index));
    }
    out
}
