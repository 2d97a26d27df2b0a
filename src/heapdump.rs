//! heapdump compatibility: `writeSnapshot`'s argument shapes and its
//! node-style callback.

use napi::bindgen_prelude::{FnArgs, Function, FunctionRef, Null, ToNapiValue, Unknown};
use napi::{Env, JsValue, Result, ValueType};

use crate::capture::Settle;
use crate::error::{LgError, LgResult};
use crate::process;
use crate::request::Snapshot;

type NodeArgs = FnArgs<(Unknown<'static>, Unknown<'static>)>;
type NodeCallback = FunctionRef<NodeArgs, Unknown<'static>>;
type NodeCallbackFn<'env> = Function<'env, NodeArgs, Unknown<'static>>;

fn call_node_style(env: &Env, callback: &NodeCallback, result: LgResult<Snapshot>) -> Result<()> {
    let f = callback.borrow_back(env)?;
    let args = match result {
        Ok(s) => (
            Null.into_unknown(env)?,
            env.create_string(s.path.to_string_lossy())?.to_unknown(),
        ),
        Err(e) => (e.to_js(env)?, ().into_unknown(env)?),
    };
    f.call(FnArgs::from(args))?;
    Ok(())
}

/// heapdump's argument shapes: `()`, `(filename)`, `(callback)`, `(filename, callback)`.
pub fn arguments<'env>(
    first: Option<Unknown<'env>>,
    second: Option<Unknown<'env>>,
) -> LgResult<(Option<String>, Option<NodeCallbackFn<'env>>)> {
    let kind = |v: &Option<Unknown>| v.as_ref().and_then(|v| v.get_type().ok());
    let bad = |what: &str, v: &Unknown| {
        LgError::config(format!(
            "writeSnapshot(): {what} must be {}, got a {}",
            if what == "filename" {
                "a non-empty string or a callback"
            } else {
                "a function"
            },
            v.get_type().map(|t| t.to_string()).unwrap_or_default()
        ))
    };
    let mut filename = None;
    let mut callback = None;
    match (kind(&first), &first) {
        (None | Some(ValueType::Undefined | ValueType::Null), _) => {}
        (Some(ValueType::String), Some(v)) => {
            let name: String = unsafe { v.cast() }.unwrap_or_default();
            let refused = if name.is_empty() {
                Some("is empty")
            } else {
                name.contains('\0').then_some("contains a NUL byte (\\0)")
            };
            if let Some(why) = refused {
                return Err(LgError::config(format!(
                    "writeSnapshot(): filename {why}; pass a file name, or a callback"
                )));
            }
            filename = Some(name);
        }
        (Some(ValueType::Function), Some(v)) => {
            callback = Some(unsafe { v.cast() }.map_err(|_| bad("filename", v))?)
        }
        (_, Some(v)) => return Err(bad("filename", v)),
        (Some(_), None) => unreachable!(),
    }
    match (kind(&second), &second) {
        (None | Some(ValueType::Undefined | ValueType::Null), _) => {}
        (Some(ValueType::Function), Some(v)) if callback.is_none() => {
            callback = Some(unsafe { v.cast() }.map_err(|_| bad("callback", v))?)
        }
        (_, Some(v)) => return Err(bad("callback", v)),
        (Some(_), None) => unreachable!(),
    }
    Ok((filename, callback))
}

/// Delivers the outcome the way heapdump did: `callback(err, filename)`; with
/// no callback, a failure becomes a process warning (never a throw).
pub fn settle(callback: Option<NodeCallbackFn<'_>>) -> Result<Settle> {
    let callback = callback.map(|f| f.create_ref()).transpose()?;
    Ok(Box::new(move |env: &Env, result: LgResult<Snapshot>| {
        let delivered = match callback {
            Some(callback) => call_node_style(env, &callback, result),
            None => match result {
                Ok(_) => Ok(()),
                Err(e) => e
                    .to_js(env)
                    .and_then(|err| process::emit_warning(env, err, e.code.as_str())),
            },
        };
        // A callback that throws surfaces as an uncaught exception, as in heapdump.
        drop(delivered);
    }))
}
