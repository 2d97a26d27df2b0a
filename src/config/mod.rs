//! Validated configuration: process-wide defaults (`configure`) and per-call
//! options (`snapshot`). Every bad value is a `TypeError` naming the option,
//! what it got and what it accepts; unknown option names are refused too, so
//! a typo cannot silently fall back to a default.
//!
//! Values only: this module arms nothing. `setup` applies a `Configuration`
//! (triggers, the drain hook), so triggers and capture can read the defaults
//! without importing what arms them.

use std::ffi::c_int;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use napi::bindgen_prelude::{Either, Null, Unknown};

pub mod env;
mod listen;
mod reader;
pub mod route;
pub mod rules;
pub mod s3;
mod signals;
use reader::Reader;
use rules::{mib, millis, shown_path};

use crate::destination::Destination;
use crate::error::{LgError, LgResult};
use crate::events::Listener;
use crate::guard::Headroom;
use crate::process;
use crate::request::{CaptureMode, ObjectIds, Request, REASON_API};
use crate::sink::s3::S3Settings;
use crate::sink::Retain;
use s3::S3Options;

/// Process-wide defaults set by `configure()`.
#[derive(Clone, Debug, Default)]
pub struct Defaults {
    /// Absolute directory for snapshots; `None` means the process's cwd at capture time.
    pub dir: Option<PathBuf>,
    /// gzip level, `None` for an uncompressed `.heapsnapshot`.
    pub gzip: Option<u32>,
    /// Whether `gzip` was set: unset, snapshots bound for S3 are gzip level 1.
    pub gzip_set: bool,
    pub object_ids: ObjectIds,
    pub capture: CaptureMode,
    pub headroom: Headroom,
    /// No stderr line for snapshots nobody awaits.
    pub quiet: bool,
    /// Wait after `beforeSnapshot` before capturing.
    pub drain: Duration,
    pub retain: Retain,
    /// The signal listened on (main thread), `None` for none.
    pub signal: Option<c_int>,
    pub threshold: Option<Threshold>,
    /// `maxSnapshots` of the near-heap-limit trigger, `None` when off.
    pub near_heap_limit: Option<u32>,
    /// Where snapshots are uploaded, `None` for nowhere.
    pub s3: Option<Arc<S3Settings>>,
}

/// `threshold` configuration (when it trips: `trigger::threshold`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Threshold {
    /// Bytes of heapUsed.
    pub heap_used: Option<u64>,
    /// Fraction of V8's heap limit.
    pub heap_used_ratio: Option<f64>,
    pub cooldown: Duration,
    pub max_snapshots: u32,
}

static DEFAULTS: Mutex<Defaults> = Mutex::new(Defaults {
    dir: None,
    gzip: None,
    gzip_set: false,
    object_ids: ObjectIds::Keep,
    capture: CaptureMode::InProcess,
    headroom: Headroom {
        enabled: true,
        factor: None,
        reserve: crate::guard::DEFAULT_RESERVE,
        limit: None,
    },
    quiet: false,
    drain: Duration::ZERO,
    retain: Retain {
        max_files: None,
        max_bytes: None,
    },
    signal: None,
    threshold: None,
    near_heap_limit: None,
    s3: None,
});

pub const DEFAULT_COOLDOWN: Duration = Duration::from_secs(300);
pub const DEFAULT_THRESHOLD_SNAPSHOTS: u32 = 3;

pub fn defaults() -> Defaults {
    DEFAULTS.lock().unwrap().clone()
}

/// Replaces the process-wide defaults (what `setup` does once a
/// configuration is applied).
pub fn store(next: Defaults) {
    *DEFAULTS.lock().unwrap() = next;
}

/// One validated `configure()` call: the defaults it leaves, and what it
/// sets for the triggers and the drain hook. Each `Some` is a new setting
/// (`Some(None)`: off); `None` leaves that one as it is.
pub struct Configuration<'env> {
    pub defaults: Defaults,
    pub signal: Option<Option<c_int>>,
    pub threshold: Option<Option<Threshold>>,
    pub near_heap_limit: Option<Option<u32>>,
    pub before_snapshot: Option<Option<Listener<'env>>>,
    /// The route's native listener.
    pub route: Option<Option<route::ListenSettings>>,
    /// Whether this call set `s3` (on, with new settings, or off).
    pub s3_changed: bool,
    /// Whether this call set `dir`.
    pub dir_changed: bool,
}

