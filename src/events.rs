//! `leakguard.on(event, listener)`: every snapshot's outcome, whatever
//! triggered it. `'snapshot'` gets the result; `'skipped'` gets the guard's
//! refusal (an `ERR_LEAKGUARD_HEADROOM` error); `'error'` gets any other
//! failure (a failed upload included), and, after a `'snapshot'`, each older
//! file retention could not delete; `'upload'` follows `'snapshot'` for a
//! snapshot uploaded to S3, and comes alone for a leftover uploaded. Each payload carries the `reason` of the trigger. Unlike an
//! EventEmitter, an `'error'` nobody listens to is not thrown: it would crash
//! the app that leakguard is there to help.
//!
//! Listeners belong to the isolate that registered them (main or worker).

use std::cell::RefCell;

use napi::bindgen_prelude::{
    FnArgs, Function, FunctionRef, JsObjectValue, Object, ToNapiValue, Unknown,
};
use napi::{sys, Env, JsValue, Result};

use crate::error::{Code, LgError, LgResult};
use crate::request::Snapshot;
use crate::result::{SnapshotResult, UploadResult};

pub type Args = FnArgs<(Unknown<'static>,)>;
pub type Listener<'env> = Function<'env, Args, Unknown<'static>>;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Event {
    Snapshot,
    Skipped,
    Error,
    Upload,
}

impl Event {
    pub const NAMES: &'static str = "'snapshot', 'skipped', 'error', 'upload'";

    pub fn parse(name: &str) -> Option<Event> {
        match name {
            "snapshot" => Some(Event::Snapshot),
            "skipped" => Some(Event::Skipped),
            "error" => Some(Event::Error),
            "upload" => Some(Event::Upload),
            _ => None,
        }
    }
}

thread_local! {
    static LISTENERS: RefCell<Vec<(Event, FunctionRef<Args, Unknown<'static>>)>> =
        const { RefCell::new(Vec::new()) };
}

pub fn on(event: Event, listener: Listener) -> Result<()> {
    let listener = listener.create_ref()?;
    LISTENERS.with_borrow_mut(|l| l.push((event, listener)));
    Ok(())
}

/// Removes the first registration of `listener` for `event`, if any.
pub fn off(env: &Env, event: Event, listener: Listener) -> Result<()> {
    let index = LISTENERS.with_borrow(|l| {
        l.iter().position(|(e, f)| {
            *e == event
                && f.borrow_back(env)
                    .and_then(|f| env.strict_equals(f, listener.to_unknown()))
                    .unwrap_or(false)
        })
    });
    if let Some(i) = index {
        LISTENERS.with_borrow_mut(|l| drop(l.remove(i)));
    }
    Ok(())
}

/// Tells the listeners how a snapshot ended. A listener that throws ends the
/// emit; its exception is returned (cleared) for the caller to raise as
/// uncaught once its own work is done, as with an EventEmitter.
pub fn emit(env: &Env, reason: &str, outcome: &LgResult<Snapshot>) -> Option<sys::napi_value> {
    let thrown = emit_to_listeners(env, reason, outcome).err()?;
    // napi-rs took the exception off the env and keeps the thrown value; this
    // hands that same value back.
    unsafe { napi::Error::to_napi_value(env.raw(), thrown) }.ok()
}

fn emit_to_listeners(env: &Env, reason: &str, outcome: &LgResult<Snapshot>) -> Result<()> {
    let error = |e: &LgError| {
        let mut error: Object = e.to_js(env)?.coerce_to_object()?;
        error.set_named_property("reason", reason)?;
        Ok(error.to_unknown())
    };
    match outcome {
        Ok(s) => {
            call(env, Event::Snapshot, || {
                SnapshotResult::from(s.clone()).into_unknown(env)
            })?;
            if let Some(u) = &s.s3 {
                call(env, Event::Upload, || {
                    UploadResult::new(u.clone(), false).into_unknown(env)
                })?;
            }
            // The snapshot succeeded; deleting an older file did not.
            for e in &s.retention_failures {
                call(env, Event::Error, || error(e))?;
            }
            Ok(())
        }
        Err(e) if e.code == Code::Headroom => call(env, Event::Skipped, || error(e)),
        Err(e) => call(env, Event::Error, || error(e)),
    }
}

/// Tells the `'upload'` listeners of an upload that was not a new
/// snapshot's (a leftover); returns a listener's exception, as `emit`.
pub fn emit_upload(env: &Env, upload: UploadResult) -> Option<sys::napi_value> {
    let thrown = call(env, Event::Upload, || upload.into_unknown(env)).err()?;
    unsafe { napi::Error::to_napi_value(env.raw(), thrown) }.ok()
}

/// Calls `event`'s listeners with the payload `make` builds (only if there are any).
fn call<'env>(
    env: &'env Env,
    event: Event,
    make: impl FnOnce() -> Result<Unknown<'env>>,
) -> Result<()> {
    // Look the listeners up first: one may add or remove listeners.
    let listeners: Vec<Listener> = LISTENERS.with_borrow(|l| {
        l.iter()
            .filter(|(e, _)| *e == event)
            .filter_map(|(_, f)| f.borrow_back(env).ok())
            .collect()
    });
    if listeners.is_empty() {
        return Ok(());
    }
    let payload = make()?;
    for listener in listeners {
        listener.call(FnArgs::from((payload,)))?;
    }
    Ok(())
}
