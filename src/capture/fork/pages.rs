//! Node builds V8 with its private-mapping fork optimization: every
//! committed JS heap page is `MADV_DONTFORK`, so a plain child has no heap
//! and crashes at once (../shared/research/fork-capture.md). Before the
//! fork the ranges marked so (`dc` in smaps' VmFlags) are made forkable;
//! right after it the parent marks them again, or every later
//! `child_process` fork of the app would copy the whole heap.

use std::io;

/// Ranges this process had marked `MADV_DONTFORK`, made forkable for one fork.
pub struct Forkable(Vec<(usize, usize)>);

impl Forkable {
    /// Reads `/proc/self/smaps` and clears `MADV_DONTFORK` on its `dc` ranges.
    pub fn open() -> io::Result<Forkable> {
        let smaps = std::fs::read_to_string("/proc/self/smaps")?;
        let ranges = dontfork_ranges(&smaps);
        for (i, &(start, len)) in ranges.iter().enumerate() {
            if let Err(e) = advise(start, len, libc::MADV_DOFORK) {
                Forkable(ranges[..i].to_vec()).close();
                return Err(e);
            }
        }
        Ok(Forkable(ranges))
    }

    /// In the parent, after the fork: the ranges are `MADV_DONTFORK` again.
    /// A range unmapped meanwhile fails with ENOMEM, which is what it should.
    pub fn close(self) {
        for (start, len) in self.0 {
            let _ = advise(start, len, libc::MADV_DONTFORK);
        }
    }
}

fn advise(start: usize, len: usize, advice: libc::c_int) -> io::Result<()> {
    // SAFETY: fork advice changes no contents; the range came from smaps.
    match unsafe { libc::madvise(start as *mut libc::c_void, len, advice) } {
        0 => Ok(()),
        _ => Err(io::Error::last_os_error()),
    }
}

/// The (start, length) of each mapping whose VmFlags hold `dc`.
fn dontfork_ranges(smaps: &str) -> Vec<(usize, usize)> {
    let mut ranges = Vec::new();
    let mut current = None;
    for line in smaps.lines() {
        if let Some(flags) = line.strip_prefix("VmFlags:") {
            if let Some(range) = current.take() {
                if flags.split_whitespace().any(|f| f == "dc") {
                    ranges.push(range);
                }
            }
        } else if let Some(range) = mapping(line) {
            current = Some(range);
        }
    }
    ranges
}

/// A mapping's header line: `start-end perms offset dev inode [path]`.
fn mapping(line: &str) -> Option<(usize, usize)> {
    let (range, rest) = line.split_once(' ')?;
    let (start, end) = range.split_once('-')?;
    let start = usize::from_str_radix(start, 16).ok()?;
    let end = usize::from_str_radix(end, 16).ok()?;
    // Field lines ("Rss:   12 kB") have no dash-separated hex range.
    (end > start && rest.len() >= 4).then_some((start, end - start))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_dc_ranges_are_taken() {
        let smaps = "\
55d0c0000000-55d0c0021000 r--p 00000000 08:01 123 /usr/bin/node
Size:                132 kB
Rss:                 100 kB
VmFlags: rd mr mw me dw sd
3a1f00000000-3a1f00040000 rw-p 00000000 00:00 0
Size:                256 kB
VmFlags: rd wr mr mw me dc ac sd
7ffd1000-7ffd3000 rw-p 00000000 00:00 0 [stack]
VmFlags: rd wr mr mw me gd ac
";
        assert_eq!(dontfork_ranges(smaps), vec![(0x3a1f00000000, 0x40000)]);
    }

    #[test]
    fn this_process_reads() {
        let smaps = std::fs::read_to_string("/proc/self/smaps").unwrap();
        assert!(smaps.lines().filter_map(mapping).count() > 3);
    }
}
