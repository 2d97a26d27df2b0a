//! leakguard's own small tokio runtime, for S3 uploads and the route's
//! native listener: started on first use (a process with neither never has
//! its threads), two worker threads, and shut down at exit without waiting:
//! an upload cut short leaves its file and mark for the next process
//! (`sink::s3::leftovers`).

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Mutex;

use tokio::runtime::{Builder, Handle, Runtime};

static RUNTIME: Mutex<Option<Runtime>> = Mutex::new(None);
/// The process that started it: a forked child has none of its threads.
static OWNER: AtomicU32 = AtomicU32::new(0);

/// The runtime's handle, starting it if needed.
pub fn handle() -> Result<Handle, String> {
    let mut slot = RUNTIME.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(rt) = slot.as_ref() {
        return Ok(rt.handle().clone());
    }
    let rt = Builder::new_multi_thread()
        .worker_threads(2)
        .max_blocking_threads(1)
        .thread_name("leakguard-io")
        .enable_io()
        .enable_time()
        .build()
        .map_err(|e| format!("cannot start leakguard's I/O threads: {e}"))?;
    let handle = rt.handle().clone();
    *slot = Some(rt);
    OWNER.store(std::process::id(), Ordering::Relaxed);
    // SAFETY: registers a plain function, run once at exit.
    unsafe { libc::atexit(at_exit) };
    Ok(handle)
}

extern "C" fn at_exit() {
    if OWNER.load(Ordering::Relaxed) != std::process::id() {
        return;
    }
    let rt = RUNTIME.lock().unwrap_or_else(|e| e.into_inner()).take();
    if let Some(rt) = rt {
        rt.shutdown_background();
    }
}
