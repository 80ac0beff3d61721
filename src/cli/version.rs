//! `kiln version`: what this kiln is and what it was built from, for bug reports.

use anyhow::Result;
use clap::Args;

#[derive(Args, Debug)]
pub struct VersionArgs {}

/// The facts, one `(label, value)` per line.
pub fn facts() -> Vec<(&'static str, String)> {
    vec![
        ("Version", env!("CARGO_PKG_VERSION").to_string()),
        (
            "Git commit",
            option_env!("KILN_GIT_COMMIT")
                .unwrap_or("unknown")
                .to_string(),
        ),
        (
            "Built with",
            option_env!("KILN_RUSTC").unwrap_or("unknown").to_string(),
        ),
        (
            "Rust target",
            option_env!("KILN_TARGET").unwrap_or("unknown").to_string(),
        ),
        (
            "OS/Arch",
            format!(
                "{}/{}",
                std::env::consts::OS,
                go_arch(std::env::consts::ARCH)
            ),
        ),
    ]
}

/// The architecture as image platforms name it (docker's OS/Arch line uses these names).
fn go_arch(arch: &str) -> &str {
    match arch {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        "x86" => "386",
        "loongarch64" => "loong64",
        other => other,
    }
}

pub fn run(_args: VersionArgs) -> Result<()> {
    println!("Client: kiln");
    for (label, value) in facts() {
        println!(" {:<13}{value}", format!("{label}:"));
    }
    Ok(())
}
