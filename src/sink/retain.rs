//! Retention: after each new snapshot, delete leakguard's own oldest files in
//! its directory beyond `maxFiles` / `maxBytes`. Only files with leakguard's
//! default name (`heapdump-<s>.<us>.heapsnapshot[.gz]`) count; a file the app
//! named itself, or anything else in the directory, is never touched. Runs on
//! the writer thread; a file it cannot delete is reported (stderr, and an
//! `'error'` event), and the new snapshot still succeeds. A file marked as
//! waiting for upload (`s3::mark`) is never deleted, nor counted.

use std::fs;
use std::path::{Path, PathBuf};

use super::s3::mark;
use crate::destination::default_name_time;
use crate::error::LgError;
use crate::process::write_stderr;

/// `retain` configuration; both `None` keeps everything.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Retain {
    pub max_files: Option<usize>,
    pub max_bytes: Option<u64>,
}

/// Deletes what `retain` does not keep, never `newest` (the file just
/// written); returns the deletions that failed.
pub fn prune(newest: &Path, retain: Retain) -> Vec<LgError> {
    if retain == Retain::default() {
        return Vec::new();
    }
    let Some(entries) = newest.parent().and_then(|dir| fs::read_dir(dir).ok()) else {
        return Vec::new();
    };
    let mut files: Vec<((u64, u32), PathBuf, u64)> = entries
        .flatten()
        .filter_map(|e| {
            let name = e.file_name();
            let time = default_name_time(name.to_str()?)?;
            let meta = e.metadata().ok().filter(fs::Metadata::is_file)?;
            // Still waiting for upload: never deleted.
            let mark = e.path().with_file_name(mark::name_for(&name));
            if fs::symlink_metadata(mark).is_ok() {
                return None;
            }
            Some((time, e.path(), meta.len()))
        })
        .collect();
    files.sort_by_key(|f| std::cmp::Reverse(f.0)); // newest first
    let failed: Vec<LgError> = doomed(&files, newest, retain)
        .iter()
        .filter_map(|path| {
            fs::remove_file(path)
                .err()
                .map(|e| LgError::retention(path, &e))
        })
        .collect();
    for e in &failed {
        write_stderr(&format!("leakguard: {}\n", e.message));
    }
    failed
}

/// From `files` (newest first): the ones past the limits, counting `newest`
/// first whatever its place.
fn doomed(files: &[((u64, u32), PathBuf, u64)], newest: &Path, retain: Retain) -> Vec<PathBuf> {
    let first = files.iter().filter(|f| f.1 == newest);
    let rest = files.iter().filter(|f| f.1 != newest);
    let (mut count, mut bytes) = (0usize, 0u64);
    let mut out = Vec::new();
    for (_, path, len) in first.chain(rest) {
        count += 1;
        bytes += len;
        let over = retain.max_files.is_some_and(|m| count > m)
            || retain.max_bytes.is_some_and(|m| bytes > m);
        if over && path != newest {
            out.push(path.clone());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(s: u64, len: u64) -> ((u64, u32), PathBuf, u64) {
        (
            (s, 0),
            PathBuf::from(format!("/d/heapdump-{s}.000000.heapsnapshot")),
            len,
        )
    }

    #[test]
    fn keeps_the_newest_files_within_both_limits() {
        let files = [file(5, 10), file(4, 10), file(3, 10), file(2, 10)];
        let newest = &files[0].1;
        let only = |r| doomed(&files, newest, r);
        let names = |v: Vec<PathBuf>| {
            v.iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
        };
        assert_eq!(
            names(only(Retain {
                max_files: Some(2),
                max_bytes: None
            })),
            [
                "/d/heapdump-3.000000.heapsnapshot",
                "/d/heapdump-2.000000.heapsnapshot"
            ]
        );
        assert_eq!(
            only(Retain {
                max_files: None,
                max_bytes: Some(30)
            })
            .len(),
            1
        );
        // The new file is kept even when it alone is over the byte limit.
        assert_eq!(
            only(Retain {
                max_files: None,
                max_bytes: Some(5)
            })
            .len(),
            3
        );
    }

    #[test]
    fn a_file_waiting_for_upload_is_never_deleted() {
        let dir = std::env::temp_dir().join(format!("lg-retain-mark-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        let names = [
            "heapdump-1.000000.heapsnapshot",
            "heapdump-2.000000.heapsnapshot",
        ];
        for n in names {
            fs::write(dir.join(n), "{}").unwrap();
        }
        let newest = dir.join("heapdump-3.000000.heapsnapshot");
        fs::write(&newest, "{}").unwrap();
        let marked = mark::name_for(std::ffi::OsStr::new(names[0]));
        fs::write(dir.join(&marked), "pending").unwrap();
        let one = Retain {
            max_files: Some(1),
            max_bytes: None,
        };
        assert!(prune(&newest, one).is_empty());
        let mut left: Vec<String> = fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        left.sort();
        let expected = [marked.as_str(), names[0], "heapdump-3.000000.heapsnapshot"];
        assert_eq!(
            left, expected,
            "the marked one stays, the unmarked older one goes"
        );
        fs::remove_dir_all(dir).unwrap();
    }
}
