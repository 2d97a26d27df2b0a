//! Reads a `.heapsnapshot` (raw or gzip) into flat arrays, driven by
//! `snapshot.meta`: field positions are looked up by name, never assumed,
//! since they differ between V8 versions. Nodes and edges become integer
//! arrays, strings one arena.

use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;

use flate2::read::MultiGzDecoder;

use super::ahead::{self, Ahead};
use super::inflate;
use super::json::{Lexer, Value};
use super::sizes::Sizes;
use super::{AnalysisError, Progress};

/// One heap snapshot's graph.
pub struct Snapshot {
    /// Taken by a fork capture (`"leakguard":{"capture":"fork"}` in the
    /// header): its ids match no other snapshot's.
    pub fork: bool,
    pub node_types: Vec<String>,
    pub edge_types: Vec<String>,
    /// Per node type: a heap object's (see `heap_types`).
    heap: Vec<bool>,
    /// Per node.
    pub node_type: Vec<u8>,
    pub node_name: Vec<u32>,
    pub node_id: Vec<u32>,
    pub self_size: Sizes,
    /// The `detachedness` field (0 unknown, 1 attached, 2 detached) while
    /// reading; then empty (see `propagate_detachedness`).
    detachedness: Vec<u8>,
    /// Native nodes DevTools names `Detached <name>`.
    detached: Bits,
    /// Node `n`'s edges are `first_edge[n]..first_edge[n + 1]`.
    pub first_edge: Vec<u32>,
    /// Per edge: the target's node ordinal, shifted left by `type_bits`,
    /// and the edge's type.
    edge_to: Vec<u32>,
    type_bits: u32,
    /// Per edge: a string index, or the element index for element and
    /// hidden edges.
    pub edge_name: Vec<u32>,
    /// Where the constructors of objects (node type `object`) and the
    /// functions of closures were defined: (node, [script id, line, column]),
    /// by node; from the `locations` section, raw until the whole file is
    /// read (see `keep_locations`).
    locations: Vec<(u32, [u32; 3])>,
    /// The strings up to the highest index a node or edge names (the rest
    /// are counted, not kept), each cut at `MAX_STRING` bytes.
    strings: Vec<u8>,
    string_ends: Vec<u64>,
    string_count: u64,
    /// The highest string index named, and where.
    highest_name: (u64, u64),
    /// The offset of the end of the file.
    end: u64,
}

/// What to read: the whole graph, or only node ids (snapshots that a diff
/// only asks "did this object exist?").
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Want {
    Graph,
    Ids,
}

/// Node ids with each node's type, sorted by id (`id << 8 | type`): enough
/// to ask "did this object exist?" and "is it the same object?".
pub struct Ids {
    keys: Vec<u64>,
    heap: Vec<bool>,
    /// As `Snapshot::fork`.
    pub fork: bool,
}

impl Ids {
    /// Sorts `keys`; a duplicate id is an error (at `at`, the end of the file).
    fn new(
        mut keys: Vec<u64>,
        node_types: &[String],
        fork: bool,
        at: u64,
    ) -> Result<Ids, AnalysisError> {
        keys.sort_unstable();
        unique(keys.iter().map(|k| k >> 8), at)?;
        Ok(Ids {
            keys,
            heap: heap_types(node_types),
            fork,
        })
    }

    /// Looks up ids asked in increasing order: a merge, not a search each.
    pub fn cursor(&self) -> Cursor<'_> {
        Cursor {
            keys: &self.keys,
            at: 0,
        }
    }

    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// Heap objects' (id, type), by id.
    pub fn heap_objects(&self) -> impl Iterator<Item = (u32, u8)> + '_ {
        self.keys
            .iter()
            .map(|&k| ((k >> 8) as u32, k as u8))
            .filter(|&(_, t)| self.heap[t as usize])
    }
}

/// `Ids` walked in increasing id order.
pub struct Cursor<'a> {
    keys: &'a [u64],
    at: usize,
}

impl Cursor<'_> {
    /// The node type of object `id`, if the snapshot has it; `id` is no
    /// lower than the one asked before.
    #[inline]
    pub fn type_of(&mut self, id: u32) -> Option<u8> {
        let id = id as u64;
        while self.keys.get(self.at).is_some_and(|&k| k >> 8 < id) {
            self.at += 1;
        }
        let k = *self.keys.get(self.at)?;
        (k >> 8 == id).then_some(k as u8)
    }
}

/// Ids, sorted, must not repeat: an error at `at` (the end of the file).
fn unique(sorted: impl Iterator<Item = u64>, at: u64) -> Result<(), AnalysisError> {
    let mut last = None;
    for id in sorted {
        if last == Some(id) {
            return Err(AnalysisError::at(
                at,
                &format!("unique node ids, found id {id} twice"),
            ));
        }
        last = Some(id);
    }
    Ok(())
}

/// Which node types are heap objects, numbered by V8 in allocation order
/// (synthetic and native nodes get other ids).
fn heap_types(node_types: &[String]) -> Vec<bool> {
    node_types
        .iter()
        .map(|name| !matches!(name.as_str(), "synthetic" | "native"))
        .collect()
}

/// Field positions from `snapshot.meta`.
pub(super) struct Meta {
    node_fields: usize,
    edge_fields: usize,
    node_type: usize,
    node_name: usize,
    node_id: usize,
    self_size: usize,
    edge_count: usize,
    /// Where `detachedness` is, if the nodes have it.
    detachedness: Option<usize>,
    edge_type: usize,
    edge_name: usize,
    edge_to: usize,
    node_types: Vec<String>,
    edge_types: Vec<String>,
    node_count: u64,
    edge_count_total: u64,
    /// `"leakguard":{"capture":"fork"}` in the header (see `Snapshot::fork`).
    fork: bool,
    /// `snapshot.meta.location_fields`: how many, and where `object_index`,
    /// `script_id`, `line` and `column` are (none: locations are not read).
    location_fields: Option<(usize, [usize; 4])>,
}

impl Meta {
    /// The bits an edge type takes (see `Snapshot::edge_to`).
    fn type_bits(&self) -> u32 {
        (self.edge_types.len().max(2) - 1).ilog2() + 1
    }

    /// The first value of the edges' second half (a record's), if there are
    /// `from` edges or more.
    pub(super) fn edges_half(&self, from: u64) -> Option<u64> {
        (self.edge_count_total >= from).then(|| self.edge_count_total / 2 * self.edge_fields as u64)
    }

