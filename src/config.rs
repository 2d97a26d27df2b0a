//! Validated configuration: process-wide defaults (`configure`) and per-call
//! options (`snapshot`). Every bad value is a `TypeError` naming the option,
//! what it got and what it accepts; unknown option names are refused too, so
//! a typo cannot silently fall back to a default.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use napi::bindgen_prelude::{Either, JsObjectValue, Object, Unknown};
use napi::{JsValue, ValueType};

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

const GZIP_ACCEPTS: &str = "true, false, or an integer gzip level 1-9";

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

/// Reads the properties of a JS options object with precise errors.
struct Reader<'env> {
    object: Object<'env>,
    what: &'static str,
}

impl<'env> Reader<'env> {
    /// `undefined`/`null` give `None`; anything but a plain object is refused.
    fn new(value: Unknown<'env>, what: &'static str, known: &[&str]) -> LgResult<Option<Self>> {
        match value.get_type().map_err(napi_failure)? {
            ValueType::Undefined | ValueType::Null => return Ok(None),
            ValueType::Object => {}
            _ => {
                return Err(LgError::config(format!(
                    "{what} expects an options object, got {}",
                    describe(&value)
                )))
            }
        }
        let object = Object::from_raw(value.value().env, value.raw());
        for key in Object::keys(&object).map_err(napi_failure)? {
            if !known.contains(&key.as_str()) {
                return Err(LgError::config(format!(
                    "unknown option `{key}` for {what}; accepted options: {}",
                    known.join(", ")
                )));
            }
        }
        Ok(Some(Reader { object, what }))
    }

    fn get(&self, key: &str) -> LgResult<Option<Unknown<'env>>> {
        let v: Unknown = self.object.get_named_property(key).map_err(napi_failure)?;
        Ok(match v.get_type().map_err(napi_failure)? {
            ValueType::Undefined => None,
            _ => Some(v),
        })
    }

    fn invalid(&self, key: &str, got: &Unknown, accepts: &str) -> LgError {
        LgError::config(format!(
            "invalid option `{key}` for {}: got {}; accepted: {accepts}",
            self.what,
            describe(got)
        ))
    }

    /// A non-empty string without NUL bytes.
    fn path(&self, key: &str) -> LgResult<Option<String>> {
        let Some(v) = self.get(key)? else {
            return Ok(None);
        };
        match string_of(&v) {
            Some(s) if !s.is_empty() && !s.contains('\0') => Ok(Some(s)),
            _ => Err(self.invalid(key, &v, "a non-empty path string")),
        }
    }

    fn reason(&self, key: &str) -> LgResult<Option<String>> {
        let Some(v) = self.get(key)? else {
            return Ok(None);
        };
        match string_of(&v) {
            Some(s) if !s.is_empty() && s.len() <= 64 && !s.chars().any(char::is_control) => {
                Ok(Some(s))
            }
            _ => Err(self.invalid(key, &v, "a string of 1-64 printable characters")),
        }
    }

    fn object_ids(&self, key: &str) -> LgResult<Option<String>> {
        let Some(v) = self.get(key)? else {
            return Ok(None);
        };
        match string_of(&v) {
            Some(s) if ObjectIds::parse(&s).is_some() => Ok(Some(s)),
            _ => Err(self.invalid(key, &v, "'keep' or 'reset'")),
        }
    }

    fn headroom(&self, key: &str) -> LgResult<Option<Either<bool, HeadroomOptions>>> {
        let Some(v) = self.get(key)? else {
            return Ok(None);
        };
        const ACCEPTS: &str = "false, or { factor?, reserveMb?, limitMb? }";
        match v.get_type().map_err(napi_failure)? {
            ValueType::Boolean => Ok(Some(Either::A(unsafe { v.cast() }.map_err(napi_failure)?))),
            ValueType::Object => {
                let r = Reader::new(
                    v,
                    "configure({ headroom })",
                    &["factor", "reserveMb", "limitMb"],
                )?
                .expect("an object");
                Ok(Some(Either::B(HeadroomOptions {
                    factor: r.number("factor", 0.0, false)?,
                    reserve_mb: r.number("reserveMb", 0.0, true)?,
                    limit_mb: r.number("limitMb", 0.0, false)?,
                })))
            }
            _ => Err(self.invalid(key, &v, ACCEPTS)),
        }
    }

    /// A finite number above `min` (or equal to it, with `inclusive`).
    fn number(&self, key: &str, min: f64, inclusive: bool) -> LgResult<Option<f64>> {
        let Some(v) = self.get(key)? else {
            return Ok(None);
        };
        let n: Option<f64> = (v.get_type().ok() == Some(ValueType::Number))
            .then(|| unsafe { v.cast() }.ok())
            .flatten();
        match n {
            Some(n) if n.is_finite() && (n > min || (inclusive && n == min)) => Ok(Some(n)),
            _ => Err(self.invalid(
                key,
                &v,
                &format!("a number {} {min}", if inclusive { ">=" } else { ">" }),
            )),
        }
    }

    fn gzip(&self, key: &str) -> LgResult<Option<Either<bool, u32>>> {
        let Some(v) = self.get(key)? else {
            return Ok(None);
        };
        match v.get_type().map_err(napi_failure)? {
            ValueType::Boolean => {
                let b: bool = unsafe { v.cast() }.map_err(napi_failure)?;
                Ok(Some(Either::A(b)))
            }
            ValueType::Number => {
                let n: f64 = unsafe { v.cast() }.map_err(napi_failure)?;
                if n.fract() == 0.0 && (1.0..=9.0).contains(&n) {
                    Ok(Some(Either::B(n as u32)))
                } else {
                    Err(self.invalid(key, &v, GZIP_ACCEPTS))
                }
            }
            _ => Err(self.invalid(key, &v, GZIP_ACCEPTS)),
        }
    }
}

fn string_of(v: &Unknown) -> Option<String> {
    (v.get_type().ok()? == ValueType::String)
        .then(|| unsafe { v.cast::<String>() }.ok())
        .flatten()
}

/// A short description of a JS value for error messages: `'yes' (string)`, `0 (number)`.
fn describe(v: &Unknown) -> String {
    let ty = v.get_type().unwrap_or(ValueType::Unknown);
    match ty {
        ValueType::String => {
            let s = string_of(v).unwrap_or_default();
            let short: String = s.chars().take(40).collect();
            format!("{short:?} (string)")
        }
        ValueType::Number => {
            let n: f64 = unsafe { v.cast() }.unwrap_or(f64::NAN);
            format!("{n} (number)")
        }
        ValueType::Boolean => {
            let b: bool = unsafe { v.cast() }.unwrap_or_default();
            format!("{b} (boolean)")
        }
        ValueType::Null => "null".to_string(),
        other => format!("a value of type {other}"),
    }
}

fn napi_failure(e: napi::Error) -> LgError {
    LgError::config(format!("cannot read options: {}", e.reason))
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
