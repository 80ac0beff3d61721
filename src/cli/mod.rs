//! The command line: argument parsing and dispatch. One module per command family; each
//! returns `anyhow::Result`, mapped here to docker's exit codes (0 ok, 1 failed, 2 usage).

mod debug;
mod login;

use clap::{Parser, Subcommand};
use std::path::PathBuf;

#[derive(Parser, Debug)]
#[command(name = "kiln", version, about = "A daemonless container image builder", long_about = None)]
pub struct Cli {
    /// Store root (default /var/lib/kiln as root, ~/.local/share/kiln otherwise).
    #[arg(long, global = true, env = "KILN_ROOT")]
    pub root: Option<PathBuf>,
    /// Debug logging.
    #[arg(short = 'D', long, global = true)]
    pub debug: bool,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Tools for looking inside the front end.
    #[command(subcommand)]
    Debug(debug::DebugCommand),
    /// Log in to a registry.
    Login(login::LoginArgs),
    /// Log out from a registry.
    Logout(login::LogoutArgs),
}

/// Runs kiln with the process arguments and returns the exit code.
pub fn main() -> i32 {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let _ = e.print();
            return match e.kind() {
                clap::error::ErrorKind::DisplayHelp | clap::error::ErrorKind::DisplayVersion => 0,
                _ => 2,
            };
        }
    };
    init_logging(cli.debug);
    let result = match cli.command {
        Command::Debug(cmd) => debug::run(cmd),
        Command::Login(args) => login::login(args),
        Command::Logout(args) => login::logout(args),
    };
    match result {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("error: {e:#}");
            1
        }
    }
}

fn init_logging(debug: bool) {
    let filter = if debug { "kiln=debug" } else { "kiln=warn" };
    let _ = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("KILN_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(filter)),
        )
        .with_writer(std::io::stderr)
        .try_init();
}
