//! The dominator tree and retained sizes, the way Chrome DevTools computes
//! them: a depth-first post-order from the synthetic root over "essential"
//! edges (not weak; shortcut edges only from the root), then the iterative
//! algorithm of Cooper, Harvey and Kennedy over that order. Nodes the root
//! cannot reach that way (held only weakly) hang off the root.

use super::snapshot::Snapshot;

pub const ROOT: usize = 0;
const NONE: u32 = u32::MAX;

pub struct Dominators {
    /// Immediate dominator of each node (the root's is itself).
    pub idom: Vec<u32>,
    /// Self size plus everything the node dominates.
    pub retained: Vec<u64>,
}

/// Which edges hold an object alive for the dominator tree and retainer paths.
pub struct Essential {
    weak: Option<u8>,
    shortcut: Option<u8>,
}

impl Essential {
    pub fn new(s: &Snapshot) -> Self {
        let find = |name: &str| s.edge_types.iter().position(|t| t == name).map(|i| i as u8);
        Essential {
            weak: find("weak"),
            shortcut: find("shortcut"),
        }
    }

    pub fn holds(&self, s: &Snapshot, from: usize, edge: usize) -> bool {
        let t = Some(s.edge_type[edge]);
        t != self.weak && (t != self.shortcut || from == ROOT)
    }
}

pub fn compute(s: &Snapshot) -> Dominators {
    let n = s.node_count();
    let essential = Essential::new(s);
    // Post-order from the root, iteratively.
    let mut order = vec![NONE; n]; // node -> post-order index
    let mut by_order: Vec<u32> = Vec::with_capacity(n); // post-order index -> node
    let mut stack: Vec<(u32, u32)> = vec![(ROOT as u32, s.first_edge[ROOT])];
    let mut visited = vec![false; n];
    visited[ROOT] = true;
    while let Some(top) = stack.last_mut() {
        let (node, next) = (top.0 as usize, top.1 as usize);
        if next < s.first_edge[node + 1] as usize {
            top.1 += 1;
            let to = s.edge_to[next] as usize;
            if !visited[to] && essential.holds(s, node, next) {
                visited[to] = true;
                stack.push((to as u32, s.first_edge[to]));
            }
        } else {
            order[node] = by_order.len() as u32;
            by_order.push(node as u32);
            stack.pop();
        }
    }
    drop(visited);
    let reached = by_order.len();

    // Predecessors in post-order space, over essential edges between reached nodes.
    let mut pred_start = vec![0u32; reached + 1];
    for from in 0..n {
        if order[from] == NONE {
            continue;
        }
        for e in s.edges(from) {
            let to = order[s.edge_to[e] as usize];
            if to != NONE && essential.holds(s, from, e) {
                pred_start[to as usize + 1] += 1;
            }
        }
    }
    for i in 0..reached {
        pred_start[i + 1] += pred_start[i];
    }
    let mut fill = pred_start.clone();
    let mut preds = vec![0u32; pred_start[reached] as usize];
    for from in 0..n {
        let from_order = order[from];
        if from_order == NONE {
            continue;
        }
        for e in s.edges(from) {
            let to = order[s.edge_to[e] as usize];
            if to != NONE && essential.holds(s, from, e) {
                preds[fill[to as usize] as usize] = from_order;
                fill[to as usize] += 1;
            }
        }
    }
    drop(fill);

    // Cooper-Harvey-Kennedy: the root has the highest post-order index.
    let root = (reached - 1) as u32;
    let mut doms = vec![NONE; reached];
    doms[root as usize] = root;
    let mut changed = true;
    while changed {
        changed = false;
        for b in (0..root as usize).rev() {
            let mut new_idom = NONE;
            for &p in &preds[pred_start[b] as usize..pred_start[b + 1] as usize] {
                if doms[p as usize] == NONE {
                    continue;
                }
                new_idom = match new_idom {
                    NONE => p,
                    cur => intersect(&doms, p, cur),
                };
            }
            if new_idom != NONE && doms[b] != new_idom {
                doms[b] = new_idom;
                changed = true;
            }
        }
    }
    drop(preds);
    drop(pred_start);

    let mut idom = vec![ROOT as u32; n];
    for (o, &node) in by_order.iter().enumerate() {
        let d = doms[o];
        idom[node as usize] = if d == NONE {
            ROOT as u32
        } else {
            by_order[d as usize]
        };
    }
    // Retained sizes: children come before their dominator in post-order;
    // unreached nodes only retain themselves and count towards the root.
    let mut retained: Vec<u64> = s.self_size.clone();
    for &node in &by_order[..reached - 1] {
        let d = idom[node as usize] as usize;
        retained[d] += retained[node as usize];
    }
    for node in 0..n {
        if order[node] == NONE {
            retained[ROOT] += retained[node];
        }
    }
    Dominators { idom, retained }
}

