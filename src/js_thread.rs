//! A one-shot hop back to the JS thread that owns an env.
//!
//! Created on the JS thread, handed to a worker thread, and used once to run a
//! Rust closure with the env. Until then it keeps the event loop alive, so a
//! process does not exit while a snapshot file is still being written. If the
//! env is torn down first (a worker exiting), the closure is dropped unrun.
//!
//! N-API frees a threadsafe function at env teardown even while other threads
//! still hold it, so every call goes through `alive`: cleared, under its lock,
//! by the finalizer, and checked under the same lock before each call.

use std::ffi::c_void;
use std::ptr;
use std::sync::{Arc, Mutex};

use napi::{sys, Env, Error, Result, Status};

type Job = Box<dyn FnOnce(&Env) + Send>;

pub struct JsThread {
    tsfn: sys::napi_threadsafe_function,
    alive: Arc<Mutex<bool>>,
}

// A threadsafe function may be called and released from any thread.
unsafe impl Send for JsThread {}

impl JsThread {
    pub fn new(env: &Env) -> Result<Self> {
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
        Ok(JsThread { tsfn, alive })
    }

    /// Runs `job` on the JS thread (from any thread). Dropped unrun if the env is gone.
    pub fn run(self, job: impl FnOnce(&Env) + Send + 'static) {
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
        // `self` drops here and releases the function.
    }
}

impl Drop for JsThread {
    fn drop(&mut self) {
        if *self.alive.lock().unwrap() {
            unsafe {
                sys::napi_release_threadsafe_function(
                    self.tsfn,
                    sys::ThreadsafeFunctionReleaseMode::release,
                );
            }
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

/// Runs on the JS thread once the function is destroyed, normally or at teardown.
unsafe extern "C" fn finalized(_env: sys::napi_env, data: *mut c_void, _hint: *mut c_void) {
    let alive = unsafe { Arc::from_raw(data.cast::<Mutex<bool>>()) };
    *alive.lock().unwrap() = false;
}
