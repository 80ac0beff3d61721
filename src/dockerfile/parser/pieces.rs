//! Long Dockerfiles parsed in pieces on rayon's pool (see [`parse`] for how many).
//!
//! Where an instruction starts cannot be known without reading everything before it: a
//! continuation or a heredoc body can hold any text. So the pieces are a guess, checked
//! afterwards. Each piece starts at a line that follows what looks like the end of an
//! instruction, and is kept only if the piece before it, parsed for real, stopped exactly
//! there, on the same line number, with no comment lines waiting for an instruction. At the
//! first piece that fails the check, the parser before it reads on to the end of the file, as
//! a single parser would. Either way the result is the single parser's, errors included:
//! a piece's error counts only once the pieces before it are known to be right.

use rayon::prelude::*;

use super::directives::DirectiveParser;
use super::lines::{trim_newline, LineReader};
use super::{Directives, Node, ParseResult, Parser, Warning};
use crate::dockerfile::error::DockerfileError;
use crate::dockerfile::go_text::trim_left_space;

/// Below this size one parser is quicker than handing pieces to the pool.
pub(super) const MIN_LEN: usize = 128 << 10;

/// The smallest piece worth a thread of its own.
const MIN_PIECE: usize = 64 << 10;

/// See [`parse`].
const PIECES_PER_THREAD: usize = 2;

/// How many lines past a guessed start to look for the end of an instruction.
const SEARCH_LINES: usize = 64;

/// Parses `src` in twice as many pieces as the pool has threads (as far as the input is long
/// enough for). With one piece per thread, a thread that wakes late or loses its core for a
/// while (common on a shared machine) leaves the others waiting for its whole half; with
/// smaller pieces they take over what it has not started. The price is copying more nodes
/// when the pieces are joined, which is small beside that.
pub(super) fn parse(src: &[u8]) -> Result<ParseResult<'_>, DockerfileError> {
    let pieces = (PIECES_PER_THREAD * rayon::current_num_threads()).min(src.len() / MIN_PIECE);
    let escape = leading_escape(src);
    let mut starts = vec![0];
    for k in 1..pieces {
        if let Some(at) = next_instruction_guess(src, k * src.len() / pieces, escape) {
            if starts.last().is_some_and(|&last| at > last) {
                starts.push(at);
            }
        }
    }
    parse_from(src, &starts, escape)
}

/// One piece: where it started, its parser as it stopped, what it read, and how it ended.
struct Piece<'a> {
    /// The number of lines before the piece's first byte.
    line: usize,
    parser: Parser<'a>,
    children: Vec<Node<'a>>,
    comments: Vec<String>,
    result: Result<(), DockerfileError>,
}

/// Parses `src` in pieces starting at the line starts `starts` (the first is 0), assuming
/// `escape` is the file's escape token. Any starts give the single parser's result; good
/// guesses give it sooner.
pub(super) fn parse_from<'a>(
    src: &'a [u8],
    starts: &[usize],
    escape: char,
) -> Result<ParseResult<'a>, DockerfileError> {
    let text = std::str::from_utf8(src).ok();
    let pieces: Vec<Piece<'a>> = starts
        .par_iter()
        .enumerate()
        .map(|(k, &start)| {
            let stop = starts.get(k + 1).copied().unwrap_or(usize::MAX);
            let line = line_number(src, start);
            let mut parser = Parser::at(src, text, start, line, escape);
            // The first piece's list receives the others' nodes: room for the whole file
            // saves growing it, which would copy every node it holds.
            let until = if k == 0 { usize::MAX } else { stop };
            let mut children = Vec::with_capacity(line_count(src, start, until));
            let mut comments = Vec::new();
            let result = parser.parse_until(stop, &mut children, &mut comments);
            Piece {
                line,
                parser,
                children,
                comments,
                result,
            }
        })
        .collect();

    let mut pieces = pieces.into_iter().zip(starts.iter().copied());
    let Some((first, _)) = pieces.next() else {
        return Parser::new(src).run();
    };
    first.result?;
    let (mut parser, mut children, mut comments) = (first.parser, first.children, first.comments);
    // The file's directives, once the first piece is known to have read all of them.
    let mut directives = None;
    let mut warnings: Vec<Warning> = Vec::new();
    for (piece, start) in pieces {
        // The piece assumed the state a single parser has at a line start after an
        // instruction, past the directives.
        let synced = parser.lines.position() == start
            && parser.current_line == piece.line
            && comments.is_empty()
            && !parser.lines.too_long()
            && parser.directive_parser.is_done()
            && parser.directives.escape == escape;
        if !synced {
            // The guess was wrong here: this parser reads on, as a single one would.
            parser.parse_until(usize::MAX, &mut children, &mut comments)?;
            break;
        }
        piece.result?;
        warnings.append(&mut parser.warnings);
        children.extend(piece.children);
        let done = std::mem::replace(&mut parser, piece.parser);
        directives.get_or_insert(done.directives);
        comments = piece.comments;
    }
    warnings.append(&mut parser.warnings);
    parser.warnings = warnings;
    if let Some(d) = directives {
        parser.directives = d;
    }
    parser.finish(children)
}

/// The number of lines before byte `at`.
fn line_number(src: &[u8], at: usize) -> usize {
    memchr_count(&src[..at.min(src.len())])
}

/// An upper bound on the instructions between two bytes.
fn line_count(src: &[u8], start: usize, stop: usize) -> usize {
    let stop = stop.min(src.len());
    memchr_count(src.get(start..stop).unwrap_or_default()) + 1
}

