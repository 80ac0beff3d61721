//! What a build is asked to do.

use std::collections::BTreeMap;
use std::path::PathBuf;

#[derive(Debug, Clone, Default)]
pub struct BuildOptions {
    pub context: PathBuf,
    pub dockerfile: PathBuf,
    /// Full `repo:tag` names for the result.
    pub tags: Vec<String>,
    pub build_args: BTreeMap<String, String>,
    pub target: Option<String>,
    pub network: crate::exec::Network,
    /// SOURCE_DATE_EPOCH: history and config times, and a clamp on layer mtimes.
    pub source_date_epoch: Option<i64>,
    /// Run every step, ignoring the cache (results are still filed in it).
    pub no_cache: bool,
    /// Stages (by name or index) whose steps ignore the cache.
    pub no_cache_filter: Vec<String>,
    /// Pull base images even when the store has them.
    pub pull: bool,
    /// Say why the first cache miss of each stage missed.
    pub explain_cache: bool,
}
