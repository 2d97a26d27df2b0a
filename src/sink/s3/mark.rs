//! Pending-upload marks. A snapshot bound for S3 gets a hidden sidecar,
//! `.<name>.leakguard-upload`, before its file exists, and loses it only
//! once the object is verified in S3. A process that dies in between (a
//! near-heap-limit snapshot is usually followed by death) leaves the file
//! and its mark; the next process with the same `dir` uploads it
//! (`leftovers`), and retention never deletes a marked file.
//!
//! The mark records the key and metadata the snapshot was taken with, and
//! the multipart upload id while one is open, so a dangling upload can be
//! aborted later. Its uploader holds an exclusive `flock` on it: a mark
//! nobody holds is a leftover, and two processes never upload one file.

use std::ffi::{CStr, CString, OsStr};
use std::fs::File;
use std::io::{self, Read, Seek, Write};
use std::sync::Arc;

use crate::sink::stale::lock;
use crate::sink::Dir;

const SUFFIX: &str = ".leakguard-upload";
/// A mark is a few short lines; anything longer is not one of ours.
const MAX_BYTES: u64 = 8 << 10;

/// The mark's name for the snapshot file `name`.
pub fn name_for(snapshot: &OsStr) -> String {
    format!(".{}{SUFFIX}", snapshot.to_string_lossy())
}

/// The snapshot file a mark named `mark` is for; `None` for other names.
pub fn snapshot_of(mark: &str) -> Option<&str> {
    mark.strip_prefix('.')?
        .strip_suffix(SUFFIX)
        .filter(|n| !n.is_empty())
}

/// What the snapshot was taken as: the object's key and metadata.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Record {
    pub bucket: String,
    pub key: String,
    pub hostname: String,
    pub pid: u32,
    pub reason: String,
    pub heap_used: u64,
    pub node: String,
    /// The multipart upload in progress, until it is completed or aborted.
    pub upload_id: Option<String>,
}

pub struct Mark {
    dir: Arc<Dir>,
    name: CString,
    file: File,
    pub record: Record,
}

impl Mark {
    /// Marks `snapshot` as pending upload; fails if another uploader holds a
    /// mark for the same name.
    pub fn create(dir: &Arc<Dir>, snapshot: &OsStr, record: Record) -> io::Result<Mark> {
        let name = CString::new(name_for(snapshot))?;
        let file = dir.open_rw(&name, true)?;
        if !lock(&file) {
            return Err(io::Error::new(
                io::ErrorKind::WouldBlock,
                "another upload of a file with this name is in progress",
            ));
        }
        let mut mark = Mark {
            dir: Arc::clone(dir),
            name,
            file,
            record,
        };
        mark.save()?;
        Ok(mark)
    }

    /// Takes the existing mark `name` if nobody holds it; `Ok(None)` when a
    /// live uploader does. A mark that cannot be read is an error.
    pub fn claim(dir: &Arc<Dir>, name: &CStr) -> io::Result<Option<Mark>> {
        let mut file = dir.open_rw(name, false)?;
        if !lock(&file) {
            return Ok(None);
        }
        let mut text = String::new();
        (&mut file).take(MAX_BYTES).read_to_string(&mut text)?;
        let record = parse(&text).ok_or_else(|| {
            io::Error::new(io::ErrorKind::InvalidData, "not a leakguard upload mark")
        })?;
        Ok(Some(Mark {
            dir: Arc::clone(dir),
            name: name.to_owned(),
            file,
            record,
        }))
    }

    /// Records the multipart upload now open (or that none is).
    pub fn set_upload_id(&mut self, id: Option<&str>) -> io::Result<()> {
        self.record.upload_id = id.map(str::to_string);
        self.save()
    }

    /// The upload is done: the mark goes (and its lock with it).
    pub fn remove(self) -> io::Result<()> {
        self.dir.unlink(&self.name)
    }

