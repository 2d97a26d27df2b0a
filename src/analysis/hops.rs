//! A retainer path as the developer wrote it: each hop is a reference in
//! source terms (`.requestLogs`, `[3]`, `sessionCache (variable in
//! request, server.js:42)`, `.get('sess-42')`) and the object it reaches,
//! with its class, `@id` and sizes. V8's plumbing between them (a closure's
//! Context, a Map's hash table) is folded into the reference that needs it.

use super::classes::Classes;
use super::code;
use super::sizes::Sizes;
use super::snapshot::Snapshot;

#[derive(Clone, Debug)]
pub struct Hop {
    /// The reference, as source code would name it.
    pub edge: String,
    /// `root`, `variable`, `property`, `element`, `map entry`, `set entry`,
    /// or V8's own edge type (`internal`, `hidden`, `shortcut`).
    pub edge_type: String,
    /// The object's class as the summary names it; a named function as
    /// `name()`; a string's quoted start.
    pub node: String,
    pub id: u32,
    pub self_size: u64,
    pub retained: u64,
}

pub struct Path {
    pub hops: Vec<Hop>,
    /// V8-internal hops folded into the references that need them.
    pub folded: u32,
}

const PREVIEW: usize = 40;

/// Whose variables the Context being walked holds.
#[derive(Clone, Copy)]
enum Scope {
    /// A closure's (its Context, and those around it through `previous`).
    Closure(usize),
    /// A script's top level (`const` outside any function in a script,
    /// on Node 26 reached through the native context's script table).
    TopLevel,
    Unknown,
}

pub fn read(s: &Snapshot, c: &Classes, retained: &Sizes, edges: &[usize]) -> Path {
    let mut hops = Vec::new();
    let mut folded = 0;
    let is_context = |n: usize| s.string(s.node_name[n]) == "system / Context";
    let mut scope = Scope::Unknown;
    let mut scripts = false;
    // The Map or Set whose table is being walked.
    let mut collection: Option<(usize, &'static str)> = None;
    let mut from = super::dominators::ROOT;
    for (i, &e) in edges.iter().enumerate() {
        let to = s.target(e);
        let name = s.string(s.edge_name[e]);
        let kind = s.edge_type_name(e);
        let last = i + 1 == edges.len();
        let next_to = edges.get(i + 1).map(|&n| s.target(n));
        if !last && i > 0 && is_context(to) {
            scope = match (name, s.node_type_name(from)) {
                _ if scripts => Scope::TopLevel,
                ("context", "closure") => Scope::Closure(from),
                ("previous", _) => scope,
                _ => Scope::Unknown,
            };
            scripts = false;
            folded += 1;
            from = to;
            continue;
        }
        if name == "script_context_table" && next_to.is_some_and(is_context) {
            scripts = true;
            folded += 1;
            from = to;
            continue;
        }
        let table_of =
            collection_kind(s, c, from).filter(|_| kind == "internal" && name == "table");
        if let Some(k) = table_of.filter(|_| !last) {
            collection = Some((to, k));
            folded += 1;
            from = to;
            continue;
        }
        let (edge, edge_type) = match (i, kind) {
            (0, _) => (display_name(s, c, to), "root"),
            (_, "context") => (variable(s, name, scope, from), "variable"),
            _ => match collection.filter(|&(table, _)| table == from) {
                Some((table, k)) => (entry(s, c, table, e, k), k),
                None => (reference(s, e, kind, name), kind),
            },
        };
        scope = Scope::Unknown;
        collection = None;
        hops.push(Hop {
            edge,
            edge_type: edge_type.to_string(),
            node: node_label(s, c, to),
            id: s.node_id[to],
            self_size: s.self_size.get(to),
            retained: retained.get(to),
        });
        from = to;
    }
    Path { hops, folded }
}

/// `sessionCache (variable in request, server.js:42)`: `request` is the
/// function whose closure the path came through, or else one defined in that
/// scope; a script's top-level variable says so, with the script.
fn variable(s: &Snapshot, name: &str, scope: Scope, context: usize) -> String {
    let f = match scope {
        Scope::Closure(f) => Some(f),
        _ => defined_in(s, context),
    };
    if let Scope::TopLevel = scope {
        return match f.and_then(|f| code::script(s, f)) {
            Some(script) => format!("{name} (top-level variable, {})", code::file_name(script)),
            None => format!("{name} (top-level variable)"),
        };
    }
    let Some(f) = f else {
        return format!("{name} (variable)");
    };
    let function = match s.string(s.node_name[f]) {
        "" => "(anonymous)",
        n => n,
    };
    match code::defined_at(s, f) {
        Some(at) => format!("{name} (variable in {function}, {at})"),
        None => format!("{name} (variable in {function})"),
    }
}

/// A closure whose scope is `context`: a function defined there.
fn defined_in(s: &Snapshot, context: usize) -> Option<usize> {
    let closure = s.node_types.iter().position(|t| t == "closure")?;
    (0..s.node_count()).find(|&n| {
        s.node_type[n] as usize == closure && code::edge_to(s, n, &["context"]) == Some(context)
    })
}

fn reference(s: &Snapshot, e: usize, kind: &str, name: &str) -> String {
    match kind {
        "element" | "hidden" => format!("[{}]", s.edge_name[e]),
        "property" if is_identifier(name) => format!(".{name}"),
        "property" => format!("[{}]", quote(name)),
        _ if name.bytes().all(|b| b.is_ascii_digit()) && !name.is_empty() => format!("[{name}]"),
        _ => name.to_string(),
    }
}

fn collection_kind(s: &Snapshot, c: &Classes, node: usize) -> Option<&'static str> {
    if s.node_type_name(node) != "object" {
        return None;
    }
    match c.names[c.of[node] as usize].as_str() {
        "Map" => Some("map entry"),
        "Set" => Some("set entry"),
        _ => None,
    }
}

