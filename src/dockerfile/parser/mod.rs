//! The Dockerfile parser: directives, continuations, heredocs and per-instruction argument
//! shapes, producing BuildKit's plain node tree. Written here rather than taken from a crate
//! because the crates available miss heredocs, `# escape=` and instruction flags.
//!
//! The behaviour follows BuildKit's `frontend/dockerfile/parser` closely, quirks included
//! (comment text sliced from the untrimmed line, flags scanned byte by byte, Go's JSON and
//! quoting rules), so that `dump` matches BuildKit's golden files byte for byte. Where
//! BuildKit has no limit and unbounded input could exhaust the stack, there is one, far
//! beyond real files: ONBUILD wrapped more than 64 deep is an error, and `${...}` nested more
//! than 256 deep in a heredoc line stops heredoc detection. Input that is not UTF-8 is read
//! with each invalid byte replaced by U+FFFD (BuildKit keeps such bytes in its strings).

mod directives;
mod dump;
mod heredoc;
mod json;
mod line_parsers;
mod lines;
mod pieces;

pub use crate::dockerfile::go_text::go_quote;
pub use dump::dump;
pub use heredoc::{chomp_heredoc_content, parse_heredoc};
/// A list that holds its first `N` items in place: nearly every instruction has one to three
/// arguments and at most one flag, and keeping those inside the node spares an allocation and
/// a free per instruction, a large part of building and dropping the tree.
pub type List<T, const N: usize> = smallvec::SmallVec<[T; N]>;

use super::error::DockerfileError;
use crate::dockerfile::go_text::trim_left_space;
use directives::DirectiveParser;
use lines::{trim_continuation, trim_newline, LineReader};
use std::borrow::Cow;

/// One node of the tree, as in BuildKit: the root has one child per instruction; an
/// instruction node has its keyword (as written) in `value`, its `--flags` in `flags` and its
/// arguments in `next`. ONBUILD's trigger instruction is its `trigger` (in BuildKit, the only
/// child of ONBUILD's one, empty, argument).
///
/// Text is borrowed from the source wherever it appears there as it is (nearly always: a
/// line without continuation, a word without quotes to strip), and the few arguments and
/// flags of an instruction are kept in the node, so that building and freeing the tree costs
/// next to no allocation. Text made up by the parser (continuation lines joined, JSON strings
/// unescaped) is owned.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Node<'a> {
    pub value: Cow<'a, str>,
    /// The arguments (BuildKit's `next` chain, flattened).
    pub next: Args<'a>,
    pub children: Vec<Node<'a>>,
    /// ONBUILD's trigger, which gets the ONBUILD's lines.
    pub trigger: Option<Box<Node<'a>>>,
    pub flags: NodeFlags<'a>,
    /// The arguments were written in JSON (exec) form.
    pub json: bool,
    /// The logical line as written (continuations joined, without heredoc bodies).
    pub original: Cow<'a, str>,
    pub heredocs: Vec<Heredoc<'a>>,
    pub start_line: usize,
    pub end_line: usize,
    /// Comment lines directly above the instruction, without the `#`.
    pub prev_comments: Vec<String>,
}

/// An instruction's arguments: up to three in place (every instruction but a multi-pair ENV
/// or LABEL, or a long RUN in exec form).
pub type Args<'a> = List<Arg<'a>, 3>;

/// An instruction's `--flags`: one in place.
pub type NodeFlags<'a> = List<Cow<'a, str>, 1>;

/// An argument of an instruction: BuildKit's argument node, cut down to what an argument
/// uses (its text; ONBUILD's trigger is the node's `trigger`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Arg<'a> {
    pub value: Cow<'a, str>,
}

/// A heredoc attached to RUN, COPY or ADD. Name and body are borrowed from the source text
/// where they lie there as they are (a name without quotes, any body of a UTF-8 file): two
/// allocations fewer per heredoc.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Heredoc<'a> {
    pub name: Cow<'a, str>,
    /// `3<<EOF` gives 3; 0 when no descriptor was written.
    pub file_descriptor: u32,
    /// False when any part of the name was quoted (`<<'EOF'`, `<<"EOF"`).
    pub expand: bool,
    /// `<<-`: leading tabs are to be stripped from the body.
    pub chomp: bool,
    /// The body, lines kept exactly (each with its `\n`).
    pub content: Cow<'a, str>,
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

/// The tree borrows from the source text given to [`parse`].
#[derive(Debug, Clone)]
pub struct ParseResult<'a> {
    pub ast: Node<'a>,
    pub directives: Directives,
    pub warnings: Vec<Warning>,
}

/// BuildKit's line-length limit (Go's 64 KiB scanner buffer, newline included).
pub const MAX_LINE_LEN: usize = 65_535;

/// Parses a whole Dockerfile. Errors carry the line; the caller names the file.
///
/// Input that is not UTF-8 is read with each invalid byte replaced by U+FFFD.
///
/// A long file is parsed in pieces on rayon's pool (see [`pieces`]), with the same result.
pub fn parse(src: &[u8]) -> Result<ParseResult<'_>, DockerfileError> {
    if src.len() >= pieces::MIN_LEN && rayon::current_num_threads() > 1 {
        return pieces::parse(src);
    }
    Parser::new(src).run()
}

