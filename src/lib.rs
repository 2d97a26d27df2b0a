//! leakguard: V8 heap snapshots for Node.js, captured from Rust and streamed
//! to disk (raw or gzip) off the JS thread.
//!
//! This file holds the napi exports only; their doc comments become index.d.ts.
//! The data path: `capture` (JS thread) → `writer` (bounded queue, writer
//! thread) → `sink` (gzip → file). `engine` reaches V8.

#[macro_use]
extern crate napi_derive;

mod alloc;
mod analysis;
pub mod analyze;
mod capture;
mod config;
mod destination;
mod drain;
mod engine;
mod entropy;
mod error;
mod events;
mod exit;
mod guard;
mod heapdump;
mod js_thread;
mod memory;
mod process;
mod promise;
mod report;
mod request;
mod result;
mod runtime;
mod setup;
mod sink;
mod trigger;
mod units;
mod writer;

use napi::bindgen_prelude::{ToNapiValue, Unknown};
use napi::{Env, JsValue, Result};

use config::SnapshotOptions;
use error::LgResult;
use request::Snapshot;
use result::SnapshotResult;

#[global_allocator]
static ALLOCATOR: alloc::Allocator = alloc::Allocator;

/// Runs as the addon loads in each isolate (see `setup::on_load`).
#[napi(module_exports)]
pub fn init(_exports: napi::bindgen_prelude::Object, env: Env) -> Result<()> {
    setup::on_load(&env);
    Ok(())
}

/// Sets process-wide defaults for later snapshots. Options left out keep
/// their current value. Throws a `TypeError` (`code: 'ERR_LEAKGUARD_CONFIG'`)
/// naming the bad option and the accepted values.
#[napi(ts_args_type = "options: ConfigureOptions")]
pub fn configure(env: Env, options: Unknown) -> Result<()> {
    config::parse_configure(options)
        .and_then(|options| setup::configure(&env, options))
        .map_err(|e| e.into_napi(&env))
}

/// Applies the `LEAKGUARD_*` environment variables as `configure()` options
/// (what `leakguard/register` does). Valid variables apply even when others
/// are invalid; returns one message per invalid or unknown variable, naming it.
#[napi]
pub fn configure_from_env(env: Env) -> Vec<String> {
    setup::configure_from_env(&env, &config::env::vars())
}

/// Whether a snapshot is requested, draining, being taken or written in
/// this isolate: for readiness probes (report not-ready while it is true).
#[napi]
pub fn busy() -> bool {
    capture::busy()
}

/// Takes a heap snapshot of the calling thread's isolate (the main thread or
/// the worker that calls it) and writes it to a file.
///
/// The event loop is blocked while V8 builds and serializes the snapshot;
/// compression and writing happen on a separate thread. With `capture:
/// 'fork'` (Linux) it is blocked only until V8's garbage collection and the
/// fork are done: a child process builds, compresses and writes the file. The file appears under
/// its final name only when complete, with mode 0600.
///
/// One snapshot at a time per isolate: a call made while another snapshot is
/// being taken or written waits for it to finish, then runs.
///
/// Every snapshot passes the memory-headroom guard first: when the need
/// estimated from V8's object count exceeds what the process may still use,
/// V8 stops right after counting; when memory grows past the estimate while
/// V8 builds or serializes the snapshot, it is aborted before the process's
/// limit. Either way nothing is written.
///
/// Rejects with an `Error` whose `code` is `'ERR_LEAKGUARD_HEADROOM'` (with
/// `phase`, `need`, `available`, `boundBy`, `heapUsed`, `rss`),
/// `'ERR_LEAKGUARD_WRITE'` (with `path`, `syscall`, `errno`, `osCode`),
/// `'ERR_LEAKGUARD_CAPTURE'`, `'ERR_LEAKGUARD_UPLOAD'` (with `s3Code`,
/// `bucket`, `key`, `path` of the complete file, kept; `uploadId` when a
/// multipart upload could not be aborted), or `'ERR_LEAKGUARD_CONFIG'` for
/// bad options (a `TypeError`).
///
/// With S3 configured, the promise resolves once the upload is verified
/// too; the next snapshot may start as soon as the file is complete.
#[napi(
    ts_args_type = "options?: SnapshotOptions",
    ts_return_type = "Promise<SnapshotResult>"
)]
pub fn snapshot(env: Env, options: Option<Unknown<'_>>) -> Result<Unknown<'_>> {
    let (deferred, promise) = promise::create(&env)?;
    let settle = move |env: &Env, result: LgResult<Snapshot>| {
        let value = match &result {
            Ok(s) => unsafe { SnapshotResult::to_napi_value(env.raw(), s.clone().into()) },
            Err(e) => e.to_js(env).map(|v| v.raw()),
        };
        // A value that cannot even be built leaves nothing to settle with.
        if let Ok(value) = value {
            deferred.settle(env, value, result.is_ok());
        }
    };
    match config::parse_snapshot(options).map(config::request) {
        Ok(request) => drain::request(&env, request, Box::new(settle)),
        Err(e) => settle(&env, Err(e)),
    }
    Ok(promise)
}

/// heapdump-compatible: writes a snapshot to `filename` (relative names go in
/// the configured directory, default the cwd) or to
/// `heapdump-<seconds>.<microseconds>.heapsnapshot`, and returns `true`.
/// `callback(err, filename)` runs once the file is complete. Without a
/// callback, a failure is reported as a process warning, never thrown.
#[napi(
    ts_args_type = "filename?: string | ((err: Error | null, filename?: string) => void), \
                    callback?: (err: Error | null, filename?: string) => void"
)]
pub fn write_snapshot(
    env: Env,
    filename: Option<Unknown>,
    callback: Option<Unknown>,
) -> Result<bool> {
    let (filename, callback) =
        heapdump::arguments(filename, callback).map_err(|e| e.into_napi(&env))?;
    let settle = heapdump::settle(callback)?;
    let options = SnapshotOptions {
        filename,
        ..SnapshotOptions::default()
    };
    drain::request(&env, config::request(options), settle);
    Ok(true)
}

