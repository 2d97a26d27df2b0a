//! Shortest retainer paths: a breadth-first search over the edges that hold
//! objects alive, keeping for each node one parent edge; a path is then read
//! backwards from any node. As in DevTools, the search starts from the user
//! roots (the root's non-synthetic children: the global objects, or their
//! native contexts on newer V8) and only then from V8's and Node's internal
//! roots, so a leak shows through the variable that holds it rather than
//! through a handle scope that happens to be shorter. Among the shortest
//! paths to a node, the one through the fewest of Node's own functions
//! (timers, process events) wins: it goes through the application's code.

use std::collections::VecDeque;

use super::code;
use super::dominators::{Essential, ROOT};
use super::snapshot::Snapshot;

const NONE: u32 = u32::MAX;
/// The internal roots' search counts its depths from here, so that no node
/// it reaches competes with a node the user roots' search reached.
const SECOND_SEARCH: u32 = 1 << 31;

pub struct Retainers {
    /// The edge through which each node is reached.
    parent_edge: Vec<u32>,
    /// The node that edge starts from.
    parent: Vec<u32>,
}

impl Retainers {
    pub fn new(s: &Snapshot) -> Self {
        let n = s.node_count();
        let essential = Essential::new(s);
        let internal = code::node_internal(s);
        let mut parent = vec![NONE; n];
        let mut parent_edge = vec![NONE; n];
        let mut depth = vec![0u32; n];
        // Node's own functions on the best path so far.
        let mut cost = vec![0u16; n];
        parent[ROOT] = ROOT as u32;
        let mut queue = VecDeque::new();
        for (user_roots, start) in [(true, 1), (false, SECOND_SEARCH)] {
            for e in s.edges(ROOT) {
                let to = s.edge_to[e] as usize;
                if parent[to] == NONE && (s.node_type_name(to) != "synthetic") == user_roots {
                    parent[to] = ROOT as u32;
                    parent_edge[to] = e as u32;
                    depth[to] = start;
                    queue.push_back(to as u32);
                }
            }
            while let Some(node) = queue.pop_front() {
                let node = node as usize;
                for e in s.edges(node) {
                    let to = s.edge_to[e] as usize;
                    if !essential.holds(s, node, e) {
                        continue;
                    }
                    let via = cost[node].saturating_add(internal.get(to) as u16);
                    let first = parent[to] == NONE;
                    // Every node one step deeper is still in the queue, so
                    // its parent may change to a cheaper one of this depth.
                    if first || (depth[to] == depth[node].saturating_add(1) && via < cost[to]) {
                        parent[to] = node as u32;
                        parent_edge[to] = e as u32;
                        cost[to] = via;
                        if first {
                            depth[to] = depth[node].saturating_add(1);
                            queue.push_back(to as u32);
                        }
                    }
                }
            }
        }
        Retainers {
            parent_edge,
            parent,
        }
    }

    /// The node through which the path reaches `node`.
    pub fn parent(&self, node: usize) -> Option<usize> {
        (node != ROOT && self.parent[node] != NONE).then_some(self.parent[node] as usize)
    }

    /// The edges from the root to `node`, first edge first; `None` when
    /// only weak references reach it.
    pub fn edges(&self, node: usize) -> Option<Vec<usize>> {
        let mut edges = Vec::new();
        let mut at = node;
        while at != ROOT {
            let e = self.parent_edge[at];
            if e == NONE {
                return None;
            }
            edges.push(e as usize);
            at = self.parent[at] as usize;
        }
        edges.reverse();
        Some(edges)
    }
}