/// Checks `configure()` options and lays them over the current defaults
/// (options left out keep their value). Changes nothing.
pub fn resolve(options: ConfigureOptions) -> LgResult<Configuration> {
    let process_wide = [
        ("signal", options.signal.is_some()),
        ("nearHeapLimit", options.near_heap_limit.is_some()),
        ("route", options.route.is_some()),
    ];
    if let Some((name, _)) = process_wide.iter().find(|(_, set)| *set) {
        if !process::is_main_thread() {
            return Err(LgError::config(format!(
                "`{name}` is process-wide and belongs to the main thread; configure it there, \
                 not in a worker"
            )));
        }
    }
    let mut next = defaults();
    let dir_changed = options.dir.is_some();
    if let Some(dir) = options.dir {
        next.dir = Some(existing_dir(&dir)?);
    }
    if let Some(gzip) = options.gzip {
        next.gzip = gzip_level(gzip);
        next.gzip_set = true;
    }
    let s3_changed = options.s3.is_some();
    if let Some(s3) = options.s3 {
        next.s3 = match s3 {
            Either::A(_) => None,
            Either::B(o) => Some(Arc::new(s3::settings(o).map_err(|why| {
                LgError::config(format!("invalid option `s3` for configure(): {why}"))
            })?)),
        };
    }
    if let Some(ids) = options.object_ids.as_deref().and_then(ObjectIds::parse) {
        next.object_ids = ids;
    }
    if let Some(mode) = options.capture.as_deref().and_then(CaptureMode::parse) {
        next.capture = mode;
    }
    if let Some(headroom) = options.headroom {
        next.headroom = headroom_config(headroom);
    }
    if let Some(quiet) = options.quiet {
        next.quiet = quiet;
    }
    if let Some(ms) = options.drain_ms {
        next.drain = millis(ms);
    }
    if let Some(retain) = options.retain {
        next.retain = retain_config(retain);
    }
    let signal = options
        .signal
        .map(|signal| match signal {
            Either::A(_) => Ok(None),
            Either::B(name) => signals::parse(&name).map(Some).map_err(LgError::config),
        })
        .transpose()?;
    let threshold = options.threshold.map(threshold_config);
    let near_heap_limit = options.near_heap_limit.map(|n| match n {
        Either::A(on) => on.then_some(1),
        Either::B(o) => Some(o.max_snapshots.unwrap_or(1)),
    });
    next.signal = signal.unwrap_or(next.signal);
    next.threshold = threshold.unwrap_or(next.threshold);
    next.near_heap_limit = near_heap_limit.unwrap_or(next.near_heap_limit);
    let route = options
        .route
        .map(|r| match r {
            Either::A(_) => Ok(None),
            Either::B(o) => route::listen_settings(o, &env::vars()).map(Some),
        })
        .transpose()?;
    Ok(Configuration {
        route,
        defaults: next,
        signal,
        threshold,
        near_heap_limit,
        before_snapshot: options.before_snapshot.map(|hook| match hook {
            Either::A(f) => Some(f),
            Either::B(Null) => None,
        }),
        s3_changed,
        dir_changed,
    })
}

