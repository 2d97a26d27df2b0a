//! Object keys: a template of literal text and placeholders, checked once
//! when configured (an unknown placeholder is a configuration error) and
//! rendered per snapshot. Dates are UTC; the timestamp sorts as text.

use std::time::{SystemTime, UNIX_EPOCH};

/// The placeholders a template may use.
pub const PLACEHOLDERS: &[&str] = &[
    "hostname",
    "pid",
    "reason",
    "yyyy",
    "mm",
    "dd",
    "timestamp",
    "filename",
    "prefix",
];

/// `{prefix}{hostname}/{yyyy}/{mm}/{dd}/{hostname}-{pid}-{timestamp}-{reason}`
/// plus `.heapsnapshot.gz` (`.heapsnapshot` when not gzipped).
const DEFAULT: &str = "{prefix}{hostname}/{yyyy}/{mm}/{dd}/{hostname}-{pid}-{timestamp}-{reason}";

/// S3 refuses longer keys.
pub const MAX_KEY_BYTES: usize = 1024;

#[derive(Clone, Debug, PartialEq, Eq)]
enum Piece {
    Text(String),
    Field(&'static str),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyTemplate {
    pieces: Vec<Piece>,
    /// The default template, which ends in the file's own extension.
    default: bool,
}

impl Default for KeyTemplate {
    fn default() -> Self {
        KeyTemplate {
            default: true,
            ..KeyTemplate::parse(DEFAULT).expect("the default key template parses")
        }
    }
}

/// What a key is rendered from.
pub struct KeyFields<'a> {
    pub prefix: &'a str,
    pub hostname: &'a str,
    pub pid: u32,
    pub reason: &'a str,
    pub at: SystemTime,
    pub filename: &'a str,
}

impl KeyTemplate {
    /// Reads `{name}` placeholders; `{{` and `}}` stand for braces.
    pub fn parse(template: &str) -> Result<Self, String> {
        if template.is_empty() || template.len() > MAX_KEY_BYTES {
            return Err(format!("a key template of 1-{MAX_KEY_BYTES} bytes"));
        }
        if template.chars().any(char::is_control) {
            return Err("a key template without control characters".into());
        }
        let mut pieces = Vec::new();
        let mut text = String::new();
        let mut rest = template;
        while let Some(c) = rest.chars().next() {
            if rest.starts_with("{{") || rest.starts_with("}}") {
                text.push(c);
                rest = &rest[2..];
            } else if c == '{' {
                let end = rest.find('}').ok_or("a `{` without its `}`")?;
                let name = &rest[1..end];
                let field = PLACEHOLDERS.iter().find(|p| **p == name).ok_or_else(|| {
                    format!(
                        "unknown placeholder {{{}}}; known: {}",
                        name.chars().take(40).collect::<String>(),
                        PLACEHOLDERS
                            .iter()
                            .map(|p| format!("{{{p}}}"))
                            .collect::<Vec<_>>()
                            .join(" ")
                    )
                })?;
                pieces.push(Piece::Text(std::mem::take(&mut text)));
                pieces.push(Piece::Field(field));
                rest = &rest[end + 1..];
            } else if c == '}' {
                return Err("a `}` without its `{` (write `}}` for a brace)".into());
            } else {
                text.push(c);
                rest = &rest[c.len_utf8()..];
            }
        }
        pieces.push(Piece::Text(text));
        pieces.retain(|p| *p != Piece::Text(String::new()));
        Ok(KeyTemplate {
            pieces,
            default: false,
        })
    }

    /// The key for one file; `gz` tells the default template its extension.
    pub fn render(&self, f: &KeyFields, gz: bool) -> Result<String, String> {
        let t = utc(f.at);
        let (y, m, d) = t.date;
        let mut key = String::new();
        for piece in &self.pieces {
            match piece {
                Piece::Text(t) => key.push_str(t),
                Piece::Field(name) => key.push_str(&match *name {
                    "hostname" => safe(f.hostname),
                    "pid" => f.pid.to_string(),
                    "reason" => safe(f.reason),
                    "yyyy" => format!("{y:04}"),
                    "mm" => format!("{m:02}"),
                    "dd" => format!("{d:02}"),
                    "timestamp" => format!(
                        "{y:04}{m:02}{d:02}T{:02}{:02}{:02}.{:03}Z",
                        t.hour, t.minute, t.second, t.milli
                    ),
                    "filename" => safe(f.filename),
                    _ => f.prefix.to_string(),
                }),
            }
        }
        if self.default {
            key.push_str(if gz {
                ".heapsnapshot.gz"
            } else {
                ".heapsnapshot"
            });
        }
        let key = key.trim_start_matches('/').to_string();
        if key.is_empty() || key.len() > MAX_KEY_BYTES {
            return Err(format!(
                "the object key rendered from the template is {} bytes; S3 takes 1-{MAX_KEY_BYTES}",
                key.len()
            ));
        }
        Ok(key)
    }
}

