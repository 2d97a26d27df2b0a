//! `LEAKGUARD_*` environment variables, for `node -r leakguard/register`:
//! each becomes the same `configure()` option, checked by the same rules.
//! Every bad variable is reported with its name and skipped; every valid one
//! still applies (in a group such as the threshold's, a bad variable leaves
//! its field at the default), and the app starts either way.

use std::path::Path;

use napi::bindgen_prelude::Either;

use super::rules::{self, shown, shown_name, Range};
use super::s3::{self, S3Options};
use super::{
    signals, ConfigureOptions, HeadroomOptions, NearHeapLimitOptions, RetainOptions,
    ThresholdOptions,
};
use crate::guard::available;
use crate::request::ObjectIds;

/// Variables that take effect elsewhere (at load, in the guard, the engine,
/// the build, `route()`); the first two are still checked here.
const READ_ELSEWHERE: &[&str] = &[
    "LEAKGUARD_OPTIONS",
    "LEAKGUARD_FS_ROOT",
    super::route::TOKEN_VAR,
    super::route::HASH_VAR,
    "LEAKGUARD_SHIM_DIR",
    "LEAKGUARD_NODE_INCLUDE_DIRS",
];

/// Variables that together make one option.
const GROUPS: &[&[&str]] = &[
    &["LEAKGUARD_DIR"],
    &["LEAKGUARD_GZIP"],
    &["LEAKGUARD_OBJECT_IDS"],
    &["LEAKGUARD_CAPTURE"],
    &["LEAKGUARD_SIGNAL"],
    &["LEAKGUARD_QUIET"],
    &["LEAKGUARD_DRAIN_MS"],
    &["LEAKGUARD_NEAR_HEAP_LIMIT"],
    &[
        "LEAKGUARD_THRESHOLD_MB",
        "LEAKGUARD_THRESHOLD_RATIO",
        "LEAKGUARD_THRESHOLD_COOLDOWN_MS",
        "LEAKGUARD_THRESHOLD_MAX",
    ],
    &[
        "LEAKGUARD_HEADROOM",
        "LEAKGUARD_HEADROOM_LIMIT_MB",
        "LEAKGUARD_HEADROOM_RESERVE_MB",
        "LEAKGUARD_HEADROOM_FACTOR",
    ],
    &["LEAKGUARD_RETAIN_FILES", "LEAKGUARD_RETAIN_MB"],
    &[super::listen::LISTEN_VAR],
    &[
        "LEAKGUARD_S3_BUCKET",
        "LEAKGUARD_S3_PREFIX",
        "LEAKGUARD_S3_REGION",
        "LEAKGUARD_S3_ENDPOINT",
        "LEAKGUARD_S3_FORCE_PATH_STYLE",
        "LEAKGUARD_S3_KEY",
        "LEAKGUARD_S3_SSE",
        "LEAKGUARD_S3_KMS_KEY_ID",
        "LEAKGUARD_S3_STORAGE_CLASS",
        "LEAKGUARD_S3_KEEP_LOCAL",
        "LEAKGUARD_S3_PART_SIZE_MB",
        "LEAKGUARD_S3_CONCURRENCY",
    ],
];

/// The words `LEAKGUARD_OPTIONS` knows.
const NO_SIGNAL: &str = "nosignal";

/// What the variables ask for: one `configure()` call per group set.
pub struct FromEnv {
    pub groups: Vec<Group>,
    /// One message per bad or unknown variable, naming it and saying
    /// whether it is ignored (`ignoring NAME="value": why`).
    pub problems: Vec<String>,
}

/// The options one group of variables makes.
pub struct Group {
    pub options: ConfigureOptions<'static>,
    /// `NAME="value"` of the variables the options came from, for the
    /// message when they cannot be applied.
    pub shown: String,
}

/// Reads every `LEAKGUARD_*` variable in `vars`.
pub fn read(vars: &[(String, String)]) -> FromEnv {
    let mut env = Vars {
        vars,
        problems: unknown(vars),
        used: Vec::new(),
    };
    env.check_options();
    env.check_fs_root();
    env.problems.extend(super::route::env_problems(vars));
    let groups = GROUPS.iter().filter_map(|g| env.group(g)).collect();
    FromEnv {
        groups,
        problems: env.problems,
    }
}

