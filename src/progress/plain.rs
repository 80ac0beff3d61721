//! Docker's classic build log, one line per event, for CI logs and `--progress plain`:
//!
//! ```text
//! Step 4/7 : RUN python -m pip install -r requirements.txt
//!  ---> Using cache
//!  ---> c5ab90bcfe94
//! Successfully built 0e5574283393
//! Successfully tagged simple-python-app:latest
//! ```
//!
//! The lines docker prints are kept word for word (scripts grep for them); kiln adds the
//! time a step took after its output (` ---> Ran in 1.24s`, before the step's image id).
//!
//! Stages may run in parallel, but a step's lines are always printed together: one step at
//! a time owns the log and streams live; lines of steps running beside it wait in a buffer
//! and are printed, in the order those steps started, as soon as the owner is done.

use super::{short_id, Event, Progress, StepId};
use std::collections::{HashMap, HashSet, VecDeque};
use std::io::Write;
use std::sync::Mutex;

/// Writes the classic log to a writer (stdout for the CLI).
pub struct Plain<W: Write + Send> {
    inner: Mutex<Inner<W>>,
}

struct Inner<W> {
    out: W,
    /// The step whose lines go straight out.
    owner: Option<StepId>,
    /// Steps waiting for the log, in the order they started, with their lines so far.
    waiting: VecDeque<StepId>,
    buffered: HashMap<StepId, Vec<u8>>,
    finished: HashSet<StepId>,
    /// Steps that ran (rather than coming from the cache).
    ran: HashSet<StepId>,
}

impl<W: Write + Send> Plain<W> {
    pub fn new(out: W) -> Plain<W> {
        Plain {
            inner: Mutex::new(Inner {
                out,
                owner: None,
                waiting: VecDeque::new(),
                buffered: HashMap::new(),
                finished: HashSet::new(),
                ran: HashSet::new(),
            }),
        }
    }

    /// The writer back (tests read what was written).
    pub fn into_inner(self) -> W {
        match self.inner.into_inner() {
            Ok(i) => i.out,
            Err(p) => p.into_inner().out,
        }
    }
}

impl<W: Write> Inner<W> {
    /// Sends `text` (whole lines) for `id`: out now if `id` owns the log, else buffered.
    fn emit(&mut self, id: StepId, text: &[u8]) {
        if self.owner.is_none() {
            self.owner = Some(id);
            self.waiting.retain(|w| *w != id);
        }
        if self.owner == Some(id) {
            // A closed stdout must not fail the build: write errors are dropped.
            let _ = self.out.write_all(text);
        } else {
            if !self.buffered.contains_key(&id) {
                self.waiting.push_back(id);
            }
            self.buffered.entry(id).or_default().extend_from_slice(text);
        }
    }

    /// `id` is done: hand the log to the next waiting step, flushing finished ones whole.
    fn release(&mut self, id: StepId) {
        self.finished.insert(id);
        if self.owner != Some(id) {
            return;
        }
        self.owner = None;
        while let Some(next) = self.waiting.pop_front() {
            if let Some(text) = self.buffered.remove(&next) {
                let _ = self.out.write_all(&text);
            }
            if !self.finished.contains(&next) {
                self.owner = Some(next);
                break;
            }
        }
    }

    /// Lines that belong to no step.
    fn global(&mut self, text: &[u8]) {
        let _ = self.out.write_all(text);
    }
}

impl<W: Write + Send> Progress for Plain<W> {
    fn event(&self, e: Event<'_>) {
        let Ok(mut g) = self.inner.lock() else {
            return;
        };
        let inner = &mut *g;
        match e {
            Event::Start { .. } => {}
            Event::Warning(w) => inner.global(format!("[WARNING]: {w}\n").as_bytes()),
            Event::Step {
                id,
                number,
                total,
                text,
                ..
            } => inner.emit(id, format!("Step {number}/{total} : {text}\n").as_bytes()),
            Event::Cached { id } => inner.emit(id, b" ---> Using cache\n"),
            Event::Explain { id, reason } => {
                inner.emit(id, format!(" ---> Cache miss: {reason}\n").as_bytes())
            }
            Event::Running { id } => {
                inner.ran.insert(id);
            }
            Event::Output { id, line } => {
                let mut l = line.to_vec();
                l.push(b'\n');
                inner.emit(id, &l);
            }
            Event::Done { id, image, elapsed } => {
                let mut s = String::new();
                if inner.ran.remove(&id) {
                    s.push_str(&format!(" ---> Ran in {:.2}s\n", elapsed.as_secs_f64()));
                }
                s.push_str(&format!(" ---> {}\n", short_id(image)));
                inner.emit(id, s.as_bytes());
                inner.release(id);
            }
            Event::Failed { id, .. } => {
                inner.ran.remove(&id);
                inner.emit(id, b"");
                inner.release(id);
            }
            Event::Finished { id, tags, elapsed } => {
                let mut s = format!("Successfully built {}\n", short_id(id));
                for t in tags {
                    s.push_str(&format!(
                        "Successfully tagged {}\n",
                        crate::store::names::familiar(t)
                    ));
                }
                s.push_str(&format!("Built in {:.2}s\n", elapsed.as_secs_f64()));
                inner.global(s.as_bytes());
            }
        }
        let _ = inner.out.flush();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn step<'a>(id: StepId, text: &'a str) -> Event<'a> {
        Event::Step {
            id,
            number: id + 1,
            total: 9,
            stage: "s",
            text,
        }
    }

    #[test]
    fn parallel_steps_print_as_whole_blocks() {
        let p = Plain::new(Vec::new());
        let d = Duration::from_millis(10);
        p.event(step(0, "RUN a"));
        p.event(step(1, "RUN b"));
        p.event(Event::Running { id: 0 });
        p.event(Event::Running { id: 1 });
        p.event(Event::Output {
            id: 1,
            line: b"from b",
        });
        p.event(Event::Output {
            id: 0,
            line: b"from a",
        });
        p.event(Event::Done {
            id: 1,
            image: "sha256:bbbbbbbbbbbbbbbb",
            elapsed: d,
        });
        p.event(step(2, "RUN c"));
        p.event(Event::Cached { id: 2 });
        p.event(Event::Done {
            id: 0,
            image: "sha256:aaaaaaaaaaaaaaaa",
            elapsed: d,
        });
        p.event(Event::Done {
            id: 2,
            image: "sha256:cccccccccccccccc",
            elapsed: d,
        });
        let out = String::from_utf8(p.into_inner()).unwrap();
        assert_eq!(
            out,
            "Step 1/9 : RUN a\nfrom a\n ---> Ran in 0.01s\n ---> aaaaaaaaaaaa\n\
             Step 2/9 : RUN b\nfrom b\n ---> Ran in 0.01s\n ---> bbbbbbbbbbbb\n\
             Step 3/9 : RUN c\n ---> Using cache\n ---> cccccccccccc\n"
        );
    }
}
