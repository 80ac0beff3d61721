//! kiln: a daemonless container image builder.
//!
//! The pipeline (see `docs/architecture.md`): Dockerfile text is parsed into a node tree
//! ([`dockerfile::parser`]), lowered into typed instructions ([`dockerfile::instructions`]),
//! planned into a step graph ([`plan`]), and built into images kept in a content-addressed
//! [`store`] that talks to registries through [`registry`].

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

/// mimalloc rather than the C library's allocator, for the binary and everything built on
/// this library (its tests and benchmarks run with what ships). Planning a long Dockerfile
/// makes tens of thousands of small, short-lived allocations: under glibc's malloc they were
/// a quarter of the front end's instructions, about 130 per allocation and as many per free
/// (callgrind, parse and plan of the 10,000-instruction benchmark file), and mimalloc's
/// fast path cut the whole front end's instruction count by 16%.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;