    /// No fsync (the first save runs on the JS thread): a mark has to
    /// outlive its process, which the page cache does; the directory fsync
    /// after the snapshot's rename makes its name durable with the file's.
    fn save(&mut self) -> io::Result<()> {
        let text = format(&self.record);
        self.file.set_len(0)?;
        self.file.rewind()?;
        self.file.write_all(text.as_bytes())
    }
}

/// One `field value` per line; values never hold a newline (keys, host
/// names and reasons are checked for control characters).
fn format(r: &Record) -> String {
    let mut s = format!(
        "leakguard-upload 1\nbucket {}\nkey {}\nhostname {}\npid {}\nreason {}\nheap-used {}\nnode {}\n",
        r.bucket, r.key, r.hostname, r.pid, r.reason, r.heap_used, r.node
    );
    if let Some(id) = &r.upload_id {
        s.push_str(&format!("upload-id {id}\n"));
    }
    s
}

fn parse(text: &str) -> Option<Record> {
    let mut lines = text.lines();
    if lines.next()? != "leakguard-upload 1" {
        return None;
    }
    let mut r = Record::default();
    for line in lines {
        let (field, value) = line.split_once(' ').unwrap_or((line, ""));
        let value = value.to_string();
        match field {
            "bucket" => r.bucket = value,
            "key" => r.key = value,
            "hostname" => r.hostname = value,
            "pid" => r.pid = value.parse().ok()?,
            "reason" => r.reason = value,
            "heap-used" => r.heap_used = value.parse().ok()?,
            "node" => r.node = value,
            "upload-id" => r.upload_id = Some(value),
            _ => {}
        }
    }
    (!r.key.is_empty()).then_some(r)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn record() -> Record {
        Record {
            bucket: "b".into(),
            key: "h/2026/12/02/h-7-x-signal.heapsnapshot.gz".into(),
            hostname: "h".into(),
            pid: 7,
            reason: "signal".into(),
            heap_used: 123,
            node: "v24.1.0".into(),
            upload_id: None,
        }
    }

    #[test]
    fn names_pair_a_snapshot_with_its_mark() {
        let m = name_for(OsStr::new("a.heapsnapshot.gz"));
        assert_eq!(m, ".a.heapsnapshot.gz.leakguard-upload");
        assert_eq!(snapshot_of(&m), Some("a.heapsnapshot.gz"));
        assert_eq!(snapshot_of(".leakguard-upload"), None);
        assert_eq!(snapshot_of("a.leakguard-upload"), None);
    }

    #[test]
    fn a_held_mark_cannot_be_claimed_and_a_released_one_reads_back() {
        let root = std::env::temp_dir().join(format!("lg-mark-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        std::fs::create_dir_all(&root).unwrap();
        let dir = Arc::new(Dir::open(Path::new(&root)).unwrap());
        let snapshot = OsStr::new("a.heapsnapshot.gz");
        let mut mark = Mark::create(&dir, snapshot, record()).unwrap();
        mark.set_upload_id(Some("u-1")).unwrap();
        let name = CString::new(name_for(snapshot)).unwrap();
        assert!(Mark::claim(&dir, &name).unwrap().is_none(), "held");
        assert!(Mark::create(&dir, snapshot, record()).is_err(), "held");
        drop(mark);
        let claimed = Mark::claim(&dir, &name).unwrap().expect("released");
        assert_eq!(claimed.record.upload_id.as_deref(), Some("u-1"));
        assert_eq!(claimed.record.key, record().key);
        claimed.remove().unwrap();
        assert!(std::fs::read_dir(&root).unwrap().next().is_none());
        std::fs::write(root.join(".x.leakguard-upload"), "junk").unwrap();
        let junk = CString::new(".x.leakguard-upload").unwrap();
        assert!(Mark::claim(&dir, &junk).is_err());
        std::fs::remove_dir_all(root).unwrap();
    }
}
