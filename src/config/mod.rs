//! Validated configuration: process-wide defaults (`configure`) and per-call
//! options (`snapshot`). Every bad value is a `TypeError` naming the option,
//! what it got and what it accepts; unknown option names are refused too, so
//! a typo cannot silently fall back to a default.

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::SystemTime;

use napi::bindgen_prelude::{Either, Unknown};

mod reader;
use reader::Reader;

use crate::capture::Request;
use crate::destination::Destination;
use crate::error::{LgError, LgResult};
use crate::guard::Headroom;

/// Process-wide defaults set by `configure()`.
#[derive(Clone, Debug, Default)]
pub struct Defaults {
    /// Absolute directory for snapshots; `None` means the process's cwd at capture time.
    pub dir: Option<PathBuf>,
    /// gzip level, `None` for an uncompressed `.heapsnapshot`.
    pub gzip: Option<u32>,
    pub object_ids: ObjectIds,
    pub headroom: Headroom,
}

/// What happens to V8's object-id map after a snapshot.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ObjectIds {
    /// Ids stay stable across snapshots (needed to compare them); the map
    /// costs about 50 bytes per live object from the first snapshot on.
    #[default]
    Keep,
    /// The map is dropped: memory returns, but the next snapshot's ids do not
    /// match this one's.
    Reset,
}

impl ObjectIds {
    pub fn as_str(self) -> &'static str {
        match self {
            ObjectIds::Keep => "keep",
            ObjectIds::Reset => "reset",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [ObjectIds::Keep, ObjectIds::Reset]
            .into_iter()
            .find(|v| v.as_str() == s)
    }
}

static DEFAULTS: Mutex<Defaults> = Mutex::new(Defaults {
    dir: None,
    gzip: None,
    object_ids: ObjectIds::Keep,
    headroom: Headroom {
        enabled: true,
        factor: None,
        reserve: crate::guard::DEFAULT_RESERVE,
        limit: None,
    },
});

pub fn defaults() -> Defaults {
    DEFAULTS.lock().unwrap().clone()
}

/// Applies `configure()` options over the current defaults (options left out keep their value).
pub fn configure(options: ConfigureOptions) -> LgResult<()> {
    let mut next = defaults();
    if let Some(dir) = options.dir {
        next.dir = Some(absolute(&dir)?);
    }
    if let Some(gzip) = options.gzip {
        next.gzip = gzip_level(gzip);
    }
    if let Some(ids) = options.object_ids.as_deref().and_then(ObjectIds::parse) {
        next.object_ids = ids;
    }
    if let Some(headroom) = options.headroom {
        next.headroom = headroom_config(headroom);
    }
    *DEFAULTS.lock().unwrap() = next;
    Ok(())
}

/// Process-wide defaults for every later snapshot.
#[napi(object)]
pub struct ConfigureOptions {
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
    /// The memory-headroom guard (on by default): `false` turns it off, an
    /// object replaces its settings (fields left out take their defaults).
    #[napi(ts_type = "HeadroomOptions | false")]
    pub headroom: Option<Either<bool, HeadroomOptions>>,
}

/// How the guard estimates and limits what a snapshot may use.
#[napi(object)]
pub struct HeadroomOptions {
    /// Extra memory a snapshot needs per byte of heapUsed. Default: a model
    /// measured per heap shape, refined by this isolate's earlier snapshots.
    pub factor: Option<f64>,
    /// MiB kept free on top of the estimate (default 64).
    pub reserve_mb: Option<f64>,
    /// A memory limit for the whole process in MiB, used when tighter than
    /// the cgroup's and the host's.
    pub limit_mb: Option<f64>,
}

fn headroom_config(options: Either<bool, HeadroomOptions>) -> Headroom {
    let mib = |v: f64| (v * 1048576.0) as u64;
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
        &["dir", "gzip", "objectIds", "headroom"],
    )?
    .ok_or_else(|| LgError::config("configure() expects an options object"))?;
    Ok(ConfigureOptions {
        dir: r.path("dir")?,
        gzip: r.gzip("gzip")?,
        object_ids: r.object_ids("objectIds")?,
        headroom: r.headroom("headroom")?,
    })
}

pub fn parse_snapshot(value: Option<Unknown>) -> LgResult<SnapshotOptions> {
    let reader = match value {
        Some(v) => Reader::new(
            v,
            "snapshot()",
            &["dir", "filename", "gzip", "reason", "objectIds"],
        )?,
        None => None,
    };
    let Some(r) = reader else {
        return Ok(SnapshotOptions {
            dir: None,
            filename: None,
            gzip: None,
            reason: None,
            object_ids: None,
        });
    };
    Ok(SnapshotOptions {
        dir: r.path("dir")?,
        filename: r.path("filename")?,
        gzip: r.gzip("gzip")?,
        reason: r.reason("reason")?,
        object_ids: r.object_ids("objectIds")?,
    })
}

/// Resolves `path` against the process's current directory.
pub fn absolute(path: &str) -> LgResult<PathBuf> {
    let p = Path::new(path);
    if p.is_absolute() {
        return Ok(p.to_path_buf());
    }
    std::env::current_dir().map(|cwd| cwd.join(p)).map_err(|e| {
        LgError::config(format!(
            "cannot resolve `{path}`: no current directory ({e})"
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
    let gzip = options.gzip.map_or(defaults.gzip, gzip_level);
    Request {
        dest: Destination::new(&dir, options.filename.as_deref(), gzip, SystemTime::now()),
        reason: options.reason.unwrap_or_else(|| "api".to_string()),
        object_ids: options
            .object_ids
            .as_deref()
            .and_then(ObjectIds::parse)
            .unwrap_or(defaults.object_ids),
        headroom: defaults.headroom,
    }
}
