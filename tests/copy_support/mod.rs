//! Shared by the COPY/ADD engine tests: a context dir and a destination root with its own
//! /etc/passwd and /etc/group, the engine run on them, and readers of what it made.
#![allow(dead_code)]

use kiln::build::copy::{run, CopyError, CopyRequest, SourceRoot, Summary};
use kiln::context::dockerignore::Matcher;
use kiln::fsops::Root;
use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::PathBuf;

pub const PASSWD: &str = "root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000::/home/app:/bin/sh\nsvc:x:1001:1002::/srv:/bin/sh\nnobody:x:65534:65534::/:/bin/false\n";
pub const GROUP: &str =
    "root:x:0:\nstaff:x:50:app\napp:x:1000:\nsvcgrp:x:1002:\nnogroup:x:65534:\n";

pub struct Env {
    pub tmp: tempfile::TempDir,
    pub ctx: PathBuf,
    pub root: PathBuf,
}

pub fn env() -> Env {
    let tmp = tempfile::tempdir().unwrap();
    let ctx = tmp.path().join("ctx");
    let root = tmp.path().join("rootfs");
    fs::create_dir_all(&ctx).unwrap();
    fs::create_dir_all(root.join("etc")).unwrap();
    fs::write(root.join("etc/passwd"), PASSWD).unwrap();
    fs::write(root.join("etc/group"), GROUP).unwrap();
    Env { tmp, ctx, root }
}

impl Env {
    /// A context file with mode 0644.
    pub fn file(&self, rel: &str, content: &str) -> PathBuf {
        let p = self.ctx.join(rel);
        fs::create_dir_all(p.parent().unwrap()).unwrap();
        fs::write(&p, content).unwrap();
        fs::set_permissions(&p, fs::Permissions::from_mode(0o644)).unwrap();
        p
    }

    /// Runs the engine from the context (with its `.dockerignore`, if any) into the root.
    pub fn copy(&self, req: &CopyRequest) -> Result<Summary, CopyError> {
        let ignore = fs::read_to_string(self.ctx.join(".dockerignore"))
            .ok()
            .map(|t| Matcher::from_ignore_file(&t).unwrap());
        let ctx = Root::open(&self.ctx).unwrap();
        let dest = Root::open(&self.root).unwrap();
        run(
            req,
            SourceRoot::Context {
                root: &ctx,
                ignore: ignore.as_ref(),
            },
            &dest,
        )
    }

    /// `ADD src dest`.
    pub fn add(&self, src: &str, dest: &str) -> Result<Summary, CopyError> {
        self.copy(&add(src, dest))
    }

    pub fn at(&self, p: &str) -> PathBuf {
        self.root.join(p.trim_start_matches('/'))
    }

    pub fn read(&self, p: &str) -> String {
        fs::read_to_string(self.at(p)).unwrap_or_else(|e| panic!("{p}: {e}"))
    }

    /// (type, mode, uid, gid) of a destination path, not following a final symlink.
    pub fn meta(&self, p: &str) -> (&'static str, u32, u32, u32) {
        let m = fs::symlink_metadata(self.at(p)).unwrap_or_else(|e| panic!("{p}: {e}"));
        let t = if m.is_dir() {
            "dir"
        } else if m.file_type().is_symlink() {
            "symlink"
        } else {
            "file"
        };
        (t, m.mode() & 0o7777, m.uid(), m.gid())
    }

    pub fn exists(&self, p: &str) -> bool {
        fs::symlink_metadata(self.at(p)).is_ok()
    }
}

/// `COPY sources… dest` with WORKDIR `/`.
pub fn req(sources: &[&str], dest: &str) -> CopyRequest {
    CopyRequest {
        sources: sources.iter().map(|s| s.to_string()).collect(),
        dest: dest.to_string(),
        workdir: "/".to_string(),
        ..Default::default()
    }
}

/// `ADD src dest` with WORKDIR `/`.
pub fn add(src: &str, dest: &str) -> CopyRequest {
    CopyRequest {
        is_add: true,
        ..req(&[src], dest)
    }
}
