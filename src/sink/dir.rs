//! The snapshot's directory, opened once. Every name is created, renamed,
//! removed and inspected relative to this descriptor, never by path, and no
//! call follows a symlink in the last component: a directory moved away or
//! swapped for a symlink mid-write cannot redirect the file, and the
//! temporary file can still be removed from where it really is.

use std::ffi::{CStr, CString, OsStr};
use std::fs::{self, File};
use std::io;
use std::mem::MaybeUninit;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

pub struct Dir {
    fd: OwnedFd,
    path: PathBuf,
}

impl Dir {
    /// Opens `path` (following symlinks in it: a configured `dir` may be one).
    pub fn open(path: &Path) -> io::Result<Dir> {
        let c = cstring(path.as_os_str())?;
        let flags = libc::O_RDONLY | libc::O_DIRECTORY | libc::O_CLOEXEC;
        // SAFETY: a NUL-terminated path; the fd returned is ours to own.
        let fd = check(unsafe { libc::open(c.as_ptr(), flags) })?;
        Ok(Dir {
            fd: unsafe { OwnedFd::from_raw_fd(fd) },
            path: path.to_path_buf(),
        })
    }

    /// The path this directory was opened at, for messages.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Creates `name` exclusively (`EEXIST` if anything is there, a symlink included).
    pub fn create_new(&self, name: &CStr, mode: libc::mode_t) -> io::Result<File> {
        let flags =
            libc::O_WRONLY | libc::O_CREAT | libc::O_EXCL | libc::O_NOFOLLOW | libc::O_CLOEXEC;
        // A variadic argument is promoted to unsigned int (mode_t is u16 on macOS).
        #[allow(clippy::unnecessary_cast)]
        let mode = mode as libc::c_uint;
        // SAFETY: a NUL-terminated name relative to our open directory.
        let fd = check(unsafe { libc::openat(self.raw(), name.as_ptr(), flags, mode) })?;
        Ok(File::from(unsafe { OwnedFd::from_raw_fd(fd) }))
    }

    /// Opens `name` for reading and writing, creating it (mode 0600) when
    /// `create`; never through a symlink.
    pub fn open_rw(&self, name: &CStr, create: bool) -> io::Result<File> {
        let flags = libc::O_RDWR | libc::O_NOFOLLOW | libc::O_CLOEXEC;
        let flags = if create { flags | libc::O_CREAT } else { flags };
        // SAFETY: a NUL-terminated name relative to our open directory.
        let fd = check(unsafe { libc::openat(self.raw(), name.as_ptr(), flags, 0o600) })?;
        Ok(File::from(unsafe { OwnedFd::from_raw_fd(fd) }))
    }

    pub fn rename(&self, from: &CStr, to: &CStr) -> io::Result<()> {
        // SAFETY: NUL-terminated names, both relative to our directory.
        check(unsafe { libc::renameat(self.raw(), from.as_ptr(), self.raw(), to.as_ptr()) })
            .map(drop)
    }

    /// Removes the entry `name` itself (a symlink is removed, never followed).
    pub fn unlink(&self, name: &CStr) -> io::Result<()> {
        // SAFETY: a NUL-terminated name relative to our directory.
        check(unsafe { libc::unlinkat(self.raw(), name.as_ptr(), 0) }).map(drop)
    }

    /// Whether `name` is a regular file (`lstat`: a symlink is not); `None`
    /// when nothing is there.
    pub fn is_file(&self, name: &CStr) -> io::Result<Option<bool>> {
        let mut st = MaybeUninit::<libc::stat>::uninit();
        let flags = libc::AT_SYMLINK_NOFOLLOW;
        // SAFETY: fstatat fills `st` when it returns 0.
        match check(unsafe { libc::fstatat(self.raw(), name.as_ptr(), st.as_mut_ptr(), flags) }) {
            Ok(_) => Ok(Some(
                unsafe { st.assume_init() }.st_mode & libc::S_IFMT == libc::S_IFREG,
            )),
            Err(e) if e.raw_os_error() == Some(libc::ENOENT) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Opens the existing `name` read-only, without following a symlink
    /// (`ELOOP`) or blocking on a FIFO.
    pub fn open_existing(&self, name: &CStr) -> io::Result<File> {
        let flags = libc::O_RDONLY | libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_CLOEXEC;
        // SAFETY: a NUL-terminated name relative to our open directory.
        let fd = check(unsafe { libc::openat(self.raw(), name.as_ptr(), flags) })?;
        Ok(File::from(unsafe { OwnedFd::from_raw_fd(fd) }))
    }

    /// The names in the directory. Listed by path (names only: every action
    /// on one goes through the descriptor).
    pub fn names(&self) -> io::Result<Vec<CString>> {
        Ok(fs::read_dir(&self.path)?
            .flatten()
            .filter_map(|e| CString::new(e.file_name().as_bytes()).ok())
            .collect())
    }

    /// Makes renames in the directory durable.
    pub fn sync(&self) -> io::Result<()> {
        // SAFETY: fsync of a descriptor we own.
        check(unsafe { libc::fsync(self.raw()) }).map(drop)
    }

    /// Whether `path` still leads to this directory (it was not moved away
    /// or replaced since it was opened).
    pub fn still_at_path(&self) -> bool {
        let mut ours = MaybeUninit::<libc::stat>::uninit();
        // SAFETY: fstat fills `ours` when it returns 0.
        if unsafe { libc::fstat(self.raw(), ours.as_mut_ptr()) } != 0 {
            return false;
        }
        let ours = unsafe { ours.assume_init() };
        fs::metadata(&self.path)
            .is_ok_and(|there| there.dev() == dev(&ours) && there.ino() == ours.st_ino)
    }

    fn raw(&self) -> libc::c_int {
        self.fd.as_raw_fd()
    }
}

/// A stat's device number as std's `MetadataExt::dev()` gives it (st_dev is i32 on macOS).
#[allow(clippy::unnecessary_cast)]
fn dev(st: &libc::stat) -> u64 {
    st.st_dev as u64
}

/// A path or name as a C string; a NUL byte inside is `EINVAL`.
pub fn cstring(s: &OsStr) -> io::Result<CString> {
    CString::new(s.as_bytes()).map_err(|_| io::Error::from_raw_os_error(libc::EINVAL))
}

fn check(r: libc::c_int) -> io::Result<libc::c_int> {
    if r < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(r)
    }
}
