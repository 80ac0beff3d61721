//! `RUN --mount=…` options, with BuildKit's rules: a CSV list of `key=value` fields, checked
//! once when the instruction is read (only `from` must be literal there, because stage
//! dependencies are known before any variable is) and parsed fully when the step is planned,
//! with each value expanded in the step's scope.

use std::borrow::Cow;

use super::suggest;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MountType {
    Bind,
    Cache,
    Tmpfs,
    Secret,
    Ssh,
}

impl MountType {
    pub fn as_str(self) -> &'static str {
        match self {
            MountType::Bind => "bind",
            MountType::Cache => "cache",
            MountType::Tmpfs => "tmpfs",
            MountType::Secret => "secret",
            MountType::Ssh => "ssh",
        }
    }
}

const MOUNT_TYPES: [&str; 5] = ["bind", "cache", "tmpfs", "secret", "ssh"];
const SHARING_MODES: [&str; 3] = ["shared", "private", "locked"];
const ALL_KEYS: [&str; 19] = [
    "type",
    "from",
    "source",
    "target",
    "readonly",
    "id",
    "sharing",
    "required",
    "size",
    "mode",
    "uid",
    "gid",
    "src",
    "dst",
    "destination",
    "ro",
    "rw",
    "readwrite",
    "env",
];

/// How concurrent builds share one cache mount.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sharing {
    Shared,
    Private,
    Locked,
}

impl Sharing {
    pub fn as_str(self) -> &'static str {
        match self {
            Sharing::Shared => "shared",
            Sharing::Private => "private",
            Sharing::Locked => "locked",
        }
    }
}

/// One parsed mount. Empty strings mean "not given" (the executor picks BuildKit's defaults:
/// secrets under `/run/secrets/<id>`, cache ids from the target).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mount {
    pub kind: MountType,
    /// Stage name, stage index or image the bind/cache source comes from.
    pub from: String,
    pub source: String,
    pub target: String,
    pub read_only: bool,
    /// tmpfs size in bytes, 0 when unlimited.
    pub size_limit: i64,
    /// `id=`: the cache id, or the secret id.
    pub id: String,
    /// Only set for cache mounts.
    pub sharing: Option<Sharing>,
    pub required: bool,
    /// Secret exposed as this environment variable (`env=`).
    pub env: Option<String>,
    pub mode: Option<u32>,
    pub uid: Option<u32>,
    pub gid: Option<u32>,
}

/// Splits one CSV record as Go's `encoding/csv` would (quotes, doubled quotes inside quotes).
/// Unquoted fields are borrowed from `s`.
pub fn csv_fields(s: &str) -> Result<Vec<Cow<'_, str>>, String> {
    CsvFields::new(s).collect()
}

/// The fields of one CSV record, one at a time.
struct CsvFields<'s> {
    /// What is left to split; `None` once the last field (or an error) is given.
    rest: Option<&'s str>,
}

impl<'s> CsvFields<'s> {
    fn new(s: &'s str) -> CsvFields<'s> {
        CsvFields { rest: Some(s) }
    }

    fn field(rest: &'s str) -> Result<(Cow<'s, str>, &'s str), String> {
        const BAD_QUOTE: &str =
            "failed to parse csv mounts: extraneous or missing \" in quoted-field";
        let Some(quoted) = rest.strip_prefix('"') else {
            let end = memchr::memchr2(b',', b'"', rest.as_bytes()).unwrap_or(rest.len());
            if rest[end..].starts_with('"') {
                return Err("failed to parse csv mounts: bare \" in non-quoted-field".into());
            }
            return Ok((Cow::Borrowed(&rest[..end]), &rest[end..]));
        };
        let mut field = String::new();
        let mut chars = quoted.char_indices().peekable();
        loop {
            match chars.next() {
                None => return Err(BAD_QUOTE.into()),
                Some((i, '"')) => match chars.peek() {
                    Some((_, '"')) => {
                        chars.next();
                        field.push('"');
                    }
                    Some((_, ',')) | None => return Ok((Cow::Owned(field), &quoted[i + 1..])),
                    Some(_) => return Err(BAD_QUOTE.into()),
                },
                Some((_, c)) => field.push(c),
            }
        }
    }
}

impl<'s> Iterator for CsvFields<'s> {
    type Item = Result<Cow<'s, str>, String>;

