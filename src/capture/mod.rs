//! The one capture entry point. Every trigger builds a `Request` and calls
//! `submit` (or, from V8's near-heap-limit callback, `capture_and_wait`);
//! nothing else takes a snapshot. Capture can start where no JS may run (a
//! V8 interrupt): then only the native engine is used, and every outcome
//! reaches JS later through the isolate's `JsThread`.
//!
//! On the JS thread: ask the memory-headroom guard (a refusal creates no
//! file), open the sink (so a bad directory fails at once), start
//! the writer thread, take and serialize the snapshot into the bounded chunk
//! queue, delete it. The writer thread finishes the file, returns freed memory
//! to the OS (off the JS thread: it takes ~0.2 s after a large snapshot), then
//! hops back to the JS thread to settle.
//!
//! One snapshot at a time per isolate: a request made while one is being
//! captured or written waits in a FIFO and starts when the previous file is
//! complete, so two snapshots' memory never overlaps.

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Instant;

use napi::Env;

#[cfg(target_os = "linux")]
mod fork;

use crate::engine;
use crate::error::{LgError, LgResult};
use crate::events;
use crate::guard::{self, GuardReport};
use crate::js_thread::{self, JsThread};
use crate::memory;
use crate::report::{announce, announce_upload};
use crate::request::{CaptureMode, ForkReport, ObjectIds, Request, Snapshot};
use crate::sink::{self, retain};
use crate::writer;

/// Where a capture is started from. JS may run in `Js`; in `Interrupt` (a
/// V8 interrupt or heap callback on the JS thread) no JS and no napi call
/// may run, so only the native engine is available.
#[derive(Clone, Copy)]
pub enum Context<'env> {
    Js(&'env Env),
    Interrupt,
}

/// Receives the outcome on the JS thread.
pub type Settle = Box<dyn FnOnce(&Env, LgResult<Snapshot>) + Send>;

/// What the JS thread learned while capturing, handed to the writer.
struct Captured {
    object_ids: ObjectIds,
    guard: Option<GuardReport>,
    heap_used: u64,
    block_ms: f64,
    rss_before: u64,
    fork: Option<ForkReport>,
}

#[derive(Default)]
struct Gate {
    busy: bool,
    waiting: VecDeque<(Request, Settle)>,
}

thread_local! {
    // Per isolate: each isolate (main or worker) runs on its own thread.
    static GATE: RefCell<Gate> = RefCell::default();
    // Requests accepted and not yet settled, including those still draining.
    static PENDING: Cell<usize> = const { Cell::new(0) };
    // V8 is building or serializing a snapshot on this thread right now, or
    // walking the heap for the guard.
    static CAPTURING: Cell<bool> = const { Cell::new(false) };
}

/// Captures `request` now, or after the snapshot in progress on this isolate.
pub fn submit(from: Context, mut request: Request, settle: Settle) {
    let hop = match from {
        Context::Js(env) => match js_thread::home(env) {
            Ok(hop) => hop,
            Err(e) => return settle(env, failed(&mut request, LgError::capture(e.reason))),
        },
        Context::Interrupt => match js_thread::current() {
            Some(hop) => hop,
            // Triggers create the hop when they are armed; nobody awaits them.
            None => {
                let e = LgError::capture("no way back to this isolate's JS thread");
                return drop(failed(&mut request, e));
            }
        },
    };
    enter(&hop);
    let now = GATE.with_borrow_mut(|gate| {
        if gate.busy {
            gate.waiting.push_back((request, settle));
            None
        } else {
            gate.busy = true;
            Some((request, settle))
        }
    });
    if let Some((request, settle)) = now {
        start(from, hop, request, settle);
    }
}

/// Whether a request with `reason` waits behind the one in progress.
pub fn waiting(reason: &str) -> bool {
    GATE.with_borrow(|gate| gate.waiting.iter().any(|(r, _)| r.reason == reason))
}

/// Whether V8 is taking a snapshot (or the guard's walk of the heap) on this
/// thread: a heap callback firing now is nested inside it.
pub fn capturing() -> bool {
    CAPTURING.get()
}

