//! The live build display for a terminal, in the spirit of BuildKit's:
//!
//! ```text
//! [+] Building 4.2s (5/9)
//!  => CACHED [app 2/9] RUN apt-get update                               0.0s
//!  => [app 3/9] COPY . /app                                             0.3s
//!  => [app 4/9] RUN make                                                3.1s
//!  => > cc -O2 -c main.c
//!  => > cc -o app main.o
//! ```
//!
//! The whole display is redrawn in place ten times a second by a drawing thread: the header,
//! then every step in the order it started (running ones with the last lines of their
//! output). When it no longer fits the terminal, the oldest finished steps are printed for
//! good above it and leave the redrawn area, so the scrollback keeps every step. Colour only
//! when `NO_COLOR` is unset; lines are cut to the terminal's width so that nothing wraps.

use super::{Event, Progress, StepId};
use std::collections::VecDeque;
use std::io::Write;
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

/// Output lines kept (and shown) per running step.
const TAIL: usize = 6;
const TICK: Duration = Duration::from_millis(100);

pub struct Tty {
    shared: Arc<Shared>,
    drawer: Option<std::thread::JoinHandle<()>>,
}

struct Shared {
    state: Mutex<State>,
    wake: Condvar,
}

struct State {
    started: Instant,
    total: usize,
    finished: usize,
    rows: Vec<Row>,
    /// Lines of the redrawn area drawn last time (to move back over them).
    drawn: usize,
    done: bool,
    failed: bool,
    colour: bool,
}

enum Look {
    Running,
    Cached,
    Done,
    Error,
    /// A line of its own (a warning, an explanation, the naming of the image).
    Note,
}

struct Row {
    id: Option<StepId>,
    title: String,
    started: Instant,
    look: Look,
    ran: bool,
    elapsed: Option<Duration>,
    tail: VecDeque<String>,
}

impl Row {
    fn note(text: String) -> Row {
        Row {
            id: None,
            title: text,
            started: Instant::now(),
            look: Look::Note,
            ran: false,
            elapsed: None,
            tail: VecDeque::new(),
        }
    }
}

impl Tty {
    pub fn new() -> Tty {
        let colour = std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
        let shared = Arc::new(Shared {
            state: Mutex::new(State {
                started: Instant::now(),
                total: 0,
                finished: 0,
                rows: Vec::new(),
                drawn: 0,
                done: false,
                failed: false,
                colour,
            }),
            wake: Condvar::new(),
        });
        let s = Arc::clone(&shared);
        let drawer = std::thread::spawn(move || draw_loop(&s));
        Tty {
            shared,
            drawer: Some(drawer),
        }
    }
}

impl Default for Tty {
    fn default() -> Self {
        Tty::new()
    }
}

impl Drop for Tty {
    fn drop(&mut self) {
        if let Ok(mut st) = self.shared.state.lock() {
            st.done = true;
        }
        self.shared.wake.notify_all();
        if let Some(h) = self.drawer.take() {
            let _ = h.join();
        }
    }
}

fn draw_loop(shared: &Shared) {
    let Ok(mut st) = shared.state.lock() else {
        return;
    };
    loop {
        let last = st.done;
        draw(&mut st);
        if last {
            return;
        }
        st = match shared.wake.wait_timeout(st, TICK) {
            Ok((g, _)) => g,
            Err(_) => return,
        };
    }
}

fn paint(colour: bool, code: &str, text: &str) -> String {
    if colour && !code.is_empty() {
        format!("\x1b[{code}m{text}\x1b[0m")
    } else {
        text.to_string()
    }
}

fn cut(line: &str, width: usize) -> String {
    line.chars().take(width).collect()
}

/// `title` on the left, `time` flush right, in `width` columns.
fn row_line(title: &str, time: &str, width: usize) -> String {
    let room = width.saturating_sub(time.len() + 1);
    let t = cut(title, room);
    let pad = room.saturating_sub(t.chars().count());
    format!("{t}{}{time}", " ".repeat(pad + 1))
}

/// The lines of one row, painted.
fn row_lines(row: &Row, colour: bool, width: usize) -> Vec<String> {
    let time = |d: Duration| format!("{:.1}s", d.as_secs_f64());
    match row.look {
        Look::Note => {
            let code =
                if row.title.starts_with(" => writing") || row.title.starts_with(" => naming") {
                    "34"
                } else {
                    "33"
                };
            vec![paint(colour, code, &cut(&row.title, width))]
        }
        Look::Running => {
            let mut v = vec![row_line(
                &format!(" => {}", row.title),
                &time(row.started.elapsed()),
                width,
            )];
            for l in &row.tail {
                v.push(paint(colour, "2", &cut(&format!(" => > {l}"), width)));
            }
            v
        }
        Look::Cached | Look::Done => {
            let title = if matches!(row.look, Look::Cached) {
                format!(" => CACHED {}", row.title)
            } else {
                format!(" => {}", row.title)
            };
            let line = row_line(&title, &time(row.elapsed.unwrap_or_default()), width);
            vec![paint(colour, "34", &line)]
        }
        Look::Error => {
            let mut v = vec![paint(
                colour,
                "31",
                &row_line(
                    &format!(" => ERROR {}", row.title),
                    &time(row.elapsed.unwrap_or_default()),
                    width,
                ),
            )];
            for l in &row.tail {
                v.push(paint(colour, "31", &cut(&format!(" => > {l}"), width)));
            }
            v
        }
    }
}

