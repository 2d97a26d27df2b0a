//! The addon's allocator: blocks of 1 MiB and more are mapped from the
//! kernel and unmapped when freed; the rest goes to the system's malloc.
//!
//! glibc maps large blocks too, but after the first is freed it raises its
//! threshold to that block's size (up to 32 MiB): from then on the
//! analysis's arrays of a few MiB come from malloc's heap, and what they
//! leave when freed stays resident (about 10 MiB at the peak of a 150 MB
//! `diff`). Pinning the threshold (`mallopt`) would change the host
//! application's malloc as well; this changes only the addon's own blocks.

use std::alloc::{GlobalAlloc, Layout, System};
use std::ptr;

const LARGE: usize = 1 << 20;
/// Mappings are page-aligned: alignments up to the smallest page are met.
const PAGE: usize = 4096;

pub struct Allocator;

fn mapped(layout: Layout) -> bool {
    layout.size() >= LARGE && layout.align() <= PAGE
}

/// Fresh anonymous pages: zero, and resident only once touched.
unsafe fn map(size: usize) -> *mut u8 {
    let prot = libc::PROT_READ | libc::PROT_WRITE;
    let flags = libc::MAP_PRIVATE | libc::MAP_ANONYMOUS;
    match libc::mmap(ptr::null_mut(), size, prot, flags, -1, 0) {
        libc::MAP_FAILED => ptr::null_mut(),
        p => p.cast(),
    }
}

unsafe impl GlobalAlloc for Allocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        match mapped(layout) {
            true => map(layout.size()),
            false => System.alloc(layout),
        }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        match mapped(layout) {
            true => map(layout.size()),
            false => System.alloc_zeroed(layout),
        }
    }

    unsafe fn dealloc(&self, p: *mut u8, layout: Layout) {
        match mapped(layout) {
            true => {
                libc::munmap(p.cast(), layout.size());
            }
            false => System.dealloc(p, layout),
        }
    }

    unsafe fn realloc(&self, p: *mut u8, layout: Layout, size: usize) -> *mut u8 {
        let new = Layout::from_size_align_unchecked(size, layout.align());
        match (mapped(layout), mapped(new)) {
            (false, false) => System.realloc(p, layout, size),
            // The kernel moves the pages; nothing is copied.
            #[cfg(target_os = "linux")]
            (true, true) => {
                match libc::mremap(p.cast(), layout.size(), size, libc::MREMAP_MAYMOVE) {
                    libc::MAP_FAILED => ptr::null_mut(),
                    q => q.cast(),
                }
            }
            _ => {
                let q = self.alloc(new);
                if !q.is_null() {
                    ptr::copy_nonoverlapping(p, q, layout.size().min(size));
                    self.dealloc(p, layout);
                }
                q
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn blocks_keep_their_bytes_across_sizes() {
        let check = |v: &[u32], len: usize| {
            assert_eq!(v.len(), len);
            assert!(v.iter().enumerate().all(|(i, &x)| x == i as u32));
        };
        let mut v: Vec<u32> = (0..1000).collect();
        v.extend(1000..2_000_000); // small to mapped: copied
        check(&v, 2_000_000);
        v.extend(2_000_000..5_000_000); // mapped to mapped: moved
        check(&v, 5_000_000);
        v.truncate(1000);
        v.shrink_to_fit(); // mapped to small: copied
        check(&v, 1000);
        assert!(vec![0u64; 1 << 20].iter().all(|&x| x == 0));
    }
}
