//! Variable scopes: the global ARGs before the first FROM, and each stage's ENV + ARGs, with
//! the lookup order the expander sees (ENV wins over an ARG of the same name, as the
//! Dockerfile reference states).

use std::collections::HashMap;
use std::sync::Arc;

use crate::dockerfile::shell::Env;

/// Args that need no `ARG` line: passed to RUN from `--build-arg`, kept out of the history
/// and of expansion unless declared (Docker's builtin proxy args).
pub const PROXY_ARGS: [&str; 10] = [
    "HTTP_PROXY",
    "http_proxy",
    "HTTPS_PROXY",
    "https_proxy",
    "FTP_PROXY",
    "ftp_proxy",
    "NO_PROXY",
    "no_proxy",
    "ALL_PROXY",
    "all_proxy",
];

/// The platform kiln builds for and on.
pub const TARGET_OS: &str = "linux";
pub const TARGET_ARCH: &str = "amd64";

/// BuildKit's automatic platform args, in its order.
pub fn platform_args() -> Vec<(String, String)> {
    let platform = format!("{TARGET_OS}/{TARGET_ARCH}");
    [
        ("BUILDPLATFORM", platform.as_str()),
        ("BUILDOS", TARGET_OS),
        ("BUILDARCH", TARGET_ARCH),
        ("BUILDVARIANT", ""),
        ("TARGETPLATFORM", platform.as_str()),
        ("TARGETOS", TARGET_OS),
        ("TARGETARCH", TARGET_ARCH),
        ("TARGETVARIANT", ""),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect()
}

pub fn is_proxy_arg(name: &str) -> bool {
    PROXY_ARGS.contains(&name)
}

/// The global (meta) args: every ARG before the first FROM plus the platform args. A later
/// declaration of the same name wins; a declaration without value reads as empty, as in
/// BuildKit's `metaArgsToEnvs`.
#[derive(Debug, Clone, Default)]
pub struct GlobalArgs {
    pub args: Vec<(String, Option<String>)>,
    index: HashMap<String, usize>,
}

impl GlobalArgs {
    pub fn push(&mut self, key: String, value: Option<String>) {
        self.index.insert(key.clone(), self.args.len());
        self.args.push((key, value));
    }

    /// The value a stage's `ARG name` (without default) inherits.
    pub fn get(&self, key: &str) -> Option<&Option<String>> {
        self.index.get(key).map(|&i| &self.args[i].1)
    }
}

impl Env for GlobalArgs {
    fn lookup(&self, name: &str) -> Option<String> {
        self.get(name).map(|v| v.clone().unwrap_or_default())
    }
}

/// One variable. Shared strings, so that a step's snapshot of a long list costs one
/// allocation and reference-count bumps rather than a copy of every name and value.
pub type Var = (Arc<str>, Arc<str>);
/// An ordered, shared snapshot of variables.
pub type VarList = Arc<Vec<Var>>;

/// A snapshot as owned pairs (for callers that want plain strings).
pub fn pairs(list: &[Var]) -> Vec<(String, String)> {
    list.iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// An ordered variable list with in-place replacement (like an image config's Env) and a
/// shared snapshot, so steps can keep the list they saw without copying it every time.
#[derive(Debug, Clone, Default)]
pub struct Vars {
    items: Vec<Var>,
    index: HashMap<Arc<str>, usize>,
    snapshot: Option<VarList>,
}

impl Vars {
    pub fn from_pairs(list: &[(String, String)]) -> Self {
        let mut v = Vars::default();
        for (k, val) in list {
            v.set(k, val);
        }
        v
    }

    pub fn from_snapshot(list: &VarList) -> Self {
        Vars {
            items: list.as_ref().clone(),
            index: list
                .iter()
                .enumerate()
                .map(|(i, (k, _))| (k.clone(), i))
                .collect(),
            snapshot: Some(list.clone()),
        }
    }

    pub fn set(&mut self, key: &str, value: &str) {
        self.snapshot = None;
        match self.index.get(key) {
            Some(&i) => self.items[i].1 = Arc::from(value),
            None => {
                let k: Arc<str> = Arc::from(key);
                self.index.insert(k.clone(), self.items.len());
                self.items.push((k, Arc::from(value)));
            }
        }
    }

    pub fn get(&self, key: &str) -> Option<&str> {
        self.index.get(key).map(|&i| &*self.items[i].1)
    }

    pub fn contains(&self, key: &str) -> bool {
        self.index.contains_key(key)
    }

    pub fn snapshot(&mut self) -> VarList {
        self.snapshot
            .get_or_insert_with(|| Arc::new(self.items.clone()))
            .clone()
    }
}

/// A stage's variables while it is planned.
#[derive(Debug, Clone, Default)]
pub struct StageScope {
    /// The image config's Env: the base's, then each ENV.
    pub env: Vars,
    /// ARGs declared in this stage that have a value.
    pub args: Vars,
}

impl Env for StageScope {
    fn lookup(&self, name: &str) -> Option<String> {
        self.env
            .get(name)
            .or_else(|| self.args.get(name))
            .map(str::to_string)
    }
}

/// No variables at all (BuildKit expands nothing into heredoc names and the like).
pub struct NoVars;

impl Env for NoVars {
    fn lookup(&self, _name: &str) -> Option<String> {
        None
    }
}
