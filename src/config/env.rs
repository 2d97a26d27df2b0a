//! `LEAKGUARD_*` environment variables, for `node -r leakguard/register`:
//! each becomes the same `configure()` option, checked by the same rules.
//! A bad variable is reported with its name and skipped; the others still
//! apply, and the app starts either way.

use napi::bindgen_prelude::Either;
use napi::Env;

use super::{
    configure, rules, ConfigureOptions, HeadroomOptions, NearHeapLimitOptions, RetainOptions,
    ThresholdOptions,
};

/// Variables read elsewhere (engine, guard, build, `trigger::on_load`).
const READ_ELSEWHERE: &[&str] = &[
    "LEAKGUARD_OPTIONS",
    "LEAKGUARD_FS_ROOT",
    "LEAKGUARD_SHIM_DIR",
    "LEAKGUARD_NODE_INCLUDE_DIRS",
];

/// Variables that together make one option.
const GROUPS: &[&[&str]] = &[
    &["LEAKGUARD_DIR"],
    &["LEAKGUARD_GZIP"],
    &["LEAKGUARD_OBJECT_IDS"],
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
];

/// Applies every `LEAKGUARD_*` variable set; returns one message per problem.
pub fn configure_from_env(env: &Env, vars: &[(String, String)]) -> Vec<String> {
    let get = |name: &str| {
        vars.iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    let mut problems: Vec<String> = vars
        .iter()
        .map(|(k, _)| k)
        .filter(|k| k.starts_with("LEAKGUARD_"))
        .filter(|k| !READ_ELSEWHERE.contains(&k.as_str()))
        .filter(|k| !GROUPS.iter().any(|g| g.contains(&k.as_str())))
        .map(|k| format!("{k}: unknown variable; leakguard reads {}", known()))
        .collect();
    for group in GROUPS {
        if group.iter().all(|name| get(name).is_none()) {
            continue;
        }
        let applied = options(group[0], &get)
            .and_then(|options| configure(env, options).map_err(|e| (group[0], e.message)));
        if let Err((name, why)) = applied {
            let value = get(name).unwrap_or("");
            problems.push(format!("{name}={value:?}: {why}"));
        }
    }
    problems
}

fn known() -> String {
    GROUPS
        .iter()
        .flat_map(|g| g.iter())
        .copied()
        .collect::<Vec<_>>()
        .join(", ")
}

type Problem = (&'static str, String);

/// The options for the group led by `lead`, or the variable that is wrong and why.
fn options<'a>(
    lead: &'static str,
    get: &impl Fn(&str) -> Option<&'a str>,
) -> Result<ConfigureOptions<'static>, Problem> {
    let mut o = ConfigureOptions::default();
    let value = |name: &'static str| get(name).map(str::trim);
    match lead {
        "LEAKGUARD_DIR" => o.dir = value(lead).map(str::to_string),
        "LEAKGUARD_GZIP" => {
            o.gzip = value(lead)
                .map(|v| match boolean(v) {
                    Some(b) => Ok(Either::A(b)),
                    None => number(v)
                        .and_then(rules::gzip_level)
                        .map(Either::B)
                        .ok_or_else(|| (lead, format!("accepted: {}", rules::GZIP))),
                })
                .transpose()?
        }
        "LEAKGUARD_OBJECT_IDS" => o.object_ids = value(lead).map(str::to_string),
        "LEAKGUARD_SIGNAL" => {
            o.signal = value(lead).map(|v| match boolean(v) {
                Some(false) => Either::A(false),
                _ => Either::B(v.to_string()),
            })
        }
        "LEAKGUARD_QUIET" => o.quiet = value(lead).map(|v| flag(lead, v)).transpose()?,
        "LEAKGUARD_DRAIN_MS" => o.drain_ms = measure(lead, value(lead), 0.0)?,
        "LEAKGUARD_NEAR_HEAP_LIMIT" => {
            o.near_heap_limit = value(lead)
                .map(|v| match boolean(v) {
                    Some(b) => Ok(Either::A(b)),
                    None => number(v)
                        .and_then(rules::count)
                        .map(|n| {
                            Either::B(NearHeapLimitOptions {
                                max_snapshots: Some(n),
                            })
                        })
                        .ok_or_else(|| {
                            (lead, format!("accepted: true, false, or {}", rules::COUNT))
                        }),
                })
                .transpose()?
        }
        "LEAKGUARD_THRESHOLD_MB" => {
            let ratio = "LEAKGUARD_THRESHOLD_RATIO";
            let t = ThresholdOptions {
                heap_used_mb: measure(lead, value(lead), f64::MIN_POSITIVE)?,
                heap_used_ratio: value(ratio)
                    .map(|v| {
                        number(v)
                            .and_then(rules::ratio)
                            .ok_or_else(|| (ratio, format!("accepted: {}", rules::RATIO)))
                    })
                    .transpose()?,
                cooldown_ms: measure(
                    "LEAKGUARD_THRESHOLD_COOLDOWN_MS",
                    value("LEAKGUARD_THRESHOLD_COOLDOWN_MS"),
                    0.0,
                )?,
                max_snapshots: count("LEAKGUARD_THRESHOLD_MAX", value("LEAKGUARD_THRESHOLD_MAX"))?,
            };
            if t.heap_used_mb.is_none() && t.heap_used_ratio.is_none() {
                return Err((
                    lead,
                    "set LEAKGUARD_THRESHOLD_MB or LEAKGUARD_THRESHOLD_RATIO to arm the threshold"
                        .into(),
                ));
            }
            o.threshold = Some(Either::B(t));
        }
        "LEAKGUARD_HEADROOM" => {
            o.headroom = Some(match value(lead).map(|v| flag(lead, v)).transpose()? {
                Some(false) => Either::A(false),
                _ => Either::B(HeadroomOptions {
                    limit_mb: measure(
                        "LEAKGUARD_HEADROOM_LIMIT_MB",
                        value("LEAKGUARD_HEADROOM_LIMIT_MB"),
                        f64::MIN_POSITIVE,
                    )?,
                    reserve_mb: measure(
                        "LEAKGUARD_HEADROOM_RESERVE_MB",
                        value("LEAKGUARD_HEADROOM_RESERVE_MB"),
                        0.0,
                    )?,
                    factor: measure(
                        "LEAKGUARD_HEADROOM_FACTOR",
                        value("LEAKGUARD_HEADROOM_FACTOR"),
                        f64::MIN_POSITIVE,
                    )?,
                }),
            })
        }
        "LEAKGUARD_RETAIN_FILES" => {
            o.retain = Some(Either::B(RetainOptions {
                max_files: count(lead, value(lead))?,
                max_bytes: measure("LEAKGUARD_RETAIN_MB", value("LEAKGUARD_RETAIN_MB"), 0.0)?
                    .map(|mb| mb * 1048576.0),
            }))
        }
        _ => unreachable!("every group has a case"),
    }
    Ok(o)
}

