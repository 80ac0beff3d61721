//! Every command's `--help` ends with docker-style examples, and each example line names a
//! real kiln command.

use clap::CommandFactory;
use std::process::Command;

/// The paths of all visible commands below the root (`["image", "ls"]`, …).
fn command_paths(cmd: &clap::Command, prefix: &[String], out: &mut Vec<Vec<String>>) {
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        let mut path = prefix.to_vec();
        path.push(sub.get_name().to_string());
        out.push(path.clone());
        command_paths(sub, &path, out);
    }
}

#[test]
fn every_command_has_examples() {
    let mut paths = Vec::new();
    command_paths(&kiln::cli::Cli::command(), &[], &mut paths);
    assert!(paths.len() > 20, "{paths:?}");
    let top: Vec<String> = paths.iter().map(|p| p[0].clone()).collect();
    for p in &paths {
        let out = Command::new(env!("CARGO_BIN_EXE_kiln"))
            .args(p)
            .arg("--help")
            .output()
            .unwrap();
        assert!(out.status.success(), "kiln {p:?} --help failed");
        let help = String::from_utf8(out.stdout).unwrap();
        let (_, examples) = help
            .split_once("\nExamples:\n")
            .unwrap_or_else(|| panic!("no Examples: in `kiln {} --help`:\n{help}", p.join(" ")));
        let lines: Vec<&str> = examples.lines().filter(|l| !l.trim().is_empty()).collect();
        assert!(!lines.is_empty(), "empty examples for {p:?}");
        for l in lines {
            assert!(l.starts_with("  "), "example not indented in {p:?}: {l:?}");
            // Each example runs kiln (maybe inside a pipe or a substitution) with a real
            // command or a global flag.
            let at = l
                .find("kiln ")
                .unwrap_or_else(|| panic!("example for {p:?} does not run kiln: {l:?}"));
            let first = l[at..].split_whitespace().nth(1).unwrap();
            assert!(
                first.starts_with('-') || top.iter().any(|t| t == first),
                "example for {p:?} names no kiln command: {l:?}"
            );
        }
        // The examples of a command show that command.
        let shown = format!("kiln {}", p.join(" "));
        assert!(
            examples.contains(&shown),
            "examples of {p:?} never show `{shown}`:\n{examples}"
        );
    }
}
