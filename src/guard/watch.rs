//! Decides on V8's object count and watches memory while V8 builds and
//! serializes a snapshot, so that a snapshot either completes under the
//! process's limit or is aborted before it crosses it.
//!
//! V8's progress callback carries its count of the heap's objects (made
//! after its pre-snapshot garbage collection, before any graph memory
//! exists): the first call turns the guess into the real estimate and
//! refuses there when it does not fit. Later calls come every 10,000 objects
//! and once more after the graph is complete (its edge arrays included);
//! serialization is watched from the chunk callback. Each check reads RSS
//! (one small /proc read).
//!
//! RSS going past the estimate means something it does not model is growing:
//! the capture is aborted once the extra RSS (or, while V8 builds the graph
//! and is past a tenth of it, the extra RSS projected linearly to all of the
//! objects) uses half of the slack between the estimate and what is
//! available, and in any case before RSS reaches the ceiling (the limit less
//! the reserve), so that what grows between two checks still lands under the
//! limit.

use super::available::Available;
use super::{estimate, GuardReport, Headroom, HeapStats, JsSlots, Refusal};
use crate::error::LgError;
use crate::memory;

/// The projection starts once V8 has processed this share of the objects (1/10).
const PROJECT_AFTER: u64 = 10;
/// Serializer chunks (64 KiB each) between two RSS reads.
const CHUNKS_PER_CHECK: u32 = 4;

pub struct Watch {
    config: Headroom,
    heap: HeapStats,
    slots: Option<JsSlots>,
    rss_before: u64,
    room: Available,
    /// The estimate: a guess until V8's count arrives.
    need: u64,
    /// V8's count of the heap's objects, once reported.
    nodes: Option<u64>,
    peak: u64,
    /// While V8 builds the graph, past a tenth of it: total ÷ done, × 1024.
    projected: Option<u64>,
    tripped: Option<Refusal>,
    chunks: u32,
}

impl Watch {
    pub fn new(
        config: Headroom,
        heap: HeapStats,
        rss_before: u64,
        room: Available,
        slots: Option<JsSlots>,
    ) -> Self {
        Watch {
            config,
            heap,
            slots,
            rss_before,
            need: estimate::need(&config, heap, None, slots),
            room,
            nodes: None,
            peak: rss_before,
            projected: None,
            tripped: None,
            chunks: 0,
        }
    }

    /// V8's progress callback: `false` stops the snapshot.
    pub fn progress(&mut self, done: u32, total: u32) -> bool {
        if self.tripped.is_none() && self.nodes.is_none() {
            let nodes = u64::from(total);
            self.nodes = Some(nodes);
            self.need = estimate::need(&self.config, self.heap, Some(nodes), self.slots);
            if self.need > self.room.bytes {
                self.tripped = Some(Refusal::Counted {
                    nodes,
                    rss: memory::rss(),
                });
            }
        }
        self.projected = (u64::from(done) >= u64::from(total) / PROJECT_AFTER)
            .then(|| u64::from(total) * 1024 / u64::from(done.max(1)));
        self.check()
    }

    /// Like `check`, for the serializer's chunks: every 4th reads RSS.
    pub fn chunk(&mut self) -> bool {
        self.chunks += 1;
        !self.chunks.is_multiple_of(CHUNKS_PER_CHECK) || self.check()
    }

    /// `false` once the capture must stop.
    fn check(&mut self) -> bool {
        if self.tripped.is_some() {
            return false;
        }
        let rss = memory::rss();
        self.peak = self.peak.max(rss);
        let extra = rss.saturating_sub(self.rss_before);
        // While V8 builds the graph, memory grows with the objects it has
        // processed: a linear projection sees a wrong estimate coming.
        let projected = self
            .projected
            .map_or(extra, |per_1024| extra.saturating_mul(per_1024) / 1024);
        if rss > self.ceiling() || extra.max(projected) > self.budget() {
            self.tripped = Some(Refusal::Exceeded {
                rss,
                budget: self.budget(),
            });
        }
        self.tripped.is_none()
    }

    /// RSS the process must stay under: what it may use, less the reserve.
    fn ceiling(&self) -> u64 {
        let usable = self.room.bytes.saturating_sub(self.config.reserve);
        self.rss_before.saturating_add(usable)
    }

    /// Extra RSS past which the estimate has proved wrong: the estimate plus
    /// half of the slack left above it.
    fn budget(&self) -> u64 {
        let model = self.need.saturating_sub(self.config.reserve);
        model.saturating_add(self.room.bytes.saturating_sub(self.need) / 2)
    }

    /// Why the capture stopped, if the watch stopped it.
    pub fn tripped(&self) -> Option<LgError> {
        let refusal = self.tripped.as_ref()?;
        Some(refusal.error(self.need, &self.room, self.heap.used))
    }

    /// After a complete snapshot: what it really used, for the result, and
    /// V8's count for this isolate's later guesses.
    pub fn report(&self) -> GuardReport {
        if let Some(nodes) = self.nodes {
            estimate::record(nodes, self.heap.used);
        }
        GuardReport {
            need: self.need,
            available: self.room.bytes,
            bound: self.room.bound.to_string(),
            extra_peak: self.peak.saturating_sub(self.rss_before),
            nodes: self.nodes,
        }
    }
}
