//! One error type for every failure, surfaced in JS as an `Error` with a
//! stable `code` and the facts that explain it.

use std::io;
use std::path::{Path, PathBuf};

use std::ptr;

use napi::bindgen_prelude::{JsObjectValue, Object, Unknown};
use napi::{sys, Env, JsValue};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Code {
    /// A bad option or argument (thrown as a `TypeError`).
    Config,
    /// Creating, writing, syncing or renaming the snapshot file failed.
    Write,
    /// V8 could not produce the snapshot.
    Capture,
    /// The memory-headroom guard refused the snapshot, or aborted it mid-capture.
    Headroom,
    /// The app's `beforeSnapshot` hook threw or rejected.
    Hook,
    /// A snapshot file given to `analyze` cannot be read or parsed.
    Analysis,
    /// The upload to S3 failed; the complete file is kept.
    Upload,
}

impl Code {
    pub fn as_str(self) -> &'static str {
        match self {
            Code::Config => "ERR_LEAKGUARD_CONFIG",
            Code::Write => "ERR_LEAKGUARD_WRITE",
            Code::Capture => "ERR_LEAKGUARD_CAPTURE",
            Code::Headroom => "ERR_LEAKGUARD_HEADROOM",
            Code::Hook => "ERR_LEAKGUARD_HOOK",
            Code::Analysis => "ERR_LEAKGUARD_ANALYSIS",
            Code::Upload => "ERR_LEAKGUARD_UPLOAD",
        }
    }
}

#[derive(Debug, Clone)]
pub struct LgError {
    pub code: Code,
    pub message: String,
    /// The file the error is about (the final snapshot path; for a retention
    /// failure, the older file that could not be deleted).
    pub path: Option<PathBuf>,
    /// The failed system call and its errno, for I/O errors.
    pub os: Option<OsCause>,
    /// The guard's numbers, for headroom refusals.
    pub headroom: Option<Box<HeadroomFacts>>,
    /// Where an upload was going and why it failed.
    pub upload: Option<Box<UploadFacts>>,
}

#[derive(Debug, Clone)]
pub struct UploadFacts {
    /// S3's error code, or the network's (`ConnectionRefused`, `Timeout` …).
    pub s3_code: String,
    pub bucket: String,
    pub key: String,
    /// A multipart upload that could not be aborted (the mark keeps it for later).
    pub upload_id: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Refused before capture: the estimate did not fit.
    PreCheck,
    /// Aborted while V8 built or serialized the snapshot.
    MidCapture,
}

#[derive(Debug, Clone)]
pub struct HeadroomFacts {
    pub phase: Phase,
    /// Estimated extra memory the snapshot needs (bytes).
    pub need: u64,
    /// Memory the process could still use (bytes).
    pub available: u64,
    /// Which limit bound `available`.
    pub bound: String,
    pub heap_used: u64,
    /// RSS at the decision (bytes).
    pub rss: u64,
}

#[derive(Debug, Clone)]
pub struct OsCause {
    pub syscall: &'static str,
    pub errno: i32,
}

pub type LgResult<T> = Result<T, LgError>;

impl LgError {
    fn new(code: Code, message: impl Into<String>) -> Self {
        LgError {
            code,
            message: message.into(),
            path: None,
            os: None,
            headroom: None,
            upload: None,
        }
    }

    pub fn config(message: impl Into<String>) -> Self {
        Self::new(Code::Config, message)
    }

    pub fn capture(message: impl Into<String>) -> Self {
        Self::new(Code::Capture, message)
    }

    pub fn analysis(message: impl Into<String>) -> Self {
        Self::new(Code::Analysis, message)
    }

    pub fn hook(message: impl Into<String>) -> Self {
        Self::new(Code::Hook, message)
    }

    pub fn headroom(message: impl Into<String>, facts: HeadroomFacts) -> Self {
        LgError {
            headroom: Some(Box::new(facts)),
            ..Self::new(Code::Headroom, message)
        }
    }

