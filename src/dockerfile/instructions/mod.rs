//! Typed instructions lowered from the node tree, with their flags parsed and checked, as
//! BuildKit's `instructions` package does. Lowering checks shape only (argument counts, flags,
//! JSON forms); variables are expanded later, by the planner, because their values depend on
//! the stage and the build args.
//!
//! Node shapes expected from the parser (BuildKit's): ENV and LABEL arguments come in triples
//! `key, value, delimiter` (`"="`, or `""` for the legacy `ENV key value` form), values with
//! their quotes still in place; RUN/CMD/ENTRYPOINT/SHELL/VOLUME/COPY/ADD carry `json` when
//! written in exec form; HEALTHCHECK's first argument is its type; ONBUILD's trigger
//! instruction is its node's `trigger()`.

pub mod flags;
pub mod healthcheck;
pub mod mount;
pub mod suggest;

use std::borrow::Cow;
use std::fmt;

use smallvec::SmallVec;

use self::flags::{Flags, Spec};
pub use self::healthcheck::{HealthConfig, Healthcheck};
pub use self::mount::{Mount, MountType, Sharing};
use super::error::DockerfileError;
use super::parser::{Ast, Node};

/// Every instruction keyword, for "did you mean" hints.
pub const INSTRUCTIONS: [&str; 18] = [
    "ADD",
    "ARG",
    "CMD",
    "COPY",
    "ENTRYPOINT",
    "ENV",
    "EXPOSE",
    "FROM",
    "HEALTHCHECK",
    "LABEL",
    "MAINTAINER",
    "ONBUILD",
    "RUN",
    "SHELL",
    "STOPSIGNAL",
    "USER",
    "VOLUME",
    "WORKDIR",
];

const NO_FLAGS: &[Spec] = &[];
const FROM_FLAGS: &[Spec] = &[Spec::string("platform", "")];
const FROM_PLATFORM: usize = flags::index(FROM_FLAGS, "platform");
const RUN_FLAGS: &[Spec] = &[
    Spec::strings("mount"),
    Spec::string("network", "default"),
    Spec::string("security", "sandbox"),
];
const RUN_MOUNT: usize = flags::index(RUN_FLAGS, "mount");
const RUN_NETWORK: usize = flags::index(RUN_FLAGS, "network");
const RUN_SECURITY: usize = flags::index(RUN_FLAGS, "security");
const COPY_FLAGS: &[Spec] = &[
    Spec::strings("exclude"),
    Spec::bool("parents"),
    Spec::string("chown", ""),
    Spec::string("chmod", ""),
    Spec::bool("link"),
    Spec::string("from", ""),
];
const ADD_FLAGS: &[Spec] = &[
    Spec::strings("exclude"),
    Spec::bool("parents"),
    Spec::string("chown", ""),
    Spec::string("chmod", ""),
    Spec::bool("link"),
    Spec::bool("keep-git-dir"),
    Spec::string("checksum", ""),
];
/// COPY's and ADD's tables share their first five flags, at the same positions.
const COPY_EXCLUDE: usize = flags::index(COPY_FLAGS, "exclude");
const COPY_PARENTS: usize = flags::index(COPY_FLAGS, "parents");
const COPY_CHOWN: usize = flags::index(COPY_FLAGS, "chown");
const COPY_CHMOD: usize = flags::index(COPY_FLAGS, "chmod");
const COPY_LINK: usize = flags::index(COPY_FLAGS, "link");
const COPY_FROM: usize = flags::index(COPY_FLAGS, "from");
const ADD_KEEP_GIT_DIR: usize = flags::index(ADD_FLAGS, "keep-git-dir");
const ADD_CHECKSUM: usize = flags::index(ADD_FLAGS, "checksum");
const _: () = {
    let shared = ["exclude", "parents", "chown", "chmod", "link"];
    let mut i = 0;
    while i < shared.len() {
        assert!(flags::index(COPY_FLAGS, shared[i]) == flags::index(ADD_FLAGS, shared[i]));
        i += 1;
    }
};
const HEALTHCHECK_FLAGS: &[Spec] = &[
    Spec::string("interval", ""),
    Spec::string("timeout", ""),
    Spec::string("start-period", ""),
    Spec::string("start-interval", ""),
    Spec::string("retries", ""),
];

/// Text of an instruction: borrowed from the Dockerfile where it is written there as it is
/// (most words), owned where lowering or expansion made it. A 10,000-line file would
/// otherwise cost tens of thousands of small allocations to lower, and as many to free.
pub type Text<'a> = Cow<'a, str>;

/// Lists that usually hold one item (a shell-form command, a COPY source, a mount, an ARG),
/// kept in place: most instructions then own no list on the heap, which is an allocation
/// fewer to make and to free for each. They read as slices, and print as `Vec`s do.
pub type One<T> = SmallVec<[T; 1]>;

/// ENV and LABEL pairs, two kept in place (one line often sets two), no larger than RUN.
pub type Pairs<'a> = SmallVec<[KeyValue<'a>; 2]>;

