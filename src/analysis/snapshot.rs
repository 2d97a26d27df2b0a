//! Reads a `.heapsnapshot` (raw or gzip) into flat arrays, driven by
//! `snapshot.meta`: field positions are looked up by name, never assumed,
//! since they differ between V8 versions. Nodes and edges become integer
//! arrays, strings one arena.

use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;

use flate2::read::MultiGzDecoder;

use super::json::{Lexer, Value};
use super::{AnalysisError, Progress};

/// One heap snapshot's graph.
pub struct Snapshot {
    pub node_types: Vec<String>,
    pub edge_types: Vec<String>,
    /// Per node.
    pub node_type: Vec<u8>,
    pub node_name: Vec<u32>,
    pub node_id: Vec<u32>,
    pub self_size: Vec<u64>,
    /// Node `n`'s edges are `first_edge[n]..first_edge[n + 1]`.
    pub first_edge: Vec<u32>,
    /// Per edge.
    pub edge_type: Vec<u8>,
    /// A string index, or the element index for element and hidden edges.
    pub edge_name: Vec<u32>,
    /// The target's node ordinal.
    pub edge_to: Vec<u32>,
    strings: Vec<u8>,
    string_ends: Vec<u64>,
}

/// What to read: the whole graph, or only node ids (snapshots that a diff
/// only asks "did this object exist?").
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Want {
    Graph,
    Ids,
}

/// Node ids only, sorted.
pub struct Ids(pub Vec<u32>);

impl Ids {
    pub fn contains(&self, id: u32) -> bool {
        self.0.binary_search(&id).is_ok()
    }
}

/// Field positions from `snapshot.meta`.
struct Meta {
    node_fields: usize,
    edge_fields: usize,
    node_type: usize,
    node_name: usize,
    node_id: usize,
    self_size: usize,
    edge_count: usize,
    edge_type: usize,
    edge_name: usize,
    edge_to: usize,
    node_types: Vec<String>,
    edge_types: Vec<String>,
    node_count: u64,
    edge_count_total: u64,
}

pub fn open(path: &Path, progress: &Progress) -> Result<Box<dyn BufRead>, AnalysisError> {
    let file = File::open(path).map_err(|e| AnalysisError::file(path, &e))?;
    let size = file.metadata().map(|m| m.len()).unwrap_or(0);
    let counted = Counted {
        inner: file,
        read: 0,
        size,
        progress: progress.clone(),
    };
    let mut buffered = BufReader::with_capacity(1 << 20, counted);
    let gzip = buffered
        .fill_buf()
        .map_err(|e| AnalysisError::file(path, &e))?
        .starts_with(&[0x1f, 0x8b]);
    Ok(match gzip {
        true => Box::new(BufReader::with_capacity(
            1 << 20,
            MultiGzDecoder::new(buffered),
        )),
        false => Box::new(buffered),
    })
}

/// Counts the file's bytes as they are read, for the progress bar.
struct Counted {
    inner: File,
    read: u64,
    size: u64,
    progress: Progress,
}

impl Read for Counted {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.read += n as u64;
        self.progress.bytes(self.read, self.size);
        Ok(n)
    }
}

/// Reads the graph.
pub fn read(path: &Path, progress: &Progress) -> Result<Snapshot, AnalysisError> {
    match parse(open(path, progress)?, Want::Graph)? {
        Parsed::Graph(s) => Ok(*s),
        Parsed::Ids(_) => unreachable!("asked for the graph"),
    }
}

/// Reads node ids only.
pub fn read_ids(path: &Path, progress: &Progress) -> Result<Ids, AnalysisError> {
    match parse(open(path, progress)?, Want::Ids)? {
        Parsed::Ids(ids) => Ok(ids),
        Parsed::Graph(_) => unreachable!("asked for ids"),
    }
}

pub enum Parsed {
    Graph(Box<Snapshot>),
    Ids(Ids),
}

