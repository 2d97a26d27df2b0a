//! Value rules shared by JS options and `LEAKGUARD_*` variables, so that
//! both accept the same values and say so in the same words.

use crate::request::CaptureMode;

pub const GZIP: &str = "true, false, or an integer gzip level 1-9";
pub const COUNT: &str = "a whole number >= 1 and <= 1000000000";
pub const RATIO: &str = "a fraction of the heap limit, 0 < ratio <= 1";
pub const OBJECT_IDS: &str = "'keep' or 'reset'";
pub const CAPTURE: &str = "'in-process' or 'fork'";

/// A capture mode this platform can run: fork capture needs Linux (its
/// memory workaround reads /proc/self/smaps).
pub fn capture_mode(s: &str) -> Result<CaptureMode, String> {
    match CaptureMode::parse(s) {
        Some(CaptureMode::Fork) if !cfg!(target_os = "linux") => Err(format!(
            "'fork' needs Linux (this is {}); use 'in-process'",
            std::env::consts::OS
        )),
        Some(mode) => Ok(mode),
        None => Err(format!("accepted: {CAPTURE}")),
    }
}

pub fn gzip_level(n: f64) -> Option<u32> {
    (n.fract() == 0.0 && (1.0..=9.0).contains(&n)).then_some(n as u32)
}

pub fn count(n: f64) -> Option<u32> {
    (n.fract() == 0.0 && (1.0..=1e9).contains(&n)).then_some(n as u32)
}

pub fn ratio(n: f64) -> Option<f64> {
    (n > 0.0 && n <= 1.0).then_some(n)
}

/// Where a number option must lie. Every one has a top: a value past what
/// could mean anything would otherwise overflow a conversion (a `Duration`
/// panics, which aborts the process).
#[derive(Clone, Copy, Debug)]
pub struct Range {
    pub min: f64,
    /// Whether `min` itself is accepted.
    pub from_min: bool,
    pub max: f64,
    /// `max` as the message shows it.
    pub max_shown: &'static str,
}

/// Milliseconds (`drainMs`, `cooldownMs`): at most `setTimeout`'s limit.
pub const MILLIS: Range = Range {
    min: 0.0,
    from_min: true,
    max: 2147483647.0,
    max_shown: "2147483647 (2^31 - 1, about 24.8 days)",
};
/// MiB that may be 0 (`reserveMb`, `LEAKGUARD_RETAIN_MB`).
pub const MIB: Range = Range {
    min: 0.0,
    from_min: true,
    max: MIB_MAX,
    max_shown: "1099511627776 (2^40)",
};
/// MiB that bound something (`heapUsedMb`, `limitMb`).
pub const MIB_ABOVE_0: Range = Range {
    from_min: false,
    ..MIB
};
/// Extra bytes per byte of heapUsed (`factor`); measured up to about 31 (BENCHMARKS.md).
pub const FACTOR: Range = Range {
    min: 0.0,
    from_min: false,
    max: 1000.0,
    max_shown: "1000",
};
/// Bytes (`retain.maxBytes`): the same top as `MIB`'s, in bytes.
pub const BYTES: Range = Range {
    min: 0.0,
    from_min: false,
    max: MIB_MAX * MIB_BYTES,
    max_shown: "1152921504606846976 (2^60)",
};

const MIB_MAX: f64 = 1099511627776.0;
const MIB_BYTES: f64 = 1048576.0;

impl Range {
    pub fn check(&self, n: f64) -> Option<f64> {
        let above = n > self.min || (self.from_min && n == self.min);
        (above && n <= self.max).then_some(n)
    }

    /// What the range accepts, for messages.
    pub fn accepts(&self) -> String {
        let from = if self.from_min { ">=" } else { ">" };
        format!("a number {from} {} and <= {}", self.min, self.max_shown)
    }
}

/// MiB to bytes; `as` saturates, so no value can wrap.
pub fn mib(v: f64) -> u64 {
    (v * MIB_BYTES) as u64
}

/// Milliseconds to a `Duration`, saturating rather than panicking.
pub fn millis(ms: f64) -> std::time::Duration {
    std::time::Duration::try_from_secs_f64(ms.max(0.0) / 1000.0).unwrap_or(std::time::Duration::MAX)
}

/// At most this many characters of a value a message echoes: enough to
/// recognise it, and a 100 KB variable still gives a short log line.
const SHOWN_CHARS: usize = 40;
/// Paths get more: their end is often the part that is wrong.
const SHOWN_PATH_CHARS: usize = 200;

/// A value for a message: quoted, cut to a short prefix (`…` marks the cut).
pub fn shown(value: &str) -> String {
    format!("{:?}", cut(value, SHOWN_CHARS))
}

/// A name for a message, cut like `shown` but unquoted.
pub fn shown_name(name: &str) -> String {
    cut(name, SHOWN_CHARS)
}

/// A number for a message, as JS would print it (`1e+300`, not 300 digits).
pub fn shown_number(n: f64) -> String {
    if n.is_infinite() {
        return if n > 0.0 { "Infinity" } else { "-Infinity" }.to_string();
    }
    if n.is_finite() && n != 0.0 && !(1e-6..1e21).contains(&n.abs()) {
        let e = format!("{n:e}");
        return match e.split_once('e') {
            Some((m, x)) if !x.starts_with('-') => format!("{m}e+{x}"),
            _ => e,
        };
    }
    format!("{n}")
}

/// A path for a message, cut like `shown` but longer.
pub fn shown_path(path: &std::path::Path) -> String {
    cut(&path.to_string_lossy(), SHOWN_PATH_CHARS)
}

fn cut(s: &str, max: usize) -> String {
    match s.char_indices().nth(max) {
        Some((at, _)) => format!("{}…", &s[..at]),
        None => s.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_have_a_top_and_conversions_never_panic() {
        assert_eq!(MILLIS.check(0.0), Some(0.0));
        assert_eq!(MILLIS.check(2147483648.0), None);
        assert_eq!(MIB_ABOVE_0.check(0.0), None);
        assert_eq!(MIB.check(f64::NAN), None);
        assert_eq!(BYTES.check(1e300), None);
        assert_eq!(millis(1e300), std::time::Duration::MAX);
        assert_eq!(mib(1e300), u64::MAX);
        assert_eq!(mib(MIB_MAX), 1 << 60);
        assert_eq!(
            MIB_ABOVE_0.accepts(),
            "a number > 0 and <= 1099511627776 (2^40)"
        );
    }

    #[test]
    fn numbers_read_as_in_js() {
        assert_eq!(shown_number(1e300), "1e+300");
        assert_eq!(shown_number(1.5e-10), "1.5e-10");
        assert_eq!(shown_number(-2.0), "-2");
        assert_eq!(shown_number(f64::NAN), "NaN");
        assert_eq!(shown_number(f64::NEG_INFINITY), "-Infinity");
    }

    #[test]
    fn long_values_are_cut() {
        assert_eq!(shown("abc"), "\"abc\"");
        let long = shown(&"é".repeat(1000));
        assert_eq!(long, format!("\"{}…\"", "é".repeat(40)));
    }
}
