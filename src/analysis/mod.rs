//! Offline heap-snapshot analysis: `summary` of one snapshot and `diff` of
//! three (s1 before, s2 after load, s3 after more load: what s2 allocated
//! that s1 did not have and s3 still holds). Reads files only; knows nothing
//! of capture.

mod ahead;
mod classes;
mod code;
mod dominators;
mod groups;
mod hops;
mod inflate;
mod json;
mod order;
mod owned;
mod paths;
mod progress;
mod sizes;
mod snapshot;

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};

pub use groups::Group;
pub use hops::Hop;
pub use progress::Progress;
use sizes::Sizes;
use snapshot::Bits;

/// Totals and the top constructors of one snapshot.
/// Sizes, classes and retained sizes are DevTools' (see `model`).
pub struct Summary {
    pub nodes: u64,
    pub edges: u64,
    /// Sum of every node's self size.
    pub total_size: u64,
    pub by_count: Vec<Group>,
    pub by_self_size: Vec<Group>,
    pub by_retained_size: Vec<Group>,
}

/// Objects allocated between s1 and s2 and still alive in s3, by class:
/// DevTools' rows for them (its Summary of s3 restricted to these objects),
/// of the node types an application allocates (`groups::is_user_object`).
pub struct Diff {
    pub nodes: [u64; 3],
    /// Leaked objects in s3: the groups' objects (of the types an
    /// application allocates, with a self size).
    pub leaked: u64,
    pub groups: Vec<LeakGroup>,
}

pub struct LeakGroup {
    pub group: Group,
    /// How a typical member is held, from the roots.
    pub path: Option<hops::Path>,
}

pub fn summary(file: &Path, top: usize, progress: &Progress) -> Result<Summary, AnalysisError> {
    progress.phase("reading");
    let mut s = snapshot::read(file, progress).map_err(|e| e.in_file(file))?;
    let (d, c) = model(&mut s, progress);
    let all = groups::group(&s, d.idom, &d.retained, &c, |_| true);
    let top_by = |key: fn(&Group) -> u64| {
        let mut g = all.clone();
        g.sort_by(|a, b| {
            key(b)
                .cmp(&key(a))
                .then(a.name.cmp(&b.name))
                .then(a.class.cmp(&b.class))
        });
        g.truncate(top);
        g
    };
    let summary = Summary {
        nodes: s.node_count() as u64,
        edges: s.edge_count() as u64,
        total_size: s.self_size.total(),
        by_count: top_by(|g| g.count),
        by_self_size: top_by(|g| g.self_size),
        by_retained_size: top_by(|g| g.retained_size),
    };
    progress.done();
    Ok(summary)
}

/// What DevTools makes of a snapshot before its Summary view: internal
/// arrays' sizes moved to their owners (`owned`), dominators over the
/// edges that count (`dominators`), class names (`classes`).
fn model(
    s: &mut snapshot::Snapshot,
    progress: &Progress,
) -> (dominators::Dominators, classes::Classes) {
    owned::transfer(s);
    progress.phase("dominators");
    let d = dominators::compute(s);
    progress.phase("classes");
    let c = classes::compute(s);
    (d, c)
}

pub fn diff(files: [&Path; 3], top: usize, progress: &Progress) -> Result<Diff, AnalysisError> {
    // s1 and s2 (ids only) are read on a second thread while s3 is parsed.
    progress.phase("reading s1, s2, s3");
    let quiet = Progress::new(false);
    let (ids, s3) = std::thread::scope(|scope| {
        let ids = scope.spawn(|| {
            let read = |f: &Path| snapshot::read_ids(f, &quiet).map_err(|e| e.in_file(f));
            Ok::<_, AnalysisError>((read(files[0])?, read(files[1])?))
        });
        let s3 = snapshot::read(files[2], progress).map_err(|e| e.in_file(files[2]));
        (ids.join().expect("the id reader does not panic"), s3)
    });
    let (ids1, ids2) = ids?;
    let mut s3 = s3?;
    owned::transfer(&mut s3);
    progress.phase("dominators");
    // Everything else the groups need runs beside the dominators: the
    // checks, which objects leaked (whether s3 can follow s2 is counted in
    // that pass), the classes.
    let nodes = [ids1.len() as u64, ids2.len() as u64, s3.node_count() as u64];
    let (others, d) = std::thread::scope(|scope| {
        let s3 = &s3;
        // s1's and s2's ids go once the leaked objects are known.
        let others = scope.spawn(move || {
            let forks = [ids1.fork, ids2.fork, s3.fork];
            order::not_forked(files, forks)?;
            let by_id = s3.by_id().map_err(|e| e.in_file(files[2]))?;
            order::check(
                ("s1", files[0], &ids1),
                ("s2", files[1], ids2.heap_objects()),
            )?;
            let mut tally = order::Tally::new(&ids2);
            let mut leaked = Bits::new(s3.node_count());
            // All three walked by id, side by side.
            let (mut in_s1, mut in_s2) = (ids1.cursor(), ids2.cursor());
            for key in by_id {
                let (id, n) = ((key >> 32) as u32, key as u32 as usize);
                let s2_type = in_s2.type_of(id);
                if s3.is_heap_object(n) {
                    tally.add(s2_type, id, s3.node_type[n]);
                }
                if s2_type.is_some() && in_s1.type_of(id).is_none() {
                    leaked.set(n);
                }
            }
            tally.verdict(("s2", files[1]), ("s3", files[2]))?;
            drop((ids1, ids2));
            let c = classes::compute(s3);
            Ok::<_, AnalysisError>((leaked, c))
        });
        let d = dominators::compute(s3);
        (others.join().expect("the checks do not panic"), d)
    });
    let (leaked, c) = others?;
    let leaked = |n: usize| leaked.get(n) && groups::is_user_object(&s3, n);
    let retained = d.retained;
    let mut all = groups::group(&s3, d.idom, &retained, &c, leaked);
    let count = all.iter().map(|g| g.count).sum();
    all.truncate(top);
    progress.phase("retainer paths");
    let retainers = paths::Retainers::new(&s3);
    let typical = typical_members(&s3, &retained, &c, &retainers, &all, leaked);
    let groups = all
        .into_iter()
        .zip(typical)
        .map(|(group, member)| LeakGroup {
            path: member
                .and_then(|m| retainers.edges(&s3, m))
                .map(|edges| hops::read(&s3, &c, &retained, &edges)),
            group,
        })
        .collect();
    let diff = Diff {
        nodes,
        leaked: count,
        groups,
    };
    progress.done();
    Ok(diff)
}

