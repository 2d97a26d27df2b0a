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
//! The signal thread never takes the snapshot. It hands the request to the JS
//! thread twice: through a V8 interrupt (runs even inside a busy JS loop) and
//! through the JS thread's event loop (runs when the loop is idle, where no
//! interrupt is serviced). Whichever runs first claims the request; the other
//! finds nothing pending. A storm of signals yields at most one snapshot in
//! flight and one queued.

use std::ffi::{c_int, c_void};
use std::sync::atomic::{AtomicBool, AtomicPtr, Ordering};
use std::sync::mpsc::{sync_channel, SyncSender};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use napi::Env;

use super::uv::{uv, UV_ASYNC, UV_SIGNAL};
use crate::capture::{self, Context};
use crate::engine;
use crate::js_thread::{self, JsThread};
use crate::request::REASON_SIGNAL;

/// Where a signal's request goes: the main isolate, while it lives.
struct Target {
    isolate: *mut c_void,
    hop: Arc<JsThread>,
}
// The isolate pointer is only passed to V8's thread-safe RequestInterrupt.
unsafe impl Send for Target {}

static TARGET: Mutex<Option<Target>> = Mutex::new(None);
static PENDING: AtomicBool = AtomicBool::new(false);

/// Listens on `signum` (or stops listening, with `None`) for this isolate,
/// which must be the main thread's. Returns once the watcher is in place.
pub fn listen(env: &Env, signum: Option<c_int>) -> Result<(), String> {
    if signum.is_some() {
        let hop = js_thread::home(env).map_err(|e| e.reason)?;
        let isolate = match engine::shim(env) {
            Ok(shim) => shim.isolate(),
            Err(_) => std::ptr::null_mut(), // no interrupts: idle-loop hand-off only
        };
        let mut target = TARGET.lock().unwrap();
        if target.is_none() {
            super::on_teardown(env, forget_isolate);
        }
        *target = Some(Target { isolate, hop });
    }
    match (signum, WATCHER.get()) {
        (Some(signum), _) => watcher()?.set(signum),
        (None, Some(started)) => started.as_ref().map_err(Clone::clone)?.set(0),
        (None, None) => Ok(()), // never listened: no thread to start
    }
}

/// At env teardown: no interrupt may target the isolate any more.
fn forget_isolate() {
    *TARGET.lock().unwrap() = None;
}

/// On the signal thread.
fn raised() {
    let target = TARGET.lock().unwrap();
    let Some(target) = target.as_ref() else {
        return;
    };
    if PENDING.swap(true, Ordering::SeqCst) {
        return; // one already on its way to the JS thread
    }
    if let (false, Ok(shim)) = (target.isolate.is_null(), engine::native()) {
        // SAFETY: TARGET's lock keeps the isolate alive (teardown clears it first).
        unsafe { shim.request_interrupt(target.isolate, on_interrupt) };
    }
    target.hop.run(|env| claim(Context::Js(env)));
}

unsafe extern "C" fn on_interrupt(_isolate: *mut c_void, _data: *mut c_void) {
    let _ = std::panic::catch_unwind(|| claim(Context::Interrupt));
}

/// On the JS thread: takes the pending request, if still there.
fn claim(from: Context) {
    if !PENDING.swap(false, Ordering::SeqCst) || capture::waiting(REASON_SIGNAL) {
        return; // claimed by the other path, or one is already queued
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
