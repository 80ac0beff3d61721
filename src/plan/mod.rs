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
use crate::dockerfile::instructions::{self, mount, Command, Instruction, Text};
use crate::dockerfile::parser::{Node, ParseResult};
use crate::dockerfile::shell::Lexer;
use rayon::prelude::*;
use scope::{FastHash, GlobalArgs, StageScope, StepVars, VarList};

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
/// Long files are planned on rayon's pool: instructions lower independently of each other,
/// and a stage's words expand independently of the stages beside it. Errors are still those
/// of a front-to-back pass: the first in the file wins.
pub fn plan<'a>(parsed: &ParseResult<'a>, opts: &PlanOptions) -> Result<Plan<'a>, DockerfileError> {
    plan_on(parsed, opts, parsed.ast.children.len() >= PARALLEL_MIN)
}

/// [`plan`], on the pool or not.
///
/// Errors come in the order of a front-to-back pass: lowering (the first in the file), the
/// global ARGs and FROM lines, stage references, then each kept stage's expansion. The work
/// is done in another order. The global ARGs and FROM lines are read first, so that on the
/// pool a stage whose base is not another stage can be lowered, resolved and expanded by one
/// task, in one parallel region: every region costs wake-ups of sleeping threads (a hundred
/// microseconds and more on a busy machine), a pass over every step between two regions
/// costs its cache misses, and a stage just lowered is still in its thread's cache. Such a
/// stage is expanded before the graph says whether the target needs it; the results and
/// errors of a stage it does not need are dropped. With `--target`, which usually leaves
/// stages out, stages are expanded only once known to be needed.
fn plan_on<'a>(
    parsed: &ParseResult<'a>,
    opts: &PlanOptions,
    parallel: bool,
) -> Result<Plan<'a>, DockerfileError> {
    let nodes = &parsed.ast.children;
    let lexer = Lexer::new(parsed.directives.escape);
    let layout = Layout::of(nodes);
    let first = FirstError::default();
    let mut args = Vec::new();
    let lower = Lowerer {
        nodes,
        first: &first,
    };
    let meta: Vec<Instruction<'a>> = (0..layout.head)
        .filter_map(|i| lower.instruction(i, &mut args))
        .collect();
    let froms: Vec<Instruction<'a>> = layout
        .starts
        .iter()
        .map(|&i| lower.instruction(i, &mut args).unwrap_or_else(stand_in))
        .collect();
    // Its errors count only if no lowering error comes before them.
    let header = first
        .is_empty()
        .then(|| Header::read(&meta, &froms, &lexer, opts));
    let fused = match &header {
        Some(Ok(h)) if parallel && opts.target.is_none() => Some(h),
        _ => None,
    };
    let stage_task = |k: usize, args: &mut Vec<_>| -> StageWork<'a> {
        let body = layout.bodies[k].clone();
        let mut steps = Vec::with_capacity(body.len());
        // A stage with a large share of the instructions is lowered on several threads;
        // the others are lowered by one, as the stages alone keep the pool busy.
        if parallel && body.len() * 2 * rayon::current_num_threads() > nodes.len() {
            body.into_par_iter()
                .with_min_len(64)
                .map_init(Vec::new, |args, i| lower.step(i, args))
                .collect_into_vec(&mut steps);
        } else {
            steps.extend(body.map(|i| lower.step(i, args)));
        }
        let Some(h) = fused else {
            return StageWork::Lowered(steps, None);
        };
        let needs = match h.stage_deps(k, &mut steps) {
            Ok(needs) => needs,
            Err(e) => return StageWork::Lowered(steps, Some(Err(e))),
        };
        let Some(scope) = h.scope(k, opts, None) else {
            // Built on another stage: expanded once that stage is.
            return StageWork::Lowered(steps, Some(Ok(needs)));
        };
        let ctx = ExpandCtx {
            lexer: &lexer,
            globals: &h.globals,
            build_args: &opts.build_args,
        };
        StageWork::Expanded(ctx.expand(steps, scope), needs)
    };
    let work: Vec<StageWork<'a>> = if parallel {
        (0..layout.bodies.len())
            .into_par_iter()
            .map_init(Vec::new, |args, k| stage_task(k, args))
            .collect()
    } else {
        (0..layout.bodies.len())
            .map(|k| stage_task(k, &mut args))
            .collect()
    };
    if let Some((_, e)) = first.into_inner() {
        return Err(e);
    }
    let header = match header {
        Some(h) => h?,
        None => unreachable!("the header is read whenever the instructions before it lowered"),
    };
    finish(header, work, &lexer, opts, parallel)
}

