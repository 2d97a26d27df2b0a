//! A JS promise settled later, from Rust, on the JS thread.

use napi::bindgen_prelude::Unknown;
use napi::{sys, Env, Result};

/// A promise's resolver, moved to another thread and used back on the JS thread.
pub struct Deferred(sys::napi_deferred);
// SAFETY: only used by napi on the JS thread, via `JsThread`.
unsafe impl Send for Deferred {}

/// A new promise and its resolver.
pub fn create(env: &Env) -> Result<(Deferred, Unknown<'static>)> {
    let mut deferred = std::ptr::null_mut();
    let mut promise = std::ptr::null_mut();
    let status = unsafe { sys::napi_create_promise(env.raw(), &mut deferred, &mut promise) };
    if status != sys::Status::napi_ok {
        return Err(napi::Error::from_status(napi::Status::from(status)));
    }
    Ok((Deferred(deferred), unsafe {
        Unknown::from_raw_unchecked(env.raw(), promise)
    }))
}

impl Deferred {
    pub fn settle(self, env: &Env, value: sys::napi_value, resolve: bool) {
        let settle = if resolve {
            sys::napi_resolve_deferred
        } else {
            sys::napi_reject_deferred
        };
        unsafe { settle(env.raw(), self.0, value) };
    }
}