pub fn parse<R: BufRead>(r: R, want: Want) -> Result<Parsed, AnalysisError> {
    let mut l = Lexer::new(r);
    if !l.open(b'{', b'}', "'{' starting a heap snapshot")? {
        return Err(l.error("a heap snapshot object, not {}"));
    }
    let mut meta: Option<Meta> = None;
    let mut s = Snapshot::empty();
    let mut ids = Vec::new();
    let mut seen_nodes = false;
    let mut seen_edges = false;
    let mut seen_strings = false;
    loop {
        let at = l.offset();
        let key = l.key()?;
        match key.as_str() {
            "snapshot" => meta = Some(Meta::from(&l.value()?, at)?),
            "nodes" => {
                let m = meta.as_ref().ok_or_else(|| {
                    AnalysisError::at(at, "\"snapshot\" (with meta) before \"nodes\"")
                })?;
                read_nodes(&mut l, m, want, &mut s, &mut ids)?;
                seen_nodes = true;
            }
            "edges" if want == Want::Graph => {
                let m = meta
                    .as_ref()
                    .ok_or_else(|| AnalysisError::at(at, "\"snapshot\" before \"edges\""))?;
                if !seen_nodes {
                    return Err(AnalysisError::at(at, "\"nodes\" before \"edges\""));
                }
                read_edges(&mut l, m, &mut s)?;
                seen_edges = true;
            }
            "strings" if want == Want::Graph => {
                read_strings(&mut l, &mut s)?;
                seen_strings = true;
            }
            _ => l.skip()?,
        }
        if !l.more(b'}')? {
            break;
        }
    }
    if l.peek_token()?.is_some() {
        return Err(l.error("the end of the file after the snapshot object"));
    }
    let missing = |what: &str| {
        AnalysisError::at(
            l.offset(),
            &format!("a \"{what}\" section (none in this file)"),
        )
    };
    if meta.is_none() {
        return Err(missing("snapshot"));
    }
    if !seen_nodes {
        return Err(missing("nodes"));
    }
    if want == Want::Ids {
        ids.sort_unstable();
        return Ok(Parsed::Ids(Ids(ids)));
    }
    if !seen_edges {
        return Err(missing("edges"));
    }
    if !seen_strings {
        return Err(missing("strings"));
    }
    s.check(l.offset())?;
    Ok(Parsed::Graph(Box::new(s)))
}

impl Meta {
    fn from(v: &Value, at: u64) -> Result<Meta, AnalysisError> {
        let bad = |what: &str| AnalysisError::at(at, what);
        let meta = v.get("meta").ok_or_else(|| bad("snapshot.meta"))?;
        let names = |key: &str| -> Result<Vec<String>, AnalysisError> {
            match meta.get(key) {
                Some(Value::Array(a)) => a
                    .iter()
                    .map(|f| match f {
                        Value::Str(s) => Ok(s.clone()),
                        _ => Err(bad(&format!("strings in snapshot.meta.{key}"))),
                    })
                    .collect(),
                _ => Err(bad(&format!("snapshot.meta.{key} (a list of names)"))),
            }
        };
        let types = |key: &str| -> Result<Vec<String>, AnalysisError> {
            match meta.get(key) {
                Some(Value::Array(a)) => match a.first() {
                    Some(Value::Array(t)) => Ok(t
                        .iter()
                        .map(|x| match x {
                            Value::Str(s) => s.clone(),
                            _ => String::new(),
                        })
                        .collect()),
                    _ => Err(bad(&format!("snapshot.meta.{key}[0] (the type names)"))),
                },
                _ => Err(bad(&format!("snapshot.meta.{key}"))),
            }
        };
        let node_fields = names("node_fields")?;
        let edge_fields = names("edge_fields")?;
        let at_field = |fields: &[String], name: &str, key: &str| {
            fields
                .iter()
                .position(|f| f == name)
                .ok_or_else(|| bad(&format!("\"{name}\" in snapshot.meta.{key}")))
        };
        let count = |key: &str| match v.get(key) {
            Some(Value::Number(n)) if *n >= 0.0 => Ok(*n as u64),
            _ => Err(bad(&format!("snapshot.{key}"))),
        };
        Ok(Meta {
            node_fields: node_fields.len(),
            edge_fields: edge_fields.len(),
            node_type: at_field(&node_fields, "type", "node_fields")?,
            node_name: at_field(&node_fields, "name", "node_fields")?,
            node_id: at_field(&node_fields, "id", "node_fields")?,
            self_size: at_field(&node_fields, "self_size", "node_fields")?,
            edge_count: at_field(&node_fields, "edge_count", "node_fields")?,
            edge_type: at_field(&edge_fields, "type", "edge_fields")?,
            edge_name: at_field(&edge_fields, "name_or_index", "edge_fields")?,
            edge_to: at_field(&edge_fields, "to_node", "edge_fields")?,
            node_types: types("node_types")?,
            edge_types: types("edge_types")?,
            node_count: count("node_count")?,
            edge_count_total: count("edge_count")?,
        })
    }
}

