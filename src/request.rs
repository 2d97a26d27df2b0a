//! What a trigger asks capture for, and what a snapshot produced: plain
//! values shared by config, the triggers, capture and the reports, so that
//! none of them has to import another for its types.

use std::path::PathBuf;

use crate::destination::Destination;
use crate::error::{LgError, LgResult};
use crate::guard::{GuardReport, Headroom};
use crate::sink::s3::Uploaded;
use crate::sink::Retain;

pub const REASON_API: &str = "api";
pub const REASON_SIGNAL: &str = "signal";
pub const REASON_THRESHOLD: &str = "threshold";
pub const REASON_NEAR_LIMIT: &str = "near-heap-limit";
pub const REASON_HTTP: &str = "http";

pub struct Request {
    pub dest: Destination,
    /// What asked for the snapshot (`'api'`, `'signal'`, ..., or the caller's label).
    pub reason: String,
    pub object_ids: ObjectIds,
    /// Where V8 builds and serializes the snapshot.
    pub capture: CaptureMode,
    pub headroom: Headroom,
    /// Write one stderr line with the outcome: for triggers nobody awaits.
    pub announce: bool,
    /// Which of leakguard's older files to delete after this one.
    pub retain: Retain,
    /// Hears the outcome where it is known (a writer or upload thread),
    /// before the JS thread settles: for a requester that cannot wait for a
    /// JS thread that may be stuck (the route's native listener).
    pub tap: Option<Tap>,
}

pub type Tap = Box<dyn FnOnce(&LgResult<Snapshot>) + Send>;

/// What happens to V8's object-id map after a snapshot.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ObjectIds {
    /// Ids stay stable across snapshots (needed to compare them); the map
    /// costs about 50 bytes per live object from the first snapshot on.
    #[default]
    Keep,
    /// The map is dropped: memory returns, but the next snapshot's ids do not
    /// match this one's.
    Reset,
    /// Not a choice, an outcome: a fork snapshot numbers objects afresh, and
    /// V8 dropped the process's map (see `capture::fork`).
    Fresh,
}

impl ObjectIds {
    pub fn as_str(self) -> &'static str {
        match self {
            ObjectIds::Keep => "keep",
            ObjectIds::Reset => "reset",
            ObjectIds::Fresh => "fresh",
        }
    }

    /// What a caller may ask for.
    pub fn parse(s: &str) -> Option<Self> {
        [ObjectIds::Keep, ObjectIds::Reset]
            .into_iter()
            .find(|v| v.as_str() == s)
    }
}

/// Where V8 builds and serializes a snapshot.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum CaptureMode {
    /// On the isolate's thread, which is blocked meanwhile.
    #[default]
    InProcess,
    /// In a forked child (Linux): the thread is blocked only until V8's
    /// garbage collection and the fork are done; ids come out fresh.
    Fork,
}

impl CaptureMode {
    pub fn as_str(self) -> &'static str {
        match self {
            CaptureMode::InProcess => "in-process",
            CaptureMode::Fork => "fork",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [CaptureMode::InProcess, CaptureMode::Fork]
            .into_iter()
            .find(|v| v.as_str() == s)
    }
}

/// What one completed snapshot produced and cost.
#[derive(Clone, Debug)]
pub struct Snapshot {
    pub path: PathBuf,
    pub bytes: u64,
    pub raw_bytes: u64,
    pub gzip: Option<u32>,
    pub reason: String,
    pub heap_used: u64,
    /// How long the JS thread was blocked (take + serialize + delete).
    pub block_ms: f64,
    /// From the request's start to the file's rename (the upload comes after).
    pub total_ms: f64,
    pub rss_before: u64,
    pub rss_after: u64,
    /// What was done with V8's object-id map.
    pub object_ids: ObjectIds,
    /// `None` when the guard is off (or had nothing to read).
    pub guard: Option<GuardReport>,
    /// What a fork capture cost; `None` in-process.
    pub fork: Option<ForkReport>,
    /// Older files retention could not delete: `'error'` events after this
    /// snapshot's own, which succeeded.
    pub retention_failures: Vec<LgError>,
    /// Where the file went in S3, once verified there.
    pub s3: Option<Uploaded>,
}

/// What a fork capture cost, as the parent saw it.
#[derive(Clone, Copy, Debug)]
pub struct ForkReport {
    pub pid: u32,
    /// The child's peak RSS (its snapshot graph and the pages it copied).
    pub child_peak_rss: u64,
    /// How far the parent's RSS grew above its level at the fork while the
    /// child ran (copy-on-write as the app kept writing), as sampled.
    pub parent_growth: u64,
    /// The parent's block, in ms: V8's collection and object count, the
    /// fork, V8's aborted pass.
    pub gc_ms: f64,
    pub fork_ms: f64,
    pub abort_ms: f64,
}
