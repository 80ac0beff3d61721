//! `--output` of `kiln build`: where the built image goes besides the store, with buildx's
//! syntax (`type=…,dest=…`, `-o DIR` for `type=local`, `-o -` for a rootfs tar on stdout).

use crate::archive::{self, Format, SaveItem};
use anyhow::{bail, Context, Result};
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};

/// A file destination: a path, or standard output (`dest=-`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Dest {
    Stdout,
    File(PathBuf),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Output {
    /// An image archive (docker-archive or OCI layout) in one tar.
    Archive { format: Format, dest: Dest },
    /// An OCI layout directory (`type=oci,tar=false`).
    OciDir(PathBuf),
    /// The root filesystem as files in a directory.
    Local(PathBuf),
    /// The root filesystem as one tar.
    RootfsTar(Dest),
    /// The image pushed under its tags (`type=registry`, or `type=image,push=true`).
    Registry,
    /// Only the store (`type=image` without push, as `docker build` does by default).
    Image,
}

impl Output {
    pub(super) fn uses_stdout(&self) -> bool {
        matches!(
            self,
            Output::Archive {
                dest: Dest::Stdout,
                ..
            } | Output::RootfsTar(Dest::Stdout)
        )
    }
}

pub(super) fn parse_output(s: &str) -> Result<Output> {
    if !s.contains('=') && !s.contains(',') {
        return Ok(if s == "-" {
            Output::RootfsTar(Dest::Stdout)
        } else {
            Output::Local(PathBuf::from(s))
        });
    }
    let mut kind = None;
    let mut dest = None;
    let mut tar = true;
    let mut push = false;
    for field in s.split(',') {
        let (k, v) = field.split_once('=').unwrap_or((field, "true"));
        match k {
            "type" => kind = Some(v.to_string()),
            "dest" => dest = Some(v.to_string()),
            "tar" => tar = parse_bool(k, v)?,
            "push" => push = parse_bool(k, v)?,
            // The image's names come from --tag; kiln does not rename on export.
            "name" => bail!("--output name= is not supported: use --tag"),
            _ => bail!("invalid --output field {field:?}"),
        }
    }
    let kind = kind.ok_or_else(|| anyhow::anyhow!("--output needs type=TYPE"))?;
    let need_dest = || {
        dest.clone()
            .filter(|d| !d.is_empty())
            .ok_or_else(|| anyhow::anyhow!("output type {kind} needs dest="))
    };
    let file = |d: String| {
        if d == "-" {
            Dest::Stdout
        } else {
            Dest::File(PathBuf::from(d))
        }
    };
    Ok(match kind.as_str() {
        "oci" | "docker" => {
            let format = if kind == "oci" {
                Format::Oci
            } else {
                Format::Docker
            };
            match (format, tar) {
                (Format::Oci, false) => {
                    let d = need_dest()?;
                    if d == "-" {
                        bail!("an OCI layout directory (tar=false) cannot go to standard output");
                    }
                    Output::OciDir(PathBuf::from(d))
                }
                (Format::Docker, false) => bail!("type=docker supports only tar=true"),
                _ => Output::Archive {
                    format,
                    dest: file(need_dest()?),
                },
            }
        }
        "local" => {
            let d = need_dest()?;
            if d == "-" {
                bail!("type=local needs a directory, not standard output (type=tar writes one)");
            }
            Output::Local(PathBuf::from(d))
        }
        "tar" => Output::RootfsTar(file(need_dest()?)),
        "registry" => Output::Registry,
        "image" if push => Output::Registry,
        "image" => Output::Image,
        k => {
            bail!("unsupported output type {k:?} (local, tar, oci, docker, image and registry are)")
        }
    })
}

fn parse_bool(key: &str, v: &str) -> Result<bool> {
    match v {
        "true" | "1" => Ok(true),
        "false" | "0" => Ok(false),
        _ => bail!("invalid --output value {key}={v:?} (true or false)"),
    }
}

