//! `kiln images` / `kiln image ls`: docker's table of stored images, and the helpers the
//! other image commands share (opening the store, docker's human sizes and durations).

use crate::image::digest::Digest;
use crate::store::{names, Image, ImageEntry, Store};
use anyhow::{Context, Result};
use clap::Args;
use std::path::PathBuf;

#[derive(Args, Debug)]
pub struct ImagesArgs {
    /// Only images of this repository (and tag).
    pub reference: Option<String>,
    /// Only show image IDs.
    #[arg(short, long)]
    pub quiet: bool,
    /// Show digests.
    #[arg(long)]
    pub digests: bool,
    /// Don't truncate output.
    #[arg(long)]
    pub no_trunc: bool,
}

/// Opens the store at `--root` or the default place.
pub(crate) fn open_store(root: Option<PathBuf>) -> Result<Store> {
    let root = root.unwrap_or_else(Store::default_root);
    Store::open(&root).with_context(|| format!("opening the store at {}", root.display()))
}

/// Sum of the uncompressed layer sizes (docker's image size), falling back to the stored
/// blob size for a layer the table does not know.
pub(crate) fn image_size(store: &Store, img: &Image) -> u64 {
    img.config
        .rootfs
        .diff_ids
        .iter()
        .zip(&img.manifest.layers)
        .map(|(diff_id, l)| match store.layer(diff_id) {
            Ok(Some(rec)) => rec.size,
            _ => l.size,
        })
        .sum()
}

