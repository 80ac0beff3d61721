//! Helpers shared by integration tests. Each test binary uses only part of them.
#![allow(dead_code)]

pub mod big_image;
pub mod build_env;
pub mod registry;