fn read_nodes<R: BufRead>(
    l: &mut Lexer<R>,
    m: &Meta,
    want: Want,
    s: &mut Snapshot,
    ids: &mut Vec<u32>,
) -> Result<(), AnalysisError> {
    let n = m.node_count as usize;
    if want == Want::Graph {
        s.node_types = m.node_types.clone();
        s.edge_types = m.edge_types.clone();
        s.node_type.reserve_exact(n);
        s.node_name.reserve_exact(n);
        s.node_id.reserve_exact(n);
        s.self_size.reserve_exact(n);
        s.first_edge.reserve_exact(n + 1);
        s.first_edge.push(0);
    } else {
        ids.reserve_exact(n);
    }
    let mut field = 0;
    let mut edges = 0u64;
    let mut bad: Option<&str> = None;
    let count = l.uints(|v| {
        match (want, field) {
            (Want::Ids, f) if f == m.node_id => ids.push(v as u32),
            (Want::Ids, _) => {}
            (_, f) if f == m.node_type => s.node_type.push(v.min(255) as u8),
            (_, f) if f == m.node_name => s.node_name.push(v as u32),
            (_, f) if f == m.node_id => s.node_id.push(v as u32),
            (_, f) if f == m.self_size => s.self_size.push(v),
            (_, f) if f == m.edge_count => {
                edges += v;
                if edges > u32::MAX as u64 {
                    bad = Some("fewer than 2^32 edges");
                }
                s.first_edge.push(edges as u32);
            }
            _ => {}
        }
        field += 1;
        if field == m.node_fields {
            field = 0;
        }
    })?;
    let at = l.offset();
    if let Some(what) = bad {
        return Err(AnalysisError::at(at, what));
    }
    if count != m.node_count * m.node_fields as u64 {
        return Err(AnalysisError::at(
            at,
            &format!(
                "{} node values (node_count {} x {} fields), found {count}",
                m.node_count * m.node_fields as u64,
                m.node_count,
                m.node_fields
            ),
        ));
    }
    if want == Want::Graph && edges != m.edge_count_total {
        return Err(AnalysisError::at(
            at,
            &format!(
                "edge counts summing to edge_count {}, found {edges}",
                m.edge_count_total
            ),
        ));
    }
    Ok(())
}

fn read_edges<R: BufRead>(
    l: &mut Lexer<R>,
    m: &Meta,
    s: &mut Snapshot,
) -> Result<(), AnalysisError> {
    let e = m.edge_count_total as usize;
    s.edge_type.reserve_exact(e);
    s.edge_name.reserve_exact(e);
    s.edge_to.reserve_exact(e);
    let mut field = 0;
    let mut bad: Option<String> = None;
    let node_values = m.node_count * m.node_fields as u64;
    let count = l.uints(|v| {
        match field {
            f if f == m.edge_type => s.edge_type.push(v.min(255) as u8),
            f if f == m.edge_name => s.edge_name.push(v as u32),
            f if f == m.edge_to => {
                if v % m.node_fields as u64 != 0 || v >= node_values {
                    bad.get_or_insert_with(|| {
                        format!("to_node values that index a node, found {v}")
                    });
                }
                s.edge_to.push((v / m.node_fields as u64) as u32);
            }
            _ => {}
        }
        field += 1;
        if field == m.edge_fields {
            field = 0;
        }
    })?;
    let at = l.offset();
    if let Some(what) = bad {
        return Err(AnalysisError::at(at, &what));
    }
    if count != m.edge_count_total * m.edge_fields as u64 {
        return Err(AnalysisError::at(
            at,
            &format!(
                "{} edge values (edge_count {} x {} fields), found {count}",
                m.edge_count_total * m.edge_fields as u64,
                m.edge_count_total,
                m.edge_fields
            ),
        ));
    }
    Ok(())
}

fn read_strings<R: BufRead>(l: &mut Lexer<R>, s: &mut Snapshot) -> Result<(), AnalysisError> {
    if !l.open(b'[', b']', "'[' opening the strings")? {
        return Ok(());
    }
    loop {
        l.peek_token()?;
        l.string(&mut s.strings)?;
        s.string_ends.push(s.strings.len() as u64);
        if !l.more(b']')? {
            return Ok(());
        }
    }
}

impl Snapshot {
    fn empty() -> Self {
        Snapshot {
            node_types: Vec::new(),
            edge_types: Vec::new(),
            node_type: Vec::new(),
            node_name: Vec::new(),
            node_id: Vec::new(),
            self_size: Vec::new(),
            first_edge: Vec::new(),
            edge_type: Vec::new(),
            edge_name: Vec::new(),
            edge_to: Vec::new(),
            strings: Vec::new(),
            string_ends: Vec::new(),
        }
    }

