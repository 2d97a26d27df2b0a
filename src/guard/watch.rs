//! Watches memory while V8 builds and serializes a snapshot, so that a wrong
//! estimate ends in a clean abort rather than an OOM kill. Checked from the
//! chunk callback (every 16 chunks, 1 MiB) and, when memory is tight, from
//! V8's progress callback (about every 10,000 objects); each check reads RSS
//! (one small /proc read).
//!
//! V8's progress callback is not free: given one, V8 first counts the heap's
//! objects with a full marking pass, about 8 % of the snapshot's JS-thread
//! work (BENCHMARKS.md). So it is asked for only when the estimate uses more
//! than half of what is available; below that, the conservative estimate
//! leaves at least a 2x margin on every heap shape measured.

use super::available::Available;
use super::refusal;
use super::GuardReport;
use crate::error::{LgError, Phase};
use crate::memory;

const CHUNKS_PER_CHECK: u32 = 16;

pub struct Watch {
    rss_before: u64,
    /// RSS above which the capture is aborted: what the process may use, less the reserve.
    ceiling: u64,
    need: u64,
    room: Available,
    heap_used: u64,
    peak: u64,
    tripped: Option<u64>,
    chunks: u32,
}

impl Watch {
    pub fn new(rss_before: u64, need: u64, room: Available, reserve: u64, heap_used: u64) -> Self {
        Watch {
            rss_before,
            ceiling: rss_before + room.bytes.saturating_sub(reserve),
            need,
            room,
            heap_used,
            peak: rss_before,
            tripped: None,
            chunks: 0,
        }
    }

    /// Whether to watch V8 while it builds the snapshot (see the module doc).
    pub fn during_take(&self) -> bool {
        self.need > self.room.bytes / 2
    }

    /// `false` once RSS has passed the ceiling: the capture must stop.
    pub fn check(&mut self) -> bool {
        if self.tripped.is_some() {
            return false;
        }
        let rss = memory::rss();
        self.peak = self.peak.max(rss);
        if rss > self.ceiling {
            self.tripped = Some(rss);
        }
        self.tripped.is_none()
    }

    /// Like `check`, for the serializer's chunks: only every 16th reads RSS.
    pub fn check_chunk(&mut self) -> bool {
        self.chunks += 1;
        !self.chunks.is_multiple_of(CHUNKS_PER_CHECK) || self.check()
    }

    /// The abort, if the watch tripped.
    pub fn tripped(&self) -> Option<LgError> {
        self.tripped.map(|rss| {
            refusal(
                Phase::MidCapture,
                self.need,
                &self.room,
                self.heap_used,
                rss,
            )
        })
    }

    /// Extra memory the capture used at its peak, as far as the checks saw.
    pub fn extra_peak(&self) -> u64 {
        self.peak.saturating_sub(self.rss_before)
    }

    pub fn report(&self) -> GuardReport {
        GuardReport {
            need: self.need,
            available: self.room.bytes,
            bound: self.room.bound.to_string(),
            extra_peak: self.extra_peak(),
        }
    }
}
