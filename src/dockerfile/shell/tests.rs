//! Ports of BuildKit's Go-table tests (lex_test.go) plus cases for the options, the escape
//! token and the quirks kept on purpose.

use std::collections::{BTreeMap, BTreeSet};

use super::*;
use crate::dockerfile::test_inputs::every_string;

fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn set(names: &[&str]) -> BTreeSet<String> {
    names.iter().map(|s| s.to_string()).collect()
}

struct Case {
    input: &'static str,
    env: &'static [(&'static str, &'static str)],
    /// `None` means an error is expected.
    expected: Option<&'static str>,
    matched: &'static [&'static str],
    unmatched: &'static [&'static str],
}

const fn ok(
    input: &'static str,
    env: &'static [(&'static str, &'static str)],
    expected: &'static str,
    matched: &'static [&'static str],
    unmatched: &'static [&'static str],
) -> Case {
    Case {
        input,
        env,
        expected: Some(expected),
        matched,
        unmatched,
    }
}

const fn err(input: &'static str, env: &'static [(&'static str, &'static str)]) -> Case {
    Case {
        input,
        env,
        expected: None,
        matched: &[],
        unmatched: &[],
    }
}

const FOO_BAR: &[(&str, &str)] = &[("FOO", "xxx"), ("BAR", "")];
const XXYY: &[(&str, &str)] = &[("FOO", "xxyy")];