/// Go's `%.{precision}g`.
fn format_g(x: f64, precision: usize) -> String {
    if x == 0.0 {
        return "0".into();
    }
    let sci = format!("{:.*e}", precision.saturating_sub(1), x);
    let (mant, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let trim = |s: &str| -> String {
        if s.contains('.') {
            s.trim_end_matches('0').trim_end_matches('.').to_string()
        } else {
            s.to_string()
        }
    };
    if exp < -4 || exp >= precision as i32 {
        let sign = if exp < 0 { '-' } else { '+' };
        format!("{}e{}{:02}", trim(mant), sign, exp.abs())
    } else {
        let decimals = (precision as i32 - 1 - exp).max(0) as usize;
        trim(&format!("{:.*}", decimals, x))
    }
}

/// docker's (go-units) human size: SI units, `precision` significant digits.
pub(crate) fn human_size(bytes: u64, precision: usize) -> String {
    const UNITS: [&str; 9] = ["B", "kB", "MB", "GB", "TB", "PB", "EB", "ZB", "YB"];
    let mut size = bytes as f64;
    let mut i = 0;
    while size >= 1000.0 && i < UNITS.len() - 1 {
        size /= 1000.0;
        i += 1;
    }
    format!("{}{}", format_g(size, precision), UNITS[i])
}

/// docker's (go-units) human duration, as in "2 hours" (+ " ago" by the caller).
pub(crate) fn human_duration(d: chrono::Duration) -> String {
    let seconds = d.num_seconds();
    if seconds < 1 {
        return "Less than a second".into();
    }
    if seconds == 1 {
        return "1 second".into();
    }
    if seconds < 60 {
        return format!("{seconds} seconds");
    }
    let minutes = d.num_minutes();
    if minutes == 1 {
        return "About a minute".into();
    }
    if minutes < 60 {
        return format!("{minutes} minutes");
    }
    let hours = (d.num_seconds() + 1800) / 3600; // rounded, like Go's d.Round(time.Hour)
    if hours == 1 {
        return "About an hour".into();
    }
    if hours < 48 {
        return format!("{hours} hours");
    }
    if hours < 24 * 7 * 2 {
        return format!("{} days", hours / 24);
    }
    if hours < 24 * 30 * 2 {
        return format!("{} weeks", hours / 24 / 7);
    }
    if hours < 24 * 365 * 2 {
        return format!("{} months", hours / 24 / 30);
    }
    format!("{} years", d.num_hours() / 24 / 365)
}

pub(crate) fn parse_time(s: &str) -> Option<chrono::DateTime<chrono::Utc>> {
    chrono::DateTime::parse_from_rfc3339(s)
        .ok()
        .map(|t| t.with_timezone(&chrono::Utc))
}

/// Go's text/tabwriter as docker sets it up (min width 10, padding 3).
pub(crate) fn table(rows: &[Vec<String>]) -> String {
    let cols = rows.iter().map(Vec::len).max().unwrap_or(0);
    let mut widths = vec![0usize; cols];
    for r in rows {
        for (i, c) in r.iter().enumerate() {
            widths[i] = widths[i].max(c.chars().count());
        }
    }
    let mut out = String::new();
    for r in rows {
        for (i, c) in r.iter().enumerate() {
            out.push_str(c);
            if i + 1 < r.len() {
                let w = (widths[i] + 3).max(10);
                out.push_str(&" ".repeat(w - c.chars().count()));
            }
        }
        out.push('\n');
    }
    out
}

struct Row {
    repo: String,
    tag: String,
    digest: Digest,
    id: Digest,
    created: Option<chrono::DateTime<chrono::Utc>>,
    size: u64,
}

fn matches(filter: &Option<names::Name>, entry: &ImageEntry) -> bool {
    let Some(f) = filter else { return true };
    let Some(name) = &entry.name else {
        return false;
    };
    let (repo, tag) = names::split_tag(name);
    repo == f.repo && f.tag.as_deref().is_none_or(|t| t == tag)
}

pub fn run(root: Option<PathBuf>, args: ImagesArgs) -> Result<()> {
    let store = open_store(root)?;
    let filter = args
        .reference
        .as_deref()
        .map(names::parse)
        .transpose()
        .context("invalid reference")?;
    let mut rows = Vec::new();
    let mut seen_dangling = std::collections::BTreeSet::new();
    for e in store.entries()? {
        if !matches(&filter, &e) {
            continue;
        }
        if e.name.is_none() && !seen_dangling.insert(e.id.clone()) {
            continue;
        }
        let img = store
            .image(&e.manifest.digest)
            .with_context(|| format!("reading image {}", e.id))?;
        let (repo, tag) = match &e.name {
            Some(n) => {
                let (r, t) = names::split_tag(n);
                (names::familiar(r), t.to_string())
            }
            None => ("<none>".to_string(), "<none>".to_string()),
        };
        rows.push(Row {
            repo,
            tag,
            digest: e.manifest.digest.clone(),
            id: e.id.clone(),
            created: img.config.created.as_deref().and_then(parse_time),
            size: image_size(&store, &img),
        });
    }
    rows.sort_by(|a, b| {
        b.created
            .cmp(&a.created)
            .then_with(|| a.repo.cmp(&b.repo))
            .then_with(|| a.tag.cmp(&b.tag))
    });
    let show_id = |id: &Digest| {
        if args.no_trunc {
            id.to_string()
        } else {
            id.short().to_string()
        }
    };
    if args.quiet {
        let mut seen = std::collections::BTreeSet::new();
        let mut text = String::new();
        for r in &rows {
            if seen.insert(r.id.clone()) {
                text.push_str(&show_id(&r.id));
                text.push('\n');
            }
        }
        super::stdout::print(&text)?;
        return Ok(());
    }
    let now = chrono::Utc::now();
    let mut table_rows = vec![];
    let mut header = vec!["REPOSITORY".to_string(), "TAG".to_string()];
    if args.digests {
        header.push("DIGEST".into());
    }
    header.extend(["IMAGE ID", "CREATED", "SIZE"].map(String::from));
    table_rows.push(header);
    for r in &rows {
        let mut cells = vec![r.repo.clone(), r.tag.clone()];
        if args.digests {
            cells.push(r.digest.to_string());
        }
        cells.push(show_id(&r.id));
        cells.push(match r.created {
            Some(t) => format!("{} ago", human_duration(now - t)),
            None => "N/A".into(),
        });
        cells.push(human_size(r.size, 3));
        table_rows.push(cells);
    }
    super::stdout::print(&table(&table_rows))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_like_docker() {
        assert_eq!(human_size(0, 3), "0B");
        assert_eq!(human_size(999, 3), "999B");
        assert_eq!(human_size(4_261_550, 3), "4.26MB");
        assert_eq!(human_size(123_456_789, 3), "123MB");
        assert_eq!(human_size(1_500, 3), "1.5kB");
        assert_eq!(human_size(2_000_000, 4), "2MB");
        assert_eq!(human_size(77_800_000, 3), "77.8MB");
    }

    #[test]
    fn durations_like_docker() {
        let s = chrono::Duration::seconds;
        assert_eq!(human_duration(s(0)), "Less than a second");
        assert_eq!(human_duration(s(45)), "45 seconds");
        assert_eq!(human_duration(s(90)), "About a minute");
        assert_eq!(human_duration(s(2 * 3600 + 10)), "2 hours");
        assert_eq!(human_duration(s(3 * 86400)), "3 days");
        assert_eq!(human_duration(s(20 * 86400)), "2 weeks");
        assert_eq!(human_duration(s(800 * 86400)), "2 years");
    }

    #[test]
    fn table_pads_like_tabwriter() {
        let t = table(&[
            vec!["REPOSITORY".into(), "TAG".into(), "SIZE".into()],
            vec!["busybox".into(), "latest".into(), "4MB".into()],
        ]);
        assert_eq!(
            t,
            "REPOSITORY   TAG       SIZE\nbusybox      latest    4MB\n"
        );
    }
}
