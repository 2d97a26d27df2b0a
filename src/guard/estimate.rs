//! How much extra memory a snapshot will need. Measured (BENCHMARKS.md,
//! "Headroom"): V8's snapshot memory is driven by the graph, not by heap
//! bytes. A least-squares fit over 16 heap shapes gives, per snapshot:
//! 160 B per node, 32 B per edge, and 1285 B per distinct array index that
//! holds an object (V8 names each internal edge `"0"`, `"1"`, ... and keeps
//! every new name in a 1 KiB buffer, so one array of a million objects costs
//! about 1.2 GiB on its own).
//!
//! The process learns the node count cheaply: V8 counts the heap's objects
//! before it builds the graph and reports the total through the progress
//! callback, so the decision is made there, before any graph memory exists.
//! The count costs a marking pass, so it is asked for only when the room is
//! below `worst_case`, what the heap's bytes allow at most.
//! Edges and distinct indices follow from the count and V8's heap statistics:
//! - arrays with more than 16 Ki slots live in large-object space, one slot
//!   per 8 bytes, and a distinct index needs an object in that slot: at most
//!   16 Ki + min(nodes beyond an empty Node's, large-object bytes ÷ 8);
//! - V8 reports an array element twice (from the array and from its backing
//!   store), so large arrays add two edges per index; other objects had at
//!   most 6 edges each in every shape measured (closures 5.5, objects with 32
//!   fields 4.9). A pointer field is 8 bytes, so the edges are also at most a
//!   quarter of the bytes outside large-object space: the lower of the two.
//!
//! Measured on 15 of the 16 shapes, the estimate never fell below the real
//! peak and stayed within 2.5× of it plus the reserve (BENCHMARKS.md). What
//! the count cannot see: arrays that hold the *same* few objects thousands of
//! times (far more edges than objects). When memory is tight, `JsSlots` (a
//! walk of the heap) gives their real lengths. Before the count (the readiness check `headroom()`), nodes are
//! guessed from this isolate's last count, or from the densest heap measured
//! (one node per 32 bytes).

use std::cell::Cell;

use super::{Headroom, HeapStats, JsSlots};

const PER_NODE: u64 = 170;
const PER_EDGE: u64 = 32;
const PER_INDEX: u64 = 1300;
/// Edges per node outside large arrays (measured at most 6).
const EDGES_PER_NODE: u64 = 6;
/// Slots of the largest array outside large-object space (128 KiB ÷ 8).
const REGULAR_INDICES: u64 = 16 << 10;
/// Nodes of an empty Node process's heap (about 40 k on Node 20, 61 k on
/// Node 24): their array indices are within `REGULAR_INDICES`.
const NODE_BASELINE: u64 = 60_000;
/// Fixed costs: the chunk queue (4 MiB), writer buffers, V8's bookkeeping.
pub const BASE: u64 = 8 << 20;
/// Densest heap measured: many short strings or list nodes, ~40 bytes each.
const GUESS_BYTES_PER_NODE: u64 = 32;

thread_local! {
    // Per isolate: nodes per byte of heapUsed at this isolate's last count.
    static DENSITY: Cell<Option<f64>> = const { Cell::new(None) };
}

/// The extra memory a snapshot needs, reserve included. `nodes` is V8's
/// count when known; without it, a guess (see the module doc). `slots`, when
/// known, replaces the edges' per-node bound for arrays, Maps and Sets.
pub fn need(config: &Headroom, heap: HeapStats, nodes: Option<u64>, slots: Option<JsSlots>) -> u64 {
    let model = match config.factor {
        Some(factor) => mul(heap.used, factor),
        None => {
            let nodes = nodes.unwrap_or_else(|| guess(heap));
            let large = heap.large.min(heap.used);
            let beyond_baseline = nodes.saturating_sub(NODE_BASELINE);
            let spread = slots.map_or(beyond_baseline, |s| s.largest.min(beyond_baseline));
            let indices = REGULAR_INDICES + spread.min(large / 8);
            let in_arrays = slots.map_or(indices, |s| s.total).saturating_mul(2);
            let typical = nodes
                .saturating_mul(EDGES_PER_NODE)
                .saturating_add(in_arrays);
            graph(heap, nodes, indices, typical)
        }
    };
    model.saturating_add(BASE).saturating_add(config.reserve)
}

/// What heap bytes alone allow at most: a node per 16 bytes (per 128 KiB in
/// large-object space), every field an edge, every large slot an index.
/// Physical, so a configured `factor` (an estimate) does not change it.
pub fn worst_case(config: &Headroom, heap: HeapStats) -> u64 {
    let large = heap.large.min(heap.used);
    let nodes = (heap.used - large) / 16 + large / (128 << 10) + NODE_BASELINE;
    let model = graph(heap, nodes, REGULAR_INDICES + large / 8, u64::MAX);
    model.saturating_add(BASE).saturating_add(config.reserve)
}

