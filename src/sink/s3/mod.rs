//! The S3 sink: uploads what the file sink writes, streaming parts while the
//! file grows, on leakguard's own runtime (the JS thread never waits on the
//! network). A snapshot's file is marked pending (`mark`) until the object
//! is verified in S3; then the local file goes unless `keepLocal`. On a
//! failure the multipart upload is aborted and the complete file stays,
//! marked, under its final name: nothing is lost, and a later process or
//! `leakguard upload` sends it (`leftovers`).

mod client;
mod failure;
pub mod key;
pub mod leftovers;
pub mod mark;
mod part;
pub mod settings;
mod transfer;

use std::ffi::{CString, OsStr};
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Instant, SystemTime};

use tokio::sync::oneshot;

pub use settings::{S3Settings, Sse};

use super::progress::{self, Progress};
use super::Dir;
use crate::error::{LgError, LgResult, UploadFacts};
use crate::{process, runtime};
use failure::Failure;
use key::KeyFields;
use mark::{Mark, Record};
use transfer::Object;

/// A verified upload.
#[derive(Clone, Debug)]
pub struct Uploaded {
    pub bucket: String,
    pub key: String,
    pub etag: String,
    pub bytes: u64,
    /// From the upload's start to its verification.
    pub ms: f64,
    /// From the file's completion to the upload's verification (how much
    /// the upload trailed the write): `ms` for a file complete at the start.
    pub after_file_ms: f64,
    pub parts: u32,
    /// The local file, deleted unless `keep_local`.
    pub path: PathBuf,
    pub kept: bool,
    /// The snapshot's reason, as its mark recorded it.
    pub reason: String,
}

/// What a snapshot was, for its key and metadata.
pub struct Origin<'a> {
    pub reason: &'a str,
    pub heap_used: u64,
    pub at: SystemTime,
}

/// An upload running beside the file sink.
pub struct Pending {
    outcome: oneshot::Receiver<LgResult<Uploaded>>,
    handle: tokio::runtime::Handle,
}

impl Pending {
    /// Runs `then` with the outcome, on an upload thread, once it is known.
    pub fn then(self, then: impl FnOnce(LgResult<Uploaded>) + Send + 'static) {
        let outcome = self.outcome;
        self.handle.spawn(async move {
            then(outcome.await.unwrap_or_else(|_| {
                Err(LgError::capture("the upload task ended without an outcome"))
            }))
        });
    }
}

/// The file being uploaded: where it is, and how to reach it without its path.
struct Local {
    dir: Arc<Dir>,
    name: CString,
    path: PathBuf,
    file: Arc<File>,
}

/// Starts uploading the file a file sink is writing (`file` reads it; the
/// sink reports its growth on `progress`). The mark is made before this
/// returns, so a process that dies from here on leaves a leftover.
pub fn start(
    s: Arc<S3Settings>,
    origin: &Origin,
    dir: &Arc<Dir>,
    name: &OsStr,
    path: &Path,
    file: File,
    progress: progress::Receiver,
) -> LgResult<Pending> {
    let fail = |what: &str, why: String| upload_error(&s, "", path, &Failure::new(what, why), None);
    let record = record_for(
        &s,
        origin.reason,
        origin.heap_used,
        origin.at,
        name,
        is_gz(path),
    )
    .map_err(|why| fail("InvalidKey", why))?;
    let mark = Mark::create(dir, name, record).map_err(|e| {
        fail(
            "MarkFailed",
            format!("cannot mark the file for upload: {e}"),
        )
    })?;
    let local = Local {
        dir: Arc::clone(dir),
        name: super::dir::cstring(name).map_err(|e| fail("MarkFailed", e.to_string()))?,
        path: path.to_path_buf(),
        file: Arc::new(file),
    };
    spawn(s, local, mark.record.clone(), Some(mark), progress)
}

