//! Errors of the front end. Every error names the file, the line and (where there is one)
//! the instruction, in the shape `Dockerfile:3: unknown instruction: FORM (did you mean FROM?)`.

use std::fmt;

/// A rejected Dockerfile: where and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DockerfileError {
    /// The file name as the user gave it (`Dockerfile` when unknown).
    pub file: String,
    /// 1-based line of the offending instruction (0 when the file as a whole is at fault).
    pub line: usize,
    /// The instruction keyword as written, upper-cased (`RUN`), when there is one.
    pub instruction: Option<String>,
    pub message: String,
}

impl DockerfileError {
    pub fn new(line: usize, instruction: Option<&str>, message: impl Into<String>) -> Self {
        DockerfileError {
            file: "Dockerfile".to_string(),
            line,
            instruction: instruction.map(|s| s.to_ascii_uppercase()),
            message: message.into(),
        }
    }

    /// Names the file this error came from.
    pub fn in_file(mut self, file: impl Into<String>) -> Self {
        self.file = file.into();
        self
    }
}

impl fmt::Display for DockerfileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line > 0 {
            write!(f, "{}:{}: ", self.file, self.line)?;
        } else {
            write!(f, "{}: ", self.file)?;
        }
        match &self.instruction {
            // Messages that already start with the keyword ("unknown instruction: FORM") stay as they are.
            Some(i) if !self.message.contains(i.as_str()) => write!(f, "{i}: {}", self.message),
            _ => f.write_str(&self.message),
        }
    }
}

impl std::error::Error for DockerfileError {}
