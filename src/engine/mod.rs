//! The stamping engine behind the processor: one stream, its durable state,
//! its keys, and the control records it owes the stream.
//!
//! Concurrency: records are canonicalised and hashed outside the lock, so
//! concurrent batches hash in parallel; only issuing sequence numbers
//! happens under it, which keeps numbers gap-free and unique across
//! concurrent callers. Saving the state happens after, shared by the
//! batches issued meanwhile (group commit, [`commit`]).

mod checkpoints;
pub mod clock;
mod commit;
pub mod config;
mod control;
pub mod error;
pub mod hsm;
mod ledger;
mod open;
mod rollback;
pub mod stamps;
pub mod state;
mod store;
pub mod tlog;
pub mod witness;

use crate::core::canonical::{self, Hashed, Signal, proto};
use crate::core::chain::Hash;
use crate::core::content_hash;
use crate::core::stamp::StampForm;
use checkpoints::Checkpointer;
use clock::{Clock, Monotonic, Steps, SystemMonotonic, Times};
use commit::GroupCommit;
use config::EngineConfig;
use control::ControlRecord;
use error::{Error, ErrorKind};
use ledger::{Announcement, Ledger};
use stamps::{Issued, Stamps};
use state::{EpochPolicy, StreamState};
use std::sync::{Mutex, MutexGuard};

pub struct Engine {
    inner: Mutex<Inner>,
    commit: GroupCommit,
    signal: Signal,
    content: content_hash::Policy,
    /// `on_bad_record: drop_record`.
    drop_bad_records: bool,
    /// The wall and monotonic clocks (SPEC §5.6), read before the lock.
    clock: Clock,
}

/// What the engine holds under its lock.
struct Inner {
    /// What must survive a restart; saved by [`GroupCommit`].
    stream: StreamState,
    /// Bumped by every change that must reach the disk.
    version: u64,
    epochs: EpochPolicy,
    checkpoints: Checkpointer,
    ledger: Ledger,
    /// Steps of the wall clock: seen, and announced so far.
    steps: Steps,
    clock_steps: u64,
    /// Problems to report with the next stamps (the engine cannot log).
    warnings: Vec<String>,
    closed: bool,
    /// The stream's signal: what its records, the engine's own included, are.
    signal: Signal,
    /// The form of the batch records' stamps (`stamp`).
    form: StampForm,
    /// The witness client's protocol half (SPEC §5.5).
    witnesses: witness::Witnesses,
}

/// Counters of an engine, for the processor's telemetry.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counters {
    /// Durable writes of the stream state (several batches can share one).
    pub state_writes: u64,
    /// Steps of the wall clock the engine announced (`clock_step` records).
    pub clock_steps: u64,
    /// The witness client's counters.
    pub witness: witness::WitnessCounters,
}

/// What a call to [`Inner::issue`] is for.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Call {
    Stamp,
    Tick,
    Close,
}

/// A control record issued in a call, with its link.
struct IssuedControl {
    record: ControlRecord,
    link: Issued,
    checkpoint: bool,
}

/// Hashes every log record of a request, refusing records that already
/// carry auditchain attributes.
pub fn hash_log_records(request: &[u8]) -> Result<Vec<Hash>, Error> {
    Ok(canonical::hash_log_records(request, proto::StampPolicy::Reject)?)
}

/// Hashes the selected records of a request of `signal` (every record
/// without a selection), refusing records that already carry auditchain
/// attributes and applying the content-hash policy. With `bad`
/// [`proto::BadRecords::Reject`] (`on_bad_record: drop_record`) records
/// without a canonical form are listed in `rejected` instead; a request
/// none of whose records can leave is refused like any bad batch.
pub fn hash_records(
    signal: Signal,
    request: &[u8],
    selection: Option<&[u8]>,
    content: content_hash::Policy,
    bad: proto::BadRecords,
) -> Result<Hashed, Error> {
    let mut hashed = canonical::hash_records(signal, request, proto::StampPolicy::Reject, selection, content, bad)?;
    if let Some(sel) = selection
        && sel.len() != hashed.hashes.len()
    {
        return Err(Error::new(
            ErrorKind::InvalidArgument,
            format!("the selection has {} entries for a batch of {} records", sel.len(), hashed.hashes.len()),
        ));
    }
    if !hashed.rejected.is_empty() && hashed.rejected.len() == hashed.hashes.len() {
        return Err(hashed.rejected.swap_remove(0).1.into());
    }
    Ok(hashed)
}

