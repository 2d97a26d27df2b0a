//! The class each node is counted under, as Chrome DevTools' Summary view
//! names and keys them (`calculateObjectNames`, `inferInterfaceDefinitions`,
//! `applyInterfaceDefinitions`, `classKeyInternal` in DevTools'
//! `HeapSnapshot.ts`):
//! - objects and native objects by their name (`<div id=a>` → `<div>`;
//!   native nodes DevTools finds detached from the DOM as `Detached <name>`);
//!   hidden nodes `(system)`, code `(compiled code)`, closures `Function`,
//!   regexps `RegExp`, every other type `(type)`: `(string)`,
//!   `(concatenated string)`, `(sliced string)`, `(number)`, `(array)`, ...;
//! - plain objects (`Object`) by their shape, `{name, roles}`, when enough
//!   objects share it;
//! - objects whose constructor has a location in the snapshot are keyed by
//!   it too: two classes of one name from two places are two rows.

use std::cmp::Ordering;
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use super::snapshot::Snapshot;

pub struct Classes {
    /// Per node: its class, an index into `names`.
    pub of: Vec<u32>,
    /// Per class: the name shown.
    pub names: Vec<String>,
}

/// What makes two nodes one class (DevTools compares string indices: a name
/// it adds is another string than a snapshot's string of the same text).
#[derive(Hash, PartialEq, Eq)]
enum Key {
    /// A snapshot string, the node's own name.
    Name(u32),
    /// A name DevTools makes: `(system)`, `Function`, `<div>`, `{a, b}`.
    Made(String),
    /// A detached native node's name (a snapshot string) with `Detached `
    /// before it.
    Detached(u32),
    /// An object whose constructor has a location: where, and the text of
    /// its class name (an index into `Interner::texts`).
    Located([u32; 3], u32),
}

#[derive(Default)]
struct Interner {
    classes: HashMap<Key, u32>,
    names: Vec<String>,
    /// The distinct class names, for `Key::Located`.
    texts: HashMap<String, u32>,
    /// Per class: its name's index in `texts`.
    text_of: Vec<u32>,
}

impl Interner {
    fn class(&mut self, key: Key, name: impl FnOnce() -> String) -> u32 {
        if let Some(&c) = self.classes.get(&key) {
            return c;
        }
        let name = name();
        let texts = self.texts.len() as u32;
        let text = *self.texts.entry(name.clone()).or_insert(texts);
        let c = self.names.len() as u32;
        self.names.push(name);
        self.text_of.push(text);
        self.classes.insert(key, c);
        c
    }

    fn made(&mut self, name: &str) -> u32 {
        self.class(Key::Made(name.to_string()), || name.to_string())
    }
}

