//! A list that holds its first few items in place. Nearly every instruction has one to three
//! arguments and at most one flag; keeping those inside the node spares an allocation and a
//! free per instruction, which were a large part of building and dropping the tree (small
//! blocks aligned to 8 bytes take the allocator's slow path).

use std::fmt;
use std::ops::{Deref, DerefMut};

/// Up to `N` items in place, more on the heap. Reads as a slice (`Deref`), compares and prints
/// as one, so that readers use it as they would a `Vec`.
#[derive(Clone)]
pub struct List<T, const N: usize> {
    repr: Repr<T, N>,
}

#[derive(Clone)]
enum Repr<T, const N: usize> {
    /// `items[..len]` are the list; the rest are defaults.
    Inline {
        items: [T; N],
        len: u8,
    },
    Heap(Vec<T>),
}

impl<T: Default, const N: usize> List<T, N> {
    #[inline]
    pub fn new() -> Self {
        List {
            repr: Repr::Inline {
                items: std::array::from_fn(|_| T::default()),
                len: 0,
            },
        }
    }

    /// A list that will hold `n` items without growing.
    #[inline]
    pub fn with_capacity(n: usize) -> Self {
        if n <= N {
            Self::new()
        } else {
            List {
                repr: Repr::Heap(Vec::with_capacity(n)),
            }
        }
    }

    /// Makes room for `n` more items at once (one allocation when they do not fit in place).
    pub fn reserve(&mut self, n: usize) {
        match &mut self.repr {
            Repr::Inline { items, len } if usize::from(*len) + n > N => {
                let mut v = Vec::with_capacity(usize::from(*len) + n);
                v.extend(items.iter_mut().take(usize::from(*len)).map(std::mem::take));
                self.repr = Repr::Heap(v);
            }
            Repr::Inline { .. } => {}
            Repr::Heap(v) => v.reserve(n),
        }
    }

    #[inline]
    pub fn push(&mut self, item: T) {
        match &mut self.repr {
            Repr::Inline { items, len } if usize::from(*len) < N => {
                items[usize::from(*len)] = item;
                *len += 1;
            }
            Repr::Inline { .. } => self.spill(item),
            Repr::Heap(v) => v.push(item),
        }
    }

    /// Keeps the first `n` items (all of them when there are no more).
    pub fn truncate(&mut self, n: usize) {
        match &mut self.repr {
            Repr::Inline { items, len } => {
                if n < usize::from(*len) {
                    // The places past the end hold defaults.
                    items[n..usize::from(*len)]
                        .iter_mut()
                        .for_each(|item| *item = T::default());
                    // `n` is below `len`, a `u8`.
                    *len = n as u8;
                }
            }
            Repr::Heap(v) => v.truncate(n),
        }
    }

    /// Moves the items to the heap, with `item` after them (out of line: rare).
    #[cold]
    #[inline(never)]
    fn spill(&mut self, item: T) {
        if let Repr::Inline { items, .. } = &mut self.repr {
            let mut v = Vec::with_capacity(2 * N.max(2));
            v.extend(items.iter_mut().map(std::mem::take));
            v.push(item);
            self.repr = Repr::Heap(v);
        }
    }
}

impl<T, const N: usize> Deref for List<T, N> {
    type Target = [T];
    #[inline]
    fn deref(&self) -> &[T] {
        match &self.repr {
            Repr::Inline { items, len } => &items[..usize::from(*len)],
            Repr::Heap(v) => v,
        }
    }
}

impl<T, const N: usize> DerefMut for List<T, N> {
    #[inline]
    fn deref_mut(&mut self) -> &mut [T] {
        match &mut self.repr {
            Repr::Inline { items, len } => &mut items[..usize::from(*len)],
            Repr::Heap(v) => v,
        }
    }
}

impl<T: Default, const N: usize> Default for List<T, N> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T: fmt::Debug, const N: usize> fmt::Debug for List<T, N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

impl<T: PartialEq, const N: usize> PartialEq for List<T, N> {
    fn eq(&self, other: &Self) -> bool {
        **self == **other
    }
}

impl<T: Eq, const N: usize> Eq for List<T, N> {}

impl<T: PartialEq<U>, U, const N: usize> PartialEq<Vec<U>> for List<T, N> {
    fn eq(&self, other: &Vec<U>) -> bool {
        **self == **other
    }
}

impl<T: Default, const N: usize> FromIterator<T> for List<T, N> {
    fn from_iter<I: IntoIterator<Item = T>>(iter: I) -> Self {
        let iter = iter.into_iter();
        let mut list = Self::with_capacity(iter.size_hint().0);
        iter.for_each(|item| list.push(item));
        list
    }
}

impl<T: Default, const N: usize> Extend<T> for List<T, N> {
    fn extend<I: IntoIterator<Item = T>>(&mut self, iter: I) {
        iter.into_iter().for_each(|item| self.push(item));
    }
}

impl<T: Default, const N: usize> From<Vec<T>> for List<T, N> {
    fn from(v: Vec<T>) -> Self {
        if v.len() <= N {
            v.into_iter().collect()
        } else {
            List {
                repr: Repr::Heap(v),
            }
        }
    }
}

impl<'l, T, const N: usize> IntoIterator for &'l List<T, N> {
    type Item = &'l T;
    type IntoIter = std::slice::Iter<'l, T>;
    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

impl<'l, T, const N: usize> IntoIterator for &'l mut List<T, N> {
    type Item = &'l mut T;
    type IntoIter = std::slice::IterMut<'l, T>;
    fn into_iter(self) -> Self::IntoIter {
        self.iter_mut()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every length across the spill point, built each way, reads as the `Vec` would.
    #[test]
    fn reads_as_a_vec_across_the_spill() {
        for n in 0..8usize {
            let v: Vec<String> = (0..n).map(|i| i.to_string()).collect();
            let mut pushed: List<String, 3> = List::new();
            v.iter().for_each(|s| pushed.push(s.clone()));
            let collected: List<String, 3> = v.iter().cloned().collect();
            let sized = {
                let mut l = List::<String, 3>::with_capacity(n);
                l.extend(v.iter().cloned());
                l
            };
            let reserved = {
                let mut l = List::<String, 3>::new();
                let half = n / 2;
                l.extend(v[..half].iter().cloned());
                l.reserve(n - half);
                l.extend(v[half..].iter().cloned());
                l
            };
            let converted = List::<String, 3>::from(v.clone());
            for l in [&pushed, &collected, &sized, &reserved, &converted] {
                assert_eq!(&**l, v.as_slice());
                assert_eq!(*l, v);
                assert_eq!(format!("{l:?}"), format!("{v:?}"));
                assert_eq!(l.iter().count(), n);
            }
            assert_eq!(pushed, converted);
            for k in 0..=n + 1 {
                for l in [&pushed, &converted] {
                    let mut cut = l.clone();
                    cut.truncate(k);
                    assert_eq!(*cut, v[..k.min(n)]);
                    // What is pushed after a cut lands where a list of that length puts it.
                    cut.push("x".to_string());
                    assert_eq!(cut.last().map(String::as_str), Some("x"));
                    assert_eq!(cut.len(), k.min(n) + 1);
                }
            }
            if n > 0 {
                pushed[n - 1].push('x');
                assert_ne!(pushed, converted);
            }
        }
    }
}