    fn next(&mut self) -> Option<Self::Item> {
        let rest = self.rest.take()?;
        Some(Self::field(rest).map(|(field, after)| {
            // A field ends at a comma (another field follows) or at the end.
            self.rest = after.strip_prefix(',');
            field
        }))
    }
}

/// `s` cut at its first `b` (an ASCII byte). A byte loop: mount fields are a few bytes
/// long, and `str`'s searches (`split`, `split_once`) cost more to start than to run there.
fn cut_at(s: &str, b: u8) -> Option<(&str, &str)> {
    let i = s.bytes().position(|c| c == b)?;
    Some((&s[..i], &s[i + 1..]))
}

/// A record's fields, to read one after the other. Every `RUN --mount` is split when it is
/// read, when the graph is built and when it is planned: where nothing is quoted (the usual
/// mount) the fields are the parts between commas, borrowed, and no list is made.
enum Fields<'s> {
    /// What is left of a record without quotes; `None` after its last field.
    Plain(Option<&'s str>),
    Quoted(std::vec::IntoIter<Cow<'s, str>>),
}

impl<'s> Fields<'s> {
    /// Fails as splitting the whole record does, so that a malformed record's error comes
    /// before anything about what its fields say.
    fn of(value: &'s str) -> Result<Fields<'s>, String> {
        // Only a quote can make a record malformed, or a field differ from its text.
        Ok(match value.bytes().any(|b| b == b'"') {
            true => Fields::Quoted(csv_fields(value)?.into_iter()),
            false => Fields::Plain(Some(value)),
        })
    }
}

impl<'s> Iterator for Fields<'s> {
    type Item = Cow<'s, str>;

    fn next(&mut self) -> Option<Cow<'s, str>> {
        match self {
            Fields::Plain(rest) => {
                let text = rest.take()?;
                Some(Cow::Borrowed(match cut_at(text, b',') {
                    Some((field, after)) => {
                        *rest = Some(after);
                        field
                    }
                    None => text,
                }))
            }
            Fields::Quoted(fields) => fields.next(),
        }
    }
}

/// The check made when the instruction is read: the CSV is well-formed and `from` is literal.
pub fn precheck(value: &str) -> Result<(), String> {
    // Without a quote the record is well-formed, and without an `f` no key is `from`: most
    // mounts are done with one look at their bytes.
    if memchr::memchr3(b'"', b'f', b'F', value.as_bytes()).is_none() {
        return Ok(());
    }
    for field in Fields::of(value)? {
        if let Some((key, v)) = cut_at(&field, b'=') {
            if key.eq_ignore_ascii_case("from") {
                if let Some(i) = v.find('$') {
                    if i != v.len() - 1 {
                        return Err(format!(
                            "'{}' doesn't support variable expansion, define alias stage instead",
                            key.to_ascii_lowercase()
                        ));
                    }
                }
            }
        }
    }
    Ok(())
}

/// The literal `from=` of a mount (what the dependency graph needs), if any; `None` for a
/// malformed record too.
pub fn literal_from(value: &str) -> Option<String> {
    // Without an `f` no key is `from`, and the answer is `None` whether or not the record is
    // well-formed: most mounts are done with one look at their bytes (the graph asks this of
    // every mount before any is parsed).
    memchr::memchr2(b'f', b'F', value.as_bytes())?;
    literal_from_fields(value)
}

/// [`literal_from`] without its shortcut.
fn literal_from_fields(value: &str) -> Option<String> {
    Fields::of(value).ok()?.find_map(|f| {
        let (k, v) = cut_at(&f, b'=')?;
        k.eq_ignore_ascii_case("from").then(|| v.to_string())
    })
}

fn parse_bool(key: &str, v: &str) -> Result<bool, String> {
    // Go's strconv.ParseBool
    match v {
        "1" | "t" | "T" | "TRUE" | "true" | "True" => Ok(true),
        "0" | "f" | "F" | "FALSE" | "false" | "False" => Ok(false),
        _ => Err(format!("invalid value for {key}: {v}")),
    }
}

/// docker/go-units `RAMInBytes`: `64m`, `1.5GiB`, `1024` (binary multiples).
pub fn ram_in_bytes(s: &str) -> Option<i64> {
    let t = s.trim_end_matches(['b', 'B']);
    let t = t.trim_end_matches(['i', 'I']);
    let (num, mult) = match t.chars().last()? {
        'k' | 'K' => (&t[..t.len() - 1], 1i64 << 10),
        'm' | 'M' => (&t[..t.len() - 1], 1 << 20),
        'g' | 'G' => (&t[..t.len() - 1], 1 << 30),
        't' | 'T' => (&t[..t.len() - 1], 1 << 40),
        'p' | 'P' => (&t[..t.len() - 1], 1 << 50),
        _ => (t, 1),
    };
    let num = num.strip_suffix(' ').unwrap_or(num);
    if num.is_empty() || !num.chars().all(|c| c.is_ascii_digit() || c == '.') {
        return None;
    }
    let n: f64 = num.parse().ok()?;
    let v = n * mult as f64;
    (v.is_finite() && v < i64::MAX as f64).then_some(v as i64)
}

/// Whether expansion could change `value`: it holds `$`, a quote or an escape character
/// (`\` or `` ` ``, the only escape tokens a Dockerfile can choose), or starts with a
/// byte-order mark. The lexer gives any other word back as it is.
fn may_expand(value: &str) -> bool {
    value.starts_with('\u{feff}')
        || value
            .bytes()
            .any(|b| matches!(b, b'$' | b'\'' | b'"' | b'\\' | b'`'))
}

/// Parses a mount fully, expanding its values with `expand` (the step's scope). `expand` is
/// asked only for the values it could change (see [`may_expand`]): most values are plain
/// words, and a mount is parsed for every RUN that has one.
pub fn parse(
    value: &str,
    expand: &mut dyn FnMut(&str) -> Result<String, String>,
) -> Result<Mount, String> {
    let fields = Fields::of(value)?;
    let mut m = Mount {
        kind: MountType::Bind,
        from: String::new(),
        source: String::new(),
        target: String::new(),
        read_only: false,
        size_limit: 0,
        id: String::new(),
        sharing: None,
        required: false,
        env: None,
        mode: None,
        uid: None,
        gid: None,
    };
    let mut ro_auto = true;
    for field in fields {
        let Some((raw_key, raw_value)) = cut_at(&field, b'=') else {
            let is = |key: &str| field.eq_ignore_ascii_case(key);
            if is("readonly") || is("ro") {
                m.read_only = true;
                ro_auto = false;
            } else if is("readwrite") || is("rw") {
                m.read_only = false;
                ro_auto = false;
            } else if is("required") && matches!(m.kind, MountType::Secret | MountType::Ssh) {
                m.required = true;
            } else if is("required") {
                return Err(format!(
                    "unexpected key '{}' for mount type '{}'",
                    field.to_ascii_lowercase(),
                    m.kind.as_str()
                ));
            } else {
                return Err(format!("invalid field '{field}' must be a key=value pair"));
            }
            continue;
        };
        let key = match raw_key.bytes().any(|b| b.is_ascii_uppercase()) {
            true => Cow::Owned(raw_key.to_ascii_lowercase()),
            false => Cow::Borrowed(raw_key),
        };
        let v = match may_expand(raw_value) {
            true => Cow::Owned(expand(raw_value)?),
            false => Cow::Borrowed(raw_value),
        };
        match &*key {
            "type" => {
                m.kind = match MOUNT_TYPES.iter().position(|t| v.eq_ignore_ascii_case(t)) {
                    Some(0) => MountType::Bind,
                    Some(1) => MountType::Cache,
                    Some(2) => MountType::Tmpfs,
                    Some(3) => MountType::Secret,
                    Some(4) => MountType::Ssh,
                    _ => {
                        let msg = format!("unsupported mount type {v:?}");
                        return Err(suggest::wrap(msg, &v, &MOUNT_TYPES, true));
                    }
                }
            }
            "from" => m.from = v.into_owned(),
            "source" | "src" => m.source = v.into_owned(),
            "target" | "dst" | "destination" => m.target = v.into_owned(),
            "readonly" | "ro" => {
                m.read_only = parse_bool(&key, &v)?;
                ro_auto = false;
            }
            "readwrite" | "rw" => {
                m.read_only = !parse_bool(&key, &v)?;
                ro_auto = false;
            }
            "required" => {
                if matches!(m.kind, MountType::Secret | MountType::Ssh) {
                    m.required = parse_bool(&key, &v)?;
                } else {
                    return Err(format!(
                        "unexpected key '{key}' for mount type '{}'",
                        m.kind.as_str()
                    ));
                }
            }
            "size" => {
                if m.kind == MountType::Tmpfs {
                    m.size_limit =
                        ram_in_bytes(&v).ok_or_else(|| format!("invalid value for {key}: {v}"))?;
                } else {
                    return Err(format!(
                        "unexpected key '{key}' for mount type '{}'",
                        m.kind.as_str()
                    ));
                }
            }
            "id" => m.id = v.into_owned(),
            "sharing" => {
                m.sharing = Some(
                    match SHARING_MODES.iter().position(|s| v.eq_ignore_ascii_case(s)) {
                        Some(0) => Sharing::Shared,
                        Some(1) => Sharing::Private,
                        Some(2) => Sharing::Locked,
                        _ => {
                            let msg = format!("unsupported sharing value {v:?}");
                            return Err(suggest::wrap(msg, &v, &SHARING_MODES, true));
                        }
                    },
                )
            }
            "mode" => {
                m.mode = Some(
                    u32::from_str_radix(&v, 8)
                        .map_err(|_| format!("invalid value {v} for mode"))?,
                )
            }
            "uid" => {
                m.uid = Some(
                    v.parse()
                        .map_err(|_| format!("invalid value {v} for uid"))?,
                )
            }
            "gid" => {
                m.gid = Some(
                    v.parse()
                        .map_err(|_| format!("invalid value {v} for gid"))?,
                )
            }
            "env" => m.env = Some(v.into_owned()),
            _ => {
                let msg = format!("unexpected key '{key}' in '{field}'");
                return Err(suggest::wrap(msg, &key, &ALL_KEYS, true));
            }
        }
    }

    let file_info_allowed = matches!(
        m.kind,
        MountType::Secret | MountType::Ssh | MountType::Cache
    );
    if !file_info_allowed {
        let t = m.kind.as_str();
        if m.mode.is_some() {
            return Err(format!("mode not allowed for {t:?} type mounts"));
        }
        if m.uid.is_some() {
            return Err(format!("uid not allowed for {t:?} type mounts"));
        }
        if m.gid.is_some() {
            return Err(format!("gid not allowed for {t:?} type mounts"));
        }
    }
    if ro_auto {
        m.read_only = !matches!(m.kind, MountType::Cache | MountType::Tmpfs);
    }
    if m.kind == MountType::Secret {
        if !m.from.is_empty() {
            return Err("secret mount should not have a from".into());
        }
        if m.sharing.is_some() {
            return Err("secret mount should not define sharing".into());
        }
        if m.source.is_empty() && m.target.is_empty() && m.id.is_empty() {
            return Err("invalid secret mount. one of source, target required".into());
        }
        if !m.source.is_empty() && !m.id.is_empty() {
            return Err("both source and id can't be set".into());
        }
    }
    if m.sharing.is_some() && m.kind != MountType::Cache {
        return Err(format!(
            "invalid cache sharing set for {} mount",
            m.kind.as_str()
        ));
    }
    if m.kind == MountType::Cache && m.sharing.is_none() {
        m.sharing = Some(Sharing::Shared);
    }
    Ok(m)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dockerfile::test_inputs::every_string;

    fn p(v: &str) -> Result<Mount, String> {
        parse(v, &mut |s: &str| Ok(s.to_string()))
    }

    #[test]
    fn csv() {
        assert_eq!(csv_fields("a=1,b=2").unwrap(), vec!["a=1", "b=2"]);
        assert_eq!(
            csv_fields("\"target=/a,b\",ro").unwrap(),
            vec!["target=/a,b", "ro"]
        );
        assert!(csv_fields("a=\"x").is_err());
    }

    #[test]
    fn defaults_by_type() {
        let m = p("target=/src").unwrap();
        assert_eq!(m.kind, MountType::Bind);
        assert!(m.read_only);
        let m = p("type=cache,target=/root/.cache").unwrap();
        assert!(!m.read_only);
        assert_eq!(m.sharing, Some(Sharing::Shared));
        let m = p("type=tmpfs,dst=/tmp,size=64m").unwrap();
        assert_eq!(m.size_limit, 64 << 20);
        assert!(!m.read_only);
    }

    #[test]
    fn all_options() {
        let m = p("type=cache,id=go,target=/go,sharing=LOCKED,mode=0755,uid=1000,gid=1000,from=builder,source=/x,rw").unwrap();
        assert_eq!(m.id, "go");
        assert_eq!(m.sharing, Some(Sharing::Locked));
        assert_eq!(m.mode, Some(0o755));
        assert_eq!((m.uid, m.gid), (Some(1000), Some(1000)));
        assert_eq!(m.from, "builder");
        assert!(!m.read_only);
        let m = p("type=secret,id=tok,env=TOKEN,required").unwrap();
        assert!(m.required);
        assert_eq!(m.env.as_deref(), Some("TOKEN"));
        let m = p("type=ssh,required=false").unwrap();
        assert!(!m.required);
        assert!(p("type=bind,target=/a,readonly=false").is_ok_and(|m| !m.read_only));
    }

    #[test]
    fn errors() {
        assert_eq!(p("type=foo").unwrap_err(), "unsupported mount type \"foo\"");
        assert_eq!(
            p("type=cahce").unwrap_err(),
            "unsupported mount type \"cahce\" (did you mean cache?)"
        );
        assert_eq!(
            p("type=bind,required").unwrap_err(),
            "unexpected key 'required' for mount type 'bind'"
        );
        assert_eq!(
            p("target").unwrap_err(),
            "invalid field 'target' must be a key=value pair"
        );
        assert_eq!(
            p("type=bind,target=/a,mode=0700").unwrap_err(),
            "mode not allowed for \"bind\" type mounts"
        );
        assert_eq!(
            p("type=secret").unwrap_err(),
            "invalid secret mount. one of source, target required"
        );
        assert_eq!(
            p("type=secret,id=a,source=b").unwrap_err(),
            "both source and id can't be set"
        );
        assert_eq!(
            p("type=bind,target=/a,sharing=shared").unwrap_err(),
            "invalid cache sharing set for bind mount"
        );
        assert_eq!(
            p("type=cache,target=/a,sharing=all").unwrap_err(),
            "unsupported sharing value \"all\""
        );
        assert_eq!(
            p("type=cache,target=/a,tagret=/b").unwrap_err(),
            "unexpected key 'tagret' in 'tagret=/b' (did you mean target?)"
        );
        assert_eq!(
            p("type=cache,uid=x").unwrap_err(),
            "invalid value x for uid"
        );
        assert_eq!(
            p("type=tmpfs,size=big").unwrap_err(),
            "invalid value for size: big"
        );
        assert_eq!(
            p("type=bind,size=1m").unwrap_err(),
            "unexpected key 'size' for mount type 'bind'"
        );
    }

    #[test]
    fn precheck_from_must_be_literal() {
        assert!(precheck("type=bind,from=builder,target=/a").is_ok());
        assert!(precheck("type=cache,target=/c/$X,id=$Y").is_ok());
        assert!(precheck("type=bind,FROM=$").is_ok());
        assert!(precheck("type=bind,From=$X").is_err());
        assert!(precheck("target=\"a").is_err());
        assert_eq!(
            precheck("from=$STAGE,target=/a").unwrap_err(),
            "'from' doesn't support variable expansion, define alias stage instead"
        );
        assert_eq!(literal_from("target=/a,FROM=b").as_deref(), Some("b"));
    }

    /// The shortcut of [`literal_from`] answers as splitting the record does, on every record
    /// of up to four pieces (quotes, keys in any case, values with and without `f`).
    #[test]
    fn literal_from_shortcut_agrees_with_the_fields() {
        const PIECES: [&str; 12] = [
            "from=a",
            "FROM=b",
            "fRoM=",
            "type=bind",
            "target=/x",
            ",",
            "\"",
            "\"from=c\"",
            "=",
            "id=f",
            "ro",
            "rom=d",
        ];
        let (mut found, mut total) = (0, 0);
        for record in every_string(&PIECES, 4) {
            let slow = literal_from_fields(&record);
            found += usize::from(slow.is_some());
            total += 1;
            assert_eq!(literal_from(&record), slow, "{record:?}");
        }
        assert!(found * 10 > total, "{found} of {total} records had a from");
    }

    /// The record's own error comes before anything about its fields, as when it was split
    /// whole first; and `expand` is not asked about a malformed record.
    #[test]
    fn malformed_records_fail_first() {
        let bad = "failed to parse csv mounts: bare \" in non-quoted-field";
        assert_eq!(precheck("from=$X,a\"b").unwrap_err(), bad);
        assert_eq!(p("type=foo,a\"b").unwrap_err(), bad);
        let mut asked = false;
        let mut expand = |_: &str| {
            asked = true;
            Err("expanded".to_string())
        };
        assert_eq!(
            parse("target=$X,\"a", &mut expand).unwrap_err(),
            "failed to parse csv mounts: extraneous or missing \" in quoted-field"
        );
        assert!(!asked);
        assert_eq!(
            csv_fields("a,\"b,\"\"c\"\"\",,\"d=\"").unwrap(),
            vec!["a", "b,\"c\"", "", "d="]
        );
        assert_eq!(csv_fields("").unwrap(), vec![""]);
        assert_eq!(csv_fields("a,").unwrap(), vec!["a", ""]);
        assert!(csv_fields("\"a\"b").is_err());
    }

    /// Values without `$`, quotes, escapes or a leading byte-order mark are not handed to
    /// `expand`: the lexer gives them back as they are, whichever escape token the
    /// Dockerfile chose, and whatever the scope holds.
    #[test]
    fn plain_values_expand_to_themselves() {
        use crate::dockerfile::shell::Lexer;
        let env = vec![
            ("a".to_string(), "1".to_string()),
            ("HOME".to_string(), "/root".to_string()),
        ];
        let alphabet = [
            "a", "HOME", "/", ".", "-", "_", ":", "=", "{", "}", "~", "#", "%", "é", " ", "\t",
            "*", "?", "[", "]", "\u{feff}", "0", "+", "@", ",", ";", "(", ")", "|", "&",
        ];
        let mut plain = 0;
        for x in alphabet {
            for y in alphabet {
                for z in ["", "a", "\u{feff}", "{a}", "-"] {
                    let word = format!("{x}{y}{z}");
                    if may_expand(&word) {
                        continue;
                    }
                    plain += 1;
                    for escape in ['\\', '`'] {
                        let got = Lexer::new(escape).process_word(&word, &env);
                        assert_eq!(got.as_deref(), Ok(word.as_str()), "{word:?} {escape}");
                    }
                }
            }
        }
        assert!(plain > 4000, "{plain}");
        for word in ["$a", "${a}", "'a'", "\"a\"", "a\\b", "a`b", "\u{feff}a"] {
            assert!(may_expand(word), "{word:?}");
        }
        // What `expand` gives is what the mount holds; plain values are taken as written.
        let mut seen = Vec::new();
        let m = parse(
            "type=cache,target=/c/$a,id=x'y',sharing=private",
            &mut |v: &str| {
                seen.push(v.to_string());
                Ok(format!("<{v}>"))
            },
        )
        .unwrap();
        assert_eq!(seen, ["/c/$a", "x'y'"]);
        assert_eq!((m.target.as_str(), m.id.as_str()), ("</c/$a>", "<x'y'>"));
        assert_eq!(m.sharing, Some(Sharing::Private));
    }

    #[test]
    fn ram() {
        assert_eq!(ram_in_bytes("1024"), Some(1024));
        assert_eq!(ram_in_bytes("1k"), Some(1024));
        assert_eq!(ram_in_bytes("1.5GiB"), Some(3 << 29));
        assert_eq!(ram_in_bytes("x"), None);
    }
}
