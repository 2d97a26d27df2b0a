//! `leakguard.analyze.summary(file)` and `.diff(s1, s2, s3)`: the analysis
//! runs on its own thread, never the JS thread, and settles a promise.

use std::path::PathBuf;

use napi::bindgen_prelude::{JsObjectValue, Object, ToNapiValue, Unknown};
use napi::{Env, JsValue, Result, ValueType};

use crate::analysis::{self, AnalysisError, Group, Hop, Progress};
use crate::error::{LgError, LgResult};
use crate::js_thread;
use crate::promise;

/// Options of `analyze.summary` and `analyze.diff`.
#[napi(object)]
pub struct AnalyzeOptions {
    /// How many constructors to list: a whole number 1-1000000 (default 10).
    pub top: Option<u32>,
    /// Draw a progress bar on stderr when the analysis takes over a second
    /// (default false; the CLI turns it on for terminals).
    pub progress: Option<bool>,
}

/// One constructor's objects.
#[napi(object)]
pub struct GroupResult {
    /// The constructor: a class name, or `(closure)`, `(string)`, ...
    pub name: String,
    pub count: f64,
    /// Bytes of the objects themselves.
    pub self_size: f64,
    /// Bytes they keep alive (objects dominated by another of the same
    /// constructor are not counted twice).
    pub retained_size: f64,
}

#[napi(object)]
pub struct SummaryResult {
    pub nodes: f64,
    pub edges: f64,
    /// Sum of all objects' self sizes.
    pub total_size: f64,
    pub by_count: Vec<GroupResult>,
    pub by_self_size: Vec<GroupResult>,
    pub by_retained_size: Vec<GroupResult>,
}

#[napi(object)]
pub struct LeakGroupResult {
    pub name: String,
    pub count: f64,
    pub self_size: f64,
    pub retained_size: f64,
    /// How a typical member is held, from the roots, one hop per reference
    /// (the retainer holding most of the group, then its largest member);
    /// `null` if only weak references reach the group.
    pub path: Option<Vec<HopResult>>,
    /// V8-internal steps of that path left out because the hop they serve
    /// names them (a closure's Context in a variable, a Map's or Set's hash
    /// table in an entry): a path is this many steps shorter than DevTools'.
    pub path_folded: u32,
}

/// One reference on a retainer path and the object it reaches.
#[napi(object)]
pub struct HopResult {
    /// The reference as source code names it: `.requestLogs`, `[3]`,
    /// `sessionCache (variable in request, server.js:42)`,
    /// `.get('sess-42')`; the first hop names the root's child.
    pub edge: String,
    /// `root`, `variable`, `property`, `element`, `map entry`, `set entry`,
    /// or V8's own edge type (`internal`, `hidden`, `shortcut`).
    pub edge_type: String,
    /// The object's constructor as the summary names it; a named function
    /// as `name()`; a string as its first 40 characters, quoted.
    pub node: String,
    /// The object's id: `@id` in DevTools' Memory panel.
    pub id: f64,
    /// Bytes of the object itself.
    #[napi(js_name = "self")]
    pub self_size: f64,
    /// Bytes it keeps alive (what would be freed without it).
    pub retained: f64,
}

#[napi(object)]
pub struct DiffResult {
    /// Node counts of s1, s2, s3.
    pub nodes: Vec<f64>,
    /// Objects allocated between s1 and s2 that s3 still holds.
    pub leaked: f64,
    /// By constructor, largest retained size first.
    pub groups: Vec<LeakGroupResult>,
}

impl From<Group> for GroupResult {
    fn from(g: Group) -> Self {
        GroupResult {
            name: g.name,
            count: g.count as f64,
            self_size: g.self_size as f64,
            retained_size: g.retained_size as f64,
        }
    }
}

impl From<Hop> for HopResult {
    fn from(h: Hop) -> Self {
        HopResult {
            edge: h.edge,
            edge_type: h.edge_type,
            node: h.node,
            id: h.id as f64,
            self_size: h.self_size as f64,
            retained: h.retained as f64,
        }
    }
}

