//! Where a closure's code comes from: its script (the function's
//! `shared` info → `script`) and its line, and whether that script is
//! Node's own (`node:internal/timers`) rather than the application's.

use super::snapshot::{Bits, Snapshot};

/// The script a closure's function was compiled from, by name.
pub fn script(s: &Snapshot, closure: usize) -> Option<&str> {
    let shared = edge_to(s, closure, &["shared"])?;
    // `script_or_debug_info` up to V8 12, `script` after.
    let script = edge_to(s, shared, &["script_or_debug_info", "script"])?;
    let name = s.string(s.node_name[script]);
    (!name.is_empty() && !name.starts_with("system / ")).then_some(name)
}

/// `file.js:42`: the script's last path segment and the function's line.
pub fn defined_at(s: &Snapshot, closure: usize) -> Option<String> {
    let file = file_name(script(s, closure)?);
    Some(match s.location(closure) {
        Some([_, line, _]) => format!("{file}:{}", u64::from(line) + 1),
        None => file.to_string(),
    })
}

/// A script's last path segment: `server.js` of `/srv/app/server.js` or
/// `file:///srv/app/server.js`; Node's own modules whole (`node:timers`).
pub fn file_name(script: &str) -> &str {
    match script.starts_with("node:") {
        true => script,
        false => script.rsplit(['/', '\\']).next().unwrap_or(script),
    }
}

/// Closures whose code is Node's own (scripts named `node:…`, or
/// `internal/…` on older Nodes): a path through them is Node's plumbing
/// (timers, process events), not the application's.
pub fn node_internal(s: &Snapshot) -> Bits {
    let mut internal = Bits::new(s.node_count());
    let Some(closure) = s.node_types.iter().position(|t| t == "closure") else {
        return internal;
    };
    for node in 0..s.node_count() {
        if s.node_type[node] as usize == closure
            && script(s, node).is_some_and(|n| n.starts_with("node:") || n.starts_with("internal/"))
        {
            internal.set(node);
        }
    }
    internal
}

/// The node that `node`'s first edge of one of these names leads to.
pub fn edge_to(s: &Snapshot, node: usize, names: &[&str]) -> Option<usize> {
    s.edges(node)
        .find(|&e| {
            !matches!(s.edge_type_name(e), "element" | "hidden")
                && names.iter().any(|n| s.name_is(s.edge_name[e], n))
        })
        .map(|e| s.target(e))
}
