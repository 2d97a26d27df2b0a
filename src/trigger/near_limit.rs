//! The last moment before an out-of-memory death: V8's near-heap-limit
//! callback takes a snapshot synchronously, waits for the file to be
//! complete (the process usually dies right after), and gives the heap room
//! for the snapshot's own allocations. The headroom guard applies: when it
//! refuses, the limit is not raised and the process dies as it would have,
//! with a stderr line saying why there is no snapshot.

use std::ffi::c_void;
use std::sync::Mutex;

use napi::Env;

use crate::capture;
use crate::engine::{Engine, Shim};
use crate::error::LgResult;
use crate::request::REASON_NEAR_LIMIT;

/// Extra heap given while and after the snapshot is taken.
const MIN_RAISE: usize = 32 << 20;
/// Once usage falls below this share of the initial limit, V8 restores it.
const RESTORE_BELOW: f64 = 0.95;

struct Armed {
    shim: &'static Shim,
    max_snapshots: u32,
    attempts: u32,
}

static ARMED: Mutex<Option<Armed>> = Mutex::new(None);

/// Arms (with `Some(max_snapshots)`) or disarms the callback; main thread only.
pub fn arm(env: &Env, max_snapshots: Option<u32>) -> LgResult<()> {
    let mut armed = ARMED.lock().unwrap();
    if let Some(a) = armed.take() {
        a.shim.remove_near_heap_limit(near_limit, 0);
    }
    let Some(max_snapshots) = max_snapshots else {
        return Ok(());
    };
    let shim = super::native_hooks(env, "nearHeapLimit")?;
    shim.add_near_heap_limit(near_limit);
    *armed = Some(Armed {
        shim,
        max_snapshots,
        attempts: 0,
    });
    Ok(())
}

/// Inside V8, on the JS thread, during a garbage collection: no JS, no napi.
unsafe extern "C" fn near_limit(_data: *mut c_void, current: usize, _initial: usize) -> usize {
    std::panic::catch_unwind(|| decide(current)).unwrap_or(current)
}

fn decide(current: usize) -> usize {
    let mut armed = ARMED.lock().unwrap();
    let Some(a) = armed.as_mut() else {
        return current;
    };
    let raised = current + a.shim.heap().map_or(0, |h| h.young as usize).max(MIN_RAISE);
    if capture::capturing() {
        // V8 collects garbage while building a snapshot; let that one finish.
        return raised;
    }
    if a.attempts >= a.max_snapshots {
        a.shim.remove_near_heap_limit(near_limit, 0);
        *armed = None;
        return current;
    }
    a.attempts += 1;
    let shim = a.shim;
    drop(armed); // the snapshot's own collections re-enter `near_limit`
    let taken = capture::capture_and_wait(super::request(REASON_NEAR_LIMIT)).is_ok();
    shim.restore_heap_limit(RESTORE_BELOW);
    match taken {
        true => raised,
        false => current, // refused or failed: die as without leakguard
    }
}
