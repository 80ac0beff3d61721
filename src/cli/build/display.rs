//! Which progress display a build gets: `--progress auto` is the live display on a
//! terminal and docker's classic log anywhere else (CI logs, pipes); `quiet` shows nothing.

use crate::progress::{plain::Plain, Progress, Silent};
use anyhow::Result;
use std::io::IsTerminal;

pub(super) fn for_build(mode: &str, quiet: bool, to_stderr: bool) -> Result<Box<dyn Progress>> {
    if quiet {
        return Ok(Box::new(Silent));
    }
    if to_stderr {
        return Ok(Box::new(Plain::new(std::io::stderr())));
    }
    let tty =
        std::io::stdout().is_terminal() && std::env::var("TERM").map_or(true, |t| t != "dumb");
    Ok(match mode {
        "tty" | "auto" if tty => Box::new(crate::progress::tty::Tty::new()),
        "tty" => anyhow::bail!("--progress tty needs a terminal (use plain)"),
        _ => Box::new(Plain::new(std::io::stdout())),
    })
}
