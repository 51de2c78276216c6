//! What has been read so far, for the CLI's progress line: bytes taken
//! from the inputs (as stored: compressed bytes of a compressed file),
//! records read, and the total bytes of the inputs when known. Counters of
//! the process (one verification at a time), updated with relaxed atomics:
//! they only inform.

use std::io::Read;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

static BYTES: AtomicU64 = AtomicU64::new(0);
static RECORDS: AtomicU64 = AtomicU64::new(0);
static TOTAL: AtomicU64 = AtomicU64::new(0);

/// A snapshot of the counters.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Snapshot {
    pub bytes: u64,
    pub records: u64,
    /// The inputs' total size in bytes; 0 when unknown (standard input).
    pub total: u64,
}

pub fn snapshot() -> Snapshot {
    Snapshot { bytes: BYTES.load(Relaxed), records: RECORDS.load(Relaxed), total: TOTAL.load(Relaxed) }
}

/// Adds to the total size of the inputs (files as listed, objects as
/// listed).
pub fn add_total(bytes: u64) {
    TOTAL.fetch_add(bytes, Relaxed);
}

/// Counts bytes read from an input that is not read through [`Counted`].
pub fn add_bytes(bytes: u64) {
    BYTES.fetch_add(bytes, Relaxed);
}

/// Counts one record read.
pub fn add_record() {
    RECORDS.fetch_add(1, Relaxed);
}

/// A reader whose bytes are counted.
pub struct Counted<R>(pub R);

impl<R: Read> Read for Counted<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.0.read(buf)?;
        BYTES.fetch_add(n as u64, Relaxed);
        Ok(n)
    }
}