/// A Map entry by its key, `.get('sess-42')`; a Set entry as `.has(…)` of
/// the object itself. A hash table's slots hold (key, value, chain) for a
/// Map; only objects have edges (numbers and `true` do not), so the key of
/// a value is the slot before it when that slot has an edge, and which
/// slots are keys shows where a key and a value sit side by side.
fn entry(s: &Snapshot, c: &Classes, table: usize, e: usize, kind: &str) -> String {
    if kind == "set entry" {
        return ".has(…)".to_string();
    }
    let slot = |i: u64| {
        s.edges(table)
            .find(|&x| slot_index(s, x) == Some(i))
            .map(|x| s.target(x))
    };
    let Some(i) = slot_index(s, e) else {
        return "(map entry)".to_string();
    };
    let is_key = key_residue(s, table).is_some_and(|r| i % 3 == r);
    match (is_key, i.checked_sub(1).and_then(slot)) {
        (true, _) => "(a key of the map)".to_string(),
        (false, Some(key)) => format!(".get({})", preview(s, c, key)),
        (false, None) => ".get(<number>)".to_string(),
    }
}

/// Which slots (mod 3) are keys, if some entry has both a key and a value
/// that are objects.
fn key_residue(s: &Snapshot, table: usize) -> Option<u64> {
    let mut slots: Vec<u64> = s.edges(table).filter_map(|x| slot_index(s, x)).collect();
    slots.sort_unstable();
    slots
        .windows(2)
        .find(|w| w[1] == w[0] + 1)
        .map(|w| w[0] % 3)
}

fn slot_index(s: &Snapshot, e: usize) -> Option<u64> {
    match s.edge_type_name(e) {
        "element" | "hidden" => Some(s.edge_name[e] as u64),
        _ => s.string(s.edge_name[e]).parse().ok(),
    }
}

