//! Variable scopes: the global ARGs before the first FROM, and each stage's ENV + ARGs, with
//! the lookup order the expander sees (ENV wins over an ARG of the same name, as the
//! Dockerfile reference states).

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::Arc;

use crate::dockerfile::shell::Env;

/// foldhash rather than SipHash for the variable maps: every expanded word looks names up,
/// and the keys come from the Dockerfile being built, not from an adversary of this process.
pub(super) type FastHash = foldhash::fast::RandomState;

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

/// One stage's assignments of one kind (ENV or ARG), in order, their text in one buffer: a
/// stage appends to it instead of allocating per assignment, and the variables any step sees
/// are a prefix of it (a [`VarList`]).
#[derive(Default)]
pub struct VarLog {
    text: String,
    /// Per assignment: where its key starts, where the key ends and the value starts, and
    /// where the value ends, in `text`.
    entries: Vec<[usize; 3]>,
}

impl VarLog {
    /// Appends an assignment and gives its position.
    fn push(&mut self, key: &str, value: &str) -> usize {
        let start = self.text.len();
        self.text.push_str(key);
        let mid = self.text.len();
        self.text.push_str(value);
        self.entries.push([start, mid, self.text.len()]);
        self.entries.len() - 1
    }

    fn entry(&self, i: usize) -> (&str, &str) {
        let [start, mid, end] = self.entries[i];
        (&self.text[start..mid], &self.text[mid..end])
    }

    fn value(&self, i: usize) -> &str {
        let [_, mid, end] = self.entries[i];
        &self.text[mid..end]
    }
}

/// A planned stage's ENV and ARG logs, shared by every list taken from them.
#[derive(Default)]
struct Logs {
    env: VarLog,
    args: VarLog,
}

/// The ENV or the ARGs a step sees: the first `len` assignments of one of its stage's shared
/// logs. Taking one costs a reference-count increment whatever the length, which matters
/// because every step keeps its scope (a stage with many ENV lines would otherwise copy its
/// whole list per step). The ordered list (first definition's position, last value) is built
/// on demand.
#[derive(Clone, Default)]
pub struct VarList {
    logs: Option<Arc<Logs>>,
    /// The ARG log rather than the ENV log.
    args: bool,
    len: usize,
}

impl std::fmt::Debug for VarList {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.to_vec()).finish()
    }
}

impl VarList {
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The assignments in order, repeats included.
    fn history(&self) -> impl Iterator<Item = (&str, &str)> {
        self.logs
            .iter()
            .map(|logs| if self.args { &logs.args } else { &logs.env })
            .flat_map(|log| (0..self.len.min(log.entries.len())).map(|i| log.entry(i)))
    }

    /// The variables in order of first definition, each with its latest value (like an
    /// image config's Env, where a redefinition replaces the entry in place).
    pub fn to_vec(&self) -> Vec<(&str, &str)> {
        let mut out: Vec<(&str, &str)> = Vec::with_capacity(self.len);
        let mut index: HashMap<&str, usize, FastHash> =
            HashMap::with_capacity_and_hasher(self.len, FastHash::default());
        for (k, v) in self.history() {
            match index.get(k) {
                Some(&i) => out[i].1 = v,
                None => {
                    index.insert(k, out.len());
                    out.push((k, v));
                }
            }
        }
        out
    }

    /// [`VarList::to_vec`], as an iterator.
    pub fn iter(&self) -> std::vec::IntoIter<(&str, &str)> {
        self.to_vec().into_iter()
    }
}

/// A snapshot as owned pairs (for callers that want plain strings).
pub fn pairs(list: &VarList) -> Vec<(String, String)> {
    list.iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// Where a name's latest ENV and ARG assignments are in their logs.
#[derive(Debug, Clone, Copy, Default)]
struct Latest {
    env: Option<usize>,
    arg: Option<usize>,
}

/// How far a stage's logs are at some point: once the stage is done,
/// [`FinishedScope::at`] turns it into the step's [`VarList`]s.
#[derive(Debug, Clone, Copy, Default)]
pub struct Mark {
    env: usize,
    args: usize,
}

/// A stage's variables while it is planned: the image config's Env (the base's, then each
/// ENV) and the ARGs declared in the stage that have a value, as append-only logs, with one
/// index over both so that a lookup hashes the name once (ENV wins over an ARG).
#[derive(Default)]
pub struct StageScope {
    env: VarLog,
    args: VarLog,
    index: HashMap<Box<str>, Latest, FastHash>,
}

impl StageScope {
    /// A scope whose Env starts with `env`, in order.
    pub fn with_env<'v>(env: impl IntoIterator<Item = (&'v str, &'v str)>) -> Self {
        let mut scope = StageScope::default();
        for (k, v) in env {
            scope.set_env(k, v);
        }
        scope
    }

    /// Makes room for `env` ENV and `args` ARG assignments: a stage's logs and index then
    /// grow once instead of doubling their way up, rehashing what they hold each time.
    pub fn reserve(&mut self, env: usize, args: usize) {
        self.env.entries.reserve(env);
        self.args.entries.reserve(args);
        self.index.reserve(env + args);
    }

    /// Records that `key`'s latest ENV (or ARG) assignment is at `at`: one hash of the key
    /// when the name is known, two when it is new.
    fn note(&mut self, key: &str, at: usize, env: bool) {
        let set = |latest: &mut Latest| match env {
            true => latest.env = Some(at),
            false => latest.arg = Some(at),
        };
        match self.index.get_mut(key) {
            Some(latest) => set(latest),
            None => {
                let mut latest = Latest::default();
                set(&mut latest);
                self.index.insert(key.into(), latest);
            }
        }
    }

    pub fn set_env(&mut self, key: &str, value: &str) {
        let at = self.env.push(key, value);
        self.note(key, at, true);
    }

    pub fn set_arg(&mut self, key: &str, value: &str) {
        let at = self.args.push(key, value);
        self.note(key, at, false);
    }

    /// Where the logs are now (the scope a step about to be expanded sees).
    pub fn mark(&self) -> Mark {
        Mark {
            env: self.env.entries.len(),
            args: self.args.entries.len(),
        }
    }

    /// Ends the stage: its logs become shared by the scopes taken from them.
    pub fn finish(self) -> FinishedScope {
        FinishedScope {
            end: self.mark(),
            logs: Arc::new(Logs {
                env: self.env,
                args: self.args,
            }),
        }
    }
}