impl Engine {
    /// Opens the stream: continues the saved one, or starts a new one and
    /// says why in its first record.
    pub fn new(config: EngineConfig, now_unix_nano: u64) -> Result<Engine, Error> {
        Engine::with_clock(config, now_unix_nano, Box::new(SystemMonotonic::new()))
    }

    /// [`Engine::new`] with a given monotonic clock (tests step the wall
    /// clock against it).
    pub fn with_clock(config: EngineConfig, now_unix_nano: u64, mono: Box<dyn Monotonic>) -> Result<Engine, Error> {
        let mut opened = open::open(&config, now_unix_nano)?;
        let clock = Clock::new(mono, now_unix_nano);
        let mut witnesses = witness::Witnesses::new(&config, opened.signer.as_ref().map(|s| s.note_verifier()));
        match &opened.stream.log {
            Some(log) => {
                let w = witnesses.start(log);
                opened.warnings.extend(w);
            }
            None if !witnesses.is_empty() => opened.warnings.push(format!(
                "witnesses: stream {} continues in format version 1 (it started before the log), which witnesses cannot \
                 cosign; witnessing starts with its successor stream",
                opened.stream.stream_id
            )),
            None => {}
        }
        let inner = Inner {
            checkpoints: Checkpointer::new(opened.signer, &config.checkpoint, &opened.stream),
            stream: opened.stream,
            version: 1,
            epochs: EpochPolicy { records: config.key_epoch.records, interval_ns: config.key_epoch.interval },
            ledger: Ledger::new(opened.first),
            steps: clock.steps(),
            clock_steps: 0,
            warnings: opened.warnings,
            closed: false,
            signal: config.signal,
            form: config.stamp,
            witnesses,
        };
        Ok(Engine {
            inner: Mutex::new(inner),
            commit: GroupCommit::new(opened.store),
            signal: config.signal,
            content: config.content_hash.policy(),
            drop_bad_records: config.on_bad_record == config::OnBadRecord::DropRecord,
            clock,
        })
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // Issuing never fails halfway (its only error comes before it
        // changes anything), so the state is consistent even if a panic
        // elsewhere poisoned the mutex.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn counters(&self) -> Counters {
        let inner = self.lock();
        Counters {
            state_writes: self.commit.writes(),
            clock_steps: inner.clock_steps,
            witness: inner.witnesses.counters,
        }
    }

    /// The log's origin and size, for a version 2 stream.
    pub fn log(&self) -> Option<(String, u64)> {
        self.lock().stream.log.as_ref().map(|l| (l.origin.clone(), l.size()))
    }

    /// The add-checkpoint requests ready to be POSTed to the witnesses
    /// (SPEC §5.5): the saved checkpoint's after start, then one per
    /// witness after each checkpoint, once it is durable.
    pub fn witness_jobs(&self) -> Vec<witness::Job> {
        self.lock().witnesses.take()
    }

    /// Witness `i`'s acknowledged size and lag (leaves of the newest
    /// checkpoint it has not cosigned).
    pub fn witness_status(&self, i: usize) -> Option<(u64, u64)> {
        let inner = self.lock();
        witness::Witnesses::lag(inner.stream.log.as_ref()?, i)
    }

