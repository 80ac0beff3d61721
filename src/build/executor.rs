//! The executor: every stage of the plan on its own thread, started as soon as the stages it
//! reads from are done (independent stages build in parallel), each step looked up in the
//! layer cache by its key before it is run (see [`crate::cache`]).

use super::copy::Prefetched;
use super::inputs::{instruction_text, ContextInputs};
use super::options::BuildOptions;
use crate::cache::{self, explain, Cache, Change, Entry, Inputs, StepState};
use crate::dockerfile::error::DockerfileError;
use crate::dockerfile::instructions::{
    self, Command, Instruction, MountType, Network as RunNetwork,
};
use crate::dockerfile::parser;
use crate::image::digest::Digest;
use crate::image::oci::{Descriptor, Manifest, MEDIA_OCI_CONFIG, MEDIA_OCI_MANIFEST};
use crate::plan::{self, Base, PlanOptions, Stage, StageRef, Step};
use crate::progress::{Event, Progress, StepId};
use crate::store::{Image, Store};
use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Condvar, Mutex, OnceLock};
use std::time::Instant;

#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    #[error("{0}")]
    Dockerfile(#[from] DockerfileError),
    /// A step failed: BuildKit's wording, with the stage and the Dockerfile line.
    #[error("failed to solve: {message}\n{file}:{line}\n--------------------\n{line:>4} | {original}\n--------------------")]
    Step {
        message: String,
        file: String,
        line: usize,
        original: String,
    },
    #[error("{0:#}")]
    Other(#[from] anyhow::Error),
}

/// Where a stage's filesystem and config stand after a step.
pub(super) type State = StepState;

/// Fetches an image into the store (by reference as written) and returns its manifest digest.
pub type Fetch<'a> = dyn Fn(&str) -> anyhow::Result<Digest> + 'a;

/// A finished stage: its state and the cache key of its last step.
#[derive(Debug, Clone)]
pub(super) struct Built {
    pub state: State,
    pub key: Digest,
}

pub(super) struct Ctx<'a> {
    pub store: &'a Store,
    pub cache: Cache,
    pub opts: &'a BuildOptions,
    pub exe: PathBuf,
    pub created: String,
    pub file_name: String,
    pub images: HashMap<String, Image>,
    pub results: Mutex<HashMap<usize, Built>>,
    pub done: Condvar,
    pub failed: AtomicBool,
    pub proxy_env: Vec<(String, String)>,
    pub progress: &'a dyn Progress,
    context: OnceLock<Result<ContextInputs, String>>,
    next_id: AtomicUsize,
    /// ADD URLs downloaded for keys during this build, and where they are kept until it ends.
    downloads: Mutex<Vec<Prefetched>>,
    download_dir: OnceLock<Result<tempfile::TempDir, String>>,
}

