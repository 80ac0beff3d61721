//! Instruction flags (`--from=stage`, `--link`), parsed the way BuildKit's `BFlags` does: each
//! instruction declares the flags it accepts, then the written flags are checked against them.
//! Kept separate from the instructions because the same rules (booleans without a value,
//! repeatable flags, `--` ending the list) apply to every instruction.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Bool,
    String,
    /// May be given more than once (`--mount`, `--exclude`).
    Strings,
}

/// The most flags one instruction declares (COPY and ADD declare seven).
const MAX_FLAGS: usize = 8;

#[derive(Debug, Clone, Copy)]
struct Spec {
    name: &'static str,
    kind: Kind,
    default: &'static str,
}

#[derive(Debug, Clone, Default)]
struct Written {
    /// The written value (booleans normalised to `true`/`false`).
    value: Option<String>,
    values: Vec<String>,
    used: bool,
}

/// The flags one instruction accepts, filled from what was written by [`Flags::parse`].
/// The declarations live inline and the written values are allocated only when some flag
/// was written, because most instructions carry none and every instruction declares some.
#[derive(Debug, Clone, Default)]
pub struct Flags {
    specs: [Option<Spec>; MAX_FLAGS],
    len: usize,
    /// One entry per declaration, filled by `parse` when anything was written.
    written: Vec<Written>,
}

impl Flags {
    pub fn new() -> Self {
        Flags::default()
    }

    fn add(mut self, name: &'static str, kind: Kind, default: &'static str) -> Self {
        // Declarations are fixed by the code, never by the input.
        assert!(self.len < MAX_FLAGS, "more than {MAX_FLAGS} flags declared");
        self.specs[self.len] = Some(Spec {
            name,
            kind,
            default,
        });
        self.len += 1;
        self
    }

    pub fn bool(self, name: &'static str) -> Self {
        self.add(name, Kind::Bool, "false")
    }

    pub fn string(self, name: &'static str, default: &'static str) -> Self {
        self.add(name, Kind::String, default)
    }

    pub fn strings(self, name: &'static str) -> Self {
        self.add(name, Kind::Strings, "")
    }

    fn position(&self, name: &str) -> Option<usize> {
        self.specs[..self.len]
            .iter()
            .position(|s| s.is_some_and(|s| s.name == name))
    }

    /// Checks the written flags (`--name[=value]`) against the declared ones.
    pub fn parse<S: AsRef<str>>(mut self, written: &[S]) -> Result<Self, String> {
        if !written.is_empty() {
            self.written = vec![Written::default(); self.len];
        }
        for arg in written {
            let arg = arg.as_ref();
            let Some(body) = arg.strip_prefix("--") else {
                return Err(format!("arg should start with -- : {arg}"));
            };
            if body.is_empty() {
                // BuildKit stops at a bare `--`, as getopt does.
                return Ok(self);
            }
            let (name, value) = match body.find('=') {
                Some(i) => (&body[..i], Some(&body[i + 1..])),
                None => (body, None),
            };
            let Some((i, spec)) = self.position(name).and_then(|i| Some((i, self.specs[i]?)))
            else {
                return Err(format!("unknown flag: {name}"));
            };
            let flag = &mut self.written[i];
            if flag.used && spec.kind != Kind::Strings {
                return Err(format!("duplicate flag specified: {name}"));
            }
            flag.used = true;
            match spec.kind {
                Kind::Bool => match value {
                    None => flag.value = Some("true".to_string()),
                    Some("") => return Err(format!("missing a value on flag: {name}")),
                    Some(v) => {
                        let lower = v.to_ascii_lowercase();
                        if lower == "true" || lower == "false" {
                            flag.value = Some(lower);
                        } else {
                            return Err(format!(
                                "expecting boolean value for flag {name}, not: {v}"
                            ));
                        }
                    }
                },
                Kind::String => match value {
                    None => return Err(format!("missing a value on flag: {name}")),
                    Some(v) => flag.value = Some(v.to_string()),
                },
                Kind::Strings => match value {
                    None => return Err(format!("missing a value on flag: {name}")),
                    Some(v) => flag.values.push(v.to_string()),
                },
            }
        }
        Ok(self)
    }

    /// The declaration and what was written for it (nothing when no flag was written).
    fn get(&self, name: &str) -> Option<(Spec, Option<&Written>)> {
        let i = self.position(name)?;
        Some((self.specs[i]?, self.written.get(i)))
    }

    /// The value of a string flag (its default when not written).
    pub fn value(&self, name: &str) -> String {
        self.value_str(name).to_string()
    }

