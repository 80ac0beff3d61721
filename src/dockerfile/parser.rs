//! The Dockerfile parser: directives, continuations, heredocs and per-instruction argument
//! shapes, producing BuildKit's plain node tree. Written here rather than taken from a crate
//! because the crates available miss heredocs, `# escape=` and instruction flags.

use super::error::DockerfileError;

/// One node of the tree, as in BuildKit: the root has one child per instruction; an
/// instruction node has its keyword (as written) in `value`, its `--flags` in `flags` and its
/// arguments in `next`. ONBUILD has one argument with an empty value whose only child is the
/// trigger instruction.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Node {
    pub value: String,
    /// The arguments (BuildKit's `next` chain, flattened).
    pub next: Vec<Node>,
    pub children: Vec<Node>,
    pub flags: Vec<String>,
    /// The arguments were written in JSON (exec) form.
    pub json: bool,
    /// The logical line as written (continuations joined, without heredoc bodies).
    pub original: String,
    pub heredocs: Vec<Heredoc>,
    pub start_line: usize,
    pub end_line: usize,
    /// Comment lines directly above the instruction, without the `#`.
    pub prev_comments: Vec<String>,
}

/// A heredoc attached to RUN, COPY or ADD.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Heredoc {
    pub name: String,
    /// `3<<EOF` gives 3; 0 when no descriptor was written.
    pub file_descriptor: u32,
    /// False when any part of the name was quoted (`<<'EOF'`, `<<"EOF"`).
    pub expand: bool,
    /// `<<-`: leading tabs are to be stripped from the body.
    pub chomp: bool,
    /// The body, lines kept exactly (each with its `\n`).
    pub content: String,
}

/// The parser directives found at the top of the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Directives {
    pub escape: char,
    pub syntax: Option<String>,
    pub check: Option<String>,
}

impl Default for Directives {
    fn default() -> Self {
        Directives {
            escape: '\\',
            syntax: None,
            check: None,
        }
    }
}

/// Something suspicious that does not stop the build (e.g. an empty continuation line).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Warning {
    pub line: usize,
    pub message: String,
}

#[derive(Debug, Clone)]
pub struct ParseResult {
    pub ast: Node,
    pub directives: Directives,
    pub warnings: Vec<Warning>,
}

/// Parses a whole Dockerfile. Errors carry the line; the caller names the file.
pub fn parse(src: &[u8]) -> Result<ParseResult, DockerfileError> {
    let _ = src;
    todo!("parser")
}

/// Renders a node in BuildKit's test dump format (`(from "ubuntu:14.04")` per instruction).
pub fn dump(node: &Node) -> String {
    let _ = node;
    todo!("dump")
}