/// Uploads a complete file (a leftover, or `leakguard upload`), with the
/// key and metadata its mark recorded, or, without one, as this host's
/// `reason` taken at the file's modification time.
pub fn upload_file(s: Arc<S3Settings>, path: &Path, reason: &str) -> LgResult<Pending> {
    let fail = |f: Failure| upload_error(&s, "", path, &f, None);
    let (parent, name) = match (path.parent(), path.file_name()) {
        (Some(p), Some(n)) => (
            if p.as_os_str().is_empty() {
                Path::new(".")
            } else {
                p
            },
            n,
        ),
        _ => return Err(LgError::not_a_file(path)),
    };
    let dir = Arc::new(Dir::open(parent).map_err(|e| LgError::io("open", path, &e))?);
    let (local, meta) = open_complete(dir, name, path)?;
    let dir = &local.dir;
    let mark_name = CString::new(mark::name_for(name))
        .map_err(|e| fail(Failure::new("MarkFailed", e.to_string())))?;
    let mark = match Mark::claim(dir, &mark_name) {
        Ok(Some(mark)) => Some(mark),
        Ok(None) => {
            return Err(fail(Failure::new(
                "InProgress",
                "another process is uploading this file now",
            )))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => {
            return Err(fail(Failure::new(
                "MarkFailed",
                format!("its upload mark: {e}"),
            )))
        }
    };
    let record = match &mark {
        Some(m) => m.record.clone(),
        // No mark is made: a failed manual upload leaves nothing behind.
        None => {
            let at = meta.modified().unwrap_or_else(|_| SystemTime::now());
            record_for(&s, reason, 0, at, name, is_gz(path))
                .map_err(|why| fail(Failure::new("InvalidKey", why)))?
        }
    };
    spawn(s, local, record, mark, complete(meta.len()))
}

/// Opens the complete file `name` in `dir` for upload.
fn open_complete(dir: Arc<Dir>, name: &OsStr, path: &Path) -> LgResult<(Local, std::fs::Metadata)> {
    let c_name = super::dir::cstring(name).map_err(|e| LgError::io("open", path, &e))?;
    let file = dir
        .open_existing(&c_name)
        .map_err(|e| LgError::io("open", path, &e))?;
    let meta = file.metadata().map_err(|e| LgError::io("stat", path, &e))?;
    if !meta.is_file() {
        return Err(LgError::not_a_file(path));
    }
    let local = Local {
        dir,
        name: c_name,
        path: path.to_path_buf(),
        file: Arc::new(file),
    };
    Ok((local, meta))
}

/// The progress of a file that is already complete.
fn complete(len: u64) -> progress::Receiver {
    let (tx, rx) = progress::channel();
    let _ = tx.send(Progress::Complete(len));
    rx
}

/// A snapshot of this host and process, with its key.
fn record_for(
    s: &S3Settings,
    reason: &str,
    heap_used: u64,
    at: SystemTime,
    name: &OsStr,
    gz: bool,
) -> Result<Record, String> {
    let record = Record {
        bucket: s.bucket.clone(),
        key: String::new(),
        hostname: process::hostname(),
        pid: std::process::id(),
        reason: reason.to_string(),
        heap_used,
        node: process::node_version(),
        upload_id: None,
    };
    let key = s.key.render(&fields(s, &record, at, name), gz)?;
    Ok(Record { key, ..record })
}

fn is_gz(path: &Path) -> bool {
    path.extension().is_some_and(|e| e == "gz")
}

fn fields<'a>(s: &'a S3Settings, r: &'a Record, at: SystemTime, name: &'a OsStr) -> KeyFields<'a> {
    KeyFields {
        prefix: &s.prefix,
        hostname: &r.hostname,
        pid: r.pid,
        reason: &r.reason,
        at,
        filename: name.to_str().unwrap_or("heapsnapshot"),
    }
}

