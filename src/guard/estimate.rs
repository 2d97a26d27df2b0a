//! How much extra memory a snapshot will need. Measured (BENCHMARKS.md,
//! "Headroom"): V8's snapshot graph costs per object, not per byte. Outside
//! large-object space, small objects needed 9.2x their bytes and closures
//! 19.4x; big strings and arrays in large-object space needed next to nothing
//! (V8 keeps at most 1024 characters of a string); every snapshot costs about
//! 30 MiB on top. The default model charges each part its worst measured
//! factor, rounded up: conservative, for the first snapshot. Once this isolate
//! has taken one, what it really used per byte of heapUsed replaces the model,
//! with a margin for the heap's shape drifting. The in-capture watch catches
//! what an estimate still gets wrong.

use std::cell::Cell;

use super::{Headroom, HeapStats};

/// Extra bytes per byte of heapUsed outside large-object space (closures: 19.4).
const SMALL_FACTOR: f64 = 20.0;
/// Extra bytes per byte of heapUsed in large-object space (measured: ~0).
const LARGE_FACTOR: f64 = 0.5;
/// Fixed costs: the chunk queue, writer buffers, V8's bookkeeping (measured: ~30 MiB).
const BASE: u64 = 32 << 20;
/// Margin on a ratio observed in this isolate.
const OBSERVED_MARGIN: f64 = 1.25;

thread_local! {
    // Per isolate: extra peak RSS ÷ heapUsed of this isolate's last snapshot.
    static OBSERVED: Cell<Option<f64>> = const { Cell::new(None) };
}

pub fn need(config: &Headroom, heap: HeapStats) -> u64 {
    let used = heap.used as f64;
    let extra = match (config.factor, OBSERVED.get()) {
        (Some(factor), _) => factor * used,
        (None, Some(ratio)) => ratio * OBSERVED_MARGIN * used,
        (None, None) => {
            let large = heap.large.min(heap.used) as f64;
            SMALL_FACTOR * (used - large) + LARGE_FACTOR * large
        }
    };
    extra as u64 + BASE + config.reserve
}

/// Records what a completed snapshot really needed.
pub fn record(extra_peak: u64, heap_used: u64) {
    if heap_used > 0 {
        OBSERVED.set(Some(extra_peak as f64 / heap_used as f64));
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
    fn small_objects_cost_far_more_than_large_ones() {
        let cfg = Headroom::default();
        let small = need(&cfg, heap(100, 0));
        let large = need(&cfg, heap(100, 100));
        assert!(small > 10 * large / 2, "{small} vs {large}");
        assert_eq!(large, 50 * MIB + BASE + cfg.reserve);
    }

    #[test]
    fn configured_factor_and_reserve_win() {
        let cfg = Headroom {
            factor: Some(2.0),
            reserve: 10 * MIB,
            ..Headroom::default()
        };
        assert_eq!(need(&cfg, heap(100, 0)), 200 * MIB + BASE + 10 * MIB);
    }

    #[test]
    fn an_observed_snapshot_refines_the_estimate() {
        let cfg = Headroom::default();
        std::thread::spawn(move || {
            let model = need(&cfg, heap(100, 0));
            record(300 * MIB, 100 * MIB); // this heap needed 3x
            let refined = need(&cfg, heap(200, 0));
            assert!(refined < model, "{refined} < {model}");
            assert_eq!(
                refined,
                (3.0 * OBSERVED_MARGIN * 200.0) as u64 * MIB + BASE + cfg.reserve
            );
        })
        .join()
        .unwrap();
    }
}
