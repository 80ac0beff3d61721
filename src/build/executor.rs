//! The executor: stages in Dockerfile order, steps in order, each on the snapshots of the
//! step before it. A step that changes files leaves a layer (stored uncompressed, hashed while
//! written) and its upper dir becomes that layer's snapshot as it is.

use super::copy::CopyRequest;
use super::fsop::{self, CopySource, FsOp, FsSpec};
use super::image_config::{self as ic, default_shell};
use super::options::BuildOptions;
use crate::dockerfile::error::DockerfileError;
use crate::dockerfile::instructions::{
    chomp_heredoc, heredoc_marker, Command, Instruction, MountType, Network as RunNetwork,
};
use crate::dockerfile::parser;
use crate::exec::{self, MountKind, RootFs, SandboxSpec};
use crate::image::digest::Digest;
use crate::image::oci::{Descriptor, ImageConfig, Manifest, MEDIA_OCI_CONFIG, MEDIA_OCI_MANIFEST};
use crate::plan::{self, Base, PlanOptions, Stage, StageRef, Step};
use crate::snapshot::upper::{write_layer, LayerOptions};
use crate::store::{Image, Store};
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

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
#[derive(Debug, Clone)]
struct State {
    config: ImageConfig,
    /// Manifest descriptors, parallel to `config.rootfs.diff_ids`.
    layers: Vec<Descriptor>,
}

/// Fetches an image into the store (by reference as written) and returns its manifest digest.
pub type Fetch<'a> = dyn Fn(&str) -> anyhow::Result<Digest> + 'a;

struct Ctx<'a> {
    store: &'a Store,
    opts: &'a BuildOptions,
    exe: PathBuf,
    created: String,
    file_name: String,
    images: HashMap<String, Image>,
    results: HashMap<usize, State>,
    proxy_env: Vec<(String, String)>,
    out: &'a mut dyn FnMut(&str),
    counter: usize,
}

/// Builds the Dockerfile of `opts` into `store` and returns the stored image. `fetch` gets a
/// base image that is not in the store yet; `out` receives progress lines.
pub fn build(
    store: &Store,
    opts: &BuildOptions,
    fetch: &Fetch<'_>,
    out: &mut dyn FnMut(&str),
) -> Result<Image, BuildError> {
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
    let _ingest = store.ingest().map_err(anyhow::Error::from)?;
    let mut images = HashMap::new();
    for r in first.images() {
        let img = ensure_image(store, &r, fetch)?;
        let env = img
            .config
            .config
            .as_ref()
            .and_then(|c| c.env.clone())
            .unwrap_or_default()
            .into_iter()
            .map(|e| match e.split_once('=') {
                Some((k, v)) => (k.to_string(), v.to_string()),
                None => (e, String::new()),
            })
            .collect();
        popts.image_env.insert(r.clone(), env);
        images.insert(r, img);
    }
    let plan = plan::plan(&parsed, &popts).map_err(|e| e.in_file(&file_name))?;
    for w in &plan.warnings {
        out(w);
    }
    let created = match opts.source_date_epoch {
        Some(e) => chrono::DateTime::from_timestamp(e, 0)
            .unwrap_or_default()
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        None => chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Nanos, true),
    };
    let mut ctx = Ctx {
        store,
        opts,
        exe: std::env::current_exe()
            .map_err(|e| anyhow::anyhow!("finding the kiln binary: {e}"))?,
        created,
        file_name,
        images,
        results: HashMap::new(),
        proxy_env: plan.proxy_env.clone(),
        out,
        counter: 0,
    };
    let total: usize = plan.stages.iter().map(|s| s.steps.len() + 1).sum();
    let mut k = 0;
    for stage in &plan.stages {
        k += 1;
        let state = ctx.run_stage(stage, &mut k, total)?;
        ctx.results.insert(stage.index, state);
    }
    let target = plan
        .target()
        .ok_or_else(|| anyhow::anyhow!("no stage to build"))?;
    let state = ctx
        .results
        .remove(&target.index)
        .ok_or_else(|| anyhow::anyhow!("target stage was not built"))?;
    Ok(commit_image(store, state, &ctx.created, &opts.tags)?)
}

fn ensure_image(store: &Store, r: &str, fetch: &Fetch<'_>) -> anyhow::Result<Image> {
    let reference = crate::image::reference::Reference::parse(r)?;
    if reference.digest().is_none() {
        if let Ok(res) = store.resolve(&reference.to_string()) {
            return Ok(store.image(&res.manifest)?);
        }
    }
    let d = fetch(r)?;
    Ok(store.image(&d)?)
}