/// The graph's memory: `nodes`, `indices` distinct array indices, and edges
/// at most `typical` and at most what the fields can hold.
fn graph(heap: HeapStats, nodes: u64, indices: u64, typical: u64) -> u64 {
    let large = heap.large.min(heap.used);
    let fields = ((heap.used - large) / 4)
        .saturating_add(nodes)
        .saturating_add(indices.saturating_mul(2));
    [
        nodes.saturating_mul(PER_NODE),
        fields.min(typical).saturating_mul(PER_EDGE),
        indices.saturating_mul(PER_INDEX),
    ]
    .into_iter()
    .fold(0, u64::saturating_add)
}

fn guess(heap: HeapStats) -> u64 {
    match DENSITY.get() {
        Some(density) => mul(heap.used, density),
        None => (heap.used - heap.large.min(heap.used)) / GUESS_BYTES_PER_NODE + NODE_BASELINE,
    }
}

/// `bytes × factor`, saturating (`as` saturates floats, and NaN gives 0).
fn mul(bytes: u64, factor: f64) -> u64 {
    (bytes as f64 * factor) as u64
}

/// Remembers V8's count, for later guesses in this isolate.
pub fn record(nodes: u64, heap_used: u64) {
    if heap_used > 0 {
        DENSITY.set(Some(nodes as f64 / heap_used as f64));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIB: u64 = 1 << 20;

    fn heap(used: u64, large: u64) -> HeapStats {
        HeapStats {
            used: used * MIB,
            large: large * MIB,
            ..HeapStats::default()
        }
    }

    #[test]
    fn one_big_array_of_objects_costs_its_indices() {
        let cfg = Headroom::default();
        // 1 M objects held in one array (8 MiB of large-object space) vs in a list.
        let array = need(&cfg, heap(60, 8), Some(1_000_000), None);
        let list = need(&cfg, heap(60, 0), Some(1_000_000), None);
        assert!(array > list + 1_000_000 * 1200, "{array} vs {list}");
    }

    #[test]
    fn big_strings_cost_next_to_nothing() {
        let cfg = Headroom {
            reserve: 0,
            ..Headroom::default()
        };
        // 100 MiB of 512 KiB strings: 200 of them among Node's own 40 k nodes.
        assert!(need(&cfg, heap(100, 99), Some(40_000), None) < 80 * MIB);
    }

    #[test]
    fn configured_factor_and_reserve_win() {
        let cfg = Headroom {
            factor: Some(2.0),
            reserve: 10 * MIB,
            ..Headroom::default()
        };
        assert_eq!(
            need(&cfg, heap(100, 0), Some(1), None),
            200 * MIB + BASE + 10 * MIB
        );
    }

    #[test]
    fn extreme_settings_saturate_instead_of_wrapping() {
        let huge = Headroom {
            factor: Some(1e13),
            reserve: u64::MAX / 2,
            ..Headroom::default()
        };
        assert_eq!(need(&huge, heap(100, 0), None, None), u64::MAX);
        let nodes = need(&Headroom::default(), heap(100, 0), Some(u64::MAX), None);
        assert_eq!(nodes, u64::MAX);
    }

    #[test]
    fn slots_reveal_arrays_that_hold_the_same_objects_many_times() {
        let cfg = Headroom::default();
        // 60 MiB of 10 k-slot arrays, all holding one object: few nodes, 15 M edges.
        let slots = JsSlots {
            total: 7_500_000,
            largest: 10_000,
        };
        let counted = need(&cfg, heap(60, 0), Some(40_000), None);
        let seen = need(&cfg, heap(60, 0), Some(40_000), Some(slots));
        assert!(
            seen > counted + 14_000_000 * PER_EDGE,
            "{seen} vs {counted}"
        );
        assert!(seen <= worst_case(&cfg, heap(60, 0)));
    }

    #[test]
    fn a_count_refines_later_guesses() {
        std::thread::spawn(|| {
            let cfg = Headroom::default();
            let first = need(&cfg, heap(100, 0), None, None);
            record(100_000, 100 * MIB); // a sparse heap: 1 node per KiB
            let refined = need(&cfg, heap(100, 0), None, None);
            assert!(refined < first, "{refined} < {first}");
            assert_eq!(refined, need(&cfg, heap(100, 0), Some(100_000), None));
        })
        .join()
        .unwrap();
    }
}
