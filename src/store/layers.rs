//! The layer table: for each diff_id (digest of the uncompressed tar) its uncompressed size
//! and the blobs that hold it (the uncompressed tar and any compressed forms made later).
//! One small JSON file per layer under `layers/`, replaced atomically under the index lock,
//! so that the builder can find "do I have this layer, and in which form" without reading
//! manifests, and export can stream a layer uncompressed with its size known up front.

use super::error::{IoContext, Result, StoreError};
use crate::image::digest::Digest;
use serde::{Deserialize, Serialize};
use std::io::{self, BufRead, BufReader, Read};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LayerBlob {
    pub digest: Digest,
    #[serde(rename = "mediaType")]
    pub media_type: String,
    pub size: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LayerRecord {
    pub diff_id: Digest,
    /// Size of the uncompressed tar.
    pub size: u64,
    pub blobs: Vec<LayerBlob>,
}

impl LayerRecord {
    /// The uncompressed blob, if the store has one.
    pub fn uncompressed(&self) -> Option<&LayerBlob> {
        self.blobs.iter().find(|b| b.digest == self.diff_id)
    }
}

/// How a layer blob is compressed, read from its first bytes (media types lie more often
/// than magic numbers do).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    None,
    Gzip,
    Zstd,
}

impl Compression {
    pub fn sniff(head: &[u8]) -> Compression {
        if head.starts_with(&[0x1f, 0x8b]) {
            Compression::Gzip
        } else if head.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
            Compression::Zstd
        } else {
            Compression::None
        }
    }
}

/// Wraps `r` in the decompressor its first bytes call for.
pub fn decompress<'a, R: Read + 'a>(r: R) -> Result<Box<dyn Read + 'a>> {
    let mut br = BufReader::with_capacity(256 * 1024, r);
    let head = br
        .fill_buf()
        .ctx(|| "reading a layer".to_string())?
        .to_vec();
    Ok(match Compression::sniff(&head) {
        Compression::None => Box::new(br),
        Compression::Gzip => Box::new(flate2::bufread::MultiGzDecoder::new(br)),
        Compression::Zstd => Box::new(
            zstd::stream::read::Decoder::with_buffer(br)
                .map_err(|e| StoreError::corrupt("zstd layer", e))?,
        ),
    })
}

/// Reads `r` to the end through a decompressor, returning the diff_id and size.
pub fn diff_id_of(r: impl Read) -> Result<(Digest, u64)> {
    let d = decompress(r)?;
    Digest::of_reader(d).map_err(|e| match e.kind() {
        io::ErrorKind::InvalidData | io::ErrorKind::UnexpectedEof => {
            StoreError::corrupt("layer", e)
        }
        _ => StoreError::Io {
            context: "reading a layer".into(),
            source: e,
        },
    })
}
