//! Records on disk while the inputs are read: the external sort that keeps
//! the verifier's memory bounded by the number of streams, not of records
//! (issue 11, item 3). Once more than [`Limits::spill_after`] plain records
//! (not control records, which the rules keep whole) are held, each
//! stream's are sorted and written to an anonymous temporary file as one
//! sorted run; [`sorted`] merges a stream's runs with what is still in
//! memory back into (sequence, location) order, one fixed-size record at a
//! time.
//!
//! [`Limits::spill_after`]: super::Limits

use super::records::{Entry, Loc};
use crate::core::canonical::Signal;
use crate::core::chain::{Algorithm, Hash};
use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::fs::File;
use std::io::Write;
use std::os::unix::fs::FileExt;
use std::sync::Arc;

/// The bytes of one record in a run.
const SIZE: usize = 136;

/// Records read from a run at a time, at most; with many runs fewer, so
/// that all the runs of one stream take about [`MERGE_BYTES`] together.
const BATCH: usize = 512;
const MERGE_BYTES: usize = 1 << 20;

/// One stream's records written sorted to a temporary file.
#[derive(Clone, Debug)]
pub struct Run {
    file: Arc<File>,
    offset: u64,
    count: u64,
}

/// A stream's records on disk, and what the rules need to know of them
/// before reading them back.
#[derive(Clone, Debug, Default)]
pub struct Spilled {
    pub runs: Vec<Run>,
    pub count: u64,
    /// Some record is keyed (`hmac-sha256-chain-v1`, SPEC §8.1).
    pub keyed: bool,
    pub min_sequence: Option<u64>,
}

impl Spilled {
    pub fn extend(&mut self, other: Spilled) {
        self.runs.extend(other.runs);
        self.count += other.count;
        self.keyed |= other.keyed;
        self.min_sequence = self.min_sequence.into_iter().chain(other.min_sequence).min();
    }
}

/// Whether an entry may go to disk: a control record or one with a
/// content-hash mismatch carries more than the fixed layout holds.
pub fn spillable(e: &Entry) -> bool {
    e.control.is_none() && e.content_mismatch.is_none()
}

fn encode(e: &Entry, out: &mut Vec<u8>) {
    let start = out.len();
    out.extend_from_slice(&e.sequence.to_le_bytes());
    out.extend_from_slice(&e.value);
    out.push(u8::from(e.previous.is_some()));
    out.extend_from_slice(&e.previous.unwrap_or_default());
    out.extend_from_slice(&e.record_hash);
    out.push(match e.algorithm {
        Algorithm::Sha256 => 0,
        Algorithm::HmacSha256 => 1,
    });
    out.push(u8::from(e.key_epoch.is_some()));
    out.extend_from_slice(&e.key_epoch.unwrap_or(0).to_le_bytes());
    out.push(u8::from(e.end));
    out.push(u8::from(e.compact));
    out.extend_from_slice(&e.loc.file.to_le_bytes());
    out.extend_from_slice(&e.loc.line.to_le_bytes());
    out.extend_from_slice(&e.loc.record.to_le_bytes());
    out.push(match e.signal {
        Signal::Logs => 0,
        Signal::Traces => 1,
    });
    out.resize(start + SIZE, 0);
}

fn decode(b: &[u8]) -> Entry {
    let u64_at = |i: usize| u64::from_le_bytes(b[i..i + 8].try_into().expect("8 bytes"));
    let u32_at = |i: usize| u32::from_le_bytes(b[i..i + 4].try_into().expect("4 bytes"));
    let hash_at = |i: usize| -> Hash { b[i..i + 32].try_into().expect("32 bytes") };
    Entry {
        sequence: u64_at(0),
        value: hash_at(8),
        previous: (b[40] == 1).then(|| hash_at(41)),
        record_hash: hash_at(73),
        algorithm: if b[105] == 1 { Algorithm::HmacSha256 } else { Algorithm::Sha256 },
        key_epoch: (b[106] == 1).then(|| u64_at(107)),
        end: b[115] == 1,
        compact: b[116] == 1,
        loc: Loc { file: u32_at(117), line: u64_at(121), record: u32_at(129) },
        signal: if b[133] == 1 { Signal::Traces } else { Signal::Logs },
        content_mismatch: None,
        control: None,
        link_ok: None,
    }
}

fn order(e: &Entry) -> (u64, Loc) {
    (e.sequence, e.loc)
}

