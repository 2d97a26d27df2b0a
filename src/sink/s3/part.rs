//! A part's bytes, read from the file into an anonymous mapping of their
//! own, which goes back to the OS the moment the SDK drops the part. From
//! the allocator, each freed 8 MiB buffer stayed in a thread's arena (glibc
//! raises its mmap threshold after the first free): an upload with one part
//! in flight measured 40 MiB over its process's baseline, this way the
//! upload holds what is in flight (BENCHMARKS.md, "S3 upload").

use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt;
use std::ptr::NonNull;

use bytes::Bytes;

struct Mapping {
    ptr: NonNull<u8>,
    len: usize,
}

// SAFETY: the mapping is owned and only read after it is filled.
unsafe impl Send for Mapping {}
unsafe impl Sync for Mapping {}

impl AsRef<[u8]> for Mapping {
    fn as_ref(&self) -> &[u8] {
        // SAFETY: `len` bytes mapped at `ptr`, alive until `drop`.
        unsafe { std::slice::from_raw_parts(self.ptr.as_ptr(), self.len) }
    }
}

impl Drop for Mapping {
    fn drop(&mut self) {
        // SAFETY: unmaps exactly what `read` mapped.
        unsafe { libc::munmap(self.ptr.as_ptr().cast(), self.len) };
    }
}

/// `len` bytes of `file` from `offset`, as `Bytes` backed by their own mapping.
pub fn read(file: &File, offset: u64, len: u64) -> io::Result<Bytes> {
    let len = usize::try_from(len).map_err(|_| io::Error::from_raw_os_error(libc::EFBIG))?;
    if len == 0 {
        return Ok(Bytes::new());
    }
    // SAFETY: a fresh private anonymous mapping; checked for failure below.
    let ptr = unsafe {
        libc::mmap(
            std::ptr::null_mut(),
            len,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
            -1,
            0,
        )
    };
    if ptr == libc::MAP_FAILED {
        return Err(io::Error::last_os_error());
    }
    let mapping = Mapping {
        ptr: NonNull::new(ptr.cast()).expect("mmap returned null"),
        len,
    };
    // SAFETY: the mapping is writable for `len` bytes and not yet shared.
    let buf = unsafe { std::slice::from_raw_parts_mut(mapping.ptr.as_ptr(), len) };
    file.read_exact_at(buf, offset)?;
    Ok(Bytes::from_owner(mapping))
}
