//! A raw file's edges, about two thirds of its bytes, read on two more
//! threads (halves split at a record) from where they start, while the
//! first thread reads the rest and passes over them. V8 writes `"nodes"`
//! then `"edges"`, and node values are plain integers: the first `"` after
//! the nodes' `[` opens the next key. Any other layout is read by the first
//! thread alone, as before.

use std::fs::File;
use std::io::{BufRead, BufReader, Seek, SeekFrom};
use std::path::Path;
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
use std::thread::{Scope, ScopedJoinHandle};

use super::json::Lexer;
use super::snapshot::{read_edges, Meta, Part, Snapshot};
use super::AnalysisError;

pub struct Ahead<'scope> {
    /// Where the edges' values start, if this reader found them.
    start: Receiver<Option<u64>>,
    reader: ScopedJoinHandle<'scope, Result<Snapshot, AnalysisError>>,
}

impl<'scope> Ahead<'scope> {
    pub fn spawn<'env>(scope: &'scope Scope<'scope, 'env>, path: &'env Path) -> Self {
        let (found, start) = sync_channel(1);
        let reader = scope.spawn(move || read(path, found));
        Ahead { start, reader }
    }

    /// Whether this reader reads the edges whose values start at `at` (asked once).
    pub fn reads(&self, at: u64) -> bool {
        self.start.recv() == Ok(Some(at))
    }

    /// The edges, once `reads` said so.
    pub fn join(self) -> Result<Snapshot, AnalysisError> {
        self.reader.join().expect("the edge reader does not panic")
    }
}

/// Below this many edges, one thread reads them all (the unit tests' small
/// snapshots are split too).
const SPLIT_FROM: u64 = if cfg!(test) { 4 } else { 1 << 16 };

/// Finds the edges (telling `found` where, or that they are not there) and
/// reads them: the first half here, the second on a thread of its own.
fn read(path: &Path, found: SyncSender<Option<u64>>) -> Result<Snapshot, AnalysisError> {
    let mut edges = Snapshot::empty();
    let Some((mut l, meta, size)) = find(path) else {
        let _ = found.send(None);
        return Ok(edges);
    };
    let start = l.offset();
    let _ = found.send(Some(start));
    let Some(half) = meta.edges_half(SPLIT_FROM) else {
        read_edges(&mut l, &meta, Some(size), &mut edges, Part::Whole)?;
        return Ok(edges);
    };
    std::thread::scope(|scope| {
        let tail = scope.spawn(|| read_tail(path, &meta, start, half, size));
        read_edges(&mut l, &meta, Some(size), &mut edges, Part::Head(half))?;
        match tail.join().expect("the edge reader does not panic") {
            Some((at, tail)) if at == l.offset() => edges.append_edges(tail?),
            // Not found where this half ended: this thread reads on.
            _ => read_edges(&mut l, &meta, Some(size), &mut edges, Part::Tail(half))?,
        }
        Ok(edges)
    })
}

/// The edges from value `from` on, and where they start: `None` if that
/// place cannot be found (the other half then reads on).
fn read_tail(
    path: &Path,
    meta: &Meta,
    start: u64,
    from: u64,
    size: u64,
) -> Option<(u64, Result<Snapshot, AnalysisError>)> {
    let at = after_commas(path, start, from)?;
    let mut file = File::open(path).ok()?;
    file.seek(SeekFrom::Start(at)).ok()?;
    let mut l = Lexer::at(BufReader::with_capacity(1 << 20, file), at);
    let mut tail = Snapshot::empty();
    let read = read_edges(&mut l, meta, Some(size), &mut tail, Part::Tail(from));
    Some((at, read.map(|_| tail)))
}

/// Just after the `n`th `,` from `start`, if it comes before a `]`: where
/// value `n` of an integer array starts.
fn after_commas(path: &Path, start: u64, n: u64) -> Option<u64> {
    let mut file = File::open(path).ok()?;
    file.seek(SeekFrom::Start(start)).ok()?;
    let mut r = BufReader::with_capacity(1 << 20, file);
    let (mut seen, mut offset) = (0u64, start);
    loop {
        let buf = r.fill_buf().ok()?;
        if buf.is_empty() {
            return None;
        }
        let end = memchr::memchr(b']', buf);
        let run = &buf[..end.unwrap_or(buf.len())];
        let commas = run.iter().filter(|&&b| b == b',').count() as u64;
        if seen + commas >= n {
            let k = memchr::memchr_iter(b',', run).nth((n - seen - 1) as usize)?;
            return Some(offset + k as u64 + 1);
        }
        if end.is_some() {
            return None;
        }
        (seen, offset) = (seen + commas, offset + buf.len() as u64);
        let len = buf.len();
        r.consume(len);
    }
}

/// The file positioned after `"edges":`, with the header read before it;
/// `None` for any other layout (or error: the first thread reports it).
fn find(path: &Path) -> Option<(Lexer<BufReader<File>>, Meta, u64)> {
    let file = File::open(path).ok()?;
    let size = file.metadata().ok()?.len();
    let mut l = Lexer::new(BufReader::with_capacity(1 << 20, file));
    l.open(b'{', b'}', "").ok()?;
    let mut meta = None;
    loop {
        let at = l.offset();
        match l.key().ok()?.as_str() {
            "snapshot" => meta = Some(Meta::from(&l.value().ok()?, at).ok()?),
            "nodes" => break,
            _ => l.skip().ok()?,
        }
        if !l.more(b'}').ok()? {
            return None;
        }
    }
    l.expect(b'[', "").ok()?;
    if !l.skip_until(b'"').ok()? || l.key().ok()? != "edges" {
        return None;
    }
    Some((l, meta?, size))
}

/// The edges' array, passed over (the other thread checks its values).
pub fn pass_over<R: BufRead>(l: &mut Lexer<R>) -> Result<(), AnalysisError> {
    l.expect(b'[', "'[' opening the edges")?;
    l.skip_until(b']')?;
    l.expect(b']', "']' closing the edges")
}