/// Process-wide defaults for every later snapshot, and the triggers.
#[napi(object, object_to_js = false)]
#[derive(Default)]
pub struct ConfigureOptions<'env> {
    /// Directory for snapshot files (relative paths are resolved against the cwd now).
    /// Default: the process's current directory at the time of each snapshot.
    pub dir: Option<String>,
    /// `true` (level 1), `false`, or a gzip level 1–9. Default `false`. Level 1
    /// keeps pace with V8; higher levels cost JS-thread time through back-pressure.
    pub gzip: Option<Either<bool, u32>>,
    /// `'keep'` (default): V8 keeps object ids stable across snapshots, which
    /// comparing snapshots needs (DevTools' comparison view, `leakguard diff`);
    /// the id map costs about 50 bytes per live object from the first snapshot
    /// on. `'reset'`: the map is dropped after the snapshot and RSS returns to
    /// its level before, but later snapshots' ids do not match this one's.
    #[napi(ts_type = "'keep' | 'reset'")]
    pub object_ids: Option<String>,
    /// `'in-process'` (default): V8 builds and writes the snapshot on the
    /// isolate's thread, which is blocked meanwhile. `'fork'` (Linux): V8
    /// collects garbage, then leakguard forks and a child process builds,
    /// compresses and writes the snapshot while the app keeps running; it
    /// costs the child's memory plus the app's copy-on-write growth (the
    /// guard counts both), and the snapshot's object ids are fresh, so fork
    /// snapshots cannot be diffed (see the README). Near-heap-limit
    /// snapshots are always in-process.
    #[napi(ts_type = "'in-process' | 'fork'")]
    pub capture: Option<String>,
    /// The memory-headroom guard (on by default): `false` turns it off, an
    /// object replaces its settings (fields left out take their defaults;
    /// `{}` turns it back on with all defaults). `true` is refused: it would
    /// not say whether earlier settings are kept.
    #[napi(ts_type = "HeadroomOptions | false")]
    pub headroom: Option<Either<bool, HeadroomOptions>>,
    /// The signal that takes a snapshot (main thread only): `'SIGUSR2'`
    /// (default) or another of `'SIGHUP' | 'SIGQUIT' | 'SIGWINCH' | 'SIGURG' |
    /// 'SIGTTIN' | 'SIGTTOU' | 'SIGVTALRM' | 'SIGXCPU' | 'SIGXFSZ' | 'SIGPWR'`;
    /// `false` for none. SIGUSR1 (the inspector's), SIGINT, SIGTERM, SIGKILL,
    /// SIGSTOP and SIGPROF are refused.
    #[napi(ts_type = "string | false")]
    pub signal: Option<Either<bool, String>>,
    /// A snapshot when heapUsed after a full garbage collection reaches a
    /// threshold; `false` disarms it.
    #[napi(ts_type = "ThresholdOptions | false")]
    pub threshold: Option<Either<bool, ThresholdOptions>>,
    /// A snapshot at the last moment before V8 runs out of heap (main thread
    /// only): `true` is `{ maxSnapshots: 1 }`; `false` (default) is off.
    #[napi(ts_type = "NearHeapLimitOptions | boolean")]
    pub near_heap_limit: Option<Either<bool, NearHeapLimitOptions>>,
    /// `true`: no stderr line for snapshots nobody awaits (signal, threshold,
    /// near heap limit). Default `false`.
    pub quiet: Option<bool>,
    /// Awaited before each snapshot that can wait (API, threshold), e.g. to
    /// fail a readiness probe so the load balancer drains this instance.
    /// If it throws or rejects, no snapshot is taken (`ERR_LEAKGUARD_HOOK`).
    /// `null` removes it. Per isolate.
    #[napi(ts_type = "((info: { reason: string }) => unknown) | null")]
    pub before_snapshot: Option<Either<Listener<'env>, Null>>,
    /// Milliseconds to wait after `beforeSnapshot` before capturing, 0 to
    /// 2147483647 (2^31 - 1). Default 0.
    pub drain_ms: Option<f64>,
    /// Deletes leakguard's own oldest snapshots (default names only) in the
    /// snapshot's directory after each new one; `false` keeps all (default).
    /// A file still waiting for upload is never deleted.
    #[napi(ts_type = "RetainOptions | false")]
    pub retain: Option<Either<bool, RetainOptions>>,
    /// Uploads every snapshot to S3 once written (streamed while it is
    /// written); `false` stops uploading. Setting it also uploads, in the
    /// background, files in `dir` that an earlier process left waiting for
    /// upload (it died, or its upload failed).
    #[napi(ts_type = "S3Options | false")]
    pub s3: Option<Either<bool, S3Options>>,
    /// The heap-snapshot route on a native listener of its own (main thread
    /// only): `{ listen, token?, hash?, path?, gzip?, s3?, download? }` as
    /// `route()` takes them, plus `listen`. It answers on leakguard's own
    /// thread and takes the snapshot even while JS is stuck (no
    /// `beforeSnapshot`/`drainMs`: it is for when JS cannot run them).
    /// `false` closes it.
    #[napi(ts_type = "RouteOptions | false")]
    pub route: Option<Either<bool, route::RouteOptions>>,
}

