//! Self sizes as Chrome DevTools shows them (`calculateShallowSizes` in
//! DevTools' `HeapSnapshot.ts`): V8's internal arrays and hidden nodes that
//! one object alone holds (a Map's hash table, an object's property and
//! element stores, an external string's data) count as that object's own
//! memory, and their nodes get self size 0.

use super::dominators::ROOT;
use super::snapshot::Snapshot;

const UNVISITED: u32 = u32::MAX;
const SHARED: u32 = u32::MAX - 1;

/// Moves each ownable node's self size to its single owner: the one node
/// that is not ownable from which it is reached over non-weak edges through
/// ownable nodes only. Nothing moves to the root or a synthetic node, nor
/// in a snapshot without user roots (taken with V8's internals exposed).
pub fn transfer(s: &mut Snapshot) {
    let n = s.node_count();
    if n >= SHARED as usize || !has_user_roots(s) {
        return;
    }
    let weak = s.edge_type_index("weak");
    let ownable: Vec<bool> = s
        .node_types
        .iter()
        .map(|t| matches!(t.as_str(), "hidden" | "array"))
        .collect();
    let native = s.node_types.iter().position(|t| t == "native");
    let is_ownable = |node: usize| {
        ownable[s.node_type[node] as usize]
            || (Some(s.node_type[node] as usize) == native
                && !s.is_detached(node) // DevTools has renamed it by now
                && s.string(s.node_name[node]) == "system / ExternalStringData")
    };
    let mut owner: Vec<u32> = Vec::with_capacity(n);
    let mut work: Vec<u32> = Vec::new();
    for node in 0..n {
        if is_ownable(node) {
            owner.push(UNVISITED);
        } else {
            owner.push(node as u32);
            work.push(node as u32);
        }
    }
    // Each node enters the list at most twice: when it gets an owner, and
    // when it turns out to have several.
    while let Some(node) = work.pop() {
        let by = owner[node as usize];
        for e in s.edges(node as usize) {
            if Some(s.edge_type(e)) == weak {
                continue;
            }
            let to = s.target(e) as u32;
            match owner[to as usize] {
                UNVISITED => {
                    owner[to as usize] = by;
                    work.push(to);
                }
                o if o == to || o == by || o == SHARED => {}
                _ => {
                    owner[to as usize] = SHARED;
                    work.push(to);
                }
            }
        }
    }
    drop(work);
    let synthetic = s.node_types.iter().position(|t| t == "synthetic");
    for (node, &o) in owner.iter().enumerate() {
        let o = o as usize;
        let moves = o != node && o < SHARED as usize && o != ROOT;
        if moves && Some(s.node_type[o] as usize) != synthetic {
            let size = s.self_size.take(node);
            s.self_size.add(o, size);
        }
    }
}

/// The root holds something else than synthetic nodes (or DevTools' DOM trees root).
fn has_user_roots(s: &Snapshot) -> bool {
    s.edges(ROOT).any(|e| {
        let to = s.target(e);
        s.node_type_name(to) != "synthetic" || s.is_dom_trees_root(to)
    })
}

#[cfg(test)]
mod tests {
    use super::super::dominators::tests::snapshot;
    use super::*;

    #[test]
    fn internal_arrays_move_to_their_single_owner() {
        // A Map with its table (an array holding a hidden node); an array
        // two objects share; an array the root holds directly.
        let mut s = snapshot(&[
            (
                "synthetic",
                "",
                0,
                &[("shortcut", "1", 1), ("element", "2", 6)],
            ),
            (
                "object",
                "global",
                10,
                &[
                    ("property", "m", 2),
                    ("property", "a", 4),
                    ("property", "b", 5),
                ],
            ),
            ("object", "Map", 20, &[("internal", "table", 3)]),
            ("array", "", 300, &[("hidden", "0", 7)]),
            ("object", "A", 40, &[("internal", "elements", 8)]),
            ("object", "B", 50, &[("internal", "elements", 8)]),
            ("array", "", 600, &[]),
            ("hidden", "", 7, &[]),
            ("array", "", 9, &[]),
        ]);
        let total = s.self_size.total();
        transfer(&mut s);
        assert_eq!(s.self_size.to_vec(), [0, 10, 327, 0, 40, 50, 600, 0, 9]);
        assert_eq!(s.self_size.total(), total);
    }
}
