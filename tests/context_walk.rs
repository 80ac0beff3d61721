//! The context walk against a naive reference, and loading the ignore file as docker does.

use kiln::context::dockerignore::Matcher;
use kiln::context::{load_ignore_rules, walk, ContextError, EntryKind, IgnoreRules};
use std::collections::BTreeSet;
use std::ffi::OsStr;
use std::fs;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};
use tempfile::TempDir;

fn write(root: &Path, rel: &str, data: &[u8]) {
    let p = root.join(rel);
    fs::create_dir_all(p.parent().unwrap()).unwrap();
    fs::write(p, data).unwrap();
}

/// A context shaped like real projects: dependency and build directories, docs, deep trees,
/// links, and a name that is not UTF-8.
fn project() -> TempDir {
    let t = TempDir::new().unwrap();
    let r = t.path();
    for rel in [
        "Dockerfile",
        ".dockerignore",
        "README.md",
        "src/main.rs",
        "src/lib/a.rs",
        "src/lib/b.rs",
        "src/lib/deep/er/c.rs",
        "node_modules/left-pad/index.js",
        "node_modules/left-pad/README.md",
        "node_modules/.bin/x",
        "vendor/keep/important.go",
        "vendor/keep/sub/also.go",
        "vendor/drop/junk.go",
        "docs/guide.md",
        "docs/api/ref.md",
        "docs/api/img.png",
        "target/debug/kiln",
        "target/debug/deps/libx.rlib",
        "logs/a.log",
        "logs/keep.log",
        "a/b/c/d/e/f.txt",
    ] {
        write(r, rel, rel.as_bytes());
    }
    fs::create_dir_all(r.join("empty/dir")).unwrap();
    symlink("../src", r.join("docs/src-link")).unwrap();
    symlink("/", r.join("node_modules/root-link")).unwrap();
    let odd = OsStr::from_bytes(b"src/\xffodd.rs");
    fs::write(r.join(odd), b"odd").unwrap();
    t
}

/// Every path below `root` (symlinks not followed), relative, with its kind.
fn full_walk(root: &Path) -> Vec<(PathBuf, bool)> {
    walkdir::WalkDir::new(root)
        .min_depth(1)
        .follow_links(false)
        .into_iter()
        .map(|e| {
            let e = e.unwrap();
            let rel = e.path().strip_prefix(root).unwrap().to_path_buf();
            (rel, e.file_type().is_dir())
        })
        .collect()
}

/// The reference: every path the matcher keeps, plus the directories holding kept paths.
fn naive(root: &Path, m: &Matcher) -> BTreeSet<PathBuf> {
    let mut out = BTreeSet::new();
    for (rel, _) in full_walk(root) {
        if !m.is_ignored(&rel.to_string_lossy()).unwrap() {
            let mut p = rel.as_path();
            out.insert(p.to_path_buf());
            while let Some(parent) = p.parent().filter(|p| !p.as_os_str().is_empty()) {
                out.insert(parent.to_path_buf());
                p = parent;
            }
        }
    }
    out
}

const PATTERN_SETS: &[&str] = &[
    "",
    "node_modules\ntarget\n",
    "**/*.md\n",
    "node_modules\n*/debug\n.dockerignore\nDockerfile\n",
    // With exceptions: some reach into excluded directories, some cannot.
    "vendor\n!vendor/keep\n",
    "vendor\n!vendor/keep/sub/also.go\nnode_modules\n",
    "logs\n!logs/keep.log\ntarget\n",
    "*\n!src\n",
    "**\n!**/*.rs\n",
    "docs\n!docs/api/*.md\nnode_modules\n!node_modules/left-pad/index.js\n",
    "a\n!a/b/c\na/b/c/d\n!*/b/c/d/e/f.txt\n",
    "target\n!README.md\n!src/main.rs\n",
    "src/lib\n!src/lib/deep\n",
    "node_modules/**\n!**/index.js\n",
];

#[test]
fn pruned_walk_matches_a_full_walk_filtered_by_the_matcher() {
    let t = project();
    let root = t.path();
    for text in PATTERN_SETS {
        let matcher = Matcher::from_ignore_file(text).unwrap();
        let expected = naive(root, &matcher);
        for rules in [
            IgnoreRules::parse(text).unwrap(),
            IgnoreRules::from(matcher.clone()),
        ] {
            let got = walk(root, &rules).unwrap();
            let paths: Vec<PathBuf> = got.iter().map(|e| e.path.clone()).collect();
            let set: BTreeSet<PathBuf> = paths.iter().cloned().collect();
            assert_eq!(set, expected, "patterns {text:?}");
            assert_eq!(set.len(), paths.len(), "no duplicates for {text:?}");
            let bytes: Vec<&[u8]> = got.iter().map(|e| e.path_bytes()).collect();
            let mut sorted = bytes.clone();
            sorted.sort();
            assert_eq!(bytes, sorted, "sorted by path bytes for {text:?}");
        }
    }
}

#[test]
fn walk_reports_kinds_and_metadata_without_following_links() {
    let t = project();
    let root = t.path();
    let entries = walk(root, &IgnoreRules::none()).unwrap();
    let find = |p: &str| entries.iter().find(|e| e.path == Path::new(p)).unwrap();
    let link = find("node_modules/root-link");
    assert_eq!(link.kind, EntryKind::Symlink);
    assert_eq!(link.link_target.as_deref(), Some(Path::new("/")));
    assert!(!entries
        .iter()
        .any(|e| e.path_bytes().starts_with(b"node_modules/root-link/")));
    let file = find("src/main.rs");
    let md = fs::symlink_metadata(root.join("src/main.rs")).unwrap();
    use std::os::unix::fs::MetadataExt;
    assert_eq!(file.kind, EntryKind::File);
    assert_eq!(file.size, "src/main.rs".len() as u64);
    assert_eq!(
        (file.ino, file.dev, file.mode),
        (md.ino(), md.dev(), md.mode())
    );
    assert_eq!((file.uid, file.gid), (md.uid(), md.gid()));
    assert_eq!(file.mtime_ns, md.mtime() * 1_000_000_000 + md.mtime_nsec());
    assert_eq!(find("empty/dir").kind, EntryKind::Dir);
    assert!(entries
        .iter()
        .any(|e| e.path.as_os_str().as_bytes() == b"src/\xffodd.rs"));
    assert_eq!(entries.len(), full_walk(root).len());
}

