//! Planning: from typed instructions to the build plan the scheduler walks. The semantics
//! are BuildKit's (`dockerfile2llb`), so that a Dockerfile means the same here as there.
//!
//! # What a [`Plan`] holds
//!
//! * `stages`: the stages the target needs (all others pruned), in Dockerfile order. Each
//!   [`Stage`] keeps its original `index` (what `COPY --from=0` means), its lower-cased
//!   `name`, its [`Base`] (an image reference, an earlier stage, or `scratch`), the
//!   `--platform` it asked for, the stages it `deps`ends on (from `FROM <stage>`,
//!   `COPY --from=<stage|index>` and `RUN --mount=from=<stage>`), the external `images` it
//!   needs, and its `level`: stages on the same level have no path between them, so a
//!   scheduler may build a whole level at once once the previous levels are done.
//! * Each [`Step`] holds the instruction with its words already expanded, the ENV list and
//!   the ARG values in scope when it runs (what a RUN sees as its environment, and what a
//!   cache key must cover), and the stages or images it reads from.
//! * `proxy_env`: the predefined proxy args given as build args. They reach every RUN but
//!   stay out of history and cache keys, as Docker does.
//! * `warnings`: e.g. build args that nothing consumed.
//!
//! # Scoping rules
//!
//! ARGs before the first FROM are global: they (and the automatic `TARGET*`/`BUILD*` platform
//! args) can be used in FROM lines, and inside a stage only after `ARG name` re-declares them.
//! `--build-arg` values override ARG defaults. Within a stage, ENV wins over an ARG of the
//! same name. A stage built on another stage inherits its ENV, not its ARGs. The base image's
//! own ENV is unknown until it is pulled: a builder plans once, pulls the `images`, then plans
//! again with [`PlanOptions::image_env`] filled so that `$PATH`-like references expand.
//!
//! `COPY --from` and `RUN --mount=from=` must be literal (BuildKit asks for an alias stage
//! instead of a variable), because the graph is built before any stage's scope exists.

mod expand;
pub mod graph;
pub mod render;
pub mod scope;

use std::collections::{BTreeMap, BTreeSet, HashMap};

use crate::dockerfile::error::DockerfileError;
use crate::dockerfile::instructions::{self, mount, Command, Instruction};
use crate::dockerfile::parser::{Node, ParseResult};
use crate::dockerfile::shell::Lexer;
use rayon::prelude::*;
use scope::{GlobalArgs, StageScope, StepVars, VarList};

/// What a stage's expansion gives.
struct Expanded<'a> {
    steps: Vec<Step<'a>>,
    /// ENV at the end of the stage.
    final_env: VarList,
    /// Build-arg names the stage's ARGs declared.
    consumed: BTreeSet<String>,
}

/// What every stage's expansion reads.
struct ExpandCtx<'p> {
    lexer: &'p Lexer,
    globals: &'p GlobalArgs,
    build_args: &'p BTreeMap<String, String>,
}

impl ExpandCtx<'_> {
    /// Expands a stage's steps in order, each with the scope as it is before it, recording
    /// that scope in the step.
    fn expand<'a>(
        &self,
        mut steps: Vec<Step<'a>>,
        mut scope: StageScope,
    ) -> Result<Expanded<'a>, DockerfileError> {
        let mut consumed = BTreeSet::new();
        let mut ex = expand::Expander {
            lexer: self.lexer,
            raw_lexer: {
                let mut l = Lexer::new('\\');
                l.raw_quotes = true;
                l
            },
            globals: self.globals,
            build_args: self.build_args,
            consumed: &mut consumed,
        };
        // Room for every ENV and ARG assignment of the stage, counted beforehand.
        let (mut env, mut args) = (0, 0);
        for step in &steps {
            match &step.instruction.command {
                Command::Env(kvs) => env += kvs.len(),
                Command::Arg(decls) => args += decls.len(),
                _ => {}
            }
        }
        scope.reserve(env, args);
        let mut marks = Vec::with_capacity(steps.len());
        for step in &mut steps {
            marks.push(scope.mark());
            ex.step(&mut scope, &mut step.instruction)?;
        }
        let done = scope.finish();
        for (step, mark) in steps.iter_mut().zip(marks) {
            step.vars = done.at(mark);
        }
        Ok(Expanded {
            steps,
            final_env: done.final_env(),
            consumed,
        })
    }
}

/// Where a stage starts from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Base {
    Scratch,
    /// An image reference, variables expanded (not yet normalised).
    Image(String),
    /// An earlier stage, by its index in the Dockerfile.
    Stage(usize),
}

