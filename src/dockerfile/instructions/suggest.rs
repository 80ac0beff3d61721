//! "did you mean …?" hints, as BuildKit's `util/suggest`: the closest candidate within an edit
//! distance of two, and none on an exact match (then the error is about something else).

/// Levenshtein distance over characters.
pub fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    let mut cur = vec![0; b.len() + 1];
    for (i, ca) in a.chars().enumerate() {
        cur[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != *cb);
            cur[j + 1] = (prev[j] + cost).min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        std::mem::swap(&mut prev, &mut cur);
    }
    prev[b.len()]
}

/// The candidate closest to `value` (distance below 3), as written in `options`.
pub fn search<'a>(value: &str, options: &[&'a str], case_sensitive: bool) -> Option<&'a str> {
    if value.is_empty() {
        return None;
    }
    let norm = |s: &str| {
        if case_sensitive {
            s.to_string()
        } else {
            s.to_ascii_lowercase()
        }
    };
    let v = norm(value);
    let mut best: Option<&'a str> = None;
    let mut score = 3;
    for opt in options {
        let o = norm(opt);
        if o == v {
            return None;
        }
        let d = distance(&v, &o);
        if d < score {
            score = d;
            best = Some(opt);
        }
    }
    best
}

/// Appends ` (did you mean X?)` to `msg` when a candidate is close to `value`.
pub fn wrap(msg: String, value: &str, options: &[&str], case_sensitive: bool) -> String {
    match search(value, options, case_sensitive) {
        Some(m) => format!("{msg} (did you mean {m}?)"),
        None => msg,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distances() {
        assert_eq!(distance("form", "from"), 2);
        assert_eq!(distance("", "abc"), 3);
        assert_eq!(distance("kitten", "sitting"), 3);
    }

    #[test]
    fn suggestions() {
        assert_eq!(search("FORM", &["RUN", "FROM"], false), Some("FROM"));
        assert_eq!(search("from", &["FROM"], false), None);
        assert_eq!(search("xyzzy", &["FROM"], false), None);
    }
}