/// One instruction with where it was written. It borrows from the Dockerfile's text;
/// [`Instruction::into_owned`] makes one that does not.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Instruction<'a> {
    /// Upper-cased keyword (`RUN`).
    pub keyword: &'static str,
    pub line: usize,
    pub end_line: usize,
    /// The logical line as written.
    pub original: Text<'a>,
    pub command: Command<'a>,
}

/// COPY and ADD are boxed: they are the largest instructions by far, and every other one
/// would otherwise take their size. The others own as little on the heap as they can:
/// their lists hold their usual length in place.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command<'a> {
    From(From<'a>),
    Run(Run<'a>),
    Cmd(CommandLine<'a>),
    Entrypoint(CommandLine<'a>),
    /// Always JSON.
    Shell(Vec<Text<'a>>),
    Env(Pairs<'a>),
    Arg(One<ArgDecl<'a>>),
    Label(Pairs<'a>),
    Maintainer(Text<'a>),
    /// Sorted, as BuildKit keeps them.
    Expose(Vec<Text<'a>>),
    Volume(Vec<Text<'a>>),
    User(Text<'a>),
    Workdir(Text<'a>),
    Copy(Box<Copy<'a>>),
    Add(Box<Copy<'a>>),
    Onbuild(Onbuild<'a>),
    StopSignal(Text<'a>),
    Healthcheck(Healthcheck),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct From<'a> {
    /// Image reference, stage name or `scratch`, as written (expanded by the planner).
    pub image: Text<'a>,
    /// `AS name`, lower-cased and checked.
    pub name: Option<String>,
    pub platform: Option<Text<'a>>,
}

/// The command of RUN, CMD, ENTRYPOINT and HEALTHCHECK CMD.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CommandLine<'a> {
    /// Exec form: the argv; shell form: one string, to be run by the stage's SHELL.
    pub args: One<Text<'a>>,
    /// Shell form (`RUN echo hi`) rather than exec form (`RUN ["echo", "hi"]`).
    pub prepend_shell: bool,
    /// Heredocs attached to a RUN.
    pub files: Vec<InlineFile>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InlineFile {
    pub name: String,
    pub data: String,
    /// `<<-`: leading tabs are stripped when the file is written.
    pub chomp: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Network {
    #[default]
    Default,
    None,
    Host,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Security {
    #[default]
    Sandbox,
    Insecure,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Run<'a> {
    pub cmd: CommandLine<'a>,
    /// The `--mount` values as written (checked for shape when lowered).
    pub mount_specs: One<Text<'a>>,
    /// The mounts parsed with their values expanded; filled by the planner.
    pub mounts: Vec<Mount>,
    pub network: Network,
    pub security: Security,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyValue<'a> {
    pub key: Text<'a>,
    pub value: Text<'a>,
    /// Written in the legacy `ENV key value` form.
    pub no_delim: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArgDecl<'a> {
    pub key: Text<'a>,
    pub default: Option<Text<'a>>,
}

/// COPY and ADD. ADD-only fields stay at their defaults for COPY.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Copy<'a> {
    pub sources: One<Text<'a>>,
    /// Heredoc sources (`COPY <<EOF /dest`).
    pub contents: One<SourceContent>,
    pub dest: Text<'a>,
    /// COPY only: stage name, stage index or image.
    pub from: Option<Text<'a>>,
    pub chown: Option<Text<'a>>,
    pub chmod: Option<Text<'a>>,
    pub link: bool,
    pub parents: bool,
    pub excludes: Vec<Text<'a>>,
    /// ADD only.
    pub checksum: Option<Text<'a>>,
    /// ADD only.
    pub keep_git_dir: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceContent {
    /// The heredoc name, used as the file name.
    pub path: String,
    pub data: String,
    /// Variables in `data` are expanded (the heredoc name was not quoted).
    pub expand: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Onbuild<'a> {
    /// The trigger as written, without `ONBUILD` (what goes into the image config).
    pub expression: String,
    /// The trigger, lowered to check it now rather than when a child image is built.
    pub trigger: Box<Instruction<'a>>,
}

fn err(node: &Node, msg: impl Into<String>) -> DockerfileError {
    DockerfileError::new(node.start_line(), Some(&node.value), msg)
}

/// BuildKit's `nodeArgs`: argument values, descending into a sub-command (ONBUILD),
/// appended to `out`.
fn node_args<'n, 'a>(node: &'n Node<'a>, out: &mut Vec<&'n Text<'a>>) {
    for arg in &node.next {
        out.push(&arg.value);
    }
    if let Some(child) = node.trigger() {
        out.push(&child.value);
        node_args(child, out);
    }
}

/// Exec form keeps the argv; shell form is one string.
fn json_args<'a>(args: &[&Text<'a>], json: bool) -> One<Text<'a>> {
    match args {
        [] => One::new(),
        _ if json => args.iter().map(|&a| a.clone()).collect(),
        _ => One::from_buf([shell_text(args)]),
    }
}

/// Shell-form words as the one string they make (`args` is not empty).
fn shell_text<'a>(args: &[&Text<'a>]) -> Text<'a> {
    match args {
        [one] => (*one).clone(),
        _ => {
            let len = args.iter().map(|a| a.len() + 1).sum();
            let mut text = String::with_capacity(len);
            for (i, a) in args.iter().enumerate() {
                if i > 0 {
                    text.push(' ');
                }
                text.push_str(a);
            }
            Cow::Owned(text)
        }
    }
}

/// Lowers every instruction of a parsed file, in order.
pub fn lower_all<'a>(ast: &Ast<'a>) -> Result<Vec<Instruction<'a>>, DockerfileError> {
    let mut out = Vec::with_capacity(ast.children.len());
    // One argument list reused for every instruction.
    let mut args = Vec::new();
    for child in &ast.children {
        out.push(lower_with(child, &mut args)?);
    }
    Ok(out)
}

/// [`lower`], with `args` as the (reused) list for the argument values.
pub(crate) fn lower_with<'n, 'a>(
    node: &'n Node<'a>,
    args: &mut Vec<&'n Text<'a>>,
) -> Result<Instruction<'a>, DockerfileError> {
    args.clear();
    node_args(node, args);
    lower_args(node, args)
}

/// Lowers one instruction node.
pub fn lower<'a>(node: &Node<'a>) -> Result<Instruction<'a>, DockerfileError> {
    let mut args = Vec::with_capacity(node.next.len());
    node_args(node, &mut args);
    lower_args(node, &args)
}

/// Lowers `node`, whose argument values are `args`.
fn lower_args<'n, 'a>(
    node: &'n Node<'a>,
    args: &[&'n Text<'a>],
) -> Result<Instruction<'a>, DockerfileError> {
    let Some(kw) = Keyword::of(&node.value) else {
        let keyword = node.value.to_ascii_uppercase();
        let msg = suggest::wrap(
            format!("unknown instruction: {keyword}"),
            &keyword,
            &INSTRUCTIONS,
            false,
        );
        return Err(err(node, msg));
    };
    let parse_flags = |specs: &'static [Spec]| -> Result<Flags<'n, Text<'a>>, DockerfileError> {
        Flags::parse(specs, &node.flags).map_err(|m| err(node, m))
    };
    // Most instructions take no flag, and are written without one.
    let no_flags = || match node.flags.is_empty() {
        true => Ok(()),
        false => parse_flags(NO_FLAGS).map(drop),
    };
    let keyword = kw.name();
    let command = match kw {
        Keyword::From => {
            let name = match args.len() {
                3 if args[1].eq_ignore_ascii_case("as") => {
                    let name = args[2].to_ascii_lowercase();
                    if !valid_stage_name(&name) {
                        return Err(err(node, format!("invalid name for build stage: {:?}, name can't start with a number or contain symbols", args[2])));
                    }
                    Some(name)
                }
                1 => None,
                _ => return Err(err(node, "FROM requires either one or three arguments")),
            };
            let f = parse_flags(FROM_FLAGS)?;
            Command::From(From {
                image: args[0].clone(),
                name,
                platform: f.opt(FROM_PLATFORM),
            })
        }
        Keyword::Run => {
            // Most RUNs are written without flags: those take the declared defaults.
            let (network, security, mount_specs) = match node.flags.is_empty() {
                true => (Network::default(), Security::default(), One::new()),
                false => {
                    let f = parse_flags(RUN_FLAGS)?;
                    run_flags(node, &f)?
                }
            };
            Command::Run(Run {
                cmd: command_line(node, args),
                mount_specs,
                mounts: Vec::new(),
                network,
                security,
            })
        }
        Keyword::Cmd => {
            no_flags()?;
            Command::Cmd(command_line(node, args))
        }
        Keyword::Entrypoint => {
            no_flags()?;
            // `ENTRYPOINT []` (no arguments) clears the inherited entrypoint.
            Command::Entrypoint(command_line(node, args))
        }
        Keyword::Shell => {
            no_flags()?;
            let shell = json_args(args, node.json).into_vec();
            if shell.is_empty() {
                return Err(err(node, "SHELL requires at least one argument"));
            }
            if !node.json {
                return Err(err(node, "SHELL requires the arguments to be in JSON form"));
            }
            Command::Shell(shell)
        }
        Keyword::Env | Keyword::Label => {
            no_flags()?;
            let kvs = key_values(node, keyword, args)?;
            if kw == Keyword::Env {
                Command::Env(kvs)
            } else {
                Command::Label(kvs)
            }
        }
        Keyword::Arg => {
            no_flags()?;
            if args.is_empty() {
                return Err(err(node, "ARG requires at least one argument"));
            }
            let mut decls = One::with_capacity(args.len());
            for a in args {
                let decl = match a.bytes().position(|b| b == b'=') {
                    Some(0) => return Err(err(node, "ARG names can not be blank")),
                    Some(i) => ArgDecl {
                        key: cut(a, 0, i),
                        default: Some(cut(a, i + 1, a.len())),
                    },
                    None => ArgDecl {
                        key: (*a).clone(),
                        default: None,
                    },
                };
                decls.push(decl);
            }
            Command::Arg(decls)
        }
        Keyword::Maintainer => {
            if args.len() != 1 {
                return Err(err(node, "MAINTAINER requires exactly one argument"));
            }
            no_flags()?;
            Command::Maintainer(args[0].clone())
        }
        Keyword::Expose => {
            if args.is_empty() {
                return Err(err(node, "EXPOSE requires at least one argument"));
            }
            no_flags()?;
            let mut ports: Vec<Text<'a>> = args.iter().map(|&a| a.clone()).collect();
            ports.sort();
            Command::Expose(ports)
        }
        Keyword::Volume => {
            if args.is_empty() {
                return Err(err(node, "VOLUME requires at least one argument"));
            }
            no_flags()?;
            let mut vols = Vec::with_capacity(args.len());
            for v in args {
                let t = v.trim();
                if t.is_empty() {
                    return Err(err(node, "VOLUME specified can not be an empty string"));
                }
                let start = t.as_ptr() as usize - v.as_ptr() as usize;
                vols.push(cut(v, start, start + t.len()));
            }
            Command::Volume(vols)
        }
        Keyword::User | Keyword::Workdir | Keyword::StopSignal => {
            if args.len() != 1 {
                return Err(err(
                    node,
                    format!("{keyword} requires exactly one argument"),
                ));
            }
            no_flags()?;
            let v = args[0].clone();
            match kw {
                Keyword::User => Command::User(v),
                Keyword::Workdir => Command::Workdir(v),
                _ => Command::StopSignal(v),
            }
        }
        Keyword::Copy | Keyword::Add => {
            let is_add = kw == Keyword::Add;
            if args.len() < 2 {
                return Err(err(node, format!("{keyword} requires at least two arguments, but only one was provided. Destination could not be determined")));
            }
            let f = parse_flags(if is_add { ADD_FLAGS } else { COPY_FLAGS })?;
            let mut copy = sources_and_dest(node, keyword, args)?;
            copy.chown = f.opt(COPY_CHOWN);
            copy.chmod = f.opt(COPY_CHMOD);
            copy.link = f.is_true(COPY_LINK);
            copy.parents = f.is_true(COPY_PARENTS);
            copy.excludes = f.values(COPY_EXCLUDE);
            if is_add {
                copy.checksum = f.opt(ADD_CHECKSUM);
                copy.keep_git_dir = f.is_true(ADD_KEEP_GIT_DIR);
            } else {
                copy.from = f.opt(COPY_FROM);
            }
            if is_add {
                Command::Add(Box::new(copy))
            } else {
                Command::Copy(Box::new(copy))
            }
        }
        Keyword::Onbuild => {
            if args.is_empty() {
                return Err(err(node, "ONBUILD requires at least one argument"));
            }
            no_flags()?;
            let trigger_kw = args[0].trim().to_ascii_uppercase();
            match trigger_kw.as_str() {
                "ONBUILD" => {
                    return Err(err(
                        node,
                        "Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed",
                    ))
                }
                "MAINTAINER" | "FROM" => {
                    return Err(err(
                        node,
                        format!("{trigger_kw} isn't allowed as an ONBUILD trigger"),
                    ))
                }
                _ => {}
            }
            let child = node
                .trigger()
                .ok_or_else(|| err(node, "ONBUILD requires at least one argument"))?;
            let mut child = child.clone();
            // Errors in the trigger point at the ONBUILD line.
            child.set_lines(node.start_line(), node.end_line());
            let trigger = lower(&child)?;
            let mut expression = strip_onbuild(&node.original).to_string();
            for h in node.heredocs() {
                expression.push('\n');
                expression.push_str(&h.content);
                expression.push_str(&h.name);
            }
            Command::Onbuild(Onbuild {
                expression,
                trigger: Box::new(trigger),
            })
        }
        Keyword::Healthcheck => healthcheck_command(node, args)?,
    };
    Ok(Instruction {
        keyword,
        line: node.start_line(),
        end_line: node.end_line().max(node.start_line()),
        original: node.original.clone(),
        command,
    })
}

fn own(t: Text<'_>) -> Text<'static> {
    Cow::Owned(t.into_owned())
}

fn own_all<'a, C: FromIterator<Text<'static>>>(v: impl IntoIterator<Item = Text<'a>>) -> C {
    v.into_iter().map(own).collect()
}

impl Instruction<'_> {
    /// The same instruction, no longer borrowing the Dockerfile's text (for instructions
    /// planned from a text that does not outlive them, such as ONBUILD triggers).
    pub fn into_owned(self) -> Instruction<'static> {
        Instruction {
            keyword: self.keyword,
            line: self.line,
            end_line: self.end_line,
            original: own(self.original),
            command: self.command.into_owned(),
        }
    }
}

impl Command<'_> {
    fn into_owned(self) -> Command<'static> {
        let kvs = |v: Pairs<'_>| {
            v.into_iter()
                .map(|kv| KeyValue {
                    key: own(kv.key),
                    value: own(kv.value),
                    no_delim: kv.no_delim,
                })
                .collect()
        };
        let copy = |c: Box<Copy<'_>>| {
            let c = *c;
            Box::new(Copy {
                sources: own_all(c.sources),
                contents: c.contents,
                dest: own(c.dest),
                from: c.from.map(own),
                chown: c.chown.map(own),
                chmod: c.chmod.map(own),
                link: c.link,
                parents: c.parents,
                excludes: own_all(c.excludes),
                checksum: c.checksum.map(own),
                keep_git_dir: c.keep_git_dir,
            })
        };
        match self {
            Command::From(f) => Command::From(From {
                image: own(f.image),
                name: f.name,
                platform: f.platform.map(own),
            }),
            Command::Run(r) => Command::Run(Run {
                cmd: r.cmd.into_owned(),
                mount_specs: own_all(r.mount_specs),
                mounts: r.mounts,
                network: r.network,
                security: r.security,
            }),
            Command::Cmd(c) => Command::Cmd(c.into_owned()),
            Command::Entrypoint(c) => Command::Entrypoint(c.into_owned()),
            Command::Shell(v) => Command::Shell(own_all(v)),
            Command::Env(v) => Command::Env(kvs(v)),
            Command::Arg(v) => Command::Arg(
                v.into_iter()
                    .map(|d| ArgDecl {
                        key: own(d.key),
                        default: d.default.map(own),
                    })
                    .collect(),
            ),
            Command::Label(v) => Command::Label(kvs(v)),
            Command::Maintainer(t) => Command::Maintainer(own(t)),
            Command::Expose(v) => Command::Expose(own_all(v)),
            Command::Volume(v) => Command::Volume(own_all(v)),
            Command::User(t) => Command::User(own(t)),
            Command::Workdir(t) => Command::Workdir(own(t)),
            Command::Copy(c) => Command::Copy(copy(c)),
            Command::Add(c) => Command::Add(copy(c)),
            Command::Onbuild(o) => Command::Onbuild(Onbuild {
                expression: o.expression,
                trigger: Box::new(o.trigger.into_owned()),
            }),
            Command::StopSignal(t) => Command::StopSignal(own(t)),
            Command::Healthcheck(h) => Command::Healthcheck(h),
        }
    }
}

