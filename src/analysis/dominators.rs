//! The dominator tree and retained sizes, as Chrome DevTools computes them
//! (`markPageOwnedNodes`, `computeIsEssentialEdge` and
//! `calculateDominatorsAndRetainedSizes` in DevTools' `HeapSnapshot.ts`):
//! Lengauer-Tarjan from the synthetic root over the "essential" edges, with
//! nodes the root cannot reach that way attached to the root.
//!
//! An edge is essential unless it is weak, a self edge, a shortcut from
//! another node than the root, a WeakMap table's edge to a value (the key's
//! edge is kept), or it leads from a node outside the page into the page:
//! the page is what the user roots (the root's shortcut edges: the global
//! objects, or their native contexts on newer V8) reach over non-weak
//! edges. So V8's and Node's own roots (stack roots, handles, caches) never
//! share in dominating what the application's globals hold.

use super::snapshot::{Bits, Snapshot};

pub const ROOT: usize = 0;

pub struct Dominators {
    /// Immediate dominator of each node (the root's is itself).
    pub idom: Vec<u32>,
    /// Self size plus everything the node dominates.
    pub retained: Vec<u64>,
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
        let t = Some(s.edge_type[edge]);
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
        let t = Some(s.edge_type[e]);
        let to = s.edge_to[e] as usize;
        let entry = t == shortcut || (t == element && s.is_dom_trees_root(to));
        if entry && !page.get(to) {
            page.set(to);
            stack.push(to as u32);
        }
    }
    while let Some(node) = stack.pop() {
        for e in s.edges(node as usize) {
            let to = s.edge_to[e] as usize;
            if !page.get(to) && Some(s.edge_type[e]) != weak {
                page.set(to);
                stack.push(to as u32);
            }
        }
    }
    page
}