pub fn compute(s: &Snapshot) -> Classes {
    let mut i = Interner::default();
    let n = s.node_count();
    // By node type for the types named by type; by name string for the rest.
    let by_type: Vec<Option<u32>> = s
        .node_types
        .iter()
        .map(|t| match t.as_str() {
            "object" | "native" => None,
            "hidden" => Some(i.made("(system)")),
            "code" => Some(i.made("(compiled code)")),
            "closure" => Some(i.made("Function")),
            "regexp" => Some(i.made("RegExp")),
            t => Some(i.made(&format!("({t})"))),
        })
        .collect();
    // By name string for objects and native objects (detached ones apart).
    let mut by_name: Vec<u32> = Vec::new();
    let mut by_detached_name: FastMap<u32, u32> = FastMap::default();
    let mut of: Vec<u32> = (0..n)
        .map(|node| {
            if let Some(Some(c)) = by_type.get(s.node_type[node] as usize) {
                return *c;
            }
            let name = s.node_name[node];
            let detached = s.is_detached(node);
            let mut class = || {
                let text = match detached {
                    true => format!("Detached {}", s.string(name)),
                    false => s.string(name).to_string(),
                };
                match (short_tag(&text), detached) {
                    (Some(tag), _) => i.made(&tag),
                    (None, true) => i.class(Key::Detached(name), || text),
                    (None, false) => i.class(Key::Name(name), || text),
                }
            };
            if detached {
                return *by_detached_name.entry(name).or_insert_with(class);
            }
            if by_name.len() <= name as usize {
                by_name.resize(name as usize + 1, NONE);
            }
            if by_name[name as usize] == NONE {
                by_name[name as usize] = class();
            }
            by_name[name as usize]
        })
        .collect();
    drop((by_name, by_detached_name));

    let object = s.node_types.iter().position(|t| t == "object");
    let is_object = |node: usize| Some(s.node_type[node] as usize) == object;
    let plain = |node: usize| is_object(node) && s.name_is(s.node_name[node], "Object");
    let shapes = Shapes::infer(s, plain);
    if !shapes.names.is_empty() {
        let shape_class: Vec<u32> = shapes.names.iter().map(|name| i.made(name)).collect();
        let mut m = Matcher {
            live: vec![0; shapes.tree.len()],
            ..Matcher::default()
        };
        for node in (0..n).filter(|&node| plain(node)) {
            if let Some(shape) = shapes.of(s, node, &mut m) {
                of[node] = shape_class[shape];
            }
        }
    }

    for (node, class) in of.iter_mut().enumerate() {
        if !is_object(node) {
            continue;
        }
        if let Some(at) = s.location(node) {
            let text = i.text_of[*class as usize];
            let name = &i.names[*class as usize];
            let name = name.clone();
            *class = i.class(Key::Located(at, text), || name);
        }
    }
    Classes { of, names: i.names }
}

/// `<div id="a">` → `<div>`, `Detached <div id="a">` → `Detached <div>`;
/// `None` for names that are not tags.
fn short_tag(name: &str) -> Option<String> {
    let from = match () {
        _ if name.starts_with('<') => 0,
        _ if name.starts_with("Detached <") => "Detached <".len(),
        _ => return None,
    };
    Some(match name[from..].find(' ') {
        Some(space) => format!("{}>", &name[..from + space]),
        None => name.to_string(),
    })
}

/// DevTools' limits for shapes ("interface definitions").
const MAX_SHAPE_NAME: usize = 120;
const MIN_OBJECTS_PER_SHAPE: u64 = 2;
const MIN_SHARE_PER_SHAPE: u64 = 1000;

const NONE: u32 = u32::MAX;

/// A hash map for integer keys, faster than the default hasher (keys come
/// from the file, but only as indices already bounded by it).
type FastMap<K, V> = HashMap<K, V, BuildHasherDefault<Fx>>;

#[derive(Default)]
struct Fx(u64);

impl Hasher for Fx {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.write_u64(b as u64);
        }
    }

    fn write_u32(&mut self, i: u32) {
        self.write_u64(i as u64);
    }

    fn write_u64(&mut self, i: u64) {
        self.0 = (self.0.rotate_left(5) ^ i).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }

    fn write_usize(&mut self, i: usize) {
        self.write_u64(i as u64);
    }
}

/// The shapes that name plain objects, and a tree to match objects against
/// them: the shapes' (sorted) properties spelled from the root. Properties
/// are ranked in JavaScript's string order, so they compare as numbers.
struct Shapes {
    names: Vec<String>,
    /// The edge type `property`.
    property: Option<usize>,
    tree: Vec<TreeNode>,
    /// The rank of each property name some shape has.
    text_rank: HashMap<String, u32>,
}

#[derive(Default)]
struct TreeNode {
    /// (property rank, tree node), by rank.
    next: Vec<(u32, u32)>,
    greatest_next: Option<u32>,
    /// The shape ending here: (property count, index).
    shape: Option<(usize, usize)>,
}