/// Uploads a complete snapshot file to S3 with the `s3` settings given, or
/// else those configured (`configure({ s3 })`, `LEAKGUARD_S3_*`), and
/// resolves with where it went. A file an earlier process left marked for
/// upload keeps the key and metadata it was taken with (and a dangling
/// multipart upload of it is aborted first); any other file is keyed as this
/// host's, with `reason` (default `'upload'`) and its modification time.
/// Whether the local file is kept after the upload follows `s3.keepLocal`.
/// Rejects with `ERR_LEAKGUARD_UPLOAD` (the file is never touched then),
/// `ERR_LEAKGUARD_WRITE` for a file that cannot be read, or `ERR_LEAKGUARD_CONFIG`.
#[napi(
    ts_args_type = "file: string, options?: UploadOptions",
    ts_return_type = "Promise<UploadResult>"
)]
pub fn upload(env: Env, file: Unknown, options: Option<Unknown>) -> Result<Unknown<'static>> {
    let (deferred, promise) = promise::create(&env)?;
    let settle = move |env: &Env, result: LgResult<sink::s3::Uploaded>| {
        let ok = result.is_ok();
        let value = match result {
            Ok(u) => unsafe {
                result::UploadResult::to_napi_value(env.raw(), result::UploadResult::new(u, false))
            },
            Err(e) => e.to_js(env).map(|v| v.raw()),
        };
        if let Ok(value) = value {
            deferred.settle(env, value, ok);
        }
    };
    let started = config::parse_upload(file, options).and_then(|(path, s3, reason)| {
        let hop = js_thread::home(&env).map_err(|e| error::LgError::capture(e.reason))?;
        let pending = sink::s3::upload_file(s3, &path, &reason)?;
        Ok((hop, pending))
    });
    match started {
        Ok((hop, pending)) => {
            hop.hold();
            let back = std::sync::Arc::clone(&hop);
            pending.then(move |outcome| {
                back.run(move |env| {
                    settle(env, outcome);
                    if let Ok(hop) = js_thread::home(env) {
                        hop.release();
                    }
                })
            });
        }
        Err(e) => settle(&env, Err(e)),
    }
    Ok(promise)
}

/// A heap-snapshot route for an HTTP server (what `route()`, `fastify()`
/// and `koa()` mount): `POST` to its path with `Authorization: Bearer
/// <token>` takes a snapshot with `reason: 'http'` through the same path as
/// `snapshot()`. Throws `ERR_LEAKGUARD_CONFIG` without a token of at least
/// 32 characters (`token`, or `LEAKGUARD_ROUTE_TOKEN`), or with a bad
/// `hash` or `path`; a hash that is not given is generated and printed
/// once on stderr with the full path.
#[napi(ts_args_type = "options?: RouteOptions")]
pub fn create_route(
    env: Env,
    options: Option<Unknown>,
) -> Result<trigger::route::handler::RouteHandler> {
    config::route::parse(options)
        .and_then(|o| config::route::settings(o, &config::env::vars()))
        .map(trigger::route::handler::RouteHandler::new)
        .map_err(|e| e.into_napi(&env))
}

/// The memory-headroom guard's view right now (bytes).
#[napi(object)]
pub struct HeadroomCheck {
    /// Whether a snapshot taken now would pass the guard's pre-check.
    pub fits: bool,
    /// Estimated extra memory a snapshot would need (including the reserve):
    /// a guess from heap bytes, refined by this isolate's last snapshot (a
    /// snapshot decides on V8's own count of the objects).
    pub need: f64,
    /// Memory the process may still use.
    pub available: f64,
    /// The limit that binds `available`.
    pub bound_by: String,
    /// V8's used heap now.
    pub heap_used: f64,
}

