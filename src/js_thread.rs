//! The way back to an isolate's JS thread from anywhere: writer threads, the
//! signal thread, and contexts where JS cannot run (a V8 interrupt, a GC
//! callback). One per isolate, created on its JS thread before first use.
//!
//! It is a threadsafe function that does not keep the event loop alive by
//! itself; `hold` makes it do so while snapshots are in flight, so a process
//! does not exit while a file is still being written. If the env is torn down
//! first (a worker exiting), queued jobs are dropped unrun.
//!
//! N-API frees a threadsafe function at env teardown even while other threads
//! still hold it, so every call goes through `alive`: cleared, under its lock,
//! by the finalizer, and checked under the same lock before each call.

use std::cell::{Cell, OnceCell};
use std::ffi::c_void;
use std::ptr;
use std::sync::{Arc, Mutex};

use napi::{sys, Env, Error, Result, Status};

type Job = Box<dyn FnOnce(&Env) + Send>;

pub struct JsThread {
    tsfn: sys::napi_threadsafe_function,
    env: sys::napi_env,
    alive: Arc<Mutex<bool>>,
}

// A threadsafe function may be called from any thread; `env` is used only on
// the JS thread (`hold`/`release`).
unsafe impl Send for JsThread {}
unsafe impl Sync for JsThread {}

thread_local! {
    static HOME: OnceCell<Arc<JsThread>> = const { OnceCell::new() };
    static HOLDS: Cell<usize> = const { Cell::new(0) };
}

/// This isolate's hop, created on first use (on its JS thread).
pub fn home(env: &Env) -> Result<Arc<JsThread>> {
    if let Some(hop) = current() {
        return Ok(hop);
    }
    let hop = Arc::new(JsThread::new(env)?);
    HOME.with(|h| h.set(Arc::clone(&hop)).ok());
    Ok(hop)
}

/// This isolate's hop, if `home` created it; for code that has no env.
pub fn current() -> Option<Arc<JsThread>> {
    HOME.with(|h| h.get().cloned())
}

impl JsThread {
    fn new(env: &Env) -> Result<Self> {
        let mut name = ptr::null_mut();
        let mut tsfn = ptr::null_mut();
        let alive = Arc::new(Mutex::new(true));
        let finalize_data = Arc::into_raw(Arc::clone(&alive)).cast_mut().cast();
        let status = unsafe {
            sys::napi_create_string_utf8(env.raw(), c"leakguard".as_ptr(), 9, &mut name);
            sys::napi_create_threadsafe_function(
                env.raw(),
                ptr::null_mut(),
                ptr::null_mut(),
                name,
                0,
                1,
                finalize_data,
                Some(finalized),
                ptr::null_mut(),
                Some(call_js),
                &mut tsfn,
            )
        };
        if status != sys::Status::napi_ok {
            drop(unsafe { Arc::from_raw(finalize_data.cast::<Mutex<bool>>()) });
            return Err(Error::new(
                Status::from(status),
                "leakguard: cannot create a threadsafe function".to_string(),
            ));
        }
        unsafe { sys::napi_unref_threadsafe_function(env.raw(), tsfn) };
        Ok(JsThread {
            tsfn,
            env: env.raw(),
            alive,
        })
    }

    /// Runs `job` on the JS thread (from any thread, including a V8 callback
    /// on the JS thread itself: queuing runs no JS). Dropped unrun if the env
    /// is gone.
    pub fn run(&self, job: impl FnOnce(&Env) + Send + 'static) {
        let data = Box::into_raw(Box::new(Box::new(job) as Job));
        let alive = self.alive.lock().unwrap();
        let status = match *alive {
            true => unsafe {
                sys::napi_call_threadsafe_function(
                    self.tsfn,
                    data.cast(),
                    sys::ThreadsafeFunctionCallMode::nonblocking,
                )
            },
            false => sys::Status::napi_closing,
        };
        drop(alive);
        if status != sys::Status::napi_ok {
            // Not queued (the env is closing): the job is still ours to free.
            drop(unsafe { Box::from_raw(data) });
        }
    }

    /// On the JS thread: keep the event loop alive until the matching
    /// `release`. Only toggles the uv handle's ref (no JS), so it is safe in
    /// a V8 interrupt too.
    pub fn hold(&self) {
        self.set_holds(HOLDS.get() + 1);
    }

    pub fn release(&self) {
        self.set_holds(HOLDS.get().saturating_sub(1));
    }

    fn set_holds(&self, holds: usize) {
        let was = HOLDS.replace(holds);
        let alive = self.alive.lock().unwrap();
        if !*alive || (was > 0) == (holds > 0) {
            return;
        }
        unsafe {
            match holds {
                0 => sys::napi_unref_threadsafe_function(self.env, self.tsfn),
                _ => sys::napi_ref_threadsafe_function(self.env, self.tsfn),
            };
        }
    }
}

unsafe extern "C" fn call_js(
    env: sys::napi_env,
    _js_callback: sys::napi_value,
    _context: *mut c_void,
    data: *mut c_void,
) {
    let job = unsafe { Box::from_raw(data.cast::<Job>()) };
    // A null env means teardown: drop the job without calling into JS.
    if !env.is_null() {
        job(&Env::from_raw(env));
    }
}

/// Runs on the JS thread once the function is destroyed (at env teardown).
unsafe extern "C" fn finalized(_env: sys::napi_env, data: *mut c_void, _hint: *mut c_void) {
    let alive = unsafe { Arc::from_raw(data.cast::<Mutex<bool>>()) };
    *alive.lock().unwrap() = false;
}