/// Writes the config and manifest of `state` and names the image.
fn commit_image(
    store: &Store,
    mut state: State,
    created: &str,
    tags: &[String],
) -> anyhow::Result<Image> {
    state.config.created = Some(created.to_string());
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

impl Ctx<'_> {
    fn say(&mut self, line: &str) {
        (self.out)(line);
    }

    fn step_error(&self, inst: &Instruction, message: String) -> BuildError {
        BuildError::Step {
            message,
            file: self.file_name.clone(),
            line: inst.line,
            original: inst.original.clone(),
        }
    }

    fn base_state(&self, stage: &Stage) -> Result<State, BuildError> {
        Ok(match &stage.base {
            Base::Scratch => State {
                config: ic::scratch_config(),
                layers: Vec::new(),
            },
            Base::Stage(j) => self
                .results
                .get(j)
                .cloned()
                .ok_or_else(|| anyhow::anyhow!("stage {j} was not built"))?,
            Base::Image(r) => {
                let img = self
                    .images
                    .get(r)
                    .ok_or_else(|| anyhow::anyhow!("image {r} was not pulled"))?;
                let mut config = img.config.clone();
                config.created = None;
                State {
                    config,
                    layers: img.manifest.layers.clone(),
                }
            }
        })
    }

    fn run_stage(
        &mut self,
        stage: &Stage,
        k: &mut usize,
        total: usize,
    ) -> Result<State, BuildError> {
        let name = stage.display_name();
        self.counter += 1;
        let line = format!(
            "#{} [{name} {k}/{total}] {}",
            self.counter, stage.from.original
        );
        self.say(&line);
        let mut state = self.base_state(stage)?;
        // The base's ONBUILD triggers run first, and are consumed.
        let triggers = state
            .config
            .config
            .as_mut()
            .and_then(|c| c.on_build.take())
            .unwrap_or_default();
        for t in triggers {
            let line = format!("#{} [{name}] ONBUILD {t}", self.counter);
            self.say(&line);
            let parsed = parser::parse(t.as_bytes()).map_err(|e| e.in_file(&self.file_name))?;
            let instrs = crate::dockerfile::instructions::lower_all(&parsed.ast)
                .map_err(|e| e.in_file(&self.file_name))?;
            for mut instruction in instrs {
                instruction.line = stage.from.line;
                let step = Step {
                    instruction,
                    env: Default::default(),
                    args: Default::default(),
                    deps: Vec::new(),
                };
                self.run_step(&mut state, &step)?;
            }
        }
        for step in &stage.steps {
            *k += 1;
            self.counter += 1;
            let line = format!(
                "#{} [{name} {k}/{total}] {}",
                self.counter, step.instruction.original
            );
            self.say(&line);
            self.run_step(&mut state, step)?;
        }
        Ok(state)
    }

    /// The snapshot dirs of `state`, top-most first.
    fn lowers(&self, state: &State) -> anyhow::Result<Vec<PathBuf>> {
        let mut v = Vec::new();
        for d in &state.config.rootfs.diff_ids {
            v.push(self.store.snapshot(d)?);
        }
        v.reverse();
        Ok(v)
    }

    fn run_step(&mut self, state: &mut State, step: &Step) -> Result<(), BuildError> {
        let inst = &step.instruction;
        let shell = state
            .config
            .config
            .as_ref()
            .and_then(|c| c.shell.clone())
            .unwrap_or_else(default_shell);
        match &inst.command {
            Command::Run(r) => {
                let created_by = format!("RUN {}", run_args(&r.cmd, &shell).join(" "));
                self.run(state, step, r, &shell)?;
                self.push_history(state, created_by, true);
            }
            Command::Copy(c) | Command::Add(c) => {
                let is_add = matches!(inst.command, Command::Add(_));
                self.copy(state, step, c, is_add)?;
                let kw = if is_add { "ADD" } else { "COPY" };
                let mut words: Vec<String> = c.sources.clone();
                words.extend(c.contents.iter().map(|x| x.path.clone()));
                let created_by = format!("{kw} {} {}", words.join(" "), c.dest);
                self.push_history(state, created_by, true);
            }
            Command::Workdir(_) => {
                ic::apply(&mut state.config, inst);
                let wd = state
                    .config
                    .config
                    .as_ref()
                    .and_then(|c| c.working_dir.clone())
                    .unwrap_or_else(|| "/".to_string());
                self.fs_step(state, inst, FsOp::Mkdir { path: wd.clone() })?;
                self.push_history(state, format!("WORKDIR {wd}"), true);
            }
            Command::Arg(_) | Command::From(_) => {}
            _ => {
                ic::apply(&mut state.config, inst);
                let created_by = config_created_by(inst, &shell);
                self.push_history(state, created_by, false);
            }
        }
        Ok(())
    }

    fn push_history(&self, state: &mut State, created_by: String, layer: bool) {
        state
            .config
            .history
            .push(ic::history(created_by, layer, &self.created));
    }

    /// Writes the layer of `upper`, adopts `upper` as its snapshot and appends it to `state`.
    fn commit_layer(&self, state: &mut State, upper: &Path) -> anyhow::Result<()> {
        let lopts = LayerOptions {
            source_date_epoch: self.opts.source_date_epoch,
        };
        let writer = self.store.blob_writer()?;
        let writer = write_layer(upper, writer, &lopts)?;
        let rec = self.store.commit_layer_tar(writer)?;
        self.store.commit_snapshot(&rec.diff_id, upper)?;
        let blob = rec
            .uncompressed()
            .cloned()
            .ok_or_else(|| anyhow::anyhow!("layer {} has no uncompressed blob", rec.diff_id))?;
        state.config.rootfs.diff_ids.push(rec.diff_id.clone());
        state.layers.push(Descriptor {
            media_type: blob.media_type,
            digest: blob.digest,
            size: blob.size,
            platform: None,
            annotations: BTreeMap::new(),
            urls: Vec::new(),
        });
        Ok(())
    }

    /// Runs a filesystem op through the helper on top of `state` and commits its layer.
    fn fs_step(
        &mut self,
        state: &mut State,
        inst: &Instruction,
        op: FsOp,
    ) -> Result<(), BuildError> {
        let work = self.store.work_dir().map_err(anyhow::Error::from)?;
        let (upper, wdir, merged, empty) = dirs(work.path()).map_err(anyhow::Error::from)?;
        let mut lower = self.lowers(state)?;
        if lower.is_empty() {
            lower.push(empty);
        }
        let spec = FsSpec {
            lower,
            upper: upper.clone(),
            work: wdir,
            merged,
            op,
        };
        fsop::run(&spec, &self.exe, &work.path().join("spec.json"))
            .map_err(|m| self.step_error(inst, m))?;
        self.commit_layer(state, &upper)?;
        Ok(())
    }

    fn copy(
        &mut self,
        state: &mut State,
        step: &Step,
        c: &crate::dockerfile::instructions::Copy,
        is_add: bool,
    ) -> Result<(), BuildError> {
        let inst = &step.instruction;
        let cfg = state.config.config.clone().unwrap_or_default();
        let mut request = CopyRequest {
            sources: c.sources.clone(),
            dest: c.dest.clone(),
            workdir: cfg.working_dir.clone().unwrap_or_default(),
            chown: c.chown.clone(),
            chmod: c.chmod.clone(),
            excludes: c.excludes.clone(),
            parents: c.parents,
            is_add,
            checksum: c.checksum.clone(),
            keep_git_dir: c.keep_git_dir,
            link: c.link,
        };
        let holder = self.store.work_dir().map_err(anyhow::Error::from)?;
        let source = if !c.contents.is_empty() {
            let dir = holder.path().join("heredocs");
            std::fs::create_dir(&dir).map_err(anyhow::Error::from)?;
            request.sources.clear();
            for content in &c.contents {
                std::fs::write(dir.join(&content.path), &content.data)
                    .map_err(anyhow::Error::from)?;
                request.sources.push(content.path.clone());
            }
            CopySource::Plain(dir)
        } else if let Some(from) = &c.from {
            let src = self.source_state(step, from)?;
            let mut lower = self.lowers(&src)?;
            let mount = holder.path().join("from");
            std::fs::create_dir(&mount).map_err(anyhow::Error::from)?;
            if lower.len() == 1 && src.config.rootfs.diff_ids.is_empty() {
                lower.clear();
            }
            CopySource::Layers { lower, mount }
        } else {
            CopySource::Context {
                dir: self.opts.context.clone(),
                dockerfile: Some(self.opts.dockerfile.clone()),
            }
        };
        self.fs_step(
            state,
            inst,
            FsOp::Copy {
                request: Box::new(request),
                source,
            },
        )
    }

    /// The state a `--from` names: a stage of this build or an image.
    fn source_state(&self, step: &Step, from: &str) -> Result<State, BuildError> {
        for d in &step.deps {
            match d {
                StageRef::Stage(j) => {
                    if let Some(s) = self.results.get(j) {
                        return Ok(s.clone());
                    }
                }
                StageRef::Image(r) if r == from => {
                    if let Some(img) = self.images.get(r) {
                        return Ok(State {
                            config: img.config.clone(),
                            layers: img.manifest.layers.clone(),
                        });
                    }
                }
                StageRef::Image(_) => {}
            }
        }
        Err(anyhow::anyhow!("--from={from}: not found").into())
    }

    fn run(
        &mut self,
        state: &mut State,
        step: &Step,
        r: &crate::dockerfile::instructions::Run,
        shell: &[String],
    ) -> Result<(), BuildError> {
        let inst = &step.instruction;
        let args = run_args(&r.cmd, shell);
        let cfg = state.config.config.clone().unwrap_or_default();
        // The config's Env (which also holds ENV from ONBUILD triggers), then the ARGs.
        let mut env: Vec<String> = cfg.env.clone().unwrap_or_default();
        for (k, v) in step
            .run_env()
            .into_iter()
            .chain(self.proxy_env.iter().cloned())
        {
            if !env
                .iter()
                .any(|e| e.split_once('=').map(|x| x.0) == Some(k.as_str()))
            {
                env.push(format!("{k}={v}"));
            }
        }
        if !env.iter().any(|e| e.starts_with("PATH=")) {
            env.insert(0, format!("PATH={}", plan::DEFAULT_PATH));
        }
        let work = self.store.work_dir().map_err(anyhow::Error::from)?;
        let (upper, wdir, merged, empty) = dirs(work.path()).map_err(anyhow::Error::from)?;
        let mut lower = self.lowers(state)?;
        if lower.is_empty() {
            lower.push(empty);
        }
        let hostname = "buildkitsandbox".to_string();
        let etc = exec::write_etc_files(work.path(), &hostname).map_err(anyhow::Error::from)?;
        let network = match r.network {
            RunNetwork::None => exec::Network::None,
            RunNetwork::Host => exec::Network::Host,
            RunNetwork::Default => self.opts.network,
        };
        let mut mounts = Vec::new();
        for m in &r.mounts {
            let target = if m.target.starts_with('/') {
                m.target.clone()
            } else {
                ic::resolve_workdir(cfg.working_dir.as_deref().unwrap_or("/"), &m.target)
            };
            let kind = match m.kind {
                MountType::Cache => {
                    let id = if m.id.is_empty() { &target } else { &m.id };
                    let name: String = id
                        .chars()
                        .map(|c| {
                            if c.is_ascii_alphanumeric() || c == '-' || c == '.' {
                                c
                            } else {
                                '_'
                            }
                        })
                        .collect();
                    let dir = self.store.root().join("cache-mounts").join(name);
                    std::fs::create_dir_all(&dir).map_err(anyhow::Error::from)?;
                    MountKind::Bind {
                        source: dir,
                        readonly: false,
                    }
                }
                MountType::Tmpfs => MountKind::Tmpfs {
                    size: u64::try_from(m.size_limit).ok().filter(|s| *s > 0),
                },
                MountType::Bind => {
                    let source = self.bind_source(step, m, work.path())?;
                    MountKind::Bind {
                        source,
                        readonly: true,
                    }
                }
                MountType::Secret | MountType::Ssh => {
                    return Err(self.step_error(
                        inst,
                        format!("--mount=type={} is not supported yet", m.kind.as_str()),
                    ))
                }
            };
            mounts.push(exec::Mount {
                target,
                kind,
                remove_created: true,
            });
        }
        let spec = SandboxSpec {
            root: RootFs::Overlay {
                lower,
                upper: upper.clone(),
                work: wdir,
                merged,
            },
            args: args.clone(),
            env,
            cwd: cfg.working_dir.clone().unwrap_or_else(|| "/".to_string()),
            user: cfg.user.clone().unwrap_or_default(),
            hostname,
            network,
            mounts,
            hosts_file: Some(etc.hosts),
            resolv_file: Some(etc.resolv),
            created_log: work.path().join("created.log"),
        };
        let counter = self.counter;
        let out = &mut self.out;
        let code = exec::run(&spec, &self.exe, |line| {
            let text = String::from_utf8_lossy(line);
            out(&format!("#{counter} {}", text.trim_end_matches('\n')));
        })
        .map_err(|e| anyhow::anyhow!("{e}"))?;
        if code != 0 {
            let shown = serde_json::to_string(&args.join(" ")).unwrap_or_default();
            return Err(self.step_error(
                inst,
                format!("process {shown} did not complete successfully: exit code: {code}"),
            ));
        }
        self.commit_layer(state, &upper)?;
        Ok(())
    }

    /// The host directory a `--mount=type=bind` shows: in the context, or a copy of the
    /// path from a stage or image.
    fn bind_source(
        &mut self,
        step: &Step,
        m: &crate::dockerfile::instructions::Mount,
        work: &Path,
    ) -> Result<PathBuf, BuildError> {
        let rel = ic::resolve_workdir("/", &m.source);
        if m.from.is_empty() {
            let p = self.opts.context.join(rel.trim_start_matches('/'));
            return Ok(p);
        }
        let src = self.source_state(step, &m.from)?;
        let lower = self.lowers(&src)?;
        let base = work.join("bind-src");
        let (upper, wdir, merged, empty) = dirs(&base).map_err(anyhow::Error::from)?;
        let mount = base.join("from");
        std::fs::create_dir(&mount).map_err(anyhow::Error::from)?;
        let request = CopyRequest {
            sources: vec![rel.clone()],
            dest: "/".to_string(),
            ..Default::default()
        };
        let spec = FsSpec {
            lower: vec![empty],
            upper: upper.clone(),
            work: wdir,
            merged,
            op: FsOp::Copy {
                request: Box::new(request),
                source: CopySource::Layers { lower, mount },
            },
        };
        fsop::run(&spec, &self.exe, &base.join("spec.json"))
            .map_err(|msg| self.step_error(&step.instruction, msg))?;
        let name = Path::new(&rel).file_name().map(|n| upper.join(n));
        Ok(match name {
            Some(f) if f.is_file() => f,
            _ => upper,
        })
    }
}