/// Would a snapshot fit now? The guard's numbers for this isolate, without
/// taking a snapshot; cheap enough for a readiness probe, so `need` is a
/// guess from heap bytes (a snapshot decides on V8's own object count).
/// With `capture: 'fork'` configured, `available` is less what a fork sets
/// aside for the app's copy-on-write growth (`boundBy` says so).
/// `null` when the guard is off.
#[napi]
pub fn headroom(env: Env) -> Result<Option<HeadroomCheck>> {
    let engine = engine::select(&env).map_err(|e| e.into_napi(&env))?;
    let heap = engine.heap().map_err(|e| e.into_napi(&env))?;
    let defaults = config::defaults();
    let set_aside = capture::set_aside(defaults.capture);
    Ok(
        guard::assess(&defaults.headroom, heap, memory::rss(), set_aside).map(|a| HeadroomCheck {
            fits: a.need <= a.room.bytes,
            need: a.need as f64,
            available: a.room.bytes as f64,
            bound_by: a.room.bound.to_string(),
            heap_used: heap.used as f64,
        }),
    )
}

/// Calls `listener` with every snapshot's outcome in this isolate, whatever
/// triggered it: `'snapshot'` with the `SnapshotResult`; `'skipped'` with the
/// memory-headroom guard's `ERR_LEAKGUARD_HEADROOM` error; `'error'` with any
/// other failure. Each payload has the trigger's `reason`. Unlike an
/// EventEmitter, an `'error'` without a listener is never thrown.
///
/// `'upload'` follows `'snapshot'` for a snapshot uploaded to S3 (with its
/// `UploadResult`), and comes alone for a file an earlier process left
/// waiting for upload (`leftover: true`); a failed upload is an `'error'`
/// (`ERR_LEAKGUARD_UPLOAD`).
///
/// `'error'` also follows a `'snapshot'` for each older file that `retain`
/// could not delete: an `ERR_LEAKGUARD_WRITE` error with that file's `path`,
/// `syscall: 'unlink'`, `errno` and `osCode`. The snapshot itself succeeded
/// (its promise resolves).
#[napi(ts_args_type = "event: 'snapshot' | 'skipped' | 'error' | 'upload', \
                    listener: (payload: SnapshotResult | UploadResult | (Error & { code: string; reason: string })) => void")]
pub fn on(env: Env, event: String, listener: Unknown) -> Result<()> {
    let (event, listener) = event_args(&event, listener).map_err(|e| e.into_napi(&env))?;
    events::on(event, listener)
}

/// Removes a listener added with `on` (the first registration of it for `event`).
#[napi(
    ts_args_type = "event: 'snapshot' | 'skipped' | 'error' | 'upload', listener: (...args: any[]) => void"
)]
pub fn off(env: Env, event: String, listener: Unknown) -> Result<()> {
    let (event, listener) = event_args(&event, listener).map_err(|e| e.into_napi(&env))?;
    events::off(&env, event, listener)
}

fn event_args<'env>(
    event: &str,
    listener: Unknown<'env>,
) -> error::LgResult<(events::Event, events::Listener<'env>)> {
    let event = events::Event::parse(event).ok_or_else(|| {
        error::LgError::config(format!(
            "unknown event {event:?}; leakguard emits {}",
            events::Event::NAMES
        ))
    })?;
    match listener.get_type() {
        Ok(napi::ValueType::Function) => Ok((
            event,
            unsafe { listener.cast() }
                .map_err(|e| error::LgError::config(format!("listener: {}", e.reason)))?,
        )),
        _ => Err(error::LgError::config("the listener must be a function")),
    }
}

/// Which engine snapshots go through in this process, and why.
#[napi(object)]
pub struct EngineInfo {
    /// `'v8-shim'`: native capture through the C++ shim for this Node ABI.
    /// `'node-v8'`: fallback through Node's `v8` module (no shim for this Node).
    #[napi(ts_type = "'v8-shim' | 'node-v8'")]
    pub engine: String,
    /// The running Node's NODE_MODULE_VERSION (`process.versions.modules`).
    pub node_abi: u32,
    /// The shim file in use, with `engine: 'v8-shim'`.
    pub shim_path: Option<String>,
    /// Why the shim is not in use, with `engine: 'node-v8'`.
    pub fallback_reason: Option<String>,
    /// The NODE_MODULE_VERSIONs this build ships shims for.
    pub built_abis: Vec<u32>,
}

/// Reports how snapshots are taken in this process (see `EngineInfo`).
#[napi]
pub fn engine_info(env: Env) -> Result<EngineInfo> {
    let built_abis = engine::BUILT_ABIS
        .split(',')
        .filter_map(|a| a.parse().ok())
        .collect();
    let node_abi = process::node_abi(&env)?;
    Ok(match engine::shim(&env) {
        Ok(shim) => EngineInfo {
            engine: "v8-shim".into(),
            node_abi,
            shim_path: Some(shim.path.to_string_lossy().into_owned()),
            fallback_reason: None,
            built_abis,
        },
        Err(why) => EngineInfo {
            engine: "node-v8".into(),
            node_abi,
            shim_path: None,
            fallback_reason: Some(why.clone()),
            built_abis,
        },
    })
}
