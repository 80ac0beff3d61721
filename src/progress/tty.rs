//! The live build display for a terminal, in the spirit of BuildKit's:
//!
//! ```text
//! [+] Building 4.2s (5/9)
//!  => CACHED [2/9] RUN apt-get update                                   0.0s
//!  => [3/9] COPY . /app                                                 0.3s
//!  => [4/9] RUN make                                                    3.1s
//!  => > cc -O2 -c main.c
//!  => > cc -o app main.o
//! ```
//!
//! A finished step is printed once, above the live area, and stays in the scrollback; the
//! live area (the header and the running steps, each with the last lines of its output) is
//! redrawn in place ten times a second by a drawing thread. Colour only when `NO_COLOR` is
//! unset. Lines are cut to the terminal's width so that redrawing never wraps.

use super::{Event, Progress, StepId};
use std::collections::{BTreeMap, VecDeque};
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
    steps: BTreeMap<StepId, Row>,
    /// Finished rows not printed yet (in the order they finished).
    to_print: Vec<String>,
    warnings: Vec<String>,
    /// Lines of the live area drawn last time (to move back over them).
    drawn: usize,
    done: bool,
    colour: bool,
}

struct Row {
    title: String,
    started: Instant,
    cached: bool,
    running: bool,
    tail: VecDeque<String>,
    note: Option<String>,
}

impl Tty {
    pub fn new() -> Tty {
        let colour = std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
        let shared = Arc::new(Shared {
            state: Mutex::new(State {
                started: Instant::now(),
                total: 0,
                finished: 0,
                steps: BTreeMap::new(),
                to_print: Vec::new(),
                warnings: Vec::new(),
                drawn: 0,
                done: false,
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
        draw(&mut st);
        if st.done {
            return;
        }
        st = match shared.wake.wait_timeout(st, TICK) {
            Ok((g, _)) => g,
            Err(_) => return,
        };
    }
}

fn paint(colour: bool, code: &str, text: &str) -> String {
    if colour {
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
    format!("{t}{}{}", " ".repeat(pad + 1), time)
}

fn draw(st: &mut State) {
    let width = usize::from(super::terminal_columns().unwrap_or(80)).max(20);
    let mut out = String::new();
    if st.drawn > 0 {
        out.push_str(&format!("\x1b[{}F\x1b[J", st.drawn));
    } else {
        out.push_str("\r\x1b[J");
    }
    for line in st.to_print.drain(..) {
        out.push_str(&cut(&line, width));
        out.push('\n');
    }
    for w in st.warnings.drain(..) {
        out.push_str(&paint(
            st.colour,
            "33",
            &cut(&format!("WARNING: {w}"), width),
        ));
        out.push('\n');
    }
    let mut live = Vec::new();
    let header = format!(
        "[+] Building {:.1}s ({}/{})",
        st.started.elapsed().as_secs_f64(),
        st.finished,
        st.total
    );
    live.push(if st.done {
        paint(st.colour, "34", &header)
    } else {
        header
    });
    if !st.done {
        for row in st.steps.values() {
            let time = format!("{:.1}s", row.started.elapsed().as_secs_f64());
            live.push(row_line(&format!(" => {}", row.title), &time, width));
            if row.running {
                for l in &row.tail {
                    live.push(paint(st.colour, "2", &cut(&format!(" => > {l}"), width)));
                }
            }
        }
    }
    for l in &live {
        out.push_str(l);
        out.push('\n');
    }
    st.drawn = live.len();
    let mut o = std::io::stdout().lock();
    let _ = o.write_all(out.as_bytes());
    let _ = o.flush();
}

impl Progress for Tty {
    fn event(&self, e: Event<'_>) {
        let Ok(mut st) = self.shared.state.lock() else {
            return;
        };
        let width = usize::from(super::terminal_columns().unwrap_or(80)).max(20);
        match e {
            Event::Start { total } => st.total = total,
            Event::Warning(w) => st.warnings.push(w.to_string()),
            Event::Step {
                id,
                number,
                total,
                stage,
                text,
            } => {
                let title = format!("[{stage} {number}/{total}] {text}");
                st.steps.insert(
                    id,
                    Row {
                        title,
                        started: Instant::now(),
                        cached: false,
                        running: false,
                        tail: VecDeque::new(),
                        note: None,
                    },
                );
            }
            Event::Cached { id } => {
                if let Some(r) = st.steps.get_mut(&id) {
                    r.cached = true;
                }
            }
            Event::Explain { id, reason } => {
                if let Some(r) = st.steps.get_mut(&id) {
                    r.note = Some(format!("cache miss: {reason}"));
                }
            }
            Event::Running { id } => {
                if let Some(r) = st.steps.get_mut(&id) {
                    r.running = true;
                }
            }
            Event::Output { id, line } => {
                if let Some(r) = st.steps.get_mut(&id) {
                    let text = String::from_utf8_lossy(line).replace('\r', "");
                    r.tail.push_back(text);
                    if r.tail.len() > TAIL {
                        r.tail.pop_front();
                    }
                }
            }
            Event::Done { id, elapsed, .. } => {
                if let Some(r) = st.steps.remove(&id) {
                    st.finished += 1;
                    let title = if r.cached {
                        format!(" => CACHED {}", r.title)
                    } else {
                        format!(" => {}", r.title)
                    };
                    let line = row_line(&title, &format!("{:.1}s", elapsed.as_secs_f64()), width);
                    let colour = st.colour;
                    st.to_print.push(paint(colour, "34", &line));
                    if let Some(n) = r.note {
                        st.to_print.push(paint(colour, "33", &format!(" => > {n}")));
                    }
                }
            }
            Event::Failed { id, message } => {
                if let Some(r) = st.steps.remove(&id) {
                    let colour = st.colour;
                    st.to_print
                        .push(paint(colour, "31", &format!(" => ERROR {}", r.title)));
                    for l in &r.tail {
                        st.to_print.push(format!(" => > {l}"));
                    }
                    let first = message.lines().next().unwrap_or("");
                    st.to_print
                        .push(paint(colour, "31", &format!(" => > {first}")));
                }
            }
            Event::Finished { id, tags, .. } => {
                st.to_print.push(format!(" => writing image {id} done"));
                for t in tags {
                    st.to_print.push(format!(" => naming to {t} done"));
                }
            }
        }
        drop(st);
        if matches!(e, Event::Done { .. } | Event::Failed { .. }) {
            self.shared.wake.notify_all();
        }
    }
}
