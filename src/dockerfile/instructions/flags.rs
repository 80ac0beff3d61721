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

#[derive(Debug, Clone)]
struct Flag {
    name: &'static str,
    kind: Kind,
    default: &'static str,
    /// The written value (booleans normalised to `true`/`false`).
    value: Option<String>,
    values: Vec<String>,
    used: bool,
}

/// The flags one instruction accepts, filled from what was written by [`Flags::parse`].
#[derive(Debug, Clone, Default)]
pub struct Flags {
    flags: Vec<Flag>,
}

impl Flags {
    pub fn new() -> Self {
        Flags::default()
    }

    fn add(mut self, name: &'static str, kind: Kind, default: &'static str) -> Self {
        if self.flags.is_empty() {
            // No instruction declares more than seven flags: one allocation, no regrowth.
            self.flags.reserve(8);
        }
        self.flags.push(Flag {
            name,
            kind,
            default,
            value: None,
            values: Vec::new(),
            used: false,
        });
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

    /// Checks the written flags (`--name[=value]`) against the declared ones.
    pub fn parse(mut self, written: &[String]) -> Result<Self, String> {
        for arg in written {
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
            let Some(flag) = self.flags.iter_mut().find(|f| f.name == name) else {
                return Err(format!("unknown flag: {name}"));
            };
            if flag.used && flag.kind != Kind::Strings {
                return Err(format!("duplicate flag specified: {name}"));
            }
            flag.used = true;
            match flag.kind {
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

    fn get(&self, name: &str) -> Option<&Flag> {
        self.flags.iter().find(|f| f.name == name)
    }

    /// The value of a string flag (its default when not written).
    pub fn value(&self, name: &str) -> String {
        self.get(name)
            .map(|f| f.value.clone().unwrap_or_else(|| f.default.to_string()))
            .unwrap_or_default()
    }

    /// The value of a string flag, `None` when it was not written or written empty.
    pub fn opt(&self, name: &str) -> Option<String> {
        self.get(name)
            .and_then(|f| f.value.clone())
            .filter(|v| !v.is_empty())
    }

    pub fn is_true(&self, name: &str) -> bool {
        self.get(name)
            .is_some_and(|f| f.value.as_deref().unwrap_or(f.default) == "true")
    }

    pub fn values(&self, name: &str) -> Vec<String> {
        self.get(name).map(|f| f.values.clone()).unwrap_or_default()
    }

    pub fn used(&self, name: &str) -> bool {
        self.get(name).is_some_and(|f| f.used)
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