impl CommandLine<'_> {
    fn into_owned(self) -> CommandLine<'static> {
        CommandLine {
            args: own_all(self.args),
            prepend_shell: self.prepend_shell,
            files: self.files,
        }
    }
}

/// Owned copies of words, for what outlives the Dockerfile's text (image configs, requests
/// handed to other threads).
pub fn owned(words: &[Text<'_>]) -> Vec<String> {
    words.iter().map(|w| w.to_string()).collect()
}

/// `text[start..end]`, borrowed when `text` is.
fn cut<'a>(text: &Text<'a>, start: usize, end: usize) -> Text<'a> {
    match text {
        Cow::Borrowed(s) => Cow::Borrowed(&s[start..end]),
        Cow::Owned(s) => Cow::Owned(s[start..end].to_string()),
    }
}

/// An instruction keyword, in the order of [`INSTRUCTIONS`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Keyword {
    Add,
    Arg,
    Cmd,
    Copy,
    Entrypoint,
    Env,
    Expose,
    From,
    Healthcheck,
    Label,
    Maintainer,
    Onbuild,
    Run,
    Shell,
    StopSignal,
    User,
    Volume,
    Workdir,
}

impl Keyword {
    /// The keyword `word` names, in any (ASCII) case. This runs for every instruction: the
    /// length and first letter pick the one candidate (only ADD and ARG need a second
    /// letter), and one comparison settles it.
    fn of(word: &str) -> Option<Keyword> {
        use Keyword as K;
        let b = word.as_bytes();
        let candidate = match (b.len(), b.first()?.to_ascii_uppercase()) {
            (3, b'A') if b[1].eq_ignore_ascii_case(&b'd') => K::Add,
            (3, b'A') => K::Arg,
            (3, b'C') => K::Cmd,
            (4, b'C') => K::Copy,
            (10, b'E') => K::Entrypoint,
            (3, b'E') => K::Env,
            (6, b'E') => K::Expose,
            (4, b'F') => K::From,
            (11, b'H') => K::Healthcheck,
            (5, b'L') => K::Label,
            (10, b'M') => K::Maintainer,
            (7, b'O') => K::Onbuild,
            (3, b'R') => K::Run,
            (5, b'S') => K::Shell,
            (10, b'S') => K::StopSignal,
            (4, b'U') => K::User,
            (6, b'V') => K::Volume,
            (7, b'W') => K::Workdir,
            _ => return None,
        };
        // Keywords are all letters: clearing bit 5 upper-cases a letter, and turns no other
        // byte into one.
        let name = candidate.name().as_bytes();
        b.iter()
            .zip(name)
            .all(|(&c, &k)| c & !0x20 == k)
            .then_some(candidate)
    }