/// Lowers instructions, keeping the first error in the file: shared by the header, read on
/// the calling thread, and the stages' tasks on the pool.
struct Lowerer<'n, 'a> {
    nodes: &'n [Node<'a>],
    first: &'n FirstError,
}

impl<'n, 'a> Lowerer<'n, 'a> {
    #[inline]
    fn instruction(&self, i: usize, args: &mut Vec<&'n Text<'a>>) -> Option<Instruction<'a>> {
        match instructions::lower_with(&self.nodes[i], args) {
            Ok(inst) => Some(inst),
            Err(e) => {
                self.first.offer(i, e);
                None
            }
        }
    }

    #[inline]
    fn step(&self, i: usize, args: &mut Vec<&'n Text<'a>>) -> Step<'a> {
        Step {
            instruction: self.instruction(i, args).unwrap_or_else(stand_in),
            vars: StepVars::default(),
            deps: Vec::new(),
        }
    }
}

/// An instruction that failed to lower leaves a stand-in: the error ends planning.
fn stand_in<'a>() -> Instruction<'a> {
    Instruction {
        keyword: "",
        line: 0,
        end_line: 0,
        original: Default::default(),
        command: Command::Maintainer(Default::default()),
    }
}

fn is_from_node(node: &Node<'_>) -> bool {
    node.value.eq_ignore_ascii_case("from")
}

/// Where the stages lie among the instructions.
struct Layout {
    /// The instructions before the first FROM.
    head: usize,
    /// Each FROM.
    starts: Vec<usize>,
    /// The instructions after each FROM, up to the next.
    bodies: Vec<std::ops::Range<usize>>,
}

impl Layout {
    fn of(nodes: &[Node<'_>]) -> Self {
        let starts: Vec<usize> = (0..nodes.len())
            .filter(|&i| is_from_node(&nodes[i]))
            .collect();
        let bodies = (0..starts.len())
            .map(|k| starts[k] + 1..starts.get(k + 1).copied().unwrap_or(nodes.len()))
            .collect();
        Layout {
            head: starts.first().copied().unwrap_or(nodes.len()),
            starts,
            bodies,
        }
    }
}

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

    fn is_empty(&self) -> bool {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).is_none()
    }

    fn into_inner(self) -> Option<(usize, DockerfileError)> {
        self.0.into_inner().unwrap_or_else(|p| p.into_inner())
    }
}

/// A stage after the parallel region: lowered (its stage references resolved if they were),
/// or, its references resolved, expanded too.
enum StageWork<'a> {
    Lowered(Vec<Step<'a>>, Option<Result<Needs, DockerfileError>>),
    Expanded(Result<Expanded<'a>, DockerfileError>, Needs),
}

/// What a stage reads from besides its own steps.
struct Needs {
    /// The stages, sorted.
    stages: Vec<usize>,
    /// The external images (its base and `--from` images), sorted.
    images: Vec<String>,
}

/// A stage's FROM line, expanded: its base, its platform, and the instruction as expanded.
type Head<'a> = (Base, Option<String>, Instruction<'a>);

/// What the global ARGs and the FROM lines say: all that a stage's expansion needs besides
/// its own steps (and, for a stage built on another, that stage's final ENV).
struct Header<'a> {
    globals: GlobalArgs,
    heads: Vec<Head<'a>>,
    /// Looked up per `COPY --from` and mount `from=`: a fast hash (names come from the
    /// Dockerfile itself, and the map is never iterated, so its order cannot show).
    by_name: HashMap<String, usize, FastHash>,
    /// Build-arg names the global ARGs (and platform args) consumed.
    consumed: BTreeSet<String>,
    warnings: Vec<String>,
}

