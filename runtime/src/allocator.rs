//! The allocator `hivec` and the benchmarks install: mimalloc, asked for plain blocks where a
//! plain block is aligned enough.
//!
//! The `mimalloc` crate passes every allocation to `mi_malloc_aligned`. In mimalloc 3 that
//! call takes a longer path, and whenever the current page has no free block it checks for
//! "natural" alignment, which holds only for blocks of a power-of-two size: a 24- or 48-byte
//! request then takes a larger block (over-allocation). Every block of mimalloc is aligned to
//! the machine word, so a request aligned to a word or less needs no aligned call at all.

use libmimalloc_sys as mi;
use std::alloc::{GlobalAlloc, Layout};
use std::ffi::c_void;

/// Alignment every block of mimalloc has: its bins are multiples of the word size, and a
/// page's first block is aligned to 16 bytes.
const WORD: usize = std::mem::size_of::<usize>();

/// mimalloc as the global allocator; see the module's documentation.
pub struct Allocator;

// SAFETY: every method forwards to mimalloc, which meets `GlobalAlloc`'s contract for the
// layouts it is given: plain calls only where the layout's alignment is at most a word,
// which every mimalloc block has, and the aligned calls otherwise.
unsafe impl GlobalAlloc for Allocator {
    #[inline]
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: see the impl.
        unsafe {
            if layout.align() <= WORD {
                mi::mi_malloc(layout.size()).cast()
            } else {
                mi::mi_malloc_aligned(layout.size(), layout.align()).cast()
            }
        }
    }

    #[inline]
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: see the impl.
        unsafe {
            if layout.align() <= WORD {
                mi::mi_zalloc(layout.size()).cast()
            } else {
                mi::mi_zalloc_aligned(layout.size(), layout.align()).cast()
            }
        }
    }

    #[inline]
    unsafe fn dealloc(&self, ptr: *mut u8, _layout: Layout) {
        // SAFETY: `ptr` came from this allocator, as the caller guarantees.
        unsafe { mi::mi_free(ptr.cast::<c_void>()) }
    }

    #[inline]
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: `ptr` came from this allocator with `layout`, as the caller guarantees.
        unsafe {
            if layout.align() <= WORD {
                mi::mi_realloc(ptr.cast::<c_void>(), new_size).cast()
            } else {
                mi::mi_realloc_aligned(ptr.cast::<c_void>(), new_size, layout.align()).cast()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every size up to a few pages, at every alignment, plain and aligned paths, fresh,
    /// zeroed and grown: each block is aligned as asked and holds what was written.
    #[test]
    fn every_block_is_aligned_as_asked() {
        let a = Allocator;
        for align in [1, 2, 4, 8, 16, 32, 64, 4096] {
            let mut held = Vec::new();
            for size in (1..=2048).chain([4095, 4096, 70_000]) {
                let layout = Layout::from_size_align(size, align).unwrap();
                // SAFETY: a non-zero size; every block is freed below with its layout.
                unsafe {
                    let p = if size % 2 == 0 {
                        a.alloc(layout)
                    } else {
                        a.alloc_zeroed(layout)
                    };
                    assert!(!p.is_null());
                    assert_eq!(p as usize % align, 0, "size {size}, align {align}");
                    if size % 2 == 1 {
                        assert!(std::slice::from_raw_parts(p, size).iter().all(|&b| b == 0));
                    }
                    p.write_bytes(0xab, size);
                    let grown = a.realloc(p, layout, size * 3);
                    assert_eq!(grown as usize % align, 0, "grown {size}, align {align}");
                    assert!(
                        std::slice::from_raw_parts(grown, size)
                            .iter()
                            .all(|&b| b == 0xab)
                    );
                    held.push((grown, Layout::from_size_align(size * 3, align).unwrap()));
                }
            }
            for (p, layout) in held {
                // SAFETY: allocated above with this layout.
                unsafe { a.dealloc(p, layout) };
            }
        }
    }
}