    /// Upper-cased, as instructions record it.
    fn name(self) -> &'static str {
        INSTRUCTIONS[self as usize]
    }
}

/// BuildKit's stage-name rule: `^[a-z][a-z0-9-_.]*$` (after lower-casing).
pub fn valid_stage_name(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some('a'..='z'))
        && chars.all(|c| matches!(c, 'a'..='z' | '0'..='9' | '-' | '_' | '.'))
}

fn strip_onbuild(original: &str) -> &str {
    let s = original.trim_start();
    if s.len() >= 7 && s[..7].eq_ignore_ascii_case("ONBUILD") {
        s[7..].trim_start()
    } else {
        s
    }
}

fn command_line<'a>(node: &Node<'a>, args: &[&Text<'a>]) -> CommandLine<'a> {
    CommandLine {
        args: json_args(args, node.json),
        prepend_shell: !node.json,
        files: node
            .heredocs()
            .iter()
            .map(|h| InlineFile {
                name: h.name.to_string(),
                data: h.content.to_string(),
                chomp: h.chomp,
            })
            .collect(),
    }
}

fn key_values<'a>(
    node: &Node<'a>,
    keyword: &str,
    args: &[&Text<'a>],
) -> Result<Pairs<'a>, DockerfileError> {
    if args.is_empty() {
        return Err(err(
            node,
            format!("{keyword} requires at least one argument"),
        ));
    }
    if args.len() % 3 != 0 {
        return Err(err(
            node,
            format!("Bad input to {keyword}, too many arguments"),
        ));
    }
    let mut out = Pairs::with_capacity(args.len() / 3);
    for t in args.chunks(3) {
        if t[0].is_empty() {
            return Err(err(node, format!("{keyword} names can not be blank")));
        }
        out.push(KeyValue {
            key: t[0].clone(),
            value: t[1].clone(),
            no_delim: t[2].is_empty(),
        });
    }
    Ok(out)
}

