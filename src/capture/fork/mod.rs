//! Fork capture (`capture: 'fork'`, Linux): V8 starts a snapshot on the
//! isolate's thread, and at its first progress report (its garbage
//! collection done, the heap held at a safepoint) the process forks. The
//! parent tells V8 to abort and goes back to the app; the child goes on,
//! builds the graph, serializes it into the file the parent opened
//! (compressing it itself), reports over a pipe and `_exit`s. Forking any
//! earlier deadlocks the child on V8's worker threads, which do not exist
//! in it (../shared/research/fork-capture.md).
//!
//! The child runs no JS and calls no napi; the guard's watch goes on in it
//! against its own RSS, and a watchdog kills it when it stalls. V8 drops
//! the parent's object-id map after the aborted pass, so ids are fresh in
//! the child's file and in the next in-process snapshot: the file carries
//! `"leakguard":{"capture":"fork"}` in its header, and `diff` refuses it.

mod child;
mod pages;
mod report;
mod wait;

use std::cell::RefCell;
use std::ffi::c_int;
use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::os::fd::{FromRawFd, RawFd};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::PathBuf;
use std::thread;
use std::time::{Duration, Instant};

use flate2::write::GzEncoder;
use flate2::Compression;

use super::{ms, Captured};
use crate::engine::Engine;
use crate::error::{LgError, LgResult};
use crate::exit;
use crate::guard::Watch;
use crate::memory;
use crate::request::ForkReport;
use crate::sink::{FileSink, Paths, Sink};
use crate::writer::Finished;
use report::Report;
use wait::How;

/// A child that makes no progress (no progress report from V8, no chunk)
/// for this long is killed. V8's longest silent step, between its last
/// progress report and its first chunk, takes seconds on a 1 GB heap.
const WATCHDOG: Duration = Duration::from_secs(120);

/// What a fork capture sets aside for the app's copy-on-write growth: all
/// the memory only this process maps, the most the child can duplicate.
pub fn set_aside() -> u64 {
    memory::private_rss()
}

/// The parent's end of a fork, once V8 has returned to the app.
pub struct Forked {
    pid: libc::pid_t,
    /// The read end of the child's report pipe.
    report: RawFd,
    rss_at_fork: u64,
    /// Where the parent's block went: V8's collection and count before the
    /// first progress report, the fork (with the smaps work), V8's aborted pass.
    gc_ms: f64,
    fork_ms: f64,
    abort_ms: f64,
    forked_at: Instant,
}

/// Off the JS thread, like the writer: waits for the child of `at_fork`,
/// then completes `file` (rename, upload) and hands the outcome to
/// `finished`. On any failure the file is dropped, which removes it.
pub(super) fn finish_later(
    at_fork: LgResult<(Forked, Captured)>,
    mut file: FileSink,
    final_path: PathBuf,
    finished: impl FnOnce(LgResult<Finished<Captured>>) + Send + 'static,
) {
    let running = exit::Running::start();
    let job = move || {
        let result = at_fork.and_then(|(forked, mut captured)| {
            let child = forked.wait()?;
            if let Some(guard) = &mut captured.guard {
                let extra = child
                    .report
                    .child_peak_rss
                    .saturating_sub(captured.rss_before);
                guard.extra_peak = extra + child.report.parent_growth;
            }
            captured.fork = Some(child.report);
            file.adopt(child.bytes)?;
            Ok(Finished {
                capture: captured,
                written: Box::new(file).finish()?,
                raw_bytes: child.raw_bytes,
            })
        });
        finished(result.map_err(|e| e.with_path(&final_path)));
        drop(running);
    };
    thread::Builder::new()
        .name("leakguard-fork".into())
        .spawn(job)
        .expect("cannot spawn the leakguard fork-wait thread");
}

/// What the child wrote, once it has exited.
pub struct Child {
    pub raw_bytes: u64,
    pub bytes: u64,
    pub report: ForkReport,
}

enum Side {
    Before,
    Parent(Forked),
    Child(Box<Out>),
    Failed(LgError),
}

