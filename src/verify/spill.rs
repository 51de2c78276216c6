//! Records on disk while the inputs are read: the external sort that keeps
//! the verifier's memory bounded by the number of streams, not of records
//! (issue 11, item 3). Once more than [`Limits::spill_after`] plain records
//! (not control records, which the rules keep whole) are held, each
//! stream's are sorted and written to an anonymous temporary file as one
//! sorted run; [`sorted`] merges a stream's runs with what is still in
//! memory back into (sequence, location) order, one record at a time
//! (each written against the one before it in its run).
//!
//! [`Limits::spill_after`]: super::Limits

use super::records::{Entry, Loc};
use crate::core::canonical::Signal;
use crate::core::chain::{Algorithm, Hash};
use crate::core::wire::{self, put_varint};
use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::fs::File;
use std::io::Write;
use std::os::unix::fs::FileExt;
use std::sync::Arc;

/// The most bytes one record takes in a run: a flags byte, five varints
/// (sequence step, key epoch, file, line, record), three hashes.
const MAX_SIZE: usize = 1 + 10 + 3 * 32 + 10 + 5 + 10 + 5;

/// Bytes read from a run at a time, at most; with many runs fewer, so that
/// all the runs of one stream take about [`MERGE_BYTES`] together.
const BATCH_BYTES: usize = 64 << 10;
const MERGE_BYTES: usize = 1 << 20;

/// One stream's records written sorted to a temporary file.
#[derive(Clone, Debug)]
pub struct Run {
    file: Arc<File>,
    offset: u64,
    len: u64,
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

// A record in a run is written against the one before it in the run (a
// run is sorted): its sequence as the step from the one before, its
// previous link omitted when it is that one's link (a chain read in
// order), its file omitted when the same. About 75 bytes for a record of
// an intact chain, against 136 at fixed size: the runs are written and
// read back once each, and the kernel's copies were a tenth of the time.
const PREVIOUS: u8 = 1;
const PREVIOUS_IS_LAST: u8 = 1 << 1;
const HMAC: u8 = 1 << 2;
const EPOCH: u8 = 1 << 3;
const END: u8 = 1 << 4;
const COMPACT: u8 = 1 << 5;
const TRACES: u8 = 1 << 6;
const SAME_FILE: u8 = 1 << 7;

/// What a record in a run is written against: the record before it.
#[derive(Default)]
struct Context {
    sequence: u64,
    value: Hash,
    file: Option<u32>,
}

impl Context {
    fn after(e: &Entry) -> Context {
        Context { sequence: e.sequence, value: e.value, file: Some(e.loc.file) }
    }
}

/// A varint at `b[*at..]` (a run is read back from the file this process
/// wrote: damage is a read error, not input).
fn get_varint(b: &[u8], at: &mut usize) -> Result<u64, String> {
    wire::get_varint(b, at).map_err(|e| format!("a sorted run holds a damaged record: {e}"))
}

fn encode(e: &Entry, before: &Context, out: &mut Vec<u8>) {
    let previous = e.previous.filter(|p| *p != before.value || before.file.is_none());
    let bits = [
        (e.previous.is_some(), PREVIOUS),
        (e.previous.is_some() && previous.is_none(), PREVIOUS_IS_LAST),
        (e.algorithm == Algorithm::HmacSha256, HMAC),
        (e.key_epoch.is_some(), EPOCH),
        (e.end, END),
        (e.compact, COMPACT),
        (e.signal == Signal::Traces, TRACES),
        (before.file == Some(e.loc.file), SAME_FILE),
    ];
    let flags = bits.iter().filter(|(on, _)| *on).fold(0, |f, (_, bit)| f | bit);
    out.push(flags);
    put_varint(out, e.sequence - before.sequence);
    out.extend_from_slice(&e.value);
    if let Some(p) = previous {
        out.extend_from_slice(&p);
    }
    out.extend_from_slice(&e.record_hash);
    if let Some(epoch) = e.key_epoch {
        put_varint(out, epoch);
    }
    if before.file != Some(e.loc.file) {
        put_varint(out, u64::from(e.loc.file));
    }
    put_varint(out, e.loc.line);
    put_varint(out, u64::from(e.loc.record));
}

/// The record at `b[*at..]`, written after `before`.
fn decode(b: &[u8], at: &mut usize, before: &Context) -> Result<Entry, String> {
    let short = || "a sorted run ends inside a record".to_string();
    let flags = *b.get(*at).ok_or_else(short)?;
    *at += 1;
    let step = get_varint(b, at)?;
    let mut hash = || -> Result<Hash, String> {
        let h = b.get(*at..*at + 32).ok_or_else(short)?.try_into().expect("32 bytes");
        *at += 32;
        Ok(h)
    };
    let value = hash()?;
    let previous = match (flags & PREVIOUS != 0, flags & PREVIOUS_IS_LAST != 0) {
        (false, _) => None,
        (true, true) => Some(before.value),
        (true, false) => Some(hash()?),
    };
    let record_hash = hash()?;
    let key_epoch = if flags & EPOCH != 0 { Some(get_varint(b, at)?) } else { None };
    let file = match before.file {
        Some(f) if flags & SAME_FILE != 0 => f,
        _ => u32::try_from(get_varint(b, at)?).map_err(|_| "a sorted run names a file beyond u32")?,
    };
    let line = get_varint(b, at)?;
    let record = u32::try_from(get_varint(b, at)?).map_err(|_| "a sorted run names a record beyond u32")?;
    Ok(Entry {
        sequence: before.sequence.checked_add(step).ok_or("a sorted run's sequence overflows")?,
        value,
        previous,
        record_hash,
        algorithm: if flags & HMAC != 0 { Algorithm::HmacSha256 } else { Algorithm::Sha256 },
        key_epoch,
        end: flags & END != 0,
        compact: flags & COMPACT != 0,
        loc: Loc { file, line, record },
        signal: if flags & TRACES != 0 { Signal::Traces } else { Signal::Logs },
        content_mismatch: None,
        control: None,
        link_ok: None,
    })
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
    let mut before = Context::default();
    for e in entries.iter().filter(|e| spillable(e)) {
        encode(e, &before, bytes);
        before = Context::after(e);
        count += 1;
        keyed |= e.algorithm == Algorithm::HmacSha256;
        min_sequence.get_or_insert(e.sequence);
    }
    entries.retain(|e| !spillable(e));
    if count == 0 {
        return Ok(None);
    }
    (&**file).write_all(bytes).map_err(|e| format!("writing a sorted run to a temporary file: {e}"))?;
    let run = Run { file: file.clone(), offset: *offset, len: bytes.len() as u64, count };
    *offset += bytes.len() as u64;
    Ok(Some(Spilled { runs: vec![run], count, keyed, min_sequence }))
}

/// A new anonymous temporary file (in `TMPDIR`, gone once closed) for
/// `what`: the sorted runs here, a stream's leaf hashes in `leaf_store`.
pub fn temporary(what: &str) -> Result<Arc<File>, String> {
    tempfile::tempfile().map(Arc::new).map_err(|e| format!("creating a temporary file for {what}: {e}"))
}

/// Reads a run back, a batch of bytes at a time into one buffer kept for
/// the next batch (not a fresh one zeroed and freed per batch), each
/// record decoded when it is taken.
struct Reader {
    run: Run,
    batch_bytes: usize,
    /// Bytes and records read from the run so far.
    read: u64,
    taken: u64,
    /// Bytes read and not yet decoded: `bytes[at..]`.
    bytes: Vec<u8>,
    at: usize,
    before: Context,
}

impl Reader {
    fn new(run: Run, batch_bytes: usize) -> Self {
        let batch_bytes = batch_bytes.max(MAX_SIZE);
        Reader { run, batch_bytes, read: 0, taken: 0, bytes: Vec::new(), at: 0, before: Context::default() }
    }

