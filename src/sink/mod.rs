//! Where snapshot bytes go, on the writer thread. Sinks compose: a file sink
//! at the bottom, optional stages (gzip) stacked on it.

mod file;
mod gzip;
pub mod retain;

pub use retain::Retain;

use std::io::Write;
use std::path::{Path, PathBuf};

use crate::destination::Destination;
use crate::error::LgResult;

/// A byte sink that either completes (`finish`) or, when dropped unfinished,
/// leaves nothing behind.
pub trait Sink: Write + Send {
    /// The final path the sink's output ends up at.
    fn path(&self) -> &Path;
    fn finish(self: Box<Self>) -> LgResult<Written>;
}

/// What a finished sink produced.
#[derive(Clone, Debug)]
pub struct Written {
    pub path: PathBuf,
    /// Bytes in the final file (compressed size when gzipped).
    pub bytes: u64,
}

/// Opens the sink stack for `dest`. The file is created here, on the calling
/// thread, so a bad directory fails before any capture work is done.
pub fn open(dest: &Destination) -> LgResult<Box<dyn Sink>> {
    let file: Box<dyn Sink> = Box::new(file::FileSink::create(dest)?);
    Ok(match dest.gzip {
        Some(level) => Box::new(gzip::GzipSink::new(file, level)),
        None => file,
    })
}