/// Sorts `entries` and writes those that may go to disk as one run (none:
/// `None`), keeping the others; the file is anonymous and goes when the
/// last run in it is dropped. `entries` and `bytes` keep their capacity,
/// for the next run: fresh vectors of this size would be mapped and
/// faulted in page by page each time.
pub fn write(
    file: &Arc<File>,
    offset: &mut u64,
    entries: &mut Vec<Entry>,
    bytes: &mut Vec<u8>,
) -> Result<Option<Spilled>, String> {
    entries.sort_unstable_by_key(order);
    bytes.clear();
    let (mut count, mut keyed, mut min_sequence) = (0u64, false, None);
    for e in entries.iter().filter(|e| spillable(e)) {
        encode(e, bytes);
        count += 1;
        keyed |= e.algorithm == Algorithm::HmacSha256;
        min_sequence.get_or_insert(e.sequence);
    }
    entries.retain(|e| !spillable(e));
    if count == 0 {
        return Ok(None);
    }
    (&**file).write_all(bytes).map_err(|e| format!("writing a sorted run to a temporary file: {e}"))?;
    let run = Run { file: file.clone(), offset: *offset, count };
    *offset += bytes.len() as u64;
    Ok(Some(Spilled { runs: vec![run], count, keyed, min_sequence }))
}

/// A new anonymous temporary file (in `TMPDIR`, gone once closed) for
/// `what`: the sorted runs here, a stream's leaf hashes in `leaf_store`.
pub fn temporary(what: &str) -> Result<Arc<File>, String> {
    tempfile::tempfile().map(Arc::new).map_err(|e| format!("creating a temporary file for {what}: {e}"))
}

/// Reads a run back, a batch of records at a time into one buffer kept
/// for the next batch (not a fresh one zeroed and freed per batch), each
/// record decoded when it is taken.
struct Reader {
    run: Run,
    batch_len: usize,
    /// Records read from the run so far.
    next: u64,
    /// The batch read last, and where its next record starts.
    bytes: Vec<u8>,
    at: usize,
}

impl Reader {
    fn new(run: Run, batch_len: usize) -> Self {
        Reader { run, batch_len, next: 0, bytes: Vec::new(), at: 0 }
    }

    fn next(&mut self) -> Result<Option<Entry>, String> {
        if self.at == self.bytes.len() {
            if self.next == self.run.count {
                return Ok(None);
            }
            let n = (self.run.count - self.next).min(self.batch_len as u64) as usize;
            self.bytes.resize(n * SIZE, 0);
            let at = self.run.offset + self.next * SIZE as u64;
            self.run.file.read_exact_at(&mut self.bytes, at).map_err(|e| format!("reading a sorted run back: {e}"))?;
            self.next += n as u64;
            self.at = 0;
        }
        let e = decode(&self.bytes[self.at..self.at + SIZE]);
        self.at += SIZE;
        Ok(Some(e))
    }
}

/// A stream's records in (sequence, location) order: `memory` (any order)
/// merged with its runs.
pub struct Sorted {
    memory: std::vec::IntoIter<Entry>,
    head: Option<Entry>,
    readers: Vec<Reader>,
    heap: BinaryHeap<Reverse<((u64, Loc), usize)>>,
    heads: Vec<Option<Entry>>,
    error: Option<String>,
}

pub fn sorted(mut memory: Vec<Entry>, spilled: Spilled) -> Sorted {
    memory.sort_by_key(order);
    let mut s = Sorted {
        memory: memory.into_iter(),
        head: None,
        readers: Vec::new(),
        heap: BinaryHeap::new(),
        heads: Vec::new(),
        error: None,
    };
    s.head = s.memory.next();
    let batch_len = (MERGE_BYTES / SIZE / spilled.runs.len().max(1)).clamp(8, BATCH);
    for run in spilled.runs {
        s.readers.push(Reader::new(run, batch_len));
        s.heads.push(None);
        s.refill(s.readers.len() - 1);
    }
    s
}

impl Sorted {
    fn refill(&mut self, i: usize) {
        match self.readers[i].next() {
            Ok(Some(e)) => {
                self.heap.push(Reverse((order(&e), i)));
                self.heads[i] = Some(e);
            }
            Ok(None) => {}
            Err(e) => self.error = Some(e),
        }
    }

    /// Why reading a run back failed, if it did: the records after it were
    /// not checked, and the caller must say so (never a pass).
    pub fn error(&self) -> Option<&str> {
        self.error.as_deref()
    }
}