impl Shapes {
    /// The popular shapes, most objects first: an object's first properties
    /// (not `__proto__`), in order, up to 120 characters of name.
    fn infer(s: &Snapshot, plain: impl Fn(usize) -> bool) -> Self {
        let property = s.edge_types.iter().position(|t| t == "property");
        // By the properties' string indices first (cheap), then by name.
        let mut by_properties: FastMap<Vec<u32>, (u64, usize)> = FastMap::default();
        let mut formatted_length: FastMap<u32, usize> = FastMap::default();
        let mut objects = 0u64;
        let mut properties: Vec<u32> = Vec::new();
        for node in (0..s.node_count()).filter(|&node| plain(node)) {
            objects += 1;
            let mut length = 1; // of the name, in UTF-16 units as JavaScript counts
            properties.clear();
            for e in s.edges(node) {
                let name = s.edge_name[e];
                if Some(s.edge_type(e) as usize) != property || s.name_is(name, "__proto__") {
                    continue;
                }
                let formatted = *formatted_length
                    .entry(name)
                    .or_insert_with(|| js_length(&format_property(s.string(name))));
                if length > 1 && length + formatted > MAX_SHAPE_NAME {
                    break;
                }
                length += formatted + if length != 1 { 2 } else { 0 };
                properties.push(name);
            }
            if properties.is_empty() {
                continue;
            }
            let seen = by_properties.len();
            match by_properties.get_mut(properties.as_slice()) {
                Some((count, _)) => *count += 1,
                None => {
                    by_properties.insert(properties.clone(), (1, seen));
                }
            }
        }
        drop(formatted_length);
        let mut candidates: HashMap<String, (u64, usize, Vec<u32>)> = HashMap::new();
        for (properties, (count, first)) in by_properties {
            let names: Vec<String> = properties
                .iter()
                .map(|&p| format_property(s.string(p)))
                .collect();
            let c = candidates
                .entry(format!("{{{}}}", names.join(", ")))
                .or_insert((0, first, Vec::new()));
            c.0 += count;
            if first <= c.1 {
                // The name's properties are those of the first object seen.
                (c.1, c.2) = (first, properties);
            }
        }
        let mut sorted: Vec<(String, u64, usize, Vec<u32>)> = candidates
            .into_iter()
            .map(|(name, (count, first, properties))| (name, count, first, properties))
            .collect();
        // Most objects first; ties in the order first seen.
        sorted.sort_by(|a, b| b.1.cmp(&a.1).then(a.2.cmp(&b.2)));
        sorted.retain(|&(_, count, _, _)| {
            count >= MIN_OBJECTS_PER_SHAPE && count * MIN_SHARE_PER_SHAPE >= objects
        });

        // Rank the shapes' property names (by text: one rank per text).
        let mut texts: Vec<&str> = sorted
            .iter()
            .flat_map(|(_, _, _, properties)| properties.iter().map(|&p| s.string(p)))
            .collect();
        texts.sort_by(|a, b| js_cmp(a, b));
        texts.dedup();
        let text_rank: HashMap<&str, u32> = texts
            .iter()
            .enumerate()
            .map(|(r, &text)| (text, r as u32))
            .collect();
        let mut shapes = Shapes {
            names: Vec::with_capacity(sorted.len()),
            property,
            tree: vec![TreeNode::default()],
            text_rank: HashMap::new(),
        };
        for (index, (name, _, _, properties)) in sorted.into_iter().enumerate() {
            let mut ranks: Vec<u32> = properties.iter().map(|&p| text_rank[s.string(p)]).collect();
            ranks.sort_unstable();
            let mut at = 0usize;
            for &r in &ranks {
                at = match shapes.tree[at].next.binary_search_by_key(&r, |&(r, _)| r) {
                    Ok(i) => shapes.tree[at].next[i].1 as usize,
                    Err(i) => {
                        let next = shapes.tree.len();
                        let node = &mut shapes.tree[at];
                        node.next.insert(i, (r, next as u32));
                        node.greatest_next = node.greatest_next.max(Some(r));
                        shapes.tree.push(TreeNode::default());
                        next
                    }
                };
            }
            // An earlier (more popular) shape with these properties wins.
            shapes.tree[at].shape.get_or_insert((ranks.len(), index));
            shapes.names.push(name);
        }
        shapes.text_rank = text_rank
            .into_iter()
            .map(|(text, r)| (text.to_string(), r))
            .collect();
        shapes
    }