/// A heredoc marker word (`<<EOF`, `<<-EOF`, `3<<"EOF"`): (name, chomp, quoted).
pub fn heredoc_marker(word: &str) -> Option<(String, bool, bool)> {
    marker(word).map(|(name, chomp, quoted)| (name.into_owned(), chomp, quoted))
}

/// [`heredoc_marker`], with the name borrowed unless quotes had to be taken out of it.
fn marker(word: &str) -> Option<(Cow<'_, str>, bool, bool)> {
    let rest = word.trim_start_matches(|c: char| c.is_ascii_digit());
    let rest = rest.strip_prefix("<<")?;
    let (chomp, rest) = match rest.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, rest),
    };
    if rest.is_empty() || rest.contains('<') {
        return None;
    }
    let quoted = rest.contains(['"', '\'']);
    let name = match quoted {
        true => Cow::Owned(rest.chars().filter(|c| *c != '"' && *c != '\'').collect()),
        false => Cow::Borrowed(rest),
    };
    if name.is_empty() {
        return None;
    }
    Some((name, chomp, quoted))
}

/// Removes leading tabs from every line (`<<-`).
pub fn chomp_heredoc(content: &str) -> String {
    content
        .split_inclusive('\n')
        .map(|l| l.trim_start_matches('\t'))
        .collect()
}

