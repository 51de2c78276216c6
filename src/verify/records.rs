//! What the verifier keeps of the records it read: per stream, one compact
//! [`Entry`] per stamped record (its stamp and record hash, not its
//! content), plus where everything came from. Links are checked later, per
//! stream, once the stream's keys are known.

use super::read::ContentHashRead;
use super::report::{Finding, Location};
use super::spill::{self, Spilled};
use crate::core::canonical::Signal;
use crate::core::chain::{self, Algorithm, Hash};
use crate::core::ranges::SeqRange;
use std::collections::BTreeMap;

/// Where a record was read: file index, line, index in its request.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Loc {
    pub file: u32,
    pub line: u64,
    pub record: u32,
}

/// What a control record (the engine's own) says. Trusted only once the
/// record's link has been checked.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Control {
    pub event: String,
    /// `audit.stream.name` of a start record.
    pub name: Option<String>,
    pub time_unix_nano: u64,
    pub predecessor: Option<(String, u64, Option<Hash>)>,
    /// This stream's ranges announced as possibly not delivered.
    pub announced: Vec<SeqRange>,
    /// The predecessor's ranges announced as possibly not delivered.
    pub predecessor_announced: Vec<SeqRange>,
    pub chain_key_id: Option<String>,
    pub key_lineage: Vec<String>,
    pub signer: Option<String>,
    /// The record's body: the signed note of a checkpoint record.
    pub body: String,
    /// The outage the record announces (`audit.stream.outage.*`): when the
    /// records it announces as possibly missing were issued.
    pub outage: Option<[u64; 2]>,
    /// A `clock_step` record's step of the wall clock, in ns.
    pub clock_step: Option<i64>,
    /// Format version 2 (`audit.log.*`, SPEC §5.5).
    pub log: Option<Box<LogControl>>,
}

/// What a format version 2 control record says about its log (SPEC §5.5).
/// A value that cannot be read is kept as `Err` with why, so that a rule
/// reports it rather than taking the attribute for absent.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct LogControl {
    /// `audit.log.origin`.
    pub origin: String,
    /// `audit.log.index`: the record's own leaf index.
    pub index: Option<Result<u64, String>>,
    /// `audit.log.range` of a checkpoint record: the compact range [0, size).
    pub range: Option<Result<Vec<Hash>, String>>,
    /// `audit.log.previous_size` and `audit.log.consistency`.
    pub previous_size: Option<Result<u64, String>>,
    pub consistency: Option<Result<Vec<Hash>, String>>,
    /// `audit.log.checkpoint_index` of a cosignature record.
    pub checkpoint_index: Option<Result<u64, String>>,
}

/// One stamped record, reduced to what verification needs.
#[derive(Clone, Debug)]
pub struct Entry {
    pub sequence: u64,
    pub value: Hash,
    pub previous: Option<Hash>,
    pub record_hash: Hash,
    pub algorithm: Algorithm,
    pub key_epoch: Option<u64>,
    pub end: bool,
    /// Its stamp is compact (SPEC §4.1.1): `previous` is record n−1's
    /// link as present, `None` when that record is missing.
    pub compact: bool,
    pub loc: Loc,
    /// The signal of the request it was read from.
    pub signal: Signal,
    /// Set when its `audit.content_hash` does not match its body.
    pub content_mismatch: Option<Box<ContentHashRead>>,
    pub control: Option<Box<Control>>,
    /// Whether the recomputed link matches `value` (`None`: it could not be
    /// checked, for want of a key); set by the content rule.
    pub link_ok: Option<bool>,
}

impl Entry {
    /// Copies of the same record (at-least-once delivery) are equal here.
    pub fn same_record(&self, other: &Entry) -> bool {
        self.value == other.value
            && self.previous == other.previous
            && self.record_hash == other.record_hash
            && self.end == other.end
            && self.algorithm == other.algorithm
            && self.key_epoch == other.key_epoch
    }

    pub fn link_inputs<'a>(&'a self, stream_id: &'a str) -> chain::Link<'a> {
        chain::Link {
            stream_id,
            sequence: self.sequence,
            key_epoch: self.key_epoch.unwrap_or(0),
            end: self.end,
            previous: self.previous.as_ref(),
            record_hash: &self.record_hash,
        }
    }

    /// A compact-stamped record whose predecessor is missing: its link
    /// cannot be recomputed.
    pub fn unlinked(&self) -> bool {
        self.compact && self.sequence > 1 && self.previous.is_none()
    }

    pub fn event(&self) -> Option<&str> {
        self.control.as_deref().map(|c| c.event.as_str())
    }
}

/// A checkpoint found outside the records (a `checkpoint.file` line).
#[derive(Clone, Debug)]
pub struct ExternalCheckpoint {
    /// The number of the record carrying it.
    pub sequence: u64,
    pub note: String,
    /// The line marks the final checkpoint of a stream that ended cleanly.
    pub end: bool,
    pub file: u32,
    pub line: u64,
}