fn memchr_count(s: &[u8]) -> usize {
    memchr::memchr_iter(b'\n', s).count()
}

/// The escape token the directives at the top of the file set (errors there are left to
/// the first piece to report).
fn leading_escape(src: &[u8]) -> char {
    let mut directives = Directives::default();
    let mut parser = DirectiveParser::default();
    let mut lines = LineReader::starting_at(src, None, 0);
    let mut first = true;
    while let Some((_, text)) = lines.next() {
        let text = match (first, text.strip_prefix('\u{feff}')) {
            (true, Some(t)) => t,
            _ => &*text,
        };
        first = false;
        let token = trim_left_space(trim_newline(text));
        if !matches!(parser.line(token, &mut directives), Ok(true)) {
            break;
        }
    }
    directives.escape
}

/// The start of a line, at or after the first line break from `from`, that follows a line
/// that looks like the end of an instruction: not blank, not a comment, not continued.
fn next_instruction_guess(src: &[u8], from: usize, escape: char) -> Option<usize> {
    let escape = u8::try_from(escape).ok()?;
    let mut start = from + src.get(from..)?.iter().position(|&b| b == b'\n')? + 1;
    for _ in 0..SEARCH_LINES {
        let len = src.get(start..)?.iter().position(|&b| b == b'\n')?;
        let line = &src[start..start + len];
        start += len + 1;
        let body = line.trim_ascii();
        if !body.is_empty() && body[0] != b'#' && body[body.len() - 1] != escape {
            return Some(start);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every start of a line as the second piece's start, and every pair of them, gives the
    /// single parser's result (or error), whatever the line is inside of.
    #[test]
    fn any_split_gives_the_single_parsers_result() {
        let files: [&[u8]; 6] = [
            b"# syntax=docker/dockerfile:1\n# escape=`\nFROM a AS b\n# about run\nRUN echo `\n  one `\n\n  # inside\n  two\nCOPY <<EOF <<-END /x\nFROM not-an-instruction\n# nor a comment\nEOF\n\tbody\n\tEND\n#\n# kept\nENV A=1 `\n    B=2\nRUN <<EOF\nRUN nope\nEOF\nLABEL x=y\n",
            b"FROM a\r\nRUN a \\\r\n b\r\nCMD [\"x\"]\r\nUSER 1\r\n",
            b"FROM a\nRUN ok\nBOGUS x\nRUN <<EOF\nunterminated\n",
            b"FROM a\nRUN x\n\xff\xfe ENV A=\xff\nLABEL a=b\nFORM b\n",
            b"# check=skip=all\nARG X=1\nFROM scratch\nENV a=b \\\n\n    c=d\nONBUILD RUN x\nEXPOSE 1\n",
            b"# syntax=x\n# check=y\n\n# escape=`\nFROM a\nRUN b \\\nUSER c\n",
        ];
        for file in files {
            let src: &[u8] = file;
            let file = String::from_utf8_lossy(file);
            let single = format!("{:?}", Parser::new(src).run());
            let starts: Vec<usize> = std::iter::once(0)
                .chain(
                    src.iter()
                        .enumerate()
                        .filter(|(_, &b)| b == b'\n')
                        .map(|(i, _)| i + 1),
                )
                .filter(|&s| s < src.len())
                .collect();
            let escape = leading_escape(src);
            for (i, &a) in starts.iter().enumerate().skip(1) {
                let got = format!("{:?}", parse_from(src, &[0, a], escape));
                assert_eq!(got, single, "split at {a} in {file:?}");
                for &b in &starts[i + 1..] {
                    let got = format!("{:?}", parse_from(src, &[0, a, b], escape));
                    assert_eq!(got, single, "split at {a} and {b} in {file:?}");
                }
            }
        }
    }

    /// A file long enough to be split by [`super::super::parse`] itself, with heredocs and
    /// continuations all through it, parses as one parser parses it.
    #[test]
    fn a_long_file_parses_as_a_single_parser_parses_it() {
        let mut src = String::from("# escape=`\nFROM a\n");
        for i in 0..4000 {
            src.push_str(&format!(
                "# step {i}\nRUN echo {i} `\n  && true\nCOPY <<EOF /f{i}\nFROM x\n# y\nEOF\nENV A{i}=`\n\n    b\n"
            ));
        }
        assert!(src.len() > 2 * MIN_LEN);
        let single = format!("{:?}", Parser::new(src.as_bytes()).run());
        assert_eq!(format!("{:?}", super::super::parse(src.as_bytes())), single);
        assert_eq!(format!("{:?}", parse(src.as_bytes())), single);
    }

    #[test]
    fn guesses_follow_the_end_of_an_instruction() {
        let src = b"FROM a\nRUN x \\\n  y\n# c\n\nRUN z\nUSER u\n";
        // After the continued RUN's last line, even though a comment follows.
        assert_eq!(next_instruction_guess(src, 0, '\\'), Some(19));
        assert_eq!(&src[19..], b"# c\n\nRUN z\nUSER u\n");
        assert_eq!(next_instruction_guess(src, 19, '\\'), Some(30));
        assert_eq!(&src[30..], b"USER u\n");
        assert_eq!(next_instruction_guess(b"FROM a", 0, '\\'), None);
        assert_eq!(leading_escape(b"\xef\xbb\xbf# escape=`\nFROM a\n"), '`');
        assert_eq!(leading_escape(b"FROM a\n# escape=`\n"), '\\');
    }
}
