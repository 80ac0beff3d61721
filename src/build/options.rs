//! What a build is asked to do.

use super::secrets::SecretSource;
use crate::image::oci::ImageConfig;
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
    /// `--secret` values by id, read only by the steps that mount them.
    pub secrets: BTreeMap<String, SecretSource>,
    /// `--label`s: set on the final image over the Dockerfile's own.
    pub labels: BTreeMap<String, String>,
}

impl BuildOptions {
    /// Puts the `--label`s in the final image's config (no history entry, as buildx does).
    pub fn apply_labels(&self, config: &mut ImageConfig) {
        if self.labels.is_empty() {
            return;
        }
        let c = config.config.get_or_insert_with(Default::default);
        let labels = c.labels.get_or_insert_with(Default::default);
        for (k, v) in &self.labels {
            labels.insert(k.clone(), v.clone());
        }
    }
}
