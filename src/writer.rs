//! The bounded chunk queue between the JS thread and the writer thread.
//!
//! The JS thread pushes serializer chunks; the writer thread drains them into
//! a sink. The queue holds at most `QUEUE_CHUNKS` chunks (4 MiB at V8's
//! 64 KiB), so memory stays bounded whatever the snapshot size. A writer that
//! fails drops its end, which aborts serialization at the next chunk; a writer
//! that stops draining for `stall` aborts it too, instead of hanging the app.

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use crossbeam_channel::{bounded, Receiver, SendTimeoutError, Sender, TrySendError};

use crate::error::{LgError, LgResult};
use crate::exit;
use crate::sink::{Sink, Written};

pub const QUEUE_CHUNKS: usize = 64;
pub const STALL: Duration = Duration::from_secs(60);

/// The JS thread's end: push chunks, then `close` with the capture's outcome.
pub struct ChunkSender<T> {
    tx: Sender<Vec<u8>>,
    outcome: Arc<Mutex<Option<LgResult<T>>>>,
    stall: Duration,
    stalled: Option<LgError>,
}

/// What the writer reports: the capture's outcome and the sink's.
pub struct Finished<T> {
    pub capture: T,
    pub written: Written,
    pub raw_bytes: u64,
}

/// Starts a writer thread draining into `sink`; `done` runs on that thread
/// once the file is complete (or abandoned, with nothing left behind). A
/// process exit waits for the thread's whole job (see `exit`).
pub fn spawn<T, F>(sink: Box<dyn Sink>, stall: Duration, done: F) -> ChunkSender<T>
where
    T: Send + 'static,
    F: FnOnce(LgResult<Finished<T>>) + Send + 'static,
{
    let (tx, rx) = bounded::<Vec<u8>>(QUEUE_CHUNKS);
    let outcome = Arc::new(Mutex::new(None));
    let shared = Arc::clone(&outcome);
    let running = exit::Running::start();
    thread::Builder::new()
        .name("leakguard-writer".into())
        .spawn(move || {
            done(drain(rx, sink, &shared));
            drop(running);
        })
        .expect("cannot spawn the leakguard writer thread");
    ChunkSender {
        tx,
        outcome,
        stall,
        stalled: None,
    }
}

fn drain<T>(
    rx: Receiver<Vec<u8>>,
    mut sink: Box<dyn Sink>,
    outcome: &Mutex<Option<LgResult<T>>>,
) -> LgResult<Finished<T>> {
    let mut raw_bytes = 0u64;
    // Ends when the JS thread drops its sender (after recording the outcome).
    for chunk in rx.iter() {
        raw_bytes += chunk.len() as u64;
        if let Err(e) = sink.write_all(&chunk) {
            drop(rx); // the next push fails: serialization stops early
            return Err(sink.paths().io_error("write", &e));
        }
    }
    let capture = outcome
        .lock()
        .unwrap()
        .take()
        .unwrap_or_else(|| Err(LgError::capture("the capture ended without an outcome")))?;
    // Dropping `sink` on an error path above removes the temporary file.
    let written = sink.finish()?;
    Ok(Finished {
        capture,
        written,
        raw_bytes,
    })
}

impl<T> ChunkSender<T> {
    /// Queues a copy of `chunk`; `false` tells the serializer to abort.
    pub fn push(&mut self, chunk: &[u8]) -> bool {
        if self.stalled.is_some() {
            return false;
        }
        match self.tx.try_send(chunk.to_vec()) {
            Ok(()) => true,
            Err(TrySendError::Disconnected(_)) => false,
            Err(TrySendError::Full(chunk)) => {
                let start = Instant::now();
                match self.tx.send_timeout(chunk, self.stall) {
                    Ok(()) => true,
                    Err(SendTimeoutError::Disconnected(_)) => false,
                    Err(SendTimeoutError::Timeout(_)) => {
                        self.stalled = Some(LgError::capture(format!(
                            "the writer made no progress for {} s (a hung disk or network \
                             mount?); the snapshot was abandoned",
                            start.elapsed().as_secs()
                        )));
                        false
                    }
                }
            }
        }
    }