    /// A failed upload of the complete file `path`, which is kept.
    pub fn upload(message: impl Into<String>, path: &Path, facts: UploadFacts) -> Self {
        LgError {
            path: Some(path.to_path_buf()),
            upload: Some(Box::new(facts)),
            ..Self::new(Code::Upload, message)
        }
    }

    /// A failed system call on the snapshot file `path` (the final name).
    pub fn io(syscall: &'static str, path: &Path, err: &io::Error) -> Self {
        Self::io_via(syscall, path, None, err)
    }

    /// Like `io`, for a call made on the file's temporary name `temp`: the
    /// message names both, since the final name may not exist yet.
    pub fn io_via(
        syscall: &'static str,
        path: &Path,
        temp: Option<&Path>,
        err: &io::Error,
    ) -> Self {
        let hint = match err.raw_os_error().map(errno_name) {
            Some("ENOENT") => {
                " (the directory does not exist; create it or configure another `dir`)"
            }
            Some("EACCES" | "EPERM") => " (permission denied; choose a writable `dir`)",
            Some("ENOSPC" | "EDQUOT") => " (the disk is full; free space or write elsewhere)",
            Some("EROFS") => " (read-only file system; choose a writable `dir`)",
            Some("ENOTDIR") => " (a component of the path is not a directory)",
            _ => "",
        };
        let via = temp.map_or(String::new(), |t| {
            format!(" (temporary file {})", t.display())
        });
        let what = format!("cannot write heap snapshot {}{via}", path.display());
        Self::os(what, syscall, path, err, hint)
    }

    /// Retention could not delete the older snapshot `path`; the new one was written.
    pub fn retention(path: &Path, err: &io::Error) -> Self {
        let what = format!(
            "retention could not delete the older snapshot {}",
            path.display()
        );
        Self::os(what, "unlink", path, err, "; the new snapshot was written")
    }

    fn os(what: String, syscall: &'static str, path: &Path, err: &io::Error, hint: &str) -> Self {
        let errno = err.raw_os_error();
        let name = errno.map(errno_name).unwrap_or("EIO");
        let message = format!(
            "{what}: {syscall} failed with {name}: {}{hint}",
            strip_os_suffix(err)
        );
        LgError {
            path: Some(path.to_path_buf()),
            os: errno.map(|errno| OsCause { syscall, errno }),
            ..Self::new(Code::Write, message)
        }
    }

    /// The final path exists and is not a regular file (a device, FIFO, directory, symlink).
    pub fn not_a_file(path: &Path) -> Self {
        LgError {
            path: Some(path.to_path_buf()),
            ..Self::new(
                Code::Write,
                format!(
                    "cannot write heap snapshot {}: it exists and is not a regular file; \
                     choose a file name",
                    path.display()
                ),
            )
        }
    }

    /// The snapshot's directory was moved or replaced (by a symlink, say)
    /// while the file was written; the unfinished file was removed from it.
    pub fn dir_replaced(path: &Path, dir: &Path) -> Self {
        LgError {
            path: Some(path.to_path_buf()),
            ..Self::new(
                Code::Write,
                format!(
                    "cannot write heap snapshot {}: the directory {} was moved or replaced \
                     while the snapshot was written; the unfinished file was removed",
                    path.display(),
                    dir.display()
                ),
            )
        }
    }

    pub fn with_path(mut self, path: &Path) -> Self {
        self.path = Some(path.to_path_buf());
        self
    }