/// For each group, the member whose path to show: among the members, find
/// the kind of retainer (by class) that holds the most of them (the leaking
/// container, or the leaking records when each holds a few, not a one-off
/// object that happens to be big or to hold many), and take the largest
/// member held by one.
fn typical_members(
    s: &snapshot::Snapshot,
    retained: &Sizes,
    c: &classes::Classes,
    retainers: &paths::Retainers,
    groups: &[Group],
    member: impl Fn(usize) -> bool,
) -> Vec<Option<usize>> {
    let index: HashMap<u32, usize> = groups
        .iter()
        .enumerate()
        .map(|(i, g)| (g.class, i))
        .collect();
    // (group, retainer's class) -> (members held, largest member)
    let mut tally: HashMap<(usize, usize), (u64, usize)> = HashMap::new();
    for n in 0..s.node_count() {
        if !member(n) || s.self_size.get(n) == 0 {
            continue;
        }
        let Some(&g) = index.get(&c.of[n]) else {
            continue;
        };
        let Some(parent) = retainers.parent(n) else {
            continue; // held only weakly: no path to show
        };
        let entry = tally.entry((g, c.of[parent] as usize)).or_insert((0, n));
        entry.0 += 1;
        if retained.get(n) > retained.get(entry.1) {
            entry.1 = n;
        }
    }
    let mut best: Vec<Option<(u64, u64, usize)>> = vec![None; groups.len()];
    for ((g, _), (count, node)) in tally {
        let candidate = (count, retained.get(node), node);
        if best[g].is_none_or(|b| candidate > b) {
            best[g] = Some(candidate);
        }
    }
    best.into_iter()
        .map(|b| b.map(|(_, _, node)| node))
        .collect()
}

/// A file that cannot be analysed: where, and what was expected there.
#[derive(Debug, Clone)]
pub struct AnalysisError {
    pub file: Option<PathBuf>,
    /// Byte offset in the (decompressed) JSON, for format errors.
    pub offset: Option<u64>,
    pub expected: String,
    /// A statement of its own (not "expected ..."): why files cannot be diffed.
    pub unfit: bool,
}

impl AnalysisError {
    pub fn at(offset: u64, expected: &str) -> Self {
        AnalysisError {
            file: None,
            offset: Some(offset),
            expected: expected.to_string(),
            unfit: false,
        }
    }

    /// Files that are each fine but cannot be diffed; `why` says what to do.
    pub fn unfit(why: String) -> Self {
        AnalysisError {
            file: None,
            offset: None,
            expected: why,
            unfit: true,
        }
    }

    /// A bug in leakguard, not in the file.
    pub fn internal() -> Self {
        AnalysisError {
            file: None,
            offset: None,
            expected:
                "no internal error (leakguard's analysis failed; please report it with the file)"
                    .to_string(),
            unfit: false,
        }
    }

    pub fn io(offset: u64, e: &std::io::Error) -> Self {
        AnalysisError {
            file: None,
            offset: Some(offset),
            expected: format!("readable data ({e})"),
            unfit: false,
        }
    }

    pub fn file(path: &Path, e: &std::io::Error) -> Self {
        AnalysisError {
            file: Some(path.to_path_buf()),
            offset: None,
            expected: format!("a readable file ({e})"),
            unfit: false,
        }
    }

    fn in_file(mut self, path: &Path) -> Self {
        self.file.get_or_insert_with(|| path.to_path_buf());
        self
    }
}

impl fmt::Display for AnalysisError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.unfit {
            return f.write_str(&self.expected);
        }
        let file = self.file.as_deref().map(Path::display);
        match (file, self.offset) {
            (Some(file), Some(at)) => write!(f, "{file}: at byte {at}: expected {}", self.expected),
            (Some(file), None) => write!(f, "{file}: expected {}", self.expected),
            (None, Some(at)) => write!(f, "at byte {at}: expected {}", self.expected),
            (None, None) => write!(f, "expected {}", self.expected),
        }
    }
}
