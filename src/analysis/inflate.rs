//! A gzip file decompressed on a thread of its own, a few chunks ahead of
//! the parser: decompressing and parsing then share the time instead of
//! adding up. The chunks in flight bound its memory (3 MiB).

use std::io::{self, BufRead, Read};
use std::sync::mpsc::{sync_channel, Receiver};

/// Bytes per chunk, and chunks decompressed ahead of the one being parsed.
const CHUNK: usize = 1 << 20;
const AHEAD: usize = 2;

/// Reads `r` (a decompressor) on a thread of its own.
pub fn ahead<R: Read + Send + 'static>(mut r: R) -> io::Result<Inflated> {
    let (send, chunks) = sync_channel(AHEAD);
    std::thread::Builder::new()
        .name("leakguard-inflate".into())
        .spawn(move || loop {
            let (chunk, failed) = fill(&mut r);
            // An empty chunk says the input ended.
            let end = chunk.is_empty() && failed.is_none();
            // The reader went away: stop.
            if (end || !chunk.is_empty()) && send.send(Ok(chunk)).is_err() {
                return;
            }
            if let Some(e) = failed {
                let _ = send.send(Err(e));
                return;
            }
            if end {
                return;
            }
        })?;
    Ok(Inflated {
        chunks,
        chunk: Vec::new(),
        at: 0,
        done: false,
    })
}

/// Up to a chunk of `r`, and the error that cut it short, if one did.
fn fill(r: &mut impl Read) -> (Vec<u8>, Option<io::Error>) {
    let mut chunk = vec![0; CHUNK];
    let mut len = 0;
    while len < CHUNK {
        match r.read(&mut chunk[len..]) {
            Ok(0) => break,
            Ok(n) => len += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => {
                chunk.truncate(len);
                return (chunk, Some(e));
            }
        }
    }
    chunk.truncate(len);
    (chunk, None)
}

pub struct Inflated {
    chunks: Receiver<io::Result<Vec<u8>>>,
    chunk: Vec<u8>,
    at: usize,
    /// No more chunks: the input ended (or the thread did).
    done: bool,
}

impl Read for Inflated {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        let buf = self.fill_buf()?;
        let n = buf.len().min(out.len());
        out[..n].copy_from_slice(&buf[..n]);
        self.consume(n);
        Ok(n)
    }
}

impl BufRead for Inflated {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        while self.at == self.chunk.len() && !self.done {
            match self.chunks.recv() {
                Ok(Ok(chunk)) => {
                    self.done = chunk.is_empty();
                    (self.chunk, self.at) = (chunk, 0);
                }
                Ok(Err(e)) => {
                    self.done = true;
                    return Err(e);
                }
                Err(_) => self.done = true,
            }
        }
        Ok(&self.chunk[self.at..])
    }

    fn consume(&mut self, n: usize) {
        self.at = (self.at + n).min(self.chunk.len());
    }
}