/// BuildKit's TestProcessWithMatches table.
const PROCESS_WITH_MATCHES: &[Case] = &[
    ok("x", &[("DUMMY", "dummy")], "x", &[], &[]),
    ok("x ${UNUSED}", &[("DUMMY", "dummy")], "x ", &[], &["UNUSED"]),
    ok("x ${FOO}", &[("FOO", "y")], "x y", &["FOO"], &[]),
    ok(
        "${FOO-aaa} ${BAR-bbb} ${BAZ-ccc}",
        FOO_BAR,
        "xxx  ccc",
        &["FOO", "BAR"],
        &["BAZ"],
    ),
    ok(
        "${FOO:-aaa} ${BAR:-bbb} ${BAZ:-ccc}",
        FOO_BAR,
        "xxx bbb ccc",
        &["FOO", "BAR"],
        &["BAZ"],
    ),
    ok("${FOO:-}", FOO_BAR, "xxx", &["FOO"], &[]),
    ok("${FOO:-}", &[], "", &[], &["FOO"]),
    ok(
        "${FOO+aaa} ${BAR+bbb} ${BAZ+ccc}",
        FOO_BAR,
        "aaa bbb ",
        &["FOO", "BAR"],
        &["BAZ"],
    ),
    ok(
        "${FOO:+aaa} ${BAR:+bbb} ${BAZ:+ccc}",
        FOO_BAR,
        "aaa  ",
        &["FOO", "BAR"],
        &["BAZ"],
    ),
    ok("${FOO?aaa}", FOO_BAR, "xxx", &["FOO"], &[]),
    ok("${BAR?bbb}", FOO_BAR, "", &["BAR"], &[]),
    err("${BAZ?ccc}", FOO_BAR),
    ok("${FOO:?aaa}", FOO_BAR, "xxx", &["FOO"], &[]),
    err("${BAR:?bbb}", FOO_BAR),
    err("${BAZ:?ccc}", FOO_BAR),
    err("${BAZ:?}", FOO_BAR),
    err("${FOO=aaa}", FOO_BAR),
    err("${FOO=:aaa}", FOO_BAR),
    err("${FOO=}", &[]),
    // Regex metacharacters are literal; `}` must be escaped to stay in the pattern.
    ok(
        "${FOO#()[]{\\}^$.\\*\\?|\\\\}",
        &[("FOO", "()[]{}^$.*?|\\x")],
        "x",
        &["FOO"],
        &[],
    ),
    ok("${FOO%%\\**}", &[("FOO", "xx**")], "xx", &["FOO"], &[]),
    ok("${FOO#*x*y}", XXYY, "y", &["FOO"], &[]),
    ok("${FOO#*}", XXYY, "xxyy", &["FOO"], &[]),
    ok(
        "${FOO#$BAR}",
        &[("FOO", "xxyy"), ("BAR", "x")],
        "xyy",
        &["FOO", "BAR"],
        &[],
    ),
    ok(
        "${FOO#$BAR}",
        &[("FOO", "xxyy"), ("BAR", "")],
        "xxyy",
        &["FOO", "BAR"],
        &[],
    ),
    ok("${FOO#}", XXYY, "xxyy", &["FOO"], &[]),
    ok("${FOO##*x}", XXYY, "yy", &["FOO"], &[]),
    ok("${FOO##}", XXYY, "xxyy", &["FOO"], &[]),
    ok("${FOO#?\\?}", &[("FOO", "???y")], "?y", &["FOO"], &[]),
    ok(
        "${ABC:-.}${FOO%x}${ABC:-.}",
        XXYY,
        ".xxyy.",
        &["FOO"],
        &["ABC"],
    ),
    ok("${FOO%%\\**\\*}", &[("FOO", "a***yy*")], "a", &["FOO"], &[]),
    ok("${FOO%}", XXYY, "xxyy", &["FOO"], &[]),
    ok(
        "${FOO%%$BAR}",
        &[("FOO", "xxyy"), ("BAR", "")],
        "xxyy",
        &["FOO", "BAR"],
        &[],
    ),
    ok(
        "${FOO/$NEEDLE/.} - ${FOO//$NEEDLE/.}",
        &[("FOO", "/foo*/*/*.txt"), ("NEEDLE", "\\*/")],
        "/foo.*/*.txt - /foo..*.txt",
        &["FOO", "NEEDLE"],
        &[],
    ),
    ok(
        "${FOO/$NEEDLE/} - ${FOO//$NEEDLE/}",
        &[("FOO", "/tmp/tmp/bar.txt"), ("NEEDLE", "/tmp")],
        "/tmp/bar.txt - /bar.txt",
        &["FOO", "NEEDLE"],
        &[],
    ),
    ok(
        "${FOO/$NEEDLE/$REPLACEMENT} - ${FOO//$NEEDLE/$REPLACEMENT}",
        &[
            ("FOO", "/a/foo/b/c.txt"),
            ("NEEDLE", "/?/"),
            ("REPLACEMENT", "/"),
        ],
        "/foo/b/c.txt - /foo/c.txt",
        &["FOO", "NEEDLE", "REPLACEMENT"],
        &[],
    ),
    ok(
        "${FOO/$NEEDLE/$REPLACEMENT}",
        &[
            ("FOO", "http://google.de"),
            ("NEEDLE", "http://"),
            ("REPLACEMENT", "https://"),
        ],
        "https://google.de",
        &["FOO", "NEEDLE", "REPLACEMENT"],
        &[],
    ),
    // Escaped separators: the escape is dropped from the pattern, kept in the replacement.
    ok(
        "${FOO//\\//\\/}",
        &[("FOO", "/tmp/foo.txt")],
        "\\/tmp\\/foo.txt",
        &["FOO"],
        &[],
    ),
    ok(
        "${FOO/$BAR/ww}",
        &[("FOO", "xxyy"), ("BAR", "")],
        "wwxxyy",
        &["FOO", "BAR"],
        &[],
    ),
    err("${FOO//ww}", XXYY),
    err("${FOO//}", XXYY),
    ok("${FOO///}", XXYY, "xxyy", &["FOO"], &[]),
    ok("${FOO///}", &[], "", &[], &["FOO"]),
];

#[test]
fn buildkit_process_with_matches_table() {
    let lexer = Lexer::new('\\');
    for case in PROCESS_WITH_MATCHES {
        let env = map(case.env);
        let result = lexer.process(case.input, &env);
        match (case.expected, result) {
            (None, Err(_)) => {}
            (None, Ok(e)) => panic!("{:?}: expected an error, got {:?}", case.input, e.value),
            (Some(_), Err(e)) => panic!("{:?}: unexpected error {e}", case.input),
            (Some(expected), Ok(e)) => {
                assert_eq!(e.value, expected, "{:?}", case.input);
                assert_eq!(e.matched, set(case.matched), "matched for {:?}", case.input);
                assert_eq!(
                    e.unmatched,
                    set(case.unmatched),
                    "unmatched for {:?}",
                    case.input
                );
            }
        }
    }
    assert_eq!(PROCESS_WITH_MATCHES.len(), 43);
}

