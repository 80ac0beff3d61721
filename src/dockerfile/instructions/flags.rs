//! Instruction flags (`--from=stage`, `--link`), parsed the way BuildKit's `BFlags` does: each
//! instruction declares the flags it accepts, then the written flags are checked against them.
//! Kept separate from the instructions because the same rules (booleans without a value,
//! repeatable flags, `--` ending the list) apply to every instruction.
//!
//! Declarations are constant tables and the parsed values borrow the written text: every
//! instruction is checked against its flags and most write none, so this must not allocate.

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

#[derive(Debug, Clone, Copy, Default)]
struct Written<'w> {
    /// The written value (booleans normalised to `true`/`false`).
    value: Option<&'w str>,
    used: bool,
}

/// The written flags, checked against a declaration table by [`Flags::parse`].
#[derive(Debug, Clone)]
pub struct Flags<'w> {
    specs: &'static [Spec],
    /// One entry per declaration.
    written: [Written<'w>; MAX_FLAGS],
    /// Values of repeatable flags, with the index of their declaration, in written order.
    values: Vec<(usize, &'w str)>,
}

impl<'w> Flags<'w> {
    fn position(&self, name: &str) -> Option<usize> {
        self.specs.iter().position(|s| s.name == name)
    }

    /// Checks the written flags (`--name[=value]`) against the declared ones.
    pub fn parse<S: AsRef<str>>(
        specs: &'static [Spec],
        written: &'w [S],
    ) -> Result<Flags<'w>, String> {
        // Declarations are fixed by the code, never by the input.
        assert!(
            specs.len() <= MAX_FLAGS,
            "more than {MAX_FLAGS} flags declared"
        );
        let mut flags = Flags {
            specs,
            written: [Written::default(); MAX_FLAGS],
            values: Vec::new(),
        };
        for arg in written {
            let arg = arg.as_ref();
            let Some(body) = arg.strip_prefix("--") else {
                return Err(format!("arg should start with -- : {arg}"));
            };
            if body.is_empty() {
                // BuildKit stops at a bare `--`, as getopt does.
                return Ok(flags);
            }
            let (name, value) = match body.find('=') {
                Some(i) => (&body[..i], Some(&body[i + 1..])),
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
                    None => flag.value = Some("true"),
                    Some("") => return Err(format!("missing a value on flag: {name}")),
                    Some(v) if v.eq_ignore_ascii_case("true") => flag.value = Some("true"),
                    Some(v) if v.eq_ignore_ascii_case("false") => flag.value = Some("false"),
                    Some(v) => {
                        return Err(format!("expecting boolean value for flag {name}, not: {v}"))
                    }
                },
                Kind::String => match value {
                    None => return Err(format!("missing a value on flag: {name}")),
                    Some(v) => flag.value = Some(v),
                },
                Kind::Strings => match value {
                    None => return Err(format!("missing a value on flag: {name}")),
                    Some(v) => flags.values.push((i, v)),
                },
            }
        }
        Ok(flags)
    }

    /// The declaration and what was written for it.
    fn get(&self, name: &str) -> Option<(Spec, Written<'w>)> {
        let i = self.position(name)?;
        Some((self.specs[i], self.written[i]))
    }

    /// The value of a string flag (its default when not written).
    pub fn value(&self, name: &str) -> String {
        self.value_str(name).to_string()
    }

    /// [`Flags::value`], borrowed.
    pub fn value_str(&self, name: &str) -> &'w str {
        self.get(name)
            .map(|(s, w)| w.value.unwrap_or(s.default))
            .unwrap_or_default()
    }

    /// The value of a string flag, `None` when it was not written or written empty.
    pub fn opt(&self, name: &str) -> Option<String> {
        self.get(name)
            .and_then(|(_, w)| w.value)
            .filter(|v| !v.is_empty())
            .map(str::to_string)
    }

    pub fn is_true(&self, name: &str) -> bool {
        self.get(name)
            .is_some_and(|(s, w)| w.value.unwrap_or(s.default) == "true")
    }

    /// [`Flags::opt`], taking the value so that a second call gives `None`.
    pub fn take_opt(&mut self, name: &str) -> Option<String> {
        let i = self.position(name)?;
        self.written[i]
            .value
            .take()
            .filter(|v| !v.is_empty())
            .map(str::to_string)
    }

    /// [`Flags::values`], taking them so that a second call gives none.
    pub fn take_values(&mut self, name: &str) -> Vec<String> {
        let values = self.values(name);
        if let Some(i) = self.position(name) {
            self.values.retain(|(j, _)| *j != i);
        }
        values
    }

    pub fn values(&self, name: &str) -> Vec<String> {
        let Some(i) = self.position(name) else {
            return Vec::new();
        };
        self.values
            .iter()
            .filter(|(j, _)| *j == i)
            .map(|(_, v)| v.to_string())
            .collect()
    }

    pub fn used(&self, name: &str) -> bool {
        self.get(name).is_some_and(|(_, w)| w.used)
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
        let f = Flags::parse(SPECS, &["--from=a", "--exclude=x", "--exclude=y"]).unwrap();
        assert_eq!(f.value("from"), "a");
        assert_eq!(f.values("exclude"), vec!["x", "y"]);
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
        assert_eq!(f.values("exclude"), vec!["e"]);
        assert!(f.used("mount"));
        let mut none = Flags::parse::<&str>(FROM, &[]).unwrap();
        assert_eq!(none.take_opt("from"), None);
        assert_eq!(none.value("from"), "");
        assert!(!none.used("from"));
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
