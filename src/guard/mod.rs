//! The memory-headroom guard: every snapshot passes it first, and it watches
//! memory while V8 builds the snapshot. A snapshot needs memory of the order
//! of the heap again (measured: up to ~10× heapUsed for heaps of small
//! objects), and a process killed by the OOM killer mid-dump leaves no file.
//! So: estimate what the snapshot needs, compare with what this process may
//! still use (cgroup, host, configured limit), refuse loudly when it does not
//! fit, and abort cleanly if the estimate proves wrong during capture.

pub mod available;
mod estimate;
mod watch;

pub use estimate::record;
pub use watch::Watch;

use crate::error::{HeadroomFacts, LgError, LgResult, Phase};
use available::Available;

/// `headroom` configuration.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Headroom {
    pub enabled: bool,
    /// Extra memory per byte of heapUsed; `None` uses the measured model.
    pub factor: Option<f64>,
    /// Kept free on top of the estimate, in bytes.
    pub reserve: u64,
    /// An explicit memory limit for the process, in bytes.
    pub limit: Option<u64>,
}

pub const DEFAULT_RESERVE: u64 = 64 << 20;

impl Default for Headroom {
    fn default() -> Self {
        Headroom {
            enabled: true,
            factor: None,
            reserve: DEFAULT_RESERVE,
            limit: None,
        }
    }
}

/// V8 heap figures the estimate is made from.
#[derive(Clone, Copy, Debug, Default)]
pub struct HeapStats {
    pub used: u64,
    /// The part of `used` in large-object spaces (big strings and arrays).
    pub large: u64,
    /// V8's heap limit (`--max-old-space-size` and friends).
    pub limit: u64,
    /// The young generation's size.
    pub young: u64,
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

/// What a snapshot would need now, and what the process may still use.
pub struct Assessment {
    pub need: u64,
    pub room: Available,
}

/// `None` when the guard is off, or nothing could be read (no /proc).
pub fn assess(config: &Headroom, heap: HeapStats, rss: u64) -> Option<Assessment> {
    if !config.enabled {
        return None;
    }
    let configured = config.limit.map(|limit| (limit, rss));
    let room = available::available(&available::fs_root(), configured)?;
    Some(Assessment {
        need: estimate::need(config, heap),
        room,
    })
}

/// Clears the capture (with a watch for it), or refuses it with the numbers.
pub fn check(config: &Headroom, heap: HeapStats, rss: u64) -> LgResult<Option<Watch>> {
    let Some(Assessment { need, room }) = assess(config, heap, rss) else {
        return Ok(None);
    };
    if need > room.bytes {
        return Err(refusal(Phase::PreCheck, need, &room, heap.used, rss));
    }
    Ok(Some(Watch::new(rss, need, room, config.reserve, heap.used)))
}

pub fn refusal(phase: Phase, need: u64, room: &Available, heap_used: u64, rss: u64) -> LgError {
    let mib = |b: u64| b >> 20;
    let message = match phase {
        Phase::PreCheck => format!(
            "not enough memory for a heap snapshot: it needs an estimated {} MiB (heapUsed {} MiB), \
             {} MiB are available (bound by {}); no snapshot was taken. Give the process more \
             memory, or tune `headroom` (see the README)",
            mib(need),
            mib(heap_used),
            mib(room.bytes),
            room.bound
        ),
        Phase::MidCapture => format!(
            "heap snapshot aborted mid-capture: RSS reached {} MiB, past the {} MiB this process \
             could use (bound by {}; estimate was {} MiB for heapUsed {} MiB); memory was \
             released, no file was written",
            mib(rss),
            mib(room.bytes),
            room.bound,
            mib(need),
            mib(heap_used)
        ),
    };
    LgError::headroom(
        message,
        HeadroomFacts {
            phase,
            need,
            available: room.bytes,
            bound: room.bound.to_string(),
            heap_used,
            rss,
        },
    )
}