/// Whether this isolate has a snapshot requested, draining, capturing or
/// being written: what `busy()` reports to readiness probes.
pub fn busy() -> bool {
    PENDING.get() > 0
}

/// Counts a request from acceptance to settlement; the event loop stays
/// alive meanwhile, so the process does not exit with a file half written.
pub fn enter(hop: &JsThread) {
    PENDING.set(PENDING.get() + 1);
    hop.hold();
}

pub fn leave(hop: &JsThread) {
    PENDING.set(PENDING.get().saturating_sub(1));
    hop.release();
}

fn start(from: Context, hop: Arc<JsThread>, mut request: Request, settle: Settle) {
    match prepare(from, &request) {
        Ok(ready) => {
            let reason = request.reason.clone();
            let tap = request.tap.take();
            let (written, settled) = (Arc::clone(&hop), hop);
            capture(
                ready,
                request,
                move |_| written.run(next),
                move |snapshot| {
                    if let Some(tap) = tap {
                        tap(&snapshot);
                    }
                    settled.run(move |env| finish(env, &reason, snapshot, settle))
                },
            )
        }
        Err(e) => {
            let result = failed(&mut request, e);
            let reason = request.reason;
            hop.run(move |env| {
                next(env);
                finish(env, &reason, result, settle)
            });
        }
    }
}

/// For V8's near-heap-limit callback: captures now, outside the FIFO (the
/// process is about to die; nothing else can run), and returns only once the
/// file is complete. Listeners hear of it if the process lives on.
pub fn capture_and_wait(mut request: Request) -> LgResult<Snapshot> {
    // A fork would double the memory of a process already out of it.
    request.capture = CaptureMode::InProcess;
    let (tx, rx) = std::sync::mpsc::sync_channel(1);
    let reason = request.reason.clone();
    let hop = js_thread::current();
    let tell = move |outcome: LgResult<Snapshot>| {
        if let Some(hop) = hop {
            hop.run(move |env| raise(env, events::emit(env, &reason, &outcome)));
        }
    };
    match prepare(Context::Interrupt, &request) {
        Ok(ready) => {
            // Returns once the file is complete; an upload goes on meanwhile.
            capture(
                ready,
                request,
                move |file| drop(tx.send(file.clone())),
                tell,
            );
            rx.recv()
                .unwrap_or_else(|_| Err(LgError::capture("the writer thread died")))
        }
        Err(e) => {
            let result = failed(&mut request, e);
            tell(result.clone());
            result
        }
    }
}

/// A request that failed before capture: the error names its file.
fn failed(request: &mut Request, e: LgError) -> LgResult<Snapshot> {
    let result = Err(e.with_path(&request.dest.path));
    told(request, &result);
    result
}

/// An outcome known before capture: the stderr line (when asked for), and
/// the request's tap.
fn told(request: &mut Request, result: &LgResult<Snapshot>) {
    announce(request, result);
    if let Some(tap) = request.tap.take() {
        tap(result);
    }
}

/// What a capture needs once the guard has cleared it and the file is open.
struct Ready<'env> {
    started: Instant,
    engine: Box<dyn engine::Engine + 'env>,
    heap: guard::HeapStats,
    rss_before: u64,
    watch: Option<guard::Watch>,
    output: Output,
}

/// Where the snapshot's bytes go.
enum Output {
    /// Through the chunk queue into the sink stack, on the writer thread.
    Stream(Box<dyn sink::Sink>),
    /// Into the file, from a fork child that compresses by itself.
    #[cfg(target_os = "linux")]
    Fork(sink::FileSink, Option<u32>),
}

