//! Helpers shared by integration tests. Each test binary uses only part of them.
#![allow(dead_code)]

pub mod big_image;
pub mod build_env;
#[path = "../common_store/mod.rs"]
pub mod common_store;
pub mod registry;
