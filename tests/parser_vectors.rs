//! BuildKit's own parser vectors (testdata/buildkit, copied from BuildKit with credit):
//! every `testfiles` case must dump exactly to its `result`, every `testfiles-negative` case
//! must fail, and the line-number vector must give BuildKit's start and end lines.

use kiln::dockerfile::parser::{dump, parse};
use std::fs;
use std::path::{Path, PathBuf};

fn vectors() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/buildkit")
}

/// The case directories under `dir`, found by listing.
fn cases(dir: &str) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = fs::read_dir(vectors().join(dir))
        .unwrap_or_else(|e| panic!("listing {dir}: {e}"))
        .map(|e| e.expect("directory entry").path())
        .filter(|p| p.is_dir())
        .collect();
    out.sort();
    out
}

fn name(case: &Path) -> String {
    case.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

#[test]
fn every_positive_case_dumps_to_its_result() {
    let cases = cases("testfiles");
    assert!(
        cases.len() >= 25,
        "expected BuildKit's 25 cases, found {}",
        cases.len()
    );
    let mut failures = Vec::new();
    for case in &cases {
        let input = fs::read(case.join("Dockerfile")).expect("reading Dockerfile");
        let expected = fs::read(case.join("result")).expect("reading result");
        match parse(&input) {
            Ok(parsed) => {
                let got = dump(&parsed.ast) + "\n";
                if got.as_bytes() != expected.as_slice() {
                    failures.push(format!(
                        "case {}:\n--- expected\n{}--- got\n{}",
                        name(case),
                        String::from_utf8_lossy(&expected),
                        got
                    ));
                }
            }
            Err(e) => failures.push(format!("case {}: parse failed: {e}", name(case))),
        };
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn every_negative_case_fails() {
    let cases = cases("testfiles-negative");
    assert!(
        cases.len() >= 3,
        "expected BuildKit's 3 negative cases, found {}",
        cases.len()
    );
    for case in &cases {
        let input = fs::read(case.join("Dockerfile")).expect("reading Dockerfile");
        if let Ok(parsed) = parse(&input) {
            panic!(
                "case {} parsed but must fail; dump:\n{}",
                name(case),
                dump(&parsed.ast)
            );
        };
    }
}

#[test]
fn negative_cases_fail_for_the_right_reason() {
    let expect = [
        ("empty_dockerfile", "file with no instructions"),
        ("env_no_value", "ENV must have two arguments"),
        (
            "shykes-nested-json",
            "when using JSON array syntax, arrays must be comprised of strings only",
        ),
    ];
    for (case, message) in expect {
        let input = fs::read(
            vectors()
                .join("testfiles-negative")
                .join(case)
                .join("Dockerfile"),
        )
        .expect("reading Dockerfile");
        let err = parse(&input).expect_err(case);
        assert_eq!(err.message, message, "case {case}");
    }
}

#[test]
fn line_numbers_match_buildkit() {
    let input = fs::read(vectors().join("testfile-line/Dockerfile")).expect("reading Dockerfile");
    let ast = parse(&input).expect("testfile-line parses").ast;
    assert_eq!((ast.start_line, ast.end_line), (5, 31), "root lines");
    assert_eq!(ast.children.len(), 3, "root children");
    let lines: Vec<(usize, usize)> = ast
        .children
        .iter()
        .map(|c| (c.start_line(), c.end_line()))
        .collect();
    assert_eq!(lines, vec![(5, 5), (11, 12), (17, 31)], "child lines");
}
