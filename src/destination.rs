//! Where a snapshot goes: the final path, the temporary name it is written
//! under, and the default heapdump-compatible file name.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use crate::sink::s3::S3Settings;

/// Ends every temporary name: how leakguard's own leftovers are recognised.
const TEMP_SUFFIX: &str = ".leakguard.tmp";

#[derive(Clone, Debug)]
pub struct Destination {
    /// The final file name, complete only once the snapshot is.
    pub path: PathBuf,
    /// gzip level, `None` for raw JSON.
    pub gzip: Option<u32>,
    /// Where the file is uploaded once written, if anywhere.
    pub s3: Option<Arc<S3Settings>>,
    /// When the snapshot was asked for (its default name and object key).
    pub at: SystemTime,
}

impl Destination {
    /// `filename` may be absolute (used as is) or relative to `dir`; without
    /// one, heapdump's `heapdump-<seconds>.<microseconds>.heapsnapshot` is used.
    /// gzip output always ends in `.gz`.
    pub fn new(dir: &Path, filename: Option<&str>, gzip: Option<u32>, now: SystemTime) -> Self {
        let name = filename.map_or_else(|| default_name(now), str::to_string);
        let mut path = dir.join(name);
        if gzip.is_some() && path.extension().is_none_or(|e| e != "gz") {
            path.as_mut_os_string().push(".gz");
        }
        Destination {
            path,
            gzip,
            s3: None,
            at: now,
        }
    }

    /// The directory the file goes in and its name there; `None` when the
    /// path ends in `..` (no file name).
    pub fn split(&self) -> Option<(&Path, &OsStr)> {
        let name = self.path.file_name()?;
        let dir = self.path.parent().filter(|d| !d.as_os_str().is_empty());
        Some((dir.unwrap_or(Path::new(".")), name))
    }
}

/// A hidden sibling name for `name`: `.<name>.<pid>.<16 hex>.leakguard.tmp`.
/// Same directory, so the final rename is atomic; never a snapshot name
/// (hidden, and no `.heapsnapshot` suffix), so retention never counts it; the
/// pid tells whose it is, the random part makes it unpredictable.
pub fn temp_name(name: &OsStr) -> String {
    format!(
        ".{}.{}.{:016x}{TEMP_SUFFIX}",
        name.to_string_lossy(),
        std::process::id(),
        random()
    )
}

/// The writer's pid in a name of `temp_name`'s exact pattern; `None` for any other name.
pub fn temp_pid(name: &str) -> Option<u32> {
    let rest = name.strip_prefix('.')?.strip_suffix(TEMP_SUFFIX)?;
    let (rest, random) = rest.rsplit_once('.')?;
    let (final_name, pid) = rest.rsplit_once('.')?;
    let hex = |s: &str| s.len() == 16 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
    let digits =
        !pid.is_empty() && !pid.starts_with('0') && pid.bytes().all(|b| b.is_ascii_digit());
    if final_name.is_empty() || !hex(random) || !digits {
        return None;
    }
    pid.parse().ok()
}

/// 64 unpredictable bits from the kernel; should that fail, the clock and a
/// counter still give a unique name (`O_EXCL` and the retry catch the rest).
fn random() -> u64 {
    let mut bytes = [0u8; 8];
    if crate::entropy::fill(&mut bytes) {
        return u64::from_ne_bytes(bytes);
    }
    static SEQ: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_nanos() as u64;
    nanos ^ SEQ.fetch_add(1, Ordering::Relaxed).rotate_left(40)
}

/// The time encoded in a default name (`heapdump-<s>.<us>.heapsnapshot[.gz]`):
/// how leakguard recognises its own files. `None` for any other name.
pub fn default_name_time(name: &str) -> Option<(u64, u32)> {
    let rest = name.strip_prefix("heapdump-")?;
    let rest = rest.strip_suffix(".gz").unwrap_or(rest);
    let (secs, micros) = rest.strip_suffix(".heapsnapshot")?.split_once('.')?;
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if !digits(secs) || micros.len() != 6 || !digits(micros) {
        return None;
    }
    Some((secs.parse().ok()?, micros.parse().ok()?))
}