    /// Hands over a witness's answer to request `id`: its HTTP `status`
    /// (0 when it did not answer: `body` then says why), Content-Type and
    /// body. New cosignatures are recorded: a `cosignature` control
    /// record owed to the stream (it leaves with the next call, e.g. a
    /// tick) and a `checkpoint.file` line. What to report (a witness that
    /// refuses, is unreachable, lags) comes as the next call's warning. Fails with
    /// [`ErrorKind::State`] when the answer to the check at start shows a
    /// rolled-back or replaced state: the processor must not start.
    pub fn witness_answer(
        &self,
        id: u64,
        status: u16,
        content_type: &str,
        body: &[u8],
        now_unix_nano: u64,
    ) -> Result<witness::AnswerKind, Error> {
        let mut inner = self.lock();
        if !inner.witnesses.knows(id) {
            return Err(Error::new(ErrorKind::InvalidArgument, format!("no witness request {id} awaits an answer")));
        }
        let Inner { witnesses, stream, .. } = &mut *inner;
        let Some(log) = stream.log.as_mut() else {
            return Err(Error::new(ErrorKind::InvalidArgument, "the stream keeps no log"));
        };
        let out = witnesses.answer(log, id, status, content_type, body);
        if let Some(r) = out.refusal {
            return Err(Error::new(ErrorKind::State, r));
        }
        if let Some((n, note, (sid, seq))) = out.cosigned {
            if !inner.closed {
                let index = (crate::core::vocab::log::CHECKPOINT_INDEX, control::CtlValue::Int(n as i64));
                let rec = ControlRecord::new(crate::core::vocab::event::COSIGNATURE, now_unix_nano, note.clone())
                    .with(index.0, index.1.clone());
                // One record per checkpoint and call: a later answer's note
                // holds every line of an earlier one still owed.
                inner.ledger.owe_superseding(rec, |r| {
                    r.attributes.first().is_some_and(|(_, v)| {
                        *v == control::CtlValue::Str(crate::core::vocab::event::COSIGNATURE.into())
                    }) && r.attributes.contains(&index)
                });
            }
            let line = serde_json::json!({ "stream_id": sid, "sequence": seq, "note": note }).to_string();
            let version = inner.changed();
            let Inner { checkpoints, stream, .. } = &mut *inner;
            checkpoints.owe_line(stream, line, version);
        }
        inner.warnings.extend(out.warning);
        let version = inner.changed();
        drop(inner);
        self.make_durable(version)?;
        let mut inner = self.lock();
        let Inner { checkpoints, stream, warnings, .. } = &mut *inner;
        warnings.extend(checkpoints.flush(stream, version));
        Ok(out.kind)
    }

    pub fn stream_id(&self) -> String {
        self.lock().stream.stream_id.clone()
    }

    /// The signal of the stream's records.
    pub fn signal(&self) -> Signal {
        self.signal
    }

    /// Stamps every log record of an OTLP protobuf `ExportLogsServiceRequest`.
    /// The returned stamps are durable in the state before this returns.
    pub fn stamp_logs(&self, request: &[u8], now_unix_nano: u64) -> Result<Stamps, Error> {
        self.stamp(Signal::Logs, request, None, now_unix_nano)
    }

    /// Stamps the selected records of an OTLP protobuf export request of
    /// `signal` (which must be the stream's): `selection` has one byte per
    /// record in request order, non-zero for a record that joins the
    /// stream; `None` selects every record. The others get no stamp and no
    /// number. Under `on_bad_record: drop_record` the records without a
    /// canonical form get no stamp either and are listed in
    /// `Stamps::rejected`. The returned stamps are durable in the state
    /// before this returns.
    pub fn stamp(
        &self,
        signal: Signal,
        request: &[u8],
        selection: Option<&[u8]>,
        now_unix_nano: u64,
    ) -> Result<Stamps, Error> {
        if signal != self.signal {
            return Err(Error::new(
                ErrorKind::InvalidArgument,
                format!("a {} batch was given to the engine of a {} stream", signal.name(), self.signal.name()),
            ));
        }
        let t = self.clock.read(now_unix_nano);
        let bad = if self.drop_bad_records { proto::BadRecords::Reject } else { proto::BadRecords::Fail };
        let hashed = hash_records(signal, request, selection, self.content, bad)?;
        let (mut stamps, version) = self.lock().issue(&hashed.hashes, t, Call::Stamp)?;
        stamps.content_matched = hashed.content_matched;
        stamps.content_mismatched = hashed.content_mismatched;
        stamps.rejected = hashed.rejected.into_iter().map(|(i, e)| (i, e.to_string())).collect();
        self.commit((stamps, version))
    }

    /// Makes state version `version` durable.
    fn make_durable(&self, version: u64) -> Result<(), Error> {
        self.commit.make_durable(version, || {
            let inner = self.lock();
            (inner.version, serde_json::to_string(&inner.stream).expect("stream state serialises"))
        })
    }

    /// Makes an issue durable and finishes its stamps. If the state cannot
    /// be written, the issued records never leave: the call fails and their
    /// numbers are announced as a gap by the next record.
    fn commit(&self, (mut stamps, version): (Stamps, u64)) -> Result<Stamps, Error> {
        if version == 0 {
            return Ok(stamps);
        }
        if let Err(e) = self.make_durable(version) {
            let mut inner = self.lock();
            let Inner { ledger, stream, .. } = &mut *inner;
            ledger.settled(stream, stamps.batch_id, false);
            return Err(e);
        }
        self.lock().after_durable(&mut stamps, version);
        Ok(stamps)
    }

