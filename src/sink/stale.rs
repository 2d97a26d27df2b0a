//! Leftover temporary files. A writer that is SIGKILLed (the OOM killer, a
//! container's hard stop) leaves its hidden temporary file, heap contents and
//! secrets included. Before each new file, leakguard removes its own stale
//! ones from the directory.
//!
//! Whose file is stale is decided by a lock, not by the pid in its name: a
//! writer holds an exclusive `flock` on its temporary file from creation to
//! rename, and the kernel drops it when the writer dies, however it dies.
//! Pids cannot decide it: a container's app is PID 1 after every restart, so
//! the killed writer's pid is alive (it is ours); a pid is reused; and a
//! volume shared between containers holds pids of other pid namespaces.
//!
//! A file is removed only when all of these hold: its name has leakguard's
//! exact temporary pattern (`destination::temp_pid`); it is a regular file
//! (never a symlink, never followed); it is not one of this process's files
//! in flight; no process holds its lock; and it was last modified over
//! `MIN_AGE` ago, which covers the instant between another writer's create
//! and its lock. Where locks are not shared between the writers (an NFS
//! mount with `nolock` used by several hosts), give each host its own `dir`.

use std::ffi::CStr;
use std::fs::File;
use std::os::fd::AsRawFd;
use std::time::{Duration, SystemTime};

use super::Dir;
use crate::destination::temp_pid;
use crate::exit;

const MIN_AGE: Duration = Duration::from_secs(60);

/// The writer's claim on its temporary file, held while the file is open;
/// `false` if no lock could be taken (someone holds it, or the file system
/// has no locks).
pub fn lock(file: &File) -> bool {
    // SAFETY: flock on a descriptor we own.
    unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) == 0 }
}

/// Removes the stale temporary files in `dir`; anything that cannot be
/// checked is left alone.
pub fn sweep(dir: &Dir) {
    let Ok(names) = dir.names() else { return };
    for name in names {
        // The lock taken on it is held until its name is gone.
        if let Some(_locked) = stale(dir, &name) {
            let _ = dir.unlink(&name);
        }
    }
}

/// The stale file `name`, opened and locked; `None` if it is not stale.
fn stale(dir: &Dir, name: &CStr) -> Option<File> {
    if name.to_str().ok().and_then(temp_pid).is_none() || exit::in_flight(name) {
        return None;
    }
    let file = dir.open_existing(name).ok()?;
    let meta = file.metadata().ok()?;
    let age = SystemTime::now()
        .duration_since(meta.modified().ok()?)
        .ok()?;
    // Locked last: the one step with a side effect.
    (meta.is_file() && age > MIN_AGE && lock(&file)).then_some(file)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs::{self, OpenOptions};
    use std::path::{Path, PathBuf};
    use std::sync::Arc;

    fn scratch() -> PathBuf {
        let dir = std::env::temp_dir().join(format!("lg-stale-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        dir
    }

    /// Writes `name` last modified `age` ago.
    fn leftover(dir: &Path, name: &str, age: Duration) -> File {
        let file = OpenOptions::new()
            .create_new(true)
            .write(true)
            .open(dir.join(name))
            .unwrap();
        file.set_modified(SystemTime::now() - age).unwrap();
        file
    }

    fn names(dir: &Path) -> Vec<String> {
        let mut v: Vec<String> = fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        v.sort();
        v
    }

    #[test]
    fn removes_only_unlocked_old_files_of_the_exact_pattern() {
        let dir = scratch();
        let hour = Duration::from_secs(3600);
        let name = |tag: &str| format!(".{tag}.heapsnapshot.1.0123456789abcdef.leakguard.tmp");
        drop(leftover(&dir, &name("dead"), hour));
        let live = leftover(&dir, &name("live"), hour);
        assert!(lock(&live));
        drop(leftover(&dir, &name("fresh"), Duration::ZERO));
        drop(leftover(&dir, &name("ours"), hour));
        drop(leftover(&dir, ".old.heapsnapshot.1-0.tmp", hour));
        std::os::unix::fs::symlink("/etc/hostname", dir.join(name("link"))).unwrap();
        let opened = Arc::new(Dir::open(&dir).unwrap());
        let ours = std::ffi::CString::new(name("ours")).unwrap();
        let _in_flight = exit::InFlight::register(&opened, &ours, &dir.join("ours.heapsnapshot"));

        sweep(&opened);
        let mut kept = vec![
            name("live"),
            name("fresh"),
            name("ours"),
            ".old.heapsnapshot.1-0.tmp".to_string(),
            name("link"),
        ];
        kept.sort();
        assert_eq!(names(&dir), kept);
        fs::remove_dir_all(dir).unwrap();
    }
}
