//! Shell-word expansion with the semantics of BuildKit's shell lexer: `$v`, `${v}` and its
//! modifiers, quoting, escapes and word splitting, for the instructions Docker expands.

use std::collections::BTreeSet;

/// Where variable values come from.
pub trait Env {
    fn lookup(&self, name: &str) -> Option<String>;
}

/// An error from expansion: an unterminated quote, a bad `${…}`, a `${v:?msg}` that fired.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ShellError(pub String);

/// The lexer's options, as in BuildKit's `shell.Lex`.
#[derive(Debug, Clone)]
pub struct Lexer {
    pub escape: char,
    /// Keep quotes in the output instead of removing them.
    pub raw_quotes: bool,
    /// Keep escape characters in the output.
    pub raw_escapes: bool,
    /// Leave references to unset variables as written (`$NAME`) instead of expanding to "".
    pub skip_unset_env: bool,
}

impl Lexer {
    pub fn new(escape: char) -> Self {
        Lexer {
            escape,
            raw_quotes: false,
            raw_escapes: false,
            skip_unset_env: false,
        }
    }

    /// Expands `word` into one string, without word splitting (BuildKit's ProcessWord).
    pub fn process_word(&self, word: &str, env: &dyn Env) -> Result<String, ShellError> {
        self.process_word_with_matches(word, env).map(|(s, _)| s)
    }

    /// As [`Lexer::process_word`], also returning the names of the variables that were
    /// referenced and set (used to warn about build args nothing uses).
    pub fn process_word_with_matches(
        &self,
        word: &str,
        env: &dyn Env,
    ) -> Result<(String, BTreeSet<String>), ShellError> {
        let _ = (word, env);
        todo!("shell lexer")
    }

    /// Expands `word` and splits it into words (BuildKit's ProcessWords).
    pub fn process_words(&self, word: &str, env: &dyn Env) -> Result<Vec<String>, ShellError> {
        let _ = (word, env);
        todo!("shell lexer")
    }
}