/// A key as code would show it: a string quoted, anything else by class and id.
fn preview(s: &Snapshot, c: &Classes, node: usize) -> String {
    match is_string(s, node) {
        true => string_label(s, node),
        false => format!("{} @{}", c.names[c.of[node] as usize], s.node_id[node]),
    }
}

/// The object's class; a named function as `name()`, which says more than
/// its class `Function`; a string by its text.
fn node_label(s: &Snapshot, c: &Classes, node: usize) -> String {
    let name = s.string(s.node_name[node]);
    match s.node_type_name(node) {
        _ if is_string(s, node) => string_label(s, node),
        "closure" if !name.is_empty() => format!("{name}()"),
        "synthetic" => display_name(s, c, node),
        _ => c.names[c.of[node] as usize].clone(),
    }
}

/// A string's start, quoted. A concatenated string's text is in its parts
/// (`first`, `second`, each maybe concatenated again), read in order until
/// the preview is full; a sliced string's offset is not in the snapshot.
fn string_label(s: &Snapshot, node: usize) -> String {
    const MAX_PARTS: usize = 64;
    if s.node_type_name(node) == "sliced string" {
        return "(sliced string)".to_string();
    }
    let (mut text, mut chars) = (String::new(), 0);
    let mut parts = vec![node];
    for _ in 0..MAX_PARTS {
        let Some(n) = parts.pop() else { break };
        if chars > PREVIEW {
            break;
        }
        match s.node_type_name(n) {
            "concatenated string" => {
                parts.extend(code::edge_to(s, n, &["second"]));
                parts.extend(code::edge_to(s, n, &["first"]));
            }
            "string" => {
                let part = s.string(s.node_name[n]);
                chars += part.chars().count();
                text.push_str(part);
            }
            _ => {}
        }
    }
    quote(&text)
}

/// The root's children and synthetic nodes go by their own names.
fn display_name(s: &Snapshot, c: &Classes, node: usize) -> String {
    match s.string(s.node_name[node]) {
        "" => c.names[c.of[node] as usize].clone(),
        name => name.to_string(),
    }
}

fn is_string(s: &Snapshot, node: usize) -> bool {
    matches!(
        s.node_type_name(node),
        "string" | "concatenated string" | "sliced string"
    )
}

