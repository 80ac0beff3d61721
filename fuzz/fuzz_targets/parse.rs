//! Any bytes: the parser returns a tree or an error, never panics, and the tree it returns is
//! consistent (lines in order) and can be dumped.
#![no_main]

use kiln::dockerfile::parser::{dump, parse};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(parsed) = parse(data) {
        let ast = &parsed.ast;
        assert!(!ast.children.is_empty());
        let mut prev_end = 0;
        for child in &ast.children {
            assert!(child.start_line() > prev_end, "instructions overlap");
            assert!(child.start_line() <= child.end_line());
            prev_end = child.end_line();
        }
        assert_eq!(ast.start_line, ast.children[0].start_line());
        assert_eq!(ast.end_line, prev_end);
        let _ = dump(ast);
    }
});
