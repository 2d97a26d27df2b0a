//! Snapshots in flight when the process exits. `process.exit()` and an
//! uncaught exception end the process through C `exit()` while a writer
//! thread may still be compressing, fsyncing and renaming a snapshot that V8
//! has already serialized. An `atexit` handler waits up to `EXIT_WAIT` for
//! the running writers to finish their files, then removes the temporary
//! file of any that did not: a file is complete or absent, never left behind
//! half written. (SIGKILL and abort() run no handler; `sink::stale` removes
//! what they leave.)

use std::ffi::{CStr, CString};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, Once};
use std::time::{Duration, Instant};

use crate::process::write_stderr;
use crate::sink::Dir;

/// How long exit waits for writers. Once the JS thread has serialized a
/// snapshot, at most the 4 MiB queue is left to compress, plus the fsync:
/// well under a second on a local disk; the rest is slack for slow storage.
pub const EXIT_WAIT: Duration = Duration::from_secs(10);

struct Temp {
    id: u64,
    dir: Arc<Dir>,
    name: CString,
    path: PathBuf,
}

#[derive(Default)]
struct State {
    /// Writer threads that have not yet finished their job.
    running: usize,
    /// Temporary files that exist or are about to: not yet renamed or removed.
    temps: Vec<Temp>,
    next_id: u64,
}

static STATE: Mutex<State> = Mutex::new(State {
    running: 0,
    temps: Vec::new(),
    next_id: 0,
});
static DONE: Condvar = Condvar::new();

/// The process that registered the handler: a forked child inherits the
/// state but none of the writer threads, and must not touch their files.
static OWNER: AtomicU32 = AtomicU32::new(0);

fn state() -> MutexGuard<'static, State> {
    static REGISTER: Once = Once::new();
    REGISTER.call_once(|| {
        OWNER.store(std::process::id(), Ordering::Relaxed);
        // SAFETY: registers a plain function; it runs once, at exit. Should
        // that fail (no memory), an exit mid-write leaves debris for `stale`.
        unsafe { libc::atexit(at_exit) };
    });
    STATE.lock().unwrap_or_else(|e| e.into_inner())
}

/// A writer thread's job, from spawn until it has settled: exit waits for it.
pub struct Running(());

impl Running {
    pub fn start() -> Self {
        state().running += 1;
        Running(())
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        state().running -= 1;
        DONE.notify_all();
    }
}

/// A temporary file in flight, registered before it is created and until it
/// is renamed or removed; exit removes it if its writer did not finish.
pub struct InFlight(u64);

impl InFlight {
    /// `path` is the snapshot's final path, for the message at exit.
    pub fn register(dir: &Arc<Dir>, name: &CStr, path: &Path) -> Self {
        let mut s = state();
        let id = s.next_id;
        s.next_id += 1;
        s.temps.push(Temp {
            id,
            dir: Arc::clone(dir),
            name: name.to_owned(),
            path: path.to_path_buf(),
        });
        InFlight(id)
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        state().temps.retain(|t| t.id != self.0);
    }
}

/// Whether `name` is one of this process's temporary files in flight.
pub fn in_flight(name: &CStr) -> bool {
    state().temps.iter().any(|t| t.name.as_c_str() == name)
}

extern "C" fn at_exit() {
    if OWNER.load(Ordering::Relaxed) != std::process::id() {
        return;
    }
    let mut s = state();
    if s.running > 0 {
        write_stderr(&format!(
            "leakguard: waiting up to {} s for the heap snapshot being written to finish\n",
            EXIT_WAIT.as_secs()
        ));
    }
    let deadline = Instant::now() + EXIT_WAIT;
    while s.running > 0 {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            break;
        }
        s = DONE
            .wait_timeout(s, left)
            .unwrap_or_else(|e| e.into_inner())
            .0;
    }
    // A writer still running may rename its file meanwhile: the unlink is
    // then a no-op. No new file can start: the JS threads are gone.
    for t in &s.temps {
        if t.dir.unlink(&t.name).is_ok() {
            write_stderr(&format!(
                "leakguard: the process exited before the heap snapshot {} was complete; \
                 its unfinished file was removed\n",
                t.path.display()
            ));
        }
    }
}
