//! The dominator tree and retained sizes, as Chrome DevTools computes them
//! (`markPageOwnedNodes`, `computeIsEssentialEdge` and
//! `calculateDominatorsAndRetainedSizes` in DevTools' `HeapSnapshot.ts`):
//! from the synthetic root over the "essential" edges, with nodes the root
//! cannot reach that way attached to the root (see `compute`).
//!
//! An edge is essential unless it is weak, a self edge, a shortcut from
//! another node than the root, a WeakMap table's edge to a value (the key's
//! edge is kept), or it leads from a node outside the page into the page:
//! the page is what the user roots (the root's shortcut edges: the global
//! objects, or their native contexts on newer V8) reach over non-weak
//! edges. So V8's and Node's own roots (stack roots, handles, caches) never
//! share in dominating what the application's globals hold.

use super::sizes::Sizes;
use super::snapshot::{Bits, Snapshot};

pub const ROOT: usize = 0;

pub struct Dominators {
    /// Immediate dominator of each node (the root's is itself).
    pub idom: Vec<u32>,
    /// Self size plus everything the node dominates.
    pub retained: Sizes,
}

/// Which edges hold an object alive for retainer paths: not weak, and
/// shortcuts only from the root.
pub struct Essential {
    weak: Option<u8>,
    shortcut: Option<u8>,
}

impl Essential {
    pub fn new(s: &Snapshot) -> Self {
        Essential {
            weak: s.edge_type_index("weak"),
            shortcut: s.edge_type_index("shortcut"),
        }
    }

    pub fn holds(&self, s: &Snapshot, from: usize, edge: usize) -> bool {
        let t = Some(s.edge_type(edge));
        t != self.weak && (t != self.shortcut || from == ROOT)
    }
}

/// The nodes of the page: what the user roots reach over non-weak edges.
fn page_owned(s: &Snapshot) -> Bits {
    let weak = s.edge_type_index("weak");
    let shortcut = s.edge_type_index("shortcut");
    let element = s.edge_type_index("element");
    let mut page = Bits::new(s.node_count());
    let mut stack: Vec<u32> = Vec::new();
    for e in s.edges(ROOT) {
        let t = Some(s.edge_type(e));
        let to = s.target(e);
        let entry = t == shortcut || (t == element && s.is_dom_trees_root(to));
        if entry && !page.get(to) {
            page.set(to);
            stack.push(to as u32);
        }
    }
    while let Some(node) = stack.pop() {
        for e in s.edges(node as usize) {
            let to = s.target(e);
            if !page.get(to) && Some(s.edge_type(e)) != weak {
                page.set(to);
                stack.push(to as u32);
            }
        }
    }
    page
}

/// The edges the dominator tree is built over (see the module's comment),
/// and the nodes they lead to.
fn essential_edges(s: &Snapshot) -> (Bits, Bits) {
    let page = page_owned(s);
    let basic = Essential::new(s);
    let internal = s.edge_type_index("internal");
    let mut essential = Bits::new(s.edge_count());
    let mut held = Bits::new(s.node_count());
    for from in 0..s.node_count() {
        for e in s.edges(from) {
            let to = s.target(e);
            // V8 names these edges starting with a digit: only those are decoded.
            let table_to_value = || {
                Some(s.edge_type(e)) == internal
                    && s.name_starts_with_digit(s.edge_name[e])
                    && weak_map_table(s.string(s.edge_name[e])) == Some(s.node_id[from] as u64)
            };
            let into_page = from != ROOT && page.get(to) && !page.get(from);
            if basic.holds(s, from, e) && from != to && !into_page && !table_to_value() {
                essential.set(e);
                held.set(to);
            }
        }
    }
    (essential, held)
}

