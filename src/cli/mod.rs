//! The command line: argument parsing and dispatch. One module per command family; each
//! returns `anyhow::Result`, mapped here to docker's exit codes (0 ok, 1 failed, 2 usage),
//! except `kiln run`, whose exit code is the container's (or docker's 125/126/127).

mod build;
mod builder;
mod completion;
mod debug;
mod examples;
mod images;
mod inspect;
mod load;
mod login;
mod prune;
mod pull;
mod push;
mod rmi;
mod run;
mod save;
mod stdout;
mod tag;
mod transfer_progress;
mod version;

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
    #[command(subcommand, after_help = examples::DEBUG)]
    Debug(debug::DebugCommand),
    /// The inside of the RUN sandbox (started by kiln itself).
    #[command(name = "__sandbox", hide = true)]
    Sandbox { spec: PathBuf },
    /// The inside of a COPY/ADD/WORKDIR step (started by kiln itself).
    #[command(name = "__copy", hide = true)]
    CopyHelper { spec: PathBuf },
    /// Build an image from a Dockerfile.
    #[command(after_help = examples::BUILD)]
    Build(build::BuildArgs),
    /// List images.
    #[command(after_help = examples::IMAGES)]
    Images(images::ImagesArgs),
    /// Manage images.
    #[command(subcommand, after_help = examples::IMAGE)]
    Image(ImageCommand),
    /// Create a tag TARGET that refers to SOURCE.
    #[command(after_help = examples::TAG)]
    Tag(tag::TagArgs),
    /// Remove one or more images.
    #[command(after_help = examples::RMI)]
    Rmi(rmi::RmiArgs),
    /// Display detailed information on images.
    #[command(after_help = examples::INSPECT)]
    Inspect(inspect::InspectArgs),
    /// Save images to a tar archive (docker-archive or OCI layout).
    #[command(after_help = examples::SAVE)]
    Save(save::SaveArgs),
    /// Load images from a tar archive.
    #[command(after_help = examples::LOAD)]
    Load(load::LoadArgs),
    /// Download an image from a registry.
    #[command(after_help = examples::PULL)]
    Pull(pull::PullArgs),
    /// Upload an image to a registry.
    #[command(after_help = examples::PUSH)]
    Push(push::PushArgs),
    /// Log in to a registry.
    #[command(after_help = examples::LOGIN)]
    Login(login::LoginArgs),
    /// Log out from a registry.
    #[command(after_help = examples::LOGOUT)]
    Logout(login::LogoutArgs),
    /// Manage the build cache.
    #[command(subcommand, after_help = examples::BUILDER)]
    Builder(builder::BuilderCommand),
    /// Manage kiln's storage.
    #[command(subcommand, after_help = examples::SYSTEM)]
    System(builder::SystemCommand),
    /// Run a command in a new container from an image (containers are not kept).
    #[command(
        after_help = examples::RUN,
        override_usage = "kiln run [OPTIONS] IMAGE [COMMAND] [ARG...]"
    )]
    Run(run::RunArgs),
    /// Show the kiln version and what it was built from.
    #[command(after_help = examples::VERSION)]
    Version(version::VersionArgs),
    /// Write a shell completion script (bash, zsh or fish) to standard output.
    #[command(after_help = examples::COMPLETION)]
    Completion(completion::CompletionArgs),
}

/// `kiln image …`, docker's image management commands.
#[derive(Subcommand, Debug)]
pub enum ImageCommand {
    /// List images.
    #[command(visible_alias = "list", after_help = examples::IMAGE_LS)]
    Ls(images::ImagesArgs),
    /// Remove untagged images and unused data.
    #[command(after_help = examples::PRUNE)]
    Prune(prune::PruneArgs),
    /// Display detailed information on images.
    #[command(after_help = examples::IMAGE_INSPECT)]
    Inspect(inspect::InspectArgs),
    /// Remove one or more images.
    #[command(visible_alias = "remove", after_help = examples::IMAGE_RM)]
    Rm(rmi::RmiArgs),
    /// Create a tag TARGET that refers to SOURCE.
    #[command(after_help = examples::IMAGE_TAG)]
    Tag(tag::TagArgs),
    /// Save images to a tar archive.
    #[command(after_help = examples::IMAGE_SAVE)]
    Save(save::SaveArgs),
    /// Load images from a tar archive.
    #[command(after_help = examples::IMAGE_LOAD)]
    Load(load::LoadArgs),
    /// Download an image from a registry.
    #[command(after_help = examples::IMAGE_PULL)]
    Pull(pull::PullArgs),
    /// Upload an image to a registry.
    #[command(after_help = examples::IMAGE_PUSH)]
    Push(push::PushArgs),
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
    if let Command::Sandbox { spec } = &cli.command {
        return crate::exec::init::main(spec);
    }
    if let Command::CopyHelper { spec } = &cli.command {
        return crate::build::fsop::main(spec);
    }
    init_logging(cli.debug);
    let result = match cli.command {
        Command::Debug(cmd) => debug::run(cmd),
        Command::Sandbox { .. } | Command::CopyHelper { .. } => unreachable!("handled above"),
        Command::Build(a) => build::run(cli.root, a),
        Command::Images(a) | Command::Image(ImageCommand::Ls(a)) => images::run(cli.root, a),
        Command::Tag(a) | Command::Image(ImageCommand::Tag(a)) => tag::run(cli.root, a),
        Command::Rmi(a) | Command::Image(ImageCommand::Rm(a)) => rmi::run(cli.root, a),
        Command::Inspect(a) | Command::Image(ImageCommand::Inspect(a)) => inspect::run(cli.root, a),
        Command::Save(a) | Command::Image(ImageCommand::Save(a)) => save::run(cli.root, a),
        Command::Load(a) | Command::Image(ImageCommand::Load(a)) => load::run(cli.root, a),
        Command::Image(ImageCommand::Prune(a)) => prune::run(cli.root, a),
        Command::Pull(a) | Command::Image(ImageCommand::Pull(a)) => pull::run(cli.root, a),
        Command::Push(a) | Command::Image(ImageCommand::Push(a)) => push::run(cli.root, a),
        Command::Login(args) => login::login(args),
        Command::Logout(args) => login::logout(args),
        Command::Builder(c) => builder::run_builder(cli.root, c),
        Command::System(c) => builder::run_system(cli.root, c),
        Command::Run(a) => return run::run(cli.root, a),
        Command::Version(a) => version::run(a),
        Command::Completion(a) => completion::run(a),
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
