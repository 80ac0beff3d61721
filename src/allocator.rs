//! The global allocator of the kiln binary and its benchmarks: mimalloc, called the way the
//! standard library calls the C allocator.
//!
//! Written here rather than taken from the `mimalloc` crate because that crate asks
//! `mi_malloc_aligned` for every allocation, alignment 1 or 8 included. mimalloc's aligned
//! entry point checks the alignment, looks for a block that happens to be aligned and falls
//! back to over-allocating; plain `mi_malloc` already returns blocks aligned to 16 bytes
//! (8 for the 8-byte size class). Planning the 10,000-instruction benchmark file makes about
//! 33,000 allocations: they cost ~57 instructions each through the aligned entry point and
//! ~42 through the plain one (callgrind, page refills included). Alignments plain `mi_malloc` does not
//! guarantee still go to the aligned entry points, as `std::alloc::System` does with
//! `malloc`.
//!
//! Not set in the library itself, so that the fuzz targets keep the sanitizer's allocator:
//! the binary and the benchmarks each name it with `#[global_allocator]`.

use std::alloc::{GlobalAlloc, Layout};
use std::ffi::c_void;

use libmimalloc_sys::{
    mi_free, mi_malloc, mi_malloc_aligned, mi_realloc, mi_realloc_aligned, mi_zalloc,
    mi_zalloc_aligned,
};

/// The alignment every `mi_malloc` block of at least that size has (mimalloc's
/// `MI_MAX_ALIGN_SIZE`, the size of `max_align_t` on the 64-bit targets kiln builds for).
const PLAIN_ALIGN: usize = 16;

/// mimalloc as the global allocator.
pub struct Allocator;

/// Whether a plain (unaligned) mimalloc call gives this layout's alignment: a block is
/// aligned to 16 bytes, or to its own size when smaller (and an alignment never exceeds the
/// size of a type).
fn plain(align: usize, size: usize) -> bool {
    align <= PLAIN_ALIGN && align <= size
}

// SAFETY: every pointer handed out comes from mimalloc, with the layout's alignment (the
// plain calls only where mimalloc guarantees it, see `plain`), and goes back to `mi_free`,
// which takes blocks from every mimalloc entry point.
unsafe impl GlobalAlloc for Allocator {
    #[inline]
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if plain(layout.align(), layout.size()) {
            mi_malloc(layout.size()) as *mut u8
        } else {
            mi_malloc_aligned(layout.size(), layout.align()) as *mut u8
        }
    }

    #[inline]
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        if plain(layout.align(), layout.size()) {
            mi_zalloc(layout.size()) as *mut u8
        } else {
            mi_zalloc_aligned(layout.size(), layout.align()) as *mut u8
        }
    }

    #[inline]
    unsafe fn dealloc(&self, ptr: *mut u8, _layout: Layout) {
        mi_free(ptr as *mut c_void);
    }

    #[inline]
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if plain(layout.align(), new_size) {
            mi_realloc(ptr as *mut c_void, new_size) as *mut u8
        } else {
            mi_realloc_aligned(ptr as *mut c_void, new_size, layout.align()) as *mut u8
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every size up to 512 bytes and then some large ones, at every alignment up to 4 KiB:
    /// each block has its alignment, keeps what was written through a realloc that grows
    /// and shrinks it, and zeroed blocks are zero.
    #[test]
    fn blocks_have_their_alignment_and_keep_their_contents() {
        let sizes = (1..=512).chain([1000, 4095, 4096, 8191, 65_536, 1 << 20, (1 << 22) + 3]);
        for size in sizes {
            for shift in 0..=12 {
                let align = 1usize << shift;
                let Ok(layout) = Layout::from_size_align(size, align) else {
                    continue;
                };
                unsafe {
                    let p = Allocator.alloc(layout);
                    assert!(!p.is_null(), "size {size} align {align}");
                    assert_eq!(p as usize % align, 0, "size {size} align {align}");
                    std::ptr::write_bytes(p, 0xa5, size);
                    let grown = size * 2 + 1;
                    let q = Allocator.realloc(p, layout, grown);
                    assert_eq!(q as usize % align, 0, "realloc size {grown} align {align}");
                    let kept = std::slice::from_raw_parts(q, size);
                    assert!(kept.iter().all(|&b| b == 0xa5), "size {size} align {align}");
                    let grown_layout = Layout::from_size_align(grown, align).unwrap();
                    let shrunk = size.div_ceil(2);
                    let r = Allocator.realloc(q, grown_layout, shrunk);
                    assert_eq!(r as usize % align, 0, "shrink to {shrunk} align {align}");
                    let kept = std::slice::from_raw_parts(r, shrunk);
                    assert!(kept.iter().all(|&b| b == 0xa5), "size {size} align {align}");
                    Allocator.dealloc(r, Layout::from_size_align(shrunk, align).unwrap());

                    let z = Allocator.alloc_zeroed(layout);
                    assert_eq!(z as usize % align, 0, "zeroed size {size} align {align}");
                    assert!(std::slice::from_raw_parts(z, size).iter().all(|&b| b == 0));
                    Allocator.dealloc(z, layout);
                }
            }
        }
    }
}