/// Everything read from the inputs.
#[derive(Default)]
pub struct Collected {
    pub files: Vec<String>,
    /// Per stream, the records held in memory: its control records, and
    /// the others until they spill ([`super::spill`]).
    pub streams: BTreeMap<String, Vec<Entry>>,
    /// Per stream, the records written to sorted runs on disk.
    pub spilled: BTreeMap<String, Spilled>,
    /// When records spill: after how many held in memory (`None`: never),
    /// how many are held, and the file the runs go to.
    pub(super) spill: SpillState,
    pub checkpoints: BTreeMap<String, Vec<ExternalCheckpoint>>,
    pub unstamped: Vec<Loc>,
    /// Findings that belong to no stream (unreadable records, malformed
    /// stamps whose stream id cannot be read).
    pub findings: Vec<Finding>,
    /// Findings about records that could not be admitted to the stream
    /// their stamp names.
    pub stream_findings: BTreeMap<String, Vec<Finding>>,
    pub requests: u64,
    pub records: u64,
    pub checkpoint_lines: u64,
    /// JSON values that could not be read (SPEC §8.0).
    pub unreadable: u64,
}

#[derive(Default)]
pub(super) struct SpillState {
    after: Option<usize>,
    held: usize,
    file: Option<(std::sync::Arc<std::fs::File>, u64)>,
    /// The bytes of the run being written, kept for the next.
    bytes: Vec<u8>,
    /// Empty room for records, kept from a stream's vector when it spilled.
    spare: Vec<Entry>,
}

/// Before `more` records go into `v`: when they would make it grow, it
/// moves into `spare`'s room instead, when that is larger. A stream
/// vector grown anew after each spill was fresh memory faulted in page by
/// page, and moved at each doubling.
fn make_room(v: &mut Vec<Entry>, more: usize, spare: &mut Vec<Entry>) {
    if v.capacity() - v.len() < more && spare.capacity() > v.capacity() && spare.capacity() - v.len() >= more {
        spare.append(v);
        std::mem::swap(v, spare);
    }
}

impl Collected {
    /// Records spill to disk once more than `after` are held in memory.
    pub fn spill_after(&mut self, after: Option<usize>) {
        self.spill.after = after;
    }

    /// Admits a stamped record to its stream.
    pub fn hold(&mut self, stream_id: &str, e: Entry) {
        self.spill.held += usize::from(spill::spillable(&e));
        match self.streams.get_mut(stream_id) {
            Some(v) => {
                make_room(v, 1, &mut self.spill.spare);
                v.push(e)
            }
            None => {
                self.streams.insert(stream_id.to_string(), vec![e]);
            }
        }
        self.maybe_spill();
    }

    fn maybe_spill(&mut self) {
        if self.spill.after.is_none_or(|a| self.spill.held <= a) {
            return;
        }
        if let Err(why) = self.spill_all() {
            // Without a temporary file the records stay in memory: slower
            // to fail for want of memory, never a wrong verdict.
            eprintln!("auditchain: {why}; keeping the records in memory");
            self.spill.after = None;
        }
    }

    /// Writes every stream's spillable records as one sorted run each.
    fn spill_all(&mut self) -> Result<(), String> {
        if self.spill.file.is_none() {
            self.spill.file = Some((spill::temporary("sorted runs")?, 0));
        }
        let (file, offset) = self.spill.file.as_mut().expect("just made");
        for (id, entries) in self.streams.iter_mut() {
            if let Some(written) = spill::write(file, offset, entries, &mut self.spill.bytes)? {
                self.spilled.entry(id.clone()).or_default().extend(written);
            }
            // One room as large as a stream's records before a spill is
            // kept, for whichever stream grows next: not one per stream
            // (16 streams read one after another each held all of them).
            let mut room = std::mem::take(entries);
            entries.append(&mut room);
            if room.capacity() > self.spill.spare.capacity() {
                self.spill.spare = room;
            }
        }
        self.spill.held = 0;
        Ok(())
    }

    /// How many records a stream has, in memory and on disk.
    pub fn count(&self, stream_id: &str) -> u64 {
        self.streams.get(stream_id).map_or(0, |v| v.len() as u64) + self.spilled.get(stream_id).map_or(0, |s| s.count)
    }

    /// Gives the next stream vector to grow this room (empty, with its
    /// capacity), when it is larger than the one kept.
    pub fn give_room(&mut self, room: Vec<Entry>) {
        if room.capacity() > self.spill.spare.capacity() {
            self.spill.spare = room;
            self.spill.spare.clear();
        }
    }

    /// Adds what another reader of the same files found; returns the
    /// largest of its stream vectors, emptied, for the reader's next part.
    pub fn merge(&mut self, other: Collected) -> Vec<Entry> {
        let mut emptied = Vec::new();
        for (id, mut entries) in other.streams {
            self.spill.held += entries.iter().filter(|e| spill::spillable(e)).count();
            let v = self.streams.entry(id).or_default();
            make_room(v, entries.len(), &mut self.spill.spare);
            v.append(&mut entries);
            if entries.capacity() > emptied.capacity() {
                emptied = entries;
            }
        }
        for (id, s) in other.spilled {
            self.spilled.entry(id).or_default().extend(s);
        }
        for (id, cps) in other.checkpoints {
            self.checkpoints.entry(id).or_default().extend(cps);
        }
        self.unstamped.extend(other.unstamped);
        self.findings.extend(other.findings);
        for (id, f) in other.stream_findings {
            self.stream_findings.entry(id).or_default().extend(f);
        }
        self.requests += other.requests;
        self.records += other.records;
        self.checkpoint_lines += other.checkpoint_lines;
        self.unreadable += other.unreadable;
        self.maybe_spill();
        emptied
    }

    pub fn location(&self, loc: Loc) -> Location {
        Location { file: self.files[loc.file as usize].clone(), line: loc.line, record: u64::from(loc.record) }
    }
}
