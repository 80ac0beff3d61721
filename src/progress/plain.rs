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
//! time a step took after its output (` ---> Ran in 1.24s`, before the step's image id), which no
//! classic line uses. When stages run in parallel, lines of RUN output carry the stage's
//! name so that interleaved output stays readable.

use super::{short_id, Event, Progress, StepId};
use std::collections::HashMap;
use std::io::Write;
use std::sync::Mutex;

/// Writes the classic log to a writer (stdout for the CLI).
pub struct Plain<W: Write + Send> {
    inner: Mutex<Inner<W>>,
}

struct Inner<W> {
    out: W,
    /// Stage name per step id, to prefix output when stages overlap.
    stage_of: HashMap<StepId, String>,
    /// Steps that are running now (started and not done).
    running: HashMap<StepId, ()>,
}

impl<W: Write + Send> Plain<W> {
    pub fn new(out: W) -> Plain<W> {
        Plain {
            inner: Mutex::new(Inner {
                out,
                stage_of: HashMap::new(),
                running: HashMap::new(),
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

impl<W: Write + Send> Progress for Plain<W> {
    fn event(&self, e: Event<'_>) {
        let Ok(mut g) = self.inner.lock() else {
            return;
        };
        let inner = &mut *g;
        let o = &mut inner.out;
        // A closed stdout must not fail the build: write errors are dropped.
        let _ = match e {
            Event::Start { .. } => Ok(()),
            Event::Warning(w) => writeln!(o, "[WARNING]: {w}"),
            Event::Step {
                id,
                number,
                total,
                stage,
                text,
            } => {
                inner.stage_of.insert(id, stage.to_string());
                writeln!(o, "Step {number}/{total} : {text}")
            }
            Event::Cached { .. } => writeln!(o, " ---> Using cache"),
            Event::Explain { reason, .. } => writeln!(o, " ---> Cache miss: {reason}"),
            Event::Running { id } => {
                inner.running.insert(id, ());
                Ok(())
            }
            Event::Output { id, line } => {
                if inner.running.len() > 1 {
                    let stage = inner.stage_of.get(&id).map_or("", String::as_str);
                    let _ = write!(o, "[{stage}] ");
                }
                o.write_all(line).and_then(|_| o.write_all(b"\n"))
            }
            Event::Done { id, image, elapsed } => {
                if inner.running.remove(&id).is_some() {
                    let _ = writeln!(o, " ---> Ran in {:.2}s", elapsed.as_secs_f64());
                }
                writeln!(o, " ---> {}", short_id(image))
            }
            Event::Failed { id, .. } => {
                inner.running.remove(&id);
                Ok(())
            }
            Event::Finished { id, tags, elapsed } => {
                let _ = writeln!(o, "Successfully built {}", short_id(id));
                for t in tags {
                    let _ = writeln!(
                        o,
                        "Successfully tagged {}",
                        crate::store::names::familiar(t)
                    );
                }
                writeln!(o, "Built in {:.2}s", elapsed.as_secs_f64())
            }
        };
        let _ = o.flush();
    }
}
