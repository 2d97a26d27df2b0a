//! Grouping objects by constructor, with DevTools' rule for a group's
//! retained size: an object counts only if no object of the same group
//! dominates it (otherwise its size would be counted twice).

use std::collections::HashMap;

use super::dominators::{Dominators, ROOT};
use super::snapshot::Snapshot;

#[derive(Clone, Debug, Default)]
pub struct Group {
    pub name: String,
    pub count: u64,
    pub self_size: u64,
    pub retained_size: u64,
    /// Which group this is (see `key`).
    pub key: u64,
}

/// Node types that make a group: what an app allocates. V8's internal arrays,
/// code, shapes and synthetic nodes are left out, as DevTools' summary does
/// with most of them: they would outrank the objects that hold them.
pub fn is_user_object(s: &Snapshot, node: usize) -> bool {
    matches!(
        s.node_type_name(node),
        "object"
            | "native"
            | "closure"
            | "regexp"
            | "string"
            | "concatenated string"
            | "sliced string"
    )
}

/// The key of a node's group: its name string for objects, its type otherwise.
pub fn key(s: &Snapshot, node: usize) -> u64 {
    match s.node_type_name(node) {
        "object" | "native" => s.node_name[node] as u64,
        "string" | "concatenated string" | "sliced string" => KEY_STRING,
        _ => (1 << 40) + s.node_type[node] as u64,
    }
}
const KEY_STRING: u64 = u64::MAX;

/// Groups the nodes for which `member` holds, largest retained size first.
pub fn group(s: &Snapshot, d: &Dominators, member: impl Fn(usize) -> bool) -> Vec<Group> {
    let n = s.node_count();
    // Dominator-tree children, to walk it from the root.
    let mut first = vec![0u32; n + 1];
    for node in 1..n {
        first[d.idom[node] as usize + 1] += 1;
    }
    for i in 0..n {
        first[i + 1] += first[i];
    }
    let mut fill = first.clone();
    let mut children = vec![0u32; n.saturating_sub(1)];
    for node in 1..n {
        let p = d.idom[node] as usize;
        children[fill[p] as usize] = node as u32;
        fill[p] += 1;
    }
    drop(fill);

    let mut groups: HashMap<u64, Group> = HashMap::new();
    // How many members of each group are on the current dominator-tree path.
    let mut open: HashMap<u64, u32> = HashMap::new();
    // (node, entering?) pairs: an explicit stack, heaps are deep.
    let mut stack = vec![(ROOT as u32, true)];
    while let Some((node, entering)) = stack.pop() {
        let node = node as usize;
        let counted = node != ROOT && member(node) && is_user_object(s, node);
        let k = if counted { key(s, node) } else { 0 };
        if !entering {
            if counted {
                *open.get_mut(&k).expect("entered before") -= 1;
            }
            continue;
        }
        if counted {
            let g = groups.entry(k).or_insert_with(|| Group {
                name: s.class_name(node),
                key: k,
                ..Group::default()
            });
            g.count += 1;
            g.self_size += s.self_size[node];
            let depth = open.entry(k).or_insert(0);
            if *depth == 0 {
                g.retained_size += d.retained[node];
            }
            *depth += 1;
        }
        stack.push((node as u32, false));
        for &c in &children[first[node] as usize..first[node + 1] as usize] {
            stack.push((c, true));
        }
    }
    let mut groups: Vec<Group> = groups.into_values().collect();
    groups.sort_by(|a, b| {
        b.retained_size
            .cmp(&a.retained_size)
            .then(a.name.cmp(&b.name))
    });
    groups
}