fn default_name(now: SystemTime) -> String {
    let t = now.duration_since(UNIX_EPOCH).unwrap_or_default();
    format!(
        "heapdump-{}.{:06}.heapsnapshot",
        t.as_secs(),
        t.subsec_micros()
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    const NOW: Duration = Duration::from_micros(1_700_000_000_000_042);

    #[test]
    fn only_default_names_are_recognised_as_leakguards() {
        let d = Destination::new(Path::new("/d"), None, Some(1), UNIX_EPOCH + NOW);
        let name = d.path.file_name().unwrap().to_str().unwrap();
        assert_eq!(default_name_time(name), Some((1_700_000_000, 42)));
        assert_eq!(
            default_name_time("heapdump-1.000001.heapsnapshot"),
            Some((1, 1))
        );
        for other in [
            "app.heapsnapshot",
            "heapdump-1.2.heapsnapshot",
            "heapdump-x.000001.heapsnapshot",
            ".heapdump-1.000001.heapsnapshot.9-0.tmp",
            ".heapdump-1.000001.heapsnapshot.9.0123456789abcdef.leakguard.tmp",
            "heapdump-1.000001.heapsnapshot.bak",
        ] {
            assert_eq!(default_name_time(other), None, "{other}");
        }
    }

    #[test]
    fn default_name_is_heapdumps_seconds_dot_microseconds() {
        let d = Destination::new(Path::new("/d"), None, None, UNIX_EPOCH + NOW);
        assert_eq!(
            d.path,
            Path::new("/d/heapdump-1700000000.000042.heapsnapshot")
        );
    }

    #[test]
    fn gzip_appends_gz_once() {
        let t = UNIX_EPOCH + NOW;
        let d = Destination::new(Path::new("/d"), Some("a.heapsnapshot"), Some(1), t);
        assert_eq!(d.path, Path::new("/d/a.heapsnapshot.gz"));
        let d = Destination::new(Path::new("/d"), Some("a.heapsnapshot.gz"), Some(1), t);
        assert_eq!(d.path, Path::new("/d/a.heapsnapshot.gz"));
    }

    #[test]
    fn absolute_filename_ignores_dir() {
        let d = Destination::new(Path::new("/d"), Some("/x/y.heapsnapshot"), None, UNIX_EPOCH);
        assert_eq!(d.path, Path::new("/x/y.heapsnapshot"));
    }

    #[test]
    fn temp_names_are_hidden_unpredictable_and_recognised() {
        let (a, b) = (
            temp_name(OsStr::new("a.heapsnapshot")),
            temp_name(OsStr::new("a.heapsnapshot")),
        );
        assert_ne!(a, b);
        let prefix = format!(".a.heapsnapshot.{}.", std::process::id());
        assert!(
            a.starts_with(&prefix) && a.ends_with(".leakguard.tmp"),
            "{a}"
        );
        assert_eq!(temp_pid(&a), Some(std::process::id()));
        assert_eq!(
            default_name_time(&a),
            None,
            "retention never counts a temp file"
        );
        let d = Destination::new(Path::new("/d"), None, None, UNIX_EPOCH);
        let t = temp_name(d.split().unwrap().1);
        assert_eq!(default_name_time(&t), None);
        assert!(temp_pid(&t).is_some(), "{t}");
    }

    #[test]
    fn only_the_exact_temp_pattern_is_recognised() {
        assert_eq!(temp_pid(".a.1.0123456789abcdef.leakguard.tmp"), Some(1));
        assert_eq!(
            temp_pid(".a.b.c.42.ffffffffffffffff.leakguard.tmp"),
            Some(42)
        );
        for other in [
            ".app.heapsnapshot.1-0.tmp",
            "a.1.0123456789abcdef.leakguard.tmp",
            "..1.0123456789abcdef.leakguard.tmp",
            ".a.1.0123456789abcde.leakguard.tmp",
            ".a.1.0123456789ABCDEF.leakguard.tmp",
            ".a.01.0123456789abcdef.leakguard.tmp",
            ".a.x1.0123456789abcdef.leakguard.tmp",
            ".a.99999999999.0123456789abcdef.leakguard.tmp",
            ".a.1.0123456789abcdef.leakguard.tmp.bak",
            ".a.1.0123456789abcdef.tmp",
        ] {
            assert_eq!(temp_pid(other), None, "{other}");
        }
    }

    #[test]
    fn split_gives_directory_and_name() {
        let d = Destination::new(
            Path::new("/d"),
            Some("sub/a.heapsnapshot"),
            None,
            UNIX_EPOCH,
        );
        assert_eq!(
            d.split(),
            Some((Path::new("/d/sub"), OsStr::new("a.heapsnapshot")))
        );
        let d = Destination::new(Path::new("/d"), Some(".."), None, UNIX_EPOCH);
        assert_eq!(d.split(), None);
    }
}