    /// Does what is due without traffic: owed control records, the
    /// heartbeat checkpoint, and retiring an expired epoch key.
    pub fn tick(&self, now_unix_nano: u64) -> Result<Stamps, Error> {
        let t = self.clock.read(now_unix_nano);
        let mut inner = self.lock();
        if inner.closed {
            return Ok(Stamps::default());
        }
        inner.observe_clock(t);
        let epochs = inner.epochs;
        let evolved = match &mut inner.stream.key {
            Some(k) => k.maybe_evolve(t.cadence, epochs),
            None => false,
        };
        if inner.ledger.owes_records(&inner.stream) || inner.checkpoints.due(&inner.stream, t.cadence) {
            let issued = inner.issue(&[], t, Call::Tick)?;
            drop(inner);
            return self.commit(issued);
        }
        let warning = (!inner.warnings.is_empty()).then(|| std::mem::take(&mut inner.warnings).join("; "));
        if evolved {
            // Erase the old epoch key from the saved state too.
            let version = inner.changed();
            drop(inner);
            self.make_durable(version)?;
        }
        Ok(Stamps { warning, ..Stamps::default() })
    }

    /// Reports whether a stamped batch was accepted downstream. A refused
    /// batch leaves a gap in the stream; the engine announces it in the next
    /// control record, so the verifier can tell it from a deletion.
    pub fn settle(&self, batch_id: u64, delivered: bool) -> Result<(), Error> {
        let mut inner = self.lock();
        if !inner.ledger.is_in_flight(batch_id) {
            return Err(Error::new(
                ErrorKind::InvalidArgument,
                format!("unknown or already settled batch id {batch_id}"),
            ));
        }
        let Inner { ledger, stream, .. } = &mut *inner;
        ledger.settled(stream, batch_id, delivered);
        if inner.closed && delivered {
            // Nothing else will save the state; record that the final
            // records were delivered so the next stream need not flag them.
            let version = inner.changed();
            drop(inner);
            self.make_durable(version)?;
        }
        Ok(())
    }

    /// Ends the stream: the last record carries `audit.sequence.end` (and is
    /// the final checkpoint when a signing key is configured). Later calls
    /// fail with [`ErrorKind::Closed`]; the next engine on the same state
    /// starts a new stream that names this one as its predecessor.
    pub fn close(&self, now_unix_nano: u64) -> Result<Stamps, Error> {
        let t = self.clock.read(now_unix_nano);
        let mut inner = self.lock();
        if inner.closed {
            return Err(Error::new(ErrorKind::Closed, "the stream is already closed"));
        }
        let issued = inner.issue(&[], t, Call::Close)?;
        drop(inner);
        self.commit(issued)
    }
}

impl Inner {
    /// Notes a change that must reach the disk; returns its state version.
    fn changed(&mut self) -> u64 {
        self.version += 1;
        self.version
    }

    /// What follows an issue once state version `durable` is on disk:
    /// appending the checkpoints it made durable to the checkpoint file,
    /// and handing over the warnings.
    fn after_durable(&mut self, stamps: &mut Stamps, durable: u64) {
        self.witnesses.durable(durable);
        if let Some(w) = self.checkpoints.flush(&mut self.stream, durable) {
            self.warnings.push(w);
        }
        if !self.warnings.is_empty() {
            stamps.warning = Some(std::mem::take(&mut self.warnings).join("; "));
        }
    }

    fn issue_control(&mut self, mut record: ControlRecord, end: bool, checkpoint: bool, t: Times) -> IssuedControl {
        if let Some(log) = &self.stream.log {
            // A version 2 stream: every control record names the log and
            // its own leaf index (SPEC §5.5).
            record = record
                .with(crate::core::vocab::log::ORIGIN, control::CtlValue::Str(log.origin.clone()))
                .with(crate::core::vocab::log::INDEX, control::CtlValue::Int(log.size() as i64));
        }
        let hash = record.record_hash(self.signal, &self.stream.stream_id, self.stream.next_sequence);
        let link = self.stream.issue(&hash, end, t.cadence, self.epochs);
        IssuedControl { record, link, checkpoint }
    }

