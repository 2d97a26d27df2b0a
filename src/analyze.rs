//! `leakguard.analyze.summary(file)` and `.diff(s1, s2, s3)`: the analysis
//! runs on its own thread, never the JS thread, and settles a promise.

use std::path::PathBuf;

use napi::bindgen_prelude::{ToNapiValue, Unknown};
use napi::{Env, Result};

use crate::analysis::{self, AnalysisError, Group, Progress};
use crate::error::LgError;
use crate::js_thread;
use crate::promise;

/// Options of `analyze.summary` and `analyze.diff`.
#[napi(object)]
pub struct AnalyzeOptions {
    /// How many constructors to list (default 10).
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
    /// How a typical member is held, from the roots, one step per element
    /// (the retainer holding most of the group, then its largest member);
    /// `null` if only weak references reach the group.
    pub path: Option<Vec<String>>,
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

/// Totals and the top constructors (by count, self size, retained size) of a
/// `.heapsnapshot` or `.heapsnapshot.gz`. Rejects with
/// `ERR_LEAKGUARD_ANALYSIS` naming the byte offset of malformed input.
#[napi(
    namespace = "analyze",
    ts_args_type = "file: string, options?: AnalyzeOptions",
    ts_return_type = "Promise<SummaryResult>"
)]
pub fn summary(
    env: Env,
    file: String,
    options: Option<AnalyzeOptions>,
) -> Result<Unknown<'static>> {
    let (top, progress) = settings(options);
    off_thread(&env, move || {
        analysis::summary(&PathBuf::from(file), top, &progress).map(|s| SummaryResult {
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
    s1: String,
    s2: String,
    s3: String,
    options: Option<AnalyzeOptions>,
) -> Result<Unknown<'static>> {
    let (top, progress) = settings(options);
    off_thread(&env, move || {
        let files = [PathBuf::from(s1), PathBuf::from(s2), PathBuf::from(s3)];
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
                    path: g.path,
                })
                .collect(),
        })
    })
}

fn settings(options: Option<AnalyzeOptions>) -> (usize, Progress) {
    let top = options.as_ref().and_then(|o| o.top).unwrap_or(10) as usize;
    let progress = options.and_then(|o| o.progress).unwrap_or(false);
    (top, Progress::new(progress))
}

/// Runs `work` on a new thread; its outcome settles the returned promise.
fn off_thread<T: ToNapiValue + Send + 'static>(
    env: &Env,
    work: impl FnOnce() -> std::result::Result<T, AnalysisError> + Send + 'static,
) -> Result<Unknown<'static>> {
    let (deferred, promise) = promise::create(env)?;
    let hop = js_thread::home(env)?;
    hop.hold(); // the process waits for the answer
    std::thread::Builder::new()
        .name("leakguard-analysis".into())
        .spawn(move || {
            // A bug must reject the promise, not leave it pending forever.
            let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(work))
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