/// Totals and the top constructors (by count, self size, retained size) of a
/// `.heapsnapshot` or `.heapsnapshot.gz`. Rejects with
/// `ERR_LEAKGUARD_ANALYSIS` naming the byte offset of malformed input.
#[napi(
    namespace = "analyze",
    ts_args_type = "file: string, options?: AnalyzeOptions",
    ts_return_type = "Promise<SummaryResult>"
)]
pub fn summary(env: Env, file: Unknown, options: Option<Unknown>) -> Result<Unknown<'static>> {
    let args = (|| {
        Ok((
            path("analyze.summary()", "file", &file)?,
            settings("analyze.summary()", options)?,
        ))
    })();
    off_thread(&env, args, move |(file, (top, progress))| {
        analysis::summary(&file, top, &progress).map(|s| SummaryResult {
            nodes: s.nodes as f64,
            edges: s.edges as f64,
            total_size: s.total_size as f64,
            by_count: s.by_count.into_iter().map(Into::into).collect(),
            by_self_size: s.by_self_size.into_iter().map(Into::into).collect(),
            by_retained_size: s.by_retained_size.into_iter().map(Into::into).collect(),
        })
    })
}

/// The leak between three snapshots: objects whose ids are in `s2` but not
/// `s1` and still exist in `s3`, grouped by constructor, with a retainer path
/// for each group. Take s1, then s2 after some load, then s3 after more.
#[napi(
    namespace = "analyze",
    ts_args_type = "s1: string, s2: string, s3: string, options?: AnalyzeOptions",
    ts_return_type = "Promise<DiffResult>"
)]
pub fn diff(
    env: Env,
    s1: Unknown,
    s2: Unknown,
    s3: Unknown,
    options: Option<Unknown>,
) -> Result<Unknown<'static>> {
    const CALL: &str = "analyze.diff()";
    let args = (|| {
        let files = [
            path(CALL, "s1", &s1)?,
            path(CALL, "s2", &s2)?,
            path(CALL, "s3", &s3)?,
        ];
        Ok((files, settings(CALL, options)?))
    })();
    off_thread(&env, args, move |(files, (top, progress))| {
        analysis::diff([&files[0], &files[1], &files[2]], top, &progress).map(|d| DiffResult {
            nodes: d.nodes.iter().map(|&n| n as f64).collect(),
            leaked: d.leaked as f64,
            groups: d
                .groups
                .into_iter()
                .map(|g| LeakGroupResult {
                    name: g.group.name,
                    count: g.group.count as f64,
                    self_size: g.group.self_size as f64,
                    retained_size: g.group.retained_size as f64,
                    path_folded: g.path.as_ref().map_or(0, |p| p.folded),
                    path: g
                        .path
                        .map(|p| p.hops.into_iter().map(HopResult::from).collect()),
                })
                .collect(),
        })
    })
}

/// At most this many groups are listed: more is not a summary.
const MAX_TOP: f64 = 1e6;

/// A file argument: a non-empty path string.
fn path(call: &str, name: &str, v: &Unknown) -> LgResult<PathBuf> {
    let s = (v.get_type().ok() == Some(ValueType::String))
        .then(|| unsafe { v.cast::<String>() }.ok())
        .flatten();
    match s {
        Some(s) if !s.is_empty() && !s.contains('\0') => Ok(PathBuf::from(s)),
        _ => Err(LgError::config(format!(
            "{call} expects `{name}` to be a snapshot's path (a non-empty string), got {}",
            describe(v)
        ))),
    }
}

