//! The allocator `hivec` and the benchmarks install: mimalloc, asked for plain blocks where a
//! plain block is aligned enough.
//!
//! The `mimalloc` crate passes every allocation to `mi_malloc_aligned`. In mimalloc 3 that
//! call takes a longer path, and whenever the current page has no free block it checks for
//! "natural" alignment, which holds only for blocks of a power-of-two size: a 24- or 48-byte
//! request then takes a larger block (over-allocation). Every block of mimalloc is aligned to
//! the machine word, so a request aligned to a word or less needs no aligned call at all.
//!
//! How freed memory goes back to the kernel depends on how long the process lives, which
//! the command decides: see [`keep_freed_memory`] and [`no_huge_pages`].

use libmimalloc_sys as mi;
use std::alloc::{GlobalAlloc, Layout};
use std::ffi::c_void;
use std::sync::atomic::{AtomicI64, Ordering};

/// `mi_option_purge_delay` of mimalloc 3's `mimalloc.h` (the crate names only mimalloc 2's
/// options): milliseconds before freed memory is given back to the kernel, `-1` for never.
const PURGE_DELAY: mi::mi_option_t = 15;

/// The purge delay [`keep_freed_memory`] replaced, for [`give_back_freed_memory`].
static PURGE_DELAY_BEFORE: AtomicI64 = AtomicI64::new(i64::MIN);

/// For a command that ends soon after its work (`check`, `plan`, a run's compilation): freed
/// memory stays with the allocator for reuse instead of going back to the kernel. Memory
/// given back and taken again is cleared anew by the kernel, a huge page 2 MB at a time; a
/// compilation frees and takes much as it goes from the tree to the plan.
pub fn keep_freed_memory() {
    // SAFETY: mimalloc's option calls take any option number and value.
    unsafe {
        let before = mi::mi_option_get(PURGE_DELAY);
        _ = PURGE_DELAY_BEFORE.compare_exchange(
            i64::MIN,
            before,
            Ordering::Relaxed,
            Ordering::Relaxed,
        );
        mi::mi_option_set(PURGE_DELAY, -1);
    }
}

/// Undoes [`keep_freed_memory`] once the process turns long-lived (a run's execution, which
/// may last hours): freed memory goes back to the kernel after mimalloc's usual delay.
pub fn give_back_freed_memory() {
    let before = PURGE_DELAY_BEFORE.load(Ordering::Relaxed);
    if before != i64::MIN {
        // SAFETY: as in `keep_freed_memory`.
        unsafe { mi::mi_option_set(PURGE_DELAY, before) };
    }
}

/// For a long-lived process whose memory comes and goes (the language server, the
/// coordinator, a worker): no transparent huge pages, so memory given back and taken again
/// is cleared 4 KB at a time, not 2 MB. An error (a kernel without the setting) leaves the
/// system's choice, which is only slower.
pub fn no_huge_pages() {
    _ = rustix::thread::disable_transparent_huge_pages(true);
}

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

    /// The option number is mimalloc 3's purge delay (its default, 1000 ms, is no other
    /// option's), and keeping then giving back freed memory sets it and restores it.
    #[test]
    fn freed_memory_is_kept_then_given_back() {
        // SAFETY: reading an option.
        let delay = || unsafe { mi::mi_option_get(PURGE_DELAY) };
        assert_eq!(delay(), 1000, "mimalloc's default purge delay");
        keep_freed_memory();
        assert_eq!(delay(), -1);
        give_back_freed_memory();
        assert_eq!(delay(), 1000);
    }

    /// Long-lived processes turn huge pages off for themselves.
    #[test]
    fn huge_pages_can_be_turned_off() {
        no_huge_pages();
        assert_eq!(
            rustix::thread::transparent_huge_pages_are_disabled().ok(),
            Some(true)
        );
    }

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