fn finished(row: &Row) -> bool {
    !matches!(row.look, Look::Running)
}

fn draw(st: &mut State) {
    let (cols, lines) = super::terminal_size().unwrap_or((80, 24));
    let width = usize::from(cols).max(20);
    let height = usize::from(lines).max(5);
    let mut out = String::new();
    if st.drawn > 0 {
        out.push_str(&format!("\x1b[{}F\x1b[J", st.drawn));
    }
    let mut header = format!(
        "[+] Building {:.1}s ({}/{})",
        st.started.elapsed().as_secs_f64(),
        st.finished,
        st.total
    );
    if st.done {
        header.push_str(if st.failed { " ERROR" } else { " FINISHED" });
    }
    let colour = st.colour;
    let mut body: Vec<Vec<String>> = st
        .rows
        .iter()
        .map(|r| row_lines(r, colour, width))
        .collect();
    // Whatever does not fit scrolls off for good, oldest finished rows first.
    let mut count: usize = 1 + body.iter().map(Vec::len).sum::<usize>();
    let mut permanent = Vec::new();
    while !st.done && count > height - 1 && st.rows.first().is_some_and(finished) {
        st.rows.remove(0);
        let lines = body.remove(0);
        count -= lines.len();
        permanent.extend(lines);
    }
    for l in permanent {
        out.push_str(&l);
        out.push('\n');
    }
    let header = if st.done {
        paint(colour, if st.failed { "31" } else { "34" }, &header)
    } else {
        header
    };
    out.push_str(&header);
    out.push('\n');
    for l in body.iter().flatten() {
        out.push_str(l);
        out.push('\n');
    }
    st.drawn = count;
    let mut o = std::io::stdout().lock();
    let _ = o.write_all(out.as_bytes());
    let _ = o.flush();
}

impl State {
    fn row(&mut self, id: StepId) -> Option<&mut Row> {
        self.rows.iter_mut().rev().find(|r| r.id == Some(id))
    }
}

impl Progress for Tty {
    fn event(&self, e: Event<'_>) {
        let Ok(mut st) = self.shared.state.lock() else {
            return;
        };
        match e {
            Event::Start { total } => st.total = total,
            Event::Warning(w) => st.rows.push(Row::note(format!("WARNING: {w}"))),
            Event::Step {
                id,
                number,
                total,
                stage,
                text,
            } => st.rows.push(Row {
                id: Some(id),
                title: format!("[{stage} {number}/{total}] {text}"),
                started: Instant::now(),
                look: Look::Running,
                ran: false,
                elapsed: None,
                tail: VecDeque::new(),
            }),
            Event::Cached { id } => {
                if let Some(r) = st.row(id) {
                    r.look = Look::Cached;
                }
            }
            Event::Explain { id, reason } => {
                let at = st.rows.iter().rposition(|r| r.id == Some(id));
                let note = Row::note(format!(" => > cache miss: {reason}"));
                match at {
                    Some(i) => st.rows.insert(i + 1, note),
                    None => st.rows.push(note),
                }
            }
            Event::Running { id } => {
                if let Some(r) = st.row(id) {
                    r.ran = true;
                }
            }
            Event::Output { id, line } => {
                if let Some(r) = st.row(id) {
                    let text = String::from_utf8_lossy(line).replace('\r', "");
                    r.tail.push_back(text);
                    if r.tail.len() > TAIL {
                        r.tail.pop_front();
                    }
                }
            }
            Event::Done { id, elapsed, .. } => {
                st.finished += 1;
                if let Some(r) = st.row(id) {
                    if !matches!(r.look, Look::Cached) {
                        r.look = Look::Done;
                    }
                    r.elapsed = Some(elapsed);
                    r.tail.clear();
                }
            }
            Event::Failed { id, message } => {
                st.failed = true;
                if let Some(r) = st.row(id) {
                    r.look = Look::Error;
                    r.elapsed = Some(r.started.elapsed());
                    let first = message.lines().next().unwrap_or("").to_string();
                    r.tail.push_back(first);
                }
            }
            Event::Finished { id, tags, .. } => {
                st.rows
                    .push(Row::note(format!(" => writing image {id} done")));
                for t in tags {
                    st.rows.push(Row::note(format!(" => naming to {t} done")));
                }
            }
        }
        let wake = matches!(e, Event::Done { .. } | Event::Failed { .. });
        drop(st);
        if wake {
            self.shared.wake.notify_all();
        }
    }
}