/// The edges the dominator tree is built over (see the module's comment).
pub fn essential_edges(s: &Snapshot) -> Bits {
    let page = page_owned(s);
    let basic = Essential::new(s);
    let internal = s.edge_type_index("internal");
    let mut essential = Bits::new(s.edge_count());
    for from in 0..s.node_count() {
        for e in s.edges(from) {
            let to = s.edge_to[e] as usize;
            let table_to_value = || {
                Some(s.edge_type[e]) == internal
                    && weak_map_table(s.string(s.edge_name[e])) == Some(s.node_id[from] as u64)
            };
            let into_page = from != ROOT && page.get(to) && !page.get(from);
            if basic.holds(s, from, e) && from != to && !into_page && !table_to_value() {
                essential.set(e);
            }
        }
    }
    essential
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

/// Lengauer-Tarjan, as DevTools runs it: vertices numbered from 1 in
/// depth-first order (0 is "none"), node `v`'s ordinal is `v - 1`.
struct Tarjan {
    parent: Vec<u32>,
    semi: Vec<u32>,
    vertex: Vec<u32>,
    label: Vec<u32>,
    numbered: u32,
}

impl Tarjan {
    /// Numbers what `root` reaches over essential edges, iteratively.
    fn dfs(&mut self, s: &Snapshot, essential: &Bits, next_edge: &mut [u32], root: u32) {
        next_edge[root as usize - 1] = s.first_edge[root as usize - 1];
        let mut v = root;
        while v != 0 {
            let vi = v as usize;
            if self.semi[vi] == 0 {
                self.numbered += 1;
                self.semi[vi] = self.numbered;
                self.vertex[self.numbered as usize] = v;
                self.label[vi] = v;
            }
            let mut v_next = self.parent[vi];
            let end = s.first_edge[vi];
            while next_edge[vi - 1] < end {
                let e = next_edge[vi - 1] as usize;
                if essential.get(e) {
                    let w = s.edge_to[e] + 1;
                    if self.semi[w as usize] == 0 {
                        self.parent[w as usize] = v;
                        next_edge[w as usize - 1] = s.first_edge[w as usize - 1];
                        v_next = w;
                        break;
                    }
                }
                next_edge[vi - 1] += 1;
            }
            v = v_next;
        }
    }
}

pub fn compute(s: &Snapshot) -> Dominators {
    let n = s.node_count();
    let essential = essential_edges(s);
    // Essential retainers of each node (by ordinal).
    let mut pred_start = vec![0u32; n + 1];
    for e in 0..s.edge_count() {
        if essential.get(e) {
            pred_start[s.edge_to[e] as usize + 1] += 1;
        }
    }
    for i in 0..n {
        pred_start[i + 1] += pred_start[i];
    }
    let mut preds = vec![0u32; pred_start[n] as usize];
    {
        let mut fill = pred_start.clone();
        for from in 0..n {
            for e in s.edges(from) {
                if essential.get(e) {
                    let to = s.edge_to[e] as usize;
                    preds[fill[to] as usize] = from as u32;
                    fill[to] += 1;
                }
            }
        }
    }
    let retainers =
        |ordinal: usize| &preds[pred_start[ordinal] as usize..pred_start[ordinal + 1] as usize];

    let len = n + 1;
    let r = ROOT as u32 + 1;
    let mut t = Tarjan {
        parent: vec![0; len],
        semi: vec![0; len],
        vertex: vec![0; len],
        label: vec![0; len],
        numbered: 0,
    };
    let mut next_edge = vec![0u32; n];
    t.dfs(s, &essential, &mut next_edge, r);
    // Nodes with only weak retainers: searched from as if the root held
    // them; then whatever is left (cycles held only weakly), one by one.
    if (t.numbered as usize) < n {
        for v in 1..=n as u32 {
            if t.semi[v as usize] == 0 && retainers(v as usize - 1).is_empty() {
                t.parent[v as usize] = r;
                t.dfs(s, &essential, &mut next_edge, v);
            }
        }
        for v in 1..=n as u32 {
            if t.semi[v as usize] == 0 {
                t.parent[v as usize] = r;
                t.numbered += 1;
                t.semi[v as usize] = t.numbered;
                t.vertex[t.numbered as usize] = v;
                t.label[v as usize] = v;
            }
        }
    }
    drop(next_edge);
    drop(essential);

    let Tarjan {
        parent,
        mut semi,
        vertex,
        mut label,
        numbered,
    } = t;
    let mut ancestor = vec![0u32; len];
    let mut dom = vec![0u32; len];
    // Buckets as linked lists: the first vertex, then each one's next.
    let mut bucket = vec![0u32; len];
    let mut bucket_next = vec![0u32; len];
    let mut path: Vec<u32> = Vec::new();
    let mut eval = |v: u32, ancestor: &mut [u32], label: &mut [u32], semi: &[u32]| -> u32 {
        if ancestor[v as usize] == 0 {
            return v;
        }
        // Path compression, iteratively.
        let mut x = v;
        while ancestor[ancestor[x as usize] as usize] != 0 {
            path.push(x);
            x = ancestor[x as usize];
        }
        while let Some(w) = path.pop() {
            let (w, a) = (w as usize, ancestor[w as usize] as usize);
            if semi[label[a] as usize] < semi[label[w] as usize] {
                label[w] = label[a];
            }
            ancestor[w] = ancestor[a];
        }
        label[v as usize]
    };
    for i in (2..=numbered as usize).rev() {
        let w = vertex[i];
        let wi = w as usize;
        let held = retainers(wi - 1);
        for &from in held {
            let u = eval(from + 1, &mut ancestor, &mut label, &semi);
            if semi[u as usize] < semi[wi] {
                semi[wi] = semi[u as usize];
            }
        }
        if held.is_empty() {
            semi[wi] = semi[r as usize]; // an orphan: the root is its only predecessor
        }
        let b = vertex[semi[wi] as usize] as usize;
        bucket_next[wi] = bucket[b];
        bucket[b] = w;
        let p = parent[wi];
        ancestor[wi] = p;
        let mut v = std::mem::take(&mut bucket[p as usize]);
        while v != 0 {
            let u = eval(v, &mut ancestor, &mut label, &semi);
            dom[v as usize] = if semi[u as usize] < semi[v as usize] {
                u
            } else {
                p
            };
            v = bucket_next[v as usize];
        }
    }
    drop((
        ancestor,
        bucket,
        bucket_next,
        label,
        parent,
        preds,
        pred_start,
    ));
    dom[0] = r;
    dom[r as usize] = r;
    for i in 2..=numbered as usize {
        let w = vertex[i] as usize;
        if dom[w] != vertex[semi[w] as usize] {
            dom[w] = dom[dom[w] as usize];
        }
    }
    drop(semi);

    // Node ordinals from here; dominators come before what they dominate
    // in `vertex`, so sizes add up from its end.
    dom.remove(0);
    let idom: Vec<u32> = dom.into_iter().map(|d| d.saturating_sub(1)).collect();
    let mut retained = s.self_size.clone();
    for &v in vertex[2..=numbered as usize].iter().rev() {
        let node = v as usize - 1;
        retained[idom[node] as usize] += retained[node];
    }
    Dominators { idom, retained }
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
        assert_eq!(d.retained[1], 100);
        assert_eq!(d.retained[2], 20);
        assert_eq!(
            d.retained[0], 150,
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
                &[("shortcut", "1", 1), ("element", "2", 4), ("weak", "f", 5)],
            ),
            ("object", "global", 8, &[("property", "cache", 2)]),
            ("object", "Map", 16, &[("internal", "table", 3)]),
            ("object", "Entry", 32, &[]),
            ("synthetic", "(Stack roots)", 0, &[("element", "0", 3)]),
            ("object", "F", 4, &[("property", "g", 6)]),
            ("object", "G", 2, &[("property", "f", 5)]),
        ]);
        let d = compute(&s);
        assert_eq!(d.idom[3], 2, "the map, not the root, dominates the entry");
        assert_eq!(d.retained[1], 56);
        assert_eq!(
            (d.idom[5], d.idom[6]),
            (0, 0),
            "a cycle held only weakly: each off the root"
        );
        assert_eq!(d.retained[0], 62);
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