    /// V8 numbers strings as it first names them, nodes then edges: no
    /// name can have a higher index than this (the first, 0, is a dummy).
    fn string_bound(&self) -> u64 {
        1 + self.node_count + self.edge_count_total
    }
}

const ATTACHED: u8 = 1;
const DETACHED: u8 = 2;

/// `Snapshot::propagate_detachedness`'s walk.
struct DomWalk {
    state: Vec<u8>,
    visited: Bits,
    detached: Bits,
    /// Attached, then detached nodes to go on from.
    work: [Vec<u32>; 2],
}

impl DomWalk {
    /// Gives a native node its state, once.
    fn visit(&mut self, node: usize, to: u8, native: bool) {
        if self.visited.get(node) {
            return;
        }
        self.visited.set(node);
        if !native {
            return; // the state does not pass through JavaScript objects
        }
        self.state[node] = to;
        match to {
            ATTACHED => self.work[0].push(node as u32),
            DETACHED => {
                self.detached.set(node);
                self.work[1].push(node as u32);
            }
            _ => {}
        }
    }
}

/// One bit per item.
pub struct Bits(Vec<u64>);

impl Bits {
    pub fn new(len: usize) -> Self {
        Bits(vec![0; len.div_ceil(64)])
    }

    #[inline]
    pub fn get(&self, i: usize) -> bool {
        self.0[i >> 6] >> (i & 63) & 1 == 1
    }

    #[inline]
    pub fn set(&mut self, i: usize) {
        self.0[i >> 6] |= 1 << (i & 63);
    }

    #[inline]
    pub fn clear(&mut self, i: usize) {
        self.0[i >> 6] &= !(1 << (i & 63));
    }

    /// Bits `64 * i` to `64 * i + 63`.
    #[inline]
    pub fn word(&self, i: usize) -> u64 {
        self.0[i]
    }
}

/// Display strings longer than this are cut (V8 itself cuts string values
/// at 1024 characters): a string's memory is bounded whatever the file says.
const MAX_STRING: usize = 4096;
/// Where a list whose size the bytes left cannot bound (gzip) starts growing.
const GROW_FROM: u64 = 1 << 16;