/// Builds the Dockerfile of `opts` into `store` and returns the stored image. `fetch` gets a
/// base image that is not in the store yet (or every base, with `opts.pull`); `progress`
/// receives the build's events.
pub fn build(
    store: &Store,
    opts: &BuildOptions,
    fetch: &Fetch<'_>,
    progress: &dyn Progress,
) -> Result<Image, BuildError> {
    let started = Instant::now();
    let file_name = opts.dockerfile.file_name().map_or_else(
        || "Dockerfile".to_string(),
        |n| n.to_string_lossy().into_owned(),
    );
    let text = std::fs::read(&opts.dockerfile).map_err(|e| {
        anyhow::anyhow!(
            "failed to read dockerfile {}: {e}",
            opts.dockerfile.display()
        )
    })?;
    let parsed = parser::parse(&text).map_err(|e| e.in_file(&file_name))?;
    let mut popts = PlanOptions {
        target: opts.target.clone(),
        build_args: opts.build_args.clone(),
        image_env: HashMap::new(),
    };
    let first = plan::plan(&parsed, &popts).map_err(|e| e.in_file(&file_name))?;
    super::platform::check_stages(&first.stages, &file_name)?;
    let _ingest = store.ingest().map_err(anyhow::Error::from)?;
    let mut images = HashMap::new();
    for r in first.images() {
        let img = ensure_image(store, &r, fetch, opts.pull)?;
        popts.image_env.insert(r.clone(), env_pairs(&img.config));
        images.insert(r, img);
    }
    let plan = plan::plan(&parsed, &popts).map_err(|e| e.in_file(&file_name))?;
    let planned = started.elapsed();
    for w in &plan.warnings {
        progress.event(Event::Warning(w));
    }
    let created = match opts.source_date_epoch {
        Some(e) => chrono::DateTime::from_timestamp(e, 0)
            .unwrap_or_default()
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        None => chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Nanos, true),
    };
    let ctx = Ctx {
        store,
        cache: Cache::open(store).map_err(|e| anyhow::anyhow!("opening the build cache: {e}"))?,
        opts,
        exe: std::env::current_exe()
            .map_err(|e| anyhow::anyhow!("finding the kiln binary: {e}"))?,
        created,
        file_name,
        images,
        results: Mutex::new(HashMap::new()),
        done: Condvar::new(),
        failed: AtomicBool::new(false),
        proxy_env: plan.proxy_env.clone(),
        progress,
        context: OnceLock::new(),
        next_id: AtomicUsize::new(0),
        downloads: Mutex::new(Vec::new()),
        download_dir: OnceLock::new(),
    };
    // Step numbers as docker counts them: every instruction of every stage built, FROM
    // included, in Dockerfile order.
    let total: usize = plan.stages.iter().map(|s| s.steps.len() + 1).sum();
    progress.event(Event::Start { total });
    let mut first_number = Vec::with_capacity(plan.stages.len());
    let mut n = 1;
    for s in &plan.stages {
        first_number.push(n);
        n += s.steps.len() + 1;
    }
    ctx.run_stages(&plan.stages, &first_number, total)?;
    let ran = started.elapsed();
    let target = plan
        .target()
        .ok_or_else(|| anyhow::anyhow!("no stage to build"))?;
    let mut built = ctx
        .results
        .lock()
        .map_err(|_| anyhow::anyhow!("a stage thread panicked"))?
        .remove(&target.index)
        .ok_or_else(|| anyhow::anyhow!("target stage was not built"))?;
    opts.apply_labels(&mut built.state.config);
    let image = commit_image(store, built.state, &ctx.created, &opts.tags)?;
    tracing::debug!(
        "build phases: parse, bases and plan {planned:.1?}; steps {:.1?}; image {:.1?}",
        ran - planned,
        started.elapsed() - ran
    );
    let id = image.id.to_string();
    progress.event(Event::Finished {
        id: &id,
        tags: &opts.tags,
        elapsed: started.elapsed(),
    });
    Ok(image)
}

fn ensure_image(store: &Store, r: &str, fetch: &Fetch<'_>, pull: bool) -> anyhow::Result<Image> {
    let reference = crate::image::reference::Reference::parse(r)?;
    if reference.digest().is_none() && !pull {
        if let Ok(res) = store.resolve(&reference.to_string()) {
            return Ok(store.image(&res.manifest)?);
        }
    }
    let d = fetch(r)?;
    Ok(store.image(&d)?)
}

/// Writes the config and manifest of `state` and names the image. The image's creation
/// time is that of its last step, so a rebuild that hits the cache all the way gives the
/// same image id.
fn commit_image(
    store: &Store,
    mut state: State,
    created: &str,
    tags: &[String],
) -> anyhow::Result<Image> {
    set_created(&mut state.config, created);
    let config_bytes = serde_json::to_vec(&state.config)?;
    let config_digest = store.put_blob(&config_bytes, None)?;
    let manifest = Manifest {
        schema_version: 2,
        media_type: Some(MEDIA_OCI_MANIFEST.to_string()),
        config: Descriptor {
            media_type: MEDIA_OCI_CONFIG.to_string(),
            digest: config_digest,
            size: config_bytes.len() as u64,
            platform: None,
            annotations: BTreeMap::new(),
            urls: Vec::new(),
        },
        layers: state.layers,
        annotations: BTreeMap::new(),
    };
    let bytes = serde_json::to_vec(&manifest)?;
    Ok(store.add_image(&bytes, tags)?)
}

/// An image config's Env as (key, value) pairs, for the planner.
fn env_pairs(config: &crate::image::oci::ImageConfig) -> Vec<(String, String)> {
    config
        .config
        .as_ref()
        .and_then(|c| c.env.clone())
        .unwrap_or_default()
        .into_iter()
        .map(|e| match e.split_once('=') {
            Some((k, v)) => (k.to_string(), v.to_string()),
            None => (e, String::new()),
        })
        .collect()
}