/// Fresh `upper`, `work`, `merged` and an empty lower dir under `base`.
fn dirs(base: &Path) -> std::io::Result<(PathBuf, PathBuf, PathBuf, PathBuf)> {
    std::fs::create_dir_all(base)?;
    let v: Vec<PathBuf> = ["upper", "work", "merged", "empty"]
        .iter()
        .map(|n| base.join(n))
        .collect();
    for d in &v {
        std::fs::create_dir(d)?;
    }
    Ok((v[0].clone(), v[1].clone(), v[2].clone(), v[3].clone()))
}

/// The argv of a RUN, with heredocs handled as BuildKit does: a lone heredoc is the script
/// given to the shell, anything else is passed to the shell with the heredocs in place.
fn run_args(cmd: &crate::dockerfile::instructions::CommandLine, shell: &[String]) -> Vec<String> {
    let mut args = cmd.args.clone();
    if !cmd.files.is_empty() && cmd.prepend_shell && args.len() == 1 {
        let data = |f: &crate::dockerfile::instructions::InlineFile| {
            if f.chomp {
                chomp_heredoc(&f.data)
            } else {
                f.data.clone()
            }
        };
        if heredoc_marker(&args[0]).is_some() {
            args = vec![data(&cmd.files[0])];
        } else {
            let mut full = args[0].clone();
            for f in &cmd.files {
                full.push('\n');
                full.push_str(&data(f));
                full.push_str(&f.name);
            }
            args = vec![full];
        }
    }
    if cmd.prepend_shell {
        let mut v = shell.to_vec();
        v.extend(args);
        v
    } else {
        args
    }
}

