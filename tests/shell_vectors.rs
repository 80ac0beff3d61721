//! BuildKit's shell-lexer vectors (`testdata/buildkit/shell/`), read with the same rules as
//! BuildKit's `TestShellParser4EnvVars` and `TestShellParser4Words`.

use std::path::PathBuf;

use kiln::dockerfile::shell::Lexer;

fn read_vectors(name: &str) -> String {
    let path: PathBuf = [env!("CARGO_MANIFEST_DIR"), "testdata/buildkit/shell", name]
        .iter()
        .collect();
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Lines as Go's `bufio.Scanner` yields them: split on `\n`, a trailing `\r` dropped, no
/// empty last line after a final newline.
fn lines(text: &str) -> impl Iterator<Item = (usize, &str)> {
    let text = text.strip_suffix('\n').unwrap_or(text);
    text.split('\n')
        .map(|l| l.strip_suffix('\r').unwrap_or(l))
        .enumerate()
        .map(|(i, l)| (i + 1, l))
}

#[test]
fn env_var_test_vectors() {
    let text = read_vectors("envVarTest");
    let lexer = Lexer::new('\\');
    let env = ["PWD=/home", "SHELL=bash", "KOREAN=한국어", "NULL="];
    let (mut checked, mut skipped_windows, mut errors_expected, mut empty_expected) = (0, 0, 0, 0);
    for (line_no, line) in lines(&text) {
        if line.starts_with('#') {
            continue;
        }
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let fields: Vec<&str> = line.split('|').collect();
        assert_eq!(fields.len(), 3, "line {line_no}: {line:?}");
        let (platform, input, expected) = (fields[0].trim(), fields[1].trim(), fields[2].trim());
        match platform {
            "A" | "U" => {}
            "W" => {
                skipped_windows += 1;
                continue;
            }
            other => panic!("line {line_no}: invalid platform tag {other:?}"),
        }
        let got = lexer.process_word(input, &env);
        if expected == "error" {
            errors_expected += 1;
            assert!(
                got.is_err(),
                "line {line_no}: {input:?} gave {got:?}, expected an error"
            );
        } else {
            empty_expected += usize::from(expected.is_empty());
            match got {
                Ok(value) => assert_eq!(value, expected, "line {line_no}: {input:?}"),
                Err(e) => panic!("line {line_no}: {input:?} failed: {e}"),
            }
        }
        checked += 1;
    }
    assert_eq!(checked, 228, "226 A lines and 2 U lines");
    assert_eq!(skipped_windows, 2);
    assert_eq!(errors_expected, 36);
    assert_eq!(empty_expected, 57);
}

#[test]
fn words_test_vectors() {
    let text = read_vectors("wordsTest");
    let lexer = Lexer::new('\\');
    let mut env: Vec<String> = Vec::new();
    let (mut checked, mut definitions) = (0, 0);
    for (line_no, line) in lines(&text) {
        if line.starts_with('#') {
            continue;
        }
        if let Some(definition) = line.strip_prefix("ENV ") {
            // "K=V" with the value kept exactly, trailing spaces included; the Env impl for
            // a list of assignments lets a later definition win.
            env.push(definition.trim_start_matches(' ').to_string());
            definitions += 1;
            continue;
        }
        let fields: Vec<&str> = line.split('|').collect();
        assert_eq!(
            fields.len(),
            2,
            "line {line_no}: need exactly one '|': {line:?}"
        );
        let input = fields[0].trim();
        let expected: Vec<&str> = fields[1].trim_start_matches(' ').split(',').collect();
        let got = lexer
            .process_words(input, &env)
            .unwrap_or_else(|_| vec!["error".to_string()]);
        assert_eq!(got, expected, "line {line_no}: {input:?}");
        checked += 1;
    }
    assert_eq!(checked, 24);
    assert_eq!(definitions, 4);
}
