//! Shell-word expansion must never panic, overflow the stack or take super-linear time,
//! whatever the word: run every entry point on arbitrary UTF-8, with both escape tokens and
//! with the option sets BuildKit uses (plain expansion, and the raw/skip-unset mode of
//! heredoc detection).
#![no_main]

use kiln::dockerfile::shell::{Env, Lexer};
use libfuzzer_sys::fuzz_target;

const ENV: [(&str, &str); 8] = [
    ("PWD", "/home"),
    ("SHELL", "bash"),
    ("KOREAN", "한국어"),
    ("NULL", ""),
    ("SPACES", "  a b\tc  "),
    ("GLOB", "*?[a]\\*/}{$0$$"),
    ("LONG", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"),
    ("NL", "a\nb\n"),
];

fuzz_target!(|data: &[u8]| {
    let Ok(word) = std::str::from_utf8(data) else {
        return;
    };
    let env: &dyn Env = &ENV;
    for escape in ['\\', '`'] {
        let mut lexer = Lexer::new(escape);
        let word_result = lexer.process_word(word, env);
        let words_result = lexer.process_words(word, env);
        // One scan produces both results, so they must fail together.
        assert_eq!(word_result.is_ok(), words_result.is_ok());
        let _ = lexer.process_word_with_matches(word, env);

        lexer.raw_quotes = true;
        lexer.raw_escapes = true;
        lexer.skip_unset_env = true;
        let _ = lexer.process_words(word, env);
        lexer.skip_process_quotes = true;
        let _ = lexer.process_word(word, env);
    }
});
