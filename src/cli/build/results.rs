//! What happens to a built image after the build: the `--output`s, `--push` of every tag,
//! and the `--metadata-file` that buildx writes.

use super::output::{write_output, Output};
use crate::image::reference::Reference;
use crate::store::{Image, Store};
use anyhow::{bail, Context, Result};
use std::path::PathBuf;

/// The post-build requests of one `kiln build`.
pub(super) struct Publish<'a> {
    pub outputs: &'a [Output],
    /// Full `repo:tag` names.
    pub tags: &'a [String],
    pub push: bool,
    pub insecure_registry: &'a [String],
    pub quiet: bool,
    pub metadata_file: Option<&'a PathBuf>,
}

impl Publish<'_> {
    fn pushes(&self) -> bool {
        self.push || self.outputs.iter().any(|o| matches!(o, Output::Registry))
    }

    /// Refuses, before building, what cannot be done afterwards: a push with no name.
    pub(super) fn check(&self) -> Result<()> {
        if self.pushes() && self.tags.is_empty() {
            bail!("tag is needed when pushing to registry");
        }
        Ok(())
    }

    pub(super) fn run(&self, store: &Store, image: &Image) -> Result<()> {
        for o in self.outputs {
            write_output(store, image, self.tags, o)?;
        }
        if self.pushes() {
            for t in self.tags {
                let reference = Reference::parse(t)?;
                let report = crate::cli::push::Report {
                    quiet: self.quiet,
                    on_stderr: self.outputs.iter().any(Output::uses_stdout),
                };
                crate::cli::push::push_image(
                    store,
                    &reference,
                    image,
                    self.insecure_registry,
                    report,
                )
                .with_context(|| format!("pushing {t}"))?;
            }
        }
        if let Some(path) = self.metadata_file {
            let json = metadata(image, self.tags);
            let bytes = serde_json::to_vec_pretty(&json).context("encoding the metadata")?;
            std::fs::write(path, bytes).with_context(|| format!("writing {}", path.display()))?;
        }
        Ok(())
    }
}

/// buildx's metadata of an image result: its manifest and config digests, its descriptor and
/// (when named) its comma-separated full names.
fn metadata(image: &Image, tags: &[String]) -> serde_json::Value {
    let mut m = serde_json::json!({
        "containerimage.config.digest": image.id.to_string(),
        "containerimage.digest": image.manifest_digest.to_string(),
        "containerimage.descriptor": {
            "mediaType": image.manifest_media_type,
            "digest": image.manifest_digest.to_string(),
            "size": image.manifest_bytes.len(),
        },
    });
    if !tags.is_empty() {
        m["image.name"] = tags.join(",").into();
    }
    m
}
