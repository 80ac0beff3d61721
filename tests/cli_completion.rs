//! `kiln completion`: each shell's script is generated, parses in that shell, and knows the
//! commands and flags.

use std::io::Write;
use std::process::{Command, Stdio};

fn script(shell: &str) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_kiln"))
        .args(["completion", shell])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// Feeds `script` to `shell ARGS` (a syntax check); `None` when the shell is not installed.
fn check_syntax(shell: &str, args: &[&str], script: &str) -> Option<(bool, String)> {
    let mut child = match Command::new(shell)
        .args(args)
        .stdin(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
    {
        Ok(c) => c,
        Err(_) => {
            println!("note: {shell} is not installed; its syntax check is skipped");
            return None;
        }
    };
    child
        .stdin
        .take()
        .unwrap()
        .write_all(script.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    Some((
        out.status.success(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    ))
}

/// The script names subcommands and long flags; `flag` writes a flag as the shell's script
/// does (`--build-arg`, or fish's `-l build-arg`).
fn names_commands_and_flags(s: &str, flag: impl Fn(&str) -> String) {
    for word in ["build", "run", "push", "login", "completion"] {
        assert!(s.contains(word), "{word} missing from the script");
    }
    for f in ["build-arg", "entrypoint"] {
        assert!(s.contains(&flag(f)), "{} missing from the script", flag(f));
    }
    // kiln's own helper commands are not offered.
    assert!(!s.contains("__sandbox") && !s.contains("__copy"));
}

fn dashes(f: &str) -> String {
    format!("--{f}")
}

#[test]
fn bash() {
    let s = script("bash");
    names_commands_and_flags(&s, dashes);
    assert!(s.contains("complete -F"), "no complete registration");
    let (ok, err) = check_syntax("bash", &["-n"], &s).expect("bash is installed");
    assert!(ok, "bash -n rejected the script: {err}");
}

#[test]
fn zsh() {
    let s = script("zsh");
    names_commands_and_flags(&s, dashes);
    assert!(s.starts_with("#compdef kiln"), "{}", &s[..s.len().min(80)]);
    if let Some((ok, err)) = check_syntax("zsh", &["-n"], &s) {
        assert!(ok, "zsh -n rejected the script: {err}");
    }
}

#[test]
fn fish() {
    let s = script("fish");
    names_commands_and_flags(&s, |f| format!("-l {f}"));
    assert!(s.contains("complete -c kiln"));
    if let Some((ok, err)) = check_syntax("fish", &["--no-execute"], &s) {
        assert!(ok, "fish --no-execute rejected the script: {err}");
    }
}

#[test]
fn unknown_shell_is_a_usage_error() {
    let out = Command::new(env!("CARGO_BIN_EXE_kiln"))
        .args(["completion", "tcsh"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("possible values: bash, zsh, fish"));
}
