//! Where a snapshot goes: the final path, the temporary name it is written
//! under, and the default heapdump-compatible file name.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

#[derive(Clone, Debug)]
pub struct Destination {
    /// The final file name, complete only once the snapshot is.
    pub path: PathBuf,
    /// gzip level, `None` for raw JSON.
    pub gzip: Option<u32>,
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
        Destination { path, gzip }
    }

    /// A hidden, unique sibling of the final path: same directory (so the
    /// final rename is atomic) and never mistaken for a finished snapshot.
    pub fn temp_path(&self) -> PathBuf {
        static SEQ: AtomicU64 = AtomicU64::new(0);
        let name = self.path.file_name().unwrap_or_default().to_string_lossy();
        let seq = SEQ.fetch_add(1, Ordering::Relaxed);
        self.path
            .with_file_name(format!(".{name}.{}-{seq}.tmp", std::process::id()))
    }
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
    fn temp_path_is_hidden_unique_sibling() {
        let d = Destination::new(Path::new("/d"), Some("a.heapsnapshot"), None, UNIX_EPOCH);
        let (a, b) = (d.temp_path(), d.temp_path());
        assert_ne!(a, b);
        assert_eq!(a.parent(), Some(Path::new("/d")));
        let name = a.file_name().unwrap().to_string_lossy().into_owned();
        assert!(
            name.starts_with(".a.heapsnapshot.") && name.ends_with(".tmp"),
            "{name}"
        );
    }
}
