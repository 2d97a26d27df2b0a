//! Random bytes from the kernel, for temporary names and the route's hash.

/// Fills `buf` (at most 256 bytes) from the kernel's generator; false if it could not.
pub fn fill(buf: &mut [u8]) -> bool {
    #[cfg(not(target_os = "macos"))]
    {
        // SAFETY: writes at most `buf.len()` bytes into `buf`. The raw system call:
        // glibc's getrandom() is 2.25, above the 2.17 the addon is linked for.
        let n = unsafe { libc::syscall(libc::SYS_getrandom, buf.as_mut_ptr(), buf.len(), 0) };
        n == buf.len() as libc::c_long
    }
    #[cfg(target_os = "macos")]
    {
        // SAFETY: getentropy writes `buf.len()` (at most 256) bytes into `buf`.
        buf.len() <= 256 && unsafe { libc::getentropy(buf.as_mut_ptr().cast(), buf.len()) } == 0
    }
}