fn spawn(
    s: Arc<S3Settings>,
    local: Local,
    record: Record,
    mark: Option<Mark>,
    progress: progress::Receiver,
) -> LgResult<Pending> {
    let handle = runtime::handle().map_err(|why| {
        upload_error(
            &s,
            &record.key,
            &local.path,
            &Failure::new("NoRuntime", why),
            None,
        )
    })?;
    let (tx, rx) = oneshot::channel();
    handle.spawn(async move {
        let _ = tx.send(run(&s, local, record, mark, progress).await);
    });
    Ok(Pending {
        outcome: rx,
        handle,
    })
}

async fn run(
    s: &S3Settings,
    local: Local,
    record: Record,
    mut mark: Option<Mark>,
    progress: progress::Receiver,
) -> LgResult<Uploaded> {
    let started = Instant::now();
    let object = Object {
        bucket: s.bucket.clone(),
        key: record.key.clone(),
        content_type: if is_gz(&local.path) {
            "application/gzip"
        } else {
            "application/json"
        },
        metadata: metadata(&record),
    };
    let fail = |f: &Failure, mark: &Option<Mark>| {
        let id = mark.as_ref().and_then(|m| m.record.upload_id.clone());
        upload_error(s, &object.key, &local.path, f, id)
    };
    let client = match client::client(s).await {
        Ok(c) => c,
        Err(f) => return Err(fail(&f, &mark)),
    };
    // A dangling multipart upload from an earlier attempt goes first.
    if let Some(m) = mark.as_mut() {
        if let Some(id) = m.record.upload_id.clone() {
            if transfer::abort(&client, &m.record.bucket, &m.record.key, &id).await {
                let _ = m.set_upload_id(None);
            }
        }
    }
    let sent = transfer::send(
        &client,
        s,
        &object,
        Arc::clone(&local.file),
        progress,
        mark.as_mut(),
    )
    .await;
    let sent = match sent {
        Ok(sent) => sent,
        Err(f) => {
            let error = fail(&f, &mark);
            // No file, nothing to upload later: the write's own error says why.
            if f.code == transfer::NOT_WRITTEN {
                if let Some(m) = mark {
                    let _ = m.remove();
                }
            }
            return Err(error);
        }
    };
    if !s.keep_local {
        if let Err(e) = local.dir.unlink(&local.name) {
            // Uploaded all the same; the local copy just stays.
            process::write_stderr(&format!(
                "leakguard: uploaded {} but could not delete it: {e}\n",
                local.path.display()
            ));
        }
    }
    if let Some(m) = mark {
        let _ = m.remove();
    }
    Ok(Uploaded {
        bucket: s.bucket.clone(),
        key: object.key,
        etag: sent.etag,
        bytes: sent.bytes,
        ms: started.elapsed().as_secs_f64() * 1000.0,
        after_file_ms: started.elapsed().as_secs_f64() * 1000.0,
        parts: sent.parts,
        path: local.path,
        kept: s.keep_local,
        reason: record.reason,
    })
}

fn metadata(r: &Record) -> Vec<(&'static str, String)> {
    [
        ("hostname", r.hostname.clone()),
        ("pid", r.pid.to_string()),
        ("node-version", r.node.clone()),
        ("leakguard-version", env!("CARGO_PKG_VERSION").to_string()),
        // Header values: printable ASCII only.
        (
            "reason",
            r.reason
                .chars()
                .map(|c| if c.is_ascii_graphic() { c } else { '_' })
                .collect(),
        ),
        // Unknown for a file uploaded by hand without its mark.
        (
            "heap-used",
            match r.heap_used {
                0 => String::new(),
                n => n.to_string(),
            },
        ),
    ]
    .into_iter()
    .filter(|(_, v)| !v.is_empty())
    .collect()
}

fn upload_error(
    s: &S3Settings,
    key: &str,
    path: &Path,
    f: &Failure,
    upload_id: Option<String>,
) -> LgError {
    LgError::upload(
        format!(
            "upload to s3://{}/{key} failed ({}); the snapshot is kept at {}",
            s.bucket,
            f.message,
            path.display()
        ),
        path,
        UploadFacts {
            s3_code: f.code.clone(),
            bucket: s.bucket.clone(),
            key: key.to_string(),
            upload_id,
        },
    )
}
