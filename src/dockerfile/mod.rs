//! The Dockerfile front end: text → node tree → typed instructions, with BuildKit's semantics.

pub mod error;
pub(crate) mod go_text;
pub mod instructions;
pub mod parser;
pub mod shell;
#[cfg(test)]
pub(crate) mod test_inputs;
