//! BuildKit's test dump of the node tree: `(from "ubuntu:14.04")` per instruction. Written into
//! one buffer (BuildKit concatenates strings per level, which is quadratic on big files).

use super::{Ast, Node};
use crate::dockerfile::go_text::{go_lower, go_quote_into, is_space};

/// Renders a tree in BuildKit's dump format.
pub fn dump(ast: &Ast) -> String {
    let mut out = String::new();
    // The root has no text of its own: its level is its children's.
    dump_children(&ast.children, &mut out);
    trim_level(&mut out, 0);
    out
}

/// Appends the dump of `node`, trimmed as BuildKit trims each level.
fn dump_into(node: &Node, out: &mut String) {
    let start = out.len();
    push_lower(&node.value, out);
    if !node.flags.is_empty() {
        out.push_str(" [");
        for (i, f) in node.flags.iter().enumerate() {
            if i > 0 {
                out.push(' ');
            }
            go_quote_into(f, out);
        }
        out.push(']');
    }
    for arg in &node.next {
        out.push(' ');
        go_quote_into(&arg.value, out);
    }
    if let Some(trigger) = node.trigger() {
        // BuildKit's ONBUILD has one argument, empty, whose only child is the trigger: it
        // dumps as a node would.
        out.push(' ');
        let start = out.len();
        dump_children(std::slice::from_ref(trigger), out);
        trim_level(out, start);
    }
    trim_level(out, start);
}

fn push_lower(value: &str, out: &mut String) {
    if value.is_ascii() {
        out.extend(value.bytes().map(|b| b.to_ascii_lowercase() as char));
    } else {
        out.push_str(&go_lower(value));
    }
}

fn dump_children(children: &[Node], out: &mut String) {
    for child in children {
        out.push('(');
        dump_into(child, out);
        out.push_str(")\n");
    }
}

/// strings.TrimSpace on one level's text (from `start`) only.
fn trim_level(out: &mut String, start: usize) {
    let end = out[start..].trim_end_matches(is_space).len() + start;
    out.truncate(end);
    let lead = out[start..].len() - out[start..].trim_start_matches(is_space).len();
    if lead > 0 {
        out.drain(start..start + lead);
    }
}