#[test]
fn process_word_with_matches_returns_the_set_names() {
    let lexer = Lexer::new('\\');
    let env = map(&[("FOO", "y"), ("UNUSED", "z")]);
    let (value, matched) = lexer
        .process_word_with_matches("${FOO}-${MISSING:-d}", &env)
        .unwrap();
    assert_eq!(value, "y-d");
    assert_eq!(matched, set(&["FOO"]));
}

#[test]
fn mandatory_variables() {
    let lexer = Lexer::new('\\');
    let set_env = ["VAR=plain", "ARG=x"];
    let empty_env = ["VAR=", "ARG=x"];
    let unset_env = ["ARG=x"];
    let no_empty = "${VAR:?message here$ARG}";
    let no_unset = "${VAR?message here$ARG}";

    assert_eq!(lexer.process_word(no_empty, &set_env).unwrap(), "plain");
    for env in [&empty_env[..], &unset_env[..]] {
        let e = lexer.process_word(no_empty, &env).unwrap_err();
        assert_eq!(
            e.0,
            "failed to process \"${VAR:?message here$ARG}\": VAR: message herex"
        );
    }
    assert_eq!(lexer.process_word(no_unset, &set_env).unwrap(), "plain");
    assert_eq!(lexer.process_word(no_unset, &empty_env).unwrap(), "");
    let e = lexer.process_word(no_unset, &unset_env).unwrap_err();
    assert!(e.0.ends_with("VAR: message herex"), "{e}");

    let empty = map(&[("V", "")]);
    let e = lexer.process_word("${V:?}", &empty).unwrap_err();
    assert_eq!(
        e.0,
        "failed to process \"${V:?}\": V: is not allowed to be empty"
    );
    let e = lexer.process_word("${W?}", &empty).unwrap_err();
    assert_eq!(
        e.0,
        "failed to process \"${W?}\": W: is not allowed to be unset"
    );
}

#[test]
fn platform_file_name() {
    let lexer = Lexer::new('\\');
    let release =
        "something-${VERSION}.${TARGETOS}-${TARGETARCH}${TARGETVARIANT:+-${TARGETVARIANT}}.tar.gz";
    let base = [("VERSION", "v1.2.3"), ("TARGETOS", "linux")];
    let with = |extra: &[(&'static str, &'static str)]| {
        let mut env = map(&base);
        env.extend(map(extra));
        lexer.process_word(release, &env).unwrap()
    };
    assert_eq!(
        with(&[("TARGETARCH", "arm"), ("TARGETVARIANT", "v7")]),
        "something-v1.2.3.linux-arm-v7.tar.gz"
    );
    assert_eq!(
        with(&[("TARGETARCH", "arm64"), ("TARGETVARIANT", "")]),
        "something-v1.2.3.linux-arm64.tar.gz"
    );
    assert_eq!(
        with(&[("TARGETARCH", "arm64")]),
        "something-v1.2.3.linux-arm64.tar.gz"
    );
}

#[test]
fn env_lists_last_definition_wins() {
    let lexer = Lexer::new('\\');
    let words = |env: &dyn Env| lexer.process_word("[$foo][$car]", env).unwrap();
    let empty: [&str; 0] = [];
    assert_eq!(words(&&empty[..]), "[][]");
    assert_eq!(words(&&["foo"][..]), "[][]");
    assert_eq!(words(&&["foo="][..]), "[][]");
    assert_eq!(words(&&["foo=bar"][..]), "[bar][]");
    assert_eq!(words(&&["foo=bar", "car=hat"][..]), "[bar][hat]");
    assert_eq!(
        words(&&["foo=bar", "car=hat", "car=bike"][..]),
        "[bar][bike]"
    );
    let owned = vec!["car=hat".to_string(), "car=a=b".to_string()];
    assert_eq!(words(&owned), "[][a=b]");
    let pairs = vec![
        ("car".to_string(), "1".to_string()),
        ("car".to_string(), "2".to_string()),
    ];
    assert_eq!(words(&pairs), "[][2]");
    assert_eq!(words(&&[("foo", "x"), ("foo", "y")][..]), "[y][]");
    let hash: std::collections::HashMap<String, String> =
        [("foo".to_string(), "h".to_string())].into();
    assert_eq!(words(&hash), "[h][]");
    // Names without `=` are set (to empty), so they match.
    let e = lexer.process("${foo-unset}", &&["foo"][..]).unwrap();
    assert_eq!(e.value, "");
    assert_eq!(e.matched, set(&["foo"]));
}