/// `analyze.*`'s options, checked: unknown names and bad values are
/// `ERR_LEAKGUARD_CONFIG` errors naming the option, as `configure()`'s are.
fn settings(call: &str, options: Option<Unknown>) -> LgResult<(usize, Progress)> {
    let invalid = |key: &str, v: &Unknown, accepts: &str| {
        LgError::config(format!(
            "invalid option `{key}` for {call}: got {}; accepted: {accepts}",
            describe(v)
        ))
    };
    let failure = |e: napi::Error| LgError::config(format!("cannot read options: {}", e.reason));
    let mut o = AnalyzeOptions {
        top: None,
        progress: None,
    };
    let given =
        options.filter(|v| !matches!(v.get_type(), Ok(ValueType::Undefined | ValueType::Null)));
    if let Some(v) = given {
        if v.get_type().map_err(failure)? != ValueType::Object {
            return Err(LgError::config(format!(
                "{call} expects an options object, got {}",
                describe(&v)
            )));
        }
        let object = Object::from_raw(v.value().env, v.raw());
        for key in Object::keys(&object).map_err(failure)? {
            if key != "top" && key != "progress" {
                return Err(LgError::config(format!(
                    "unknown option `{key}` for {call}; accepted options: top, progress"
                )));
            }
        }
        let get = |key: &str| -> LgResult<Option<Unknown>> {
            let v: Unknown = object.get_named_property(key).map_err(failure)?;
            Ok((v.get_type().map_err(failure)? != ValueType::Undefined).then_some(v))
        };
        if let Some(v) = get("top")? {
            let n = number(&v).filter(|n| n.fract() == 0.0 && (1.0..=MAX_TOP).contains(n));
            o.top = Some(n.ok_or_else(|| invalid("top", &v, "a whole number 1-1000000"))? as u32);
        }
        if let Some(v) = get("progress")? {
            let b = (v.get_type().ok() == Some(ValueType::Boolean))
                .then(|| unsafe { v.cast::<bool>() }.ok())
                .flatten();
            o.progress = Some(b.ok_or_else(|| invalid("progress", &v, "true or false"))?);
        }
    }
    Ok((
        o.top.unwrap_or(10) as usize,
        Progress::new(o.progress.unwrap_or(false)),
    ))
}

fn number(v: &Unknown) -> Option<f64> {
    (v.get_type().ok()? == ValueType::Number)
        .then(|| unsafe { v.cast::<f64>() }.ok())
        .flatten()
}

/// A JS value for a message: `-1 (number)`, `true (boolean)`, or its type.
fn describe(v: &Unknown) -> String {
    match v.get_type() {
        Ok(ValueType::Number) => format!("{} (number)", number(v).unwrap_or(f64::NAN)),
        Ok(ValueType::Boolean) => format!(
            "{} (boolean)",
            unsafe { v.cast::<bool>() }.unwrap_or_default()
        ),
        Ok(t) => format!("a value of type {t}"),
        Err(_) => "a value".to_string(),
    }
}

/// Runs `work` on its checked arguments on a new thread; its outcome
/// settles the returned promise. Bad arguments reject it.
fn off_thread<A: Send + 'static, T: ToNapiValue + Send + 'static>(
    env: &Env,
    args: LgResult<A>,
    work: impl FnOnce(A) -> std::result::Result<T, AnalysisError> + Send + 'static,
) -> Result<Unknown<'static>> {
    let (deferred, promise) = promise::create(env)?;
    let args = match args {
        Ok(args) => args,
        Err(e) => {
            let value = e.to_js(env)?;
            deferred.settle(env, value.raw(), false);
            return Ok(promise);
        }
    };
    let hop = js_thread::home(env)?;
    hop.hold(); // the process waits for the answer
    std::thread::Builder::new()
        .name("leakguard-analysis".into())
        .spawn(move || {
            // A bug must reject the promise, not leave it pending forever.
            let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| work(args)))
                .unwrap_or_else(|_| Err(AnalysisError::internal()));
            let back = std::sync::Arc::clone(&hop);
            hop.run(move |env| {
                back.release();
                let ok = outcome.is_ok();
                let value = match outcome {
                    Ok(v) => unsafe { T::to_napi_value(env.raw(), v) },
                    Err(e) => LgError::analysis(e.to_string())
                        .to_js(env)
                        .map(|v| napi::JsValue::raw(&v)),
                };
                if let Ok(value) = value {
                    deferred.settle(env, value, ok);
                }
            })
        })
        .map_err(|e| napi::Error::from_reason(format!("cannot start the analysis thread: {e}")))?;
    Ok(promise)
}
