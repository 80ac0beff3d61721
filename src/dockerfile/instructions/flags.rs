//! Instruction flags (`--from=stage`, `--link`), parsed the way BuildKit's `BFlags` does: each
//! instruction declares the flags it accepts, then the written flags are checked against them.
//! Kept separate from the instructions because the same rules (booleans without a value,
//! repeatable flags, `--` ending the list) apply to every instruction.
//!
//! Declarations are constant tables and the parsed values borrow the written text: every
//! instruction is checked against its flags and most write none, so this must not allocate.

use std::borrow::Cow;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Bool,
    String,
    /// May be given more than once (`--mount`, `--exclude`).
    Strings,
}

/// The most flags one instruction declares (COPY and ADD declare seven).
const MAX_FLAGS: usize = 8;

/// One declared flag.
#[derive(Debug, Clone, Copy)]
pub struct Spec {
    name: &'static str,
    kind: Kind,
    default: &'static str,
}

impl Spec {
    /// `--name` or `--name=true|false`; false when not written.
    pub const fn bool(name: &'static str) -> Spec {
        Spec {
            name,
            kind: Kind::Bool,
            default: "false",
        }
    }

    /// `--name=value`, at most once.
    pub const fn string(name: &'static str, default: &'static str) -> Spec {
        Spec {
            name,
            kind: Kind::String,
            default,
        }
    }

    /// `--name=value`, any number of times.
    pub const fn strings(name: &'static str) -> Spec {
        Spec {
            name,
            kind: Kind::Strings,
            default: "",
        }
    }
}

/// A written flag: text that may borrow from the Dockerfile, so that a value (always the
/// tail of its flag, after `=`) can be handed on without a copy.
pub trait FlagText<'a>: AsRef<str> {
    /// The text from byte `start` on.
    fn tail(&self, start: usize) -> Cow<'a, str>;
}

impl<'a> FlagText<'a> for Cow<'a, str> {
    fn tail(&self, start: usize) -> Cow<'a, str> {
        match self {
            Cow::Borrowed(s) => Cow::Borrowed(&s[start..]),
            Cow::Owned(s) => Cow::Owned(s[start..].to_string()),
        }
    }
}

impl<'a> FlagText<'a> for &'a str {
    fn tail(&self, start: usize) -> Cow<'a, str> {
        Cow::Borrowed(&self[start..])
    }
}

/// Where a flag's value is: which written flag, and the byte it starts at.
/// Narrow, because `Flags` is built and returned for every instruction. A flag longer than
/// 4 GiB cannot be written (lines are at most 64 KiB).
#[derive(Debug, Clone, Copy)]
struct At {
    arg: u32,
    start: u32,
}

#[derive(Debug, Clone, Copy, Default)]
struct Written {
    /// The written value, `None` for a boolean (see `truth`).
    value: Option<At>,
    /// A boolean's normalised value.
    truth: Option<bool>,
    used: bool,
}

/// The written flags, checked against a declaration table by [`Flags::parse`].
#[derive(Debug, Clone)]
pub struct Flags<'w, S> {
    specs: &'static [Spec],
    src: &'w [S],
    /// One entry per declaration.
    written: [Written; MAX_FLAGS],
    /// Values of repeatable flags, with the index of their declaration, in written order.
    values: Vec<(usize, At)>,
}

impl<'w, S: AsRef<str>> Flags<'w, S> {
    fn position(&self, name: &str) -> Option<usize> {
        self.specs.iter().position(|s| s.name == name)
    }

    /// Checks the written flags (`--name[=value]`) against the declared ones.
    pub fn parse(specs: &'static [Spec], written: &'w [S]) -> Result<Flags<'w, S>, String> {
        // Declarations are fixed by the code, never by the input.
        assert!(
            specs.len() <= MAX_FLAGS,
            "more than {MAX_FLAGS} flags declared"
        );
        let mut flags = Flags {
            specs,
            src: written,
            written: [Written::default(); MAX_FLAGS],
            values: Vec::new(),
        };
        for (n, arg) in written.iter().enumerate() {
            let arg = arg.as_ref();
            let Some(body) = arg.strip_prefix("--") else {
                return Err(format!("arg should start with -- : {arg}"));
            };
            if body.is_empty() {
                // BuildKit stops at a bare `--`, as getopt does.
                return Ok(flags);
            }
            let (name, value) = match body.find('=') {
                Some(i) => {
                    let at = At {
                        arg: n as u32,
                        start: (i + 3) as u32,
                    };
                    (&body[..i], Some((&body[i + 1..], at)))
                }
                None => (body, None),
            };
            let Some(i) = flags.position(name) else {
                return Err(format!("unknown flag: {name}"));
            };
            let kind = specs[i].kind;
            let flag = &mut flags.written[i];
            if flag.used && kind != Kind::Strings {
                return Err(format!("duplicate flag specified: {name}"));
            }
            flag.used = true;
            match kind {
                Kind::Bool => match value {
                    None => flag.truth = Some(true),
                    Some(("", _)) => return Err(format!("missing a value on flag: {name}")),
                    Some((v, _)) if v.eq_ignore_ascii_case("true") => flag.truth = Some(true),
                    Some((v, _)) if v.eq_ignore_ascii_case("false") => flag.truth = Some(false),
                    Some((v, _)) => {
                        return Err(format!("expecting boolean value for flag {name}, not: {v}"))
                    }
                },
                Kind::String => match value {
                    None => return Err(format!("missing a value on flag: {name}")),
                    Some((_, at)) => flag.value = Some(at),
                },
                Kind::Strings => match value {
                    None => return Err(format!("missing a value on flag: {name}")),
                    Some((_, at)) => flags.values.push((i, at)),
                },
            }
        }
        Ok(flags)
    }

    fn text(&self, at: At) -> &'w str {
        &self.src[at.arg as usize].as_ref()[at.start as usize..]
    }

    /// The value of a string flag (its default when not written).
    pub fn value_str(&self, name: &str) -> &'w str {
        let Some(i) = self.position(name) else {
            return "";
        };
        match self.written[i].value {
            Some(at) => self.text(at),
            None => self.specs[i].default,
        }
    }

    pub fn is_true(&self, name: &str) -> bool {
        self.position(name).is_some_and(|i| {
            self.written[i]
                .truth
                .unwrap_or(self.specs[i].default == "true")
        })
    }
}

