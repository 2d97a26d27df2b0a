//! What JS receives: a snapshot's result, the guard's numbers, an upload's
//! outcome. Plain napi objects (they become index.d.ts types), built from
//! the values below them.

use crate::request::Snapshot;
use crate::sink::s3::Uploaded;

/// What a snapshot produced and what it cost.
#[napi(object)]
pub struct SnapshotResult {
    /// Absolute path of the finished file (ends in `.gz` when gzipped). With
    /// S3 and without `keepLocal`, it is deleted once uploaded.
    pub path: String,
    /// Size of the file on disk.
    pub bytes: i64,
    /// Size of the uncompressed snapshot JSON.
    pub raw_bytes: i64,
    /// Whether the file is gzip-compressed.
    pub gzip: bool,
    /// The gzip level used, when `gzip` is true.
    pub gzip_level: Option<u32>,
    /// What asked for the snapshot: `'api'` unless the caller passed a `reason`.
    pub reason: String,
    /// V8's used heap size just before the snapshot, in bytes.
    pub heap_used: i64,
    /// How long the JS thread (event loop) was blocked: take, serialize,
    /// delete, in ms; for a fork capture, V8's collection and count, the
    /// fork and V8's aborted pass.
    pub block_ms: f64,
    /// From the call to the complete, renamed file, in ms (an upload's own
    /// time is `s3.afterFileMs` on top).
    pub total_ms: f64,
    /// Process RSS before the snapshot, in bytes.
    pub rss_before: i64,
    /// Process RSS once the file was complete and freed memory returned to the OS.
    pub rss_after: i64,
    /// What was done with V8's object-id map: `'reset'` only when asked for
    /// and possible (not in the `node-v8` fallback); `'fresh'` after a fork
    /// capture, whose ids match no other snapshot's (V8 dropped the map).
    #[napi(ts_type = "'keep' | 'reset' | 'fresh'")]
    pub object_ids: String,
    /// What a fork capture (`capture: 'fork'`) cost; absent in-process.
    pub fork: Option<ForkResult>,
    /// What the memory-headroom guard decided; absent when it is off.
    pub headroom: Option<HeadroomResult>,
    /// Where the snapshot went in S3, once verified there (the promise
    /// resolves only then); absent without S3.
    pub s3: Option<UploadResult>,
}

/// What a fork capture cost (bytes). `blockMs` is the parent's share: V8's
/// garbage collection and object count, the fork, and the aborted pass.
#[napi(object)]
pub struct ForkResult {
    /// The child process that wrote the file (it has exited).
    pub pid: u32,
    /// The child's peak RSS: its snapshot graph plus the pages it shared
    /// with the app.
    pub child_peak_rss: f64,
    /// How much the app's RSS grew above its level at the fork while the
    /// child ran (copy-on-write pages), as sampled every 20 ms.
    pub parent_growth: f64,
    /// Where `blockMs` went, in ms: V8's garbage collection and object
    /// count before the fork,
    pub gc_ms: f64,
    /// the fork itself (with making the heap forkable and back),
    pub fork_ms: f64,
    /// and V8's aborted pass in the app afterwards.
    pub abort_ms: f64,
}

/// The memory-headroom guard's numbers for one snapshot (bytes).
#[napi(object)]
pub struct HeadroomResult {
    /// Estimated extra memory the snapshot needed (including the reserve),
    /// from V8's count of the heap's objects.
    pub need: f64,
    /// Memory the process could still use when the snapshot started.
    pub available: f64,
    /// The limit that bound `available` (a cgroup file, the host, or `headroom.limitMb`).
    pub bound_by: String,
    /// Extra RSS the snapshot actually used at its peak (as sampled during capture).
    pub extra_peak: f64,
    /// V8's count of the heap's objects, which `need` was estimated from.
    pub objects: Option<f64>,
}

impl From<Snapshot> for SnapshotResult {
    fn from(s: Snapshot) -> Self {
        SnapshotResult {
            path: s.path.to_string_lossy().into_owned(),
            bytes: s.bytes as i64,
            raw_bytes: s.raw_bytes as i64,
            gzip: s.gzip.is_some(),
            gzip_level: s.gzip,
            reason: s.reason,
            heap_used: s.heap_used as i64,
            block_ms: s.block_ms,
            total_ms: s.total_ms,
            rss_before: s.rss_before as i64,
            rss_after: s.rss_after as i64,
            object_ids: s.object_ids.as_str().to_string(),
            fork: s.fork.map(|f| ForkResult {
                pid: f.pid,
                child_peak_rss: f.child_peak_rss as f64,
                parent_growth: f.parent_growth as f64,
                gc_ms: f.gc_ms,
                fork_ms: f.fork_ms,
                abort_ms: f.abort_ms,
            }),
            headroom: s.guard.map(|g| HeadroomResult {
                need: g.need as f64,
                available: g.available as f64,
                bound_by: g.bound,
                extra_peak: g.extra_peak as f64,
                objects: g.nodes.map(|n| n as f64),
            }),
            s3: s.s3.map(|u| UploadResult::new(u, false)),
        }
    }
}

/// Where a file went in S3 (`SnapshotResult.s3`, the `'upload'` event,
/// `upload()`), once S3 confirmed the object's size.
#[napi(object)]
pub struct UploadResult {
    pub bucket: String,
    pub key: String,
    /// The object's ETag (a multipart one ends in `-<parts>`).
    pub etag: String,
    /// The object's size.
    pub bytes: i64,
    /// Parts uploaded: 1 for a single PutObject.
    pub parts: u32,
    /// From the upload's start (with the file's first bytes) to its verification, in ms.
    pub ms: f64,
    /// How long after the file was complete the upload was verified, in ms:
    /// what uploading added to the snapshot's `totalMs`.
    pub after_file_ms: f64,
    /// The local file; deleted after the upload unless `keepLocal`.
    pub path: String,
    /// Whether the local file was kept.
    pub kept: bool,
    /// The snapshot's reason.
    pub reason: String,
    /// Whether this was a leftover from an earlier process (or failed upload).
    pub leftover: bool,
}

impl UploadResult {
    pub fn new(u: Uploaded, leftover: bool) -> Self {
        UploadResult {
            bucket: u.bucket,
            key: u.key,
            etag: u.etag,
            bytes: u.bytes as i64,
            parts: u.parts,
            ms: u.ms,
            after_file_ms: u.after_file_ms,
            path: u.path.to_string_lossy().into_owned(),
            kept: u.kept,
            reason: u.reason,
            leftover,
        }
    }
}
