//! How far a file has been written, published by the file sink to whoever
//! reads the file while it grows (the S3 uploader streams parts from it).

/// Counts only bytes in the file, not in the sink's buffer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Progress {
    Writing(u64),
    /// Renamed to its final name, with this many bytes.
    Complete(u64),
    /// Abandoned: the file is gone.
    Failed,
}

pub type Sender = tokio::sync::watch::Sender<Progress>;
pub type Receiver = tokio::sync::watch::Receiver<Progress>;

pub fn channel() -> (Sender, Receiver) {
    tokio::sync::watch::channel(Progress::Writing(0))
}