/// Opens a snapshot, raw or gzip; with the raw file's size, which bounds
/// what it can hold.
pub fn open(
    path: &Path,
    progress: &Progress,
) -> Result<(Box<dyn BufRead>, Option<u64>), AnalysisError> {
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
        true => {
            let inflated = inflate::ahead(MultiGzDecoder::new(buffered))
                .map_err(|e| AnalysisError::file(path, &e))?;
            (Box::new(inflated), None)
        }
        false => (Box::new(buffered), Some(size)),
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

/// Reads the graph. A raw file's edges are read by two more threads
/// meanwhile (see `ahead`).
pub fn read(path: &Path, progress: &Progress) -> Result<Snapshot, AnalysisError> {
    let (r, size) = open(path, progress)?;
    std::thread::scope(|scope| {
        let ahead = size.map(|_| Ahead::spawn(scope, path));
        match parse_ahead(r, Want::Graph, size, ahead)? {
            Parsed::Graph(s) => Ok(*s),
            Parsed::Ids(_) => unreachable!("asked for the graph"),
        }
    })
}

/// Reads node ids only.
pub fn read_ids(path: &Path, progress: &Progress) -> Result<Ids, AnalysisError> {
    let (r, size) = open(path, progress)?;
    match parse(r, Want::Ids, size)? {
        Parsed::Ids(ids) => Ok(ids),
        Parsed::Graph(_) => unreachable!("asked for ids"),
    }
}

pub enum Parsed {
    Graph(Box<Snapshot>),
    Ids(Ids),
}

/// Parses a snapshot; `size` is the input's length when known (raw files):
/// no list is given more room than the bytes left could fill.
pub fn parse<R: BufRead>(r: R, want: Want, size: Option<u64>) -> Result<Parsed, AnalysisError> {
    parse_ahead(r, want, size, None)
}

/// `parse`, with the edges taken from `ahead` if it reads them.
fn parse_ahead<R: BufRead>(
    r: R,
    want: Want,
    size: Option<u64>,
    ahead: Option<Ahead>,
) -> Result<Parsed, AnalysisError> {
    let mut l = Lexer::new(r);
    let mut st = Sections {
        meta: None,
        s: Snapshot::empty(),
        ids: Vec::new(),
        seen: [false; 3],
        edges_ahead: None,
    };
    let read = st.read(&mut l, want, size, ahead.as_ref());
    if let (Some(ahead), Some(at)) = (ahead, st.edges_ahead) {
        match ahead.join() {
            // The edges come first in the file: so does their error.
            Err(e) if read.as_ref().err().is_none_or(|r| r.offset >= Some(at)) => return Err(e),
            Err(_) => {}
            Ok(edges) => st.s.append_edges(edges),
        }
    }
    read?;
    let Sections {
        meta,
        mut s,
        ids,
        seen: [seen_nodes, seen_edges, seen_strings],
        ..
    } = st;
    let missing = |what: &str| {
        AnalysisError::at(
            l.offset(),
            &format!("a \"{what}\" section (none in this file)"),
        )
    };
    let Some(meta) = meta else {
        return Err(missing("snapshot"));
    };
    if !seen_nodes {
        return Err(missing("nodes"));
    }
    if want == Want::Ids {
        return Ids::new(ids, &meta.node_types, meta.fork, l.offset()).map(Parsed::Ids);
    }
    if !seen_edges {
        return Err(missing("edges"));
    }
    if !seen_strings {
        return Err(missing("strings"));
    }
    s.end = l.offset();
    s.fork = meta.fork;
    s.check()?;
    s.keep_locations(meta.node_fields);
    s.propagate_detachedness();
    Ok(Parsed::Graph(Box::new(s)))
}

/// What `parse` has read so far.
struct Sections {
    meta: Option<Meta>,
    s: Snapshot,
    ids: Vec<u64>,
    /// Nodes, edges, strings.
    seen: [bool; 3],
    /// Where the edges' values start, if `ahead` reads them.
    edges_ahead: Option<u64>,
}

impl Sections {
    /// The top-level object, to its end.
    fn read<R: BufRead>(
        &mut self,
        l: &mut Lexer<R>,
        want: Want,
        size: Option<u64>,
        ahead: Option<&Ahead>,
    ) -> Result<(), AnalysisError> {
        if !l.open(b'{', b'}', "'{' starting a heap snapshot")? {
            return Err(l.error("a heap snapshot object, not {}"));
        }
        let s = &mut self.s;
        loop {
            let at = l.offset();
            let key = l.key()?;
            let left = size.map(|size| size.saturating_sub(at));
            let m = self.meta.as_ref();
            let need_meta = |what: &str| {
                m.ok_or_else(|| {
                    AnalysisError::at(at, &format!("\"snapshot\" (with meta) before \"{what}\""))
                })
            };
            match key.as_str() {
                "snapshot" => self.meta = Some(Meta::from(&l.value()?, at)?),
                "nodes" => {
                    read_nodes(l, need_meta("nodes")?, want, left, s, &mut self.ids)?;
                    self.seen[0] = true;
                }
                "edges" if want == Want::Graph => {
                    let m = need_meta("edges")?;
                    if !self.seen[0] {
                        return Err(AnalysisError::at(at, "\"nodes\" before \"edges\""));
                    }
                    // A second list would be read after, or before, the first.
                    if self.seen[1] {
                        return Err(AnalysisError::at(at, "one \"edges\" section, not two"));
                    }
                    let start = l.offset();
                    if ahead.is_some_and(|a| a.reads(start)) {
                        self.edges_ahead = Some(start);
                        ahead::pass_over(l)?;
                    } else {
                        read_edges(l, m, size, s, Part::Whole)?;
                    }
                    self.seen[1] = true;
                }
                "locations" if want == Want::Graph => {
                    read_locations(l, need_meta("locations")?, s)?;
                }
                "strings" if want == Want::Graph => {
                    let m = need_meta("strings")?;
                    // Before the names are known, keep as many as could be named.
                    let keep = match self.seen[0] && self.seen[1] && self.edges_ahead.is_none() {
                        true => s.highest_name.0 + 1,
                        false => m.string_bound(),
                    };
                    read_strings(l, s, keep)?;
                    self.seen[2] = true;
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
        Ok(())
    }
}

impl Meta {
    pub(super) fn from(v: &Value, at: u64) -> Result<Meta, AnalysisError> {
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
        // Types are stored in a byte.
        let types = |key: &str| -> Result<Vec<String>, AnalysisError> {
            match meta.get(key) {
                Some(Value::Array(a)) => match a.first() {
                    Some(Value::Array(t)) if t.len() <= 256 => Ok(t
                        .iter()
                        .map(|x| match x {
                            Value::Str(s) => s.clone(),
                            _ => String::new(),
                        })
                        .collect()),
                    _ => Err(bad(&format!(
                        "snapshot.meta.{key}[0] (the type names, at most 256)"
                    ))),
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
        // Nodes and edges are numbered in 32 bits.
        let count = |key: &str| match v.get(key) {
            Some(Value::Number(n)) if n.fract() == 0.0 && (0.0..4294967296.0).contains(n) => {
                Ok(*n as u64)
            }
            _ => Err(bad(&format!("snapshot.{key} (a whole number below 2^32)"))),
        };
        let capture = v.get("leakguard").and_then(|l| l.get("capture"));
        let meta = Meta {
            fork: matches!(capture, Some(Value::Str(c)) if c == "fork"),
            node_fields: node_fields.len(),
            edge_fields: edge_fields.len(),
            node_type: at_field(&node_fields, "type", "node_fields")?,
            node_name: at_field(&node_fields, "name", "node_fields")?,
            node_id: at_field(&node_fields, "id", "node_fields")?,
            detachedness: node_fields.iter().position(|f| f == "detachedness"),
            self_size: at_field(&node_fields, "self_size", "node_fields")?,
            edge_count: at_field(&node_fields, "edge_count", "node_fields")?,
            edge_type: at_field(&edge_fields, "type", "edge_fields")?,
            edge_name: at_field(&edge_fields, "name_or_index", "edge_fields")?,
            edge_to: at_field(&edge_fields, "to_node", "edge_fields")?,
            node_types: types("node_types")?,
            edge_types: types("edge_types")?,
            node_count: count("node_count")?,
            edge_count_total: count("edge_count")?,
            location_fields: names("location_fields").ok().and_then(|fields| {
                let at = |name: &str| fields.iter().position(|f| f == name);
                let positions = [
                    at("object_index")?,
                    at("script_id")?,
                    at("line")?,
                    at("column")?,
                ];
                Some((fields.len(), positions))
            }),
        };
        // An edge's type shares its 32 bits with the target's ordinal.
        let nodes = 1u64 << (32 - meta.type_bits());
        if meta.node_count >= nodes {
            return Err(bad(&format!(
                "snapshot.node_count below {nodes} with {} edge types",
                meta.edge_types.len()
            )));
        }
        Ok(meta)
    }
}

/// How many of `declared` items to make room for before reading: no more
/// than the bytes left can hold (every value takes at least 2, as in "0,"),
/// or, when that is unknown (gzip), a start that grows as values arrive.
fn first_room(declared: u64, fields: usize, left: Option<u64>) -> usize {
    let fits = left.map_or(GROW_FROM, |left| left / (2 * fields as u64));
    declared.min(fits) as usize
}

/// Appends `x`, growing `v` (at most to `cap` items) when full; running out
/// of memory is an error, not an abort.
#[inline]
pub(super) fn put<T>(v: &mut Vec<T>, x: T, cap: usize) -> Result<(), String> {
    if v.len() == v.capacity() {
        let more = (v.len().max(GROW_FROM as usize)).min(cap.saturating_sub(v.len()).max(1));
        v.try_reserve_exact(more).map_err(|_| {
            format!(
                "memory for {} more items of {} bytes (the allocation failed)",
                more,
                std::mem::size_of::<T>()
            )
        })?;
    }
    v.push(x);
    Ok(())
}

/// Walks a flat list of records of `fields` values each (nodes, edges),
/// refusing the first value past the declared `count` records.
struct Records {
    what: &'static str,
    count: u64,
    fields: usize,
    /// `count` x `fields`.
    total: u64,
    values: u64,
    field: usize,
}

impl Records {
    fn new(what: &'static str, count: u64, fields: usize) -> Self {
        Records {
            what,
            count,
            fields,
            total: count * fields as u64,
            values: 0,
            field: 0,
        }
    }

    /// The field the next value is.
    #[inline]
    fn next(&mut self) -> Result<usize, String> {
        if self.values == self.total {
            let (what, count, fields) = (self.what, self.count, self.fields);
            return Err(format!(
                "']' after {} {what} values ({what}_count {count} x {fields} fields)",
                count * fields as u64
            ));
        }
        self.values += 1;
        let f = self.field;
        self.field = if f + 1 == self.fields { 0 } else { f + 1 };
        Ok(f)
    }

    /// Whether the last value ended a record.
    fn ended(&self) -> bool {
        self.field == 0
    }

    /// All the declared values were read: else an error at `at`.
    fn all_read(&self, at: u64) -> Result<(), AnalysisError> {
        let (what, count, fields) = (self.what, self.count, self.fields);
        if self.values == count * fields as u64 {
            return Ok(());
        }
        Err(AnalysisError::at(
            at,
            &format!(
                "{} {what} values ({what}_count {count} x {fields} fields), found {}",
                count * fields as u64,
                self.values
            ),
        ))
    }
}

/// A type value, which must index the header's list `snapshot.meta.{key}`.
fn type_of(v: u64, types: &[String], key: &str) -> Result<u64, String> {
    match v < types.len() as u64 {
        true => Ok(v),
        false => Err(format!(
            "a type in snapshot.meta.{key} (below {}), found {v}",
            types.len()
        )),
    }
}

/// A value stored in 32 bits.
fn u32_of(v: u64, what: &str) -> Result<u32, String> {
    u32::try_from(v).map_err(|_| format!("{what} below 2^32, found {v}"))
}

/// A name, which must be a string index below `bound`.
fn name_of(v: u64, bound: u64, what: &str) -> Result<u64, String> {
    match v < bound {
        true => Ok(v),
        false => Err(format!(
            "{what} below {bound} (a string index: at most node_count + edge_count + 1 strings), found {v}"
        )),
    }
}

fn read_nodes<R: BufRead>(
    l: &mut Lexer<R>,
    m: &Meta,
    want: Want,
    left: Option<u64>,
    s: &mut Snapshot,
    ids: &mut Vec<u64>,
) -> Result<(), AnalysisError> {
    let n = m.node_count as usize;
    let room = first_room(m.node_count, m.node_fields, left);
    if want == Want::Graph {
        s.node_types = m.node_types.clone();
        s.edge_types = m.edge_types.clone();
        s.type_bits = m.type_bits();
        s.heap = heap_types(&m.node_types);
        let reserve = (|| {
            s.node_type.try_reserve_exact(room)?;
            s.node_name.try_reserve_exact(room)?;
            s.node_id.try_reserve_exact(room)?;
            s.self_size.try_reserve_exact(room)?;
            s.first_edge.try_reserve_exact(room + 1)
        })();
        reserve.map_err(|_| l.error(&format!("memory for {room} nodes")))?;
        s.first_edge.push(0);
    } else {
        ids.try_reserve_exact(room)
            .map_err(|_| l.error(&format!("memory for {room} node ids")))?;
    }
    let mut records = Records::new("node", m.node_count, m.node_fields);
    let bound = m.string_bound();
    let (mut edges, mut total) = (0u64, 0u64);
    let (mut id, mut ty) = (0u64, 0u64);
    let highest = &mut s.highest_name;
    l.uints(|v, at| {
        let f = records.next()?;
        if f == m.node_type {
            ty = type_of(v, &m.node_types, "node_types")?;
        } else if f == m.node_id {
            id = u32_of(v, "a node id")? as u64;
        } else if f == m.node_name {
            name_of(v, bound, "a name")?;
            if v > highest.0 {
                *highest = (v, at);
            }
            if want == Want::Graph {
                put(&mut s.node_name, v as u32, n)?;
            }
        } else if f == m.self_size {
            total += v;
            if total >= 1 << 63 {
                return Err("self sizes summing to less than 2^63 bytes".to_string());
            }
            if want == Want::Graph {
                s.self_size.put(v, n)?;
            }
        } else if Some(f) == m.detachedness {
            if want == Want::Graph {
                put(&mut s.detachedness, (v & 3) as u8, n)?;
            }
        } else if f == m.edge_count {
            edges += v;
            if edges > m.edge_count_total {
                return Err(format!(
                    "edge counts summing to edge_count {}, found more",
                    m.edge_count_total
                ));
            }
            if want == Want::Graph {
                put(&mut s.first_edge, edges as u32, n + 1)?;
            }
        }
        if records.ended() {
            match want {
                Want::Graph => {
                    put(&mut s.node_type, ty as u8, n)?;
                    put(&mut s.node_id, id as u32, n)?;
                }
                Want::Ids => put(ids, id << 8 | ty, n)?,
            }
        }
        Ok(())
    })?;
    let at = l.offset();
    records.all_read(at)?;
    if edges != m.edge_count_total {
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

/// `v / d`, and whether `d` divides `v`: every edge's target goes through
/// here, so V8's usual field counts get a constant divisor (a multiply).
#[inline]
fn div_exact(v: u64, d: u64) -> (u64, bool) {
    match d {
        6 => (v / 6, v.is_multiple_of(6)),
        7 => (v / 7, v.is_multiple_of(7)),
        _ => (v / d, v.is_multiple_of(d)),
    }
}

/// Which of the edges' values a reader takes (see `ahead`).
#[derive(Clone, Copy)]
pub(super) enum Part {
    /// The whole array, from its `[`.
    Whole,
    /// From its `[`, the first this many values; a `Tail` reads the rest.
    Head(u64),
    /// From just after the `,` before this value (a record's first) to the `]`.
    Tail(u64),
}

/// Reads `part` of the edges; `size` as in `parse`.
pub(super) fn read_edges<R: BufRead>(
    l: &mut Lexer<R>,
    m: &Meta,
    size: Option<u64>,
    s: &mut Snapshot,
    part: Part,
) -> Result<(), AnalysisError> {
    let left = size.map(|size| size.saturating_sub(l.offset()));
    let e = m.edge_count_total as usize;
    let (first, limit) = match part {
        Part::Whole => (0, None),
        Part::Head(values) => (0, Some(values)),
        Part::Tail(first) => (first, None),
    };
    let records_left = m.edge_count_total - first / m.edge_fields as u64;
    let room = first_room(records_left, m.edge_fields, left);
    let reserve = (|| {
        s.edge_name.try_reserve_exact(room)?;
        s.edge_to.try_reserve_exact(room)
    })();
    reserve.map_err(|_| l.error(&format!("memory for {room} edges")))?;
    // Element and hidden edges carry an index, the others a string index.
    let mut indexed = [false; 256];
    for (t, name) in m.edge_types.iter().enumerate() {
        indexed[t] = matches!(name.as_str(), "element" | "hidden");
    }
    let mut records = Records::new("edge", m.edge_count_total, m.edge_fields);
    records.values = first;
    let node_values = m.node_count * m.node_fields as u64;
    let bound = m.string_bound();
    let (mut ty, mut to, mut name, mut name_at) = (0u64, 0u32, 0u64, 0u64);
    let type_bits = m.type_bits();
    let highest = &mut s.highest_name;
    let opened = match part {
        Part::Tail(_) => true,
        _ => l.open(b'[', b']', "'[' opening an array of integers")?,
    };
    if !opened {
        return records.all_read(l.offset());
    }
    l.uints_run(limit, |v, at| {
        let f = records.next()?;
        if f == m.edge_type {
            ty = type_of(v, &m.edge_types, "edge_types")?;
        } else if f == m.edge_name {
            (name, name_at) = (u32_of(v, "a name or index")? as u64, at);
        } else if f == m.edge_to {
            let (node, exact) = div_exact(v, m.node_fields as u64);
            if !exact || v >= node_values {
                return Err(format!("to_node values that index a node, found {v}"));
            }
            to = node as u32;
        }
        if records.ended() {
            // The type may come after the name: check the name once both are read.
            if !indexed[ty as usize] {
                name_of(name, bound, "an edge name")?;
                if name > highest.0 {
                    *highest = (name, name_at);
                }
            }
            put(&mut s.edge_to, to << type_bits | ty as u32, e)?;
            put(&mut s.edge_name, name as u32, e)?;
        }
        Ok(())
    })?;
    match limit {
        Some(values) if records.values == values => Ok(()),
        _ => records.all_read(l.offset()),
    }
}

/// Reads `locations` (records of `location_fields`; a file without them has
/// none). Kept as (node index, script, line, column) until the nodes are known.
fn read_locations<R: BufRead>(
    l: &mut Lexer<R>,
    m: &Meta,
    s: &mut Snapshot,
) -> Result<(), AnalysisError> {
    let Some((fields, [node, script, line, column])) = m.location_fields else {
        return l.skip();
    };
    let mut record = [0u32; 4];
    let mut field = 0;
    l.uints(|v, _| {
        let v = u32_of(v, "a location value")?;
        let slot = [node, script, line, column]
            .iter()
            .position(|&f| f == field);
        if let Some(slot) = slot {
            record[slot] = v;
        }
        field += 1;
        if field == fields {
            field = 0;
            put(
                &mut s.locations,
                (record[0], [record[1], record[2], record[3]]),
                usize::MAX,
            )?;
        }
        Ok(())
    })?;
    Ok(())
}

/// Keeps the first `keep` strings (the rest no node or edge names).
fn read_strings<R: BufRead>(
    l: &mut Lexer<R>,
    s: &mut Snapshot,
    keep: u64,
) -> Result<(), AnalysisError> {
    if !l.open(b'[', b']', "'[' opening the strings")? {
        return Ok(());
    }
    loop {
        l.peek_token()?;
        if s.string_count < keep {
            let at = l.offset();
            l.string(&mut s.strings, MAX_STRING)?;
            put(&mut s.string_ends, s.strings.len() as u64, usize::MAX)
                .map_err(|e| AnalysisError::at(at, &e))?;
        } else {
            l.string(&mut Vec::new(), 0)?;
        }
        s.string_count += 1;
        if !l.more(b']')? {
            return Ok(());
        }
    }
}

impl Snapshot {
    pub(super) fn empty() -> Self {
        Snapshot {
            fork: false,
            node_types: Vec::new(),
            edge_types: Vec::new(),
            heap: Vec::new(),
            node_type: Vec::new(),
            node_name: Vec::new(),
            node_id: Vec::new(),
            self_size: Sizes::default(),
            detachedness: Vec::new(),
            detached: Bits::new(0),
            first_edge: Vec::new(),
            edge_to: Vec::new(),
            type_bits: 0,
            edge_name: Vec::new(),
            locations: Vec::new(),
            strings: Vec::new(),
            string_ends: Vec::new(),
            string_count: 0,
            highest_name: (0, 0),
            end: 0,
        }
    }

    /// The edges (and their highest name) another reader read after these.
    pub(super) fn append_edges(&mut self, more: Snapshot) {
        if self.edge_to.is_empty() {
            (self.edge_name, self.edge_to) = (more.edge_name, more.edge_to);
        } else {
            self.edge_name.extend_from_slice(&more.edge_name);
            self.edge_to.extend_from_slice(&more.edge_to);
        }
        if more.highest_name.0 > self.highest_name.0 {
            self.highest_name = more.highest_name;
        }
    }

    /// There is a root, and every string index named exists.
    fn check(&self) -> Result<(), AnalysisError> {
        if self.node_count() == 0 {
            return Err(AnalysisError::at(
                self.end,
                "at least one node (the root); this snapshot has none",
            ));
        }
        let (highest, named_at) = self.highest_name;
        if highest >= self.string_count {
            return Err(AnalysisError::at(
                named_at,
                &format!(
                    "a name within the {} strings, found string index {highest}",
                    self.string_count
                ),
            ));
        }
        Ok(())
    }

    /// Turns the raw locations into node ordinals and keeps those of
    /// objects (grouped by location) and closures (named in retainer
    /// paths); a node listed twice
    /// keeps its last location, as in DevTools' location map.
    fn keep_locations(&mut self, node_fields: usize) {
        let kind = |name| self.node_types.iter().position(|t| t == name);
        let (object, closure) = (kind("object"), kind("closure"));
        let (n, types) = (self.node_count(), &self.node_type);
        let mut kept: Vec<(u32, [u32; 3])> = std::mem::take(&mut self.locations)
            .into_iter()
            .filter_map(|(index, at)| {
                let node = index as usize / node_fields;
                let kept = (index as usize).is_multiple_of(node_fields)
                    && node < n
                    && [object, closure].contains(&Some(types[node] as usize));
                kept.then_some((node as u32, at))
            })
            .collect();
        kept.reverse();
        kept.sort_by_key(|&(node, _)| node); // stable: the last listed comes first
        kept.dedup_by_key(|&mut (node, _)| node);
        self.locations = kept;
    }

    /// DevTools' `propagateDOMState`: native nodes reached from an attached
    /// one are attached, the rest reached from a detached one detached (not
    /// through JavaScript objects, nor hidden or weak edges); detached ones
    /// are named `Detached <name>`.
    fn propagate_detachedness(&mut self) {
        let n = self.node_count();
        if self.detachedness.len() != n {
            return; // no such field
        }
        let native = self.node_types.iter().position(|t| t == "native");
        let mut w = DomWalk {
            state: std::mem::take(&mut self.detachedness),
            visited: Bits::new(n),
            detached: Bits::new(n),
            work: [Vec::new(), Vec::new()],
        };
        let is_native = |node: usize| Some(self.node_type[node] as usize) == native;
        for node in 0..n {
            if w.state[node] != 0 {
                w.visit(node, w.state[node], is_native(node));
            }
        }
        let (hidden, weak) = (self.edge_type_index("hidden"), self.edge_type_index("weak"));
        for (list, to) in [(0, ATTACHED), (1, DETACHED)] {
            while let Some(node) = w.work[list].pop() {
                if to == DETACHED && w.state[node as usize] == ATTACHED {
                    continue;
                }
                for e in self.edges(node as usize) {
                    let t = Some(self.edge_type(e));
                    if t != hidden && t != weak {
                        let child = self.target(e);
                        w.visit(child, to, is_native(child));
                    }
                }
            }
        }
        self.detached = w.detached;
    }

    /// Whether DevTools names this native node `Detached <name>`.
    pub fn is_detached(&self, node: usize) -> bool {
        node < self.detached.0.len() * 64 && self.detached.get(node)
    }

    /// Where object `node`'s constructor, or closure `node`'s function, was
    /// defined: script id, line, column (0-based).
    pub fn location(&self, node: usize) -> Option<[u32; 3]> {
        let i = self
            .locations
            .binary_search_by_key(&(node as u32), |&(n, _)| n)
            .ok()?;
        Some(self.locations[i].1)
    }

    pub fn node_count(&self) -> usize {
        self.node_type.len()
    }

    /// The nodes by id (`id << 32 | node`), no two with one id: 8 bytes a
    /// node, for a moment (only a diff asks, a summary does not use ids).
    pub fn by_id(&self) -> Result<Vec<u64>, AnalysisError> {
        let mut keys: Vec<u64> = (self.node_id.iter().enumerate())
            .map(|(node, &id)| (id as u64) << 32 | node as u64)
            .collect();
        keys.sort_unstable();
        unique(keys.iter().map(|k| k >> 32), self.end)?;
        Ok(keys)
    }

    /// Whether a node is a heap object (see `Ids::heap_objects`).
    pub fn is_heap_object(&self, node: usize) -> bool {
        self.heap[self.node_type[node] as usize]
    }

    pub fn edge_count(&self) -> usize {
        self.edge_to.len()
    }

    pub fn string(&self, i: u32) -> &str {
        std::str::from_utf8(self.bytes(i)).unwrap_or("\u{fffd}")
    }

    /// String `i`'s bytes, undecoded.
    fn bytes(&self, i: u32) -> &[u8] {
        let i = i as usize;
        let Some(&end) = self.string_ends.get(i) else {
            return b"";
        };
        let start = if i == 0 { 0 } else { self.string_ends[i - 1] };
        &self.strings[start as usize..end as usize]
    }

    /// Whether string `i` is `text` (without decoding it).
    pub fn name_is(&self, i: u32, text: &str) -> bool {
        self.bytes(i) == text.as_bytes()
    }

    /// Whether string `i` starts with an ASCII digit (without decoding it).
    pub fn name_starts_with_digit(&self, i: u32) -> bool {
        self.bytes(i).first().is_some_and(u8::is_ascii_digit)
    }

    /// Edge `e`'s target node.
    #[inline]
    pub fn target(&self, e: usize) -> usize {
        (self.edge_to[e] >> self.type_bits) as usize
    }

    /// Edge `e`'s type (an index into `edge_types`).
    #[inline]
    pub fn edge_type(&self, e: usize) -> u8 {
        (self.edge_to[e] & ((1 << self.type_bits) - 1)) as u8
    }

    pub fn edges(&self, node: usize) -> std::ops::Range<usize> {
        self.first_edge[node] as usize..self.first_edge[node + 1] as usize
    }

    pub fn node_type_name(&self, node: usize) -> &str {
        self.node_types
            .get(self.node_type[node] as usize)
            .map_or("?", String::as_str)
    }

    /// The number of edge type `name`, if the snapshot has it.
    pub fn edge_type_index(&self, name: &str) -> Option<u8> {
        self.edge_types
            .iter()
            .position(|t| t == name)
            .map(|i| i as u8)
    }

    /// DevTools' root of DOM trees, which it counts with the user roots.
    pub fn is_dom_trees_root(&self, node: usize) -> bool {
        self.node_type_name(node) == "synthetic"
            && self.string(self.node_name[node]) == "(Document DOM trees)"
    }

    pub fn edge_type_name(&self, edge: usize) -> &str {
        self.edge_types
            .get(self.edge_type(edge) as usize)
            .map_or("?", String::as_str)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn graph(json: &str) -> Result<Snapshot, AnalysisError> {
        parse(json.as_bytes(), Want::Graph, Some(json.len() as u64)).map(|p| match p {
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
        assert_eq!(s.self_size.to_vec(), [0, 48]);
        assert_eq!(s.string(s.node_name[1]), "Thing");
        assert_eq!((s.edges(0), s.target(0)), (0..1, 1));
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
        assert!(e.expected.contains("a name below 2"), "{e}");
        let json = format!(
            r#"{head}"node_count":2,"edge_count":0}},"nodes":[0,0,1,0,0,0,2,3,0,0],"edges":[],"strings":[""]}}"#
        );
        let e = graph(&json).err().unwrap();
        assert!(e.expected.contains("found string index 2"), "{e}");
        assert_eq!(
            e.offset,
            Some(json.find("2,3,").unwrap() as u64),
            "where it is named"
        );
    }

    const HEAD: &str = r#"{"snapshot":{"meta":{"node_fields":["type","name","id","self_size","edge_count"],"node_types":[["synthetic","object"]],"edge_fields":["type","name_or_index","to_node"],"edge_types":[["element","property"]]},"#;

    fn error(json: &str) -> AnalysisError {
        graph(json).err().expect("an error")
    }

    #[test]
    fn declared_counts_cannot_allocate_more_than_the_bytes_hold() {
        // 1e15 and 2^32 are refused, and so is 2^31 with two edge types (a
        // bit of each edge goes to its type); 2^31 - 1 is believed only as
        // far as the file can hold it, and reported where the array ends.
        for (count, expected) in [
            ("1e15", "snapshot.node_count (a whole number below 2^32)"),
            (
                "4294967296",
                "snapshot.node_count (a whole number below 2^32)",
            ),
            ("2.5", "snapshot.node_count (a whole number below 2^32)"),
            (
                "2147483648",
                "snapshot.node_count below 2147483648 with 2 edge types",
            ),
            ("2147483647", "10737418235 node values"),
        ] {
            let json = format!(
                r#"{HEAD}"node_count":{count},"edge_count":0}},"nodes":[1,0,1,0,0],"edges":[],"strings":[""]}}"#
            );
            let e = error(&json);
            assert!(e.expected.contains(expected), "{count}: {e}");
            // From gzip, the size is unknown: the same answer.
            let e = parse(json.as_bytes(), Want::Graph, None).err().unwrap();
            assert!(e.expected.contains(expected), "{count}: {e}");
        }
    }

    #[test]
    fn counts_are_enforced_while_reading() {
        // One node declared, zeros without end: the read stops at the 6th value.
        let json = format!(r#"{HEAD}"node_count":1,"edge_count":0}},"nodes":[1,0,1,0,0,0,0,0,0"#);
        let e = parse(json.as_bytes(), Want::Ids, None).err().unwrap();
        assert_eq!(e.offset, Some(json.len() as u64 - 7));
        assert!(e.expected.contains("']' after 5 node values"), "{e}");
        let json = format!(
            r#"{HEAD}"node_count":1,"edge_count":1}},"nodes":[0,0,1,0,1],"edges":[0,0,0,0,0,0"#
        );
        assert!(error(&json).expected.contains("']' after 3 edge values"));
    }

    #[test]
    fn types_names_and_ids_are_checked() {
        let e = error(&format!(
            r#"{HEAD}"node_count":1,"edge_count":0}},"nodes":[2,0,1,0,0],"edges":[],"strings":[""]}}"#
        ));
        assert!(
            e.expected
                .contains("a type in snapshot.meta.node_types (below 2), found 2"),
            "{e}"
        );
        let e = error(&format!(
            r#"{HEAD}"node_count":1,"edge_count":1}},"nodes":[0,0,1,0,1],"edges":[2,0,0],"strings":[""]}}"#
        ));
        assert!(
            e.expected
                .contains("a type in snapshot.meta.edge_types (below 2), found 2"),
            "{e}"
        );
        // A property edge names a string; an element edge's number is an index.
        let e = error(&format!(
            r#"{HEAD}"node_count":1,"edge_count":1}},"nodes":[0,0,1,0,1],"edges":[1,9,0],"strings":[""]}}"#
        ));
        assert!(e.expected.contains("an edge name below 3"), "{e}");
        let e = error(&format!(
            r#"{HEAD}"node_count":1,"edge_count":1}},"nodes":[0,0,1,0,1],"edges":[1,2,0],"strings":[""]}}"#
        ));
        assert!(e.expected.contains("found string index 2"), "{e}");
        let e = error(&format!(
            r#"{HEAD}"node_count":1,"edge_count":1}},"nodes":[0,0,1,0,1],"edges":[0,0,0],"edges":[0,0,0],"strings":[""]}}"#
        ));
        assert!(e.expected.contains("one \"edges\" section, not two"), "{e}");
        graph(&format!(r#"{HEAD}"node_count":1,"edge_count":1}},"nodes":[0,0,1,0,1],"edges":[0,9,0],"strings":[""]}}"#)).unwrap();
        let json = format!(
            r#"{HEAD}"node_count":2,"edge_count":0}},"nodes":[0,0,7,0,0,1,0,7,0,0],"strings":[""]}}"#
        );
        let e = parse(json.as_bytes(), Want::Ids, None).err().unwrap();
        assert!(
            e.expected.contains("unique node ids, found id 7 twice"),
            "{e}"
        );
        let e = error(&format!(
            r#"{HEAD}"node_count":1,"edge_count":0}},"nodes":[0,0,4294967296,0,0],"edges":[],"strings":[""]}}"#
        ));
        assert!(e.expected.contains("a node id below 2^32"), "{e}");
    }

    #[test]
    fn strings_are_kept_only_as_named_and_cut() {
        let long = "x".repeat(MAX_STRING + 10);
        let s = graph(&format!(r#"{HEAD}"node_count":1,"edge_count":0}},"nodes":[0,1,1,0,0],"edges":[],"strings":["","{long}","unnamed","unnamed"]}}"#)).unwrap();
        assert_eq!(s.string(1).len(), MAX_STRING);
        assert_eq!(s.string_ends.len(), 2, "strings no node names are not kept");
    }

    /// A small snapshot shaped like V8's: a root, nodes and edges of each
    /// kind, the names DevTools treats apart, detachedness, locations.
    fn sample(rng: &mut Rng) -> String {
        let n = 2 + rng.below(30);
        let mut nodes = Vec::new();
        let mut edges = Vec::new();
        for i in 0..n {
            let out = rng.below(5);
            let ty = if i == 0 { 0 } else { rng.below(7) };
            // Names below n + 1: within the strings V8 could have numbered.
            nodes.extend([
                ty,
                rng.below(8).min(n),
                1 + 2 * i,
                rng.below(100),
                out,
                rng.below(4),
            ]);
            for _ in 0..out {
                let ty = rng.below(6);
                let name = if ty == 0 || ty == 5 {
                    rng.below(50)
                } else {
                    rng.below(8).min(n)
                };
                edges.extend([ty, name, 6 * rng.below(n)]);
            }
        }
        let locations: Vec<u64> = (0..rng.below(4))
            .flat_map(|_| {
                [
                    6 * rng.below(n) + rng.below(2),
                    rng.below(3),
                    rng.below(9),
                    rng.below(9),
                ]
            })
            .collect();
        format!(
            r#"{{"snapshot":{{"meta":{{"node_fields":["type","name","id","self_size","edge_count","detachedness"],"node_types":[["synthetic","object","array","hidden","native","closure","code"]],"edge_fields":["type","name_or_index","to_node"],"edge_types":[["element","property","weak","shortcut","internal","hidden"]],"location_fields":["object_index","script_id","line","column"]}},"node_count":{n},"edge_count":{}}},"nodes":{nodes:?},"edges":{edges:?},"trace_tree":[],"locations":{locations:?},"strings":["","a\u00e9","Object","__proto__","system / ExternalStringData","(Document DOM trees)","1 / part of key (a @3) -> value (b @5) pair in WeakMap (table @3)","<div id=x>"]}}"#,
            edges.len() / 3
        )
    }

    /// A deterministic generator (xorshift): the same cases on every run.
    struct Rng(u64);

    impl Rng {
        fn below(&mut self, n: u64) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0 % n.max(1)
        }
    }

    /// Case `case`'s change to a well-formed snapshot: a truncation, byte
    /// mutations, a count lie, values past the counts, or none (`case % 5 == 4`).
    fn mutate(case: u64, rng: &mut Rng) -> Vec<u8> {
        let mut json = sample(rng).into_bytes();
        match case % 5 {
            0 => json.truncate(rng.below(json.len() as u64) as usize),
            1 => {
                for _ in 0..1 + rng.below(3) {
                    let at = rng.below(json.len() as u64) as usize;
                    json[at] = b"0123456789,[]{}\":-.e9 x\xff"[rng.below(24) as usize];
                }
            }
            3 => {
                let text = String::from_utf8(json).unwrap();
                let key = ["\"node_count\":", "\"edge_count\":"][rng.below(2) as usize];
                let lie = [
                    "0",
                    "1",
                    "4294967295",
                    "1000000000000000",
                    "99",
                    "-1",
                    "1e400",
                ][rng.below(7) as usize];
                let at = text.find(key).unwrap() + key.len();
                let end = at + text[at..].find([',', '}']).unwrap();
                json = format!("{}{lie}{}", &text[..at], &text[end..]).into_bytes();
            }
            4 => {} // as written: must be read
            _ => {
                // Values past the declared counts.
                let text = String::from_utf8(json).unwrap();
                json = text
                    .replacen("],\"edges\"", &",0".repeat(1 + rng.below(50) as usize), 1)
                    .into_bytes();
            }
        }
        json
    }

    /// Truncations, byte mutations and count lies of well-formed snapshots,
    /// raw and gzip: each gives an error or a graph, never a panic; a graph
    /// read keeps its invariants and never has more room than it declared.
    #[test]
    fn mutated_snapshots_give_an_error_or_a_graph() {
        use std::io::Write;
        let mut rng = Rng(0x9e3779b97f4a7c15);
        let (mut ok, mut failed) = (0, 0);
        for case in 0..3000 {
            let json = mutate(case, &mut rng);
            let must_read = case % 5 == 4;
            let gzip = case % 3 == 0;
            let result = if gzip {
                let mut z = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
                z.write_all(&json).unwrap();
                let z = z.finish().unwrap();
                parse(
                    std::io::BufReader::new(flate2::read::MultiGzDecoder::new(&z[..])),
                    Want::Graph,
                    None,
                )
            } else {
                parse(&json[..], Want::Graph, Some(json.len() as u64))
            };
            match result {
                Ok(Parsed::Graph(s)) => {
                    ok += 1;
                    let mut s = *s;
                    assert!(s.node_type.capacity() <= 31 && s.edge_to.capacity() <= 31 * 4);
                    assert_eq!(s.first_edge.len(), s.node_count() + 1);
                    assert_eq!(*s.first_edge.last().unwrap() as usize, s.edge_count());
                    assert!((0..s.edge_count()).all(|e| s.target(e) < s.node_count()));
                    // The whole analysis runs on whatever graph was read.
                    let total = s.self_size.total();
                    super::super::owned::transfer(&mut s);
                    let d = super::super::dominators::compute(&s);
                    assert_eq!(d.retained.get(0), total, "every node is under the root");
                    let c = super::super::classes::compute(&s);
                    super::super::groups::group(&s, d.idom, &d.retained, &c, |_| true);
                }
                Ok(Parsed::Ids(_)) => unreachable!(),
                Err(e) => {
                    failed += 1;
                    assert!(e.offset.is_some() && !must_read, "{e}");
                }
            }
        }
        assert!(
            ok >= 600 && failed > 1000,
            "both outcomes are exercised: {ok} / {failed}"
        );
    }
    /// The edges read ahead on more threads (raw files), and gzip
    /// decompressed on a thread of its own, give the same graph, or the
    /// same error, as one reader.
    #[test]
    fn reading_ahead_matches_one_reader() {
        use std::io::Write;
        let dir = std::env::temp_dir().join(format!("leakguard-ahead-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let mut rng = Rng(0x2545f4914f6cdd1d);
        let mut ahead = 0;
        for case in 0..1500 {
            let json = mutate(case, &mut rng);
            let file = dir.join("s.heapsnapshot");
            let one = if case % 4 == 0 {
                // gzip, sometimes cut short
                let mut z = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
                z.write_all(&json).unwrap();
                let mut z = z.finish().unwrap();
                if case % 8 == 0 {
                    // Past the magic bytes, which make it gzip.
                    z.truncate(2 + rng.below(z.len() as u64 - 2) as usize);
                }
                std::fs::write(&file, &z).unwrap();
                let unzip = flate2::read::MultiGzDecoder::new(&z[..]);
                graph_of(parse(std::io::BufReader::new(unzip), Want::Graph, None))
            } else {
                std::fs::write(&file, &json).unwrap();
                graph_of(parse(&json[..], Want::Graph, Some(json.len() as u64)))
            };
            let two = read(&file, &Progress::new(false)).map_err(|e| (e.offset, e.expected));
            match (&one, &two) {
                (Ok(a), Ok(b)) => {
                    assert_eq!(
                        (&a.edge_name, &a.edge_to, a.highest_name),
                        (&b.edge_name, &b.edge_to, b.highest_name),
                        "case {case}"
                    );
                    assert_eq!((&a.node_id, &a.first_edge), (&b.node_id, &b.first_edge));
                    ahead += 1;
                }
                (Err(a), Err(b)) => assert_eq!(a, b, "case {case}"),
                _ => panic!("case {case}: {:?} vs {:?}", one.err(), two.err()),
            }
        }
        std::fs::remove_dir_all(&dir).unwrap();
        assert!(ahead > 300, "{ahead} graphs read");
    }

    fn graph_of(p: Result<Parsed, AnalysisError>) -> Result<Snapshot, (Option<u64>, String)> {
        match p {
            Ok(Parsed::Graph(s)) => Ok(*s),
            Ok(Parsed::Ids(_)) => unreachable!(),
            Err(e) => Err((e.offset, e.expected)),
        }
    }
}
