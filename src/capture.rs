//! The one capture entry point. Every trigger builds a `Request` and calls
//! `submit`; nothing else takes a snapshot.
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

use std::cell::RefCell;
use std::collections::VecDeque;
use std::path::PathBuf;
use std::time::Instant;

use napi::Env;

use crate::config::ObjectIds;
use crate::destination::Destination;
use crate::engine;
use crate::error::{LgError, LgResult};
use crate::events;
use crate::guard::{self, Headroom};
use crate::js_thread::JsThread;
use crate::memory;
use crate::sink;
use crate::writer;

pub struct Request {
    pub dest: Destination,
    /// What asked for the snapshot (`'api'`, or the caller's label).
    pub reason: String,
    pub object_ids: ObjectIds,
    pub headroom: Headroom,
}

/// What the guard decided, for the result.
#[derive(Clone, Debug)]
pub struct GuardReport {
    pub need: u64,
    pub available: u64,
    pub bound: String,
    /// Extra RSS the capture used at its peak, as sampled during capture.
    pub extra_peak: u64,
}

/// What one completed snapshot produced and cost.
#[derive(Clone, Debug)]
pub struct Snapshot {
    pub path: PathBuf,
    pub bytes: u64,
    pub raw_bytes: u64,
    pub gzip: Option<u32>,
    pub reason: String,
    pub heap_used: u64,
    /// How long the JS thread was blocked (take + serialize + delete).
    pub block_ms: f64,
    /// From the request's start to the file's rename.
    pub total_ms: f64,
    pub rss_before: u64,
    pub rss_after: u64,
    /// What was done with V8's object-id map.
    pub object_ids: ObjectIds,
    /// `None` when the guard is off (or had nothing to read).
    pub guard: Option<GuardReport>,
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
}

#[derive(Default)]
struct Gate {
    busy: bool,
    waiting: VecDeque<(Request, Settle)>,
}

thread_local! {
    // Per isolate: each isolate (main or worker) runs on its own thread.
    static GATE: RefCell<Gate> = RefCell::default();
}

/// Captures `request` now, or after the snapshot in progress on this isolate.
pub fn submit(env: &Env, request: Request, settle: Settle) {
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
        start(env, request, settle);
    }
}

fn start(env: &Env, request: Request, settle: Settle) {
    match prepare(env, &request) {
        Ok(ready) => capture(ready, request, settle),
        Err(e) => {
            let e = e.with_path(&request.dest.path);
            finish(env, &request.reason, Err(e), settle)
        }
    }
}

/// What a capture needs once the guard has cleared it and the file is open.
struct Ready<'env> {
    started: Instant,
    hop: JsThread,
    engine: Box<dyn engine::Engine + 'env>,
    heap: guard::HeapStats,
    rss_before: u64,
    watch: Option<guard::Watch>,
    sink: Box<dyn sink::Sink>,
}

/// Everything that can fail before capture: no file exists unless it all passed.
fn prepare<'env>(env: &'env Env, request: &Request) -> LgResult<Ready<'env>> {
    let started = Instant::now();
    let hop = JsThread::new(env).map_err(|e| LgError::capture(e.reason))?;
    let engine = engine::select(env)?;
    let rss_before = memory::rss();
    let heap = engine.heap()?;
    let watch = guard::check(&request.headroom, heap, rss_before)?;
    let sink = sink::open(&request.dest)?;
    Ok(Ready {
        started,
        hop,
        engine,
        heap,
        rss_before,
        watch,
        sink,
    })
}

fn capture(ready: Ready, request: Request, settle: Settle) {
    let Ready {
        started,
        hop,
        engine,
        heap,
        rss_before,
        watch,
        sink,
    } = ready;
    let Request {
        dest,
        reason,
        object_ids,
        headroom: _,
    } = request;
    let final_path = dest.path.clone();
    let reason_for_event = reason.clone();
    let mut queue = writer::spawn(sink, writer::STALL, move |result| {
        memory::release_free_pages();
        let rss_after = memory::rss();
        let snapshot = result.map(|done: writer::Finished<Captured>| Snapshot {
            path: done.written.path,
            bytes: done.written.bytes,
            raw_bytes: done.raw_bytes,
            gzip: dest.gzip,
            reason,
            heap_used: done.capture.heap_used,
            block_ms: done.capture.block_ms,
            total_ms: ms(started),
            rss_before: done.capture.rss_before,
            rss_after,
            object_ids: done.capture.object_ids,
            guard: done.capture.guard,
        });
        hop.run(move |env| finish(env, &reason_for_event, snapshot, settle));
    });

    let blocked = Instant::now();
    let during_take = watch.as_ref().is_some_and(guard::Watch::during_take);
    let watch = RefCell::new(watch);
    let watching =
        |check: fn(&mut guard::Watch) -> bool| watch.borrow_mut().as_mut().is_none_or(check);
    // V8 gets a progress callback only when memory is tight: it costs a heap pass.
    let mut progress = || watching(guard::Watch::check);
    let outcome = engine.write_snapshot(
        during_take.then_some(&mut progress as &mut dyn FnMut() -> bool),
        &mut |chunk| watching(guard::Watch::check_chunk) && queue.push(chunk),
    );
    let watch = watch.into_inner();
    // A tripped watch is why V8 stopped: report that, not the bare abort.
    let outcome = match watch.as_ref().and_then(guard::Watch::tripped) {
        Some(abort) => Err(abort),
        None => outcome,
    };
    let object_ids = match object_ids {
        ObjectIds::Reset if engine.clear_object_ids() => ObjectIds::Reset,
        _ => ObjectIds::Keep,
    };
    let captured = outcome.map(|()| Captured {
        object_ids,
        guard: watch.map(|w| {
            guard::record(w.extra_peak(), heap.used);
            w.report()
        }),
        heap_used: heap.used,
        block_ms: ms(blocked),
        rss_before,
    });
    queue.close(captured.map_err(|e| e.with_path(&final_path)));
}

/// On the JS thread: settles one request, tells the listeners, then starts
/// the next waiting request. A listener's exception is raised last, so it
/// cannot leave the queue stuck.
fn finish(env: &Env, reason: &str, result: LgResult<Snapshot>, settle: Settle) {
    settle(env, result.clone());
    let thrown = events::emit(env, reason, &result);
    let next = GATE.with_borrow_mut(|gate| {
        let next = gate.waiting.pop_front();
        gate.busy = next.is_some();
        next
    });
    if let Some((request, settle)) = next {
        start(env, request, settle);
    }
    if let Some(exception) = thrown {
        // 'uncaughtException', as a throwing EventEmitter listener would cause.
        unsafe { napi::sys::napi_fatal_exception(env.raw(), exception) };
    }
}

fn ms(since: Instant) -> f64 {
    since.elapsed().as_secs_f64() * 1000.0
}