/// The process's environment, as `read` takes it (variables that are not
/// UTF-8 are left out).
pub fn vars() -> Vec<(String, String)> {
    std::env::vars_os()
        .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
        .collect()
}

/// The `s3` option the `LEAKGUARD_S3_*` variables in `vars` make, if any;
/// or what is wrong with them, one message per variable.
pub fn s3(vars: &[(String, String)]) -> Result<Option<S3Options>, Vec<String>> {
    let s3_vars: Vec<(String, String)> = vars
        .iter()
        .filter(|(k, _)| k.starts_with("LEAKGUARD_S3_"))
        .cloned()
        .collect();
    let env = read(&s3_vars);
    if !env.problems.is_empty() {
        return Err(env.problems);
    }
    Ok(env.groups.into_iter().find_map(|g| match g.options.s3 {
        Some(Either::B(o)) => Some(o),
        _ => None,
    }))
}

/// Whether the load-time SIGUSR2 listener is off: `nosignal` among the
/// comma- or space-separated words of `LEAKGUARD_OPTIONS` (any case), or
/// anywhere in heapdump's `NODE_HEAPDUMP_OPTIONS` (as heapdump reads it).
pub fn no_signal(leakguard_options: Option<&str>, heapdump_options: Option<&str>) -> bool {
    leakguard_options.is_some_and(|v| words(v).any(|w| w == NO_SIGNAL))
        || heapdump_options.is_some_and(|v| v.contains(NO_SIGNAL))
}

fn words(v: &str) -> impl Iterator<Item = String> + '_ {
    v.split(|c: char| c == ',' || c.is_whitespace())
        .filter(|w| !w.is_empty())
        .map(str::to_ascii_lowercase)
}

fn unknown(vars: &[(String, String)]) -> Vec<String> {
    let known = GROUPS
        .iter()
        .flat_map(|g| g.iter())
        .copied()
        .collect::<Vec<_>>()
        .join(", ");
    vars.iter()
        .map(|(k, _)| k)
        .filter(|k| k.starts_with("LEAKGUARD_"))
        .filter(|k| !READ_ELSEWHERE.contains(&k.as_str()))
        .filter(|k| !GROUPS.iter().any(|g| g.contains(&k.as_str())))
        .map(|k| {
            format!(
                "ignoring {}: unknown variable; leakguard reads {known}",
                shown_name(k)
            )
        })
        .collect()
}

struct Vars<'a> {
    vars: &'a [(String, String)],
    problems: Vec<String>,
    /// The variables of the group being read that were valid.
    used: Vec<&'static str>,
}

impl<'a> Vars<'a> {
    fn raw(&self, name: &str) -> Option<&'a str> {
        self.vars
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// `name`'s value as `parse` reads it (trimmed), if set. A bad value is
    /// reported and reads as unset.
    fn read<T>(
        &mut self,
        name: &'static str,
        parse: impl FnOnce(&str) -> Result<T, String>,
    ) -> Option<T> {
        let value = self.raw(name)?;
        match parse(value.trim()) {
            Ok(v) => {
                self.used.push(name);
                Some(v)
            }
            Err(why) => {
                self.problem(name, &why);
                None
            }
        }
    }

    /// `name` is ignored, and why.
    fn problem(&mut self, name: &str, why: &str) {
        let said = self.said(name, why);
        self.problems.push(format!("ignoring {said}"));
    }

    /// `NAME="value": text`.
    fn said(&self, name: &str, text: &str) -> String {
        format!(
            "{name}={}: {text}",
            shown(self.raw(name).unwrap_or_default())
        )
    }

