//! The memory-headroom guard: every snapshot passes it first, and it watches
//! memory while V8 builds the snapshot. A snapshot needs many times the heap
//! in extra memory (measured: up to ~31× heapUsed when one array holds a
//! million objects), and a process killed by the OOM killer mid-dump leaves
//! no file. So: estimate what the snapshot needs from V8's own object count,
//! compare with what this process may still use (cgroup, host, configured
//! limit), refuse loudly when it does not fit, and abort cleanly, before the
//! limit, if the estimate proves wrong during capture.

pub mod available;
mod estimate;
mod watch;

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

/// Slots of the heap's JS arrays, Maps (key and value) and Sets: each an
/// edge of the snapshot, and each array index a name V8 keeps.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct JsSlots {
    pub total: u64,
    /// The most in one array, Map or Set.
    pub largest: u64,
}

/// What the guard decided, for the result.
#[derive(Clone, Debug)]
pub struct GuardReport {
    pub need: u64,
    pub available: u64,
    pub bound: String,
    /// Extra RSS the capture used at its peak, as sampled during capture.
    pub extra_peak: u64,
    /// V8's count of the heap's objects, the estimate's basis.
    pub nodes: Option<u64>,
}

/// What a snapshot would need now, and what the process may still use.
pub struct Assessment {
    pub need: u64,
    pub room: Available,
}

/// `None` when the guard is off, or nothing could be read (no /proc). The
/// need is a guess from heap bytes: V8 counts the objects only during a
/// snapshot (see `estimate`). `set_aside` is taken off the room first: a
/// fork capture's worst case of the app's copy-on-write growth.
pub fn assess(config: &Headroom, heap: HeapStats, rss: u64, set_aside: u64) -> Option<Assessment> {
    if !config.enabled {
        return None;
    }
    let configured = config.limit.map(|limit| (limit, rss));
    let mut room = available::available(&available::fs_root(), configured)?;
    if set_aside > 0 {
        room = Available {
            bytes: room.bytes.saturating_sub(set_aside),
            bound: available::Bound::ForkSetAside(Box::new(room.bound), set_aside),
        };
    }
    Some(Assessment {
        need: estimate::need(config, heap, None, None),
        room,
    })
}

/// Clears the capture (with a watch that decides on V8's count, when the
/// engine reports one), or refuses it now: when not even a snapshot's fixed
/// costs fit, or when no count will come (a configured `factor`, or the
/// fallback engine) and the estimate from heap bytes does not fit. When the
/// room is below the worst case heap bytes allow, V8 is asked to count, and
/// `slots` for what the count alone cannot tell (arrays holding the same
/// objects many times). `set_aside` as for `assess`.
pub fn check(
    config: &Headroom,
    heap: HeapStats,
    rss: u64,
    set_aside: u64,
    counted: bool,
    slots: &dyn Fn() -> Option<JsSlots>,
) -> LgResult<Option<Watch>> {
    let Some(Assessment { room, need }) = assess(config, heap, rss, set_aside) else {
        return Ok(None);
    };
    let floor_only = counted && config.factor.is_none();
    let floor = match floor_only {
        true => estimate::BASE.saturating_add(config.reserve),
        false => need,
    };
    if floor > room.bytes {
        return Err(Refusal::Floor { rss, floor_only }.error(floor, &room, heap.used));
    }
    // With room for the worst case the heap's bytes allow, nothing needs
    // counting: V8's count costs a marking pass (BENCHMARKS.md).
    let worst = estimate::worst_case(config, heap);
    let plenty = (room.bytes >= worst).then_some(worst);
    let slots = plenty.is_none().then(slots).flatten();
    Ok(Some(Watch::new(*config, heap, rss, room, plenty, slots)))
}

/// Why the guard stopped a snapshot.
enum Refusal {
    /// Before capture: not even the fixed costs fit (`floor_only`), or the
    /// estimate made without a count does not.
    Floor { rss: u64, floor_only: bool },
    /// At V8's object count, before any graph memory: the estimate does not fit.
    Counted { nodes: u64, rss: u64 },
    /// While V8 built or serialized: the extra RSS (`projected` to all of
    /// the objects, while V8 built the graph) went past what the estimate
    /// allowed, or RSS came within the reserve of the limit.
    Exceeded {
        rss: u64,
        extra: u64,
        projected: Option<u64>,
        budget: u64,
    },
}

impl Refusal {
    fn error(&self, need: u64, room: &Available, heap_used: u64) -> LgError {
        let mib = |b: u64| b >> 20;
        let (phase, rss, message) =
            match *self {
                Refusal::Floor { rss, floor_only } => {
                    (
                        Phase::PreCheck,
                        rss,
                        format!(
                    "not enough memory for a heap snapshot: it needs {} {} MiB (heapUsed {} \
                     MiB), {} MiB are available (bound by {}); no snapshot was taken. Give the \
                     process more memory, or tune `headroom` (see the README)",
                    if floor_only { "at least" } else { "an estimated" },
                    mib(need),
                    mib(heap_used),
                    mib(room.bytes),
                    room.bound
                ),
                    )
                }
                Refusal::Counted { nodes, rss } => (
                    Phase::PreCheck,
                    rss,
                    format!(
                        "not enough memory for a heap snapshot: V8 counted {nodes} objects, so it \
                     needs an estimated {} MiB (heapUsed {} MiB), {} MiB are available (bound by \
                     {}); no snapshot was taken (V8 stopped before building it). Give the process \
                     more memory, or tune `headroom` (see the README)",
                        mib(need),
                        mib(heap_used),
                        mib(room.bytes),
                        room.bound
                    ),
                ),
                Refusal::Exceeded {
                    rss,
                    extra,
                    projected,
                    budget,
                } => (
                    Phase::MidCapture,
                    rss,
                    format!(
                    "heap snapshot aborted mid-capture: it used {} MiB more than before{} (RSS {} \
                     MiB), past the {} MiB its estimate allowed or too close to the limit \
                     (estimate {} MiB for heapUsed {} MiB; {} MiB were available, bound by {}), \
                     so it was stopped before reaching the limit; memory was released, no file \
                     was written",
                    mib(extra),
                    projected.map_or(String::new(), |p| format!(
                        ", on course for {} MiB once V8 has processed every object",
                        mib(p)
                    )),
                    mib(rss),
                    mib(budget),
                    mib(need),
                    mib(heap_used),
                    mib(room.bytes),
                    room.bound
                ),
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
}