#[test]
fn backtick_escape_token() {
    let lexer = Lexer::new('`');
    let env = map(&[("PWD", "/home"), ("FOO", "a*b")]);
    assert_eq!(lexer.process_word("he`$PWD", &env).unwrap(), "he$PWD");
    assert_eq!(
        lexer.process_word("c:\\windows\\$PWD", &env).unwrap(),
        "c:\\windows\\/home"
    );
    assert_eq!(lexer.process_word("a`", &env).unwrap(), "a");
    assert_eq!(lexer.process_word("\"a`\"b\"", &env).unwrap(), "a\"b");
    assert_eq!(lexer.process_word("\"a`tb\"", &env).unwrap(), "a`tb");
    assert_eq!(lexer.process_word("\"a\\\"", &env).unwrap(), "a\\");
    assert_eq!(
        lexer.process_words("a` b c", &env).unwrap(),
        vec!["a b".to_string(), "c".to_string()]
    );
    // In patterns `\` stays the pattern escape whatever the escape token is.
    assert_eq!(lexer.process_word("${FOO#a\\*}", &env).unwrap(), "b");
    assert_eq!(lexer.process_word("${FOO#*`}}", &env).unwrap(), "a*b");
    assert_eq!(lexer.process_word("${FOO#a`*}", &env).unwrap(), "a*b");
}

#[test]
fn skip_unset_env_keeps_references() {
    let mut lexer = Lexer::new('\\');
    lexer.skip_unset_env = true;
    let env = map(&[("SET", "v")]);
    for (input, expected) in [
        ("$SET $UNSET", "v $UNSET"),
        ("${UNSET}", "${UNSET}"),
        ("${UNSET:-x$SET}", "${UNSET:-xv}"),
        ("${UNSET+a}", "${UNSET+a}"),
        ("${UNSET:?no}", "${UNSET:?no}"),
        ("${UNSET%%a*}", "${UNSET%%a*}"),
        ("${UNSET#\\*}", "${UNSET#\\*}"),
        ("${UNSET/a/b}", "${UNSET/a/b}"),
        // BuildKit writes the replace-all form back with a single slash.
        ("${UNSET//a/b}", "${UNSET/a/b}"),
        // An unknown modifier on an unset variable is kept rather than rejected.
        ("${UNSET:=x}", "${UNSET:=x}"),
        ("$1 $@", "$1 $@"),
        ("${SET:-x}", "v"),
    ] {
        assert_eq!(
            lexer.process_word(input, &env).unwrap(),
            expected,
            "{input:?}"
        );
    }
    assert!(lexer.process_word("${SET:=x}", &env).is_err());
    assert!(lexer.process_word("${UNSET=x}", &env).is_err());
}

#[test]
fn raw_quotes_and_raw_escapes() {
    let env = map(&[("A", "1")]);
    let mut lexer = Lexer::new('\\');
    lexer.raw_quotes = true;
    assert_eq!(
        lexer.process_word("'$A' \"$A\"", &env).unwrap(),
        "'$A' \"1\""
    );
    assert_eq!(
        lexer.process_words("x'a b'y \"c d\"", &env).unwrap(),
        vec!["x'a b'y".to_string(), "\"c d\"".to_string()]
    );

    let mut lexer = Lexer::new('\\');
    lexer.raw_escapes = true;
    assert_eq!(lexer.process_word("a\\ b\\$A", &env).unwrap(), "a\\ b\\$A");
    assert_eq!(lexer.process_word("a\\", &env).unwrap(), "a\\");
    // Inside double quotes a raw escape before an ordinary character comes out twice.
    assert_eq!(
        lexer.process_word("\"\\$A\\t\"", &env).unwrap(),
        "\\$A\\\\t"
    );
    assert_eq!(
        lexer.process_words("a\\ b c", &env).unwrap(),
        vec!["a\\ b".to_string(), "c".to_string()]
    );
    // A nested `${v:-word}` turns raw escapes off for its word.
    assert_eq!(lexer.process_word("${B:-\\$A}", &env).unwrap(), "$A");
}

