//! The local content-addressed image store.