fn intersect(doms: &[u32], mut a: u32, mut b: u32) -> u32 {
    while a != b {
        while a < b {
            a = doms[a as usize];
        }
        while b < a {
            b = doms[b as usize];
        }
    }
    a
}

#[cfg(test)]
mod tests {
    use super::super::snapshot::{parse, Parsed, Want};
    use super::*;

    /// A node: (type, name, self_size, edges as (type, name, to)).
    pub type Node<'a> = (&'a str, &'a str, u64, &'a [(&'a str, u32, usize)]);

    pub fn snapshot(nodes: &[Node]) -> Snapshot {
        let node_types = ["hidden", "array", "string", "object", "synthetic"];
        let edge_types = [
            "context", "element", "property", "internal", "hidden", "shortcut", "weak",
        ];
        let mut strings: Vec<String> = vec![String::new()];
        let mut intern = |s: &str| -> usize {
            strings.iter().position(|x| x == s).unwrap_or_else(|| {
                strings.push(s.to_string());
                strings.len() - 1
            })
        };
        let (mut nv, mut ev) = (Vec::new(), Vec::new());
        for (i, (t, name, size, edges)) in nodes.iter().enumerate() {
            let t = node_types.iter().position(|x| x == t).unwrap();
            nv.extend([t, intern(name), i * 2 + 1, *size as usize, edges.len()]);
            for (et, en, to) in edges.iter() {
                ev.extend([
                    edge_types.iter().position(|x| x == et).unwrap(),
                    *en as usize,
                    to * 5,
                ]);
            }
        }
        let json = format!(
            r#"{{"snapshot":{{"meta":{{"node_fields":["type","name","id","self_size","edge_count"],"node_types":[{nt:?}],"edge_fields":["type","name_or_index","to_node"],"edge_types":[{et:?}]}},"node_count":{n},"edge_count":{e}}},"nodes":{nv:?},"edges":{ev:?},"strings":{strings:?}}}"#,
            nt = node_types,
            et = edge_types,
            n = nodes.len(),
            e = ev.len() / 3,
        );
        match parse(json.as_bytes(), Want::Graph, Some(json.len() as u64)).unwrap() {
            Parsed::Graph(s) => *s,
            Parsed::Ids(_) => unreachable!(),
        }
    }

    #[test]
    fn a_diamond_is_dominated_by_its_top_and_weak_edges_do_not_retain() {
        // root -> a -> {b, c} -> d; root -weak-> e; a -weak-> e
        let s = snapshot(&[
            ("synthetic", "", 0, &[("element", 1, 1), ("weak", 2, 5)]),
            (
                "object",
                "A",
                10,
                &[("property", 0, 2), ("property", 0, 3), ("weak", 0, 5)],
            ),
            ("object", "B", 20, &[("property", 0, 4)]),
            ("object", "C", 30, &[("property", 0, 4)]),
            ("object", "D", 40, &[]),
            ("object", "E", 50, &[]),
        ]);
        let d = compute(&s);
        assert_eq!(d.idom, [0, 0, 1, 1, 1, 0]);
        assert_eq!(d.retained[1], 100);
        assert_eq!(d.retained[2], 20);
        assert_eq!(
            d.retained[0], 150,
            "the weakly held E counts only towards the root"
        );
    }
}
