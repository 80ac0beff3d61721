//! Inputs for the tests that hold a fast path to the general one: every string of a few
//! pieces over a small alphabet of the bytes and words that matter to the code under test.

/// Every concatenation of up to `max_pieces` pieces of `alphabet` (the empty string first).
pub(crate) fn every_string<'a>(
    alphabet: &'a [&'a str],
    max_pieces: u32,
) -> impl Iterator<Item = String> + 'a {
    (0..=max_pieces).flat_map(move |n| {
        (0..alphabet.len().pow(n)).map(move |mut code| {
            let mut s = String::new();
            for _ in 0..n {
                s.push_str(alphabet[code % alphabet.len()]);
                code /= alphabet.len();
            }
            s
        })
    })
}

#[cfg(test)]
mod tests {
    use super::every_string;

    #[test]
    fn every_string_of_up_to_two_pieces() {
        let all: Vec<String> = every_string(&["a", "bc"], 2).collect();
        assert_eq!(all, ["", "a", "bc", "aa", "bca", "abc", "bcbc"]);
    }
}
