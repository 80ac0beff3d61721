//! Building images from a plan: the executor walks the stages in order, runs each step on top
//! of its parent's snapshots (RUN in the sandbox, COPY/ADD and WORKDIR in the filesystem
//! helper), turns each step's overlay upper dir into a layer and a snapshot, and evolves the
//! image config and history as BuildKit does.

pub mod copy;
pub mod executor;
pub mod fsop;
pub mod image_config;
mod inputs;
pub mod options;
pub mod platform;
pub mod secrets;
mod step_exec;

pub use executor::{build, BuildError};
pub use options::BuildOptions;