fn sources_and_dest<'a>(
    node: &Node<'a>,
    keyword: &str,
    args: &[&Text<'a>],
) -> Result<Copy<'a>, DockerfileError> {
    let (dest, srcs) = args
        .split_last()
        .ok_or_else(|| err(node, "missing destination"))?;
    if marker(dest).is_some() {
        return Err(err(
            node,
            format!("{keyword} cannot accept a heredoc as a destination"),
        ));
    }
    let mut copy = Copy {
        dest: (*dest).clone(),
        ..Copy::default()
    };
    for src in srcs {
        match marker(src) {
            Some((name, chomp, quoted)) => {
                let h = node.heredocs().iter().find(|h| h.name == name);
                let mut data = h.map(|h| h.content.to_string()).unwrap_or_default();
                if chomp || h.is_some_and(|h| h.chomp) {
                    data = chomp_heredoc(&data);
                }
                copy.contents.push(SourceContent {
                    path: name.into_owned(),
                    data,
                    expand: h.map_or(!quoted, |h| h.expand),
                });
            }
            None => copy.sources.push((*src).clone()),
        }
    }
    Ok(copy)
}

/// RUN's network, security and mounts, from its written flags.
fn run_flags<'a>(
    node: &Node<'a>,
    f: &Flags<'_, Text<'a>>,
) -> Result<(Network, Security, One<Text<'a>>), DockerfileError> {
    let network = match f.value_str(RUN_NETWORK) {
        "default" => Network::Default,
        "none" => Network::None,
        "host" => Network::Host,
        v => return Err(err(node, format!("unsupported network mode {v:?}"))),
    };
    let security = match f.value_str(RUN_SECURITY) {
        "sandbox" => Security::Sandbox,
        "insecure" => Security::Insecure,
        v => return Err(err(node, format!("unsupported security mode {v:?}"))),
    };
    let mount_specs: One<Text<'a>> = f.values(RUN_MOUNT);
    for spec in &mount_specs {
        mount::precheck(spec).map_err(|m| err(node, m))?;
    }
    Ok((network, security, mount_specs))
}

