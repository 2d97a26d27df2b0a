//! Reads JS option objects with precise errors: the option's name, what it
//! got, and what it accepts; unknown names are refused.

use std::borrow::Cow;

use napi::bindgen_prelude::{Either, JsObjectValue, Null, Object, Unknown};
use napi::{JsValue, ValueType};

use super::listen;
use super::route::{self, RouteOptions};
use super::rules::{self, Range};
use super::s3::{self, S3Options};
use super::{signals, HeadroomOptions, NearHeapLimitOptions, RetainOptions, ThresholdOptions};
use crate::error::{LgError, LgResult};
use crate::events::Listener;
use crate::request::ObjectIds;

/// Reads the properties of a JS options object with precise errors.
pub struct Reader<'env> {
    object: Object<'env>,
    /// What is being read, for messages: `configure()`, `configure()'s \`threshold\``.
    what: Cow<'static, str>,
}

impl<'env> Reader<'env> {
    /// `undefined`/`null` give `None`; anything but a plain object is refused.
    pub fn new(
        value: Unknown<'env>,
        what: impl Into<Cow<'static, str>>,
        known: &[&str],
    ) -> LgResult<Option<Self>> {
        let what = what.into();
        match value.get_type().map_err(napi_failure)? {
            ValueType::Undefined | ValueType::Null => return Ok(None),
            ValueType::Object if !is_array(&value)? => {}
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
    pub fn path(&self, key: &str) -> LgResult<Option<String>> {
        let Some(v) = self.get(key)? else {
            return Ok(None);
        };
        match string_of(&v) {
            Some(s) if !s.is_empty() && !s.contains('\0') => Ok(Some(s)),
            _ => Err(self.invalid(key, &v, "a non-empty path string")),
        }
    }

    /// A string that is a secret: a message about it never shows the value.
    pub fn secret(&self, key: &str) -> LgResult<Option<String>> {
        let Some(v) = self.get(key)? else {
            return Ok(None);
        };
        string_of(&v).map(Some).ok_or_else(|| {
            self.invalid_because(
                key,
                "expected a string (the value is not shown: it is a secret)",
            )
        })
    }

    pub fn reason(&self, key: &str) -> LgResult<Option<String>> {
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

    pub fn object_ids(&self, key: &str) -> LgResult<Option<String>> {
        let Some(v) = self.get(key)? else {
            return Ok(None);
        };
        match string_of(&v) {
            Some(s) if ObjectIds::parse(&s).is_some() => Ok(Some(s)),
            _ => Err(self.invalid(key, &v, rules::OBJECT_IDS)),
        }
    }

    pub fn capture(&self, key: &str) -> LgResult<Option<String>> {
        let Some(v) = self.get(key)? else {
            return Ok(None);
        };
        let Some(s) = string_of(&v) else {
            return Err(self.invalid(key, &v, rules::CAPTURE));
        };
        match rules::capture_mode(&s) {
            Ok(_) => Ok(Some(s)),
            Err(why) => Err(self.invalid_because(key, &format!("got {}; {why}", describe(&v)))),
        }
    }

    pub fn headroom(&self, key: &str) -> LgResult<Option<Either<bool, HeadroomOptions>>> {
        // `true` is refused: "on with the defaults" or "on with the settings
        // I had"? The guard is on by default; `{}` says the former plainly.
        const ACCEPTS: &str = "false, or { factor?, reserveMb?, limitMb? } (the guard is on by \
                               default; use {} to turn it back on with its defaults)";
        let Some(r) = self.nested(key, ACCEPTS, &["factor", "reserveMb", "limitMb"])? else {
            return Ok(None);
        };
        Ok(Some(match r {
            Either::A(_) => Either::A(false),
            Either::B(r) => Either::B(HeadroomOptions {
                factor: r.number("factor", rules::FACTOR)?,
                reserve_mb: r.number("reserveMb", rules::MIB)?,
                limit_mb: r.number("limitMb", rules::MIB_ABOVE_0)?,
            }),
        }))
    }

    /// A signal name, or `false` for none.
    pub fn signal(&self, key: &str) -> LgResult<Option<Either<bool, String>>> {
        let Some(v) = self.get(key)? else {
            return Ok(None);
        };
        if let Some(name) = string_of(&v) {
            signals::parse(&name).map_err(|why| self.invalid_because(key, &why))?;
            return Ok(Some(Either::B(name)));
        }
        match self.boolean_of(&v) {
            Some(false) => Ok(Some(Either::A(false))),
            _ => Err(self.invalid(key, &v, "a signal name such as 'SIGUSR2', or false")),
        }
    }

    pub fn threshold(&self, key: &str) -> LgResult<Option<Either<bool, ThresholdOptions>>> {
        const ACCEPTS: &str =
            "false, or { heapUsedMb?, heapUsedRatio?, cooldownMs?, maxSnapshots? }";
        let Some(r) = self.nested(
            key,
            ACCEPTS,
            &["heapUsedMb", "heapUsedRatio", "cooldownMs", "maxSnapshots"],
        )?
        else {
            return Ok(None);
        };
        let Either::B(r) = r else {
            return Ok(Some(Either::A(false)));
        };
        let options = ThresholdOptions {
            heap_used_mb: r.number("heapUsedMb", rules::MIB_ABOVE_0)?,
            heap_used_ratio: r.ratio("heapUsedRatio")?,
            cooldown_ms: r.number("cooldownMs", rules::MILLIS)?,
            max_snapshots: r.count("maxSnapshots")?,
        };
        if options.heap_used_mb.is_none() && options.heap_used_ratio.is_none() {
            return Err(LgError::config(format!(
                "invalid option `{key}` for {}: set heapUsedMb or heapUsedRatio (or both)",
                self.what
            )));
        }
        Ok(Some(Either::B(options)))
    }

    pub fn near_heap_limit(
        &self,
        key: &str,
    ) -> LgResult<Option<Either<bool, NearHeapLimitOptions>>> {
        let Some(r) = self.nested(key, "true, false, or { maxSnapshots? }", &["maxSnapshots"])?
        else {
            return Ok(None);
        };
        Ok(Some(match r {
            Either::A(on) => Either::A(on),
            Either::B(r) => Either::B(NearHeapLimitOptions {
                max_snapshots: r.count("maxSnapshots")?,
            }),
        }))
    }

    pub fn retain(&self, key: &str) -> LgResult<Option<Either<bool, RetainOptions>>> {
        let Some(r) = self.nested(
            key,
            "false, or { maxFiles?, maxBytes? }",
            &["maxFiles", "maxBytes"],
        )?
        else {
            return Ok(None);
        };
        Ok(Some(match r {
            Either::A(_) => Either::A(false),
            Either::B(r) => Either::B(RetainOptions {
                max_files: r.count("maxFiles")?,
                max_bytes: r.number("maxBytes", rules::BYTES)?,
            }),
        }))
    }

    pub fn s3(&self, key: &str) -> LgResult<Option<Either<bool, S3Options>>> {
        const FIELDS: &[&str] = &[
            "bucket",
            "prefix",
            "region",
            "endpoint",
            "forcePathStyle",
            "key",
            "sse",
            "kmsKeyId",
            "storageClass",
            "keepLocal",
            "partSizeMb",
            "concurrency",
        ];
        let accepts = format!("false, or {{ {} }}", FIELDS.join(", "));
        let Some(r) = self.nested(key, &accepts, FIELDS)? else {
            return Ok(None);
        };
        let Either::B(r) = r else {
            return Ok(Some(Either::A(false)));
        };
        let bucket = r
            .string_by("bucket", s3::bucket, s3::BUCKET)?
            .ok_or_else(|| {
                LgError::config(format!(
                    "invalid option `{key}` for {}: `bucket` is required",
                    self.what
                ))
            })?;
        Ok(Some(Either::B(S3Options {
            bucket,
            prefix: r.string_by("prefix", s3::text, s3::TEXT)?,
            region: r.string_by("region", s3::region, s3::REGION)?,
            endpoint: r.string_by("endpoint", s3::endpoint, s3::ENDPOINT)?,
            force_path_style: r.boolean("forcePathStyle")?,
            key: r.template("key")?,
            sse: r.string_by("sse", s3::sse, s3::SSE)?,
            kms_key_id: r.string_by("kmsKeyId", s3::text, s3::TEXT)?,
            storage_class: r.string_by("storageClass", s3::storage_class, s3::STORAGE_CLASS)?,
            keep_local: r.boolean("keepLocal")?,
            part_size_mb: r.number_by("partSizeMb", s3::part_size, s3::PART_SIZE)?,
            concurrency: r.number_by("concurrency", s3::concurrency, s3::CONCURRENCY)?,
        })))
    }

    /// The route's native listener (`configure({ route })`).
    pub fn route(&self, key: &str) -> LgResult<Option<Either<bool, RouteOptions>>> {
        let accepts = format!("false, or {{ {} }}", route::FIELDS.join(", "));
        match self.nested(key, &accepts, route::FIELDS)? {
            None => Ok(None),
            Some(Either::A(_)) => Ok(Some(Either::A(false))),
            Some(Either::B(r)) => route::fields(&r).map(|o| Some(Either::B(o))),
        }
    }

    /// A listener's address (see `listen::LISTEN`).
    pub fn listen(&self, key: &str) -> LgResult<Option<String>> {
        self.string_by(key, |s| Some(s.to_string()), listen::LISTEN)
    }

    /// An S3 key template; a bad one is refused with what is wrong in it.
    fn template(&self, key: &str) -> LgResult<Option<String>> {
        let Some(v) = self.get(key)? else {
            return Ok(None);
        };
        let t = string_of(&v).ok_or_else(|| self.invalid(key, &v, s3::KEY))?;
        s3::key_template(&t)
            .map(Some)
            .map_err(|why| self.invalid_because(key, &why))
    }

    /// A string that `rule` accepts; `accepts` says what that is.
    fn string_by<T>(
        &self,
        key: &str,
        rule: impl Fn(&str) -> Option<T>,
        accepts: &str,
    ) -> LgResult<Option<T>> {
        let Some(v) = self.get(key)? else {
            return Ok(None);
        };
        match string_of(&v).as_deref().and_then(rule) {
            Some(t) => Ok(Some(t)),
            None => Err(self.invalid(key, &v, accepts)),
        }
    }

    /// A boolean, or a nested options object read with `known` keys. `true`
    /// is accepted only where `accepts` lists it.
    fn nested(
        &self,
        key: &str,
        accepts: &str,
        known: &[&str],
    ) -> LgResult<Option<Either<bool, Reader<'env>>>> {
        let Some(v) = self.get(key)? else {
            return Ok(None);
        };
        match self.boolean_of(&v) {
            Some(false) => return Ok(Some(Either::A(false))),
            Some(true) if accepts.starts_with("true") => return Ok(Some(Either::A(true))),
            _ => {}
        }
        if v.get_type().map_err(napi_failure)? != ValueType::Object || is_array(&v)? {
            return Err(self.invalid(key, &v, accepts));
        }
        let r = Reader::new(v, format!("{}'s `{key}`", self.what), known)?.expect("an object");
        Ok(Some(Either::B(r)))
    }

    pub fn boolean(&self, key: &str) -> LgResult<Option<bool>> {
        let Some(v) = self.get(key)? else {
            return Ok(None);
        };
        self.boolean_of(&v)
            .map(Some)
            .ok_or_else(|| self.invalid(key, &v, "true or false"))
    }

    /// A function, or `null` to remove one.
    pub fn function(&self, key: &str) -> LgResult<Option<Either<Listener<'env>, Null>>> {
        let Some(v) = self.get(key)? else {
            return Ok(None);
        };
        match v.get_type().map_err(napi_failure)? {
            ValueType::Null => Ok(Some(Either::B(Null))),
            ValueType::Function => Ok(Some(Either::A(unsafe { v.cast() }.map_err(napi_failure)?))),
            _ => Err(self.invalid(key, &v, "a function, or null")),
        }
    }

    /// Milliseconds (see `rules::MILLIS`).
    pub fn millis(&self, key: &str) -> LgResult<Option<f64>> {
        self.number(key, rules::MILLIS)
    }

    /// A fraction in (0, 1].
    fn ratio(&self, key: &str) -> LgResult<Option<f64>> {
        self.number_by(key, rules::ratio, rules::RATIO)
    }

    /// A whole number >= 1.
    fn count(&self, key: &str) -> LgResult<Option<u32>> {
        self.number_by(key, rules::count, rules::COUNT)
    }

    /// A number within `range`.
    fn number(&self, key: &str, range: Range) -> LgResult<Option<f64>> {
        self.number_by(key, |n| range.check(n), &range.accepts())
    }

    /// A number that `rule` accepts; `accepts` says what that is.
    fn number_by<T>(
        &self,
        key: &str,
        rule: impl Fn(f64) -> Option<T>,
        accepts: &str,
    ) -> LgResult<Option<T>> {
        let Some(v) = self.get(key)? else {
            return Ok(None);
        };
        let n: Option<f64> = (v.get_type().ok() == Some(ValueType::Number))
            .then(|| unsafe { v.cast() }.ok())
            .flatten();
        match n.and_then(rule) {
            Some(n) => Ok(Some(n)),
            None => Err(self.invalid(key, &v, accepts)),
        }
    }

    fn boolean_of(&self, v: &Unknown) -> Option<bool> {
        (v.get_type().ok()? == ValueType::Boolean)
            .then(|| unsafe { v.cast() }.ok())
            .flatten()
    }

    fn invalid_because(&self, key: &str, why: &str) -> LgError {
        LgError::config(format!("invalid option `{key}` for {}: {why}", self.what))
    }

    pub fn gzip(&self, key: &str) -> LgResult<Option<Either<bool, u32>>> {
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
                match rules::gzip_level(n) {
                    Some(level) => Ok(Some(Either::B(level))),
                    None => Err(self.invalid(key, &v, rules::GZIP)),
                }
            }
            _ => Err(self.invalid(key, &v, rules::GZIP)),
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
        ValueType::String => format!(
            "{} (string)",
            rules::shown(&string_of(v).unwrap_or_default())
        ),
        ValueType::Number => {
            let n: f64 = unsafe { v.cast() }.unwrap_or(f64::NAN);
            format!("{} (number)", rules::shown_number(n))
        }
        ValueType::Boolean => {
            let b: bool = unsafe { v.cast() }.unwrap_or_default();
            format!("{b} (boolean)")
        }
        ValueType::Null => "null".to_string(),
        ValueType::Object if is_array(v).unwrap_or(false) => "an array".to_string(),
        other => format!("a value of type {other}"),
    }
}

fn is_array(v: &Unknown) -> LgResult<bool> {
    v.is_array().map_err(napi_failure)
}

fn napi_failure(e: napi::Error) -> LgError {
    LgError::config(format!("cannot read options: {}", e.reason))
}