/// When the heap threshold trips. At least one of `heapUsedMb` and
/// `heapUsedRatio`; with both, the lower one counts.
#[napi(object)]
pub struct ThresholdOptions {
    /// heapUsed in MiB, > 0 and <= 2^40.
    pub heap_used_mb: Option<f64>,
    /// heapUsed as a fraction of V8's heap limit, 0 < ratio <= 1.
    pub heap_used_ratio: Option<f64>,
    /// Minimum time between two threshold snapshots in ms, 0 to 2147483647
    /// (2^31 - 1). Default 300000 (5 min).
    pub cooldown_ms: Option<f64>,
    /// Threshold snapshots at most (1 to 10^9), then the hook is removed.
    /// Default 3 (enough for `leakguard diff s1 s2 s3`).
    pub max_snapshots: Option<u32>,
}

#[napi(object)]
pub struct NearHeapLimitOptions {
    /// Near-heap-limit snapshots at most (1 to 10^9). Default 1.
    pub max_snapshots: Option<u32>,
}

#[napi(object)]
pub struct RetainOptions {
    /// Keep at most this many of leakguard's snapshots (1 to 10^9).
    pub max_files: Option<u32>,
    /// Keep at most this many bytes of them (the newest is always kept),
    /// > 0 and <= 2^60.
    pub max_bytes: Option<f64>,
}

fn threshold_config(options: Either<bool, ThresholdOptions>) -> Option<Threshold> {
    let Either::B(o) = options else { return None };
    Some(Threshold {
        heap_used: o.heap_used_mb.map(mib),
        heap_used_ratio: o.heap_used_ratio,
        cooldown: o.cooldown_ms.map_or(DEFAULT_COOLDOWN, millis),
        max_snapshots: o.max_snapshots.unwrap_or(DEFAULT_THRESHOLD_SNAPSHOTS),
    })
}

fn retain_config(options: Either<bool, RetainOptions>) -> Retain {
    match options {
        Either::A(_) => Retain::default(),
        Either::B(o) => Retain {
            max_files: o.max_files.map(|n| n as usize),
            max_bytes: o.max_bytes.map(|b| b as u64),
        },
    }
}

/// How the guard estimates and limits what a snapshot may use.
#[napi(object)]
pub struct HeadroomOptions {
    /// Extra memory a snapshot needs per byte of heapUsed, > 0 and <= 1000,
    /// instead of the default: an estimate from V8's count of the heap's
    /// objects, made as each snapshot starts.
    pub factor: Option<f64>,
    /// MiB kept free on top of the estimate, 0 to 2^40 (default 64).
    pub reserve_mb: Option<f64>,
    /// A memory limit for the whole process in MiB (> 0 and <= 2^40), used
    /// when tighter than the cgroup's and the host's.
    pub limit_mb: Option<f64>,
}

fn headroom_config(options: Either<bool, HeadroomOptions>) -> Headroom {
    match options {
        Either::A(enabled) => Headroom {
            enabled,
            ..Headroom::default()
        },
        Either::B(o) => Headroom {
            enabled: true,
            factor: o.factor,
            reserve: o.reserve_mb.map_or(crate::guard::DEFAULT_RESERVE, mib),
            limit: o.limit_mb.map(mib),
        },
    }
}

