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

/// What was written for one declared flag.
#[derive(Debug, Clone, Copy, Default)]
enum Found {
    #[default]
    Absent,
    /// A boolean's normalised value.
    Bool(bool),
    /// A string flag's value.
    Value(At),
    /// A repeatable flag: its first value and how many were written.
    Values { first: At, count: u32 },
}

/// The written flags, checked against a declaration table by [`Flags::parse`] in one pass.
/// Read them back by their position in the table ([`index`] names it at compile time), so
/// that reading a flag is no search.
#[derive(Debug, Clone)]
pub struct Flags<'w, S> {
    specs: &'static [Spec],
    src: &'w [S],
    /// One entry per declaration.
    found: [Found; MAX_FLAGS],
}

/// The position of the flag `name` in `specs`, for reading it from [`Flags`]. Meant for
/// constants: a name that is not declared stops the build.
pub const fn index(specs: &[Spec], name: &str) -> usize {
    let mut i = 0;
    while i < specs.len() {
        if const_eq(specs[i].name.as_bytes(), name.as_bytes()) {
            return i;
        }
        i += 1;
    }
    panic!("flag not declared")
}

const fn const_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let mut i = 0;
    while i < a.len() {
        if a[i] != b[i] {
            return false;
        }
        i += 1;
    }
    true
}

/// A written flag, split.
struct Written<'s> {
    name: &'s str,
    /// The value and where it starts, unless the flag was written without `=`.
    value: Option<(&'s str, At)>,
}

/// `--name[=value]`, the `n`th written flag, split; `None` for a bare `--`.
fn split_flag(n: usize, arg: &str) -> Result<Option<Written<'_>>, String> {
    let Some(body) = arg.strip_prefix("--") else {
        return Err(format!("arg should start with -- : {arg}"));
    };
    if body.is_empty() {
        // BuildKit stops at a bare `--`, as getopt does.
        return Ok(None);
    }
    // A byte loop: flag names are a few bytes long, too short for a vectorised search to pay.
    Ok(Some(match body.bytes().position(|b| b == b'=') {
        Some(i) => {
            let at = At {
                arg: n as u32,
                start: (i + 3) as u32,
            };
            Written {
                name: &body[..i],
                value: Some((&body[i + 1..], at)),
            }
        }
        None => Written {
            name: body,
            value: None,
        },
    }))
}

impl<'w, S: AsRef<str>> Flags<'w, S> {
    /// Checks the written flags (`--name[=value]`) against the declared ones. Inlined, like
    /// the readers below: most instructions are written without flags, and then what is read
    /// folds to the declared defaults where it is read.
    #[inline]
    pub fn parse(specs: &'static [Spec], written: &'w [S]) -> Result<Flags<'w, S>, String> {
        // Declarations are fixed by the code, never by the input.
        assert!(
            specs.len() <= MAX_FLAGS,
            "more than {MAX_FLAGS} flags declared"
        );
        let mut flags = Flags {
            specs,
            src: written,
            found: [Found::Absent; MAX_FLAGS],
        };
        for (n, arg) in written.iter().enumerate() {
            let Some(Written { name, value }) = split_flag(n, arg.as_ref())? else {
                return Ok(flags);
            };
            let Some(i) = specs.iter().position(|s| s.name == name) else {
                return Err(format!("unknown flag: {name}"));
            };
            let found = &mut flags.found[i];
            match (specs[i].kind, *found) {
                (Kind::Strings, _) | (_, Found::Absent) => {}
                _ => return Err(format!("duplicate flag specified: {name}")),
            }
            *found = match specs[i].kind {
                Kind::Bool => match value {
                    None => Found::Bool(true),
                    Some(("", _)) => return Err(format!("missing a value on flag: {name}")),
                    Some((v, _)) if v.eq_ignore_ascii_case("true") => Found::Bool(true),
                    Some((v, _)) if v.eq_ignore_ascii_case("false") => Found::Bool(false),
                    Some((v, _)) => {
                        return Err(format!("expecting boolean value for flag {name}, not: {v}"))
                    }
                },
                Kind::String => match value {
                    None => return Err(format!("missing a value on flag: {name}")),
                    Some((_, at)) => Found::Value(at),
                },
                Kind::Strings => match (value, *found) {
                    (None, _) => return Err(format!("missing a value on flag: {name}")),
                    (Some(_), Found::Values { first, count }) => Found::Values {
                        first,
                        count: count + 1,
                    },
                    (Some((_, at)), _) => Found::Values {
                        first: at,
                        count: 1,
                    },
                },
            };
        }
        Ok(flags)
    }

    fn text(&self, at: At) -> &'w str {
        &self.src[at.arg as usize].as_ref()[at.start as usize..]
    }

    /// The value of string flag `i` (its default when not written).
    #[inline]
    pub fn value_str(&self, i: usize) -> &'w str {
        match self.found[i] {
            Found::Value(at) => self.text(at),
            _ => self.specs[i].default,
        }
    }

    /// Whether boolean flag `i` is on (its default when not written).
    #[inline]
    pub fn is_true(&self, i: usize) -> bool {
        match self.found[i] {
            Found::Bool(on) => on,
            _ => self.specs[i].default == "true",
        }
    }
}

