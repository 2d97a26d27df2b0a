//! How a trigger on another thread (the signal thread, the route's native
//! listener) gets a job run on the main isolate's JS thread, even while JS
//! is stuck in a synchronous loop.
//!
//! The job goes there twice: through a V8 interrupt (runs even inside a busy
//! JS loop) and through the JS thread's event loop (runs when the loop is
//! idle, where no interrupt is serviced). Whichever runs first takes it from
//! its slot; the other finds the slot empty. A slot holds one job: a trigger
//! that fires again meanwhile is told so and decides what that means.

use std::ffi::c_void;
use std::sync::{Arc, Mutex};

use napi::Env;

use crate::capture::Context;
use crate::engine;
use crate::js_thread::{self, JsThread};

/// What runs on the JS thread, told where from (`Interrupt`: no JS may run).
pub type Job = Box<dyn FnOnce(Context) + Send>;

/// One trigger's job on its way to the JS thread.
pub struct Slot(Mutex<Option<Job>>);

impl Slot {
    pub const fn new() -> Self {
        Slot(Mutex::new(None))
    }

    fn take(&self) -> Option<Job> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).take()
    }
}

/// The main isolate, while it lives.
struct Target {
    isolate: *mut c_void,
    hop: Arc<JsThread>,
}
// The isolate pointer is only passed to V8's thread-safe RequestInterrupt.
unsafe impl Send for Target {}

static TARGET: Mutex<Option<Target>> = Mutex::new(None);

/// Makes this isolate (the main thread's) the one jobs go to.
pub fn target(env: &Env) -> Result<(), String> {
    let hop = js_thread::home(env).map_err(|e| e.reason)?;
    let isolate = match engine::shim(env) {
        Ok(shim) => shim.isolate(),
        Err(_) => std::ptr::null_mut(), // no interrupts: idle-loop hand-off only
    };
    let mut target = TARGET.lock().unwrap_or_else(|e| e.into_inner());
    if target.is_none() {
        super::on_teardown(env, forget_isolate);
    }
    *target = Some(Target { isolate, hop });
    Ok(())
}

/// At env teardown: no interrupt may target the isolate any more.
fn forget_isolate() {
    *TARGET.lock().unwrap_or_else(|e| e.into_inner()) = None;
}

/// Sends `job` to the JS thread, from any thread. `false` (and `job`
/// dropped unrun) when the slot's earlier job has not run yet, or there is
/// no isolate to run it (never targeted, or torn down).
pub fn send(slot: &'static Slot, job: Job) -> bool {
    let target = TARGET.lock().unwrap_or_else(|e| e.into_inner());
    let Some(target) = target.as_ref() else {
        return false;
    };
    {
        let mut pending = slot.0.lock().unwrap_or_else(|e| e.into_inner());
        if pending.is_some() {
            return false;
        }
        *pending = Some(job);
    }
    if let (false, Ok(shim)) = (target.isolate.is_null(), engine::native()) {
        let data = slot as *const Slot as *mut c_void;
        // SAFETY: TARGET's lock keeps the isolate alive (teardown clears it
        // first); the slot is static.
        unsafe { shim.request_interrupt(target.isolate, on_interrupt, data) };
    }
    target.hop.run(move |env| run(slot, Context::Js(env)));
    true
}

unsafe extern "C" fn on_interrupt(_isolate: *mut c_void, data: *mut c_void) {
    // SAFETY: `send` passes a `&'static Slot`.
    let slot = unsafe { &*(data as *const Slot) };
    let _ = std::panic::catch_unwind(|| run(slot, Context::Interrupt));
}

/// On the JS thread: runs the slot's job, if still there.
fn run(slot: &Slot, from: Context) {
    if let Some(job) = slot.take() {
        job(from);
    }
}
