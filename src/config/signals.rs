//! The signals a snapshot may be asked for with, and the ones refused.

use std::ffi::c_int;

use super::rules::shown;

/// Signals leakguard may listen on, and the ones it refuses with why.
const ACCEPTED: &[(&str, c_int)] = &[
    ("SIGUSR2", libc::SIGUSR2),
    ("SIGHUP", libc::SIGHUP),
    ("SIGQUIT", libc::SIGQUIT),
    ("SIGWINCH", libc::SIGWINCH),
    ("SIGURG", libc::SIGURG),
    ("SIGTTIN", libc::SIGTTIN),
    ("SIGTTOU", libc::SIGTTOU),
    ("SIGVTALRM", libc::SIGVTALRM),
    ("SIGXCPU", libc::SIGXCPU),
    ("SIGXFSZ", libc::SIGXFSZ),
    #[cfg(target_os = "linux")]
    ("SIGPWR", libc::SIGPWR),
];
const REFUSED: &[(&str, &str)] = &[
    ("SIGUSR1", "Node's inspector owns it"),
    ("SIGINT", "it asks the process to stop"),
    ("SIGTERM", "it asks the process to stop"),
    ("SIGKILL", "it cannot be caught"),
    ("SIGSTOP", "it cannot be caught"),
    ("SIGPROF", "profilers own it"),
];

/// A signal name to its number, or why it is not accepted.
pub fn parse(name: &str) -> Result<c_int, String> {
    if let Some((_, n)) = ACCEPTED.iter().find(|(s, _)| *s == name) {
        return Ok(*n);
    }
    let accepted: Vec<&str> = ACCEPTED.iter().map(|(s, _)| *s).collect();
    let why = match REFUSED.iter().find(|(s, _)| *s == name) {
        Some((_, why)) => format!("{name} is refused: {why}"),
        None => format!("{} is not a signal leakguard listens on", shown(name)),
    };
    Err(format!(
        "{why}; accepted: {}, or false",
        accepted.join(", ")
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refused_signals_say_why() {
        assert_eq!(parse("SIGUSR2"), Ok(libc::SIGUSR2));
        let e = parse("SIGUSR1").unwrap_err();
        assert!(e.starts_with("SIGUSR1 is refused: Node's inspector owns it; accepted: SIGUSR2"));
        assert!(parse("SIGTERM").unwrap_err().contains("stop"));
        assert!(parse("USR2")
            .unwrap_err()
            .contains("\"USR2\" is not a signal"));
        assert!(parse(&"S".repeat(100_000)).unwrap_err().len() < 300);
    }
}
