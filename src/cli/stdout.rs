//! Printing a command's result so that `kiln … | head` ends quietly: `println!` panics when
//! the reader has gone, and a listing cut short by its reader is not an error.

use std::io::{self, Write};

/// Writes `text` to stdout; a reader that has gone away ends the output, not the command.
pub(crate) fn print(text: &str) -> io::Result<()> {
    let mut out = io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(()),
        r => r,
    }
}