/// The table's id in the name V8 gives the edges of a WeakMap's entry,
/// `<n> / part of key (<k> @<id>) -> value (<v> @<id>) pair in WeakMap (table @<id>)`.
fn weak_map_table(name: &str) -> Option<u64> {
    const HEAD: &str = " / part of key (";
    const MIDDLE: &str = ") -> value (";
    const TAIL: &str = ") pair in WeakMap (table @";
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    // ` @<digits>` ends `s`.
    let ends_with_id = |s: &str| s.rfind(" @").is_some_and(|at| digits(&s[at + 2..]));
    if !name.starts_with(|c: char| c.is_ascii_digit())
        || name.contains(['\n', '\r', '\u{2028}', '\u{2029}'])
    {
        return None;
    }
    let rest = name.strip_suffix(')')?;
    let tail = rest.rfind(TAIL)?;
    let table = &rest[tail + TAIL.len()..];
    let head = name.find(HEAD)?;
    if !digits(&name[..head]) || !digits(table) {
        return None;
    }
    let pair = &rest[(head + HEAD.len()).min(tail)..tail];
    let matched = pair
        .match_indices(MIDDLE)
        .any(|(at, _)| ends_with_id(&pair[..at]) && ends_with_id(&pair[at + MIDDLE.len()..]));
    if !matched {
        return None;
    }
    table.parse().ok()
}

const NONE: u32 = u32::MAX;

