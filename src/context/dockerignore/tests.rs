//! Vectors written from the behaviour described for docker's pattern matcher.

use super::*;

fn ignored(patterns: &[&str], path: &str) -> bool {
    Matcher::new(patterns).unwrap().is_ignored(path).unwrap()
}

fn single(pattern: &str, path: &str) -> bool {
    ignored(&[pattern], path)
}

#[test]
fn reader_cleans_and_keeps_exceptions() {
    let text = "\u{feff}# comment\n #not a comment\n\nplain\n/test2\n/a/file/here\n! /inverted/abs/path\n!\n! \n  spaced/  \n";
    assert_eq!(
        read_patterns(text),
        vec![
            "#not a comment",
            "plain",
            "test2",
            "a/file/here",
            "!inverted/abs/path",
            "!",
            "!",
            "spaced"
        ]
    );
    assert!(read_patterns("").is_empty());
}

#[test]
fn lone_bang_is_an_error() {
    let e = Matcher::new(&["!"]).unwrap_err();
    assert_eq!(e.reason, "illegal exclusion pattern");
    assert!(Matcher::from_ignore_file("!\n").is_err());
}

#[test]
fn star_and_question_stay_in_a_segment() {
    assert!(single("a*/b", "abc/b"));
    assert!(!single("a*/b", "a/c/b"));
    assert!(!single("a*b", "a/b"));
    assert!(single("a/*.txt", "a/file.txt"));
    assert!(single("abc?def", "abcZdef"));
    assert!(!single("abc?def", "abcdef"));
    assert!(single("a?b", "a☺b"));
    assert!(single(".*", ".foo"));
    assert!(!single(".*", "foo"));
}

#[test]
fn star_matches_everything_below_by_ancestor_rule() {
    // `a/*.txt` matches the directory a/dir.txt's contents too, but not a/dir/file.txt.
    assert!(!single("a/*.txt", "a/dir/file.txt"));
    assert!(single("*", "x"));
    assert!(single("*", "x/y/z"));
}

#[test]
fn escapes_and_regex_specials_are_literal() {
    assert!(single(r"a\*b", "a*b"));
    assert!(!single(r"a\*b", "ab"));
    assert!(single(r"a\\", r"a\"));
    assert!(single("abc.def", "abc.def"));
    assert!(!single("abc.def", "abcdef"));
    assert!(!single("abc.def", "abcZdef"));
    assert!(single("a(b)c/def", "a(b)c/def"));
    assert!(single("a.|)$(}+{bc", "a.|)$(}+{bc"));
    let wheel = "dist/proj-1.0+local-py3-none-any.whl";
    assert!(single("dist/*.whl", wheel));
    assert!(single(wheel, wheel));
}

#[test]
fn classes() {
    assert!(single("[a-c]x", "bx"));
    assert!(!single("[a-c]x", "dx"));
    assert!(single("[^a-c]x", "dx"));
    assert!(single(r"[\]]x", "]x"));
    assert!(single(r"[\-]x", "-x"));
    assert!(!single("[ab]", "/"));
    for bad in ["[", "[^", "[]a]", "[-]", "[a-]", "[a-b-c]", "[x", r"a\"] {
        assert!(
            Matcher::new(&[bad]).is_err(),
            "{bad} should be rejected when built"
        );
    }
}

#[test]
fn reversed_range_fails_at_every_match() {
    let m = Matcher::new(&["[Local-Only]/"]).unwrap();
    assert!(m.is_ignored("x").is_err());
    assert!(m.is_ignored("x").is_err());
}

#[test]
fn double_star() {
    for p in ["dir", "x/dir", "x/y/dir"] {
        assert!(single("**/dir", p), "{p}");
    }
    for pat in ["**", "**/", "**/**"] {
        assert!(single(pat, "dir/file"), "{pat}");
        assert!(single(pat, "a"), "{pat}");
    }
    assert!(single("dir/**", "dir/file"));
    assert!(single("dir/**", "dir/a/b/file"));
    assert!(!single("dir/**", "dir"));
    assert!(single("a/*.txt**", "a/file.txt"));
    for p in ["a/file.txt", "a/dir/file.txt", "a/dir/dir/file.txt"] {
        assert!(single("a**/*.txt", p), "{p}");
    }
    assert!(single("**/**/*.txt", "file.txt"));
    assert!(single("**/**/*.txt", "dir/dir/file.txt"));
    assert!(!single("**/**/*.txt", "file.txt2"));
    assert!(single("**/dir2/*", "dir/dir2/file"));
    assert!(single("**/dir2/**", "dir/dir2/dir3/file"));
    assert!(single("**file", "file"));
    assert!(single("**file", "dir/file"));
    assert!(single("**file", "xfile"));
    assert!(single("**/foo/bar", "foo/bar"));
    assert!(single("**/.foo", ".foo"));
    assert!(!single("**/.foo", "bar.foo"));
}

#[test]
fn last_match_wins_and_exceptions() {
    assert!(!ignored(&["*.go", "!fileutils.go"], "fileutils.go"));
    assert!(ignored(&["*.go", "!fileutils.go"], "main.go"));
    assert!(ignored(&["!fileutils.go", "*.go"], "fileutils.go"));
    for first in ["docs", "docs/", "docs/*"] {
        assert!(
            !ignored(&[first, "!docs/README.md"], "docs/README.md"),
            "{first}"
        );
        assert!(
            ignored(&[first, "!docs/README.md"], "docs/other.md"),
            "{first}"
        );
    }
    assert!(!ignored(&["**", "!util/docker/web"], "util/docker/web/foo"));
    assert!(ignored(
        &["**", "!util/docker/web", "util/docker/web/foo"],
        "util/docker/web/foo"
    ));
    assert!(!ignored(
        &["**", "!dist/*.whl"],
        "dist/a-1.0-py3-none-any.whl"
    ));
    assert!(!ignored(&["**"], "."));
    assert!(!ignored(&[], "anything"));
}

#[test]
fn end_to_end_example() {
    let m = Matcher::from_ignore_file("ba*\nDockerfile\n!bay\n.dockerignore\n").unwrap();
    let kept: Vec<_> = ["foo", "bar", "baz", "bay", "Dockerfile", ".dockerignore"]
        .into_iter()
        .filter(|p| !m.is_ignored(p).unwrap())
        .collect();
    assert_eq!(kept, vec!["foo", "bay"]);
    assert!(m.has_exclusions());
}

#[test]
fn clean_path_like_go() {
    assert_eq!(clean_path("a//b/./c/.."), "a/b");
    assert_eq!(clean_path("/../a"), "/a");
    assert_eq!(clean_path("../a"), "../a");
    assert_eq!(clean_path("a/"), "a");
    assert_eq!(clean_path(""), ".");
}