/// A planned stage's logs; see [`StageScope::finish`].
pub struct FinishedScope {
    logs: Arc<Logs>,
    end: Mark,
}

impl FinishedScope {
    /// The scope as it was at `mark`.
    pub fn at(&self, mark: Mark) -> StepVars {
        StepVars {
            logs: Some(self.logs.clone()),
            at: mark,
        }
    }

    /// The ENV at the end of the stage.
    pub fn final_env(&self) -> VarList {
        self.at(self.end).env()
    }
}

/// The ENV and ARGs a step sees: one shared handle on its stage's logs and how far into each
/// (a step is kept per instruction, so it holds one reference, not one per list).
#[derive(Clone, Default)]
pub struct StepVars {
    logs: Option<Arc<Logs>>,
    at: Mark,
}

impl StepVars {
    /// ENV in effect: the base's, then the stage's ENV lines so far.
    pub fn env(&self) -> VarList {
        VarList {
            logs: self.logs.clone(),
            args: false,
            len: self.at.env,
        }
    }

    /// ARGs in scope with a value.
    pub fn args(&self) -> VarList {
        VarList {
            logs: self.logs.clone(),
            args: true,
            len: self.at.args,
        }
    }
}

impl std::fmt::Debug for StepVars {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StepVars")
            .field("env", &self.env())
            .field("args", &self.args())
            .finish()
    }
}
impl Env for StageScope {
    fn lookup(&self, name: &str) -> Option<String> {
        self.lookup_borrowed(name).map(Cow::into_owned)
    }

    fn lookup_borrowed(&self, name: &str) -> Option<Cow<'_, str>> {
        let latest = self.index.get(name)?;
        match (latest.env, latest.arg) {
            (Some(i), _) => Some(Cow::Borrowed(self.env.value(i))),
            (None, Some(i)) => Some(Cow::Borrowed(self.args.value(i))),
            (None, None) => None,
        }
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
    fn lists_keep_order_and_latest_values() {
        let mut v = StageScope::default();
        v.set_env("A", "1");
        v.set_env("B", "2");
        let before = v.mark();
        v.set_env("A", "3");
        v.set_arg("C", "4");
        v.set_arg("B", "5");
        assert_eq!(v.lookup("A").as_deref(), Some("3"));
        // ENV wins over an ARG of the same name; an ARG alone is seen.
        assert_eq!(v.lookup("B").as_deref(), Some("2"));
        assert_eq!(v.lookup("C").as_deref(), Some("4"));
        assert_eq!(v.lookup("D"), None);
        let after = v.mark();
        let done = v.finish();
        let p = |k: &str, v: &str| (k.to_string(), v.to_string());
        let (env, args) = (done.at(before).env(), done.at(before).args());
        assert_eq!(strs(&env), vec![p("A", "1"), p("B", "2")]);
        assert!(args.is_empty());
        let (env, args) = (done.at(after).env(), done.at(after).args());
        assert_eq!(strs(&env), vec![p("A", "3"), p("B", "2")]);
        assert_eq!(strs(&args), vec![p("C", "4"), p("B", "5")]);
        assert_eq!(strs(&done.final_env()), strs(&env));
        let copy = StageScope::with_env(env.to_vec());
        assert_eq!(copy.lookup("A").as_deref(), Some("3"));
        assert_eq!(strs(&copy.finish().final_env()), strs(&env));
        assert!(VarList::default().is_empty());
        assert_eq!(format!("{env:?}"), r#"[("A", "3"), ("B", "2")]"#);
    }

    #[test]
    fn a_long_history_keeps_each_list_as_it_was() {
        let mut v = StageScope::default();
        let mut marks = Vec::new();
        for i in 0..200_000 {
            v.set_env("PATH", &i.to_string());
            if i % 50_000 == 0 {
                marks.push(v.mark());
            }
        }
        let done = v.finish();
        assert_eq!(
            strs(&done.at(marks[1]).env()),
            vec![("PATH".into(), "50000".into())]
        );
        assert_eq!(
            strs(&done.final_env()),
            vec![("PATH".into(), "199999".into())]
        );
    }
}
