//! The parent's side of a fork capture, on a thread of its own: waits for
//! the child, samples the parent's RSS meanwhile (its copy-on-write growth),
//! and says how the child ended.

use std::thread;
use std::time::Duration;

use crate::memory;

/// Between two looks at the child (and two RSS samples).
const POLL: Duration = Duration::from_millis(20);

/// How the child ended, and what it cost.
pub struct Ended {
    pub how: How,
    /// The child's peak RSS, in bytes (from the kernel's accounting).
    pub child_peak_rss: u64,
    /// The parent's RSS above `rss_at_fork` at its highest sample.
    pub parent_growth: u64,
}

pub enum How {
    Exited(i32),
    Killed(i32),
}

/// Waits for `pid` to end.
pub fn child(pid: libc::pid_t, rss_at_fork: u64) -> Ended {
    let mut peak = rss_at_fork;
    loop {
        let mut status = 0;
        // SAFETY: a zeroed rusage is a valid plain C struct; wait4 fills it.
        let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
        // SAFETY: waits for our own child only.
        let got = unsafe { libc::wait4(pid, &mut status, libc::WNOHANG, &mut usage) };
        if got == pid {
            let how = match libc::WIFSIGNALED(status) {
                true => How::Killed(libc::WTERMSIG(status)),
                false => How::Exited(libc::WEXITSTATUS(status)),
            };
            return Ended {
                how,
                child_peak_rss: (usage.ru_maxrss.max(0) as u64) << 10,
                parent_growth: peak - rss_at_fork,
            };
        }
        if got < 0 && std::io::Error::last_os_error().raw_os_error() != Some(libc::EINTR) {
            // ECHILD: something else reaped it (a SIGCHLD set to SIG_IGN).
            return Ended {
                how: How::Exited(-1),
                child_peak_rss: 0,
                parent_growth: peak - rss_at_fork,
            };
        }
        peak = peak.max(memory::rss());
        thread::sleep(POLL);
    }
}

/// A signal's name for messages.
pub fn signal_name(signal: i32) -> String {
    let name = match signal {
        libc::SIGKILL => "SIGKILL",
        libc::SIGALRM => "SIGALRM",
        libc::SIGSEGV => "SIGSEGV",
        libc::SIGBUS => "SIGBUS",
        libc::SIGABRT => "SIGABRT",
        libc::SIGTERM => "SIGTERM",
        libc::SIGILL => "SIGILL",
        libc::SIGFPE => "SIGFPE",
        _ => return format!("signal {signal}"),
    };
    name.to_string()
}
