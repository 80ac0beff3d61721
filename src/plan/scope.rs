//! Variable scopes: the global ARGs before the first FROM, and each stage's ENV + ARGs, with
//! the lookup order the expander sees (ENV wins over an ARG of the same name, as the
//! Dockerfile reference states).

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::Arc;

use crate::dockerfile::shell::Env;

/// foldhash rather than SipHash for the variable maps: every expanded word looks names up,
/// and the keys come from the Dockerfile being built, not from an adversary of this process.
type FastHash = foldhash::fast::RandomState;

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
    index: HashMap<String, usize, FastHash>,
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
        self.lookup_borrowed(name).map(Cow::into_owned)
    }

    fn lookup_borrowed(&self, name: &str) -> Option<Cow<'_, str>> {
        self.get(name)
            .map(|v| Cow::Borrowed(v.as_deref().unwrap_or_default()))
    }
}

/// One variable. Shared strings, so that the planner's current list and every step's
/// snapshot hold the same name and value.
pub type Var = (Arc<str>, Arc<str>);

/// One assignment in a scope's history; each points at the assignment before it.
#[derive(Debug)]
struct Assignment {
    var: Var,
    prev: Option<Arc<Assignment>>,
}

impl Drop for Assignment {
    /// Unlinks the chain iteratively: a long history must not recurse once per assignment.
    fn drop(&mut self) {
        let mut next = self.prev.take();
        while let Some(node) = next {
            match Arc::try_unwrap(node) {
                Ok(mut n) => next = n.prev.take(),
                Err(_) => break,
            }
        }
    }
}

/// The variables a step sees, as an immutable, shared history of assignments. Taking a
/// snapshot costs one reference-count increment whatever the length, which matters because
/// every step keeps one (a stage with many ENV lines would otherwise copy its whole list per
/// step). The ordered list (first definition's position, last value) is built on demand.
#[derive(Debug, Clone, Default)]
pub struct VarList {
    last: Option<Arc<Assignment>>,
}

impl VarList {
    pub fn is_empty(&self) -> bool {
        self.last.is_none()
    }

    /// The variables in order of first definition, each with its latest value (like an
    /// image config's Env, where a redefinition replaces the entry in place).
    pub fn to_vec(&self) -> Vec<Var> {
        let mut history = Vec::new();
        let mut at = self.last.as_deref();
        while let Some(a) = at {
            history.push(&a.var);
            at = a.prev.as_deref();
        }
        let mut out: Vec<Var> = Vec::with_capacity(history.len());
        let mut index: HashMap<&str, usize> = HashMap::with_capacity(history.len());
        for (k, v) in history.into_iter().rev() {
            match index.get(&**k) {
                Some(&i) => out[i].1 = v.clone(),
                None => {
                    index.insert(k, out.len());
                    out.push((k.clone(), v.clone()));
                }
            }
        }
        out
    }

    /// [`VarList::to_vec`], as an iterator.
    pub fn iter(&self) -> std::vec::IntoIter<Var> {
        self.to_vec().into_iter()
    }

    fn push(&mut self, var: Var) {
        let prev = self.last.take();
        self.last = Some(Arc::new(Assignment { var, prev }));
    }
}

/// A snapshot as owned pairs (for callers that want plain strings).
pub fn pairs(list: &VarList) -> Vec<(String, String)> {
    list.iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// An ordered variable list with in-place replacement (like an image config's Env), fast
/// lookups while planning, and O(1) snapshots for the steps.
#[derive(Debug, Clone, Default)]
pub struct Vars {
    index: HashMap<Arc<str>, Arc<str>, FastHash>,
    history: VarList,
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
            index: list.to_vec().into_iter().collect(),
            history: list.clone(),
        }
    }

    pub fn set(&mut self, key: &str, value: &str) {
        let value: Arc<str> = Arc::from(value);
        let key = match self.index.get_key_value(key) {
            Some((k, _)) => k.clone(),
            None => Arc::from(key),
        };
        self.index.insert(key.clone(), value.clone());
        self.history.push((key, value));
    }

    pub fn get(&self, key: &str) -> Option<&str> {
        self.index.get(key).map(|v| &**v)
    }

    pub fn contains(&self, key: &str) -> bool {
        self.index.contains_key(key)
    }

    pub fn snapshot(&mut self) -> VarList {
        self.history.clone()
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
        self.lookup_borrowed(name).map(Cow::into_owned)
    }

    fn lookup_borrowed(&self, name: &str) -> Option<Cow<'_, str>> {
        self.env
            .get(name)
            .or_else(|| self.args.get(name))
            .map(Cow::Borrowed)
    }
}

/// No variables at all (BuildKit expands nothing into heredoc names and the like).
pub struct NoVars;

impl Env for NoVars {
    fn lookup(&self, _name: &str) -> Option<String> {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strs(list: &VarList) -> Vec<(String, String)> {
        pairs(list)
    }

    #[test]
    fn snapshots_keep_order_and_latest_values() {
        let mut v = Vars::default();
        v.set("A", "1");
        v.set("B", "2");
        let before = v.snapshot();
        v.set("A", "3");
        v.set("C", "4");
        let after = v.snapshot();
        let p = |k: &str, v: &str| (k.to_string(), v.to_string());
        assert_eq!(strs(&before), vec![p("A", "1"), p("B", "2")]);
        assert_eq!(strs(&after), vec![p("A", "3"), p("B", "2"), p("C", "4")]);
        assert_eq!(v.get("A"), Some("3"));
        let copy = Vars::from_snapshot(&after);
        assert_eq!(copy.get("C"), Some("4"));
        assert_eq!(strs(&copy.history), strs(&after));
        assert!(VarList::default().is_empty());
    }

    #[test]
    fn a_long_history_drops_without_recursion() {
        let mut v = Vars::default();
        let mut kept = Vec::new();
        for i in 0..200_000 {
            v.set("PATH", &i.to_string());
            if i % 50_000 == 0 {
                kept.push(v.snapshot());
            }
        }
        drop(v);
        assert_eq!(strs(&kept[1]), vec![("PATH".into(), "50000".into())]);
        drop(kept);
    }
}
