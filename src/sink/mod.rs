//! Where snapshot bytes go, on the writer thread. Sinks compose: a file sink
//! at the bottom, optional stages (gzip) stacked on it.

mod dir;
mod file;
mod gzip;
pub mod progress;
pub mod retain;
pub mod s3;
mod stale;

pub use dir::Dir;
pub use file::FileSink;
pub use retain::Retain;

use std::io::{self, Write};
use std::path::PathBuf;
use std::sync::Arc;

use crate::destination::Destination;
use crate::error::{LgError, LgResult};

/// A byte sink that either completes (`finish`) or, when dropped unfinished,
/// leaves nothing behind.
pub trait Sink: Write + Send {
    /// Where the sink's output goes.
    fn paths(&self) -> &Paths;
    fn finish(self: Box<Self>) -> LgResult<Written>;
}

/// The final path of a sink's file and the temporary one it is written under.
#[derive(Clone, Debug)]
pub struct Paths {
    pub path: PathBuf,
    pub temp: PathBuf,
}

impl Paths {
    /// A failed `syscall` on the temporary file: the error names both paths.
    pub fn io_error(&self, syscall: &'static str, err: &io::Error) -> LgError {
        LgError::io_via(syscall, &self.path, Some(&self.temp), err)
    }
}

/// What a finished sink produced.
pub struct Written {
    pub path: PathBuf,
    /// Bytes in the final file (compressed size when gzipped).
    pub bytes: u64,
    /// The upload of the file, still running, when S3 is configured.
    pub upload: Option<s3::Pending>,
}

/// Opens the sink stack for `dest`. The file is created here, on the calling
/// thread, so a bad directory fails before any capture work is done; with
/// S3, its upload starts here too, reading the file as it grows.
pub fn open(dest: &Destination, origin: &s3::Origin) -> LgResult<Box<dyn Sink>> {
    let file: Box<dyn Sink> = Box::new(open_file(dest, origin)?);
    Ok(match dest.gzip {
        Some(level) => Box::new(gzip::GzipSink::new(file, level)),
        None => file,
    })
}

/// The file sink alone (and its upload), for a writer that compresses by
/// itself: a fork child.
pub fn open_file(dest: &Destination, origin: &s3::Origin) -> LgResult<FileSink> {
    let mut file = file::FileSink::create(dest)?;
    if let Some(settings) = &dest.s3 {
        file.upload(Arc::clone(settings), origin)?;
    }
    Ok(file)
}