impl<'a> Header<'a> {
    fn read(
        meta: &[Instruction<'a>],
        froms: &[Instruction<'a>],
        lexer: &Lexer,
        opts: &PlanOptions,
    ) -> Result<Self, DockerfileError> {
        if let Some(inst) = meta.iter().find(|i| !matches!(i.command, Command::Arg(_))) {
            return Err(DockerfileError::new(
                inst.line,
                Some(inst.keyword),
                "no build stage in current context",
            ));
        }
        if froms.is_empty() {
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
        for inst in meta {
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
        let mut warnings = Vec::new();
        let mut by_name: HashMap<String, usize, FastHash> = HashMap::default();
        let mut heads = Vec::with_capacity(froms.len());
        for (i, inst) in froms.iter().enumerate() {
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
        Ok(Header {
            globals,
            heads,
            by_name,
            consumed,
            warnings,
        })
    }

    /// A stage reference (`COPY --from`, `RUN --mount=from=`) as a stage or an image.
    fn resolve(
        &self,
        from: &str,
        by_index: bool,
        inst: &Instruction,
    ) -> Result<StageRef, DockerfileError> {
        if by_index {
            if let Ok(idx) = from.parse::<i64>() {
                return usize::try_from(idx)
                    .ok()
                    .filter(|&i| i < self.heads.len())
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
        Ok(match self.by_name.get(&*lower) {
            Some(&j) => StageRef::Stage(j),
            None => StageRef::Image(from.to_string()),
        })
    }

    /// Records in each step of stage `k` what it reads from; gives what the stage needs.
    /// (Collected here, in the stage's task, so that no later pass over every step is left
    /// to one thread.)
    fn stage_deps(&self, k: usize, steps: &mut [Step<'_>]) -> Result<Needs, DockerfileError> {
        let mut stage_deps = BTreeSet::new();
        let mut images = BTreeSet::new();
        match &self.heads[k].0 {
            Base::Stage(j) => {
                stage_deps.insert(*j);
            }
            Base::Image(r) => {
                images.insert(r.clone());
            }
            Base::Scratch => {}
        }
        for step in steps {
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
                        refs.push(self.resolve(from, true, inst)?);
                    }
                }
                Command::Run(r) => {
                    for spec in &r.mount_specs {
                        if let Some(from) = mount::literal_from(spec).filter(|f| !f.is_empty()) {
                            refs.push(self.resolve(&from, false, inst)?);
                        }
                    }
                }
                _ => {}
            }
            for r in &refs {
                match r {
                    StageRef::Stage(j) => {
                        stage_deps.insert(*j);
                    }
                    StageRef::Image(img) if img != "scratch" => {
                        images.insert(img.clone());
                    }
                    StageRef::Image(_) => {}
                }
            }
            step.deps = refs;
        }
        Ok(Needs {
            stages: stage_deps.into_iter().collect(),
            images: images.into_iter().collect(),
        })
    }

    /// The scope stage `k` starts with: its base image's ENV, or its base stage's final ENV
    /// (`base_env`; none when that is not known yet).
    fn scope(
        &self,
        k: usize,
        opts: &PlanOptions,
        base_env: Option<&VarList>,
    ) -> Option<StageScope> {
        match &self.heads[k].0 {
            Base::Scratch => Some(StageScope::with_env([("PATH", DEFAULT_PATH)])),
            Base::Image(r) => Some(StageScope::with_env(
                opts.image_env
                    .get(r)
                    .into_iter()
                    .flatten()
                    .map(|(k, v)| (k.as_str(), v.as_str())),
            )),
            Base::Stage(_) => base_env.map(|env| StageScope::with_env(env.to_vec())),
        }
    }
}

/// The rest of planning once every stage is lowered: stage references, the graph and the
/// target, the expansion of the stages not yet expanded, and the plan.
fn finish<'a>(
    mut header: Header<'a>,
    work: Vec<StageWork<'a>>,
    lexer: &Lexer,
    opts: &PlanOptions,
    parallel: bool,
) -> Result<Plan<'a>, DockerfileError> {
    let n = work.len();
    let mut consumed = std::mem::take(&mut header.consumed);
    let mut warnings = std::mem::take(&mut header.warnings);

    // The graph, from literal stage references; their errors in the file's order.
    let mut deps: Vec<Vec<usize>> = Vec::with_capacity(n);
    let mut images: Vec<Vec<String>> = Vec::with_capacity(n);
    let mut pending: Vec<Option<Vec<Step<'a>>>> = Vec::with_capacity(n);
    let mut expanded: Vec<Option<Result<Expanded<'a>, DockerfileError>>> = Vec::with_capacity(n);
    for (k, w) in work.into_iter().enumerate() {
        match w {
            StageWork::Lowered(mut steps, resolved) => {
                let needs = resolved.unwrap_or_else(|| header.stage_deps(k, &mut steps))?;
                deps.push(needs.stages);
                images.push(needs.images);
                pending.push(Some(steps));
                expanded.push(None);
            }
            StageWork::Expanded(result, needs) => {
                deps.push(needs.stages);
                images.push(needs.images);
                pending.push(None);
                expanded.push(Some(result));
            }
        }
    }
    let heads = &header.heads;
    if let Some(s) = graph::find_cycle(&deps) {
        let name = &heads[s].2;
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
        Some(t) => *header.by_name.get(&t.to_ascii_lowercase()).ok_or_else(|| {
            DockerfileError::new(0, None, format!("target stage {t:?} could not be found"))
        })?,
        None => n - 1,
    };
    let keep = graph::reachable(&deps, target);
    // A stage the target does not need is neither expanded nor reported on.
    for i in (0..n).filter(|&i| !keep[i]) {
        pending[i] = None;
        expanded[i] = None;
    }

    // Expand the kept stages still to expand. A stage built on another starts with that
    // stage's final ENV, so stages go in waves: a stage's wave is one more than its base
    // stage's (a base stage always comes earlier in the file), and the stages of one wave
    // are independent.
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
    let ctx = ExpandCtx {
        lexer,
        globals: &header.globals,
        build_args: &opts.build_args,
    };
    for w in 0..=waves {
        let mut batch = Vec::new();
        for i in (0..n).filter(|&i| wave[i] == w) {
            let Some(steps) = pending[i].take() else {
                continue;
            };
            let base_env = match heads[i].0 {
                Base::Stage(j) => match &expanded[j] {
                    Some(Ok(base)) => Some(&base.final_env),
                    // The base stage failed, and its error comes first in the file.
                    _ => continue,
                },
                _ => None,
            };
            let Some(scope) = header.scope(i, opts, base_env) else {
                continue;
            };
            batch.push((i, steps, scope));
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
            images: std::mem::take(&mut images[i]),
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
        global_args: header.globals.args.clone(),
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
        // Stage k's FROM is line 1 + 81 k; stage 2 is built on stage 1.
        let faults: [&[(usize, &str)]; 15] = [
            &[],
            &[(200, "WORKDIR ${NOPE:?gone}")],
            &[(300, "RUN --bogus x"), (200, "WORKDIR ${NOPE:?gone}")],
            &[(100, "STOPSIGNAL NOPE"), (250, "COPY --chown")],
            &[(0, "USER before-any-stage"), (310, "FRM x")],
            &[(0, "USER before-any-stage")],
            &[(170, "ENV A=\"unterminated")],
            // Errors of the global ARGs, of FROM lines and of stage references come
            // after lowering errors and before expansion errors, wherever they are.
            &[
                (0, "ARG BASE=${NOPE:?no base}"),
                (20, "WORKDIR ${NOPE:?gone}"),
            ],
            &[(0, "ARG BASE=${NOPE:?no base}"), (300, "RUN --bogus x")],
            &[
                (82, "FROM ${NOPE:?no base} AS s1"),
                (20, "WORKDIR ${NOPE:?gone}"),
            ],
            &[(250, "COPY --from=7 /a /b"), (20, "WORKDIR ${NOPE:?gone}")],
            &[(250, "COPY --from=$X /a /b"), (90, "COPY --from=0x /a /b")],
            &[(100, "COPY --from=s3 /a /b"), (20, "WORKDIR ${NOPE:?gone}")],
            // An expansion error in a stage built on another, and one in its base.
            &[
                (200, "WORKDIR ${NOPE:?gone}"),
                (120, "WORKDIR ${NOPE:?base}"),
            ],
            &[(0, "ARG BASE=scratch")],
        ];
        for f in faults {
            let src = file(f);
            let parsed = parse(src.as_bytes()).expect("parses");
            assert!(parsed.ast.children.len() >= PARALLEL_MIN);
            let mut opts = PlanOptions {
                build_args: [("UNUSED".to_string(), "x".to_string())].into(),
                ..PlanOptions::default()
            };
            let one = format!("{:?}", plan_on(&parsed, &opts, false));
            let pool = format!("{:?}", plan_on(&parsed, &opts, true));
            assert_eq!(pool, one, "faults {f:?}");
            assert_eq!(format!("{:?}", plan(&parsed, &opts)), one);
            let fine = f.is_empty() || f == [(0, "ARG BASE=scratch")];
            assert_eq!(fine, !one.starts_with("Err"), "faults {f:?}: {one:.200}");
            for target in ["s1", "s2"] {
                opts.target = Some(target.to_string());
                let one = format!("{:?}", plan_on(&parsed, &opts, false));
                let pool = format!("{:?}", plan_on(&parsed, &opts, true));
                assert_eq!(pool, one, "faults {f:?}, target {target}");
            }
        }
    }

    /// A stage with most of the file's instructions is lowered on several threads, with the
    /// same result, first error included.
    #[test]
    fn a_long_stage_plans_on_the_pool_as_on_one_thread() {
        for fault in [
            "",
            "RUN --bogus x",
            "WORKDIR ${NOPE:?gone}",
            "COPY --from=9 /a /b",
        ] {
            let mut src = String::from("FROM busybox AS one\n");
            for i in 0..400 {
                src.push_str(&match i {
                    333 if !fault.is_empty() => fault.to_string(),
                    _ => {
                        format!("ENV P{i}=/p/{i}:$PATH\nRUN --mount=type=cache,target=/c/$P{i} x\n")
                    }
                });
            }
            src.push_str("FROM busybox\nCOPY --from=one /a /b\n");
            let parsed = parse(src.as_bytes()).expect("parses");
            let opts = PlanOptions::default();
            let one = format!("{:?}", plan_on(&parsed, &opts, false));
            assert_eq!(format!("{:?}", plan_on(&parsed, &opts, true)), one);
            assert_eq!(
                fault.is_empty(),
                !one.starts_with("Err"),
                "{fault}: {one:.200}"
            );
        }
    }

    /// A stage the target does not need is planned on the pool, with the others, before the
    /// graph is known; what it would say (an error, a consumed build arg) is left out, as
    /// when it is never expanded.
    #[test]
    fn a_stage_nothing_needs_leaves_no_trace() {
        let src = "FROM busybox AS unused\nARG B\nWORKDIR ${NOPE:?never}\nFROM busybox\nARG A\nRUN true\n";
        let parsed = parse(src.as_bytes()).expect("parses");
        let opts = PlanOptions {
            build_args: [("A", "1"), ("B", "2")]
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .into(),
            ..PlanOptions::default()
        };
        for parallel in [false, true] {
            let p = plan_on(&parsed, &opts, parallel).expect("plans");
            assert_eq!(p.stages.len(), 1);
            assert_eq!(p.stages[0].index, 1);
            assert_eq!(
                p.warnings,
                ["[Warning] One or more build-args [B] were not consumed"]
            );
        }
    }
}
