//! The one stderr line a snapshot nobody awaits (signal, threshold, near
//! heap limit) leaves in the logs: where the file is, or why there is none.
//! Written straight to fd 2 (`process::write_stderr`), so it works from any
//! thread and while JS is stuck, when `process.stderr` could not run.

use crate::error::{Code, LgResult};
use crate::process::write_stderr;
use crate::request::{Request, Snapshot, REASON_NEAR_LIMIT};
use crate::units;

/// Writes the line for `request` if it asks for one (`announce`).
pub fn announce(request: &Request, outcome: &LgResult<Snapshot>) {
    if request.announce {
        write_stderr(&line(&request.reason, outcome));
    }
}

/// The second line of a snapshot bound for S3: where it went, or why not
/// (the error says where the kept file is).
pub fn announce_upload(request: &Request, outcome: &LgResult<Snapshot>) {
    if request.announce {
        write_stderr(&upload_line(&request.reason, outcome));
    }
}

fn upload_line(reason: &str, outcome: &LgResult<Snapshot>) -> String {
    let pid = std::process::id();
    match outcome.as_ref().map(|s| s.s3.as_ref()) {
        Ok(Some(u)) => format!(
            "leakguard[{pid}]: heap snapshot ({reason}) uploaded to s3://{}/{} ({} in {:.1} s)\n",
            u.bucket,
            u.key,
            units::bytes(u.bytes),
            u.ms / 1000.0
        ),
        Ok(None) => String::new(),
        Err(e) => format!(
            "leakguard[{pid}]: heap snapshot ({reason}): {}\n",
            e.message
        ),
    }
}

fn line(reason: &str, outcome: &LgResult<Snapshot>) -> String {
    let pid = std::process::id();
    match outcome {
        Ok(s) => format!(
            "leakguard[{pid}]: heap snapshot ({reason}) written to {} {}\n",
            s.path.display(),
            cost(s)
        ),
        Err(e) => {
            let what = match e.code {
                Code::Headroom => "skipped",
                _ => "failed",
            };
            let after = match reason {
                REASON_NEAR_LIMIT => {
                    "; the process now runs out of heap as it would without leakguard"
                }
                _ => "",
            };
            format!(
                "leakguard[{pid}]: heap snapshot ({reason}) {what}: {}{after}\n",
                e.message
            )
        }
    }
}

/// `(3.90 MiB, event loop blocked 0.2 s)`, for every line about a written snapshot.
pub fn cost(s: &Snapshot) -> String {
    format!(
        "({}{}, event loop blocked {:.1} s)",
        units::bytes(s.bytes),
        if s.fork.is_some() {
            " by a fork child"
        } else {
            ""
        },
        s.block_ms / 1000.0
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::LgError;

    #[test]
    fn failure_lines_say_why_and_what_happens_next() {
        let e = LgError::capture("boom");
        let l = line(REASON_NEAR_LIMIT, &Err(e));
        assert!(
            l.contains("heap snapshot (near-heap-limit) failed: boom; the process now runs out")
        );
        assert!(l.ends_with('\n') && l.matches('\n').count() == 1);
    }
}
