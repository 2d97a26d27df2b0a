//! The drain hook, between a trigger that can wait (API, threshold) and the
//! capture: a snapshot blocks the event loop for seconds, and a load
//! balancer's health check may kill the process meanwhile. So first await the
//! app's `beforeSnapshot({ reason })` (e.g. to fail readiness), then wait
//! `drainMs`, then capture. `busy()` is true from the request on.

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::sync::Arc;
use std::time::Duration;

use napi::bindgen_prelude::{
    FnArgs, FromNapiValue, Function, FunctionCallContext, FunctionRef, JsObjectValue, Object,
    Unknown,
};
use napi::{sys, Env, JsValue, ValueType};

use crate::capture::{self, Context, Settle};
use crate::config;
use crate::error::LgError;
use crate::events::{Args, Listener};
use crate::js_thread::{self, JsThread};
use crate::request::Request;

thread_local! {
    // Per isolate: a JS function belongs to its isolate.
    static HOOK: RefCell<Option<FunctionRef<Args, Unknown<'static>>>> = const { RefCell::new(None) };
}

pub fn set_hook(hook: Option<Listener>) -> napi::Result<()> {
    let hook = hook.map(|f| f.create_ref()).transpose()?;
    HOOK.set(hook);
    Ok(())
}

/// A request on its way to capture, once the hook has settled.
struct Pending {
    request: Request,
    settle: Settle,
    hop: Arc<JsThread>,
    drain: Duration,
}

/// Runs the drain steps configured, then submits `request` for capture.
pub fn request(env: &Env, request: Request, settle: Settle) {
    let hook = HOOK.with_borrow(|h| h.as_ref().and_then(|f| f.borrow_back(env).ok()));
    let drain = config::defaults().drain;
    let hop = match js_thread::home(env) {
        Ok(hop) if hook.is_some() || !drain.is_zero() => hop,
        _ => return capture::submit(Context::Js(env), request, settle),
    };
    capture::enter(&hop);
    let pending = Pending {
        request,
        settle,
        hop,
        drain,
    };
    let Some(hook) = hook else {
        return wait(pending);
    };
    let outcome = call(env, hook, &pending.request.reason);
    match outcome {
        Err(e) => fail(env, pending, e),
        Ok(None) => wait(pending),
        Ok(Some((promise, then))) => after(env, promise, then, pending),
    }
}

type Then<'env> = Function<'env, FnArgs<(Unknown<'env>, Unknown<'env>)>, Unknown<'env>>;

/// Calls the hook: `Ok(Some((thenable, its then)))` to await, `Ok(None)`
/// when it returned anything else, `Err` with what it (or a `then` getter)
/// threw. `then` is read once, as `await` does.
fn call<'env>(
    env: &'env Env,
    hook: Listener<'env>,
    reason: &str,
) -> Result<Option<(Object<'env>, Then<'env>)>, String> {
    let info = (|| {
        let mut info = Object::new(env)?;
        info.set_named_property("reason", reason)?;
        Ok::<_, napi::Error>(info.to_unknown())
    })()
    .map_err(|e| thrown(env, e))?;
    // SAFETY: the payload outlives the call; `'static` only matches the stored type.
    let info: Unknown<'static> = unsafe { std::mem::transmute(info) };
    let value = hook
        .call(FnArgs::from((info,)))
        .map_err(|e| thrown(env, e))?;
    if value.get_type().ok() != Some(ValueType::Object) {
        return Ok(None);
    }
    let object = Object::from_raw(env.raw(), value.raw());
    let then: Unknown = object
        .get_named_property("then")
        .map_err(|e| thrown(env, e))?;
    if then.get_type().ok() != Some(ValueType::Function) {
        return Ok(None);
    }
    // SAFETY: just checked to be a function.
    let then = unsafe { then.cast() }.map_err(|e| thrown(env, e))?;
    Ok(Some((object, then)))
}

/// What a failed napi call threw. An exception left pending would be thrown
/// from the API call that made the request (`snapshot()` would throw instead
/// of rejecting), so it is taken off the env here.
fn thrown(env: &Env, e: napi::Error) -> String {
    let mut pending = false;
    // SAFETY: plain napi calls on the current env, on its thread.
    unsafe { sys::napi_is_exception_pending(env.raw(), &mut pending) };
    if !pending {
        return e.reason;
    }
    let mut exception = std::ptr::null_mut();
    unsafe { sys::napi_get_and_clear_last_exception(env.raw(), &mut exception) };
    match unsafe { Unknown::from_napi_value(env.raw(), exception) } {
        Ok(value) => describe(value),
        Err(_) => e.reason,
    }
}

/// `promise.then(wait, fail)`.
fn after(env: &Env, promise: Object, then: Then, pending: Pending) {
    let slot = Rc::new(Cell::new(Some(pending)));
    if let Err(e) = attach(env, promise, then, &slot) {
        // `then` threw: the request fails like a rejected hook.
        if let Some(p) = slot.take() {
            fail(env, p, thrown(env, e));
        }
    }
}

fn attach(
    env: &Env,
    promise: Object,
    then: Then,
    slot: &Rc<Cell<Option<Pending>>>,
) -> napi::Result<()> {
    let (ok_slot, err_slot) = (Rc::clone(slot), Rc::clone(slot));
    let on_ok = env.create_function_from_closure::<Args, (), _>("leakguardDrained", move |_| {
        if let Some(p) = ok_slot.take() {
            wait(p);
        }
        Ok(())
    })?;
    let on_err = env.create_function_from_closure::<Args, (), _>(
        "leakguardHookFailed",
        move |ctx: FunctionCallContext| {
            if let Some(p) = err_slot.take() {
                let why: Unknown = ctx.get(0)?;
                fail(ctx.env, p, describe(why));
            }
            Ok(())
        },
    )?;
    then.apply(
        promise,
        FnArgs::from((on_ok.to_unknown(), on_err.to_unknown())),
    )?;
    Ok(())
}

/// Waits `drainMs` off the JS thread, then submits.
fn wait(pending: Pending) {
    let (drain, hop) = (pending.drain, Arc::clone(&pending.hop));
    let go = move |env: &Env| {
        let Pending {
            request,
            settle,
            hop,
            ..
        } = pending;
        capture::submit(Context::Js(env), request, settle);
        capture::leave(&hop);
    };
    if drain.is_zero() {
        return hop.run(go);
    }
    std::thread::spawn(move || {
        std::thread::sleep(drain);
        hop.run(go);
    });
}

fn fail(env: &Env, pending: Pending, why: String) {
    let Pending {
        request,
        settle,
        hop,
        ..
    } = pending;
    let error = LgError::hook(format!(
        "beforeSnapshot failed, so no snapshot was taken: {why}"
    ));
    capture::reject(env, request, error, settle);
    capture::leave(&hop);
}

fn describe(value: Unknown) -> String {
    value
        .coerce_to_string()
        .and_then(|s| s.into_utf8())
        .and_then(|s| s.into_owned())
        .unwrap_or_else(|_| "(a value that cannot be shown)".into())
}
