//! Building images from a plan: for now the COPY/ADD engine the executor calls.

pub mod copy;
