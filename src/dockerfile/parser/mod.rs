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

/// One instruction of the tree, as in BuildKit: its keyword (as written) in `value`, its
/// `--flags` in `flags` and its arguments in `next`. ONBUILD's trigger instruction is its
/// [`trigger`](Node::trigger) (in BuildKit, the only child of ONBUILD's one, empty, argument).
///
/// Text is borrowed from the source wherever it appears there as it is (nearly always: a
/// line without continuation, a word without quotes to strip), and the few arguments and
/// flags of an instruction are kept in the node, so that building and freeing the tree costs
/// next to no allocation. Text made up by the parser (continuation lines joined, JSON strings
/// unescaped) is owned.
///
/// The node list is the largest block of memory a parse writes, and it is walked again to
/// lower and to drop: what few instructions have (a trigger, heredocs, comments above) lies
/// out of line, behind one pointer, and the lines are `u32`, which keeps the node small.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Node<'a> {
    pub value: Cow<'a, str>,
    /// The arguments (BuildKit's `next` chain, flattened).
    pub next: Args<'a>,
    pub flags: NodeFlags<'a>,
    /// The logical line as written (continuations joined, without heredoc bodies).
    pub original: Cow<'a, str>,
    start_line: u32,
    end_line: u32,
    /// The arguments were written in JSON (exec) form.
    pub json: bool,
    /// None when the trigger, heredocs and comments are all absent (nearly always).
    rare: Option<Box<Rare<'a>>>,
}

/// The parts of a node that few instructions have.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Rare<'a> {
    /// ONBUILD's trigger, which gets the ONBUILD's lines.
    trigger: Option<Box<Node<'a>>>,
    heredocs: Heredocs<'a>,
    /// Comment lines directly above the instruction, without the `#`.
    prev_comments: Vec<String>,
}

impl Rare<'_> {
    fn is_empty(&self) -> bool {
        self.trigger.is_none() && self.heredocs.is_empty() && self.prev_comments.is_empty()
    }
}

impl<'a> Node<'a> {
    /// The first line of the instruction (1-based; 0 in a node built by hand without lines).
    #[inline]
    pub fn start_line(&self) -> usize {
        self.start_line as usize
    }

    /// The last line of the instruction, heredoc bodies included.
    #[inline]
    pub fn end_line(&self) -> usize {
        self.end_line as usize
    }

    /// Sets both lines. A line past `u32::MAX` (only in a file of more than 4 GiB) is kept as
    /// `u32::MAX`: such a file still parses, its far lines just are not told apart.
    #[inline]
    pub fn set_lines(&mut self, start: usize, end: usize) {
        self.start_line = u32::try_from(start).unwrap_or(u32::MAX);
        self.end_line = u32::try_from(end).unwrap_or(u32::MAX);
    }

    /// ONBUILD's trigger instruction.
    #[inline]
    pub fn trigger(&self) -> Option<&Node<'a>> {
        self.rare.as_ref()?.trigger.as_deref()
    }

    /// For the parser, which gives a trigger its ONBUILD's lines.
    #[inline]
    fn trigger_mut(&mut self) -> Option<&mut Node<'a>> {
        self.rare.as_mut()?.trigger.as_deref_mut()
    }

    pub fn set_trigger(&mut self, trigger: Option<Box<Node<'a>>>) {
        self.update_rare(|r| r.trigger = trigger);
    }

    /// The heredocs of RUN, COPY or ADD (and of an ONBUILD whose trigger is one of them),
    /// in the order their operators appear in the line.
    #[inline]
    pub fn heredocs(&self) -> &[Heredoc<'a>] {
        self.rare.as_ref().map_or(&[], |r| &r.heredocs)
    }

    pub fn set_heredocs(&mut self, heredocs: Heredocs<'a>) {
        self.update_rare(|r| r.heredocs = heredocs);
    }

    /// Comment lines directly above the instruction, without the `#`.
    #[inline]
    pub fn prev_comments(&self) -> &[String] {
        self.rare.as_ref().map_or(&[], |r| &r.prev_comments)
    }

    pub fn set_prev_comments(&mut self, comments: Vec<String>) {
        self.update_rare(|r| r.prev_comments = comments);
    }

    /// Changes the rare parts, keeping `rare` None when they are all empty: a node then
    /// costs no allocation, and equal nodes compare equal however they were built.
    fn update_rare(&mut self, change: impl FnOnce(&mut Rare<'a>)) {
        match &mut self.rare {
            Some(rare) => {
                change(rare);
                if rare.is_empty() {
                    self.rare = None;
                }
            }
            None => {
                let mut rare = Rare::default();
                change(&mut rare);
                if !rare.is_empty() {
                    self.rare = Some(Box::new(rare));
                }
            }
        }
    }
}

/// The root of the tree: the instructions in order, and the lines they span.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Ast<'a> {
    pub children: Vec<Node<'a>>,
    /// The first instruction's first line.
    pub start_line: usize,
    /// The last instruction's last line.
    pub end_line: usize,
}

/// An instruction's arguments: up to three in place (every instruction but a multi-pair ENV
/// or LABEL, or a long RUN in exec form).
pub type Args<'a> = List<Arg<'a>, 3>;

/// An instruction's `--flags`: one in place.
pub type NodeFlags<'a> = List<Cow<'a, str>, 1>;

/// An instruction's heredocs: one in place (nearly every instruction with heredocs has
/// one), so that the node's out-of-line part is its only allocation.
pub type Heredocs<'a> = List<Heredoc<'a>, 1>;

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
    pub ast: Ast<'a>,
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
            // A push of the default node, not `resize_with`: its fill loop cost a node more
            // than the node's own stores.
            let at = children.len();
            children.push(Node::default());
            let node = &mut children[at];
            self.instruction(line, start_line, escape, node)?;
            node.set_lines(start_line, self.current_line);
            if !comments.is_empty() {
                node.set_prev_comments(std::mem::take(comments));
            }
            set_trigger_lines(node, start_line, self.current_line);
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
        let ast = Ast {
            start_line: first.start_line(),
            end_line: children.last().map_or(0, |c| c.end_line()),
            children,
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
            let mut heredocs: Heredocs<'a> = heredoc::heredocs_from_line(line)
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
            node.set_heredocs(heredocs);
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
fn set_trigger_lines(node: &mut Node<'_>, start: usize, end: usize) {
    let mut node = node.trigger_mut();
    while let Some(child) = node {
        child.set_lines(start, end);
        node = child.trigger_mut();
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

#[cfg(test)]
mod tests {
    use super::*;

    /// The node list is the bulk of the memory a parse writes: a field added in line makes
    /// every node, hence every parse, bigger (the node was 264 bytes before its rare parts
    /// moved out of line, and is 184 on 64-bit targets now).
    #[test]
    fn node_stays_small() {
        assert!(std::mem::size_of::<Node>() <= 192);
    }

    /// The rare parts live out of line only while one of them is set: nodes built in
    /// different orders compare equal.
    #[test]
    fn rare_parts_are_dropped_when_emptied() {
        let mut node = Node::default();
        node.set_prev_comments(vec!["a".to_string()]);
        assert_eq!(node.prev_comments(), ["a"]);
        node.set_trigger(Some(Box::new(Node::default())));
        node.set_prev_comments(Vec::new());
        assert!(node.trigger().is_some());
        assert_ne!(node, Node::default());
        node.set_trigger(None);
        assert_eq!(node, Node::default());
        assert!(node.rare.is_none());
    }
}