/// Something a step reads from besides its own stage.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum StageRef {
    Stage(usize),
    Image(String),
}

/// A step borrows from the Dockerfile's text, as its [`Instruction`] does.
#[derive(Debug, Clone)]
pub struct Step<'a> {
    /// The instruction with its words expanded (RUN mounts parsed).
    pub instruction: Instruction<'a>,
    /// ENV in effect when the step runs (the base's, then the stage's ENV lines) and the
    /// ARGs in scope with a value.
    pub vars: StepVars,
    pub deps: Vec<StageRef>,
}

impl Step<'_> {
    /// The same step, no longer borrowing the Dockerfile's text.
    pub fn into_owned(self) -> Step<'static> {
        Step {
            instruction: self.instruction.into_owned(),
            vars: self.vars,
            deps: self.deps,
        }
    }

    /// ENV in effect when the step runs: the base's, then the stage's ENV lines.
    pub fn env(&self) -> VarList {
        self.vars.env()
    }

    /// ARGs in scope with a value.
    pub fn args(&self) -> VarList {
        self.vars.args()
    }

    /// The environment of a RUN: ENV, then ARGs that no ENV shadows.
    pub fn run_env(&self) -> Vec<(String, String)> {
        let mut out = scope::pairs(&self.env());
        for (k, v) in self.args().iter() {
            if !out.iter().any(|(ek, _)| **ek == *k) {
                out.push((k.to_string(), v.to_string()));
            }
        }
        out
    }
}

#[derive(Debug, Clone)]
pub struct Stage<'a> {
    /// Position among all stages of the Dockerfile.
    pub index: usize,
    pub name: Option<String>,
    pub base: Base,
    pub platform: Option<String>,
    pub level: usize,
    /// Indices of the stages this one needs, sorted.
    pub deps: Vec<usize>,
    /// External images this stage needs (its base and `--from` images), sorted.
    pub images: Vec<String>,
    /// The FROM line, expanded.
    pub from: Instruction<'a>,
    pub steps: Vec<Step<'a>>,
    /// ENV at the end of the stage (what a stage built on this one starts with).
    pub final_env: VarList,
}

impl Stage<'_> {
    /// `name`, or `stage-N` as BuildKit calls unnamed stages.
    pub fn display_name(&self) -> String {
        self.name
            .clone()
            .unwrap_or_else(|| format!("stage-{}", self.index))
    }
}

/// A plan borrows from the Dockerfile's text.
#[derive(Debug, Clone)]
pub struct Plan<'a> {
    /// Kept stages in Dockerfile order; the last is the target.
    pub stages: Vec<Stage<'a>>,
    /// Global args (platform args first) with their final values.
    pub global_args: Vec<(String, Option<String>)>,
    pub proxy_env: Vec<(String, String)>,
    pub warnings: Vec<String>,
}

impl Drop for Plan<'_> {
    /// A long plan is freed on the pool, as it was built there: its many small allocations
    /// are freed on several threads, and mostly by the threads that made them, which costs
    /// the allocator less than freeing another thread's memory.
    fn drop(&mut self) {
        let steps: usize = self.stages.iter().map(|s| s.steps.len()).sum();
        if steps >= PARALLEL_MIN && rayon::current_num_threads() > 1 {
            std::mem::take(&mut self.stages)
                .into_par_iter()
                .for_each(|stage| stage.steps.into_par_iter().with_min_len(64).for_each(drop));
        }
    }
}

impl<'a> Plan<'a> {
    /// A kept stage by its Dockerfile index.
    pub fn stage(&self, index: usize) -> Option<&Stage<'a>> {
        self.stages.iter().find(|s| s.index == index)
    }

    pub fn target(&self) -> Option<&Stage<'a>> {
        self.stages.last()
    }

    /// Every external image the plan needs, sorted and without duplicates.
    pub fn images(&self) -> Vec<String> {
        let set: BTreeSet<&String> = self.stages.iter().flat_map(|s| &s.images).collect();
        set.into_iter().cloned().collect()
    }
}

#[derive(Debug, Clone, Default)]
pub struct PlanOptions {
    /// Build only this stage and what it needs (by name, case-insensitive).
    pub target: Option<String>,
    pub build_args: BTreeMap<String, String>,
    /// ENV of base images, keyed by the reference as written after expansion.
    pub image_env: HashMap<String, Vec<(String, String)>>,
}

