//! Whether three snapshots can be diffed: one process, oldest first, object
//! ids kept. V8 numbers heap objects in increasing order as it first sees
//! them, and with `objectIds: 'keep'` an object keeps its id while it lives.
//! So between an older snapshot `a` and a newer `b` of one process, an id
//! both have is one object (of one node type), and every object that `b`
//! has and `a` has not is numbered above all of `a`'s. Another process, or
//! ids reset in between, breaks the first rule (V8 then numbers by heap
//! position, so an id lands on another object); the wrong order breaks the
//! second. A later snapshot of another process that ran the same code the
//! same way can look like this one's, so it may be reported as out of
//! order: refused either way. Synthetic and native nodes are left out: their ids follow other
//! rules.

use std::path::Path;

use super::snapshot::Ids;
use super::AnalysisError;

/// One in this many may break a rule. Snapshots of one process broke
/// neither (0 of ~76000 objects); other processes and resets broke the
/// first for 10-40 % of shared ids, reversed order the second for all.
const TOLERANCE: u64 = 100;

/// Checks that `b` (heap objects' id and type, by id) can follow `a`; the
/// names (`s1`) and files say which they are, for the message.
pub fn check(
    a: (&str, &Path, &Ids),
    b: (&str, &Path, impl Iterator<Item = (u32, u8)>),
) -> Result<(), AnalysisError> {
    let mut tally = Tally::new(a.2);
    let mut older = a.2.cursor();
    for (id, ty) in b.2 {
        tally.add(older.type_of(id), id, ty);
    }
    tally.verdict((a.0, a.1), (b.0, b.1))
}

/// Refuses fork snapshots (`forks[i]` for `files[i]`): the child numbers
/// objects afresh, and V8 drops the process's ids after the aborted pass,
/// so a fork snapshot's ids match no other snapshot's, before or after it.
pub fn not_forked(files: [&Path; 3], forks: [bool; 3]) -> Result<(), AnalysisError> {
    let Some(i) = forks.iter().position(|&f| f) else {
        return Ok(());
    };
    Err(AnalysisError::unfit(format!(
        "s{} ({}) was taken with capture: 'fork': a fork snapshot gets fresh object ids (and \
         resets the process's), so it cannot be compared by id with any other snapshot; take \
         s1, s2 and s3 with capture: 'in-process' (the default), and read a fork snapshot on \
         its own with `leakguard summary`",
        i + 1,
        files[i].display()
    )))
}

/// The newer snapshot's heap objects, counted against the older's.
pub struct Tally {
    newest: u32,
    shared: u64,
    retyped: u64,
    new: u64,
    older: u64,
}

impl Tally {
    pub fn new(older: &Ids) -> Self {
        Tally {
            newest: older.heap_objects().last().map_or(0, |(id, _)| id),
            shared: 0,
            retyped: 0,
            new: 0,
            older: 0,
        }
    }

    /// A heap object `id` of type `ty`; the older snapshot's type for it.
    #[inline]
    pub fn add(&mut self, in_older: Option<u8>, id: u32, ty: u8) {
        match in_older {
            Some(t) => {
                self.shared += 1;
                self.retyped += (t != ty) as u64;
            }
            None => {
                self.new += 1;
                self.older += (id < self.newest) as u64;
            }
        }
    }

    pub fn verdict(
        &self,
        (a_name, a_file): (&str, &Path),
        (b_name, b_file): (&str, &Path),
    ) -> Result<(), AnalysisError> {
        let Tally {
            shared,
            retyped,
            new,
            older,
            ..
        } = *self;
        if retyped * TOLERANCE > shared {
            return Err(AnalysisError::unfit(format!(
                "{a_name} ({}) and {b_name} ({}) are not from the same process, or object ids \
                 were reset between them (objectIds: 'reset'): {retyped} of the {shared} objects \
                 they share by id are a different kind of object in {b_name}; take all three \
                 snapshots from one process with objectIds 'keep' (the default)",
                a_file.display(),
                b_file.display()
            )));
        }
        if older * TOLERANCE > new {
            return Err(AnalysisError::unfit(format!(
                "the snapshots are out of order: {b_name} ({}) was taken before {a_name} ({}), \
                 or they are from different processes: {older} of the {new} objects that \
                 {b_name} has and {a_name} has not are numbered below {a_name}'s newest object; \
                 pass them oldest first (s1, s2, s3), all three from one process",
                b_file.display(),
                a_file.display()
            )));
        }
        Ok(())
    }
}
