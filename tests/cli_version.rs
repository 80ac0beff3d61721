//! `kiln version` and `kiln --version`.

use std::process::Command;

fn kiln(args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_kiln"))
        .args(args)
        .output()
        .unwrap();
    assert!(out.status.success());
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn version_reports_the_build() {
    let out = kiln(&["version"]);
    let field = |label: &str| -> String {
        out.lines()
            .find_map(|l| l.trim_start().strip_prefix(label))
            .unwrap_or_else(|| panic!("{label} missing from {out}"))
            .trim()
            .to_string()
    };
    assert_eq!(field("Version:"), env!("CARGO_PKG_VERSION"));
    let arch = match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        a => a,
    };
    assert_eq!(field("OS/Arch:"), format!("linux/{arch}"));
    assert!(field("Built with:").starts_with("rustc "), "{out}");
    let target = field("Rust target:");
    assert!(
        target.starts_with(std::env::consts::ARCH) && target.contains("linux"),
        "{target}"
    );
    // Built from this checkout: the commit is HEAD's (or a prefix of it) when git can tell.
    let commit = field("Git commit:");
    if let Ok(head) = Command::new("git")
        .args(["-C", env!("CARGO_MANIFEST_DIR"), "rev-parse", "HEAD"])
        .output()
    {
        if head.status.success() && std::env::var_os("KILN_GIT_COMMIT").is_none() {
            let head = String::from_utf8_lossy(&head.stdout).trim().to_string();
            assert!(head.starts_with(&commit), "{commit} is not HEAD {head}");
            assert_eq!(commit.len(), 12);
        }
    }
}

#[test]
fn dash_dash_version_still_works() {
    assert_eq!(
        kiln(&["--version"]).trim(),
        format!("kiln {}", env!("CARGO_PKG_VERSION"))
    );
}