/// On the isolate's thread: takes the snapshot in a forked child writing
/// into `file` (gzip at `gzip`). Returns in the parent only; `watch`
/// decides on V8's count before the fork, then watches the child.
pub fn split(
    engine: &dyn Engine,
    watch: &RefCell<Option<Watch>>,
    file: &FileSink,
    gzip: Option<u32>,
) -> LgResult<Forked> {
    let (read, write) = pipe().map_err(|e| LgError::capture(format!("pipe() failed: {e}")))?;
    let side = RefCell::new(Side::Before);
    let started = Instant::now();
    let watching =
        |check: &mut dyn FnMut(&mut Watch) -> bool| watch.borrow_mut().as_mut().is_none_or(check);
    let mut progress = |done, total| {
        let mut side = side.borrow_mut();
        match &*side {
            // V8's count: the guard decides before anything is copied.
            Side::Before if watching(&mut |w| w.progress(done, total)) => {
                *side = fork(file, gzip, read, write, ms(started));
                matches!(*side, Side::Child(_))
            }
            Side::Child(_) => {
                child::watchdog(WATCHDOG);
                watching(&mut |w| w.progress(done, total))
            }
            _ => false,
        }
    };
    // Only the child serializes: V8 never reaches this in the parent.
    let mut out = |chunk: &[u8]| match &mut *side.borrow_mut() {
        Side::Child(out) => {
            child::watchdog(WATCHDOG);
            watching(&mut |w| w.chunk(chunk)) && out.write(chunk)
        }
        _ => false,
    };
    let outcome = engine.write_snapshot(Some(&mut progress), &mut out);
    match side.into_inner() {
        Side::Child(out) => {
            let tripped = watch.borrow().as_ref().and_then(Watch::tripped);
            // A panic must not unwind into the app's frames in the child.
            let finish = AssertUnwindSafe(|| out.finish(tripped.map_or(outcome, Err), write));
            child::exit(catch_unwind(finish).unwrap_or(child::EXIT_FAILED))
        }
        Side::Parent(mut forked) => {
            close(write);
            forked.abort_ms = ms(forked.forked_at);
            Ok(forked)
        }
        side => {
            close(read);
            close(write);
            Err(match side {
                Side::Failed(e) => e,
                _ => outcome.err().unwrap_or_else(|| {
                    LgError::capture("V8 reported no progress, so there was no point to fork at")
                }),
            })
        }
    }
}

/// Forks here, inside V8's snapshot.
fn fork(file: &FileSink, gzip: Option<u32>, read: RawFd, write: RawFd, gc_ms: f64) -> Side {
    let started = Instant::now();
    let forkable = match pages::Forkable::open() {
        Ok(forkable) => forkable,
        Err(e) => {
            return Side::Failed(LgError::capture(format!(
                "cannot make the JS heap forkable (reading /proc/self/smaps, madvise): {e}"
            )))
        }
    };
    let rss_at_fork = memory::rss();
    // SAFETY: getpid and fork have no preconditions; the child below runs
    // only V8's snapshot code (which holds the heap still) and plain syscalls.
    let parent = unsafe { libc::getpid() };
    match unsafe { libc::fork() } {
        0 => {
            child::detach(&[file.raw_fd(), write], parent);
            child::watchdog(WATCHDOG);
            Side::Child(Box::new(Out::new(file, gzip)))
        }
        -1 => {
            let e = io::Error::last_os_error();
            forkable.close();
            let hint = match e.raw_os_error() {
                Some(libc::ENOMEM) => " (not enough memory for the child's page tables)",
                Some(libc::EAGAIN) => " (the process or user limit on processes is reached)",
                _ => "",
            };
            Side::Failed(LgError::capture(format!(
                "fork() failed: {e}{hint}; no snapshot was taken"
            )))
        }
        pid => {
            forkable.close();
            Side::Parent(Forked {
                pid,
                report: read,
                rss_at_fork,
                gc_ms,
                fork_ms: ms(started),
                abort_ms: 0.0,
                forked_at: Instant::now(),
            })
        }
    }
}

impl Forked {
    /// Off the JS thread: waits for the child and says what it wrote.
    pub fn wait(self) -> LgResult<Child> {
        let ended = wait::child(self.pid, self.rss_at_fork);
        let said = Report::read(self.report);
        let report = ForkReport {
            pid: self.pid as u32,
            child_peak_rss: ended.child_peak_rss,
            parent_growth: ended.parent_growth,
            gc_ms: self.gc_ms,
            fork_ms: self.fork_ms,
            abort_ms: self.abort_ms,
        };
        let pid = self.pid;
        match (ended.how, said) {
            (How::Exited(0), Some(Report::Written { raw_bytes, bytes })) => Ok(Child {
                raw_bytes,
                bytes,
                report,
            }),
            (_, Some(Report::Failed(e))) => Err(e),
            (How::Killed(signal), _) => Err(LgError::capture(format!(
                "the fork child (pid {pid}) was killed by {}{} before it finished the snapshot; \
                 no file was written",
                wait::signal_name(signal),
                match signal {
                    libc::SIGKILL => " (the OOM killer, or an operator?)".to_string(),
                    libc::SIGALRM =>
                        format!(" (its watchdog: no progress for {} s)", WATCHDOG.as_secs()),
                    _ => String::new(),
                }
            ))),
            (How::Exited(code), _) => Err(LgError::capture(format!(
                "the fork child (pid {pid}) exited with status {code} without reporting a \
                 finished snapshot; no file was written"
            ))),
        }
    }
}