    /// The options of `group`, if any of its variables is set and valid.
    fn group(&mut self, group: &[&'static str]) -> Option<Group> {
        if group.iter().all(|name| self.raw(name).is_none()) {
            return None;
        }
        self.used.clear();
        let options = self.options(group[0]);
        let used = std::mem::take(&mut self.used);
        let shown = used
            .iter()
            .map(|name| format!("{name}={}", shown(self.raw(name).unwrap_or_default())))
            .collect::<Vec<_>>()
            .join(", ");
        match options {
            // Every variable set was bad, and each is reported already.
            _ if used.is_empty() => None,
            Ok(options) => Some(Group { options, shown }),
            Err(why) => {
                self.problems.push(format!("ignoring {shown}: {why}"));
                None
            }
        }
    }

    /// The options for the group led by `lead`, or why the valid variables
    /// of the group still make no option.
    fn options(&mut self, lead: &'static str) -> Result<ConfigureOptions<'static>, String> {
        let mut o = ConfigureOptions::default();
        match lead {
            "LEAKGUARD_DIR" => o.dir = self.read(lead, |v| Ok(v.to_string())),
            "LEAKGUARD_GZIP" => o.gzip = self.read(lead, gzip),
            "LEAKGUARD_OBJECT_IDS" => {
                o.object_ids = self.read(lead, |v| match ObjectIds::parse(v) {
                    Some(_) => Ok(v.to_string()),
                    None => Err(accepted(rules::OBJECT_IDS)),
                })
            }
            "LEAKGUARD_CAPTURE" => {
                o.capture = self.read(lead, |v| rules::capture_mode(v).map(|_| v.to_string()))
            }
            "LEAKGUARD_SIGNAL" => o.signal = self.read(lead, signal),
            "LEAKGUARD_QUIET" => o.quiet = self.read(lead, flag),
            "LEAKGUARD_DRAIN_MS" => o.drain_ms = self.read(lead, in_range(rules::MILLIS)),
            "LEAKGUARD_NEAR_HEAP_LIMIT" => o.near_heap_limit = self.read(lead, near_heap_limit),
            "LEAKGUARD_THRESHOLD_MB" => {
                let t = ThresholdOptions {
                    heap_used_mb: self.read(lead, in_range(rules::MIB_ABOVE_0)),
                    heap_used_ratio: self.read("LEAKGUARD_THRESHOLD_RATIO", |v| {
                        by_rule(v, rules::ratio, rules::RATIO)
                    }),
                    cooldown_ms: self
                        .read("LEAKGUARD_THRESHOLD_COOLDOWN_MS", in_range(rules::MILLIS)),
                    max_snapshots: self.read("LEAKGUARD_THRESHOLD_MAX", count),
                };
                if t.heap_used_mb.is_none() && t.heap_used_ratio.is_none() {
                    return Err(
                        "set LEAKGUARD_THRESHOLD_MB or LEAKGUARD_THRESHOLD_RATIO to arm the \
                         threshold"
                            .into(),
                    );
                }
                o.threshold = Some(Either::B(t));
            }
            "LEAKGUARD_HEADROOM" => {
                let on = self.read(lead, flag);
                let settings = HeadroomOptions {
                    limit_mb: self
                        .read("LEAKGUARD_HEADROOM_LIMIT_MB", in_range(rules::MIB_ABOVE_0)),
                    reserve_mb: self.read("LEAKGUARD_HEADROOM_RESERVE_MB", in_range(rules::MIB)),
                    factor: self.read("LEAKGUARD_HEADROOM_FACTOR", in_range(rules::FACTOR)),
                };
                o.headroom = Some(match on {
                    Some(false) => Either::A(false),
                    _ => Either::B(settings),
                })
            }
            "LEAKGUARD_RETAIN_FILES" => {
                o.retain = Some(Either::B(RetainOptions {
                    max_files: self.read(lead, count),
                    max_bytes: self
                        .read("LEAKGUARD_RETAIN_MB", in_range(rules::MIB))
                        .map(|mb| rules::mib(mb) as f64),
                }))
            }
            "LEAKGUARD_S3_BUCKET" => {
                let upload = S3Options {
                    bucket: self
                        .read(lead, text(s3::bucket, s3::BUCKET))
                        .unwrap_or_default(),
                    prefix: self.read("LEAKGUARD_S3_PREFIX", text(s3::text, s3::TEXT)),
                    region: self.read("LEAKGUARD_S3_REGION", text(s3::region, s3::REGION)),
                    endpoint: self.read("LEAKGUARD_S3_ENDPOINT", text(s3::endpoint, s3::ENDPOINT)),
                    force_path_style: self.read("LEAKGUARD_S3_FORCE_PATH_STYLE", flag),
                    key: self.read("LEAKGUARD_S3_KEY", s3::key_template),
                    sse: self.read("LEAKGUARD_S3_SSE", text(s3::sse, s3::SSE)),
                    kms_key_id: self.read("LEAKGUARD_S3_KMS_KEY_ID", text(s3::text, s3::TEXT)),
                    storage_class: self.read(
                        "LEAKGUARD_S3_STORAGE_CLASS",
                        text(s3::storage_class, s3::STORAGE_CLASS),
                    ),
                    keep_local: self.read("LEAKGUARD_S3_KEEP_LOCAL", flag),
                    part_size_mb: self.read("LEAKGUARD_S3_PART_SIZE_MB", |v| {
                        by_rule(v, s3::part_size, s3::PART_SIZE)
                    }),
                    concurrency: self.read("LEAKGUARD_S3_CONCURRENCY", |v| {
                        by_rule(v, s3::concurrency, s3::CONCURRENCY)
                    }),
                };
                if upload.bucket.is_empty() {
                    return Err("set LEAKGUARD_S3_BUCKET to upload to S3".into());
                }
                o.s3 = Some(Either::B(upload));
            }
            super::listen::LISTEN_VAR => {
                let listen = self.read(lead, |v| Ok(v.to_string()));
                o.route = Some(Either::B(super::route::RouteOptions {
                    listen,
                    ..Default::default()
                }))
            }
            _ => unreachable!("every group has a case"),
        }
        Ok(o)
    }

    /// `LEAKGUARD_OPTIONS`: words it does not know are reported (the known
    /// ones apply).
    fn check_options(&mut self) {
        let name = "LEAKGUARD_OPTIONS";
        let Some(value) = self.raw(name) else { return };
        let unknown: Vec<String> = words(value).filter(|w| w != NO_SIGNAL).collect();
        if !unknown.is_empty() {
            let why = format!(
                "ignoring unknown word{} {}; accepted: {NO_SIGNAL} (comma-separated, any case)",
                if unknown.len() > 1 { "s" } else { "" },
                shown(&unknown.join(", "))
            );
            let said = self.said(name, &why);
            self.problems.push(said);
        }
    }

    /// `LEAKGUARD_FS_ROOT` with nothing to read below it silently turns the
    /// headroom guard off: say so.
    fn check_fs_root(&mut self) {
        let name = "LEAKGUARD_FS_ROOT";
        let Some(root) = self.raw(name) else { return };
        if available::available(Path::new(root), None).is_none() {
            let said = self.said(
                name,
                "no proc/meminfo or cgroup memory files below it, so the memory-headroom guard \
                 cannot tell what memory is left and is OFF while it is set; unset it (it exists \
                 for tests)",
            );
            self.problems.push(said);
        }
    }
}

fn accepted(what: &str) -> String {
    format!("accepted: {what}")
}

fn boolean(v: &str) -> Option<bool> {
    match v.to_ascii_lowercase().as_str() {
        "true" | "yes" | "on" => Some(true),
        "false" | "no" | "off" | "none" => Some(false),
        _ => None,
    }
}

fn flag(v: &str) -> Result<bool, String> {
    boolean(v).ok_or_else(|| accepted("true or false"))
}

fn by_rule<T>(v: &str, rule: impl Fn(f64) -> Option<T>, what: &str) -> Result<T, String> {
    v.parse::<f64>()
        .ok()
        .and_then(rule)
        .ok_or_else(|| accepted(what))
}

fn in_range(range: Range) -> impl FnOnce(&str) -> Result<f64, String> {
    move |v| by_rule(v, |n| range.check(n), &range.accepts())
}

/// A string that `rule` accepts.
fn text(
    rule: impl Fn(&str) -> Option<String>,
    what: &'static str,
) -> impl FnOnce(&str) -> Result<String, String> {
    move |v| rule(v).ok_or_else(|| accepted(what))
}

fn count(v: &str) -> Result<u32, String> {
    by_rule(v, rules::count, rules::COUNT)
}

fn gzip(v: &str) -> Result<Either<bool, u32>, String> {
    match boolean(v) {
        Some(b) => Ok(Either::A(b)),
        None => by_rule(v, rules::gzip_level, rules::GZIP).map(Either::B),
    }
}

fn signal(v: &str) -> Result<Either<bool, String>, String> {
    match boolean(v) {
        Some(false) => Ok(Either::A(false)),
        _ => signals::parse(v).map(|_| Either::B(v.to_string())),
    }
}

fn near_heap_limit(v: &str) -> Result<Either<bool, NearHeapLimitOptions>, String> {
    match boolean(v) {
        Some(b) => Ok(Either::A(b)),
        None => by_rule(
            v,
            rules::count,
            &format!("true, false, or {}", rules::COUNT),
        )
        .map(|n| {
            Either::B(NearHeapLimitOptions {
                max_snapshots: Some(n),
            })
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read_vars(pairs: &[(&str, &str)]) -> FromEnv {
        let vars: Vec<(String, String)> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        read(&vars)
    }

    fn threshold(env: &FromEnv) -> &ThresholdOptions {
        match env.groups.iter().find_map(|g| g.options.threshold.as_ref()) {
            Some(Either::B(t)) => t,
            _ => panic!("a threshold"),
        }
    }

    #[test]
    fn a_threshold_needs_a_bound_and_names_the_bad_variable() {
        let env = read_vars(&[("LEAKGUARD_THRESHOLD_MAX", "2")]);
        assert!(env.groups.is_empty());
        assert!(env.problems[0].starts_with("ignoring LEAKGUARD_THRESHOLD_MAX=\"2\": set"));
        let env = read_vars(&[("LEAKGUARD_THRESHOLD_RATIO", "1.5")]);
        assert!(env.groups.is_empty());
        assert_eq!(env.problems.len(), 1);
        assert!(env.problems[0].starts_with("ignoring LEAKGUARD_THRESHOLD_RATIO=\"1.5\": accepted"));
        let env = read_vars(&[
            ("LEAKGUARD_THRESHOLD_MB", "512"),
            ("LEAKGUARD_THRESHOLD_MAX", "2"),
        ]);
        let t = threshold(&env);
        assert_eq!((t.heap_used_mb, t.max_snapshots), (Some(512.0), Some(2)));
    }

    #[test]
    fn a_bad_variable_leaves_its_valid_neighbours_and_every_one_is_named() {
        let env = read_vars(&[
            ("LEAKGUARD_THRESHOLD_MB", "512"),
            ("LEAKGUARD_THRESHOLD_COOLDOWN_MS", "1e300"),
            ("LEAKGUARD_THRESHOLD_MAX", "0"),
        ]);
        assert_eq!(threshold(&env).heap_used_mb, Some(512.0));
        assert_eq!(threshold(&env).cooldown_ms, None);
        assert_eq!(env.problems.len(), 2);
        assert!(env.problems[0].starts_with("ignoring LEAKGUARD_THRESHOLD_COOLDOWN_MS=\"1e300\""));
        assert!(env.problems[1].starts_with("ignoring LEAKGUARD_THRESHOLD_MAX=\"0\""));
        assert_eq!(env.groups[0].shown, "LEAKGUARD_THRESHOLD_MB=\"512\"");
    }

    #[test]
    fn gzip_and_flags_read_like_their_js_options() {
        let gzip = |v: &str| {
            let env = read_vars(&[("LEAKGUARD_GZIP", v)]);
            (
                env.groups.into_iter().next().and_then(|g| g.options.gzip),
                env.problems,
            )
        };
        assert!(matches!(gzip("true").0, Some(Either::A(true))));
        assert!(matches!(gzip(" 6 ").0, Some(Either::B(6))));
        assert!(gzip("11").1[0].starts_with("ignoring LEAKGUARD_GZIP=\"11\""));
        let quiet = read_vars(&[("LEAKGUARD_QUIET", "maybe")]);
        assert_eq!(
            quiet.problems,
            ["ignoring LEAKGUARD_QUIET=\"maybe\": accepted: true or false"]
        );
    }

    #[test]
    fn options_are_words_in_any_case() {
        assert!(no_signal(Some("NoSignal"), None));
        assert!(no_signal(Some("foo, nosignal"), None));
        assert!(!no_signal(Some("signal"), None));
        assert!(no_signal(None, Some("--nosignal")));
        let env = read_vars(&[("LEAKGUARD_OPTIONS", "nosignal,Bogus")]);
        assert_eq!(env.problems.len(), 1);
        assert!(env.problems[0].starts_with("LEAKGUARD_OPTIONS=\"nosignal,Bogus\": ignoring"));
        assert!(env.problems[0].contains("unknown word \"bogus\""));
    }
}
