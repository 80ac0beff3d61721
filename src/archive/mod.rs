//! Image archives: docker-archive (`docker save`'s `manifest.json` format) and OCI layout
//! tars, written from and read into the store. Both directions stream: memory stays
//! bounded whatever the layer sizes.

pub mod load;
pub mod rootfs;
pub mod save;

pub use load::{load, Loaded};
pub use save::{save, save_oci_dir, Format, SaveItem};

/// The annotation containerd and docker use for an image's full name in an OCI layout
/// (`org.opencontainers.image.ref.name` holding only the tag).
pub const ANNOTATION_CONTAINERD_NAME: &str = "io.containerd.image.name";
