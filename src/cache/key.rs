//! Hashing for cache keys: every field is framed by its name and length, so that no two
//! different sets of inputs can run together into the same byte string.

use crate::image::digest::Digest;
use sha2::{Digest as _, Sha256};

pub struct KeyHasher {
    h: Sha256,
}

impl KeyHasher {
    pub fn new(domain: &str) -> KeyHasher {
        let mut k = KeyHasher { h: Sha256::new() };
        k.field("domain", domain.as_bytes());
        k
    }

    pub fn field(&mut self, name: &str, value: &[u8]) {
        self.h.update((name.len() as u64).to_le_bytes());
        self.h.update(name.as_bytes());
        self.h.update((value.len() as u64).to_le_bytes());
        self.h.update(value);
    }

    pub fn finish(self) -> Digest {
        Digest::from_hasher(self.h)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn framing_keeps_fields_apart() {
        let mut a = KeyHasher::new("t");
        a.field("x", b"ab");
        a.field("x", b"c");
        let mut b = KeyHasher::new("t");
        b.field("x", b"a");
        b.field("x", b"bc");
        assert_ne!(a.finish(), b.finish());
    }

    #[test]
    fn same_fields_same_key() {
        let k = |v: &[u8]| {
            let mut h = KeyHasher::new("t");
            h.field("v", v);
            h.finish()
        };
        assert_eq!(k(b"1"), k(b"1"));
        assert_ne!(k(b"1"), k(b"2"));
    }
}