fn healthcheck_command<'a>(
    node: &Node<'a>,
    args: &[&Text<'a>],
) -> Result<Command<'a>, DockerfileError> {
    if args.is_empty() {
        return Err(err(node, "HEALTHCHECK requires at least one argument"));
    }
    let typ = args[0].to_ascii_uppercase();
    let rest = &args[1..];
    if typ == "NONE" {
        if !rest.is_empty() {
            return Err(err(node, "HEALTHCHECK NONE takes no arguments"));
        }
        Flags::parse(NO_FLAGS, &node.flags).map_err(|m| err(node, m))?;
        return Ok(Command::Healthcheck(Healthcheck::None));
    }
    let f = Flags::parse(HEALTHCHECK_FLAGS, &node.flags).map_err(|m| err(node, m))?;
    if typ != "CMD" {
        return Err(err(
            node,
            format!("Unknown type {typ:?} in HEALTHCHECK (try CMD)"),
        ));
    }
    if rest.is_empty() {
        return Err(err(node, "Missing command after HEALTHCHECK CMD"));
    }
    let test = if node.json {
        let mut test = Vec::with_capacity(1 + rest.len());
        test.push("CMD".to_string());
        test.extend(rest.iter().map(|a| a.to_string()));
        test
    } else {
        vec!["CMD-SHELL".to_string(), shell_text(rest).into_owned()]
    };
    const INTERVAL: usize = flags::index(HEALTHCHECK_FLAGS, "interval");
    const TIMEOUT: usize = flags::index(HEALTHCHECK_FLAGS, "timeout");
    const START_PERIOD: usize = flags::index(HEALTHCHECK_FLAGS, "start-period");
    const START_INTERVAL: usize = flags::index(HEALTHCHECK_FLAGS, "start-interval");
    const RETRIES: usize = flags::index(HEALTHCHECK_FLAGS, "retries");
    let iv = |i: usize, name: &str| {
        healthcheck::parse_interval(name, f.value_str(i)).map_err(|m| err(node, m))
    };
    Ok(Command::Healthcheck(Healthcheck::Check(HealthConfig {
        test,
        interval: iv(INTERVAL, "interval")?,
        timeout: iv(TIMEOUT, "timeout")?,
        start_period: iv(START_PERIOD, "start-period")?,
        start_interval: iv(START_INTERVAL, "start-interval")?,
        retries: healthcheck::parse_retries(f.value_str(RETRIES)).map_err(|m| err(node, m))?,
    })))
}

/// Quotes a word that would not read back as one word (spaces, quotes, empty).
fn quote_if_needed(s: &str) -> String {
    if s.is_empty() || s.contains(|c: char| c.is_whitespace() || c == '"' || c == '\'' || c == '\\')
    {
        format!("{s:?}")
    } else {
        s.to_string()
    }
}

fn json_list<T: serde::Serialize>(v: &[T]) -> String {
    serde_json::to_string(v).unwrap_or_default()
}

impl fmt::Display for CommandLine<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.prepend_shell {
            f.write_str(&self.args.join(" "))
        } else {
            f.write_str(&json_list(&self.args))
        }
    }
}