struct Parser<'a> {
    lines: LineReader<'a>,
    /// Physical lines consumed so far (BuildKit's `currentLine`).
    current_line: usize,
    directives: Directives,
    directive_parser: DirectiveParser,
    warnings: Vec<Warning>,
}

impl<'a> Parser<'a> {
    fn new(src: &'a [u8]) -> Self {
        Parser {
            lines: LineReader::new(src),
            current_line: 0,
            directives: Directives::default(),
            directive_parser: DirectiveParser::default(),
            warnings: Vec::new(),
        }
    }

    /// A parser for the rest of a file from byte `pos`, a line start after at least one
    /// instruction: `line` lines lie before it, and `escape` is the file's escape token.
    /// At byte 0 it is [`Parser::new`]: the directives are still to be read.
    fn at(src: &'a [u8], text: Option<&'a str>, pos: usize, line: usize, escape: char) -> Self {
        let mut parser = Parser {
            lines: LineReader::starting_at(src, text, pos),
            current_line: line,
            directives: Directives::default(),
            directive_parser: DirectiveParser::default(),
            warnings: Vec::new(),
        };
        if pos > 0 {
            // Directives are only read at the top; past an instruction, they are comments.
            parser.directive_parser.finish();
            parser.directives.escape = escape;
        }
        parser
    }