/// Options of one `snapshot()` call; each overrides the `configure()` default.
#[napi(object)]
#[derive(Default)]
pub struct SnapshotOptions {
    /// Directory to write into.
    pub dir: Option<String>,
    /// File name (joined to `dir`) or absolute path. Default
    /// `heapdump-<seconds>.<microseconds>.heapsnapshot` from the wall clock.
    /// `.gz` is appended when gzip is on and the name lacks it.
    pub filename: Option<String>,
    /// `true` (level 1), `false`, or a gzip level 1–9.
    pub gzip: Option<Either<bool, u32>>,
    /// A label carried into the result (default `'api'`).
    pub reason: Option<String>,
    /// `'keep'` or `'reset'` V8's object-id map; see `ConfigureOptions.objectIds`.
    #[napi(ts_type = "'keep' | 'reset'")]
    pub object_ids: Option<String>,
    /// `'in-process'` or `'fork'`; see `ConfigureOptions.capture`.
    #[napi(ts_type = "'in-process' | 'fork'")]
    pub capture: Option<String>,
    /// `false`: do not upload this snapshot (S3 configured or not; the
    /// gzip default is then as without S3).
    pub s3: Option<bool>,
}

pub fn gzip_level(gzip: Either<bool, u32>) -> Option<u32> {
    match gzip {
        Either::A(false) => None,
        Either::A(true) => Some(1),
        Either::B(level) => Some(level),
    }
}

pub fn parse_configure(value: Unknown) -> LgResult<ConfigureOptions> {
    let r = Reader::new(
        value,
        "configure()",
        &[
            "dir",
            "gzip",
            "objectIds",
            "capture",
            "headroom",
            "signal",
            "threshold",
            "nearHeapLimit",
            "quiet",
            "beforeSnapshot",
            "drainMs",
            "retain",
            "s3",
            "route",
        ],
    )?
    .ok_or_else(|| LgError::config("configure() expects an options object"))?;
    Ok(ConfigureOptions {
        dir: r.path("dir")?,
        gzip: r.gzip("gzip")?,
        object_ids: r.object_ids("objectIds")?,
        capture: r.capture("capture")?,
        headroom: r.headroom("headroom")?,
        signal: r.signal("signal")?,
        threshold: r.threshold("threshold")?,
        near_heap_limit: r.near_heap_limit("nearHeapLimit")?,
        quiet: r.boolean("quiet")?,
        before_snapshot: r.function("beforeSnapshot")?,
        drain_ms: r.millis("drainMs")?,
        retain: r.retain("retain")?,
        s3: r.s3("s3")?,
        route: r.route("route")?,
    })
}

pub fn parse_snapshot(value: Option<Unknown>) -> LgResult<SnapshotOptions> {
    let reader = match value {
        Some(v) => Reader::new(
            v,
            "snapshot()",
            &[
                "dir",
                "filename",
                "gzip",
                "reason",
                "objectIds",
                "capture",
                "s3",
            ],
        )?,
        None => None,
    };
    let Some(r) = reader else {
        return Ok(SnapshotOptions::default());
    };
    Ok(SnapshotOptions {
        dir: r.path("dir")?,
        filename: r.path("filename")?,
        gzip: r.gzip("gzip")?,
        reason: r.reason("reason")?,
        object_ids: r.object_ids("objectIds")?,
        capture: r.capture("capture")?,
        s3: r.boolean("s3")?,
    })
}

/// Options of `upload()`.
#[napi(object)]
pub struct UploadOptions {
    /// Where to upload; default: the configured `s3`.
    pub s3: Option<S3Options>,
    /// Overrides `s3.keepLocal`.
    pub keep_local: Option<bool>,
    /// The key's `{reason}` for a file without an upload mark. Default `'upload'`.
    pub reason: Option<String>,
}

