//! Shortest retainer paths: a breadth-first search over the edges that hold
//! objects alive, keeping each node's first parent edge; a path is then read
//! backwards from any node. As in DevTools, the search starts from the user
//! roots (the root's non-synthetic children: the global objects, or their
//! native contexts on newer V8) and only then from V8's and Node's internal
//! roots, so a leak shows through the variable that holds it rather than
//! through a handle scope that happens to be shorter.

use std::collections::VecDeque;

use super::classes::Classes;
use super::dominators::{Essential, ROOT};
use super::snapshot::Snapshot;

const NONE: u32 = u32::MAX;

pub struct Retainers {
    /// The edge through which BFS first reached each node.
    parent_edge: Vec<u32>,
    /// The node that edge starts from.
    parent: Vec<u32>,
}

impl Retainers {
    pub fn new(s: &Snapshot) -> Self {
        let n = s.node_count();
        let essential = Essential::new(s);
        let mut parent = vec![NONE; n];
        let mut parent_edge = vec![NONE; n];
        parent[ROOT] = ROOT as u32;
        let mut queue = VecDeque::new();
        for user_roots in [true, false] {
            for e in s.edges(ROOT) {
                let to = s.edge_to[e] as usize;
                if parent[to] == NONE && (s.node_type_name(to) != "synthetic") == user_roots {
                    parent[to] = ROOT as u32;
                    parent_edge[to] = e as u32;
                    queue.push_back(to as u32);
                }
            }
            while let Some(node) = queue.pop_front() {
                let node = node as usize;
                for e in s.edges(node) {
                    let to = s.edge_to[e] as usize;
                    if parent[to] == NONE && essential.holds(s, node, e) {
                        parent[to] = node as u32;
                        parent_edge[to] = e as u32;
                        queue.push_back(to as u32);
                    }
                }
            }
        }
        Retainers {
            parent_edge,
            parent,
        }
    }

    /// The node through which the shortest path reaches `node`.
    pub fn parent(&self, node: usize) -> Option<usize> {
        (node != ROOT && self.parent[node] != NONE).then_some(self.parent[node] as usize)
    }

    /// The path from the root to `node` as readable steps, e.g. `global`,
    /// `requestLogs (Array)`, `[2681] (RequestLog)` (each node by its class,
    /// as the summary names it); internal roots by name
    /// (`(GC roots)`, `(Global handles)`). `None` when only weak references
    /// reach it.
    pub fn path(&self, s: &Snapshot, c: &Classes, node: usize) -> Option<Vec<String>> {
        let mut hops = Vec::new();
        let mut at = node;
        while at != ROOT {
            let e = self.parent_edge[at];
            if e == NONE {
                return None;
            }
            hops.push(e as usize);
            at = self.parent[at] as usize;
        }
        hops.reverse();
        Some(
            hops.iter()
                .enumerate()
                .map(|(i, &e)| {
                    let to = s.edge_to[e] as usize;
                    let class = c.names[c.of[to] as usize].as_str();
                    // The root's edges and synthetic nodes: by the node's own name.
                    if i == 0 || s.node_type_name(to) == "synthetic" {
                        return display_name(s, to, class);
                    }
                    match class.starts_with('(') {
                        true => format!("{} {class}", edge_label(s, e)),
                        false => format!("{} ({class})", edge_label(s, e)),
                    }
                })
                .collect(),
        )
    }
}

fn display_name(s: &Snapshot, node: usize, class: &str) -> String {
    let name = s.string(s.node_name[node]);
    match name.is_empty() {
        true => class.to_string(),
        false => name.to_string(),
    }
}

fn edge_label(s: &Snapshot, e: usize) -> String {
    match s.edge_type_name(e) {
        "element" | "hidden" => format!("[{}]", s.edge_name[e]),
        _ => s.string(s.edge_name[e]).to_string(),
    }
}
