//! Leftovers: snapshots marked for upload that no live process is sending,
//! because the process that took them died (a near-heap-limit snapshot is
//! usually followed by death) or its upload failed. When S3 is configured,
//! the directory is searched; each leftover is uploaded once per process,
//! oldest first, one file at a time, in the background. One that fails is
//! left, still marked, for the next process or `leakguard upload`.

use std::collections::HashSet;
use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use super::mark::{self, Mark};
use super::{complete, open_complete, run, S3Settings, Uploaded};
use crate::error::LgResult;
use crate::runtime;
use crate::sink::Dir;

/// Marks this process has taken up already (by path).
static TRIED: Mutex<Option<HashSet<PathBuf>>> = Mutex::new(None);

/// Starts uploading the leftovers in `dir`; `report` hears of each one's
/// outcome, on an upload thread. Returns how many were found.
pub fn recover(
    s: Arc<S3Settings>,
    dir: &Path,
    report: impl Fn(LgResult<Uploaded>) + Send + 'static,
) -> usize {
    let Ok(dir) = Dir::open(dir).map(Arc::new) else {
        return 0;
    };
    let mut found = claim(&dir);
    if found.is_empty() {
        return 0;
    }
    found.sort_by_key(|f| f.0);
    let count = found.len();
    let Ok(handle) = runtime::handle() else {
        return 0;
    };
    handle.spawn(async move {
        for (_, mark, name) in found {
            let path = dir.path().join(&name);
            let outcome = match open_complete(Arc::clone(&dir), OsStr::new(&name), &path) {
                Ok((local, meta)) => {
                    let record = mark.record.clone();
                    run(&s, local, record, Some(mark), complete(meta.len())).await
                }
                Err(e) => Err(e),
            };
            report(outcome);
        }
    });
    count
}

/// The leftovers in `dir` nobody holds, claimed: (file time, mark, file name).
/// A mark whose file never appeared (its writer died mid-write) is removed.
fn claim(dir: &Arc<Dir>) -> Vec<(SystemTime, Mark, String)> {
    let Ok(names) = dir.names() else {
        return Vec::new();
    };
    let mut tried = TRIED.lock().unwrap_or_else(|e| e.into_inner());
    let tried = tried.get_or_insert_with(HashSet::new);
    let mut found = Vec::new();
    for name in names {
        let Some(snapshot) = name.to_str().ok().and_then(mark::snapshot_of) else {
            continue;
        };
        if !tried.insert(dir.path().join(snapshot)) {
            continue;
        }
        let Ok(Some(mark)) = Mark::claim(dir, &name) else {
            continue;
        };
        let file = super::super::dir::cstring(OsStr::new(snapshot)).ok();
        match file.map(|f| dir.open_existing(&f).and_then(|f| f.metadata())) {
            Some(Ok(meta)) if meta.is_file() => {
                let time = meta.modified().unwrap_or(SystemTime::UNIX_EPOCH);
                found.push((time, mark, snapshot.to_string()));
            }
            Some(Err(e)) if e.kind() == std::io::ErrorKind::NotFound => drop(mark.remove()),
            _ => {}
        }
    }
    found
}
