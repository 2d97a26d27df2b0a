//! The gzip stage: compresses into the sink below it. flate2's zlib-rs
//! backend at level 1 keeps pace with V8's serializer, so the bounded chunk
//! queue never pushes compression time back onto the JS thread.

use std::io::{self, Write};

use flate2::write::GzEncoder;
use flate2::Compression;

use super::{Paths, Sink, Written};
use crate::error::LgResult;

pub struct GzipSink {
    encoder: GzEncoder<Box<dyn Sink>>,
}

impl GzipSink {
    pub fn new(inner: Box<dyn Sink>, level: u32) -> Self {
        GzipSink {
            encoder: GzEncoder::new(inner, Compression::new(level)),
        }
    }
}

impl Write for GzipSink {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.encoder.write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.encoder.flush()
    }
}

impl Sink for GzipSink {
    fn paths(&self) -> &Paths {
        self.encoder.get_ref().paths()
    }

    fn finish(self: Box<Self>) -> LgResult<Written> {
        let paths = self.paths().clone();
        let inner = self
            .encoder
            .finish()
            .map_err(|e| paths.io_error("write", &e))?;
        inner.finish()
    }
}
