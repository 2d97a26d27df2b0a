//! The fork child's last words to the parent, over a pipe: how many bytes it
//! serialized and wrote, or the error that stopped it. One write of less
//! than PIPE_BUF, so it arrives whole or not at all; fields are separated by
//! NUL, which no message holds.

use std::io::Read;
use std::os::fd::{FromRawFd, RawFd};

use crate::error::{Code, HeadroomFacts, LgError, OsCause, Phase};

/// Longest message carried (a report stays under PIPE_BUF).
const MESSAGE: usize = 2048;

/// What the child did.
#[derive(Debug)]
pub enum Report {
    Written { raw_bytes: u64, bytes: u64 },
    Failed(LgError),
}

impl Report {
    pub fn encode(&self) -> Vec<u8> {
        let fields: Vec<String> = match self {
            Report::Written { raw_bytes, bytes } => {
                vec!["ok".into(), raw_bytes.to_string(), bytes.to_string()]
            }
            Report::Failed(e) => {
                let mut message = e.message.replace('\0', " ");
                truncate(&mut message, MESSAGE);
                let os = e.os.as_ref();
                let facts = e.headroom.as_deref();
                let number = |f: fn(&HeadroomFacts) -> u64| facts.map_or(0, f).to_string();
                vec![
                    e.code.as_str().into(),
                    message,
                    os.map_or("", |o| o.syscall).into(),
                    os.map_or(0, |o| o.errno).to_string(),
                    facts.map_or("", |f| f.bound.as_str()).into(),
                    number(|f| f.need),
                    number(|f| f.available),
                    number(|f| f.heap_used),
                    number(|f| f.rss),
                ]
            }
        };
        fields.join("\0").into_bytes()
    }

    /// `None` when the child said nothing readable (it died first).
    pub fn decode(bytes: &[u8]) -> Option<Report> {
        let text = std::str::from_utf8(bytes).ok()?;
        let f: Vec<&str> = text.split('\0').collect();
        let n = |i: usize| f.get(i).and_then(|v| v.parse::<u64>().ok());
        match f.first()? {
            &"ok" => Some(Report::Written {
                raw_bytes: n(1)?,
                bytes: n(2)?,
            }),
            code => {
                let code = [Code::Write, Code::Capture, Code::Headroom]
                    .into_iter()
                    .find(|c| c.as_str() == *code)?;
                let mut e = match code {
                    Code::Headroom => LgError::headroom(
                        *f.get(1)?,
                        HeadroomFacts {
                            phase: Phase::MidCapture,
                            bound: f.get(4)?.to_string(),
                            need: n(5)?,
                            available: n(6)?,
                            heap_used: n(7)?,
                            rss: n(8)?,
                        },
                    ),
                    _ => LgError::capture(*f.get(1)?),
                };
                e.code = code;
                e.os = syscall(f.get(2)?).map(|syscall| OsCause {
                    syscall,
                    errno: f.get(3).and_then(|v| v.parse().ok()).unwrap_or(0),
                });
                Some(Report::Failed(e))
            }
        }
    }

    /// Reads what the child wrote on `fd` (closing it), once it has exited.
    pub fn read(fd: RawFd) -> Option<Report> {
        // SAFETY: the parent owns the pipe's read end from here on.
        let pipe = unsafe { std::fs::File::from_raw_fd(fd) };
        let mut bytes = Vec::new();
        pipe.take(2 * MESSAGE as u64 + 512)
            .read_to_end(&mut bytes)
            .ok()?;
        Report::decode(&bytes)
    }
}

/// The syscalls a child's error can name (`OsCause` holds a static name).
fn syscall(name: &str) -> Option<&'static str> {
    ["write", "fsync"].into_iter().find(|s| *s == name)
}

fn truncate(s: &mut String, max: usize) {
    if s.len() > max {
        let mut end = max;
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        s.truncate(end);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reports_round_trip() {
        let ok = Report::Written {
            raw_bytes: 1 << 40,
            bytes: 12,
        };
        assert!(matches!(
            Report::decode(&ok.encode()),
            Some(Report::Written {
                raw_bytes: 1099511627776,
                bytes: 12
            })
        ));
        let io = std::io::Error::from_raw_os_error(libc::ENOSPC);
        let e = LgError::io("write", std::path::Path::new("/t/s.heapsnapshot"), &io);
        let Some(Report::Failed(back)) = Report::decode(&Report::Failed(e.clone()).encode()) else {
            panic!("no failure decoded");
        };
        assert_eq!(back.code, Code::Write);
        assert_eq!(back.message, e.message);
        assert_eq!(
            back.os.map(|o| (o.syscall, o.errno)),
            Some(("write", libc::ENOSPC))
        );
    }

    #[test]
    fn nonsense_is_no_report() {
        for bytes in [
            &b""[..],
            b"ok\x001",
            b"ERR_X\0m",
            b"\xff\xfe",
            b"ok\x00-1\x001",
        ] {
            assert!(Report::decode(bytes).is_none(), "{bytes:?}");
        }
    }
}