/// BuildKit's default PATH, which a `scratch` stage starts with.
pub const DEFAULT_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// Below this many instructions planning stays on the calling thread: for a short file,
/// handing work to the thread pool costs more than it saves.
const PARALLEL_MIN: usize = 256;

/// Plans a parsed Dockerfile.
///
/// Long files are lowered, and their stages expanded, on rayon's pool: instructions lower
/// independently of each other, and a stage's words expand independently of the stages
/// beside it. Errors are still those of a front-to-back pass: the first in the file wins.
pub fn plan<'a>(parsed: &ParseResult<'a>, opts: &PlanOptions) -> Result<Plan<'a>, DockerfileError> {
    plan_on(parsed, opts, parsed.ast.children.len() >= PARALLEL_MIN)
}

/// [`plan`], on the pool or not.
fn plan_on<'a>(
    parsed: &ParseResult<'a>,
    opts: &PlanOptions,
    parallel: bool,
) -> Result<Plan<'a>, DockerfileError> {
    let split = split_stages(&parsed.ast.children, parallel)?;
    plan_stages(split, parsed.directives.escape, opts, parallel)
}

/// A stage as written. Its instructions are lowered straight into their final [`Step`]s
/// (scopes and dependencies filled in later): an instruction is large, and a list of them
/// between lowering and planning would be written, read and moved once more.
struct RawStage<'a> {
    from: Instruction<'a>,
    steps: Vec<Step<'a>>,
}

fn is_from_node(node: &Node<'_>) -> bool {
    node.value.eq_ignore_ascii_case("from")
}

type Split<'a> = (Vec<Instruction<'a>>, Vec<RawStage<'a>>);

/// The first lowering error in the file, by instruction position: lowering on the pool
/// meets errors in any order.
#[derive(Default)]
struct FirstError(std::sync::Mutex<Option<(usize, DockerfileError)>>);

impl FirstError {
    fn offer(&self, at: usize, e: DockerfileError) {
        let mut first = self.0.lock().unwrap_or_else(|p| p.into_inner());
        if first.as_ref().is_none_or(|(i, _)| at < *i) {
            *first = Some((at, e));
        }
    }

    fn into_inner(self) -> Option<(usize, DockerfileError)> {
        self.0.into_inner().unwrap_or_else(|p| p.into_inner())
    }
}

/// Lowers the instructions into the global ARGs and the stages. The first error in
/// lowering wins over a misplaced instruction, as when every instruction is lowered before
/// the stages are split.
fn split_stages<'a>(nodes: &[Node<'a>], parallel: bool) -> Result<Split<'a>, DockerfileError> {
    let starts: Vec<usize> = (0..nodes.len())
        .filter(|&i| is_from_node(&nodes[i]))
        .collect();
    let first = FirstError::default();
    let lower_at = |i: usize, args: &mut Vec<_>| match instructions::lower_with(&nodes[i], args) {
        Ok(inst) => Some(inst),
        Err(e) => {
            first.offer(i, e);
            None
        }
    };
    // An instruction that failed to lower leaves a stand-in: the error ends planning.
    let stand_in = || Instruction {
        keyword: "",
        line: 0,
        end_line: 0,
        original: Default::default(),
        command: Command::Maintainer(Default::default()),
    };
    let step_at = |i: usize, args: &mut Vec<_>| Step {
        instruction: lower_at(i, args).unwrap_or_else(stand_in),
        vars: StepVars::default(),
        deps: Vec::new(),
    };
    let mut args = Vec::new();
    let head = starts.first().copied().unwrap_or(nodes.len());
    let meta: Vec<Instruction<'a>> = (0..head).filter_map(|i| lower_at(i, &mut args)).collect();
    // The instructions after each FROM, up to the next.
    let bodies: Vec<std::ops::Range<usize>> = (0..starts.len())
        .map(|k| starts[k] + 1..starts.get(k + 1).copied().unwrap_or(nodes.len()))
        .collect();
    let mut raw: Vec<RawStage<'a>> = starts
        .iter()
        .zip(&bodies)
        .map(|(&at, body)| RawStage {
            from: lower_at(at, &mut args).unwrap_or_else(stand_in),
            steps: Vec::with_capacity(body.len()),
        })
        .collect();
    if parallel {
        // Stages side by side, and the instructions of a long stage split among threads.
        raw.par_iter_mut().zip(&bodies).for_each(|(st, body)| {
            body.clone()
                .into_par_iter()
                .with_min_len(64)
                .map_init(Vec::new, |args, i| step_at(i, args))
                .collect_into_vec(&mut st.steps)
        });
    } else {
        for (st, body) in raw.iter_mut().zip(&bodies) {
            st.steps.extend(body.clone().map(|i| step_at(i, &mut args)));
        }
    }
    if let Some((_, e)) = first.into_inner() {
        return Err(e);
    }
    if let Some(inst) = meta.iter().find(|i| !matches!(i.command, Command::Arg(_))) {
        return Err(DockerfileError::new(
            inst.line,
            Some(inst.keyword),
            "no build stage in current context",
        ));
    }
    Ok((meta, raw))
}