/// A value for a key segment: letters, digits and `._-` kept, anything
/// else (a `/` in a reason, a space) becomes `_`, so a value never adds a
/// directory level.
fn safe(value: &str) -> String {
    value
        .chars()
        .map(|c| match c {
            'a'..='z' | 'A'..='Z' | '0'..='9' | '.' | '_' | '-' => c,
            _ => '_',
        })
        .collect()
}

/// A moment in UTC, down to the millisecond.
struct Utc {
    date: (i64, u32, u32),
    hour: u64,
    minute: u64,
    second: u64,
    milli: u32,
}

fn utc(at: SystemTime) -> Utc {
    let t = at.duration_since(UNIX_EPOCH).unwrap_or_default();
    let s = t.as_secs() % 86_400;
    Utc {
        date: civil((t.as_secs() / 86_400) as i64),
        hour: s / 3600,
        minute: s % 3600 / 60,
        second: s % 60,
        milli: t.subsec_millis(),
    }
}

/// Days since 1970-01-01 to a proleptic Gregorian date (Howard Hinnant's
/// `civil_from_days`).
fn civil(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn fields(at: SystemTime) -> KeyFields<'static> {
        KeyFields {
            prefix: "heaps/",
            hostname: "api-7d9f-x2k",
            pid: 42,
            reason: "near-heap-limit",
            at,
            filename: "heapdump-1.000001.heapsnapshot.gz",
        }
    }

    #[test]
    fn the_default_key_has_the_host_date_and_the_files_extension() {
        // 2026-12-02T00:35:12.345Z
        let at = UNIX_EPOCH + Duration::from_millis(1_796_171_712_345);
        let t = KeyTemplate::default();
        assert_eq!(
            t.render(&fields(at), true).unwrap(),
            "heaps/api-7d9f-x2k/2026/12/02/api-7d9f-x2k-42-20261202T003512.345Z-near-heap-limit.heapsnapshot.gz"
        );
        assert!(t
            .render(&fields(at), false)
            .unwrap()
            .ends_with("-near-heap-limit.heapsnapshot"));
    }

    #[test]
    fn dates_are_utc_across_leap_years_and_month_ends() {
        assert_eq!(civil(0), (1970, 1, 1));
        assert_eq!(civil(11_016), (2000, 2, 29));
        assert_eq!(civil(19_782), (2024, 2, 29));
        assert_eq!(civil(20_818), (2026, 12, 31));
        assert_eq!(civil(20_819), (2027, 1, 1));
    }

    #[test]
    fn templates_name_what_is_wrong() {
        let err = KeyTemplate::parse("{prefix}{host}/x").unwrap_err();
        assert!(
            err.starts_with("unknown placeholder {host}; known: {hostname}"),
            "{err}"
        );
        assert!(KeyTemplate::parse("a{b")
            .unwrap_err()
            .contains("without its `}`"));
        assert!(KeyTemplate::parse("a}b")
            .unwrap_err()
            .contains("without its `{`"));
        assert!(KeyTemplate::parse("").is_err());
        assert!(KeyTemplate::parse("a\nb").is_err());
    }

    #[test]
    fn values_never_add_a_directory_and_braces_can_be_written() {
        let t = KeyTemplate::parse("{{x}}/{reason}/{filename}").unwrap();
        let f = KeyFields {
            reason: "a/b c",
            ..fields(UNIX_EPOCH)
        };
        assert_eq!(
            t.render(&f, true).unwrap(),
            "{x}/a_b_c/heapdump-1.000001.heapsnapshot.gz"
        );
        let f = KeyFields {
            prefix: "",
            ..fields(UNIX_EPOCH)
        };
        let t = KeyTemplate::parse("{prefix}/{pid}").unwrap();
        assert_eq!(t.render(&f, true).unwrap(), "42", "no leading slash");
        let long = KeyTemplate::parse(&"{hostname}".repeat(100)).unwrap();
        assert!(long
            .render(&fields(UNIX_EPOCH), true)
            .unwrap_err()
            .contains("1024"));
    }
}