/// The child's writer: V8's chunks, marked, compressed when asked, into
/// the file by plain `write(2)` (no lock another thread could have held at
/// the fork).
struct Out {
    encoder: Encoder,
    raw_bytes: u64,
    marked: bool,
    paths: Paths,
    failed: Option<LgError>,
}

enum Encoder {
    Raw(BufWriter<File>),
    Gzip(Box<GzEncoder<BufWriter<File>>>),
}

const BUFFER: usize = 1 << 20;

/// Set into the snapshot's header object: `diff` refuses such files.
const MARK: &[u8] = br#""leakguard":{"capture":"fork"},"#;
const HEADER: &[u8] = br#"{"snapshot":{"#;

impl Out {
    fn new(sink: &FileSink, gzip: Option<u32>) -> Out {
        // SAFETY: the child's copy of the descriptor; the parent keeps its own.
        let out = BufWriter::with_capacity(BUFFER, unsafe { File::from_raw_fd(sink.raw_fd()) });
        Out {
            encoder: match gzip {
                Some(level) => {
                    Encoder::Gzip(Box::new(GzEncoder::new(out, Compression::new(level))))
                }
                None => Encoder::Raw(out),
            },
            raw_bytes: 0,
            marked: false,
            paths: sink.paths().clone(),
            failed: None,
        }
    }

    fn write(&mut self, chunk: &[u8]) -> bool {
        let result = match self.marked {
            true => self.put(chunk),
            false => {
                self.marked = true;
                match chunk.strip_prefix(HEADER) {
                    Some(rest) => self
                        .put(HEADER)
                        .and_then(|_| self.put(MARK))
                        .and_then(|_| self.put(rest)),
                    None => self.put(chunk),
                }
            }
        };
        match result {
            Ok(()) => true,
            Err(e) => {
                self.failed = Some(self.paths.io_error("write", &e));
                false
            }
        }
    }

    fn put(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.raw_bytes += bytes.len() as u64;
        match &mut self.encoder {
            Encoder::Raw(w) => w.write_all(bytes),
            Encoder::Gzip(w) => w.write_all(bytes),
        }
    }

    /// Completes the file and reports on `pipe`; the child's exit status.
    fn finish(self, outcome: LgResult<()>, pipe: RawFd) -> c_int {
        let written = match (self.failed, outcome) {
            (Some(e), _) | (None, Err(e)) => Err(e),
            (None, Ok(())) => self
                .encoder
                .finish()
                .map_err(|e| self.paths.io_error("write", &e)),
        };
        let report = match written {
            Ok(bytes) => Report::Written {
                raw_bytes: self.raw_bytes,
                bytes,
            },
            Err(e) => Report::Failed(e),
        };
        let said = write_all(pipe, &report.encode()).is_ok();
        match report {
            Report::Written { .. } if said => 0,
            _ => child::EXIT_FAILED,
        }
    }
}

impl Encoder {
    /// Flushes everything into the file; the file's size.
    fn finish(self) -> io::Result<u64> {
        let out = match self {
            Encoder::Raw(w) => w,
            Encoder::Gzip(w) => w.finish()?,
        };
        let file = out.into_inner().map_err(io::IntoInnerError::into_error)?;
        Ok(file.metadata()?.len())
    }
}

/// A pipe whose ends close on exec (the app's children never see them).
fn pipe() -> io::Result<(RawFd, RawFd)> {
    let mut fds = [0; 2];
    // SAFETY: pipe2 writes two descriptors into `fds`.
    match unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } {
        0 => Ok((fds[0], fds[1])),
        _ => Err(io::Error::last_os_error()),
    }
}

fn close(fd: RawFd) {
    // SAFETY: `fd` is ours and closed once.
    unsafe { libc::close(fd) };
}

fn write_all(fd: RawFd, mut bytes: &[u8]) -> io::Result<()> {
    while !bytes.is_empty() {
        // SAFETY: writes from a live buffer of `bytes.len()` bytes.
        let n = unsafe { libc::write(fd, bytes.as_ptr().cast(), bytes.len()) };
        match n {
            n if n > 0 => bytes = &bytes[n as usize..],
            _ if io::Error::last_os_error().kind() == io::ErrorKind::Interrupted => {}
            _ => return Err(io::Error::last_os_error()),
        }
    }
    Ok(())
}