/// DevTools runs Lengauer-Tarjan from the root, then from each node no
/// essential edge reaches (only weak ones) as if the root held it, then
/// numbers what is left (cycles held only weakly) as the root's children.
/// The same dominators come from the iterative algorithm of Cooper, Harvey
/// and Kennedy over that graph: the root's edges, plus one from the root to
/// each of those nodes; what is left hangs off the root and dominates
/// nothing (in DevTools' numbering its edges can never lower another
/// node's semidominator).
pub fn compute(s: &Snapshot) -> Dominators {
    let n = s.node_count();
    let (essential, held) = essential_edges(s);
    let orphans: Vec<u32> = (0..n as u32)
        .filter(|&v| v as usize != ROOT && !held.get(v as usize))
        .collect();
    drop(held);

    let mut order = vec![NONE; n]; // node -> post-order index
    let reached = post_order(s, &essential, &orphans, |node, o| order[node] = o);
    let root = (reached - 1) as u32; // the root's post-order index: the highest

    // Predecessors in post-order space: essential edges between reached
    // nodes, and the root's for each orphan.
    let preds_of = |from: usize, add: &mut dyn FnMut(u32, u32)| {
        let from_order = order[from];
        if from_order == NONE {
            return;
        }
        for e in s.edges(from).filter(|&e| essential.get(e)) {
            let to = order[s.target(e)];
            if to != NONE {
                add(to, from_order);
            }
        }
        if from == ROOT {
            for &o in &orphans {
                add(order[o as usize], root);
            }
        }
    };
    // A node reached from one node only has it as its dominator from the
    // start: `doms` keeps the first predecessor seen, and only the others
    // (`several`, numbered by `Rank`) get a list. Counted at each list's
    // own index and summed into its end, then filled from the end down:
    // `pred_start` is its own cursor and ends at each list's start.
    let mut doms = vec![NONE; reached];
    let mut several = Bits::new(reached);
    for from in 0..n {
        preds_of(from, &mut |to, from_order| match doms[to as usize] {
            NONE => doms[to as usize] = from_order,
            first if first != from_order => several.set(to as usize),
            _ => {}
        });
    }
    let rank = Rank::new(&several, reached);
    let mut pred_start = vec![0u32; rank.count + 1];
    for from in 0..n {
        preds_of(from, &mut |to, _| {
            if several.get(to as usize) {
                pred_start[rank.of(&several, to as usize)] += 1;
            }
        });
    }
    for i in 1..pred_start.len() {
        pred_start[i] += pred_start[i - 1];
    }
    let mut preds = vec![0u32; pred_start[rank.count] as usize];
    for from in 0..n {
        preds_of(from, &mut |to, from_order| {
            if several.get(to as usize) {
                let list = rank.of(&several, to as usize);
                pred_start[list] -= 1;
                preds[pred_start[list] as usize] = from_order;
            }
        });
    }
    // Walked again once the dominators are known: the lists are the peak.
    drop(order);
    for (b, dom) in doms.iter_mut().enumerate() {
        if several.get(b) {
            *dom = NONE;
        }
    }

    // Cooper-Harvey-Kennedy, over the nodes with lists. In post-order
    // space a higher index is nearer the root; on the first pass, a
    // predecessor below the node has not been reached yet.
    doms[root as usize] = root;
    let mut first = true;
    let mut changed = true;
    while changed {
        changed = false;
        for b in (0..root as usize).rev().filter(|&b| several.get(b)) {
            let list = rank.of(&several, b);
            let mut new_idom = NONE;
            for &p in &preds[pred_start[list] as usize..pred_start[list + 1] as usize] {
                if first && (p as usize) < b {
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
        first = false;
    }
    drop(preds);
    drop(pred_start);

    // Back from post-order space.
    let mut by_order = vec![0u32; reached]; // post-order index -> node
    post_order(s, &essential, &orphans, |node, o| {
        by_order[o as usize] = node as u32
    });
    drop(essential);
    let mut idom = vec![ROOT as u32; n];
    let mut numbered = Bits::new(n);
    for (o, &node) in by_order.iter().enumerate() {
        numbered.set(node as usize);
        let d = doms[o];
        idom[node as usize] = if d == NONE {
            ROOT as u32
        } else {
            by_order[d as usize]
        };
    }
    drop(doms);
    // Retained sizes: children come before their dominator in post-order;
    // nodes left unreached only retain themselves, towards the root.
    let mut retained = s.self_size.clone();
    for &node in &by_order[..reached - 1] {
        let d = idom[node as usize] as usize;
        retained.add(d, retained.get(node as usize));
    }
    for node in 0..n {
        if !numbered.get(node) {
            retained.add(ROOT, retained.get(node));
        }
    }
    Dominators { idom, retained }
}

/// Numbers the nodes in post-order from the root over the essential
/// edges, iteratively; the root's frame goes on to the orphans once its own
/// edges are done. Gives each node reached its index; returns how many.
fn post_order(
    s: &Snapshot,
    essential: &Bits,
    orphans: &[u32],
    mut number: impl FnMut(usize, u32),
) -> usize {
    let mut reached = 0;
    let mut stack: Vec<(u32, u32)> = vec![(ROOT as u32, s.first_edge[ROOT])];
    let mut next_orphan = 0;
    let mut visited = Bits::new(s.node_count());
    visited.set(ROOT);
    while let Some(top) = stack.last_mut() {
        let (node, next) = (top.0 as usize, top.1 as usize);
        let to = if next < s.first_edge[node + 1] as usize {
            top.1 += 1;
            essential.get(next).then_some(s.target(next))
        } else if node == ROOT && next_orphan < orphans.len() {
            next_orphan += 1;
            Some(orphans[next_orphan - 1] as usize)
        } else {
            number(node, reached as u32);
            reached += 1;
            stack.pop();
            continue;
        };
        if let Some(to) = to.filter(|&to| !visited.get(to)) {
            visited.set(to);
            stack.push((to as u32, s.first_edge[to]));
        }
    }
    reached
}

/// The index of a set bit among the set bits: a count per 64 bits.
struct Rank {
    before: Vec<u32>,
    count: usize,
}

impl Rank {
    fn new(bits: &Bits, len: usize) -> Self {
        let mut before = Vec::with_capacity(len.div_ceil(64));
        let mut count = 0;
        for word in 0..len.div_ceil(64) {
            before.push(count as u32);
            count += bits.word(word).count_ones() as usize;
        }
        Rank { before, count }
    }

    #[inline]
    fn of(&self, bits: &Bits, i: usize) -> usize {
        let below = bits.word(i >> 6) & ((1u64 << (i & 63)) - 1);
        self.before[i >> 6] as usize + below.count_ones() as usize
    }
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
pub mod tests {
    use super::super::snapshot::{parse, Parsed, Want};
    use super::*;

    /// A node: (type, name, self_size, edges as (type, name or index, to)).
    pub type Node<'a> = (&'a str, &'a str, u64, &'a [(&'a str, &'a str, usize)]);

    /// A snapshot of these nodes, the first the root.
    pub fn snapshot(nodes: &[Node]) -> Snapshot {
        let node_types = [
            "hidden",
            "array",
            "string",
            "object",
            "code",
            "closure",
            "regexp",
            "number",
            "native",
            "synthetic",
            "concatenated string",
            "sliced string",
        ];
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
                let name = match *et {
                    "element" | "hidden" => en.parse().unwrap(),
                    _ => intern(en),
                };
                ev.extend([
                    edge_types.iter().position(|x| x == et).unwrap(),
                    name,
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
            ("synthetic", "", 0, &[("element", "1", 1), ("weak", "w", 5)]),
            (
                "object",
                "A",
                10,
                &[("property", "b", 2), ("property", "c", 3), ("weak", "e", 5)],
            ),
            ("object", "B", 20, &[("property", "d", 4)]),
            ("object", "C", 30, &[("property", "d", 4)]),
            ("object", "D", 40, &[]),
            ("object", "E", 50, &[]),
        ]);
        let d = compute(&s);
        assert_eq!(d.idom, [0, 0, 1, 1, 1, 0]);
        assert_eq!(d.retained.get(1), 100);
        assert_eq!(d.retained.get(2), 20);
        assert_eq!(
            d.retained.get(0),
            150,
            "the weakly held E counts only towards the root"
        );
    }

    #[test]
    fn internal_roots_do_not_share_what_the_page_holds() {
        // root =shortcut=> global -> map -> entry; root -> (Stack roots) -> entry:
        // the stack's edge into the page does not count, the global holds it.
        // A pair held only weakly (F <-> G): each hangs off the root.
        let s = snapshot(&[
            (
                "synthetic",
                "",
                0,
                &[
                    ("shortcut", "1", 1),
                    ("element", "2", 4),
                    ("weak", "f", 5),
                    ("weak", "h", 7),
                ],
            ),
            ("object", "global", 8, &[("property", "cache", 2)]),
            ("object", "Map", 16, &[("internal", "table", 3)]),
            ("object", "Entry", 32, &[]),
            ("synthetic", "(Stack roots)", 0, &[("element", "0", 3)]),
            ("object", "F", 4, &[("property", "g", 6)]),
            ("object", "G", 2, &[("property", "f", 5)]),
            // Held only weakly (by the root), holding I: I is under H.
            ("object", "H", 1, &[("property", "i", 8)]),
            ("object", "I", 16, &[]),
        ]);
        let d = compute(&s);
        assert_eq!(d.idom[3], 2, "the map, not the root, dominates the entry");
        assert_eq!(d.retained.get(1), 56);
        assert_eq!(
            (d.idom[5], d.idom[6]),
            (0, 0),
            "a cycle held only weakly: each off the root"
        );
        assert_eq!((d.idom[7], d.idom[8]), (0, 7));
        assert_eq!(d.retained.get(7), 17);
        assert_eq!(d.retained.get(0), 79);
    }

    #[test]
    fn weak_map_table_edges_are_recognised() {
        assert_eq!(
            weak_map_table(
                "3 / part of key (Object @41) -> value (Array @43) pair in WeakMap (table @39)"
            ),
            Some(39)
        );
        assert_eq!(
            weak_map_table(
                "3 / part of key (a) -> value (b) @2) -> value (c @4) pair in WeakMap (table @39)"
            ),
            Some(39),
            "a name with the separator inside"
        );
        assert_eq!(
            weak_map_table(
                "3 / part of key (Object @41) -> value (Array) pair in WeakMap (table @39)"
            ),
            None
        );
        assert_eq!(
            weak_map_table("x / part of key (O @1) -> value (A @2) pair in WeakMap (table @3)"),
            None
        );
        assert_eq!(weak_map_table("map"), None);
    }
}
