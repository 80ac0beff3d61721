//! The container's standard streams. Without `-t` its stdout and stderr are pipes that kiln
//! copies to its own, unbuffered, as docker's attach does (so the program never sees a
//! terminal); with `-t` it is handed kiln's own terminal. Stdin is kiln's only with `-i`.

use std::io::{Read, Write};
use std::os::fd::OwnedFd;
use std::process::Stdio;
use std::thread::JoinHandle;

/// The three streams for the sandbox, and the copying threads to join once it has exited.
pub struct Streams {
    pub stdin: Stdio,
    pub stdout: Stdio,
    pub stderr: Stdio,
    copiers: Vec<JoinHandle<()>>,
}

impl Streams {
    pub fn new(interactive: bool, tty: bool) -> std::io::Result<Streams> {
        let stdin = if interactive {
            Stdio::inherit()
        } else {
            Stdio::null()
        };
        if tty {
            return Ok(Streams {
                stdin,
                stdout: Stdio::inherit(),
                stderr: Stdio::inherit(),
                copiers: Vec::new(),
            });
        }
        let (out_r, out_w) = pipe()?;
        let (err_r, err_w) = pipe()?;
        let copiers = vec![
            copy_to(out_r, || Box::new(std::io::stdout())),
            copy_to(err_r, || Box::new(std::io::stderr())),
        ];
        Ok(Streams {
            stdin,
            stdout: Stdio::from(out_w),
            stderr: Stdio::from(err_w),
            copiers,
        })
    }

    /// Takes the streams for the sandbox, leaving the copiers to [`Streams::join`].
    pub fn take(&mut self) -> (Stdio, Stdio, Stdio) {
        (
            std::mem::replace(&mut self.stdin, Stdio::null()),
            std::mem::replace(&mut self.stdout, Stdio::null()),
            std::mem::replace(&mut self.stderr, Stdio::null()),
        )
    }

    /// Waits until everything the container wrote has been copied.
    pub fn join(self) {
        for c in self.copiers {
            let _ = c.join();
        }
    }
}

fn pipe() -> std::io::Result<(OwnedFd, OwnedFd)> {
    Ok(rustix::pipe::pipe_with(rustix::pipe::PipeFlags::CLOEXEC)?)
}

/// Copies everything from `from` to the writer, flushing each chunk so that prompts and
/// progress without a newline show at once. A closed writer ends the copy, which closes the
/// pipe: the writer in the container then gets SIGPIPE, as with any pipeline.
fn copy_to(
    from: OwnedFd,
    to: impl FnOnce() -> Box<dyn Write + Send> + Send + 'static,
) -> JoinHandle<()> {
    std::thread::spawn(move || {
        let mut from = std::fs::File::from(from);
        let mut to = to();
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            let n = match from.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(_) => break,
            };
            if to.write_all(&buf[..n]).and_then(|()| to.flush()).is_err() {
                break;
            }
        }
    })
}
