//! Expansion of one instruction in its stage's scope, for exactly the words Docker expands:
//! ENV, LABEL, ARG defaults, ADD/COPY (sources, destination, --chown, --chmod, --checksum,
//! and heredoc bodies whose name was not quoted), EXPOSE, STOPSIGNAL, USER, VOLUME, WORKDIR
//! and RUN --mount options. RUN/CMD/ENTRYPOINT text is left to the shell at run time, and
//! ONBUILD triggers to the build that inherits them.

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};

use super::scope::{GlobalArgs, StageScope};
use crate::dockerfile::error::DockerfileError;
use crate::dockerfile::instructions::{mount, ArgDecl, Command, Instruction, KeyValue, Text};
use crate::dockerfile::shell::{Env, Lexer};

pub(super) struct Expander<'a> {
    pub lexer: &'a Lexer,
    /// Heredoc bodies are expanded with `\` as escape and quotes kept, as BuildKit does.
    pub raw_lexer: Lexer,
    pub globals: &'a GlobalArgs,
    pub build_args: &'a BTreeMap<String, String>,
    /// Build-arg names some ARG declared (for the unused build-arg warning).
    pub consumed: &'a mut BTreeSet<String>,
}

impl Expander<'_> {
    /// Expands `inst` with `scope` as it is before the instruction, then applies what the
    /// instruction changes in the scope (ENV, ARG). Inlined into its one caller's loop, as
    /// the compiler did before the scope became a log.
    #[inline]
    pub fn step<'t>(
        &mut self,
        scope: &mut StageScope,
        out: &mut Instruction<'t>,
    ) -> Result<(), DockerfileError> {
        let lexer = self.lexer;
        let (line, keyword) = (out.line, out.keyword);
        let e = |msg: String| DockerfileError::new(line, Some(keyword), msg);
        // Asked only about words that need expansion (see `declare`).
        let word = |w: &str, env: &dyn Env| lexer.process_word(w, env).map_err(|x| e(x.0));
        // Most words are left as they are: expanding in place then costs no allocation.
        let in_place = |w: &mut Text<'t>, env: &dyn Env| -> Result<(), DockerfileError> {
            if needs_expansion(lexer, w) {
                *w = Cow::Owned(lexer.process_word(w, env).map_err(|x| e(x.0))?);
            }
            Ok(())
        };
        match &mut out.command {
            Command::Env(kvs) => {
                expand_kvs(kvs, scope, &in_place)?;
                for kv in kvs.iter() {
                    scope.set_env(&kv.key, &kv.value);
                }
            }
            Command::Label(kvs) => expand_kvs(kvs, scope, &in_place)?,
            Command::Arg(decls) => {
                for d in decls.iter_mut() {
                    self.declare(scope, d, &word)?;
                }
            }
            Command::Expose(ports) => {
                // Ports as written (`80/tcp`) expand to themselves, one word each.
                let single =
                    |p: &str| !p.is_empty() && !p.contains(crate::dockerfile::go_text::is_space);
                if ports.iter().all(|p| lexer.is_literal(p) && single(p)) {
                    return Ok(());
                }
                let mut all = Vec::with_capacity(ports.len());
                for p in ports.iter() {
                    let words = lexer.process_words(p, scope).map_err(|x| e(x.0))?;
                    all.extend(words.into_iter().map(Cow::Owned));
                }
                *ports = all;
            }
            Command::StopSignal(v) => {
                in_place(v, scope)?;
                if !valid_signal(v) {
                    return Err(e(format!("Invalid signal: {v}")));
                }
            }
            Command::User(v) | Command::Workdir(v) => {
                in_place(v, scope)?;
            }
            Command::Volume(vols) => {
                for v in vols.iter_mut() {
                    in_place(v, scope)?;
                    if v.trim().is_empty() {
                        return Err(e("VOLUME specified can not be an empty string".into()));
                    }
                }
            }
            Command::Copy(c) | Command::Add(c) => {
                for s in c.sources.iter_mut() {
                    in_place(s, scope)?;
                }
                in_place(&mut c.dest, scope)?;
                for opt in [&mut c.chown, &mut c.chmod, &mut c.checksum] {
                    if let Some(mut v) = opt.take() {
                        in_place(&mut v, scope)?;
                        *opt = (!v.is_empty()).then_some(v);
                    }
                }
                for content in c.contents.iter_mut().filter(|c| c.expand) {
                    content.data = self
                        .raw_lexer
                        .process_word(&content.data, scope)
                        .map_err(|x| e(x.0))?;
                }
            }
            Command::Run(r) => {
                let mut mounts = Vec::with_capacity(r.mount_specs.len());
                for spec in &r.mount_specs {
                    // `mount::parse` only asks about values that may expand (and the lexer
                    // gives a literal one back as it is): no second look for that here.
                    let mut expand = |v: &str| lexer.process_word(v, scope).map_err(|x| x.0);
                    mounts.push(mount::parse(spec, &mut expand).map_err(e)?);
                }
                r.mounts = mounts;
            }
            _ => {}
        }
        Ok(())
    }

    /// BuildKit's `dispatchArg`: a build arg wins over the default; a bare `ARG name`
    /// inherits the global value; the default is expanded with what is in scope so far.
    fn declare(
        &mut self,
        scope: &mut StageScope,
        d: &mut ArgDecl<'_>,
        word: &dyn Fn(&str, &dyn Env) -> Result<String, DockerfileError>,
    ) -> Result<(), DockerfileError> {
        let key: &str = &d.key;
        // Only build-arg names matter (for the unused build-arg warning).
        if self.build_args.contains_key(key) && !self.consumed.contains(key) {
            self.consumed.insert(key.to_string());
        }
        // A default with nothing to expand stays as written (borrowed from the Dockerfile).
        let value: Option<Text<'_>> = if let Some(v) = self.build_args.get(key) {
            Some(Cow::Owned(v.clone()))
        } else if let Some(default) = d.default.take() {
            Some(match needs_expansion(self.lexer, &default) {
                true => Cow::Owned(word(&default, scope)?),
                false => default,
            })
        } else {
            self.globals.get(key).cloned().flatten().map(Cow::Owned)
        };
        if let Some(v) = &value {
            scope.set_arg(key, v);
        }
        d.default = value;
        Ok(())
    }
}

