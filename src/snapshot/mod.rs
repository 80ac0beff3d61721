//! Snapshots to layers: a step's overlay upper dir is its diff, written here as an OCI layer tar.

pub mod tar_writer;
pub mod upper;
