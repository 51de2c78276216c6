//! The delivery ledger (docs/SPEC.md §6.3): which issued ranges are in
//! flight, which may be missing and must be announced by control records,
//! and which announcements reached the exporter. The durable half lives in
//! the stream state (`in_flight`, `unannounced`, `predecessor_unannounced`);
//! this holds what only matters while the engine runs.

use super::control::{ControlRecord, CtlValue};
use super::state::StreamState;
use crate::core::ranges::{self, SeqRange};
use crate::core::vocab::{control, event};
use std::collections::BTreeMap;

/// The ranges one batch's control records announced: this stream's and
/// the predecessor's.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(super) struct Announcement {
    mine: Vec<SeqRange>,
    predecessor: Vec<SeqRange>,
}

/// The owed control records of a call and what they announce.
pub(super) type Owed = (Vec<ControlRecord>, Option<Announcement>);

pub(super) struct Ledger {
    /// Control records owed to the stream, emitted with the next call.
    pending: Vec<ControlRecord>,
    /// A `gap` record is owed: ranges were refused or not saved.
    gap_due: bool,
    /// What the control records of each unsettled batch announced: once
    /// the batch is delivered, those ranges are announced for good.
    announced: BTreeMap<u64, Announcement>,
    /// Issued ranges by batch id, with the wall time they were issued at,
    /// until the caller settles them.
    in_flight: BTreeMap<u64, (SeqRange, u64)>,
    next_batch_id: u64,
}

impl Ledger {
    /// A ledger whose first call emits `first` (the start or resume record).
    pub fn new(first: ControlRecord) -> Ledger {
        Ledger {
            pending: vec![first],
            gap_due: false,
            announced: BTreeMap::new(),
            in_flight: BTreeMap::new(),
            next_batch_id: 1,
        }
    }

    /// Owes `rec` to the stream: it goes out with the next call.
    pub fn owe(&mut self, rec: ControlRecord) {
        self.pending.push(rec);
    }

    /// Owes `rec`, replacing an owed record that `rec` supersedes (a
    /// cosignature record of the same checkpoint, with fewer lines).
    pub fn owe_superseding(&mut self, rec: ControlRecord, supersedes: impl Fn(&ControlRecord) -> bool) {
        match self.pending.iter_mut().find(|r| supersedes(r)) {
            Some(old) => *old = rec,
            None => self.pending.push(rec),
        }
    }

    /// Whether a call without records has control records to emit.
    pub fn owes_records(&self, stream: &StreamState) -> bool {
        !self.pending.is_empty() || (self.gap_due && !stream.unannounced.is_empty())
    }

    /// Takes the owed control records (the start or resume record, then a
    /// gap record when ranges were refused), each announcing every range
    /// still owed, and what they announce.
    pub fn take_owed(&mut self, stream: &StreamState, now: u64) -> Owed {
        let mut owed = std::mem::take(&mut self.pending);
        if self.gap_due && !stream.unannounced.is_empty() && owed.is_empty() {
            owed.push(ControlRecord::new(
                event::GAP,
                now,
                "stamped records were refused downstream or could not be saved; their senders were told to retry"
                    .into(),
            ));
        }
        self.gap_due = false;
        let a = Announcement { mine: stream.unannounced.clone(), predecessor: stream.predecessor_unannounced.clone() };
        if owed.is_empty() || (a.mine.is_empty() && a.predecessor.is_empty()) {
            return (owed, None);
        }
        let owed = owed
            .into_iter()
            .map(|mut rec| {
                if !a.mine.is_empty() {
                    rec = rec.with(control::UNCONFIRMED, CtlValue::StrArray(ranges::range_strings(&a.mine)));
                    // When those records were issued: the verifier excuses
                    // missing heartbeats inside that period (SPEC §8.8).
                    if let Some([start, end]) = stream.outage {
                        rec = rec
                            .with(control::OUTAGE_START, CtlValue::Int(start as i64))
                            .with(control::OUTAGE_END, CtlValue::Int(end as i64));
                    }
                }
                if !a.predecessor.is_empty() {
                    rec = rec.with(
                        control::PREDECESSOR_UNCONFIRMED,
                        CtlValue::StrArray(ranges::range_strings(&a.predecessor)),
                    );
                }
                rec
            })
            .collect();
        (owed, Some(a))
    }

    /// Books an issued range as in flight (in memory and in the state) and
    /// returns its batch id.
    pub fn book(
        &mut self,
        stream: &mut StreamState,
        range: SeqRange,
        announced: Option<Announcement>,
        now: u64,
    ) -> u64 {
        let batch_id = self.next_batch_id;
        self.next_batch_id += 1;
        stream.in_flight.push(range);
        self.in_flight.insert(batch_id, (range, now));
        if let Some(a) = announced {
            self.announced.insert(batch_id, a);
        }
        batch_id
    }

    pub fn is_in_flight(&self, batch_id: u64) -> bool {
        self.in_flight.contains_key(&batch_id)
    }

    /// Books the fate of a batch. Delivered: the ranges its control records
    /// announced are announced for good. Not delivered (refused downstream,
    /// or its state could not be saved): its own range may be missing, so
    /// it is owed to the stream and a `gap` record will announce it.
    pub fn settled(&mut self, stream: &mut StreamState, batch_id: u64, delivered: bool) {
        let Some((range, issued_at)) = self.in_flight.remove(&batch_id) else { return };
        ranges::remove_range(&mut stream.in_flight, range);
        let announced = self.announced.remove(&batch_id);
        if delivered {
            if let Some(a) = announced {
                stream.unannounced = ranges::subtract(&stream.unannounced, &a.mine);
                stream.predecessor_unannounced = ranges::subtract(&stream.predecessor_unannounced, &a.predecessor);
                if stream.unannounced.is_empty() {
                    stream.outage = None;
                }
            }
        } else {
            ranges::add_range(&mut stream.unannounced, range);
            stream.outage = Some(match stream.outage {
                Some([start, end]) => [start.min(issued_at), end.max(issued_at)],
                None => [issued_at, issued_at],
            });
            self.gap_due = true;
        }
    }
}