fn boolean(v: &str) -> Option<bool> {
    match v.to_ascii_lowercase().as_str() {
        "true" | "yes" | "on" => Some(true),
        "false" | "no" | "off" | "none" => Some(false),
        _ => None,
    }
}

fn number(v: &str) -> Option<f64> {
    v.parse::<f64>().ok().filter(|n| n.is_finite())
}

fn flag(name: &'static str, v: &str) -> Result<bool, Problem> {
    boolean(v).ok_or_else(|| (name, "accepted: true or false".into()))
}

/// A number >= `min`, if the variable is set.
fn measure(name: &'static str, v: Option<&str>, min: f64) -> Result<Option<f64>, Problem> {
    v.map(|v| {
        number(v).filter(|n| *n >= min).ok_or_else(|| {
            (
                name,
                format!(
                    "accepted: a number {}",
                    if min > 0.0 { "> 0" } else { ">= 0" }
                ),
            )
        })
    })
    .transpose()
}

fn count(name: &'static str, v: Option<&str>) -> Result<Option<u32>, Problem> {
    v.map(|v| {
        number(v)
            .and_then(rules::count)
            .ok_or_else(|| (name, format!("accepted: {}", rules::COUNT)))
    })
    .transpose()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<&'static str> {
        let owned: Vec<(String, &'static str)> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), &*Box::leak(v.to_string().into_boxed_str())))
            .collect();
        move |name| owned.iter().find(|(k, _)| k == name).map(|(_, v)| *v)
    }

    #[test]
    fn a_threshold_needs_a_bound_and_names_the_bad_variable() {
        let get = vars(&[("LEAKGUARD_THRESHOLD_MAX", "2")]);
        let (name, why) = options("LEAKGUARD_THRESHOLD_MB", &get).err().unwrap();
        assert_eq!(name, "LEAKGUARD_THRESHOLD_MB");
        assert!(why.contains("LEAKGUARD_THRESHOLD_RATIO"));
        let get = vars(&[("LEAKGUARD_THRESHOLD_RATIO", "1.5")]);
        let (name, _) = options("LEAKGUARD_THRESHOLD_MB", &get).err().unwrap();
        assert_eq!(name, "LEAKGUARD_THRESHOLD_RATIO");
        let get = vars(&[
            ("LEAKGUARD_THRESHOLD_MB", "512"),
            ("LEAKGUARD_THRESHOLD_MAX", "2"),
        ]);
        let t = match options("LEAKGUARD_THRESHOLD_MB", &get).unwrap().threshold {
            Some(Either::B(t)) => t,
            _ => panic!("a threshold"),
        };
        assert_eq!((t.heap_used_mb, t.max_snapshots), (Some(512.0), Some(2)));
    }

    #[test]
    fn gzip_and_flags_read_like_their_js_options() {
        let gzip =
            |v: &str| options("LEAKGUARD_GZIP", &vars(&[("LEAKGUARD_GZIP", v)])).map(|o| o.gzip);
        assert!(matches!(gzip("true"), Ok(Some(Either::A(true)))));
        assert!(matches!(gzip("6"), Ok(Some(Either::B(6)))));
        assert_eq!(gzip("11").err().unwrap().0, "LEAKGUARD_GZIP");
        let quiet = options("LEAKGUARD_QUIET", &vars(&[("LEAKGUARD_QUIET", "maybe")]));
        assert_eq!(quiet.err().unwrap().1, "accepted: true or false");
    }
}