    /// Announces a step of the wall clock against the monotonic one
    /// (SPEC §5.6): a `clock_step` record owed to the stream, a warning for
    /// the log, a count for the metric. Cadence keeps its monotonic pace.
    fn observe_clock(&mut self, t: Times) {
        let Some(step) = self.steps.step(t) else { return };
        self.clock_steps += 1;
        let (dir, by) = if step >= 0 { ("forward", step.unsigned_abs()) } else { ("backward", step.unsigned_abs()) };
        let why = format!(
            "the wall clock stepped {dir} by {}.{:03}s (to {}); checkpoints and key epochs keep their pace on the monotonic clock",
            by / 1_000_000_000,
            by % 1_000_000_000 / 1_000_000,
            crate::core::time::rfc3339(t.wall)
        );
        self.warnings.push(why.clone());
        let rec = ControlRecord::new(crate::core::vocab::event::CLOCK_STEP, t.wall, why)
            .with(crate::core::vocab::control::CLOCK_STEP, control::CtlValue::Int(step));
        self.ledger.owe(rec);
    }

    /// The record that closes a call, if one is due: the end of the stream
    /// (the final checkpoint when checkpoints are signed), or a checkpoint.
    /// Signs only then. A key that cannot sign (an unreachable token) does
    /// not stop the records: a due checkpoint stays due and is tried again
    /// with the next call, a closing stream ends with an `end` record, and
    /// the warning says so (the verifier sees the missing checkpoints).
    /// Due is judged on cadence time; the records carry wall time.
    fn closing_record(&mut self, call: Call, t: Times) -> Option<(ControlRecord, bool, bool)> {
        if call != Call::Close && !self.checkpoints.due(&self.stream, t.cadence) {
            return None;
        }
        let now = t.wall;
        let checkpoint = match self.checkpoints.record(&self.stream, now) {
            Some(Err(e)) => {
                let then = if call == Call::Close {
                    "the stream ends without its final checkpoint"
                } else {
                    "tried again with the next call"
                };
                let w = format!("checkpoint not signed: {e}; {then}");
                if !self.warnings.contains(&w) {
                    self.warnings.push(w);
                }
                None
            }
            Some(Ok(cp)) => {
                let (id, seq) = (self.stream.stream_id.clone(), self.stream.next_sequence);
                if let Some(log) = &mut self.stream.log {
                    log.checkpointed(cp.body.clone(), &id, seq);
                    let w = self.witnesses.checkpoint(log, &cp.body, (id, seq));
                    self.warnings.extend(w);
                }
                Some(cp)
            }
            None => None,
        };
        match call {
            Call::Close => Some(match checkpoint {
                Some(cp) => (cp, true, true),
                None => {
                    let id = &self.stream.stream_id;
                    let why = format!("auditchain stream {id} ended: the collector shut down cleanly");
                    (ControlRecord::new(crate::core::vocab::event::END, now, why), false, true)
                }
            }),
            _ => checkpoint.map(|cp| (cp, true, false)),
        }
    }

