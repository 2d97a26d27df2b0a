//! What asks for a snapshot besides the API: a signal, a heap threshold, the
//! near-heap-limit callback, an HTTP route. Each builds the same `Request` (from the
//! configured defaults) and goes through `capture`, like the API does.
//! `setup` arms them; they only read the configuration.

mod handoff;
pub mod near_limit;
pub mod route;
pub mod signal;
pub mod threshold;
mod uv;

use std::ffi::c_void;

use napi::{sys, Env};

use crate::capture::Settle;
use crate::config::{self, SnapshotOptions};
use crate::engine::{self, Shim};
use crate::error::{LgError, LgResult};
use crate::js_thread;
use crate::request::Request;

/// A request for a trigger nobody awaits: default destination, and one
/// stderr line with the outcome unless `quiet`.
fn request(reason: &str) -> Request {
    let mut request = config::request(SnapshotOptions {
        reason: Some(reason.to_string()),
        ..SnapshotOptions::default()
    });
    request.announce = !config::defaults().quiet;
    request
}

/// Nobody awaits these: the outcome reaches listeners and the log only.
fn unawaited() -> Settle {
    Box::new(|_, _| {})
}

/// What a V8-hook trigger (`option`) needs before arming: the shim, and the
/// isolate's way back to JS for when the hook fires.
fn native_hooks(env: &Env, option: &str) -> LgResult<&'static Shim> {
    let shim = engine::shim(env).as_ref().map_err(|why| {
        LgError::config(format!(
            "{option} needs leakguard's native V8 hooks, unavailable here: {why}"
        ))
    })?;
    js_thread::home(env).map_err(|e| LgError::capture(e.reason))?;
    Ok(shim)
}

/// Runs `f` once when `env` is torn down (before its isolate is disposed).
fn on_teardown(env: &Env, f: fn()) {
    unsafe extern "C" fn run(arg: *mut c_void) {
        let f: fn() = unsafe { std::mem::transmute(arg) };
        f();
    }
    // A hook that cannot be added leaves the target set: the process is exiting anyway.
    unsafe { sys::napi_add_env_cleanup_hook(env.raw(), Some(run), f as *mut c_void) };
}