    /// Ends the stream. With `Ok`, the writer finishes the file; with `Err`
    /// (or after a stall), it discards it.
    pub fn close(self, outcome: LgResult<T>) {
        let outcome = match self.stalled {
            Some(e) => Err(e),
            None => outcome,
        };
        *self.outcome.lock().unwrap() = Some(outcome);
        // Dropping `tx` here lets the writer's loop end.
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sink::Paths;
    use std::io;
    use std::path::PathBuf;
    use std::sync::mpsc;

    /// A sink that records bytes, can fail writes, or block until released.
    struct TestSink {
        bytes: Arc<Mutex<Vec<u8>>>,
        fail: bool,
        gate: Option<mpsc::Receiver<()>>,
        paths: Paths,
    }

    impl Write for TestSink {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            if let Some(gate) = &self.gate {
                let _ = gate.recv();
            }
            if self.fail {
                return Err(io::Error::from_raw_os_error(libc::ENOSPC));
            }
            self.bytes.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    impl Sink for TestSink {
        fn paths(&self) -> &Paths {
            &self.paths
        }
        fn finish(self: Box<Self>) -> LgResult<Written> {
            let bytes = self.bytes.lock().unwrap().len() as u64;
            Ok(Written {
                path: self.paths.path.clone(),
                bytes,
                upload: None,
            })
        }
    }

    fn sink(fail: bool, gate: Option<mpsc::Receiver<()>>) -> (Box<dyn Sink>, Arc<Mutex<Vec<u8>>>) {
        let bytes = Arc::new(Mutex::new(Vec::new()));
        let s = TestSink {
            bytes: bytes.clone(),
            fail,
            gate,
            paths: Paths {
                path: PathBuf::from("/t/s.heapsnapshot"),
                temp: PathBuf::from("/t/.s.heapsnapshot.1.0123456789abcdef.leakguard.tmp"),
            },
        };
        (Box::new(s), bytes)
    }

    fn run(
        sender_work: impl FnOnce(&mut ChunkSender<u32>) -> LgResult<u32>,
        sink: Box<dyn Sink>,
        stall: Duration,
    ) -> LgResult<Finished<u32>> {
        let (tx, rx) = mpsc::channel();
        let mut s = spawn(sink, stall, move |r| tx.send(r).unwrap());
        let outcome = sender_work(&mut s);
        s.close(outcome);
        rx.recv().unwrap()
    }

    #[test]
    fn chunks_arrive_in_order_and_outcome_is_carried() {
        let (sink, bytes) = sink(false, None);
        let r = run(
            |s| {
                for i in 0..500u32 {
                    assert!(s.push(format!("{i},").as_bytes()));
                }
                Ok(7)
            },
            sink,
            STALL,
        )
        .unwrap();
        let expected: String = (0..500).map(|i| format!("{i},")).collect();
        assert_eq!(*bytes.lock().unwrap(), expected.as_bytes());
        assert_eq!(r.capture, 7);
        assert_eq!(r.raw_bytes, expected.len() as u64);
    }

    #[test]
    fn write_failure_stops_the_producer_and_reports_the_path() {
        let (sink, _) = sink(true, None);
        let mut pushed = 0;
        let err = run(
            |s| {
                while s.push(&[b'x'; 1024]) {
                    pushed += 1;
                    assert!(pushed < 100_000, "producer was never stopped");
                }
                Ok(0)
            },
            sink,
            STALL,
        )
        .err()
        .unwrap();
        for part in ["ENOSPC", "/t/s.heapsnapshot ", "/t/.s.heapsnapshot.1."] {
            assert!(err.message.contains(part), "{part}: {}", err.message);
        }
    }

    #[test]
    fn a_stalled_writer_aborts_the_producer_instead_of_hanging() {
        let (release, gate) = mpsc::channel();
        let (sink, _) = sink(false, Some(gate));
        let (tx, rx) = mpsc::channel();
        let mut s = spawn::<u32, _>(sink, Duration::from_millis(50), move |r| {
            tx.send(r).unwrap()
        });
        let mut accepted = 0;
        while s.push(b"chunk") {
            accepted += 1;
            assert!(accepted <= QUEUE_CHUNKS + 1, "queue is not bounded");
        }
        s.close(Ok(1));
        drop(release); // unblock the writer: it must discard, not finish
        let err = rx.recv().unwrap().err().unwrap();
        assert!(err.message.contains("no progress"), "{}", err.message);
    }

    #[test]
    fn a_failed_capture_discards_the_output() {
        let (sink, _) = sink(false, None);
        let err = run(
            |s| {
                s.push(b"{");
                Err(LgError::capture("boom"))
            },
            sink,
            STALL,
        )
        .err()
        .unwrap();
        assert_eq!(err.message, "boom");
    }
}
