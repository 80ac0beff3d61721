//! kiln: a daemonless container image builder.
//!
//! The pipeline (see `docs/architecture.md`): Dockerfile text is parsed into a node tree
//! ([`dockerfile::parser`]), lowered into typed instructions ([`dockerfile::instructions`]),
//! planned into a step graph ([`plan`]), and built into images kept in a content-addressed
//! [`store`] that talks to registries through [`registry`].

pub mod allocator;
pub mod archive;
pub mod build;
pub mod cache;
pub mod cli;
pub mod context;
pub mod dockerfile;
pub mod exec;
pub mod fsops;
pub mod image;
pub mod plan;
pub mod progress;
pub mod registry;
pub mod snapshot;
pub mod store;
