//! `verify --progress`: one line on standard error, redrawn at most ten
//! times a second on a terminal (once a second otherwise): bytes read of
//! the inputs' total, records read, rate and time left. Standard output
//! (the report) is never touched.

use auditchain::verify::read::progress::{Snapshot, snapshot};
use std::io::{IsTerminal, Write};
use std::sync::mpsc::{self, RecvTimeoutError, Sender};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// When to show it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum When {
    /// When standard error is a terminal.
    Auto,
    Always,
    Never,
}

/// A running progress line; [`Progress::finish`] draws the last one.
pub struct Progress {
    stop: Sender<()>,
    thread: JoinHandle<()>,
}

fn mib(bytes: u64) -> String {
    format!("{:.1} MiB", bytes as f64 / f64::from(1 << 20))
}

fn duration(secs: f64) -> String {
    let s = secs.round() as u64;
    match s {
        0..60 => format!("{s}s"),
        60..3600 => format!("{}m{:02}s", s / 60, s % 60),
        _ => format!("{}h{:02}m", s / 3600, s % 3600 / 60),
    }
}

/// The line for a snapshot taken `elapsed` after the start.
pub fn line(s: Snapshot, elapsed: Duration, done: bool) -> String {
    let secs = elapsed.as_secs_f64().max(1e-3);
    let rate = s.bytes as f64 / secs;
    let mut out = format!("verify: {}", mib(s.bytes));
    if s.total > 0 {
        let pct = (s.bytes as f64 * 100.0 / s.total as f64).min(100.0);
        out += &format!(" of {} ({pct:.0}%)", mib(s.total));
    }
    out += &format!(", {} records, {}/s, {:.0} records/s", s.records, mib(rate as u64), s.records as f64 / secs);
    if done {
        out += &format!(", done in {}", duration(secs));
    } else if s.total > s.bytes && rate > 0.0 {
        out += &format!(", ETA {}", duration((s.total - s.bytes) as f64 / rate));
    }
    out
}

impl Progress {
    /// Starts the line, or nothing when `when` says not to.
    pub fn start(when: When) -> Option<Progress> {
        let terminal = std::io::stderr().is_terminal();
        let show = match when {
            When::Always => true,
            When::Never => false,
            When::Auto => terminal,
        };
        if !show {
            return None;
        }
        let (stop, stopped) = mpsc::channel::<()>();
        let every = if terminal { Duration::from_millis(100) } else { Duration::from_secs(1) };
        let thread = std::thread::spawn(move || {
            let start = Instant::now();
            let draw = |done: bool| {
                let text = line(snapshot(), start.elapsed(), done);
                let mut err = std::io::stderr().lock();
                // On a terminal the line is redrawn in place; elsewhere each
                // one is a line of its own.
                let _ = if terminal {
                    write!(err, "\r{text}\x1b[K{}", if done { "\n" } else { "" })
                } else {
                    writeln!(err, "{text}")
                };
                let _ = err.flush();
            };
            loop {
                match stopped.recv_timeout(every) {
                    Err(RecvTimeoutError::Timeout) => draw(false),
                    _ => break draw(true),
                }
            }
        });
        Some(Progress { stop, thread })
    }

    pub fn finish(self) {
        let _ = self.stop.send(());
        let _ = self.thread.join();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_line_says_bytes_records_rate_and_time_left() {
        let s = Snapshot { bytes: 10 << 20, records: 5000, total: 40 << 20 };
        let l = line(s, Duration::from_secs(2), false);
        assert_eq!(l, "verify: 10.0 MiB of 40.0 MiB (25%), 5000 records, 5.0 MiB/s, 2500 records/s, ETA 6s");
        let l = line(Snapshot { total: 0, ..s }, Duration::from_secs(2), true);
        assert_eq!(l, "verify: 10.0 MiB, 5000 records, 5.0 MiB/s, 2500 records/s, done in 2s");
        assert_eq!(duration(3725.0), "1h02m");
        assert_eq!(duration(65.0), "1m05s");
    }
}