    /// [`Flags::value`], borrowed.
    pub fn value_str(&self, name: &str) -> &str {
        self.get(name)
            .map(|(s, w)| w.and_then(|w| w.value.as_deref()).unwrap_or(s.default))
            .unwrap_or_default()
    }

    /// The value of a string flag, `None` when it was not written or written empty.
    pub fn opt(&self, name: &str) -> Option<String> {
        self.get(name)
            .and_then(|(_, w)| w?.value.clone())
            .filter(|v| !v.is_empty())
    }

    pub fn is_true(&self, name: &str) -> bool {
        self.get(name)
            .is_some_and(|(s, w)| w.and_then(|w| w.value.as_deref()).unwrap_or(s.default) == "true")
    }

    /// [`Flags::opt`], moving the value out instead of copying it.
    pub fn take_opt(&mut self, name: &str) -> Option<String> {
        let i = self.position(name)?;
        self.written
            .get_mut(i)
            .and_then(|w| w.value.take())
            .filter(|v| !v.is_empty())
    }

    /// [`Flags::values`], moving the values out instead of copying them.
    pub fn take_values(&mut self, name: &str) -> Vec<String> {
        self.position(name)
            .and_then(|i| self.written.get_mut(i))
            .map(|w| std::mem::take(&mut w.values))
            .unwrap_or_default()
    }

    pub fn values(&self, name: &str) -> Vec<String> {
        self.get(name)
            .and_then(|(_, w)| w.map(|w| w.values.clone()))
            .unwrap_or_default()
    }

    pub fn used(&self, name: &str) -> bool {
        self.get(name)
            .is_some_and(|(_, w)| w.is_some_and(|w| w.used))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn w(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn bool_forms() {
        let f = Flags::new().bool("link").parse(&w(&["--link"])).unwrap();
        assert!(f.is_true("link"));
        let f = Flags::new()
            .bool("link")
            .parse(&w(&["--link=FALSE"]))
            .unwrap();
        assert!(!f.is_true("link"));
        let e = Flags::new()
            .bool("link")
            .parse(&w(&["--link="]))
            .unwrap_err();
        assert_eq!(e, "missing a value on flag: link");
        let e = Flags::new()
            .bool("link")
            .parse(&w(&["--link=yes"]))
            .unwrap_err();
        assert_eq!(e, "expecting boolean value for flag link, not: yes");
    }

    #[test]
    fn string_and_strings() {
        let f = Flags::new()
            .string("from", "")
            .strings("exclude")
            .parse(&w(&["--from=a", "--exclude=x", "--exclude=y"]))
            .unwrap();
        assert_eq!(f.value("from"), "a");
        assert_eq!(f.values("exclude"), vec!["x", "y"]);
        let e = Flags::new()
            .string("from", "")
            .parse(&w(&["--from"]))
            .unwrap_err();
        assert_eq!(e, "missing a value on flag: from");
        let e = Flags::new()
            .string("from", "")
            .parse(&w(&["--from=a", "--from=b"]))
            .unwrap_err();
        assert_eq!(e, "duplicate flag specified: from");
    }

    #[test]
    fn taking_values_moves_them_out() {
        let mut f = Flags::new()
            .string("from", "")
            .string("chown", "")
            .strings("mount")
            .parse(&w(&["--from=a", "--mount=x", "--mount=y", "--chown="]))
            .unwrap();
        assert_eq!(f.take_opt("from").as_deref(), Some("a"));
        assert_eq!(f.take_opt("from"), None);
        assert_eq!(f.take_opt("chown"), None, "written empty");
        assert_eq!(f.take_values("mount"), vec!["x", "y"]);
        assert!(f.take_values("mount").is_empty());
        assert!(f.used("mount"));
        let mut none = Flags::new().string("from", "").parse::<&str>(&[]).unwrap();
        assert_eq!(none.take_opt("from"), None);
        assert_eq!(none.value("from"), "");
        assert!(!none.used("from"));
    }

    #[test]
    fn unknown_and_malformed() {
        let e = Flags::new()
            .string("from", "")
            .parse(&w(&["--bogus=1"]))
            .unwrap_err();
        assert_eq!(e, "unknown flag: bogus");
        let e = Flags::new()
            .string("from", "")
            .parse(&w(&["--frm=1"]))
            .unwrap_err();
        assert_eq!(e, "unknown flag: frm");
        let e = Flags::new().parse(&w(&["-x"])).unwrap_err();
        assert_eq!(e, "arg should start with -- : -x");
        // a bare `--` ends the flags
        assert!(Flags::new().parse(&w(&["--", "--foo"])).is_ok());
    }
}