#[test]
fn skip_process_quotes_treats_quotes_as_text() {
    let mut lexer = Lexer::new('\\');
    lexer.skip_process_quotes = true;
    let env = map(&[("A", "1")]);
    assert_eq!(lexer.process_word("'$A' \"$A", &env).unwrap(), "'1' \"1");
}

#[test]
fn words_split_only_unquoted_expansions() {
    let lexer = Lexer::new('\\');
    let env = map(&[("S", " a  b "), ("E", "")]);
    let words = |w: &str| lexer.process_words(w, &env).unwrap();
    assert_eq!(words("x${S}y"), vec!["x", "a", "b", "y"]);
    assert_eq!(words("x\"${S}\"y"), vec!["x a  b y"]);
    assert_eq!(words("''"), Vec::<String>::new());
    assert_eq!(words("$E"), Vec::<String>::new());
    assert_eq!(words("a\u{a0}b\u{3000}c"), vec!["a", "b", "c"]);
    assert_eq!(words("a\\\u{a0}b"), vec!["a\u{a0}b"]);
}

/// Each nested `${v<op>word}` scan has its own word list (BuildKit's `processStopOn` keeps its
/// words local), so the text before such an expansion stays in the outer word.
#[test]
fn words_keep_prefix_before_modifier_expansion() {
    let lexer = Lexer::new('\\');
    let env = map(&[("X", "x")]);
    assert_eq!(lexer.process_words("a${U:-b}c", &env).unwrap(), vec!["abc"]);
    assert_eq!(
        lexer.process_words("p q${X#z}r", &env).unwrap(),
        vec!["p", "qxr"]
    );
    assert_eq!(
        lexer.process_words("a\"${U:-b c}\"", &env).unwrap(),
        vec!["ab c"]
    );
    assert_eq!(lexer.process_words("a${X}c", &env).unwrap(), vec!["axc"]);
    assert_eq!(lexer.process_word("a${U:-b}c", &env).unwrap(), "abc");
}

#[test]
fn special_parameters_and_names() {
    let lexer = Lexer::new('\\');
    let env = map(&[("_a1", "v"), ("한", "k"), ("@", "at")]);
    for (input, expected) in [
        ("$_a1.", "v."),
        ("$한국", ""),
        ("${한}", "k"),
        ("$@@", "at@"),
        ("$1x", "x"),
        ("$0123x", "x"),
        ("$.", "$."),
        ("$", "$"),
        ("$²", "$²"),
        ("\u{feff}$_a1", "v"),
        ("a\u{feff}", "a\u{feff}"),
    ] {
        assert_eq!(
            lexer.process_word(input, &env).unwrap(),
            expected,
            "{input:?}"
        );
    }
}

#[test]
fn substitution_errors() {
    let lexer = Lexer::new('\\');
    let env = map(&[("V", "abc")]);
    for (input, message) in [
        ("${", "syntax error: missing '}'"),
        ("${}", "syntax error: bad substitution"),
        ("${:-a}", "syntax error: bad substitution"),
        ("${{a}", "syntax error: bad substitution"),
        ("${V", "unsupported modifier (\u{FFFD}) in substitution"),
        ("${V:-a", "syntax error: missing '}'"),
        ("${V:", "syntax error: missing '}'"),
        ("${V/a", "syntax error: missing '/' in ${}"),
        ("${V/a/b", "syntax error: missing '}'"),
        ("${V:#a}", "unsupported modifier (:#) in substitution"),
        ("${V:%a}", "unsupported modifier (:%) in substitution"),
        ("${V:=a}", "unsupported modifier (:=) in substitution"),
        ("${V=a}", "unsupported modifier (=) in substitution"),
        (
            "${V#\\x}",
            "invalid pattern (\\x) in substitution: invalid escape '\\x'",
        ),
        ("${V:-'a}", "syntax error: missing '}'"),
        ("${V:-'a'", "syntax error: missing '}'"),
        (
            "'a",
            "unexpected end of statement while looking for matching single-quote",
        ),
        (
            "\"a",
            "unexpected end of statement while looking for matching double-quote",
        ),
        ("${V:-${W:?boom} x}", "W: boom"),
    ] {
        let e = lexer.process_word(input, &env).unwrap_err();
        let prefix = format!("failed to process {}: ", scanner::go_quote(input));
        assert_eq!(e.0, format!("{prefix}{message}"), "{input:?}");
    }
}