/// An image's creation time is its last step's (`fallback` without history).
fn set_created(config: &mut crate::image::oci::ImageConfig, fallback: &str) {
    config.created = Some(
        config
            .history
            .last()
            .and_then(|h| h.created.clone())
            .unwrap_or_else(|| fallback.to_string()),
    );
}

/// Docker's intermediate image id: the id the image would have if the build ended here
/// (so the last step's id is the one `Successfully built` prints).
fn config_id(state: &mut State) -> String {
    // Set and put back rather than cloned: the config holds the whole history.
    let saved = state.config.created.take();
    set_created(&mut state.config, "");
    let id = serde_json::to_vec(&state.config)
        .map(|b| Digest::of(&b).to_string())
        .unwrap_or_default();
    state.config.created = saved;
    id
}

impl Ctx<'_> {
    pub(super) fn step_error(&self, inst: &Instruction, message: String) -> BuildError {
        BuildError::Step {
            message,
            file: self.file_name.clone(),
            line: inst.line,
            original: inst.original.to_string(),
        }
    }

    /// A new step id, announced to the progress display.
    fn start_step(
        &self,
        number: usize,
        total: usize,
        stage: &str,
        text: &str,
    ) -> (StepId, Instant) {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        self.progress.event(Event::Step {
            id,
            number,
            total,
            stage,
            text,
        });
        (id, Instant::now())
    }

    /// Runs every stage on its own thread once its dependencies are built. The first error
    /// stops stages that have not started and is the one returned.
    fn run_stages(
        &self,
        stages: &[Stage],
        first_number: &[usize],
        total: usize,
    ) -> Result<(), BuildError> {
        if stages.len() == 1 {
            let built = self.run_stage(&stages[0], first_number[0], total)?;
            self.finish_stage(stages[0].index, built);
            return Ok(());
        }
        let errors: Mutex<Vec<BuildError>> = Mutex::new(Vec::new());
        std::thread::scope(|s| {
            for (stage, &number) in stages.iter().zip(first_number) {
                let errors = &errors;
                s.spawn(move || {
                    let r = self
                        .wait_for(&stage.deps)
                        .and_then(|()| self.run_stage(stage, number, total));
                    match r {
                        Ok(built) => self.finish_stage(stage.index, built),
                        Err(e) => {
                            self.failed.store(true, Ordering::SeqCst);
                            if let Ok(mut errs) = errors.lock() {
                                errs.push(e);
                            }
                            self.done.notify_all();
                        }
                    }
                });
            }
        });
        let mut errs = errors.into_inner().unwrap_or_default();
        // The error that stopped the build, not the "stopped" of stages that never ran.
        errs.sort_by_key(|e| matches!(e, BuildError::Other(_)));
        match errs.into_iter().next() {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    fn finish_stage(&self, index: usize, built: Built) {
        if let Ok(mut r) = self.results.lock() {
            r.insert(index, built);
        }
        self.done.notify_all();
    }

    /// Blocks until every stage in `deps` is built (or the build failed).
    fn wait_for(&self, deps: &[usize]) -> Result<(), BuildError> {
        let mut r = self
            .results
            .lock()
            .map_err(|_| anyhow::anyhow!("a stage thread panicked"))?;
        loop {
            if self.failed.load(Ordering::SeqCst) {
                return Err(anyhow::anyhow!("stopped: another stage failed").into());
            }
            if deps.iter().all(|d| r.contains_key(d)) {
                return Ok(());
            }
            r = self
                .done
                .wait(r)
                .map_err(|_| anyhow::anyhow!("a stage thread panicked"))?;
        }
    }

    /// The state a stage starts from, its key and (for explanations) what the base is.
    fn base_state(&self, stage: &Stage) -> Result<(State, Digest, String), BuildError> {
        let epoch = self
            .opts
            .source_date_epoch
            .map(|e| e.to_string())
            .unwrap_or_default();
        let platform = format!("{}|epoch={epoch}", stage.platform.as_deref().unwrap_or(""));
        Ok(match &stage.base {
            Base::Scratch => (
                State {
                    config: super::image_config::scratch_config(),
                    layers: Vec::new(),
                },
                cache::base_key("scratch", "", &platform),
                "scratch".to_string(),
            ),
            Base::Stage(j) => {
                let b = self
                    .results
                    .lock()
                    .map_err(|_| anyhow::anyhow!("a stage thread panicked"))?
                    .get(j)
                    .cloned()
                    .ok_or_else(|| anyhow::anyhow!("stage {j} was not built"))?;
                (b.state, b.key, format!("stage {j}"))
            }
            Base::Image(r) => {
                let img = self
                    .images
                    .get(r)
                    .ok_or_else(|| anyhow::anyhow!("image {r} was not pulled"))?;
                let mut config = img.config.clone();
                config.created = None;
                (
                    State {
                        config,
                        layers: img.manifest.layers.clone(),
                    },
                    cache::base_key("image", &img.id.to_string(), &platform),
                    format!("{r} ({})", crate::progress::short_id(&img.id.to_string())),
                )
            }
        })
    }

    fn run_stage(&self, stage: &Stage, number: usize, total: usize) -> Result<Built, BuildError> {
        let name = stage.display_name();
        let use_cache = !self.opts.no_cache
            && !self
                .opts
                .no_cache_filter
                .iter()
                .any(|f| *f == name || *f == stage.index.to_string());
        let (id, started) = self.start_step(number, total, &name, &stage.from.original);
        let (mut state, mut key, base) = self.base_state(stage)?;
        let image = match &stage.base {
            Base::Scratch => "scratch".to_string(),
            _ => config_id(&mut state),
        };
        self.progress.event(Event::Done {
            id,
            image: &image,
            elapsed: started.elapsed(),
        });
        let mut walk = Walk {
            stage: &name,
            use_cache,
            explained: false,
            base_key: key.clone(),
            base: &base,
        };
        // The base's ONBUILD triggers run first, and are consumed.
        let triggers = state
            .config
            .config
            .as_mut()
            .and_then(|c| c.on_build.take())
            .unwrap_or_default();
        for step in self.plan_triggers(&triggers, &state, stage)? {
            let text = format!("ONBUILD {}", step.instruction.original);
            self.step(&mut walk, &mut state, &mut key, &step, &text, number, total)?;
        }
        for (i, step) in stage.steps.iter().enumerate() {
            if self.failed.load(Ordering::SeqCst) {
                return Err(anyhow::anyhow!("stopped: another stage failed").into());
            }
            let text = step.instruction.original.clone();
            self.step(
                &mut walk,
                &mut state,
                &mut key,
                step,
                &text,
                number + 1 + i,
                total,
            )?;
        }
        Ok(Built { state, key })
    }

    /// The base image's ONBUILD triggers as steps, planned as if they followed the FROM:
    /// their words expanded with the base's environment, as BuildKit does.
    fn plan_triggers(
        &self,
        triggers: &[String],
        state: &State,
        stage: &Stage,
    ) -> Result<Vec<Step<'static>>, BuildError> {
        if triggers.is_empty() {
            return Ok(Vec::new());
        }
        const BASE: &str = "kiln-onbuild-base";
        let mut text = format!("FROM {BASE}\n");
        for t in triggers {
            text.push_str(t);
            text.push('\n');
        }
        let in_file = |e: DockerfileError| BuildError::from(e.in_file(&self.file_name));
        let parsed = parser::parse(text.as_bytes()).map_err(in_file)?;
        let opts = PlanOptions {
            target: None,
            build_args: BTreeMap::new(),
            image_env: HashMap::from([(BASE.to_string(), env_pairs(&state.config))]),
        };
        let mut plan = plan::plan(&parsed, &opts).map_err(in_file)?;
        let steps = std::mem::take(&mut plan.stages)
            .into_iter()
            .next()
            .map(|s| s.steps);
        let mut steps: Vec<Step<'static>> = steps
            .unwrap_or_default()
            .into_iter()
            .map(Step::into_owned)
            .collect();
        for s in &mut steps {
            s.instruction.line = stage.from.line;
        }
        Ok(steps)
    }

    /// One step: its key, then the cache, else running it and filing the result.
    #[allow(clippy::too_many_arguments)]
    fn step(
        &self,
        walk: &mut Walk<'_>,
        state: &mut State,
        key: &mut Digest,
        step: &Step,
        text: &str,
        number: usize,
        total: usize,
    ) -> Result<(), BuildError> {
        let (id, started) = self.start_step(number, total, walk.stage, text);
        let inputs = self.inputs(state, step)?;
        let new_key = inputs.key(key);
        let hit = |state: &mut State, key: &mut Digest| {
            self.progress.event(Event::Cached { id });
            *key = new_key.clone();
            let image = config_id(state);
            self.progress.event(Event::Done {
                id,
                image: &image,
                elapsed: started.elapsed(),
            });
        };
        if walk.use_cache {
            if self.cache.get(&new_key, state) {
                hit(state, key);
                return Ok(());
            }
            if self.opts.explain_cache && !walk.explained {
                walk.explained = true;
                let base = (*key == walk.base_key).then_some(walk.base);
                let reason = explain::explain(&self.cache, key, &inputs, text, base);
                self.progress.event(Event::Explain {
                    id,
                    reason: &reason,
                });
            }
        }
        // Another build may be making this very step: wait for it, then use its result.
        let _lock = self
            .cache
            .lock(&new_key)
            .map_err(|e| anyhow::anyhow!("locking the cache entry: {e}"))?;
        if walk.use_cache && self.cache.get(&new_key, state) {
            hit(state, key);
            return Ok(());
        }
        self.progress.event(Event::Running { id });
        let before = state.clone();
        if let Err(e) = self.execute(state, step, id) {
            let message = e.to_string();
            self.progress.event(Event::Failed {
                id,
                message: &message,
            });
            return Err(e);
        }
        match Change::between(&before, state) {
            Some(change) => {
                let entry = Entry {
                    key: new_key.clone(),
                    parent: key.clone(),
                    inputs,
                    text: text.to_string(),
                    layer: change.diff_ids.last().cloned(),
                    change,
                    created: cache::unix_now(),
                };
                // A cache that cannot be written costs the next build time, not this build.
                if let Err(e) = self.cache.put(&entry) {
                    tracing::warn!("writing cache entry {}: {e}", entry.key);
                }
            }
            None => tracing::warn!("step {text:?} rewrote the image's history: not cached"),
        }
        *key = new_key;
        let image = config_id(state);
        self.progress.event(Event::Done {
            id,
            image: &image,
            elapsed: started.elapsed(),
        });
        Ok(())
    }

    /// The scanned context, made on first use and shared by every stage.
    fn context(&self) -> Result<&ContextInputs, BuildError> {
        let c = self.context.get_or_init(|| {
            ContextInputs::scan(
                &self.cache.dir().join("context-index"),
                &self.opts.context,
                &self.opts.dockerfile,
            )
            .inspect(|c| tracing::debug!("context scanned: {} files read", c.files_hashed))
            .map_err(|e| format!("{e:#}"))
        });
        c.as_ref()
            .map_err(|e| anyhow::anyhow!("reading the build context: {e}").into())
    }

    /// Everything the result of `step` on `state` depends on (see [`crate::cache`]).
    fn inputs(&self, state: &State, step: &Step) -> Result<Inputs, BuildError> {
        let inst = &step.instruction;
        let mut inputs = Inputs {
            instruction: instruction_text(inst),
            ..Default::default()
        };
        match &inst.command {
            Command::Run(r) => {
                inputs.env = state
                    .config
                    .config
                    .as_ref()
                    .and_then(|c| c.env.clone())
                    .unwrap_or_default();
                for (k, v) in step.run_env() {
                    if !inputs
                        .env
                        .iter()
                        .any(|e| e.split_once('=').map(|x| x.0) == Some(&k))
                    {
                        inputs.env.push(format!("{k}={v}"));
                    }
                }
                let network = match r.network {
                    RunNetwork::None => crate::exec::Network::None,
                    RunNetwork::Host => crate::exec::Network::Host,
                    RunNetwork::Default => self.opts.network,
                };
                inputs
                    .parts
                    .push(("network".to_string(), format!("{network:?}")));
                for (i, m) in r.mounts.iter().enumerate() {
                    if m.kind != MountType::Bind {
                        continue;
                    }
                    if m.from.is_empty() {
                        let req = super::copy::CopyRequest {
                            sources: vec![m.source.clone()],
                            dest: "/".to_string(),
                            ..Default::default()
                        };
                        let part = self.listing_part(&req, inst)?;
                        inputs.parts.push((format!("files of mount {i}"), part));
                    } else {
                        let (_, from_key) = self.source_state(step, &m.from)?;
                        inputs
                            .parts
                            .push((format!("mount {i} from {}", m.from), from_key));
                    }
                }
            }
            Command::Copy(c) | Command::Add(c) => {
                if let Some(from) = &c.from {
                    let (_, from_key) = self.source_state(step, from)?;
                    inputs.parts.push((format!("--from={from}"), from_key));
                } else if c.contents.is_empty() {
                    let req = super::copy::CopyRequest {
                        sources: instructions::owned(&c.sources),
                        dest: c.dest.to_string(),
                        excludes: instructions::owned(&c.excludes),
                        parents: c.parents,
                        is_add: matches!(inst.command, Command::Add(_)),
                        ..Default::default()
                    };
                    if c.sources.iter().any(|s| !super::copy::is_url(s)) {
                        let part = self.listing_part(&req, inst)?;
                        inputs.parts.push(("files".to_string(), part));
                    }
                    if req.is_add {
                        for (i, s) in c.sources.iter().enumerate() {
                            if super::copy::is_url(s) {
                                let f = self
                                    .prefetch(s, c.checksum.as_deref())
                                    .map_err(|e| self.step_error(inst, e))?;
                                inputs.parts.push((format!("url {i}"), f.fingerprint()));
                            }
                        }
                    }
                }
            }
            _ => {}
        }
        Ok(inputs)
    }

    /// `url` downloaded and verified, once per build: for the key of the step that adds it,
    /// and then for the copy if the step runs.
    fn prefetch(&self, url: &str, checksum: Option<&str>) -> Result<Prefetched, String> {
        let same = |p: &&Prefetched| p.url == url && p.checksum.as_deref() == checksum;
        let lock = |m: &Mutex<Vec<Prefetched>>| {
            m.lock()
                .map(|v| v.iter().find(same).cloned())
                .map_err(|_| "a stage thread panicked".to_string())
        };
        if let Some(p) = lock(&self.downloads)? {
            return Ok(p);
        }
        let dir = self
            .download_dir
            .get_or_init(|| self.store.work_dir().map_err(|e| e.to_string()))
            .as_ref()
            .map_err(|e| format!("creating a download directory: {e}"))?;
        let n = self.next_id.fetch_add(1, Ordering::Relaxed);
        let p = super::copy::prefetch_url(url, checksum, &dir.path().join(format!("url-{n}")))
            .map_err(|e| e.to_string())?;
        if let Ok(mut v) = self.downloads.lock() {
            v.push(p.clone());
        }
        Ok(p)
    }

    /// The downloads of this build, for a copy.
    pub(super) fn prefetched(&self) -> Vec<Prefetched> {
        self.downloads.lock().map(|v| v.clone()).unwrap_or_default()
    }

    /// The digest of the listing of what `req` reads from the context, the listing kept for
    /// explanations.
    fn listing_part(
        &self,
        req: &super::copy::CopyRequest,
        inst: &Instruction,
    ) -> Result<String, BuildError> {
        let listing = self
            .context()?
            .listing(req)
            .map_err(|e| self.step_error(inst, format!("{e:#}")))?;
        let digest = listing.digest();
        if !self.cache.has_listing(&digest) {
            let _ = self.cache.put_listing(&digest, &listing.text());
        }
        Ok(digest.to_string())
    }

    /// The state a `--from` names (a stage of this build or an image) and its key.
    pub(super) fn source_state(
        &self,
        step: &Step,
        from: &str,
    ) -> Result<(State, String), BuildError> {
        for d in &step.deps {
            match d {
                StageRef::Stage(j) => {
                    let results = self
                        .results
                        .lock()
                        .map_err(|_| anyhow::anyhow!("a stage thread panicked"))?;
                    if let Some(b) = results.get(j) {
                        return Ok((b.state.clone(), b.key.to_string()));
                    }
                }
                StageRef::Image(r) if r == from => {
                    if let Some(img) = self.images.get(r) {
                        return Ok((
                            State {
                                config: img.config.clone(),
                                layers: img.manifest.layers.clone(),
                            },
                            img.id.to_string(),
                        ));
                    }
                }
                StageRef::Image(_) => {}
            }
        }
        Err(anyhow::anyhow!("--from={from}: not found").into())
    }
}

/// Where a stage's walk through its steps stands.
struct Walk<'a> {
    stage: &'a str,
    use_cache: bool,
    /// Only the first miss of a stage is explained: later ones follow from it.
    explained: bool,
    base_key: Digest,
    base: &'a str,
}