    /// The shape naming a plain object: of those whose properties the
    /// object all has (any order; `__proto__` counts here), the one with the
    /// most properties, then the most popular.
    fn of(&self, s: &Snapshot, node: usize, m: &mut Matcher) -> Option<usize> {
        m.ranks.clear();
        for e in s.edges(node) {
            if Some(s.edge_type(e) as usize) != self.property {
                continue;
            }
            let name = s.edge_name[e];
            let rank = *m
                .rank
                .entry(name)
                .or_insert_with(|| self.text_rank.get(s.string(name)).copied().unwrap_or(NONE));
            // A property no shape has cannot lead anywhere in the tree.
            if rank != NONE {
                m.ranks.push(rank);
            }
        }
        if m.ranks.is_empty() {
            return self.tree[0].shape.map(|(_, index)| index);
        }
        m.ranks.sort_unstable();
        // The tree states reached so far, an insertion-ordered set as in
        // DevTools: (tree node, stamp), live while `live` has that stamp.
        m.states.clear();
        m.states.push((0, 1));
        m.live[0] = 1;
        let mut stamp = 1u32;
        let mut best: Option<(usize, usize)> = self.tree[0].shape;
        for &p in &m.ranks {
            m.current.clear();
            let live = &m.live;
            m.current.extend(
                m.states
                    .iter()
                    .filter(|&&(t, st)| live[t as usize] == st)
                    .map(|&(t, _)| t),
            );
            for &t in &m.current {
                let here = &self.tree[t as usize];
                if here.greatest_next.is_none_or(|g| p >= g) {
                    m.live[t as usize] = 0; // no further transitions from here
                }
                if let Ok(i) = here.next.binary_search_by_key(&p, |&(r, _)| r) {
                    let next = here.next[i].1;
                    if m.live[next as usize] == 0 {
                        stamp += 1;
                        m.live[next as usize] = stamp;
                        m.states.push((next, stamp));
                    }
                    best = better(best, self.tree[next as usize].shape);
                }
            }
            let live = &m.live;
            m.states.retain(|&(t, st)| live[t as usize] == st);
        }
        for &(t, _) in &m.states {
            m.live[t as usize] = 0;
        }
        best.map(|(_, index)| index)
    }
}

/// Buffers for `Shapes::of`, kept from one object to the next.
#[derive(Default)]
struct Matcher {
    /// Each property name's (string index) rank, as met; `NONE` for names
    /// no shape has.
    rank: FastMap<u32, u32>,
    ranks: Vec<u32>,
    states: Vec<(u32, u32)>,
    current: Vec<u32>,
    /// Per tree node: the stamp of its live state entry, or 0.
    live: Vec<u32>,
}

/// DevTools' `selectBetterMatch`: more properties, then the earlier shape.
fn better(a: Option<(usize, usize)>, b: Option<(usize, usize)>) -> Option<(usize, usize)> {
    match (a, b) {
        (Some(a), Some(b)) if b.0 > a.0 || (b.0 == a.0 && b.1 < a.1) => Some(b),
        (None, b) => b,
        (a, _) => a,
    }
}

