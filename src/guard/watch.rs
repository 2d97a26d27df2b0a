//! Decides on V8's object count and watches memory while V8 builds and
//! serializes a snapshot, so that a snapshot either completes under the
//! process's limit or is aborted before it crosses it.
//!
//! When memory is tight (less room than the worst case the heap's bytes
//! allow), V8 is asked for progress. Its callback carries V8's count of the
//! heap's objects (made after its pre-snapshot garbage collection, before
//! any graph memory exists): the first call turns the guess into the real
//! estimate and refuses there when it does not fit. Later calls come every
//! 10,000 objects and once more after the graph is complete (its edge arrays
//! included). With room for the worst case, V8 is not asked (its count costs
//! a marking pass), and the estimate for the result is made from the node
//! count in the snapshot's own header. Serialization is watched from the
//! chunk callback either way. Each check reads RSS (one small /proc read).
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
    /// With room for the worst case the heap's bytes allow: that worst case,
    /// which the budget then uses, and V8 is not asked to count.
    plenty: Option<u64>,
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
        plenty: Option<u64>,
        slots: Option<JsSlots>,
    ) -> Self {
        Watch {
            config,
            heap,
            plenty,
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

    /// Whether V8 should count the objects and report progress.
    pub fn counts(&self) -> bool {
        self.plenty.is_none()
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

    /// Like `check`, for the serializer's chunks: every 4th reads RSS. Without
    /// V8's count, the first chunk's header has the node count, so the
    /// result's estimate is the one a count would have given.
    pub fn chunk(&mut self, bytes: &[u8]) -> bool {
        self.chunks += 1;
        if self.chunks == 1 && self.nodes.is_none() {
            self.nodes = header_nodes(bytes);
            let nodes = self.nodes;
            self.need = estimate::need(&self.config, self.heap, nodes, self.slots);
        }
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
                extra,
                projected: (projected > extra).then_some(projected),
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
        let need = self.plenty.unwrap_or(self.need);
        let model = need.saturating_sub(self.config.reserve);
        model.saturating_add(self.room.bytes.saturating_sub(need) / 2)
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

/// `"node_count":N` from the start of a serialized snapshot.
fn header_nodes(bytes: &[u8]) -> Option<u64> {
    const KEY: &[u8] = b"\"node_count\":";
    let at = bytes.windows(KEY.len()).position(|w| w == KEY)? + KEY.len();
    let digits = bytes[at..]
        .iter()
        .take_while(|b| b.is_ascii_digit())
        .take(19);
    digits.fold(None, |n, &d| {
        Some(n.unwrap_or(0) * 10 + u64::from(d - b'0'))
    })
}

#[cfg(test)]
mod tests {
    use super::header_nodes;

    #[test]
    fn the_node_count_is_read_from_the_header() {
        let head =
            br#"{"snapshot":{"meta":{"node_fields":["type"]},"node_count":2215034,"edge_count":9"#;
        assert_eq!(header_nodes(head), Some(2_215_034));
        assert_eq!(header_nodes(b"{\"snapshot\":{\"node_count\":x"), None);
        assert_eq!(header_nodes(b"{}"), None);
    }
}
