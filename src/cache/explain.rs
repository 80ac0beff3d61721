//! Why a step missed the cache, in words: the step is compared with the steps built on the
//! same parent before (the parent itself hit, or this would not be the first miss), and the
//! first input that differs is named — the instruction, a build arg or env value, a copied
//! file, a `--from` stage, the base image.

use super::{Cache, Entry, Inputs};
use crate::image::digest::Digest;
use std::collections::BTreeMap;

/// How many names of changed files an explanation lists before "and N more".
const MAX_NAMES: usize = 5;

/// Explains a miss of a step with `inputs` on `parent`. `base` describes the stage's base
/// when `parent` is the key a stage starts from.
pub fn explain(
    cache: &Cache,
    parent: &Digest,
    inputs: &Inputs,
    text: &str,
    base: Option<&str>,
) -> String {
    let children = cache.children(parent);
    let Some(old) = closest(&children, inputs) else {
        return match base {
            Some(b) => format!("nothing was built on {b} before (a new or changed base image)"),
            None => "this step was never built on the result of the step before it".to_string(),
        };
    };
    if old.inputs.instruction != inputs.instruction {
        if old.text == text {
            return "a variable the instruction uses has a new value".to_string();
        }
        let was = if old.text.is_empty() {
            old.inputs.instruction.clone()
        } else {
            old.text.clone()
        };
        return format!("the instruction changed (it was: {was})");
    }
    let env = env_diff(&old.inputs.env, &inputs.env);
    if !env.is_empty() {
        return format!("the build args or environment changed: {}", env.join(", "));
    }
    let old_parts: BTreeMap<&str, &str> = old
        .inputs
        .parts
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    for (name, value) in &inputs.parts {
        let before = old_parts.get(name.as_str()).copied();
        if before == Some(value.as_str()) {
            continue;
        }
        if let (Some(b), true) = (before, name.starts_with("files")) {
            if let Some(d) = files_diff(cache, b, value) {
                return format!("the copied files changed: {d}");
            }
            return "the copied files changed".to_string();
        }
        return match before {
            Some(b) => format!("{name} changed ({} → {})", short(b), short(value)),
            None => format!("{name} is new"),
        };
    }
    "an input changed".to_string()
}

/// The earlier step most like this one: the same instruction if any, else the same keyword,
/// else the newest.
fn closest<'a>(children: &'a [Entry], inputs: &Inputs) -> Option<&'a Entry> {
    let keyword = |s: &str| s.split(['(', ' ']).next().unwrap_or("").to_string();
    children
        .iter()
        .find(|e| e.inputs.instruction == inputs.instruction)
        .or_else(|| {
            children
                .iter()
                .find(|e| keyword(&e.inputs.instruction) == keyword(&inputs.instruction))
        })
        .or_else(|| children.first())
}

fn env_diff(old: &[String], new: &[String]) -> Vec<String> {
    let split = |v: &[String]| -> BTreeMap<String, String> {
        v.iter()
            .map(|e| match e.split_once('=') {
                Some((k, v)) => (k.to_string(), v.to_string()),
                None => (e.clone(), String::new()),
            })
            .collect()
    };
    let (a, b) = (split(old), split(new));
    let mut out = Vec::new();
    for (k, v) in &b {
        match a.get(k) {
            Some(o) if o == v => {}
            Some(o) => out.push(format!("{k}={o:?} → {k}={v:?}")),
            None => out.push(format!("{k}={v:?} is new")),
        }
    }
    for k in a.keys() {
        if !b.contains_key(k) {
            out.push(format!("{k} is gone"));
        }
    }
    out
}

/// Names the files that differ between two listings (`path\tattributes` lines).
fn files_diff(cache: &Cache, old: &str, new: &str) -> Option<String> {
    let load = |d: &str| -> Option<BTreeMap<String, String>> {
        let digest: Digest = d.parse().ok()?;
        let text = cache.listing(&digest)?;
        Some(
            String::from_utf8_lossy(&text)
                .lines()
                .filter_map(|l| l.split_once('\t'))
                .map(|(p, rest)| (p.to_string(), rest.to_string()))
                .collect(),
        )
    };
    let (a, b) = (load(old)?, load(new)?);
    let mut changed = Vec::new();
    let mut added = Vec::new();
    let mut removed = Vec::new();
    for (p, attrs) in &b {
        match a.get(p) {
            Some(o) if o == attrs => {}
            Some(o) => changed.push(describe_change(p, o, attrs)),
            None => added.push(p.clone()),
        }
    }
    for p in a.keys() {
        if !b.contains_key(p) {
            removed.push(p.clone());
        }
    }
    let mut parts = Vec::new();
    for (label, names) in [("changed", changed), ("added", added), ("removed", removed)] {
        if names.is_empty() {
            continue;
        }
        let mut s = format!("{label} {}", names[..names.len().min(MAX_NAMES)].join(", "));
        if names.len() > MAX_NAMES {
            s.push_str(&format!(" and {} more", names.len() - MAX_NAMES));
        }
        parts.push(s);
    }
    (!parts.is_empty()).then(|| parts.join("; "))
}

/// `app.py (content)`, `run.sh (mode 0644 → 0755)`: attributes are `kind\tmode\tcontent`.
fn describe_change(path: &str, old: &str, new: &str) -> String {
    let o: Vec<&str> = old.split('\t').collect();
    let n: Vec<&str> = new.split('\t').collect();
    let mut what = Vec::new();
    if o.first() != n.first() {
        what.push("type".to_string());
    }
    if o.get(1) != n.get(1) {
        what.push(format!(
            "mode {} → {}",
            o.get(1).unwrap_or(&"?"),
            n.get(1).unwrap_or(&"?")
        ));
    }
    if o.get(2) != n.get(2) {
        what.push("content".to_string());
    }
    format!("{path} ({})", what.join(", "))
}

fn short(v: &str) -> String {
    let hex = v.strip_prefix("sha256:").unwrap_or(v);
    if hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        hex[..12].to_string()
    } else {
        v.to_string()
    }
}
