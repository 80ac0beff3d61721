//! The per-layer display of `kiln pull` and `kiln push`.
//!
//! On a terminal each layer gets one line that changes in place, as docker draws it
//! (`<id>: Downloading [=====>    ]  12.35MB/45.6MB  3.2MB/s`, then `Pull complete`); anywhere
//! else the commands print docker's plain lines, one per state change, so that logs and scripts
//! that read them see exactly the text they always did. Byte counts appear only on a terminal:
//! a line per 256 KiB read would flood a log.

use super::images::human_size;
use super::pull::Lines;
use crate::image::digest::Digest;
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressFinish, ProgressStyle};
use std::collections::HashMap;
use std::io::{self, IsTerminal, Write};
use std::sync::{Mutex, MutexGuard};

/// How a layer's line looks; bars switch between these as events arrive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Look {
    /// `<id>: <state>`.
    Status,
    /// `<id>: <state>` for a transient failure (yellow).
    Warning,
    /// `<id>: <state>` for a layer that needs nothing more (green).
    Done,
    /// `<id>: <verb> [====>  ]  <done>/<total>  <speed>`.
    Bytes,
}

/// Shows the layers of one transfer. Every method may be called from any transfer thread.
pub(crate) struct TransferProgress {
    kind: Kind,
}

enum Kind {
    Plain(Lines),
    Bars(Box<Bars>),
}

struct Bars {
    multi: MultiProgress,
    rows: Mutex<Rows>,
    styles: Styles,
}

#[derive(Default)]
struct Rows {
    by_digest: HashMap<Digest, Row>,
    /// Bars are kept until the end so that their last state stays on screen.
    order: Vec<ProgressBar>,
    /// After [`TransferProgress::finish`] lines go straight to stdout, below the bars.
    finished: bool,
}

struct Row {
    bar: ProgressBar,
    /// `None` until the first state arrives.
    look: Option<Look>,
}

struct Styles {
    status: ProgressStyle,
    warning: ProgressStyle,
    done: ProgressStyle,
    bytes: ProgressStyle,
}

impl TransferProgress {
    /// Bars when stdout is a terminal that can move its cursor and `quiet` is off; plain
    /// lines (or nothing, with `quiet`) otherwise.
    pub(crate) fn new(quiet: bool) -> TransferProgress {
        let dumb = std::env::var("TERM").is_ok_and(|t| t == "dumb");
        if quiet || dumb || !io::stdout().is_terminal() {
            return TransferProgress::plain(quiet);
        }
        let colour = std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
        // As docker: the bar only where the whole line fits.
        let with_bar = crate::progress::terminal_columns().is_none_or(|c| c >= MIN_COLUMNS_FOR_BAR);
        match Styles::new(colour, with_bar) {
            Some(styles) => TransferProgress {
                kind: Kind::Bars(Box::new(Bars {
                    multi: MultiProgress::with_draw_target(ProgressDrawTarget::stdout()),
                    rows: Mutex::new(Rows::default()),
                    styles,
                })),
            },
            None => TransferProgress::plain(quiet),
        }
    }

    /// Docker's plain lines, whatever stdout is.
    pub(crate) fn plain(quiet: bool) -> TransferProgress {
        TransferProgress {
            kind: Kind::Plain(Lines::new(quiet)),
        }
    }

    /// Docker's plain lines on stderr, for when stdout carries data.
    pub(crate) fn plain_on_stderr(quiet: bool) -> TransferProgress {
        TransferProgress {
            kind: Kind::Plain(Lines::on_stderr(quiet)),
        }
    }

    /// A line that belongs to no layer (`Pulling from …`, `Digest: …`).
    pub(crate) fn line(&self, text: &str) {
        match &self.kind {
            Kind::Plain(lines) => lines.say(text),
            Kind::Bars(bars) => {
                let rows = bars.lock();
                if rows.finished || rows.order.is_empty() || bars.multi.println(text).is_err() {
                    let mut out = io::stdout().lock();
                    let _ = writeln!(out, "{text}");
                    let _ = out.flush();
                }
            }
        }
    }

    /// The layer's state; the first call for a layer places its line below the others.
    pub(crate) fn status(&self, digest: &Digest, text: &str) {
        self.set(digest, Look::Status, text);
    }

    /// A transient failure of the layer's transfer.
    pub(crate) fn warning(&self, digest: &Digest, text: &str) {
        self.set(digest, Look::Warning, text);
    }

    /// The layer's last state.
    pub(crate) fn done(&self, digest: &Digest, text: &str) {
        self.set(digest, Look::Done, text);
    }

