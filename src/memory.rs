//! Process memory: resident set size, and giving freed pages back to the OS.

/// Resident set size in bytes (0 if unreadable).
#[cfg(not(target_os = "macos"))]
pub fn rss() -> u64 {
    // The second field of /proc/self/statm, in pages.
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: u64 = statm
        .split_whitespace()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .unwrap_or(0);
    pages * page_size()
}

/// Resident memory only this process maps (private clean and dirty pages),
/// in bytes: what a forked child's copy-on-write can duplicate at most.
/// 0 if unreadable.
#[cfg(target_os = "linux")]
pub fn private_rss() -> u64 {
    let rollup = std::fs::read_to_string("/proc/self/smaps_rollup").unwrap_or_default();
    let kib: u64 = rollup
        .lines()
        .filter(|l| l.starts_with("Private_Clean:") || l.starts_with("Private_Dirty:"))
        .filter_map(|l| l.split_whitespace().nth(1)?.parse::<u64>().ok())
        .sum();
    kib << 10
}

/// Resident set size in bytes (0 if unreadable), from the task's basic info.
#[cfg(target_os = "macos")]
pub fn rss() -> u64 {
    // SAFETY: a zeroed mach_task_basic_info is a valid value of a plain C struct.
    let mut info: libc::mach_task_basic_info = unsafe { std::mem::zeroed() };
    let mut count = libc::MACH_TASK_BASIC_INFO_COUNT;
    // SAFETY: task_info writes at most `count` integers into `info`.
    #[allow(deprecated)] // mach_task_self: libc points to the mach2 crate, for one call
    let status = unsafe {
        libc::task_info(
            libc::mach_task_self(),
            libc::MACH_TASK_BASIC_INFO,
            (&mut info as *mut libc::mach_task_basic_info).cast(),
            &mut count,
        )
    };
    if status == libc::KERN_SUCCESS {
        info.resident_size
    } else {
        0
    }
}

/// Memory the host can give without swapping, in bytes: free plus inactive
/// pages (what psutil reports as available), from the VM statistics.
#[cfg(target_os = "macos")]
pub fn host_available() -> Option<u64> {
    // SAFETY: a zeroed vm_statistics64 is a valid value of a plain C struct.
    let mut stats: libc::vm_statistics64 = unsafe { std::mem::zeroed() };
    let mut count = libc::HOST_VM_INFO64_COUNT;
    // SAFETY: host_statistics64 writes at most `count` integers into `stats`.
    #[allow(deprecated)] // mach_host_self: libc points to the mach2 crate, for one call
    let status = unsafe {
        libc::host_statistics64(
            libc::mach_host_self(),
            libc::HOST_VM_INFO64,
            (&mut stats as *mut libc::vm_statistics64).cast(),
            &mut count,
        )
    };
    (status == libc::KERN_SUCCESS)
        .then(|| (u64::from(stats.free_count) + u64::from(stats.inactive_count)) * page_size())
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

    #[cfg(target_os = "linux")]
    #[test]
    fn private_rss_is_part_of_rss() {
        let private = super::private_rss();
        assert!(
            private > 1 << 20 && private <= super::rss() + (1 << 20),
            "{private}"
        );
    }
}