    fn run(mut self) -> Result<ParseResult<'a>, DockerfileError> {
        let mut children = self.children_vec();
        let mut comments = Vec::new();
        self.parse_until(usize::MAX, &mut children, &mut comments)?;
        self.finish(children)
    }

    /// A list for the instructions still to come. At most one instruction per line: sizing
    /// for that up front avoids re-copying the (large) nodes as the list grows. Capped so
    /// that a file of blank lines stays cheap.
    fn children_vec(&self) -> Vec<Node<'a>> {
        Vec::with_capacity(self.lines.remaining_lines().min(1 << 14))
    }

    /// Parses instructions into `children` until a line would start at byte `stop` or later
    /// (or the input ends). `comments` holds the comment lines read since the last
    /// instruction.
    fn parse_until(
        &mut self,
        stop: usize,
        children: &mut Vec<Node<'a>>,
        comments: &mut Vec<String>,
    ) -> Result<(), DockerfileError> {
        let mut buf = String::new();
        while self.lines.position() < stop {
            let Some((raw, text)) = self.lines.next() else {
                break;
            };
            // A byte-order mark is read on the first line only.
            let (raw, text) = match self.current_line {
                0 => match text.strip_prefix('\u{feff}') {
                    Some(t) => (&raw[3..], t),
                    None => (raw, &*text),
                },
                _ => (raw, &*text),
            };
            // `text` lies inside the source when that is UTF-8: the slicer then borrows.
            let token = trim_left_space(trim_newline(text));
            let is_comment = token.starts_with('#');
            if is_comment {
                // BuildKit slices the untrimmed line after its first byte.
                let comment = String::from_utf8_lossy(&raw[1..]);
                let comment = crate::dockerfile::go_text::trim_space(&comment);
                if comment.is_empty() {
                    comments.clear();
                } else {
                    comments.push(comment.to_string());
                }
            }
            // Past the top of the file (nearly every line) there is nothing to ask.
            if !self.directive_parser.is_done() {
                match self.directive_parser.line(token, &mut self.directives) {
                    Ok(true) => {
                        comments.pop();
                    }
                    Ok(false) => {}
                    Err(msg) => return Err(DockerfileError::new(self.current_line + 1, None, msg)),
                }
            }
            self.current_line += 1;
            let start_line = self.current_line;
            let content = if is_comment { "" } else { token };
            let escape = self.directives.escape;
            let (content, end) = trim_continuation(content, escape);
            if end && content.is_empty() {
                continue;
            }
            let line = if end {
                content
            } else {
                buf.clear();
                buf.push_str(content);
                self.read_continuation(&mut buf, escape);
                &buf
            };
            // Filled where it lies (see `line_parsers::instruction`).
            let at = children.len();
            children.resize_with(at + 1, Node::default);
            let node = &mut children[at];
            self.instruction(line, start_line, escape, node)?;
            node.start_line = start_line;
            node.end_line = self.current_line;
            node.prev_comments = std::mem::take(comments);
            set_trigger_lines(&mut node.trigger, start_line, node.end_line);
        }
        Ok(())
    }

    /// The result, once the input is read.
    fn finish(self, children: Vec<Node<'a>>) -> Result<ParseResult<'a>, DockerfileError> {
        let Some(first) = children.first() else {
            return Err(DockerfileError::new(0, None, "file with no instructions"));
        };
        if self.lines.too_long() {
            return Err(DockerfileError::new(
                self.current_line + 1,
                None,
                format!("dockerfile line greater than max allowed size of {MAX_LINE_LEN}"),
            ));
        }
        let ast = Node {
            start_line: first.start_line,
            end_line: children.last().map_or(0, |c| c.end_line),
            children,
            ..Node::default()
        };
        Ok(ParseResult {
            ast,
            directives: self.directives,
            warnings: self.warnings,
        })
    }

    /// Appends continuation lines to `buf` until one does not continue (or the file ends).
    /// Comment lines are skipped; blank ones too, with a warning.
    fn read_continuation(&mut self, buf: &mut String, escape: char) {
        let mut has_empty_continuation = false;
        while let Some((_, text)) = self.lines.next() {
            self.current_line += 1;
            let line = trim_newline(&text);
            let trimmed = trim_left_space(line);
            if trimmed.starts_with('#') {
                continue;
            }
            if trimmed.is_empty() {
                has_empty_continuation = true;
                continue;
            }
            let (content, end) = trim_continuation(line, escape);
            buf.push_str(content);
            if end {
                break;
            }
        }
        if has_empty_continuation {
            self.warnings.push(Warning {
                line: self.current_line,
                message: format!("Empty continuation line found in: {buf}"),
            });
        }
    }

    /// Fills `node` from a logical line, with its heredoc bodies read.
    fn instruction(
        &mut self,
        line: &str,
        start_line: usize,
        escape: char,
        node: &mut Node<'a>,
    ) -> Result<(), DockerfileError> {
        let slicer = Slicer {
            source: self.lines.text(),
        };
        let heredocs_allowed =
            line_parsers::instruction(line, slicer, escape, node).map_err(|m| {
                let keyword = line_parsers::split_keyword(line).0;
                DockerfileError::new(start_line, Some(keyword), m)
            })?;
        node.original = slicer.text(line);
        if heredocs_allowed && has_heredoc_operator(line) {
            let fail = |m: String| DockerfileError::new(start_line, Some(&node.value), m);
            let mut heredocs: Vec<Heredoc<'a>> = heredoc::heredocs_from_line(line)
                .map_err(fail)?
                .into_iter()
                .map(|doc| Heredoc {
                    name: match doc.name {
                        Cow::Borrowed(name) => slicer.text(name),
                        Cow::Owned(name) => Cow::Owned(name),
                    },
                    file_descriptor: doc.file_descriptor,
                    expand: doc.expand,
                    chomp: doc.chomp,
                    content: Cow::Borrowed(""),
                })
                .collect();
            for doc in &mut heredocs {
                if !self.read_heredoc_body(doc) {
                    return Err(fail("unterminated heredoc".to_string()));
                }
            }
            node.heredocs = heredocs;
        }
        Ok(())
    }

    /// Reads body lines up to the terminator; false when the file ends first.
    fn read_heredoc_body(&mut self, doc: &mut Heredoc<'a>) -> bool {
        // The body lines lie one after another in the input: when it is text, the body is
        // copied at once, at its final size, rather than line by line.
        let whole = self.lines.text();
        let body_start = self.lines.position();
        loop {
            let line_start = self.lines.position();
            let Some((_, text)) = self.lines.next() else {
                return false;
            };
            self.current_line += 1;
            let mut candidate = trim_newline(&text);
            if doc.chomp {
                candidate = candidate.trim_start_matches('\t');
            }
            if candidate == doc.name {
                if let Some(body) = whole.and_then(|w| w.get(body_start..line_start)) {
                    doc.content = Cow::Borrowed(body);
                }
                return true;
            }
            if whole.is_none() {
                doc.content.to_mut().push_str(&text);
            }
        }
    }
}

/// Whether `<<` occurs in the line.
fn has_heredoc_operator(line: &str) -> bool {
    let b = line.as_bytes();
    memchr::memchr_iter(b'<', b).any(|i| b.get(i + 1) == Some(&b'<'))
}

/// The trigger of an ONBUILD gets its parent's lines (BuildKit leaves them unset).
fn set_trigger_lines(trigger: &mut Option<Box<Node<'_>>>, start: usize, end: usize) {
    let mut node = trigger.as_deref_mut();
    while let Some(child) = node {
        child.start_line = start;
        child.end_line = end;
        node = child.trigger.as_deref_mut();
    }
}

/// Turns pieces of a line into node text: borrowed when the piece lies inside the source
/// text, owned otherwise (a line joined from continuations is a temporary buffer).
#[derive(Clone, Copy)]
pub(crate) struct Slicer<'a> {
    /// The whole input, when it is UTF-8.
    source: Option<&'a str>,
}

impl<'a> Slicer<'a> {
    pub(crate) fn text(self, piece: &str) -> Cow<'a, str> {
        if let Some(src) = self.source {
            let start = (piece.as_ptr() as usize).wrapping_sub(src.as_ptr() as usize);
            if start <= src.len() && piece.len() <= src.len() - start {
                if let Some(s) = src.get(start..start + piece.len()) {
                    return Cow::Borrowed(s);
                }
            }
        }
        Cow::Owned(piece.to_string())
    }
}