/// `upload(file, options)`'s arguments: the file, the settings, the reason.
pub fn parse_upload(
    file: Unknown,
    options: Option<Unknown>,
) -> LgResult<(PathBuf, Arc<S3Settings>, String)> {
    let path = match file.get_type() {
        Ok(napi::ValueType::String) => unsafe { file.cast::<String>() }.ok(),
        _ => None,
    }
    .filter(|p| !p.is_empty() && !p.contains('\0'))
    .ok_or_else(|| LgError::config("upload() expects a file path (a non-empty string)"))?;
    let reader = match options {
        Some(v) => Reader::new(v, "upload()", &["s3", "keepLocal", "reason"])?,
        None => None,
    };
    let options =
        match &reader {
            Some(r) => UploadOptions {
                s3: match r.s3("s3")? {
                    Some(Either::B(o)) => Some(o),
                    Some(Either::A(_)) => return Err(LgError::config(
                        "invalid option `s3` for upload(): give the S3 settings, or leave it out",
                    )),
                    None => None,
                },
                keep_local: r.boolean("keepLocal")?,
                reason: r.reason("reason")?,
            },
            None => UploadOptions {
                s3: None,
                keep_local: None,
                reason: None,
            },
        };
    let given = options
        .s3
        .map(|o| {
            s3::settings(o)
                .map_err(|why| LgError::config(format!("invalid option `s3` for upload(): {why}")))
        })
        .transpose()?;
    let mut s3 = match given.or_else(|| defaults().s3.map(|s| (*s).clone())) {
        Some(s3) => s3,
        None => s3_from_env()?,
    };
    if let Some(keep) = options.keep_local {
        s3.keep_local = keep;
    }
    Ok((
        absolute(&path)?,
        Arc::new(s3),
        options.reason.unwrap_or_else(|| "upload".to_string()),
    ))
}

/// `upload()` with nothing configured: the `LEAKGUARD_S3_*` variables.
fn s3_from_env() -> LgResult<S3Settings> {
    let options = env::s3(&env::vars()).map_err(|problems| {
        let problems: Vec<&str> = problems
            .iter()
            .map(|p| p.strip_prefix("ignoring ").unwrap_or(p))
            .collect();
        LgError::config(format!("upload(): {}", problems.join("; ")))
    })?;
    let options = options.ok_or_else(|| {
        LgError::config(
            "upload(): S3 is not configured; pass { s3: { bucket, ... } }, call \
             configure({ s3 }) or set LEAKGUARD_S3_BUCKET",
        )
    })?;
    s3::settings(options).map_err(|why| LgError::config(format!("upload(): {why}")))
}

/// The configured directory must exist now: a typo found at startup beats
/// a failed snapshot during an incident.
fn existing_dir(dir: &str) -> LgResult<PathBuf> {
    let path = absolute(dir)?;
    match std::fs::metadata(&path) {
        Ok(m) if m.is_dir() => Ok(path),
        Ok(_) => Err(LgError::config(format!(
            "`dir` {} is not a directory",
            shown_path(&path)
        ))),
        Err(e) => Err(LgError::config(format!(
            "`dir` {} cannot be used: {e}; create it first",
            shown_path(&path)
        ))),
    }
}

/// Resolves `path` against the process's current directory.
pub fn absolute(path: &str) -> LgResult<PathBuf> {
    let p = Path::new(path);
    if p.is_absolute() {
        return Ok(p.to_path_buf());
    }
    std::env::current_dir().map(|cwd| cwd.join(p)).map_err(|e| {
        LgError::config(format!(
            "cannot resolve {}: no current directory ({e})",
            rules::shown(path)
        ))
    })
}

/// Builds the capture request from per-call options over the configured defaults.
pub fn request(options: SnapshotOptions) -> Request {
    let defaults = defaults();
    let dir = options
        .dir
        .and_then(|d| absolute(&d).ok())
        .or(defaults.dir)
        .or_else(|| std::env::current_dir().ok())
        .unwrap_or_default();
    let s3 = defaults.s3.filter(|_| options.s3 != Some(false));
    let gzip = match options.gzip {
        Some(g) => gzip_level(g),
        // Raw JSON is 4-5x bigger on the wire.
        None if s3.is_some() && !defaults.gzip_set => Some(1),
        None => defaults.gzip,
    };
    let mut dest = Destination::new(&dir, options.filename.as_deref(), gzip, SystemTime::now());
    dest.s3 = s3;
    Request {
        dest,
        reason: options.reason.unwrap_or_else(|| REASON_API.to_string()),
        object_ids: options
            .object_ids
            .as_deref()
            .and_then(ObjectIds::parse)
            .unwrap_or(defaults.object_ids),
        capture: options
            .capture
            .as_deref()
            .and_then(CaptureMode::parse)
            .unwrap_or(defaults.capture),
        headroom: defaults.headroom,
        announce: false,
        retain: defaults.retain,
        tap: None,
    }
}