/// Everything that can fail before capture: no file exists unless it all passed.
fn prepare<'env>(from: Context<'env>, request: &Request) -> LgResult<Ready<'env>> {
    let started = Instant::now();
    let engine = match from {
        Context::Js(env) => engine::select(env)?,
        Context::Interrupt => Box::new(engine::native()?),
    };
    if request.capture == CaptureMode::Fork && !engine.reports_progress() {
        return Err(LgError::capture(
            "capture: 'fork' needs leakguard's V8 shim, and this Node runs without one (see \
             the warning LEAKGUARD_NO_SHIM); use capture: 'in-process'",
        ));
    }
    let rss_before = memory::rss();
    let heap = engine.heap()?;
    // The guard's walk of the heap (when memory is tight) collects garbage:
    // a heap callback firing meanwhile is nested in this capture.
    let slots = || {
        CAPTURING.set(true);
        let slots = engine.js_slots();
        CAPTURING.set(false);
        slots
    };
    let watch = guard::check(
        &request.headroom,
        heap,
        rss_before,
        set_aside(request.capture),
        engine.reports_progress(),
        &slots,
    )?;
    let origin = sink::s3::Origin {
        reason: &request.reason,
        heap_used: heap.used,
        at: request.dest.at,
    };
    let output = match request.capture {
        CaptureMode::InProcess => Output::Stream(sink::open(&request.dest, &origin)?),
        #[cfg(target_os = "linux")]
        CaptureMode::Fork => {
            Output::Fork(sink::open_file(&request.dest, &origin)?, request.dest.gzip)
        }
        #[cfg(not(target_os = "linux"))]
        CaptureMode::Fork => return Err(LgError::config("capture: 'fork' needs Linux")),
    };
    Ok(Ready {
        started,
        engine,
        heap,
        rss_before,
        watch,
        output,
    })
}

/// What the guard sets aside for `mode`: a fork's worst-case copy-on-write.
pub fn set_aside(mode: CaptureMode) -> u64 {
    match mode {
        CaptureMode::InProcess => 0,
        #[cfg(target_os = "linux")]
        CaptureMode::Fork => fork::set_aside(),
        #[cfg(not(target_os = "linux"))]
        CaptureMode::Fork => 0,
    }
}

/// Takes the snapshot into the writer (or a fork child). `written` hears,
/// off the JS thread, that the file is complete (or failed); `done` gets
/// the outcome once its upload is verified too (at once without one),
/// after the stderr lines and retention.
fn capture(
    ready: Ready,
    request: Request,
    written: impl FnOnce(&LgResult<Snapshot>) + Send + 'static,
    done: impl FnOnce(LgResult<Snapshot>) + Send + 'static,
) {
    let Ready {
        started,
        engine,
        heap,
        rss_before,
        watch,
        output,
    } = ready;
    let final_path = request.dest.path.clone();
    let object_ids = request.object_ids;
    let finished = move |result: LgResult<writer::Finished<Captured>>| {
        memory::release_free_pages();
        let rss_after = memory::rss();
        let mut upload = None;
        let snapshot = result.map(|done: writer::Finished<Captured>| {
            upload = done.written.upload;
            Snapshot {
                path: done.written.path,
                bytes: done.written.bytes,
                raw_bytes: done.raw_bytes,
                gzip: request.dest.gzip,
                reason: request.reason.clone(),
                heap_used: done.capture.heap_used,
                block_ms: done.capture.block_ms,
                total_ms: ms(started),
                rss_before: done.capture.rss_before,
                rss_after,
                object_ids: done.capture.object_ids,
                guard: done.capture.guard,
                fork: done.capture.fork,
                retention_failures: Vec::new(),
                s3: None,
            }
        });
        announce(&request, &snapshot);
        written(&snapshot);
        let file_done = Instant::now();
        let settle = move |mut outcome: LgResult<Snapshot>| {
            if let Ok(s) = &mut outcome {
                s.retention_failures = retain::prune(&s.path, request.retain);
            }
            done(outcome)
        };
        match (snapshot, upload) {
            (Ok(mut snapshot), Some(upload)) => upload.then(move |uploaded| {
                let outcome = uploaded.map(|mut u| {
                    u.after_file_ms = ms(file_done);
                    snapshot.s3 = Some(u);
                    snapshot
                });
                announce_upload(&request, &outcome);
                settle(outcome)
            }),
            (snapshot, _) => settle(snapshot),
        }
    };

    let blocked = Instant::now();
    let watch = RefCell::new(watch);
    // A tripped watch is why V8 stopped: report that, not the bare abort.
    let why = |e: LgError| {
        let tripped = watch.borrow().as_ref().and_then(guard::Watch::tripped);
        tripped.unwrap_or(e)
    };
    let captured = |object_ids, fork| Captured {
        object_ids,
        guard: watch.borrow().as_ref().map(guard::Watch::report),
        heap_used: heap.used,
        block_ms: ms(blocked),
        rss_before,
        fork,
    };
    let sink = match output {
        Output::Stream(sink) => sink,
        #[cfg(target_os = "linux")]
        Output::Fork(file, gzip) => {
            CAPTURING.set(true);
            let forked = fork::split(&*engine, &watch, &file, gzip);
            CAPTURING.set(false);
            let forked = forked.map_err(why);
            let at_fork = forked.map(|forked| (forked, captured(ObjectIds::Fresh, None)));
            return fork::finish_later(at_fork, file, final_path, finished);
        }
    };
    let mut queue = writer::spawn(sink, writer::STALL, finished);
    let counts = watch.borrow().as_ref().is_some_and(guard::Watch::counts);
    let watching = |check: &mut dyn FnMut(&mut guard::Watch) -> bool| {
        watch.borrow_mut().as_mut().is_none_or(check)
    };
    // When memory is tight, V8 reports progress: its object count (a heap
    // pass, BENCHMARKS.md) is what the guard decides on.
    let mut progress = |done, total| watching(&mut |w| w.progress(done, total));
    CAPTURING.set(true);
    let outcome = engine.write_snapshot(
        counts.then_some(&mut progress as &mut dyn FnMut(u32, u32) -> bool),
        &mut |chunk| watching(&mut |w| w.chunk(chunk)) && queue.push(chunk),
    );
    CAPTURING.set(false);
    let outcome = outcome.map_err(why);
    let object_ids = match object_ids {
        ObjectIds::Reset if engine.clear_object_ids() => ObjectIds::Reset,
        _ => ObjectIds::Keep,
    };
    let captured = outcome.map(|()| captured(object_ids, None));
    queue.close(captured.map_err(|e| e.with_path(&final_path)));
}