    /// Bytes moved so far; shown only as a bar (`verb` is `Downloading` or `Pushing`).
    pub(crate) fn bytes(&self, digest: &Digest, verb: &str, done: u64, total: u64) {
        let Kind::Bars(bars) = &self.kind else {
            return;
        };
        let mut rows = bars.lock();
        if rows.finished {
            return;
        }
        let row = rows.row(&bars.multi, digest);
        if row.look != Some(Look::Bytes) {
            row.look = Some(Look::Bytes);
            row.bar.set_style(bars.styles.bytes.clone());
            row.bar.set_message(verb.to_string());
        }
        row.bar.set_length(total);
        row.bar.set_position(done.min(total));
    }

    /// Stops drawing: bars stay on screen as they are, later lines go below them.
    pub(crate) fn finish(&self) {
        let Kind::Bars(bars) = &self.kind else {
            return;
        };
        let mut rows = bars.lock();
        if rows.finished {
            return;
        }
        rows.finished = true;
        for bar in &rows.order {
            if !bar.is_finished() {
                bar.abandon();
            }
        }
        if !rows.order.is_empty() {
            // The last bar line is padded to the terminal's width and the cursor left at its
            // end, so that what follows wraps onto the next line; the terminal would then take
            // the two for one wrapped line (joined on copy, reflowed on resize). Ending the
            // line here keeps them apart.
            let mut out = io::stdout().lock();
            let _ = out.write_all(b"\r\n");
            let _ = out.flush();
        }
    }

    fn set(&self, digest: &Digest, look: Look, text: &str) {
        match &self.kind {
            Kind::Plain(lines) => lines.say(&format!("{}: {text}", digest.short())),
            Kind::Bars(bars) => {
                let mut rows = bars.lock();
                if rows.finished {
                    return;
                }
                let row = rows.row(&bars.multi, digest);
                if row.look != Some(look) {
                    row.look = Some(look);
                    row.bar.set_style(bars.styles.get(look).clone());
                }
                if look == Look::Done {
                    row.bar.finish_with_message(text.to_string());
                } else {
                    row.bar.set_message(text.to_string());
                }
            }
        }
    }
}

impl Drop for TransferProgress {
    /// An error return leaves the bars as they were (not filled up as if complete).
    fn drop(&mut self) {
        self.finish();
    }
}

impl Bars {
    fn lock(&self) -> MutexGuard<'_, Rows> {
        self.rows.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl Rows {
    fn row(&mut self, multi: &MultiProgress, digest: &Digest) -> &mut Row {
        let order = &mut self.order;
        self.by_digest.entry(digest.clone()).or_insert_with(|| {
            let bar = multi.add(
                ProgressBar::hidden()
                    .with_finish(ProgressFinish::Abandon)
                    .with_prefix(digest.short().to_string()),
            );
            order.push(bar.clone());
            Row { bar, look: None }
        })
    }
}

/// A line with a bar is about 110 columns wide; docker also drops the bar below that.
const MIN_COLUMNS_FOR_BAR: u16 = 110;

impl Styles {
    /// `None` only if a template fails to parse, which the unit tests rule out.
    fn new(colour: bool, with_bar: bool) -> Option<Styles> {
        let (bar, warn, done) = if colour {
            ("[{bar:50.cyan}] ", "{msg:.yellow}", "{msg:.green}")
        } else {
            ("[{bar:50}] ", "{msg}", "{msg}")
        };
        let bar = if with_bar { bar } else { " " };
        let status = |msg: &str| ProgressStyle::with_template(&format!("{{prefix}}: {msg}")).ok();
        let bytes =
            ProgressStyle::with_template(&format!("{{prefix}}: {{msg}} {bar}{{sizes}}  {{speed}}"))
                .ok()?
                .progress_chars("=> ")
                .with_key(
                    "sizes",
                    |s: &indicatif::ProgressState, w: &mut dyn std::fmt::Write| {
                        let done = human_size(s.pos(), 4);
                        let total = s.len().map_or_else(String::new, |l| human_size(l, 4));
                        let _ = write!(w, "{done:>8}/{total}");
                    },
                )
                .with_key(
                    "speed",
                    |s: &indicatif::ProgressState, w: &mut dyn std::fmt::Write| {
                        let speed = s.per_sec();
                        let speed = if speed.is_finite() { speed as u64 } else { 0 };
                        let _ = write!(w, "{}/s", human_size(speed, 4));
                    },
                );
        Some(Styles {
            status: status("{msg}")?,
            warning: status(warn)?,
            done: status(done)?,
            bytes,
        })
    }

    fn get(&self, look: Look) -> &ProgressStyle {
        match look {
            Look::Status => &self.status,
            Look::Warning => &self.warning,
            Look::Done => &self.done,
            Look::Bytes => &self.bytes,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_parse_with_and_without_colour() {
        for (colour, with_bar) in [(true, true), (true, false), (false, true), (false, false)] {
            assert!(Styles::new(colour, with_bar).is_some());
        }
    }
}
