//! Grouping objects by class, as DevTools' Summary view does: every node
//! with a self size counts, and a group's retained size counts an object
//! only if no object of the same class dominates it (otherwise its size
//! would be counted twice).

use super::classes::Classes;
use super::dominators::ROOT;
use super::sizes::Sizes;
use super::snapshot::Snapshot;

#[derive(Clone, Debug, Default)]
pub struct Group {
    pub name: String,
    pub count: u64,
    pub self_size: u64,
    pub retained_size: u64,
    /// Which class this is (see `Classes`).
    pub class: u32,
}

/// Node types an application allocates, which `diff` lists: V8's own code,
/// shapes, internal arrays, hidden and synthetic nodes, heap numbers and
/// Node's own native objects would outrank the objects that leak (JIT code
/// compiled between two snapshots is "new" too, and so is the HTTP parser's
/// 64 KiB buffer after a first request).
pub fn is_user_object(s: &Snapshot, node: usize) -> bool {
    matches!(
        s.node_type_name(node),
        "object" | "closure" | "regexp" | "string" | "concatenated string" | "sliced string"
    )
}

/// Groups the nodes for which `member` holds, largest retained size first
/// (then largest self size, then by name). Takes the immediate dominators:
/// they become the tree's child lists.
pub fn group(
    s: &Snapshot,
    idom: Vec<u32>,
    retained: &Sizes,
    c: &Classes,
    member: impl Fn(usize) -> bool,
) -> Vec<Group> {
    let n = s.node_count();
    // Dominator-tree children, to walk it from the root. Counted at each
    // list's own index and summed into its end, then filled from the end
    // down: `first` is its own cursor and ends at each list's start.
    let mut first = vec![0u32; n + 1];
    for node in 1..n {
        first[idom[node] as usize] += 1;
    }
    for i in 0..n {
        first[i + 1] += first[i];
    }
    let mut children = vec![0u32; n.saturating_sub(1)];
    for node in (1..n).rev() {
        let p = idom[node] as usize;
        first[p] -= 1;
        children[first[p] as usize] = node as u32;
    }
    drop(idom);

    let mut groups: Vec<Option<Group>> = vec![None; c.names.len()];
    // How many members of each class are on the current dominator-tree path.
    let mut open = vec![0u32; c.names.len()];
    // (node, entering?) pairs: an explicit stack, heaps are deep.
    let mut stack = vec![(ROOT as u32, true)];
    while let Some((node, entering)) = stack.pop() {
        let node = node as usize;
        let counted = s.self_size.get(node) > 0 && member(node);
        let k = c.of[node];
        if !entering {
            if counted {
                open[k as usize] -= 1;
            }
            continue;
        }
        if counted {
            let g = groups[k as usize].get_or_insert_with(|| Group {
                name: c.names[k as usize].clone(),
                class: k,
                ..Group::default()
            });
            g.count += 1;
            g.self_size += s.self_size.get(node);
            if open[k as usize] == 0 {
                g.retained_size += retained.get(node);
            }
            open[k as usize] += 1;
        }
        stack.push((node as u32, false));
        for &c in &children[first[node] as usize..first[node + 1] as usize] {
            stack.push((c, true));
        }
    }
    let mut groups: Vec<Group> = groups.into_iter().flatten().collect();
    groups.sort_by(|a, b| {
        b.retained_size
            .cmp(&a.retained_size)
            .then(b.self_size.cmp(&a.self_size))
            .then(a.name.cmp(&b.name))
            .then(a.class.cmp(&b.class))
    });
    groups
}