impl<'w, 'a, S: FlagText<'a>> Flags<'w, S> {
    /// The value of string flag `i`, `None` when it was not written or written empty.
    #[inline]
    pub fn opt(&self, i: usize) -> Option<Cow<'a, str>> {
        let Found::Value(at) = self.found[i] else {
            return None;
        };
        let (arg, start) = (&self.src[at.arg as usize], at.start as usize);
        (arg.as_ref().len() > start).then(|| arg.tail(start))
    }

    /// The values of repeatable flag `i`, in written order.
    #[inline]
    pub fn values<C: FromIterator<Cow<'a, str>> + Default>(&self, i: usize) -> C {
        let Found::Values { first, count } = self.found[i] else {
            return C::default();
        };
        let name = self.specs[i].name;
        // The others are found again among the flags after the first: `parse` checked them
        // all, so each splits and the name compares (a bare `--` comes after the last).
        let others = self.src[first.arg as usize + 1..]
            .iter()
            .enumerate()
            .filter_map(move |(n, arg)| match split_flag(n, arg.as_ref()) {
                Ok(Some(Written {
                    name: written,
                    value: Some((_, at)),
                })) if written == name => Some(arg.tail(at.start as usize)),
                _ => None,
            });
        let first = self.src[first.arg as usize].tail(first.start as usize);
        std::iter::once(first)
            .chain(others.take(count as usize - 1))
            .collect()
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
        assert!(f.is_true(0));
        let f = Flags::parse(LINK, &["--link=FALSE"]).unwrap();
        assert!(!f.is_true(0));
        let f = Flags::parse(LINK, &["--link=True"]).unwrap();
        assert!(f.is_true(0));
        let f = Flags::<&str>::parse(LINK, &[]).unwrap();
        assert!(!f.is_true(0));
        let e = Flags::parse(LINK, &["--link="]).unwrap_err();
        assert_eq!(e, "missing a value on flag: link");
        let e = Flags::parse(LINK, &["--link=yes"]).unwrap_err();
        assert_eq!(e, "expecting boolean value for flag link, not: yes");
        let e = Flags::parse(LINK, &["--link", "--link=false"]).unwrap_err();
        assert_eq!(e, "duplicate flag specified: link");
    }

    #[test]
    fn string_and_strings() {
        const SPECS: &[Spec] = &[Spec::string("from", ""), Spec::strings("exclude")];
        const EXCLUDE: usize = index(SPECS, "exclude");
        assert_eq!(EXCLUDE, 1);
        let f = Flags::parse(SPECS, &["--from=a", "--exclude=x", "--exclude=y"]).unwrap();
        assert_eq!(f.value_str(0), "a");
        assert_eq!(f.values::<Vec<_>>(EXCLUDE), vec!["x", "y"]);
        let e = Flags::parse(FROM, &["--from"]).unwrap_err();
        assert_eq!(e, "missing a value on flag: from");
        let e = Flags::parse(FROM, &["--from=a", "--from=b"]).unwrap_err();
        assert_eq!(e, "duplicate flag specified: from");
        let e = Flags::parse(SPECS, &["--exclude=a", "--exclude"]).unwrap_err();
        assert_eq!(e, "missing a value on flag: exclude");
    }

    #[test]
    fn values_come_back_in_written_order() {
        const SPECS: &[Spec] = &[
            Spec::string("from", ""),
            Spec::string("chown", ""),
            Spec::strings("mount"),
            Spec::strings("exclude"),
        ];
        const MOUNT: usize = index(SPECS, "mount");
        const EXCLUDE: usize = index(SPECS, "exclude");
        let written = [
            "--from=a",
            "--mount=x",
            "--exclude=e",
            "--mount=y",
            "--chown=",
            "--mount=",
            "--",
            "--mount=after-the-end",
        ];
        let f = Flags::parse(SPECS, &written).unwrap();
        assert_eq!(f.opt(0).as_deref(), Some("a"));
        assert_eq!(f.opt(1), None, "written empty");
        assert_eq!(f.value_str(1), "");
        assert_eq!(f.values::<Vec<_>>(MOUNT), vec!["x", "y", ""]);
        assert_eq!(f.values::<Vec<_>>(EXCLUDE), vec!["e"]);
        let none = Flags::<&str>::parse(SPECS, &[]).unwrap();
        assert_eq!(none.opt(0), None);
        assert_eq!(none.value_str(0), "");
        assert!(none.values::<Vec<_>>(MOUNT).is_empty());
    }

    #[test]
    fn values_borrow_what_is_borrowed() {
        const SPECS: &[Spec] = &[Spec::strings("mount")];
        let written: Vec<Cow<str>> = vec!["--mount=a".into(), Cow::Owned("--mount=b".into())];
        let f = Flags::parse(SPECS, &written).unwrap();
        let v: Vec<_> = f.values(0);
        assert!(matches!(v[0], Cow::Borrowed("a")));
        assert!(matches!(&v[1], Cow::Owned(s) if s == "b"));
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
