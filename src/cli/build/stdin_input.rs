//! Where `kiln build` finds its context and Dockerfile, including docker's two standard-input
//! forms: `-f -` (the Dockerfile on stdin, the context a directory) and a context of `-` (a
//! tar of the context on stdin, gzip-compressed or not, or else a lone Dockerfile with an
//! empty context). Whatever comes from stdin is kept under the store's tmp dir for the build
//! and removed afterwards.

use crate::store::Store;
use anyhow::{bail, Context, Result};
use std::io::Read;
use std::path::{Path, PathBuf};

/// The context dir and Dockerfile of a build; `_tmp` holds what came from stdin.
pub(super) struct BuildInput {
    pub context: PathBuf,
    pub dockerfile: PathBuf,
    _tmp: Option<tempfile::TempDir>,
}

/// Resolves `context` and `-f file` as docker does, reading standard input when either is `-`.
pub(super) fn build_input(
    store: &Store,
    context: &Path,
    file: Option<&Path>,
) -> Result<BuildInput> {
    let file_is_stdin = file.is_some_and(|f| f.as_os_str() == "-");
    if context.as_os_str() == "-" {
        if file_is_stdin {
            bail!("invalid argument: can't use stdin for both build context and dockerfile");
        }
        return context_from_stdin(store, file, std::io::stdin().lock());
    }
    let context = std::fs::canonicalize(context)
        .with_context(|| format!("unable to prepare context: path {context:?} not found"))?;
    if !context.is_dir() {
        bail!(
            "unable to prepare context: {} is not a directory",
            context.display()
        );
    }
    if file_is_stdin {
        let tmp = temp_dir(store)?;
        let dockerfile = tmp.path().join("Dockerfile");
        let mut text = Vec::new();
        std::io::stdin()
            .lock()
            .read_to_end(&mut text)
            .context("reading the Dockerfile from standard input")?;
        std::fs::write(&dockerfile, text)
            .with_context(|| format!("writing {}", dockerfile.display()))?;
        return Ok(BuildInput {
            context,
            dockerfile,
            _tmp: Some(tmp),
        });
    }
    let dockerfile = match file {
        Some(f) => std::path::absolute(f)?,
        None => context.join("Dockerfile"),
    };
    Ok(BuildInput {
        context,
        dockerfile,
        _tmp: None,
    })
}

fn temp_dir(store: &Store) -> Result<tempfile::TempDir> {
    let dir = store.tmp_dir();
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    tempfile::Builder::new()
        .prefix("stdin-")
        .tempdir_in(&dir)
        .with_context(|| format!("creating a directory in {}", dir.display()))
}

/// A context read from `input`: a tar (plain or gzip) unpacked into a temporary dir, where
/// `file` names the Dockerfile; anything else is the Dockerfile itself, with an empty context.
fn context_from_stdin(store: &Store, file: Option<&Path>, input: impl Read) -> Result<BuildInput> {
    let tmp = temp_dir(store)?;
    let context = tmp.path().join("context");
    std::fs::create_dir(&context).with_context(|| format!("creating {}", context.display()))?;
    let (head, input) = peek(input, 2)?;
    let gzip = head.starts_with(&[0x1f, 0x8b]);
    let input: Box<dyn Read> = if gzip {
        Box::new(flate2::read::MultiGzDecoder::new(input))
    } else {
        input
    };
    let (head, mut reader) = peek(input, 512)?;
    if gzip || is_tar_header(&head) {
        crate::store::unpack::unpack_files(reader, &context)
            .context("unpacking the build context from standard input")?;
        let name = file.unwrap_or(Path::new("Dockerfile"));
        let rel = crate::build::image_config::resolve_workdir("/", &name.to_string_lossy());
        let dockerfile = context.join(rel.trim_start_matches('/'));
        return Ok(BuildInput {
            context,
            dockerfile,
            _tmp: Some(tmp),
        });
    }
    let dockerfile = tmp.path().join("Dockerfile");
    let mut text = Vec::new();
    reader
        .read_to_end(&mut text)
        .context("reading the Dockerfile from standard input")?;
    std::fs::write(&dockerfile, text)
        .with_context(|| format!("writing {}", dockerfile.display()))?;
    Ok(BuildInput {
        context,
        dockerfile,
        _tmp: Some(tmp),
    })
}

/// The first `n` bytes of `r` (fewer at end of input), and a reader of all of it.
fn peek<'a>(mut r: impl Read + 'a, n: usize) -> Result<(Vec<u8>, Box<dyn Read + 'a>)> {
    let mut head = Vec::with_capacity(n);
    (&mut r)
        .take(n as u64)
        .read_to_end(&mut head)
        .context("reading standard input")?;
    let again = std::io::Cursor::new(head.clone());
    Ok((head, Box::new(again.chain(r))))
}

/// Whether `block` starts with a tar header whose checksum is right (ustar, GNU or v7).
fn is_tar_header(block: &[u8]) -> bool {
    if block.len() < 512 {
        return false;
    }
    let field = &block[148..156];
    let text: String = field
        .iter()
        .take_while(|&&b| b != 0 && b != b' ')
        .map(|&b| b as char)
        .collect();
    let Ok(want) = u32::from_str_radix(text.trim(), 8) else {
        return false;
    };
    let sum: u32 = block[..512]
        .iter()
        .enumerate()
        .map(|(i, &b)| {
            if (148..156).contains(&i) {
                32
            } else {
                u32::from(b)
            }
        })
        .sum();
    sum == want
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tar_or_dockerfile() {
        let mut b = tar::Builder::new(Vec::new());
        let mut h = tar::Header::new_ustar();
        h.set_size(2);
        h.set_mode(0o644);
        b.append_data(&mut h, "Dockerfile", &b"x\n"[..]).unwrap();
        let tar = b.into_inner().unwrap();
        assert!(is_tar_header(&tar[..512]));
        let mut text = b"FROM scratch\n".repeat(64);
        assert!(!is_tar_header(&text[..512]));
        // A text whose checksum field happens to parse is still not a tar.
        text[148..156].copy_from_slice(b"0000000\0");
        assert!(!is_tar_header(&text[..512]));
        assert!(!is_tar_header(b"short"));

        let (head, mut all) = peek(&b"abcdef"[..], 2).unwrap();
        assert_eq!(head, b"ab");
        let mut v = Vec::new();
        all.read_to_end(&mut v).unwrap();
        assert_eq!(v, b"abcdef");
    }
}
