//! `kill -USR2 <pid>`: a snapshot on a signal, even while JS is stuck in a
//! synchronous loop.
//!
//! A libuv signal watcher on a private loop, run by its own thread, receives
//! the signal. libuv multiplexes one process-wide `sigaction` over every
//! loop's watchers, so this composes with Node's and the app's
//! `process.on(signal)` listeners: theirs still run, and removing theirs does
//! not reset the signal to its default (which would kill the process).
//! signal-hook was measured to lose its handler or let the process be killed
//! in exactly those cases (capture-prototype.md §4), so it is not used.
//!
//! The signal thread never takes the snapshot: it hands the request to the
//! JS thread (`handoff`: a V8 interrupt, or the event loop when idle). A
//! storm of signals yields at most one snapshot in flight and one queued.

use std::ffi::{c_int, c_void};
use std::sync::atomic::{AtomicPtr, Ordering};
use std::sync::mpsc::{sync_channel, SyncSender};
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use napi::Env;

use super::handoff::{self, Slot};
use super::uv::{uv, UV_ASYNC, UV_SIGNAL};
use crate::capture::{self, Context};
use crate::request::REASON_SIGNAL;

static SLOT: Slot = Slot::new();

/// Listens on `signum` (or stops listening, with `None`) for this isolate,
/// which must be the main thread's. Returns once the watcher is in place.
pub fn listen(env: &Env, signum: Option<c_int>) -> Result<(), String> {
    if signum.is_some() {
        handoff::target(env)?;
    }
    match (signum, WATCHER.get()) {
        (Some(signum), _) => watcher()?.set(signum),
        (None, Some(started)) => started.as_ref().map_err(Clone::clone)?.set(0),
        (None, None) => Ok(()), // never listened: no thread to start
    }
}

/// On the signal thread. A signal while one is on its way adds nothing.
fn raised() {
    let _ = handoff::send(&SLOT, Box::new(claim));
}

/// On the JS thread.
fn claim(from: Context) {
    if capture::waiting(REASON_SIGNAL) {
        return; // one is already queued
    }
    capture::submit(from, super::request(REASON_SIGNAL), super::unawaited());
}

/// The private loop's thread and its signal watcher.
struct Watcher {
    control: AtomicPtr<c_void>,
}

/// The signal the loop thread should watch (0: none), and where to confirm.
type Change = (c_int, SyncSender<Result<(), String>>);
static WANTED: Mutex<Option<Change>> = Mutex::new(None);
static SIGNAL_HANDLE: AtomicPtr<c_void> = AtomicPtr::new(std::ptr::null_mut());

static WATCHER: OnceLock<Result<Watcher, String>> = OnceLock::new();

fn watcher() -> Result<&'static Watcher, String> {
    WATCHER
        .get_or_init(start_loop)
        .as_ref()
        .map_err(Clone::clone)
}

fn start_loop() -> Result<Watcher, String> {
    let uv = uv()?;
    // SAFETY: fresh, zeroed, never-freed memory of the sizes libuv asks for;
    // nothing runs the loop until the thread below does.
    unsafe {
        let lp = uv.alloc((uv.loop_size)());
        let signal = uv.alloc((uv.handle_size)(UV_SIGNAL));
        let control = uv.alloc((uv.handle_size)(UV_ASYNC));
        let check = |call, rc: c_int| match rc {
            0 => Ok(()),
            rc => Err(uv.error(call, rc)),
        };
        check("uv_loop_init", (uv.loop_init)(lp))?;
        check("uv_signal_init", (uv.signal_init)(lp, signal))?;
        check("uv_async_init", (uv.async_init)(lp, control, on_control))?;
        SIGNAL_HANDLE.store(signal, Ordering::SeqCst);
        let lp = lp as usize;
        std::thread::Builder::new()
            .name("leakguard-signal".into())
            .spawn(move || (uv.run)(lp as *mut c_void, 0))
            .map_err(|e| format!("cannot start the signal thread: {e}"))?;
        Ok(Watcher {
            control: AtomicPtr::new(control),
        })
    }
}

impl Watcher {
    /// Asks the loop thread to watch `signum` (0: none) and waits for it.
    fn set(&self, signum: c_int) -> Result<(), String> {
        let uv = uv()?;
        let (tx, rx) = sync_channel(1);
        *WANTED.lock().unwrap() = Some((signum, tx));
        // SAFETY: uv_async_send is libuv's one thread-safe call.
        unsafe { (uv.async_send)(self.control.load(Ordering::SeqCst)) };
        rx.recv_timeout(Duration::from_secs(5))
            .unwrap_or_else(|_| Err("the signal thread did not answer".into()))
    }
}

/// On the loop thread: applies the wanted signal.
unsafe extern "C" fn on_control(_handle: *mut c_void) {
    let Some((signum, ack)) = WANTED.lock().unwrap().take() else {
        return;
    };
    let result = uv().and_then(|uv| {
        let handle = SIGNAL_HANDLE.load(Ordering::SeqCst);
        // SAFETY: the handle belongs to this loop, run by this thread.
        let rc = unsafe {
            (uv.signal_stop)(handle);
            match signum {
                0 => 0,
                n => (uv.signal_start)(handle, on_signal, n),
            }
        };
        match rc {
            0 => Ok(()),
            rc => Err(uv.error("uv_signal_start", rc)),
        }
    });
    let _ = ack.send(result);
}

unsafe extern "C" fn on_signal(_handle: *mut c_void, _signum: c_int) {
    let _ = std::panic::catch_unwind(raised);
}