fn plan_stages<'a>(
    (meta, mut raw): Split<'a>,
    escape: char,
    opts: &PlanOptions,
    parallel: bool,
) -> Result<Plan<'a>, DockerfileError> {
    let lexer = Lexer::new(escape);
    let mut warnings = Vec::new();
    if raw.is_empty() {
        return Err(DockerfileError::new(
            0,
            None,
            "dockerfile contains no stages to build",
        ));
    }

    // Global scope: platform args, then each ARG before the first FROM.
    let mut consumed: BTreeSet<String> = BTreeSet::new();
    let mut globals = GlobalArgs::default();
    for (k, v) in scope::platform_args() {
        let v = opts.build_args.get(&k).cloned().unwrap_or(v);
        consumed.insert(k.clone());
        globals.push(k, Some(v));
    }
    for inst in &meta {
        let Command::Arg(decls) = &inst.command else {
            continue;
        };
        for d in decls {
            consumed.insert(d.key.to_string());
            let value = match (opts.build_args.get(&*d.key), &d.default) {
                (Some(v), _) => Some(v.clone()),
                (None, Some(def)) => Some(
                    lexer
                        .process_word(def, &globals)
                        .map_err(|e| DockerfileError::new(inst.line, Some("ARG"), e.0))?,
                ),
                (None, None) => None,
            };
            globals.push(d.key.to_string(), value);
        }
    }

    // Stage headers: FROM expanded with the global args, names registered in order.
    let mut by_name: HashMap<String, usize> = HashMap::new();
    let mut heads = Vec::with_capacity(raw.len());
    for (i, st) in raw.iter().enumerate() {
        let inst = &st.from;
        let Command::From(f) = &inst.command else {
            unreachable!("stages start with FROM")
        };
        let err = |m: String| DockerfileError::new(inst.line, Some("FROM"), m);
        let image = lexer
            .process_word(&f.image, &globals)
            .map_err(|e| err(e.0))?;
        if image.is_empty() {
            return Err(err(format!("base name ({}) should not be blank", f.image)));
        }
        let platform = match &f.platform {
            Some(p) => {
                let p = lexer.process_word(p, &globals).map_err(|e| err(e.0))?;
                (!p.is_empty()).then_some(p)
            }
            None => None,
        };
        let base = if let Some(&j) = by_name.get(&image.to_ascii_lowercase()) {
            Base::Stage(j)
        } else if image == "scratch" {
            Base::Scratch
        } else {
            Base::Image(image.clone())
        };
        if let Some(n) = &f.name {
            if by_name.insert(n.clone(), i).is_some() {
                warnings.push(format!(
                    "Dockerfile:{}: Duplicate stage name {n:?}, stage names should be unique",
                    inst.line
                ));
            }
        }
        let mut from = inst.clone();
        from.command = Command::From(instructions::From {
            image: image.into(),
            name: f.name.clone(),
            platform: platform.clone().map(Into::into),
        });
        heads.push((base, platform, from));
    }

    // The graph, from literal stage references.
    let n = raw.len();
    let resolve =
        |from: &str, by_index: bool, inst: &Instruction| -> Result<StageRef, DockerfileError> {
            if by_index {
                if let Ok(idx) = from.parse::<i64>() {
                    return usize::try_from(idx)
                        .ok()
                        .filter(|&i| i < n)
                        .map(StageRef::Stage)
                        .ok_or_else(|| {
                            DockerfileError::new(
                                inst.line,
                                Some(inst.keyword),
                                format!("invalid stage index {idx}"),
                            )
                        });
                }
            }
            // Stage names are lower-cased; most references are written that way already.
            let lower = match from.bytes().any(|b| b.is_ascii_uppercase()) {
                true => std::borrow::Cow::Owned(from.to_ascii_lowercase()),
                false => std::borrow::Cow::Borrowed(from),
            };
            Ok(match by_name.get(&*lower) {
                Some(&j) => StageRef::Stage(j),
                None => StageRef::Image(from.to_string()),
            })
        };
    let mut deps: Vec<Vec<usize>> = Vec::with_capacity(n);
    for (i, st) in raw.iter_mut().enumerate() {
        let mut stage_deps = BTreeSet::new();
        if let Base::Stage(j) = heads[i].0 {
            stage_deps.insert(j);
        }
        for step in &mut st.steps {
            let inst = &step.instruction;
            let mut refs = Vec::new();
            match &inst.command {
                Command::Copy(c) => {
                    if let Some(from) = &c.from {
                        if from.find('$').is_some_and(|p| p + 1 != from.len()) {
                            return Err(DockerfileError::new(
                                inst.line,
                                Some(inst.keyword),
                                "'from' doesn't support variable expansion, define alias stage instead",
                            ));
                        }
                        refs.push(resolve(from, true, inst)?);
                    }
                }
                Command::Run(r) => {
                    for spec in &r.mount_specs {
                        if let Some(from) = mount::literal_from(spec).filter(|f| !f.is_empty()) {
                            refs.push(resolve(&from, false, inst)?);
                        }
                    }
                }
                _ => {}
            }
            for r in &refs {
                if let StageRef::Stage(j) = r {
                    stage_deps.insert(*j);
                }
            }
            step.deps = refs;
        }
        deps.push(stage_deps.into_iter().collect());
    }
    if let Some(s) = graph::find_cycle(&deps) {
        let name = heads[s].2.clone();
        let label = match &name.command {
            Command::From(f) => f.name.clone().unwrap_or_else(|| format!("stage-{s}")),
            _ => format!("stage-{s}"),
        };
        return Err(DockerfileError::new(
            name.line,
            None,
            format!("circular dependency detected on stage: {label}"),
        ));
    }

    let target = match &opts.target {
        Some(t) => *by_name.get(&t.to_ascii_lowercase()).ok_or_else(|| {
            DockerfileError::new(0, None, format!("target stage {t:?} could not be found"))
        })?,
        None => n - 1,
    };
    let keep = graph::reachable(&deps, target);

    // Expand the kept stages. A stage built on another starts with that stage's final ENV,
    // so stages go in waves: a stage's wave is one more than its base stage's (a base stage
    // always comes earlier in the file), and the stages of one wave are independent.
    let mut wave = vec![0usize; n];
    for i in 0..n {
        if let Base::Stage(j) = heads[i].0 {
            wave[i] = wave[j] + 1;
        }
    }
    let waves = (0..n)
        .filter(|&i| keep[i])
        .map(|i| wave[i])
        .max()
        .unwrap_or(0);
    let mut pending: Vec<Option<RawStage<'a>>> = raw
        .into_iter()
        .zip(&keep)
        .map(|(st, &k)| k.then_some(st))
        .collect();
    let mut expanded: Vec<Option<Result<Expanded<'a>, DockerfileError>>> =
        (0..n).map(|_| None).collect();
    let ctx = ExpandCtx {
        lexer: &lexer,
        globals: &globals,
        build_args: &opts.build_args,
    };
    for w in 0..=waves {
        let mut batch = Vec::new();
        for i in (0..n).filter(|&i| wave[i] == w) {
            let Some(st) = pending[i].take() else {
                continue;
            };
            let scope = match &heads[i].0 {
                Base::Scratch => StageScope::with_env([("PATH", DEFAULT_PATH)]),
                Base::Image(r) => StageScope::with_env(
                    opts.image_env
                        .get(r)
                        .into_iter()
                        .flatten()
                        .map(|(k, v)| (k.as_str(), v.as_str())),
                ),
                Base::Stage(j) => match &expanded[*j] {
                    Some(Ok(base)) => StageScope::with_env(base.final_env.to_vec()),
                    // The base stage failed, and its error comes first in the file.
                    _ => continue,
                },
            };
            batch.push((i, st.steps, scope));
        }
        let run =
            |(i, steps, scope): (usize, Vec<Step<'a>>, StageScope)| (i, ctx.expand(steps, scope));
        let results: Vec<_> = if parallel && batch.len() > 1 {
            batch.into_par_iter().map(run).collect()
        } else {
            batch.into_iter().map(run).collect()
        };
        for (i, r) in results {
            expanded[i] = Some(r);
        }
    }

    let mut stages: Vec<Stage> = Vec::new();
    for (i, ex) in expanded.into_iter().enumerate() {
        let Some(ex) = ex else {
            continue;
        };
        let Expanded {
            steps,
            final_env,
            consumed: used,
        } = ex?;
        consumed.extend(used);
        let (base, platform, from) = &heads[i];
        let mut images: BTreeSet<String> = BTreeSet::new();
        if let Base::Image(r) = base {
            images.insert(r.clone());
        }
        for r in steps.iter().flat_map(|s: &Step| &s.deps) {
            if let StageRef::Image(img) = r {
                if img != "scratch" {
                    images.insert(img.clone());
                }
            }
        }
        let Command::From(f) = &from.command else {
            unreachable!("stage headers are FROM")
        };
        stages.push(Stage {
            index: i,
            name: f.name.clone(),
            base: base.clone(),
            platform: platform.clone(),
            level: 0,
            deps: deps[i].clone(),
            images: images.into_iter().collect(),
            from: from.clone(),
            steps,
            final_env,
        });
    }
    // Levels among the kept stages only.
    let kept_levels = {
        let pos: HashMap<usize, usize> = stages
            .iter()
            .enumerate()
            .map(|(p, s)| (s.index, p))
            .collect();
        let local: Vec<Vec<usize>> = stages
            .iter()
            .map(|s| s.deps.iter().filter_map(|d| pos.get(d).copied()).collect())
            .collect();
        graph::levels(&local)
    };
    for (s, l) in stages.iter_mut().zip(kept_levels) {
        s.level = l;
    }

    let unused: Vec<&str> = opts
        .build_args
        .keys()
        .filter(|k| !consumed.contains(*k) && !scope::is_proxy_arg(k))
        .map(String::as_str)
        .collect();
    if !unused.is_empty() {
        warnings.push(format!(
            "[Warning] One or more build-args [{}] were not consumed",
            unused.join(" ")
        ));
    }
    let proxy_env = opts
        .build_args
        .iter()
        .filter(|(k, _)| scope::is_proxy_arg(k))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();

    Ok(Plan {
        stages,
        global_args: globals.args.clone(),
        proxy_env,
        warnings,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dockerfile::parser::parse;

    /// Four stages, one built on another, with an instruction to replace by a faulty one.
    fn file(faults: &[(usize, &str)]) -> String {
        let mut lines = vec!["ARG BASE=alpine".to_string()];
        for st in 0..4 {
            match st {
                2 => lines.push("FROM s1 AS s2".to_string()),
                _ => lines.push(format!("FROM $BASE AS s{st}")),
            }
            for i in 0..80 {
                lines.push(match i % 4 {
                    0 => format!("ENV P{i}=/p/{i}:$PATH Q=\"${{P{i}}} x\""),
                    1 => format!("WORKDIR /w/${{Q:-none}}/{i}"),
                    2 => format!("RUN --mount=type=cache,target=/c/$Q echo {i}"),
                    _ if st == 0 => format!("COPY --from=busybox /a{i} /b/${{P{i}}}/"),
                    _ => format!("COPY --from=s{} /a{i} /b/${{P{i}}}/", st - 1),
                });
            }
        }
        for &(at, text) in faults {
            lines[at] = text.to_string();
        }
        lines.join("\n") + "\n"
    }

    /// Planning on the pool gives what planning on one thread gives, the first error in
    /// the file included, wherever the faults are.
    #[test]
    fn the_pool_plans_as_one_thread_does() {
        let faults: [&[(usize, &str)]; 7] = [
            &[],
            &[(200, "WORKDIR ${NOPE:?gone}")],
            &[(300, "RUN --bogus x"), (200, "WORKDIR ${NOPE:?gone}")],
            &[(100, "STOPSIGNAL NOPE"), (250, "COPY --chown")],
            &[(0, "USER before-any-stage"), (310, "FRM x")],
            &[(0, "USER before-any-stage")],
            &[(170, "ENV A=\"unterminated")],
        ];
        for f in faults {
            let src = file(f);
            let parsed = parse(src.as_bytes()).expect("parses");
            assert!(parsed.ast.children.len() >= PARALLEL_MIN);
            let opts = PlanOptions::default();
            let one = format!("{:?}", plan_on(&parsed, &opts, false));
            let pool = format!("{:?}", plan_on(&parsed, &opts, true));
            assert_eq!(pool, one, "faults {f:?}");
            assert_eq!(format!("{:?}", plan(&parsed, &opts)), one);
            assert_eq!(
                f.is_empty(),
                !one.starts_with("Err"),
                "faults {f:?}: {one:.200}"
            );
        }
    }
}
