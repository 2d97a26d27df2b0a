//! A progress bar on stderr for analyses that take more than a second: the
//! phase, and how much of the file has been read. Off unless asked for (the
//! CLI asks when stderr is a terminal).

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

#[derive(Clone)]
pub struct Progress(Option<Arc<Mutex<State>>>);

struct State {
    started: Instant,
    last: Instant,
    phase: String,
    shown: bool,
}

const QUIET_FOR: Duration = Duration::from_secs(1);
const EVERY: Duration = Duration::from_millis(200);

impl Progress {
    pub fn new(enabled: bool) -> Self {
        let now = Instant::now();
        Progress(enabled.then(|| {
            Arc::new(Mutex::new(State {
                started: now,
                last: now,
                phase: String::new(),
                shown: false,
            }))
        }))
    }

    pub fn phase(&self, phase: &str) {
        if let Some(state) = &self.0 {
            let mut s = state.lock().unwrap();
            s.phase = phase.to_string();
            s.draw("");
        }
    }

    /// `read` of `size` bytes of the current file.
    pub fn bytes(&self, read: u64, size: u64) {
        let Some(state) = &self.0 else { return };
        let mut s = state.lock().unwrap();
        if s.last.elapsed() < EVERY || size == 0 {
            return;
        }
        let done = (read as f64 / size as f64).min(1.0);
        let width = 30;
        let filled = (done * width as f64) as usize;
        let bar = format!(
            "[{}{}] {:>3.0}% of {}",
            "#".repeat(filled),
            " ".repeat(width - filled),
            done * 100.0,
            crate::units::bytes(size)
        );
        s.draw(&bar);
    }

    /// Clears the bar, if one was shown.
    pub fn done(&self) {
        if let Some(state) = &self.0 {
            let s = state.lock().unwrap();
            if s.shown {
                let _ = std::io::stderr().write_all(b"\r\x1b[2K");
            }
        }
    }
}

impl State {
    fn draw(&mut self, detail: &str) {
        if self.started.elapsed() < QUIET_FOR {
            return;
        }
        self.last = Instant::now();
        self.shown = true;
        let line = format!("\r\x1b[2Kleakguard: {} {detail}", self.phase);
        let _ = std::io::stderr().write_all(line.as_bytes());
    }
}