impl<'w, 'a, S: FlagText<'a>> Flags<'w, S> {
    /// The value of a string flag, `None` when it was not written or written empty.
    pub fn opt(&self, name: &str) -> Option<Cow<'a, str>> {
        let at = self.written[self.position(name)?].value?;
        self.nonempty(at)
    }

    fn nonempty(&self, at: At) -> Option<Cow<'a, str>> {
        let (arg, start) = (&self.src[at.arg as usize], at.start as usize);
        (arg.as_ref().len() > start).then(|| arg.tail(start))
    }

    /// [`Flags::opt`], taking the value so that a second call gives `None`.
    pub fn take_opt(&mut self, name: &str) -> Option<Cow<'a, str>> {
        let i = self.position(name)?;
        let at = self.written[i].value.take()?;
        self.nonempty(at)
    }

    /// The values of a repeatable flag, taken so that a second call gives none.
    pub fn take_values(&mut self, name: &str) -> Vec<Cow<'a, str>> {
        let Some(i) = self.position(name) else {
            return Vec::new();
        };
        let src = self.src;
        let mut out = Vec::new();
        self.values.retain(|(j, at)| {
            if *j == i {
                out.push(src[at.arg as usize].tail(at.start as usize));
            }
            *j != i
        });
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LINK: &[Spec] = &[Spec::bool("link")];
    const FROM: &[Spec] = &[Spec::string("from", "")];
    const NONE: &[Spec] = &[];

    #[test]
    fn bool_forms() {
        let f = Flags::parse(LINK, &["--link"]).unwrap();
        assert!(f.is_true("link"));
        let f = Flags::parse(LINK, &["--link=FALSE"]).unwrap();
        assert!(!f.is_true("link"));
        let f = Flags::parse(LINK, &["--link=True"]).unwrap();
        assert!(f.is_true("link"));
        let e = Flags::parse(LINK, &["--link="]).unwrap_err();
        assert_eq!(e, "missing a value on flag: link");
        let e = Flags::parse(LINK, &["--link=yes"]).unwrap_err();
        assert_eq!(e, "expecting boolean value for flag link, not: yes");
    }

    #[test]
    fn string_and_strings() {
        const SPECS: &[Spec] = &[Spec::string("from", ""), Spec::strings("exclude")];
        let mut f = Flags::parse(SPECS, &["--from=a", "--exclude=x", "--exclude=y"]).unwrap();
        assert_eq!(f.value_str("from"), "a");
        assert_eq!(f.take_values("exclude"), vec!["x", "y"]);
        let e = Flags::parse(FROM, &["--from"]).unwrap_err();
        assert_eq!(e, "missing a value on flag: from");
        let e = Flags::parse(FROM, &["--from=a", "--from=b"]).unwrap_err();
        assert_eq!(e, "duplicate flag specified: from");
    }

    #[test]
    fn taking_values_moves_them_out() {
        const SPECS: &[Spec] = &[
            Spec::string("from", ""),
            Spec::string("chown", ""),
            Spec::strings("mount"),
            Spec::strings("exclude"),
        ];
        let written = [
            "--from=a",
            "--mount=x",
            "--exclude=e",
            "--mount=y",
            "--chown=",
        ];
        let mut f = Flags::parse(SPECS, &written).unwrap();
        assert_eq!(f.take_opt("from").as_deref(), Some("a"));
        assert_eq!(f.take_opt("from"), None);
        assert_eq!(f.take_opt("chown"), None, "written empty");
        assert_eq!(f.take_values("mount"), vec!["x", "y"]);
        assert!(f.take_values("mount").is_empty());
        assert_eq!(f.take_values("exclude"), vec!["e"]);
        let mut none = Flags::<&str>::parse(FROM, &[]).unwrap();
        assert_eq!(none.take_opt("from"), None);
        assert_eq!(none.value_str("from"), "");
    }

    #[test]
    fn unknown_and_malformed() {
        let e = Flags::parse(FROM, &["--bogus=1"]).unwrap_err();
        assert_eq!(e, "unknown flag: bogus");
        let e = Flags::parse(FROM, &["--frm=1"]).unwrap_err();
        assert_eq!(e, "unknown flag: frm");
        let e = Flags::parse(NONE, &["-x"]).unwrap_err();
        assert_eq!(e, "arg should start with -- : -x");
        // a bare `--` ends the flags
        assert!(Flags::parse(NONE, &["--", "--foo"]).is_ok());
    }
}
