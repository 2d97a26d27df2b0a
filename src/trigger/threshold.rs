//! A snapshot when the heap grows past a threshold, checked after each
//! garbage collection by a GC epilogue hook: no timer, and nothing at all
//! between collections. Young collections count too: a heap can grow a long
//! way on promotions alone before the next full one. The hook only compares
//! numbers and, once crossed, queues the request to the JS thread, where it
//! goes through the drain hook like an API call.

use std::cell::RefCell;
use std::ffi::{c_int, c_void};
use std::time::{Duration, Instant};

use napi::Env;

use crate::config::Threshold;
use crate::engine::{self, Shim};
use crate::error::{Code, LgResult};
use crate::request::Snapshot;
use crate::request::REASON_THRESHOLD;
use crate::{drain, js_thread};

impl Threshold {
    /// The heapUsed that trips it: the lower of the two bounds set.
    fn bytes(&self, heap_limit: u64) -> u64 {
        let ratio = self.heap_used_ratio.map(|r| (r * heap_limit as f64) as u64);
        self.heap_used
            .into_iter()
            .chain(ratio)
            .min()
            .unwrap_or(u64::MAX)
    }
}

struct Armed {
    config: Threshold,
    shim: &'static Shim,
    taken: u32,
    last: Option<Instant>,
    /// A request is on its way (drain, capture, write): no second one.
    queued: bool,
    /// The last request was refused or failed.
    failed: bool,
    /// Whether `after_gc` is registered with V8.
    hooked: bool,
}

const RETRY_AFTER_FAILURE: Duration = Duration::from_secs(1);

thread_local! {
    // Per isolate: a worker may arm its own.
    static ARMED: RefCell<Option<Armed>> = const { RefCell::new(None) };
}

/// Arms (or, with `None`, disarms) the threshold for this isolate.
pub fn arm(env: &Env, config: Option<Threshold>) -> LgResult<()> {
    let Some(config) = config else {
        if let Some(armed) = ARMED.take().filter(|a| a.hooked) {
            armed.shim.after_gc(false, after_gc);
        }
        return Ok(());
    };
    let shim = super::native_hooks(env, "threshold")?;
    let hooked = ARMED.with_borrow(|a| a.as_ref().is_some_and(|a| a.hooked));
    if !hooked {
        shim.after_gc(true, after_gc);
    }
    ARMED.set(Some(Armed {
        config,
        shim,
        taken: 0,
        last: None,
        queued: false,
        failed: false,
        hooked: true,
    }));
    Ok(())
}

/// Inside V8's GC epilogue: no JS, no allocation on the V8 heap.
unsafe extern "C" fn after_gc(
    _isolate: *mut c_void,
    _kind: c_int,
    _flags: c_int,
    _data: *mut c_void,
) {
    let _ = std::panic::catch_unwind(|| {
        let Ok(Some(true)) = ARMED.try_with(|a| {
            a.try_borrow_mut()
                .ok()
                .and_then(|mut a| a.as_mut().map(crossed))
        }) else {
            return;
        };
        if let Some(hop) = js_thread::current() {
            hop.run(fire);
        }
    });
}

/// Whether this collection should trigger a snapshot (marks it queued).
fn crossed(armed: &mut Armed) -> bool {
    let Armed {
        config,
        shim,
        taken,
        last,
        queued,
        failed,
        ..
    } = armed;
    let wait = match *failed {
        true => config.cooldown.max(RETRY_AFTER_FAILURE),
        false => config.cooldown,
    };
    if *queued || *taken >= config.max_snapshots || last.is_some_and(|t| t.elapsed() < wait) {
        return false;
    }
    let Ok(heap) = engine::Engine::heap(shim) else {
        return false;
    };
    *queued = heap.used >= config.bytes(heap.limit);
    *queued
}

/// On the JS thread, after a crossing: one request in flight at a time.
fn fire(env: &Env) {
    if ARMED.with_borrow(Option::is_none) {
        return; // disarmed meanwhile
    }
    drain::request(env, super::request(REASON_THRESHOLD), Box::new(settled));
}

/// Only a snapshot taken counts towards `maxSnapshots` (its upload may
/// fail): a refusal or a failure leaves the threshold armed, to try again after the cooldown (at
/// least `RETRY_AFTER_FAILURE`, so a refusal is not retried at every
/// collection while memory stays tight).
fn settled(_env: &Env, outcome: LgResult<Snapshot>) {
    ARMED.with_borrow_mut(|a| {
        let Some(a) = a.as_mut() else { return };
        a.queued = false;
        a.last = Some(Instant::now());
        // A failed upload still leaves the snapshot, complete and marked
        // for a later upload: it counts as taken.
        a.failed = outcome.as_ref().is_err_and(|e| e.code != Code::Upload);
        if a.failed {
            return;
        }
        a.taken += 1;
        if a.taken >= a.config.max_snapshots && a.hooked {
            // The last one: unhook, so collections cost nothing from now on.
            a.shim.after_gc(false, after_gc);
            a.hooked = false;
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn the_lower_bound_trips_it() {
        let t = Threshold {
            heap_used: Some(100),
            heap_used_ratio: Some(0.5),
            cooldown: Duration::ZERO,
            max_snapshots: 1,
        };
        assert_eq!(t.bytes(1000), 100);
        assert_eq!(t.bytes(150), 75);
        let ratio_only = Threshold {
            heap_used: None,
            ..t
        };
        assert_eq!(ratio_only.bytes(1000), 500);
    }
}