    fn next(&mut self) -> Result<Option<Entry>, String> {
        if self.taken == self.run.count {
            return Ok(None);
        }
        // A whole record at hand, unless the run ends first.
        if self.bytes.len() - self.at < MAX_SIZE && self.read < self.run.len {
            self.bytes.drain(..self.at);
            self.at = 0;
            let kept = self.bytes.len();
            let n = (self.run.len - self.read).min(self.batch_bytes as u64) as usize;
            self.bytes.resize(kept + n, 0);
            let at = self.run.offset + self.read;
            let to = &mut self.bytes[kept..];
            self.run.file.read_exact_at(to, at).map_err(|e| format!("reading a sorted run back: {e}"))?;
            self.read += n as u64;
        }
        let e =
            decode(&self.bytes, &mut self.at, &self.before).map_err(|e| format!("reading a sorted run back: {e}"))?;
        self.before = Context::after(&e);
        self.taken += 1;
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
    let batch_bytes = (MERGE_BYTES / spilled.runs.len().max(1)).clamp(8 * MAX_SIZE, BATCH_BYTES);
    for run in spilled.runs {
        s.readers.push(Reader::new(run, batch_bytes));
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
    fn records_read_back_as_written() {
        // Each against the one before: sequence steps of 0 (copies) and
        // of the whole range, previous links that are and are not the one
        // before's, files that change, the largest numbers.
        let mut all: Vec<Entry> =
            [1, 1, 2, 3, 5, 7, 99, 100, u64::MAX - 1, u64::MAX].iter().map(|&n| entry(n, n.wrapping_mul(31))).collect();
        all[2].previous = Some(all[1].value);
        all[3].previous = Some(all[2].value);
        all[4].loc = Loc { file: u32::MAX, line: u64::MAX, record: u32::MAX };
        all[5].key_epoch = Some(u64::MAX);
        let mut b = Vec::new();
        let mut before = Context::default();
        for e in &all {
            let start = b.len();
            encode(e, &before, &mut b);
            assert!(b.len() - start <= MAX_SIZE);
            before = Context::after(e);
        }
        let (mut at, mut before) = (0, Context::default());
        for e in &all {
            let d = decode(&b, &mut at, &before).unwrap();
            assert_eq!(format!("{d:?}"), format!("{e:?}"));
            before = Context::after(&d);
        }
        assert_eq!(at, b.len());
        // A record of an intact chain: its previous link and file not
        // written again.
        let (first, mut second) = (entry(10, 1), entry(11, 2));
        second.previous = Some(first.value);
        let mut one = Vec::new();
        encode(&second, &Context::after(&first), &mut one);
        assert!(one.len() <= 1 + 1 + 64 + 2 + 1 + 1 + 1, "{} bytes", one.len());
        // Cut short anywhere, a record is a read error, never a record.
        for cut in 0..one.len() {
            assert!(decode(&one[..cut], &mut 0, &Context::after(&first)).is_err(), "cut at {cut}");
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