/// `'text'`, cut at `PREVIEW` characters, with quotes and control
/// characters escaped.
fn quote(text: &str) -> String {
    let mut out = String::from("'");
    for (i, ch) in text.chars().enumerate() {
        if i == PREVIEW {
            out.push('…');
            break;
        }
        match ch {
            '\'' | '\\' => {
                out.push('\\');
                out.push(ch);
            }
            '\n' => out.push_str("\\n"),
            c if c.is_control() => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('\'');
    out
}

fn is_identifier(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_alphabetic() || c == '_' || c == '$')
        && chars.all(|c| c.is_alphanumeric() || c == '_' || c == '$')
}

#[cfg(test)]
mod tests {
    use super::super::dominators::tests::snapshot;
    use super::super::paths::Retainers;
    use super::super::{classes, dominators};
    use super::*;

    fn path_to(s: &Snapshot, node: usize) -> Path {
        let (c, d) = (classes::compute(s), dominators::compute(s));
        read(
            s,
            &c,
            &d.retained,
            &Retainers::new(s).edges(s, node).unwrap(),
        )
    }

    fn labels(p: &Path) -> Vec<(String, String)> {
        p.hops
            .iter()
            .map(|h| (h.edge.clone(), h.node.clone()))
            .collect()
    }

    #[test]
    fn a_closure_variable_is_named_with_its_function_and_the_context_folded() {
        let s = snapshot(&[
            ("synthetic", "", 0, &[("element", "1", 1)]),
            ("object", "Window", 16, &[("property", "handler", 2)]),
            (
                "closure",
                "request",
                32,
                &[("internal", "context", 3), ("internal", "shared", 5)],
            ),
            (
                "object",
                "system / Context",
                24,
                &[("context", "sessionCache", 4)],
            ),
            ("object", "Map", 24, &[]),
            ("code", "", 40, &[("internal", "script_or_debug_info", 6)]),
            ("code", "/srv/app/server.js", 40, &[]),
        ]);
        let p = path_to(&s, 4);
        assert_eq!(
            labels(&p),
            [
                ("Window".into(), "Window".into()),
                (".handler".into(), "request()".into()),
                (
                    "sessionCache (variable in request, server.js)".into(),
                    "Map".into()
                ),
            ]
        );
        assert_eq!(p.folded, 1);
        assert_eq!(p.hops[2].edge_type, "variable");
        assert_eq!(p.hops[2].id, s.node_id[4]);
    }

    #[test]
    fn a_script_top_level_variable_says_so_with_its_script() {
        // Node 26: native context → script_context_table → [1] → Context.
        let s = snapshot(&[
            ("synthetic", "", 0, &[("element", "1", 1)]),
            (
                "hidden",
                "system / NativeContext",
                16,
                &[("internal", "script_context_table", 2)],
            ),
            ("array", "", 16, &[("element", "1", 3)]),
            ("hidden", "system / Context", 24, &[("context", "cache", 4)]),
            ("object", "Map", 24, &[]),
            (
                "closure",
                "quote",
                32,
                &[("internal", "context", 3), ("internal", "shared", 6)],
            ),
            ("code", "", 40, &[("internal", "script", 7)]),
            ("code", "/srv/app/pricing.js", 40, &[]),
        ]);
        let p = path_to(&s, 4);
        assert_eq!(p.hops[1].edge, "cache (top-level variable, pricing.js)");
        assert_eq!(p.hops.len(), 2);
        assert_eq!(p.folded, 2);
    }

    #[test]
    fn a_map_entry_by_its_key_a_string_by_its_text() {
        let long = "a'b\n".repeat(20);
        let s = snapshot(&[
            ("synthetic", "", 0, &[("element", "1", 1)]),
            ("object", "Window", 16, &[("property", "cache", 2)]),
            ("object", "Map", 24, &[("internal", "table", 3)]),
            (
                "array",
                "",
                64,
                &[
                    ("internal", "7", 4),
                    ("internal", "8", 5),
                    ("internal", "11", 6),
                ],
            ),
            (
                "concatenated string",
                "(concatenated string)",
                20,
                &[("internal", "first", 8), ("internal", "second", 9)],
            ),
            ("object", "Session", 32, &[("property", "note", 7)]),
            ("object", "Session", 32, &[]),
            ("string", &long, 100, &[]),
            ("string", "sess-", 20, &[]),
            ("string", "42", 20, &[]),
        ]);
        let p = path_to(&s, 5);
        assert_eq!(p.hops[2].edge, ".get('sess-42')");
        assert_eq!(p.hops[2].edge_type, "map entry");
        assert_eq!(p.folded, 1);
        // Slot 11 is a value (8 mod 3) whose key is a number: no edge.
        assert_eq!(path_to(&s, 6).hops[2].edge, ".get(<number>)");
        let note = path_to(&s, 7);
        assert_eq!(note.hops[3].edge, ".note");
        let quoted = &note.hops[3].node;
        assert!(
            quoted.starts_with("'a\\'b\\na\\'b\\n") && quoted.ends_with("…'"),
            "{quoted}"
        );
    }

    #[test]
    fn elements_and_odd_property_names() {
        let s = snapshot(&[
            ("synthetic", "", 0, &[("element", "1", 1)]),
            ("object", "Window", 16, &[("property", "x-y", 2)]),
            ("array", "", 16, &[("element", "3", 3)]),
            ("object", "Thing", 16, &[]),
        ]);
        let p = path_to(&s, 3);
        assert_eq!(p.hops[1].edge, "['x-y']");
        assert_eq!(p.hops[2].edge, "[3]");
        assert_eq!(p.folded, 0);
    }
}