/// A canonical one-line rendering (flags in a fixed order), used by `kiln debug plan` and as
/// the instruction part of cache keys: two steps that render the same do the same thing.
impl fmt::Display for Command<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kvs = |kv: &[KeyValue<'_>]| {
            kv.iter()
                .map(|p| format!("{}={}", quote_if_needed(&p.key), quote_if_needed(&p.value)))
                .collect::<Vec<_>>()
                .join(" ")
        };
        match self {
            Command::From(x) => {
                f.write_str("FROM ")?;
                if let Some(p) = &x.platform {
                    write!(f, "--platform={p} ")?;
                }
                f.write_str(&x.image)?;
                if let Some(n) = &x.name {
                    write!(f, " AS {n}")?;
                }
                Ok(())
            }
            Command::Run(r) => {
                f.write_str("RUN ")?;
                if r.mounts.is_empty() {
                    for m in &r.mount_specs {
                        write!(f, "--mount={m} ")?;
                    }
                } else {
                    for m in &r.mounts {
                        write!(f, "--mount={} ", mount_text(m))?;
                    }
                }
                if r.network != Network::Default {
                    write!(
                        f,
                        "--network={} ",
                        format!("{:?}", r.network).to_lowercase()
                    )?;
                }
                if r.security != Security::Sandbox {
                    f.write_str("--security=insecure ")?;
                }
                write!(f, "{}", r.cmd)?;
                for file in &r.cmd.files {
                    write!(f, " <<{}({} bytes)", file.name, file.data.len())?;
                }
                Ok(())
            }
            Command::Cmd(c) => write!(f, "CMD {c}"),
            Command::Entrypoint(c) => write!(f, "ENTRYPOINT {c}"),
            Command::Shell(s) => write!(f, "SHELL {}", json_list(s)),
            Command::Env(kv) => write!(f, "ENV {}", kvs(kv)),
            Command::Label(kv) => write!(f, "LABEL {}", kvs(kv)),
            Command::Arg(a) => {
                let parts: Vec<String> = a
                    .iter()
                    .map(|d| match &d.default {
                        Some(v) => format!("{}={}", d.key, quote_if_needed(v)),
                        None => d.key.to_string(),
                    })
                    .collect();
                write!(f, "ARG {}", parts.join(" "))
            }
            Command::Maintainer(m) => write!(f, "MAINTAINER {m}"),
            Command::Expose(p) => write!(f, "EXPOSE {}", p.join(" ")),
            Command::Volume(v) => write!(f, "VOLUME {}", json_list(v)),
            Command::User(u) => write!(f, "USER {u}"),
            Command::Workdir(w) => write!(f, "WORKDIR {w}"),
            Command::StopSignal(s) => write!(f, "STOPSIGNAL {s}"),
            Command::Copy(c) => write_copy(f, "COPY", c),
            Command::Add(c) => write_copy(f, "ADD", c),
            Command::Onbuild(o) => write!(f, "ONBUILD {}", o.expression),
            Command::Healthcheck(h) => match h {
                Healthcheck::None => f.write_str("HEALTHCHECK NONE"),
                Healthcheck::Check(h) => {
                    f.write_str("HEALTHCHECK ")?;
                    let d = healthcheck::format_go_duration;
                    for (name, v) in [
                        ("interval", h.interval),
                        ("timeout", h.timeout),
                        ("start-period", h.start_period),
                        ("start-interval", h.start_interval),
                    ] {
                        if !v.is_zero() {
                            write!(f, "--{name}={} ", d(v))?;
                        }
                    }
                    if h.retries != 0 {
                        write!(f, "--retries={} ", h.retries)?;
                    }
                    write!(f, "{}", json_list(&h.test))
                }
            },
        }
    }
}

fn mount_text(m: &Mount) -> String {
    let mut parts = vec![format!("type={}", m.kind.as_str())];
    let mut push = |k: &str, v: &str| {
        if !v.is_empty() {
            parts.push(format!("{k}={v}"));
        }
    };
    push("from", &m.from);
    push("source", &m.source);
    push("target", &m.target);
    push("id", &m.id);
    if let Some(s) = m.sharing {
        push("sharing", s.as_str());
    }
    if let Some(e) = &m.env {
        parts.push(format!("env={e}"));
    }
    if let Some(mode) = m.mode {
        parts.push(format!("mode={mode:o}"));
    }
    if let Some(uid) = m.uid {
        parts.push(format!("uid={uid}"));
    }
    if let Some(gid) = m.gid {
        parts.push(format!("gid={gid}"));
    }
    if m.size_limit != 0 {
        parts.push(format!("size={}", m.size_limit));
    }
    if m.required {
        parts.push("required".into());
    }
    parts.push(if m.read_only { "ro" } else { "rw" }.into());
    parts.join(",")
}

fn write_copy(f: &mut fmt::Formatter<'_>, kw: &str, c: &Copy<'_>) -> fmt::Result {
    f.write_str(kw)?;
    let opt = [
        ("from", &c.from),
        ("chown", &c.chown),
        ("chmod", &c.chmod),
        ("checksum", &c.checksum),
    ];
    for (name, v) in opt {
        if let Some(v) = v {
            write!(f, " --{name}={v}")?;
        }
    }
    for (name, on) in [
        ("link", c.link),
        ("parents", c.parents),
        ("keep-git-dir", c.keep_git_dir),
    ] {
        if on {
            write!(f, " --{name}")?;
        }
    }
    for e in &c.excludes {
        write!(f, " --exclude={e}")?;
    }
    for s in &c.sources {
        write!(f, " {s}")?;
    }
    for s in &c.contents {
        write!(f, " <<{}({} bytes)", s.path, s.data.len())?;
    }
    write!(f, " {}", c.dest)
}

impl fmt::Display for Instruction<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.command.fmt(f)
    }
}

#[cfg(test)]
mod tests;