#[test]
fn walk_of_a_missing_or_non_directory_root_is_an_error() {
    let t = TempDir::new().unwrap();
    assert!(matches!(
        walk(&t.path().join("nope"), &IgnoreRules::none()),
        Err(ContextError::Io { .. })
    ));
    write(t.path(), "file", b"x");
    assert!(matches!(
        walk(&t.path().join("file"), &IgnoreRules::none()),
        Err(ContextError::NotADirectory(_))
    ));
}

#[test]
fn dockerfile_specific_ignore_file_wins() {
    let t = TempDir::new().unwrap();
    let ctx = t.path().join("ctx");
    write(&ctx, ".dockerignore", b"from-root\n");
    write(&ctx, "build/Dockerfile.dev", b"FROM scratch\n");
    write(&ctx, "build/Dockerfile.dev.dockerignore", b"from-dev\n");
    write(&ctx, "build/Dockerfile", b"FROM scratch\n");
    let ignored = |l: &kiln::context::LoadedIgnore, p: &str| l.rules.is_ignored(p).unwrap();

    let dev = load_ignore_rules(&ctx, Some(&ctx.join("build/Dockerfile.dev"))).unwrap();
    assert_eq!(
        dev.source.as_deref(),
        Some(ctx.join("build/Dockerfile.dev.dockerignore").as_path())
    );
    assert!(ignored(&dev, "from-dev") && !ignored(&dev, "from-root"));

    let plain = load_ignore_rules(&ctx, Some(&ctx.join("build/Dockerfile"))).unwrap();
    assert_eq!(
        plain.source.as_deref(),
        Some(ctx.join(".dockerignore").as_path())
    );
    assert!(ignored(&plain, "from-root") && !ignored(&plain, "from-dev"));

    let stdin = load_ignore_rules(&ctx, None).unwrap();
    assert!(ignored(&stdin, "from-root"));

    // A Dockerfile outside the context still brings its own ignore file.
    write(t.path(), "elsewhere/Containerfile", b"FROM scratch\n");
    write(
        t.path(),
        "elsewhere/Containerfile.dockerignore",
        b"outside\n",
    );
    let out = load_ignore_rules(&ctx, Some(&t.path().join("elsewhere/Containerfile"))).unwrap();
    assert!(ignored(&out, "outside") && !ignored(&out, "from-root"));

    fs::remove_file(ctx.join(".dockerignore")).unwrap();
    let none = load_ignore_rules(&ctx, Some(&ctx.join("build/Dockerfile"))).unwrap();
    assert!(none.source.is_none());
    assert!(!ignored(&none, "anything"));
}

#[test]
fn a_bad_pattern_names_the_file_and_line() {
    let t = TempDir::new().unwrap();
    for (text, line) in [
        ("# comment\nok\n!\nlater\n", 3),
        ("a\n\nb/[z-a]\n", 3),
        ("x\n!y[\n", 2),
        ("\u{feff}trailing\\\n", 1),
    ] {
        fs::write(t.path().join(".dockerignore"), text).unwrap();
        let err = load_ignore_rules(t.path(), None).unwrap_err();
        let msg = err.to_string();
        assert!(
            matches!(err, ContextError::BadIgnorePattern { line: l, .. } if l == line),
            "{text:?}: {msg}"
        );
        assert!(
            msg.contains(".dockerignore") && msg.contains(&format!(":{line}:")),
            "{msg}"
        );
    }
}

/// The walk gives path-byte order without sorting the whole list: a directory's own entry
/// sorts by its name, what is below it by its name and `/`, and `.` or `-` sort before `/`.
#[test]
fn walk_is_in_path_byte_order_where_names_sort_around_the_separator() {
    let t = TempDir::new().unwrap();
    let r = t.path();
    for rel in [
        "a/x.y", "a/x/deep", "a.txt", "a-b/c", "a0", "A", " space", "b", "a/x-1", "ab/c", "a!/d",
        "z/z/z/z",
    ] {
        write(r, rel, b"x");
    }
    fs::create_dir_all(r.join("a/empty")).unwrap();
    fs::write(r.join(OsStr::from_bytes(b"a/\xff")), b"odd").unwrap();
    symlink("x", r.join("a/x.link")).unwrap();
    // An ignored directory holding a re-included file comes back in its place too.
    write(r, "a/ign/keep", b"k");
    write(r, "a/ign/drop", b"d");
    let rules = IgnoreRules::parse("a/ign\n!a/ign/keep\n").unwrap();
    let got: Vec<Vec<u8>> = walk(r, &rules)
        .unwrap()
        .iter()
        .map(|e| e.path_bytes().to_vec())
        .collect();
    let mut want: Vec<Vec<u8>> = full_walk(r)
        .into_iter()
        .map(|(p, _)| p.as_os_str().as_bytes().to_vec())
        .filter(|p| p.as_slice() != b"a/ign/drop")
        .collect();
    want.sort();
    assert_eq!(got, want);
    assert!(got.iter().any(|p| p.as_slice() == b"a/ign"));
}