/// On the JS thread, once a snapshot's file is complete (or failed): the
/// snapshot no longer makes the isolate busy, and the next waiting request
/// starts (an upload may still be running: it needs little memory).
fn next(env: &Env) {
    PENDING.set(PENDING.get().saturating_sub(1));
    let next = GATE.with_borrow_mut(|gate| {
        let next = gate.waiting.pop_front();
        gate.busy = next.is_some();
        next
    });
    if let (Ok(hop), Some((request, settle))) = (js_thread::home(env), next) {
        start(Context::Js(env), hop, request, settle);
    }
}

/// On the JS thread: settles one request (its upload done, if any) and
/// tells the listeners; the event loop is no longer held for it. A
/// listener's exception is raised last.
fn finish(env: &Env, reason: &str, result: LgResult<Snapshot>, settle: Settle) {
    let thrown = tell(env, reason, result, settle);
    if let Ok(hop) = js_thread::home(env) {
        hop.release();
    }
    raise(env, thrown);
}

/// On the JS thread: fails a request that never reached the FIFO.
pub fn reject(env: &Env, mut request: Request, error: LgError, settle: Settle) {
    let result = Err(error);
    told(&mut request, &result);
    let thrown = tell(env, &request.reason, result, settle);
    raise(env, thrown);
}

/// Settles, then tells the listeners; returns a listener's exception.
fn tell(
    env: &Env,
    reason: &str,
    result: LgResult<Snapshot>,
    settle: Settle,
) -> Option<napi::sys::napi_value> {
    settle(env, result.clone());
    events::emit(env, reason, &result)
}

/// 'uncaughtException', as a throwing EventEmitter listener would cause.
pub fn raise(env: &Env, thrown: Option<napi::sys::napi_value>) {
    if let Some(exception) = thrown {
        unsafe { napi::sys::napi_fatal_exception(env.raw(), exception) };
    }
}

fn ms(since: Instant) -> f64 {
    since.elapsed().as_secs_f64() * 1000.0
}
