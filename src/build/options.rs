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
}
