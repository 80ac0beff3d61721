//! Image data: digests, references as docker normalises them, and the OCI/Docker JSON types.

pub mod digest;
pub mod oci;
pub mod reference;
