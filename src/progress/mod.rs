//! Build progress: the executor reports [`Event`]s through a [`Progress`], and a renderer
//! shows them — docker's classic line-per-event log ([`plain`]), a live display on a
//! terminal, or nothing but the image id (`-q`). The executor knows nothing of how events
//! are shown, so stages running in parallel report through the same `&dyn Progress`.

pub mod plain;
pub mod tty;

use std::time::Duration;

/// Identifies one step of one build (unique across stages), for renderers that keep a row
/// per step.
pub type StepId = usize;

#[derive(Debug, Clone, Copy)]
pub enum Event<'a> {
    /// The build will consider `total` steps (FROM included) in the stages it builds.
    Start { total: usize },
    /// A warning about the build as a whole (an unused build arg, …).
    Warning(&'a str),
    /// A step is considered: `number` of `total` over the build (1-based), in `stage`
    /// (its name, or its index as text), with its instruction as written.
    Step {
        id: StepId,
        number: usize,
        total: usize,
        stage: &'a str,
        text: &'a str,
    },
    /// The step's result comes from the cache.
    Cached { id: StepId },
    /// Why the step missed the cache (only when explanations were asked for).
    Explain { id: StepId, reason: &'a str },
    /// The step missed the cache and runs now.
    Running { id: StepId },
    /// One line of a RUN step's output, as the process wrote it (a trailing newline removed).
    Output { id: StepId, line: &'a [u8] },
    /// The step is done; `image` is the id of the image config after it (docker's
    /// intermediate image id), `elapsed` how long it took.
    Done {
        id: StepId,
        image: &'a str,
        elapsed: Duration,
    },
    /// The step failed with `message` (the build then stops).
    Failed { id: StepId, message: &'a str },
    /// The build produced the image `id` (`sha256:…`) and named it `tags`.
    Finished {
        id: &'a str,
        tags: &'a [String],
        elapsed: Duration,
    },
}

/// Receives the events of a build. Called from every thread the build runs on.
pub trait Progress: Sync {
    fn event(&self, e: Event<'_>);
}

/// Shows nothing (for `-q` and for library callers that do not care).
#[derive(Debug, Default, Clone, Copy)]
pub struct Silent;

impl Progress for Silent {
    fn event(&self, _: Event<'_>) {}
}

/// The short form of an image id, as docker prints it: 12 hex digits without `sha256:`.
pub fn short_id(id: &str) -> &str {
    let hex = id.strip_prefix("sha256:").unwrap_or(id);
    &hex[..hex.len().min(12)]
}

/// The width of the terminal on stdout, if it is one.
pub fn terminal_columns() -> Option<u16> {
    terminal_size().map(|(c, _)| c)
}

/// Columns and rows of the terminal on stdout, if it is one.
pub fn terminal_size() -> Option<(u16, u16)> {
    // SAFETY: a zeroed winsize is a valid value of the plain C struct.
    let mut ws: libc::winsize = unsafe { std::mem::zeroed() };
    // SAFETY: TIOCGWINSZ writes one winsize through the pointer, which is valid for it.
    let r = unsafe { libc::ioctl(libc::STDOUT_FILENO, libc::TIOCGWINSZ, &mut ws) };
    (r == 0 && ws.ws_col > 0).then_some((ws.ws_col, ws.ws_row))
}