impl Iterator for Sorted {
    type Item = Entry;

    fn next(&mut self) -> Option<Entry> {
        let from_runs = self.heap.peek().map(|Reverse((k, _))| *k);
        let take_memory = match (&self.head, from_runs) {
            (Some(m), Some(k)) => order(m) < k,
            (Some(_), None) => true,
            (None, _) => false,
        };
        if take_memory {
            let e = self.head.take();
            self.head = self.memory.next();
            return e;
        }
        let Reverse((_, i)) = self.heap.pop()?;
        let e = self.heads[i].take();
        self.refill(i);
        e
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(sequence: u64, line: u64) -> Entry {
        Entry {
            sequence,
            value: [sequence as u8; 32],
            previous: (!sequence.is_multiple_of(3)).then_some([7; 32]),
            record_hash: [9; 32],
            algorithm: if sequence.is_multiple_of(2) { Algorithm::HmacSha256 } else { Algorithm::Sha256 },
            key_epoch: (sequence.is_multiple_of(2)).then_some(sequence / 4),
            end: sequence == 99,
            compact: sequence.is_multiple_of(5),
            loc: Loc { file: 3, line, record: 17 },
            signal: if sequence.is_multiple_of(7) { Signal::Traces } else { Signal::Logs },
            content_mismatch: None,
            control: None,
            link_ok: None,
        }
    }

    #[test]
    fn a_record_reads_back_as_written() {
        for n in [1, 2, 3, 5, 7, 99, u64::MAX] {
            let e = entry(n, n.wrapping_mul(31));
            let mut b = Vec::new();
            encode(&e, &mut b);
            assert_eq!(b.len(), SIZE);
            let d = decode(&b);
            assert_eq!(format!("{d:?}"), format!("{e:?}"));
        }
    }

    #[test]
    fn runs_and_memory_merge_in_sequence_then_location_order() {
        let file = temporary("sorted runs").unwrap();
        let mut offset = 0;
        let mut spilled = Spilled::default();
        let all: Vec<Entry> = (0..3000u64).map(|i| entry(1 + (i * 7919) % 1000, i)).collect();
        let (mut entries, mut bytes) = (Vec::new(), Vec::new());
        for chunk in all[..2400].chunks(700) {
            entries.extend_from_slice(chunk);
            let control = Entry { control: Some(Box::default()), ..entry(5, 1 << 40) };
            entries.push(control);
            spilled.extend(write(&file, &mut offset, &mut entries, &mut bytes).unwrap().unwrap());
            // The control record stays in memory; nothing else does.
            assert_eq!(entries.iter().map(|e| e.loc.line).collect::<Vec<_>>(), [1 << 40]);
            entries.clear();
        }
        assert!(write(&file, &mut offset, &mut entries, &mut bytes).unwrap().is_none());
        assert_eq!(spilled.runs.len(), 4);
        assert_eq!(spilled.count, 2400);
        let merged: Vec<(u64, u64)> = sorted(all[2400..].to_vec(), spilled).map(|e| (e.sequence, e.loc.line)).collect();
        let mut want: Vec<(u64, u64)> = all.iter().map(|e| (e.sequence, e.loc.line)).collect();
        want.sort_unstable();
        assert_eq!(merged, want);
    }

    #[test]
    fn streams_read_one_after_another_keep_one_room_for_records_not_one_each() {
        use crate::verify::records::Collected;
        // Held one by one (one thread), and merged from parts (threads).
        for merged in [false, true] {
            let mut c = Collected::default();
            c.spill_after(Some(1000));
            for stream in 0..16u64 {
                let id = format!("stream-{stream}");
                for part in 0..10u64 {
                    let mut p = Collected::default();
                    let held = if merged { &mut p } else { &mut c };
                    for n in 1..=500u64 {
                        held.hold(&id, entry(part * 500 + n, stream * 10_000 + n));
                    }
                    c.merge(p);
                }
            }
            assert_eq!((0..16).map(|s| c.count(&format!("stream-{s}"))).sum::<u64>(), 80_000);
            let room: usize = c.streams.values().map(Vec::capacity).sum();
            // Each stream held up to 1500 records before a spill: keeping
            // each one's room would be 16 of those.
            assert!(room <= 2 * 2048 + 16 * 8, "merged: {merged}: room for {room} records kept");
        }
    }
}