/// `created_by` of a config-only instruction.
fn config_created_by(inst: &Instruction, shell: &[String]) -> String {
    let json = |v: &[String]| serde_json::to_string(v).unwrap_or_default();
    match &inst.command {
        Command::Cmd(c) => format!("CMD {}", json(&ic::argv(c, shell))),
        Command::Entrypoint(c) => format!("ENTRYPOINT {}", json(&ic::argv(c, shell))),
        Command::Env(kvs) => format!(
            "ENV {}",
            kvs.iter()
                .map(|kv| format!("{}={}", kv.key, kv.value))
                .collect::<Vec<_>>()
                .join(" ")
        ),
        Command::Label(kvs) => format!(
            "LABEL {}",
            kvs.iter()
                .map(|kv| format!("{}={}", kv.key, kv.value))
                .collect::<Vec<_>>()
                .join(" ")
        ),
        Command::Shell(s) => format!("SHELL {}", json(s)),
        Command::User(u) => format!("USER {u}"),
        Command::Expose(p) => format!("EXPOSE map[{}]", p.join(" ")),
        Command::Volume(v) => format!("VOLUME {}", json(v)),
        Command::StopSignal(s) => format!("STOPSIGNAL {s}"),
        Command::Onbuild(o) => format!("ONBUILD {}", o.expression),
        Command::Maintainer(m) => format!("MAINTAINER {m}"),
        _ => inst.original.clone(),
    }
}