#[test]
fn nesting_is_bounded_without_overflowing_the_stack() {
    let lexer = Lexer::new('\\');
    let env = map(&[]);
    let depth = scanner::MAX_NESTING - 1;
    let word = format!("{}x{}", "${a:-".repeat(depth), "}".repeat(depth));
    assert_eq!(lexer.process_word(&word, &env).unwrap(), "x");
    let word = format!("{}x{}", "\"${a:-".repeat(depth), "}\"".repeat(depth));
    assert_eq!(lexer.process_word(&word, &env).unwrap(), "x");

    let too_deep = scanner::MAX_NESTING + 1;
    let word = format!("{}x{}", "${a:-".repeat(too_deep), "}".repeat(too_deep));
    assert!(lexer.process_word(&word, &env).is_err());
}

#[test]
fn pathological_patterns_stay_fast() {
    let lexer = Lexer::new('\\');
    let value = "a".repeat(1500);
    let env = map(&[("V", value.as_str())]);
    let stars = "*a".repeat(750);
    let started = std::time::Instant::now();
    for word in [
        format!("${{V#{stars}b}}"),
        format!("${{V%%{stars}b}}"),
        format!("${{V//{stars}b/x}}"),
        "${V//?/x}".to_string(),
        format!("${{V//{}/x}}", "?".repeat(5000)),
        "${V#a}".repeat(2000),
    ] {
        lexer.process_word(&word, &env).unwrap();
    }
    // A backtracking matcher would need astronomically long here; linear matching needs
    // well under a second in a release build.
    assert!(started.elapsed() < std::time::Duration::from_secs(60));
}

#[test]
fn error_prefix_quotes_like_go() {
    assert_eq!(
        scanner::go_quote("a\"\\\u{0}\t\u{7f}\u{a0}\u{feff}☃é\u{10ffff}"),
        "\"a\\\"\\\\\\x00\\t\\x7f\\u00a0\\ufeff☃é\\U0010ffff\""
    );
}

#[test]
fn plain_words_expand_as_the_scanner_expands_them() {
    let env = map(&[
        ("A", "1"),
        ("B_2", "x y"),
        ("E", ""),
        ("@", "at"),
        ("9", "n"),
    ]);
    let lexer = Lexer::new('\\');
    for word in [
        "plain",
        "",
        "$A",
        "${A}",
        "$A$B_2",
        "/p/${B_2}/q",
        "$",
        "a$",
        "$$",
        "$-x",
        "$@",
        "$9a",
        "$1",
        "${@}",
        "$Aé",
        "${A}é",
        "$é",
        "${unset}x",
        "x\u{feff}$A",
        "$unset",
        "${E}",
        "x${A}${A}y",
        "${A:-b}",
        "${E:-b}",
        "${E-b}",
        "${unset:+b}",
        "${A+}",
    ] {
        let slow = scanner::Scanner::with_outputs(&lexer, &env, word, false, false)
            .run(word)
            .map(|e| e.value);
        assert_eq!(lexer.process_plain(word, &env), slow.ok(), "{word:?}");
    }
    for other in [
        "${A:?b}",
        "${A:-$A}",
        "${A/x/y}",
        "${A",
        "${}",
        "'q",
        "\"$A",
        "a\\b",
        "${A:-a\\b}",
        "'a\\b'",
        "\"a\\b\"",
        "${A#x}",
        "\u{feff}x",
    ] {
        assert_eq!(lexer.process_plain(other, &env), None, "{other:?}");
    }
}

