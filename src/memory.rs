//! Process memory: resident set size, and giving freed pages back to the OS.

/// Resident set size in bytes, from `/proc/self/statm` (0 if unreadable).
pub fn rss() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: u64 = statm
        .split_whitespace()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .unwrap_or(0);
    pages * page_size()
}

fn page_size() -> u64 {
    // SAFETY: sysconf has no preconditions.
    let size = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    if size > 0 {
        size as u64
    } else {
        4096
    }
}

/// Returns the snapshot graph's freed memory to the OS. glibc keeps freed
/// arenas mapped, which is why the anchors leave RSS hundreds of MB higher
/// after a dump; `malloc_trim` releases them.
pub fn release_free_pages() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only inspects the allocator's own state.
    unsafe {
        libc::malloc_trim(0);
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn rss_is_plausible() {
        let rss = super::rss();
        assert!(rss > 1 << 20 && rss < 1 << 40, "{rss}");
    }
}
