//! Garbage collection (`image prune`): untagged images, then every blob, layer record and
//! snapshot that neither an index entry nor a build-cache entry reaches, then the junk that dead processes left in `tmp/`.
//! Runs under the exclusive `gc.lock`, so no import is half-way while it looks.

use super::error::{IoContext, Result};
use super::images::{parse_manifest, ANNOTATION_IMAGE_ID};
use super::{atomic, lock, LayerRecord, Store};
use crate::image::digest::Digest;
use crate::image::oci::{ImageConfig, ANNOTATION_REF_NAME};
use std::collections::BTreeSet;
use std::fs;
use std::path::Path;

#[derive(Debug, Default, Clone)]
pub struct PruneReport {
    /// IDs of untagged images removed.
    pub deleted_images: Vec<Digest>,
    pub reclaimed: u64,
}

impl Store {
    /// Removes untagged images (if `dangling`) and all unreferenced data; waits for running
    /// imports to finish first.
    pub fn prune(&self, dangling: bool) -> Result<PruneReport> {
        let guard = lock::exclusive(&self.root().join("gc.lock"))?;
        let r = self.collect(dangling);
        drop(guard);
        r
    }

    /// Collects unreferenced data if no import is running right now; `None` if one is.
    pub fn try_collect(&self) -> Result<Option<PruneReport>> {
        match lock::try_exclusive(&self.root().join("gc.lock"))? {
            Some(_g) => self.collect(false).map(Some),
            None => Ok(None),
        }
    }

    fn collect(&self, dangling: bool) -> Result<PruneReport> {
        let mut report = PruneReport::default();
        if dangling {
            report.deleted_images = self.update_index(|index| {
                let mut gone = BTreeSet::new();
                index.manifests.retain(|e| {
                    if e.annotations.contains_key(ANNOTATION_REF_NAME) {
                        return true;
                    }
                    if let Some(id) = e
                        .annotations
                        .get(ANNOTATION_IMAGE_ID)
                        .and_then(|s| s.parse::<Digest>().ok())
                    {
                        gone.insert(id);
                    }
                    false
                });
                Ok(gone.into_iter().collect())
            })?;
        }
        let _g = self.lock_index()?;
        let index = self.read_index()?;
        let mut blobs = BTreeSet::new();
        let mut diff_ids = BTreeSet::new();
        for e in &index.manifests {
            blobs.insert(e.digest.hex().to_string());
            let Ok(m) = self.read_blob(&e.digest).and_then(|b| parse_manifest(&b)) else {
                continue;
            };
            blobs.insert(m.config.digest.hex().to_string());
            for l in &m.layers {
                blobs.insert(l.digest.hex().to_string());
            }
            if let Ok(c) = self.read_blob(&m.config.digest) {
                if let Ok(c) = serde_json::from_slice::<ImageConfig>(&c) {
                    diff_ids.extend(c.rootfs.diff_ids.iter().map(|d| d.hex().to_string()));
                }
            }
        }
        // Layers that build-cache entries hold (see `kiln builder prune`).
        let (cache_blobs, cache_diff_ids) = crate::cache::Cache::roots(self);
        blobs.extend(cache_blobs.iter().map(|d| d.hex().to_string()));
        diff_ids.extend(cache_diff_ids.iter().map(|d| d.hex().to_string()));
        for name in list(&self.blobs_dir())? {
            if !blobs.contains(&name) {
                report.reclaimed += remove_all(&self.blobs_dir().join(&name))?;
            }
        }
        for name in list(&self.layers_dir())? {
            let path = self.layers_dir().join(&name);
            let hex = name.strip_suffix(".json").unwrap_or(&name);
            if !diff_ids.contains(hex) {
                report.reclaimed += remove_all(&path)?;
                continue;
            }
            // Drop the record's blobs that are gone.
            let Ok(mut rec) = fs::read(&path)
                .ok()
                .and_then(|b| serde_json::from_slice::<LayerRecord>(&b).ok())
                .ok_or(())
            else {
                continue;
            };
            let before = rec.blobs.len();
            rec.blobs.retain(|b| self.has_blob(&b.digest));
            if rec.blobs.len() != before {
                let json = serde_json::to_vec_pretty(&rec).expect("layer record serialises");
                atomic::write_file(&self.tmp_dir(), &path, &json)?;
            }
        }
        for name in list(&self.snapshots_dir())? {
            if !diff_ids.contains(&name) {
                report.reclaimed += remove_all(&self.snapshots_dir().join(&name))?;
            }
        }
        for name in list(&self.tmp_dir())? {
            report.reclaimed += remove_all(&self.tmp_dir().join(&name))?;
        }
        Ok(report)
    }
}

fn list(dir: &Path) -> Result<Vec<String>> {
    let mut out = Vec::new();
    for e in fs::read_dir(dir).ctx(|| format!("listing {}", dir.display()))? {
        let e = e.ctx(|| format!("listing {}", dir.display()))?;
        out.push(e.file_name().to_string_lossy().into_owned());
    }
    Ok(out)
}

/// Removes a file or tree, returning the bytes it held.
fn remove_all(path: &Path) -> Result<u64> {
    let meta = match fs::symlink_metadata(path) {
        Ok(m) => m,
        Err(_) => return Ok(0),
    };
    if meta.is_dir() {
        let size: u64 = walkdir::WalkDir::new(path)
            .into_iter()
            .flatten()
            .filter_map(|e| e.metadata().ok())
            .filter(|m| m.is_file())
            .map(|m| m.len())
            .sum();
        fs::remove_dir_all(path).ctx(|| format!("removing {}", path.display()))?;
        Ok(size)
    } else {
        fs::remove_file(path).ctx(|| format!("removing {}", path.display()))?;
        Ok(meta.len())
    }
}
