//! Shortest retainer paths: a breadth-first search over the edges that hold
//! objects alive, keeping for each node the node it was reached from; a
//! path is then read backwards from any node. As in DevTools, the search
//! starts from the user roots (the root's non-synthetic children: the
//! global objects, or their
//! native contexts on newer V8) and only then from V8's and Node's internal
//! roots, so a leak shows through the variable that holds it rather than
//! through a handle scope that happens to be shorter. Among the shortest
//! paths to a node, the one through the fewest of Node's own functions
//! (timers, process events) wins: it goes through the application's code.

use super::code;
use super::dominators::{Essential, ROOT};
use super::snapshot::{Bits, Snapshot};

const NONE: u32 = u32::MAX;

pub struct Retainers {
    /// The node through which each node is reached (the root's is itself).
    parent: Vec<u32>,
    essential: Essential,
}

impl Retainers {
    pub fn new(s: &Snapshot) -> Self {
        let n = s.node_count();
        let essential = Essential::new(s);
        let internal = code::node_internal(s);
        let mut parent = vec![NONE; n];
        // Node's own functions on the best path so far.
        let mut cost = vec![0u16; n];
        // Found at the depth being filled: while it is, a node's parent may
        // change to a cheaper one of the depth above.
        let mut found = Bits::new(n);
        parent[ROOT] = ROOT as u32;
        // The user roots' search first: a node it reaches is never taken over
        // by the internal roots' search.
        for user_roots in [true, false] {
            let mut depth: Vec<u32> = Vec::new();
            for e in s.edges(ROOT) {
                let to = s.target(e);
                if parent[to] == NONE && (s.node_type_name(to) != "synthetic") == user_roots {
                    parent[to] = ROOT as u32;
                    depth.push(to as u32);
                }
            }
            while !depth.is_empty() {
                let mut below: Vec<u32> = Vec::new();
                for &node in &depth {
                    let node = node as usize;
                    for e in s.edges(node) {
                        let to = s.target(e);
                        if !essential.holds(s, node, e) {
                            continue;
                        }
                        let via = cost[node].saturating_add(internal.get(to) as u16);
                        let first = parent[to] == NONE;
                        if first || (found.get(to) && via < cost[to]) {
                            parent[to] = node as u32;
                            cost[to] = via;
                            if first {
                                found.set(to);
                                below.push(to as u32);
                            }
                        }
                    }
                }
                for &node in &below {
                    found.clear(node as usize);
                }
                depth = below;
            }
        }
        Retainers { parent, essential }
    }

    /// The node through which the path reaches `node`.
    pub fn parent(&self, node: usize) -> Option<usize> {
        (node != ROOT && self.parent[node] != NONE).then_some(self.parent[node] as usize)
    }

    /// The edges from the root to `node`, first edge first; `None` when
    /// only weak references reach it.
    pub fn edges(&self, s: &Snapshot, node: usize) -> Option<Vec<usize>> {
        let mut edges = Vec::new();
        let mut at = node;
        while at != ROOT {
            let from = self.parent(at)?;
            edges.push(self.edge(s, from, at)?);
            at = from;
        }
        edges.reverse();
        Some(edges)
    }

    /// The edge the search took from `from` to `to`: the first that holds
    /// (any of the root's).
    fn edge(&self, s: &Snapshot, from: usize, to: usize) -> Option<usize> {
        s.edges(from)
            .find(|&e| s.target(e) == to && (from == ROOT || self.essential.holds(s, from, e)))
    }
}