/// Writes `image` as `o` asks (nothing for the registry and image types: the caller pushes).
pub(super) fn write_output(
    store: &crate::store::Store,
    image: &crate::store::Image,
    tags: &[String],
    o: &Output,
) -> Result<()> {
    let items = [SaveItem {
        manifest: image.manifest_digest.clone(),
        names: tags.to_vec(),
    }];
    match o {
        Output::Archive { format, dest } => write_file(dest, |w| {
            archive::save(store, &items, *format, w).map_err(Into::into)
        }),
        Output::RootfsTar(dest) => write_file(dest, |w| {
            archive::rootfs::write_tar(store, image, w).map_err(Into::into)
        }),
        Output::OciDir(dir) => archive::save_oci_dir(store, &items, dir)
            .with_context(|| format!("writing the OCI layout {}", dir.display())),
        Output::Local(dir) => archive::rootfs::export_dir(store, image, dir)
            .with_context(|| format!("writing the root filesystem to {}", dir.display())),
        Output::Registry | Output::Image => Ok(()),
    }
}

/// Runs `write` on standard output, or on a temporary file renamed to the destination once
/// complete (so that a failed export never leaves a truncated file under that name).
fn write_file(dest: &Dest, write: impl FnOnce(&mut dyn Write) -> Result<()>) -> Result<()> {
    let path = match dest {
        Dest::Stdout => {
            let stdout = std::io::stdout();
            if stdout.is_terminal() {
                bail!("refusing to write an archive to the terminal: redirect standard output or use dest=FILE");
            }
            let mut w = std::io::BufWriter::with_capacity(1 << 20, stdout.lock());
            write(&mut w)?;
            return w.flush().context("writing to standard output");
        }
        Dest::File(p) => p,
    };
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => Path::new(".").to_path_buf(),
    };
    let tmp = tempfile::Builder::new()
        .prefix(".kiln-build-")
        .tempfile_in(&dir)
        .with_context(|| format!("creating a file in {}", dir.display()))?;
    {
        let mut w = std::io::BufWriter::with_capacity(1 << 20, tmp.as_file());
        write(&mut w)?;
        w.flush().context("writing the output")?;
    }
    tmp.as_file().sync_all().context("syncing the output")?;
    tmp.persist(path)
        .map_err(|e| e.error)
        .with_context(|| format!("writing {}", path.display()))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buildx_forms() {
        let p = |s: &str| parse_output(s).unwrap();
        assert_eq!(p("out"), Output::Local("out".into()));
        assert_eq!(p("-"), Output::RootfsTar(Dest::Stdout));
        assert_eq!(p("type=local,dest=d"), Output::Local("d".into()));
        assert_eq!(p("type=tar,dest=-"), Output::RootfsTar(Dest::Stdout));
        assert_eq!(
            p("type=tar,dest=f"),
            Output::RootfsTar(Dest::File("f".into()))
        );
        assert_eq!(p("type=oci,dest=d,tar=false"), Output::OciDir("d".into()));
        assert_eq!(
            p("type=docker,dest=-"),
            Output::Archive {
                format: Format::Docker,
                dest: Dest::Stdout
            }
        );
        assert_eq!(p("type=registry"), Output::Registry);
        assert_eq!(p("type=image,push=true"), Output::Registry);
        assert_eq!(p("type=image"), Output::Image);
        assert!(p("type=oci,dest=-").uses_stdout());
        for bad in [
            "type=oci",
            "type=local,dest=-",
            "type=oci,dest=-,tar=false",
            "type=docker,dest=x,tar=false",
            "type=zip,dest=x",
            "dest=x",
            "type=tar,dest=x,bogus=1",
            "type=oci,dest=x,tar=maybe",
        ] {
            assert!(parse_output(bad).is_err(), "{bad} accepted");
        }
    }
}