    /// Builds the JS error: a `TypeError` for config errors, else an `Error`,
    /// with `code`, and `path`, `syscall`, `errno` (Node's negative number) and
    /// `osCode` (`'ENOENT'`, ...) when known; the guard's numbers (`phase`,
    /// `need`, `available`, `boundBy`, `heapUsed`, `rss`) for headroom refusals.
    pub fn to_js<'env>(&self, env: &'env Env) -> napi::Result<Unknown<'env>> {
        let code = env.create_string(self.code.as_str())?;
        let message = env.create_string(format!("leakguard: {}", self.message))?;
        let create = if self.code == Code::Config {
            sys::napi_create_type_error
        } else {
            sys::napi_create_error
        };
        let mut raw = ptr::null_mut();
        let status = unsafe { create(env.raw(), code.raw(), message.raw(), &mut raw) };
        if status != sys::Status::napi_ok {
            return Err(napi::Error::from_status(napi::Status::from(status)));
        }
        let mut error = Object::from_raw(env.raw(), raw);
        if let Some(path) = &self.path {
            error.set_named_property("path", path.to_string_lossy().as_ref())?;
        }
        if let Some(os) = &self.os {
            error.set_named_property("syscall", os.syscall)?;
            error.set_named_property("errno", -os.errno)?;
            error.set_named_property("osCode", errno_name(os.errno))?;
        }
        if let Some(h) = &self.headroom {
            let phase = match h.phase {
                Phase::PreCheck => "pre-check",
                Phase::MidCapture => "mid-capture",
            };
            error.set_named_property("phase", phase)?;
            error.set_named_property("need", h.need as f64)?;
            error.set_named_property("available", h.available as f64)?;
            error.set_named_property("boundBy", h.bound.as_str())?;
            error.set_named_property("heapUsed", h.heap_used as f64)?;
            error.set_named_property("rss", h.rss as f64)?;
        }
        if let Some(u) = &self.upload {
            error.set_named_property("s3Code", u.s3_code.as_str())?;
            error.set_named_property("bucket", u.bucket.as_str())?;
            error.set_named_property("key", u.key.as_str())?;
            if let Some(id) = &u.upload_id {
                error.set_named_property("uploadId", id.as_str())?;
            }
        }
        Ok(error.to_unknown())
    }

    /// Converts into a napi error that throws (or rejects with) exactly `to_js`'s value.
    pub fn into_napi(self, env: &Env) -> napi::Error {
        match self.to_js(env) {
            Ok(value) => napi::Error::from(value),
            Err(e) => e,
        }
    }
}

impl std::fmt::Display for LgError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.code.as_str(), self.message)
    }
}

/// `io::Error`'s Display appends " (os error N)"; the errno name says it better.
fn strip_os_suffix(err: &io::Error) -> String {
    let text = err.to_string();
    match text.find(" (os error") {
        Some(i) => text[..i].to_string(),
        None => text,
    }
}

pub fn errno_name(errno: i32) -> &'static str {
    match errno {
        libc::EPERM => "EPERM",
        libc::ENOENT => "ENOENT",
        libc::EIO => "EIO",
        libc::EBUSY => "EBUSY",
        libc::EBADF => "EBADF",
        libc::EACCES => "EACCES",
        libc::EEXIST => "EEXIST",
        libc::EXDEV => "EXDEV",
        libc::ENOTDIR => "ENOTDIR",
        libc::EISDIR => "EISDIR",
        libc::EINVAL => "EINVAL",
        libc::EMFILE => "EMFILE",
        libc::EFBIG => "EFBIG",
        libc::ENOSPC => "ENOSPC",
        libc::EROFS => "EROFS",
        libc::ENAMETOOLONG => "ENAMETOOLONG",
        libc::EDQUOT => "EDQUOT",
        _ => "EUNKNOWN",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn io_error_names_path_errno_and_hint() {
        let err = io::Error::from_raw_os_error(libc::ENOENT);
        let e = LgError::io("open", Path::new("/nope/x.heapsnapshot"), &err);
        assert_eq!(e.code, Code::Write);
        assert!(e.message.contains("/nope/x.heapsnapshot"), "{}", e.message);
        assert!(
            e.message.contains("open failed with ENOENT"),
            "{}",
            e.message
        );
        assert!(e.message.contains("does not exist"), "{}", e.message);
        assert!(!e.message.contains("os error"), "{}", e.message);
        assert_eq!(e.os.unwrap().errno, libc::ENOENT);
    }
}