    /// Issues links for the owed control records, then `hashes`, then the
    /// checkpoint or end record that is due, and builds the stamps. Returns
    /// them with the state version that must be made durable before they
    /// leave (0 when nothing was issued).
    fn issue(&mut self, hashes: &[Option<Hash>], t: Times, call: Call) -> Result<(Stamps, u64), Error> {
        if self.closed {
            return Err(Error::new(ErrorKind::Closed, "the stream was closed; no more records can join it"));
        }
        // Numbers are int64 attributes: refuse before running out (a loaded
        // state is at most MAX_SEQUENCE, so this cannot overflow).
        let room = state::MAX_SEQUENCE - self.stream.next_sequence;
        if hashes.iter().flatten().count() as u64 >= room.saturating_sub(16) {
            return Err(Error::new(
                ErrorKind::State,
                format!(
                    "stream {} has used up its sequence numbers (next {}); set state.new_stream: true to start a new stream",
                    self.stream.stream_id, self.stream.next_sequence
                ),
            ));
        }
        if call != Call::Close {
            self.observe_clock(t);
        }
        let first = self.stream.next_sequence;
        // Owed control records first: a stream starts with its start record,
        // a resumed one with its resume record, then a gap record when
        // ranges were refused. Each announces every range still owed.
        let (owed, announcement) = self.ledger.take_owed(&self.stream, t.wall);
        let mut controls: Vec<IssuedControl> =
            owed.into_iter().map(|rec| self.issue_control(rec, false, false, t)).collect();
        let (epochs, cadence) = (self.epochs, t.cadence);
        let records: Vec<Option<Issued>> =
            hashes.iter().map(|h| h.as_ref().map(|h| self.stream.issue(h, false, cadence, epochs))).collect();
        if let Some((rec, checkpoint, end)) = self.closing_record(call, t) {
            controls.push(self.issue_control(rec, end, checkpoint, t));
        }
        let last = self.stream.next_sequence - 1;
        let mut stamps = Stamps {
            stream_id: self.stream.stream_id.clone(),
            algorithm: self.stream.algorithm,
            form: self.form,
            signal: self.signal,
            records,
            ..Stamps::default()
        };
        if last < first {
            // Nothing to make durable, but a warning is not kept waiting.
            if !self.warnings.is_empty() {
                stamps.warning = Some(std::mem::take(&mut self.warnings).join("; "));
            }
            return Ok((stamps, 0));
        }
        let version = self.book(&mut stamps, &controls, [first, last], announcement, call, t);
        Ok((stamps, version))
    }

    /// Books what an issue produced: the control records in the stamps, the
    /// range in the ledger, the checkpoint lines, the end of the stream.
    /// Returns the state version that makes the issue durable.
    fn book(
        &mut self,
        stamps: &mut Stamps,
        controls: &[IssuedControl],
        range: [u64; 2],
        announcement: Option<Announcement>,
        call: Call,
        t: Times,
    ) -> u64 {
        let records: Vec<(&ControlRecord, u64)> = controls.iter().map(|c| (&c.record, c.link.sequence)).collect();
        if !records.is_empty() {
            stamps.controls = control::encode(self.signal, &self.stream.stream_id, &records);
        }
        stamps.control_links = controls.iter().map(|c| c.link.clone()).collect();
        stamps.batch_id = self.ledger.book(&mut self.stream, range, announcement, t.wall);
        [stamps.first_sequence, stamps.last_sequence] = range;
        if call == Call::Close {
            self.stream.ended = true;
            self.stream.retire_key(t.cadence);
            self.closed = true;
        }
        // Issued: these numbers are never issued again, whatever happens
        // next (the caller makes them durable or announces them as a gap).
        let version = self.changed();
        self.witnesses.book(version);
        for c in controls.iter().filter(|c| c.checkpoint) {
            stamps.checkpoints += 1;
            let (sequence, end) = (c.link.sequence, c.link.end);
            if let Some(w) = self.checkpoints.issued(&mut self.stream, &c.record, sequence, end, t.cadence, version) {
                self.warnings.push(w);
            }
        }
        version
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::keys::KeySet;

    #[test]
    fn a_checkpoint_line_is_appended_only_once_its_issue_is_on_disk() {
        let dir = tempfile::tempdir().unwrap();
        let sign = dir.path().join("sign.key");
        let ks = KeySet::generate("t").unwrap();
        crate::core::keys::write_new_file(&sign, &ks.signer.private_key_string(), 0o600).unwrap();
        let file = dir.path().join("checkpoints.jsonl");
        let mut config = EngineConfig::new("t");
        config.state.directory = Some(dir.path().join("state"));
        config.signing_key_file = Some(sign);
        config.checkpoint.file = Some(file.clone());
        let e = Engine::new(config, 1).unwrap();
        // Issue a checkpoint (close) without making it durable yet, as when
        // another batch's commit runs first.
        let t = e.clock.read(2);
        let (mut stamps, version) = e.lock().issue(&[], t, Call::Close).unwrap();
        assert_eq!(stamps.checkpoints, 1);
        let earlier = version - 1;
        e.lock().after_durable(&mut stamps, earlier);
        // The file exists (checked and created at start) but is empty.
        assert_eq!(std::fs::read_to_string(&file).unwrap(), "", "nothing is appended before the issue is durable");
        e.make_durable(version).unwrap();
        e.lock().after_durable(&mut stamps, version);
        assert_eq!(std::fs::read_to_string(&file).unwrap().lines().count(), 1);
    }
}
