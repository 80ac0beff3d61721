//! The build context: which files a build may see (`.dockerignore`), and later their walk and
//! content hashing.

pub mod dockerignore;