/// A property name as DevTools shows it in a shape: quoted (as a JSON key)
/// when it has a comma, quote or brace.
fn format_property(name: &str) -> String {
    if !name.contains([',', '\'', '"', '{', '}']) {
        return name.to_string();
    }
    let mut out = String::with_capacity(name.len() + 2);
    out.push('"');
    for c in name.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// A string's length as JavaScript counts it (UTF-16 units).
fn js_length(s: &str) -> usize {
    s.chars().map(char::len_utf16).sum()
}

/// JavaScript's string order (UTF-16 units), which `sort()` and `<` use.
fn js_cmp(a: &str, b: &str) -> Ordering {
    if a.is_ascii() && b.is_ascii() {
        return a.cmp(b);
    }
    a.encode_utf16().cmp(b.encode_utf16())
}

#[cfg(test)]
mod tests {
    use super::super::dominators::tests::snapshot;
    use super::*;

    #[test]
    fn names_by_type_tag_and_shape() {
        // 3 objects {a, b}, one {a, b, c} (too rare to be a shape of its
        // own: named {a, b}), one {c}, a closure, two strings, a tag.
        let abc: &[(&str, &str, usize)] = &[
            ("property", "a", 0),
            ("property", "b", 0),
            ("property", "c", 0),
        ];
        let ab = &abc[..2];
        let s = snapshot(&[
            ("synthetic", "", 0, &[]),
            ("object", "Object", 16, ab),
            ("object", "Object", 16, ab),
            ("object", "Object", 16, ab),
            ("object", "Object", 16, abc),
            ("object", "Object", 16, &abc[2..]),
            ("closure", "onConfigChange", 32, &[]),
            ("string", "x", 16, &[]),
            ("concatenated string", "xy", 16, &[]),
            ("native", "<div id=\"a\">", 16, &[]),
            ("object", "Thing", 16, &[]),
        ]);
        let c = compute(&s);
        let name = |n: usize| c.names[c.of[n] as usize].as_str();
        let names: Vec<&str> = (1..s.node_count()).map(name).collect();
        assert_eq!(
            names,
            [
                "{a, b}",
                "{a, b}",
                "{a, b}",
                "{a, b}",
                "Object",
                "Function",
                "(string)",
                "(concatenated string)",
                "<div>",
                "Thing"
            ]
        );
        assert_eq!(c.of[1], c.of[4]);
    }

    #[test]
    fn classes_of_one_name_from_two_places_and_detached_nodes_are_apart() {
        use super::super::snapshot::{parse, Parsed, Want};
        // Two `Thing`s defined at different places, one at the same place as
        // the first; a detached native node and what it holds (not the object).
        let json = r#"{"snapshot":{"meta":{"node_fields":["type","name","id","self_size","edge_count","detachedness"],
            "node_types":[["synthetic","object","native"]],"edge_fields":["type","name_or_index","to_node"],
            "edge_types":[["element","property"]],"location_fields":["object_index","script_id","line","column"]},
            "node_count":7,"edge_count":3},
            "nodes":[0,0,1,0,1,0, 1,1,3,8,0,0, 1,1,5,8,0,0, 1,1,7,8,0,0, 2,2,9,8,2,2, 2,3,11,8,0,0, 1,1,13,8,0,0],
            "edges":[0,1,24, 1,4,30, 1,4,36],
            "locations":[6,3,10,2, 12,3,20,2, 18,3,10,2],
            "strings":["","Thing","Node / Widget","Node / Part","p"]}"#;
        let Ok(Parsed::Graph(s)) = parse(json.as_bytes(), Want::Graph, None) else {
            panic!("a snapshot");
        };
        let c = compute(&s);
        let name = |n: usize| c.names[c.of[n] as usize].as_str();
        assert_eq!(c.of[1], c.of[3], "same name, same place");
        assert_ne!(c.of[1], c.of[2], "same name, another place");
        assert_ne!(c.of[1], c.of[6], "a Thing without a location");
        assert_eq!((name(2), name(6)), ("Thing", "Thing"));
        assert_eq!(name(4), "Detached Node / Widget");
        assert_eq!(
            name(5),
            "Detached Node / Part",
            "the state passes to native nodes it holds"
        );
    }

    #[test]
    fn property_names_are_quoted_and_compared_as_javascript_does() {
        assert_eq!(format_property("plain"), "plain");
        assert_eq!(format_property("a,b"), "\"a,b\"");
        assert_eq!(format_property("say \"hi\"\n"), "\"say \\\"hi\\\"\\n\"");
        assert_eq!(js_length("é😀"), 3);
        // U+FF5E comes before U+1F600 in code points, after it in UTF-16.
        assert_eq!(js_cmp("\u{ff5e}", "\u{1f600}"), Ordering::Greater);
        assert_eq!(short_tag("<div id=a>").as_deref(), Some("<div>"));
        assert_eq!(
            short_tag("Detached <li class=x>").as_deref(),
            Some("Detached <li>")
        );
        assert_eq!(short_tag("<br>").as_deref(), Some("<br>"));
        assert_eq!(short_tag("div"), None);
    }
}