    /// There is a root, and every string index used exists.
    fn check(&self, at: u64) -> Result<(), AnalysisError> {
        if self.node_count() == 0 {
            return Err(AnalysisError::at(
                at,
                "at least one node (the root); this snapshot has none",
            ));
        }
        let n = self.string_ends.len() as u32;
        if let Some(bad) = self.node_name.iter().find(|&&i| i >= n) {
            return Err(AnalysisError::at(
                at,
                &format!("node names within the {n} strings, found index {bad}"),
            ));
        }
        Ok(())
    }

    pub fn node_count(&self) -> usize {
        self.node_type.len()
    }

    pub fn edge_count(&self) -> usize {
        self.edge_to.len()
    }

    pub fn string(&self, i: u32) -> &str {
        let i = i as usize;
        let (Some(&end), start) = (
            self.string_ends.get(i),
            if i == 0 { 0 } else { self.string_ends[i - 1] },
        ) else {
            return "";
        };
        std::str::from_utf8(&self.strings[start as usize..end as usize]).unwrap_or("\u{fffd}")
    }

    pub fn edges(&self, node: usize) -> std::ops::Range<usize> {
        self.first_edge[node] as usize..self.first_edge[node + 1] as usize
    }

    pub fn node_type_name(&self, node: usize) -> &str {
        self.node_types
            .get(self.node_type[node] as usize)
            .map_or("?", String::as_str)
    }

    pub fn edge_type_name(&self, edge: usize) -> &str {
        self.edge_types
            .get(self.edge_type[edge] as usize)
            .map_or("?", String::as_str)
    }

    /// The constructor a node is grouped under: its name for objects and
    /// native objects, `(type)` for the rest (`(string)`, `(closure)`, ...).
    pub fn class_name(&self, node: usize) -> String {
        match self.node_type_name(node) {
            "object" | "native" => self.string(self.node_name[node]).to_string(),
            "concatenated string" | "sliced string" => "(string)".to_string(),
            t => format!("({t})"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn graph(json: &str) -> Result<Snapshot, AnalysisError> {
        parse(json.as_bytes(), Want::Graph).map(|p| match p {
            Parsed::Graph(s) => *s,
            Parsed::Ids(_) => unreachable!(),
        })
    }

    #[test]
    fn field_positions_come_from_meta() {
        // Fields reordered, plus one this reader does not know.
        let s = graph(
            r#"{"snapshot":{"meta":{"node_fields":["id","extra","edge_count","self_size","name","type"],
            "node_types":[["synthetic","object"]],"edge_fields":["to_node","type","name_or_index"],
            "edge_types":[["property","weak"]]},"node_count":2,"edge_count":1},
            "nodes":[1,9,1,0,0,0, 3,9,0,48,1,1],"edges":[6,0,1],"strings":["","Thing"]}"#,
        )
        .unwrap();
        assert_eq!(s.node_id, [1, 3]);
        assert_eq!(s.self_size, [0, 48]);
        assert_eq!(s.class_name(1), "Thing");
        assert_eq!((s.edges(0), s.edge_to[0]), (0..1, 1));
    }

    #[test]
    fn inconsistent_counts_and_empty_graphs_are_errors_not_panics() {
        let head = r#"{"snapshot":{"meta":{"node_fields":["type","name","id","self_size","edge_count"],"node_types":[["object"]],"edge_fields":["type","name_or_index","to_node"],"edge_types":[["property"]]},"#;
        let e = graph(&format!(r#"{head}"node_count":2,"edge_count":0}},"nodes":[0,0,1,0,0],"edges":[],"strings":[""]}}"#)).err().unwrap();
        assert!(e.expected.contains("10 node values"), "{e}");
        let e = graph(&format!(r#"{head}"node_count":1,"edge_count":1}},"nodes":[0,0,1,0,1],"edges":[0,0,7],"strings":[""]}}"#)).err().unwrap();
        assert!(
            e.expected
                .contains("to_node values that index a node, found 7"),
            "{e}"
        );
        let e = graph(&format!(
            r#"{head}"node_count":0,"edge_count":0}},"nodes":[],"edges":[],"strings":[]}}"#
        ))
        .err()
        .unwrap();
        assert!(e.expected.contains("at least one node"), "{e}");
        let e = graph(&format!(r#"{head}"node_count":1,"edge_count":0}},"nodes":[0,5,1,0,0],"edges":[],"strings":[""]}}"#)).err().unwrap();
        assert!(e.expected.contains("found index 5"), "{e}");
    }
}