/// Most words hold nothing to expand or unquote: those skip the lexer (same result, since
/// without `$`, quotes or escapes the lexer returns the word as it is).
fn needs_expansion(lexer: &Lexer, w: &str) -> bool {
    !lexer.is_literal(w)
}

/// Docker's `signal.ParseSignal` on Linux: a non-zero number, or a name with or without
/// `SIG` (including `RTMIN+n` / `RTMAX-n`).
pub(super) fn valid_signal(raw: &str) -> bool {
    if let Ok(n) = raw.parse::<i64>() {
        return n != 0;
    }
    const NAMES: [&str; 35] = [
        "ABRT", "ALRM", "BUS", "CHLD", "CLD", "CONT", "FPE", "HUP", "ILL", "INT", "IO", "IOT",
        "KILL", "PIPE", "POLL", "PROF", "PWR", "QUIT", "SEGV", "STKFLT", "STOP", "SYS", "TERM",
        "TRAP", "TSTP", "TTIN", "TTOU", "URG", "USR1", "USR2", "VTALRM", "WINCH", "XCPU", "XFSZ",
        "UNUSED",
    ];
    let upper = raw.to_ascii_uppercase();
    let name = upper.strip_prefix("SIG").unwrap_or(&upper);
    if NAMES.contains(&name) || name == "RTMIN" || name == "RTMAX" {
        return true;
    }
    let offset = |rest: &str| rest.parse::<u32>().is_ok_and(|n| (1..=15).contains(&n));
    if let Some(rest) = name.strip_prefix("RTMIN+") {
        return offset(rest);
    }
    if let Some(rest) = name.strip_prefix("RTMAX-") {
        return rest.parse::<u32>().is_ok_and(|n| (1..=14).contains(&n));
    }
    false
}

fn expand_kvs<'t>(
    kvs: &mut [KeyValue<'t>],
    scope: &StageScope,
    in_place: &dyn Fn(&mut Text<'t>, &dyn Env) -> Result<(), DockerfileError>,
) -> Result<(), DockerfileError> {
    // Every pair sees the scope from before the instruction (`ENV a=1 b=$a` uses the old a).
    for kv in kvs.iter_mut() {
        in_place(&mut kv.key, scope)?;
        in_place(&mut kv.value, scope)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::valid_signal;

    #[test]
    fn signals() {
        for ok in ["SIGTERM", "term", "9", "SIGRTMIN+3", "RTMAX-1", "sigkill"] {
            assert!(valid_signal(ok), "{ok}");
        }
        for bad in ["0", "SIGFOO", "RTMIN+16", "", "TERM2"] {
            assert!(!valid_signal(bad), "{bad}");
        }
    }
}