/// Every word of up to five pieces from an alphabet of quoting and expansion pieces gives
/// the fast path's result only when it equals the scanner's, for each quoting mode.
#[test]
fn plain_path_agrees_with_the_scanner_on_every_short_word() {
    const PIECES: [&str; 20] = [
        "\"",
        "${unset:-a\\b}",
        "'`\\'",
        "'",
        "$A",
        "${B_2}",
        "$",
        "a",
        " ",
        "\u{feff}",
        "`",
        "${E}",
        "é",
        "${A:-x}",
        "\\",
        "$unset",
        "${E:-y z}",
        "${unset+w}",
        "${A:+v}",
        "${E-}",
    ];
    let env = map(&[("A", "1"), ("B_2", "x 'y\""), ("E", "")]);
    let mut lexers = vec![Lexer::new('\\'), Lexer::new('`')];
    let mut raw = Lexer::new('\\');
    raw.raw_quotes = true;
    lexers.push(raw);
    let mut skip = Lexer::new('\\');
    skip.skip_process_quotes = true;
    lexers.push(skip);
    let (mut fast, mut literal, mut total) = (0, 0, 0);
    for word in every_string(&PIECES, 4) {
        for lexer in &lexers {
            let slow = scanner::Scanner::with_outputs(lexer, &env, &word, false, false)
                .run(&word)
                .map(|e| e.value);
            total += 1;
            if lexer.is_literal(&word) {
                literal += 1;
                assert_eq!(slow.as_deref(), Ok(word.as_str()), "{word:?} is literal");
                let words = scanner::Scanner::with_outputs(lexer, &env, &word, true, false)
                    .run(&word)
                    .map(|e| e.words);
                assert_eq!(lexer.process_words(&word, &env), words, "{word:?}");
            }
            if let Some(got) = lexer.process_plain(&word, &env) {
                fast += 1;
                assert_eq!(Ok(got), slow, "{word:?} raw_quotes={}", lexer.raw_quotes);
            }
        }
    }
    // The fast paths must take many words, or they would be testing nothing.
    assert!(
        fast * 4 > total,
        "{fast} of {total} words took the fast path"
    );
    assert!(literal > 1000, "{literal} of {total} words were literal");
}

/// The byte-set test of `is_literal` answers as comparing each byte with each special
/// character does, for every word of up to three bytes from an alphabet around the special
/// ones, with every escape token and quoting mode.
#[test]
fn is_literal_agrees_with_a_byte_by_byte_check() {
    let alphabet = [
        "$", "\"", "'", "\\", "`", "a", " ", "#", "%", "&", "[", "]", "_", "é", "\u{feff}",
        "\u{7f}",
    ];
    let mut checked = 0;
    for escape in ['\\', '`', '$', 'a', '\u{7f}', 'é'] {
        for skip_quotes in [false, true] {
            let mut lexer = Lexer::new(escape);
            lexer.skip_process_quotes = skip_quotes;
            let by_byte = |w: &str| {
                let quotes = !skip_quotes;
                let special = |c: char| c == '$' || (quotes && (c == '"' || c == '\''));
                !w.starts_with('\u{feff}') && !w.chars().any(|c| special(c) || c == escape)
            };
            let n = alphabet.len();
            for code in 0..n * n * n + n * n + n + 1 {
                let (mut word, mut c) = (String::new(), code);
                while c > 0 {
                    word.push_str(alphabet[(c - 1) % n]);
                    c = (c - 1) / n;
                }
                assert_eq!(
                    lexer.is_literal(&word),
                    by_byte(&word),
                    "{word:?} {escape:?}"
                );
                checked += 1;
            }
        }
    }
    assert!(checked > 40_000);
}

/// The eight-bytes-at-a-time search finds the same first stop as looking at each byte, for
/// every byte value at every position of words up to three chunks long, alone, after another
/// stop, and before one (where the zero-byte test's upward borrow could mislead it).
#[test]
fn first_plain_stop_agrees_with_a_byte_by_byte_search() {
    let by_byte = |w: &[u8]| w.iter().position(|&b| PLAIN_STOPS[usize::from(b)]);
    let mut checked = 0;
    for len in 0..=24 {
        for pos in 0..len {
            for b in 0..=255u8 {
                let mut word = vec![b'a'; len];
                word[pos] = b;
                for extra in [
                    None,
                    Some(pos.saturating_sub(3)),
                    Some((pos + 1).min(len - 1)),
                ] {
                    let mut w = word.clone();
                    if let Some(i) = extra.filter(|&i| i != pos) {
                        w[i] = b'$';
                    }
                    assert_eq!(first_plain_stop(&w), by_byte(&w), "{w:?}");
                    checked += 1;
                }
            }
        }
    }
    assert_eq!(first_plain_stop(b""), None);
    assert_eq!(first_plain_stop(b"abcdefgh$"), Some(8));
    assert!(checked > 200_000);
}
