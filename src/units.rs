//! The one way sizes are written for people (stderr lines, the route's
//! answers, the analysis progress bar; the CLI does the same in
//! `bin/leakguard.js`): binary units, as every setting (`limitMb`,
//! `partSizeMb`, …) and a container's memory limit are in MiB, with three
//! significant digits, so that a small size does not read `0.0`.

const UNITS: [&str; 4] = ["KiB", "MiB", "GiB", "TiB"];

pub fn bytes(n: u64) -> String {
    if n < 1024 {
        return format!("{n} B");
    }
    let (mut v, mut unit) = (n as f64 / 1024.0, 0);
    // At 999.5 three digits would round to 1000: the next unit reads 0.98.
    while v >= 999.5 && unit + 1 < UNITS.len() {
        v /= 1024.0;
        unit += 1;
    }
    let decimals = match v {
        v if v < 9.995 => 2,
        v if v < 99.95 => 1,
        _ => 0,
    };
    format!("{v:.decimals$} {}", UNITS[unit])
}

#[cfg(test)]
mod tests {
    use super::bytes;

    #[test]
    fn three_significant_digits_in_binary_units() {
        assert_eq!(bytes(0), "0 B");
        assert_eq!(bytes(1023), "1023 B");
        assert_eq!(bytes(1024), "1.00 KiB");
        assert_eq!(bytes(1536), "1.50 KiB");
        assert_eq!(bytes(3 << 20), "3.00 MiB");
        assert_eq!(bytes(123 << 20), "123 MiB");
        assert_eq!(bytes(99_990), "97.6 KiB");
        assert_eq!(bytes(1023 << 20), "1.00 GiB");
        assert_eq!(bytes(3 << 30), "3.00 GiB");
    }
}
