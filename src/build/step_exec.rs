//! What a step does when the cache has no result for it: RUN in the sandbox, COPY/ADD and
//! WORKDIR through the filesystem helper, config-only instructions on the config. Each
//! step that changes files leaves a layer (stored uncompressed, hashed while written) whose
//! overlay upper dir becomes its snapshot as it is.

use super::copy::CopyRequest;
use super::executor::{BuildError, Ctx, State};
use super::fsop::{self, CopySource, FsOp, FsSpec};
use super::image_config::{self as ic, default_shell};
use crate::dockerfile::instructions::mount::Sharing;
use crate::dockerfile::instructions::{
    self, chomp_heredoc, heredoc_marker, Command, Instruction, MountType, Network as RunNetwork,
};
use crate::exec::{self, MountKind, RootFs, SandboxSpec};
use crate::image::oci::Descriptor;
use crate::plan::{self, Step};
use crate::progress::{Event, StepId};
use crate::snapshot::upper::{write_layer, LayerOptions};
use crate::store::lock;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

impl Ctx<'_> {
    /// Runs `step` on `state` (the cache missed).
    pub(super) fn execute(
        &self,
        state: &mut State,
        step: &Step,
        id: StepId,
    ) -> Result<(), BuildError> {
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
                self.run(state, step, r, &shell, id)?;
                self.push_history(state, created_by, true);
            }
            Command::Copy(c) | Command::Add(c) => {
                let is_add = matches!(inst.command, Command::Add(_));
                self.copy(state, step, c, is_add)?;
                let kw = if is_add { "ADD" } else { "COPY" };
                let mut words: Vec<String> = instructions::owned(&c.sources);
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

    /// The snapshot dirs of `state`, top-most first.
    pub(super) fn lowers(&self, state: &State) -> anyhow::Result<Vec<PathBuf>> {
        let mut v = Vec::new();
        for d in &state.config.rootfs.diff_ids {
            v.push(self.store.snapshot(d)?);
        }
        v.reverse();
        Ok(v)
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
    fn fs_step(&self, state: &mut State, inst: &Instruction, op: FsOp) -> Result<(), BuildError> {
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
        &self,
        state: &mut State,
        step: &Step,
        c: &crate::dockerfile::instructions::Copy,
        is_add: bool,
    ) -> Result<(), BuildError> {
        let inst = &step.instruction;
        let cfg = state.config.config.clone().unwrap_or_default();
        let mut request = CopyRequest {
            sources: instructions::owned(&c.sources),
            dest: c.dest.to_string(),
            workdir: cfg.working_dir.clone().unwrap_or_default(),
            chown: c.chown.as_deref().map(str::to_string),
            chmod: c.chmod.as_deref().map(str::to_string),
            excludes: instructions::owned(&c.excludes),
            parents: c.parents,
            is_add,
            checksum: c.checksum.as_deref().map(str::to_string),
            keep_git_dir: c.keep_git_dir,
            link: c.link,
            prefetched: if is_add {
                self.prefetched()
            } else {
                Vec::new()
            },
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
            let src = self.source_state(step, from)?.0;
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

    fn run(
        &self,
        state: &mut State,
        step: &Step,
        r: &crate::dockerfile::instructions::Run,
        shell: &[String],
        id: StepId,
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
        // Locks on `sharing=locked|private` cache mounts, held until the step is done.
        let mut held = Vec::new();
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
                    let dir = self.cache_mount_dir(&name, m.sharing, work.path(), &mut held)?;
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
                        readonly: m.read_only,
                    }
                }
                MountType::Secret => {
                    let wd = cfg.working_dir.as_deref().unwrap_or("/");
                    let secrets = &self.opts.secrets;
                    super::secrets::add_secret_mount(
                        m,
                        secrets,
                        wd,
                        work.path(),
                        &mut mounts,
                        &mut env,
                    )
                    .map_err(|e| self.step_error(inst, e))?;
                    continue;
                }
                MountType::Ssh => {
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
        let progress = self.progress;
        let code = exec::run(&spec, &self.exe, |line| {
            let line = line.strip_suffix(b"\n").unwrap_or(line);
            progress.event(Event::Output { id, line });
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

    /// The directory of a cache mount, as its `sharing` says: `shared` (the default) is used
    /// by every build at once, `locked` waits until no other build uses it, `private` gives
    /// a build that finds it in use a fresh, throw-away directory instead (BuildKit's rules).
    fn cache_mount_dir(
        &self,
        name: &str,
        sharing: Option<Sharing>,
        work: &Path,
        held: &mut Vec<crate::store::LockGuard>,
    ) -> Result<PathBuf, BuildError> {
        let root = self.store.root().join("cache-mounts");
        std::fs::create_dir_all(&root).map_err(anyhow::Error::from)?;
        let lock_path = root.join(format!("{name}.lock"));
        let shared = root.join(name);
        Ok(match sharing.unwrap_or(Sharing::Shared) {
            Sharing::Shared => shared,
            Sharing::Locked => {
                held.push(lock::exclusive(&lock_path).map_err(anyhow::Error::from)?);
                shared
            }
            Sharing::Private => {
                match lock::try_exclusive(&lock_path).map_err(anyhow::Error::from)? {
                    Some(g) => {
                        held.push(g);
                        shared
                    }
                    None => work.join(format!("cache-{name}")),
                }
            }
        })
    }

    /// The host directory a `--mount=type=bind` shows. A read-only mount of the context
    /// shows the context's own directory, the path resolved inside the context (a symlink
    /// in it never leads out); anything else is a copy made by the COPY engine (with the
    /// context's `.dockerignore`), so that writes to an `rw` mount are thrown away with it.
    fn bind_source(
        &self,
        step: &Step,
        m: &crate::dockerfile::instructions::Mount,
        work: &Path,
    ) -> Result<PathBuf, BuildError> {
        let rel = ic::resolve_workdir("/", &m.source);
        let context = &self.opts.context;
        if m.from.is_empty() && m.read_only {
            let root = crate::fsops::Root::open(context)
                .map_err(|e| anyhow::anyhow!("opening the context: {e}"))?;
            let canon = root.resolve(Path::new(&rel)).map_err(|e| {
                self.step_error(&step.instruction, format!("bind source {rel}: {e}"))
            })?;
            let p = context.join(canon.strip_prefix("/").unwrap_or(&canon));
            if std::fs::symlink_metadata(&p).is_err() {
                return Err(self.step_error(
                    &step.instruction,
                    format!("bind source {rel}: not found in build context"),
                ));
            }
            return Ok(p);
        }
        let base = work.join("bind-src");
        let (upper, wdir, merged, empty) = dirs(&base).map_err(anyhow::Error::from)?;
        let source = if m.from.is_empty() {
            CopySource::Context {
                dir: context.clone(),
                dockerfile: Some(self.opts.dockerfile.clone()),
            }
        } else {
            let src = self.source_state(step, &m.from)?.0;
            let lower = self.lowers(&src)?;
            let mount = base.join("from");
            std::fs::create_dir(&mount).map_err(anyhow::Error::from)?;
            CopySource::Layers { lower, mount }
        };
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
                source,
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
    let mut args = instructions::owned(&cmd.args);
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
            let mut full = std::mem::take(&mut args[0]);
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
    fn json<T: serde::Serialize>(v: &[T]) -> String {
        serde_json::to_string(v).unwrap_or_default()
    }
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
        _ => inst.original.to_string(),
    }
}
