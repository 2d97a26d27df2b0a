//! What the fork child does to itself before V8 goes on in it. It holds the
//! app's descriptors (listening sockets above all) and signal dispositions;
//! it keeps only its file and its report pipe, takes no signal but the
//! watchdog's and faults, yields the CPU to the app, offers itself to the
//! OOM killer first, and dies with the thread that forked it.

use std::ffi::c_int;
use std::os::fd::RawFd;
use std::time::Duration;

/// Runs first in the child, with `keep` the descriptors it writes to.
pub fn detach(keep: &[RawFd], parent: libc::pid_t) {
    // SAFETY: plain syscalls on this single-threaded child's own state.
    unsafe {
        libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL as libc::c_ulong);
        // The parent may have died before the line above took effect.
        if libc::getppid() != parent {
            libc::_exit(EXIT_FAILED);
        }
        block_signals();
        libc::setpriority(libc::PRIO_PROCESS, 0, NICE);
    }
    let _ = std::fs::write("/proc/self/oom_score_adj", "1000");
    close_descriptors(keep);
}

/// The child's exit status when it could not report (or reported a failure).
pub const EXIT_FAILED: c_int = 70;
/// Below the app, which the child must not slow down.
const NICE: c_int = 10;

unsafe fn block_signals() {
    let mut set: libc::sigset_t = unsafe { std::mem::zeroed() };
    unsafe {
        libc::sigfillset(&mut set);
        // Faults still kill; the watchdog's alarm kills (with its default action).
        for s in [
            libc::SIGALRM,
            libc::SIGSEGV,
            libc::SIGBUS,
            libc::SIGFPE,
            libc::SIGILL,
            libc::SIGABRT,
            libc::SIGTRAP,
            libc::SIGSYS,
        ] {
            libc::sigdelset(&mut set, s);
        }
        libc::pthread_sigmask(libc::SIG_SETMASK, &set, std::ptr::null_mut());
        libc::signal(libc::SIGALRM, libc::SIG_DFL);
    }
}

/// Closes every descriptor but `keep`; 0-2 become /dev/null (a write to the
/// app's stdout pipe would hold or corrupt its log).
fn close_descriptors(keep: &[RawFd]) {
    let open: Vec<RawFd> = match std::fs::read_dir("/proc/self/fd") {
        Ok(dir) => dir
            .filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
            .collect(),
        Err(_) => return,
    };
    // SAFETY: descriptors of this child only; `keep` stays open.
    unsafe {
        let null = libc::open(c"/dev/null".as_ptr(), libc::O_RDWR | libc::O_CLOEXEC);
        for fd in open
            .into_iter()
            .filter(|fd| !keep.contains(fd) && *fd != null)
        {
            match fd {
                0..=2 if null >= 0 => drop(libc::dup2(null, fd)),
                _ => drop(libc::close(fd)),
            }
        }
        if null > 2 {
            libc::close(null);
        }
    }
}

/// Re-arms the watchdog: a child that makes no progress for `stall` is
/// killed by SIGALRM, which the parent reports.
pub fn watchdog(stall: Duration) {
    // SAFETY: alarm only sets this process's timer.
    unsafe { libc::alarm(stall.as_secs().max(1) as libc::c_uint) };
}

/// Ends the child without running the app's exit handlers, destructors or
/// stdio flushes: they belong to the parent.
pub fn exit(code: c_int) -> ! {
    // SAFETY: _exit never returns.
    unsafe { libc::_exit(code) }
}
