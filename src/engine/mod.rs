//! The stamping engine behind the processor: one stream, its durable state,
//! its keys, and the control records it owes the stream.
//!
//! Concurrency: records are canonicalised and hashed outside the lock, so
//! concurrent batches hash in parallel; only issuing sequence numbers
//! happens under it, which keeps numbers gap-free and unique across
//! concurrent callers. Saving the state happens after, shared by the
//! batches issued meanwhile (group commit).

use crate::core::canonical::{self, proto};
use crate::core::chain::{self, Algorithm, Hash};
use crate::core::keys;
use crate::core::note::{Checkpoint, NoteSigner};
use crate::engine::config::EngineConfig;
use crate::engine::control::{ControlRecord, ControlStamp, CtlValue};
use crate::engine::error::{Code, Error};
use crate::engine::stamps::{Issued, Stamps, StampsBuilder};
use crate::engine::state::{EpochPolicy, SeqRange, StreamState};
use crate::engine::store::{Loaded, StateStore};
use std::collections::BTreeMap;
use std::io::Write;
use std::path::PathBuf;
use std::sync::{Condvar, Mutex, MutexGuard};

pub mod config;
pub mod control;
pub mod error;
pub mod stamps;
pub mod state;
pub mod store;

pub struct Engine {
    inner: Mutex<Inner>,
    store: Option<StateStore>,
    /// Group commit: one state write makes every batch issued before it
    /// durable, so concurrent batches share fsyncs instead of queueing for
    /// one each.
    durability: Mutex<Durability>,
    durable_changed: Condvar,
}

#[derive(Default)]
struct Durability {
    /// Every state version up to this one is on disk.
    durable: u64,
    /// A write is in progress (by one of the callers).
    writing: bool,
    /// The last failed write: versions up to this one, after `durable`, failed.
    failure: Option<(u64, Error)>,
}

struct Inner {
    stream: StreamState,
    /// Bumped by every change that must reach the disk.
    version: u64,
    signer: Option<NoteSigner>,
    epochs: EpochPolicy,
    checkpoint_interval_ns: u64,
    checkpoint_records: u64,
    checkpoint_file: Option<PathBuf>,
    /// The state version that added each line of
    /// `stream.checkpoint_backlog` (0 for lines loaded from disk): a line
    /// may be appended to the checkpoint file only once that version is
    /// on disk, or a crash could reissue the numbers it signs.
    backlog_versions: Vec<u64>,
    /// Problems to report with the next stamps (the engine cannot log).
    warnings: Vec<String>,
    /// Control records owed to the stream, emitted with the next call.
    pending: Vec<ControlRecord>,
    /// A `gap` record is owed: ranges were refused or not saved.
    gap_due: bool,
    /// What the control records of each unsettled batch announced (this
    /// stream's ranges, the predecessor's): once the batch is delivered,
    /// those ranges are announced for good.
    announced: BTreeMap<u64, (Vec<SeqRange>, Vec<SeqRange>)>,
    next_batch_id: u64,
    /// Issued ranges by batch id, until the caller settles them.
    in_flight: BTreeMap<u64, SeqRange>,
    closed: bool,
}

/// Counters of an engine.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct EngineStats {
    /// Durable writes of the stream state (several batches can share one).
    pub state_writes: u64,
}

/// What a call to [`Inner::issue`] is for.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Call {
    Stamp,
    Tick,
    Close,
}

/// Hashes every log record of a request, refusing records that already
/// carry auditchain attributes.
pub fn hash_log_records(request: &[u8]) -> Result<Vec<Hash>, Error> {
    Ok(canonical::hash_log_records(request, proto::StampPolicy::Reject)?)
}

/// Checkpoint intervals are announced in whole seconds, rounded up, so
/// that a verifier never expects checkpoints more often than they come.
fn interval_seconds(ns: u64) -> u64 {
    ns.div_ceil(1_000_000_000)
}

fn key_error(message: String) -> Error {
    Error::new(Code::Key, message)
}

impl Engine {
    /// Opens the stream: continues the saved one, or starts a new one and
    /// says why in its first record.
    pub fn new(config: EngineConfig, now_unix_nano: u64) -> Result<Engine, Error> {
        config.validate()?;
        let name = config.stream_name.as_str();
        let signer = match &config.signing_key_file {
            Some(p) => Some(keys::load_signing_key(p, "signing_key_file").map_err(key_error)?),
            None => None,
        };
        let chain_key = || -> Result<Option<keys::ChainKey>, Error> {
            match &config.key_file {
                Some(p) => keys::load_chain_key(p, "key_file")
                    .map(Some)
                    .map_err(|e| key_error(format!("{e} (the chain key is needed to start a new keyed stream)"))),
                None => Ok(None),
            }
        };
        let (store, loaded) = match &config.state.directory {
            Some(dir) => {
                let (store, loaded) = StateStore::open(dir, name, config.state.new_stream)?;
                (Some(store), loaded)
            }
            None => (None, Loaded::FirstStart),
        };
        let genesis = || StreamState::genesis(name, Algorithm::Sha256, now_unix_nano);
        // Called once the new stream's key, if any, is set: a keyed
        // stream's start record says how its key derives.
        let start = |s: &StreamState, reason: &str, why: String| {
            let mut rec = ControlRecord::new(
                control::EVENT_START,
                now_unix_nano,
                format!("auditchain stream {} started: {why}", s.stream_id),
            )
            .with(control::NAME, CtlValue::Str(name.to_string()))
            .with(control::REASON, CtlValue::Str(reason.to_string()));
            if let Some(k) = &s.key {
                rec = rec
                    .with(control::CHAIN_KEY_ID, CtlValue::Str(k.chain_key_id.clone()))
                    .with(control::KEY_LINEAGE, CtlValue::StrArray(k.lineage.clone()));
            }
            rec
        };
        // A stream without a keyed predecessor is keyed from the chain key,
        // when one is configured.
        let key_from_chain_key = |s: &mut StreamState| -> Result<(), Error> {
            if let Some(k) = chain_key()? {
                s.key_from_chain_key(&k, now_unix_nano);
            }
            Ok(())
        };
        let (stream, first) = match loaded {
            Loaded::FirstStart | Loaded::Reset(_) => {
                let mut s = genesis();
                key_from_chain_key(&mut s)?;
                let rec = match loaded {
                    Loaded::Reset(problem) => {
                        start(&s, control::REASON_STATE_RESET, format!("state.new_stream is set and {problem}"))
                    }
                    _ => start(&s, control::REASON_FIRST_START, "first start".into()),
                };
                (s, rec)
            }
            Loaded::Saved(old) if old.ended => {
                let mut s = genesis();
                // Checkpoint lines the old stream could not append are still owed.
                s.checkpoint_backlog = old.checkpoint_backlog.clone();
                match &old.key {
                    Some(k) => s.key_from_predecessor(k, now_unix_nano),
                    None => key_from_chain_key(&mut s)?,
                }
                let mut rec =
                    start(&s, control::REASON_PREVIOUS_ENDED, format!("stream {} ended cleanly", old.stream_id))
                        .with(control::PREDECESSOR_ID, CtlValue::Str(old.stream_id.clone()))
                        .with(control::PREDECESSOR_SEQUENCE, CtlValue::Int((old.next_sequence - 1) as i64));
                if let Some(h) = &old.head {
                    rec = rec.with(control::PREDECESSOR_HASH, CtlValue::Str(chain::to_hex(h)));
                }
                // The old stream's records not confirmed delivered are
                // announced by this stream's start (and resume) records
                // until one of them is delivered.
                let mut owed = old.unannounced.clone();
                owed.extend(old.in_flight.iter().copied());
                s.predecessor_unannounced = state::normalize(owed);
                (s, rec)
            }
            Loaded::Saved(mut s) => {
                // What was in flight at the stop may be missing: it stays
                // owed (in the saved state) until a resume or gap record
                // announcing it is delivered, whatever crashes meanwhile.
                let mut owed = std::mem::take(&mut s.unannounced);
                owed.extend(std::mem::take(&mut s.in_flight));
                s.unannounced = state::normalize(owed);
                let rec = ControlRecord::new(
                    control::EVENT_RESUME,
                    now_unix_nano,
                    format!("auditchain stream {} resumed at {} after an unclean stop", s.stream_id, s.next_sequence),
                );
                (*s, rec)
            }
        };
        let mut warnings = Vec::new();
        if let (Some(k), Some(path)) = (&stream.key, &config.key_file) {
            // The stream's keys derive from its lineage; a different chain
            // key in key_file takes effect only for a stream without a keyed
            // predecessor. Say so rather than ignore it silently.
            if let Ok(configured) = keys::load_chain_key(path, "key_file") {
                if configured.id() != k.chain_key_id {
                    warnings.push(format!(
                        "key_file: {} holds chain key {}, but stream {} continues the key lineage of chain key {}; \
                         the configured key takes effect only when a stream starts without a keyed predecessor (after state.new_stream)",
                        path.display(),
                        configured.id(),
                        stream.stream_id,
                        k.chain_key_id
                    ));
                }
            }
        }
        let mut first = first;
        if let Some(s) = &signer {
            // A resumed stream keeps its checkpoint clock: a checkpoint that
            // fell due while the collector was down comes right away.
            first = first
                .with(control::SIGNER, CtlValue::Str(s.id.to_string()))
                .with(control::CHECKPOINT_INTERVAL, CtlValue::Int(interval_seconds(config.checkpoint.interval) as i64));
        }
        let backlog_versions = vec![0; stream.checkpoint_backlog.len()];
        let inner = Inner {
            stream,
            version: 1,
            signer,
            epochs: EpochPolicy { records: config.key_epoch.records, interval_ns: config.key_epoch.interval },
            checkpoint_interval_ns: config.checkpoint.interval,
            checkpoint_records: config.checkpoint.records,
            checkpoint_file: config.checkpoint.file.clone(),
            backlog_versions,
            warnings,
            pending: vec![first],
            gap_due: false,
            announced: BTreeMap::new(),
            next_batch_id: 1,
            in_flight: BTreeMap::new(),
            closed: false,
        };
        // The new or resumed state is durable before anything is stamped.
        if let Some(store) = &store {
            store.save(&inner.stream)?;
        }
        Ok(Engine {
            inner: Mutex::new(inner),
            store,
            durability: Mutex::new(Durability { durable: 1, ..Durability::default() }),
            durable_changed: Condvar::new(),
        })
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // Issuing never fails halfway (its only error comes before it
        // changes anything), so the state is consistent even if a panic
        // elsewhere poisoned the mutex.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Counters for the processor's telemetry.
    pub fn stats(&self) -> EngineStats {
        EngineStats { state_writes: self.store.as_ref().map_or(0, StateStore::writes) }
    }

    pub fn stream_id(&self) -> String {
        self.lock().stream.stream_id.clone()
    }

    /// Stamps every log record of an OTLP protobuf `ExportLogsServiceRequest`.
    /// The returned stamps are durable in the state before this returns.
    pub fn stamp_logs(&self, request: &[u8], now_unix_nano: u64) -> Result<Stamps, Error> {
        let hashes = hash_log_records(request)?;
        let issued = self.lock().issue(&hashes, now_unix_nano, Call::Stamp)?;
        self.commit(issued)
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
            let batch_id = stamps.batch_id;
            inner.settled(batch_id, false);
            return Err(e);
        }
        self.lock().after_durable(&mut stamps, version);
        Ok(stamps)
    }

    /// Waits until state version `version` is on disk, writing it (and all
    /// versions issued meanwhile) if no other caller is already writing.
    fn make_durable(&self, version: u64) -> Result<(), Error> {
        let Some(store) = &self.store else { return Ok(()) };
        let mut d = self.durability.lock().unwrap_or_else(|p| p.into_inner());
        loop {
            if d.durable >= version {
                return Ok(());
            }
            if let Some((upto, e)) = &d.failure {
                if version <= *upto {
                    return Err(e.clone());
                }
            }
            if d.writing {
                d = self.durable_changed.wait(d).unwrap_or_else(|p| p.into_inner());
                continue;
            }
            d.writing = true;
            drop(d);
            let (snapshot_version, json) = {
                let inner = self.lock();
                (inner.version, serde_json::to_string(&inner.stream).expect("stream state serialises"))
            };
            let result = store.save_json(&json);
            d = self.durability.lock().unwrap_or_else(|p| p.into_inner());
            d.writing = false;
            match result {
                Ok(()) => d.durable = d.durable.max(snapshot_version),
                Err(e) => d.failure = Some((snapshot_version, e)),
            }
            self.durable_changed.notify_all();
        }
    }

    /// Does what is due without traffic: owed control records, the
    /// heartbeat checkpoint, and retiring an expired epoch key.
    pub fn tick(&self, now_unix_nano: u64) -> Result<Stamps, Error> {
        let mut inner = self.lock();
        if inner.closed {
            return Ok(Stamps::default());
        }
        let epochs = inner.epochs;
        let evolved = match &mut inner.stream.key {
            Some(k) => k.maybe_evolve(now_unix_nano, epochs),
            None => false,
        };
        let gap_due = inner.gap_due && !inner.stream.unannounced.is_empty();
        if !inner.pending.is_empty() || gap_due || inner.checkpoint_due(now_unix_nano) {
            let issued = inner.issue(&[], now_unix_nano, Call::Tick)?;
            drop(inner);
            return self.commit(issued);
        }
        if evolved {
            // Erase the old epoch key from the saved state too.
            let version = inner.changed();
            drop(inner);
            self.make_durable(version)?;
        }
        Ok(Stamps::default())
    }

    /// Reports whether a stamped batch was accepted downstream. A refused
    /// batch leaves a gap in the stream; the engine announces it in the next
    /// control record, so the verifier can tell it from a deletion.
    pub fn settle(&self, batch_id: u64, delivered: bool) -> Result<(), Error> {
        let mut inner = self.lock();
        if !inner.in_flight.contains_key(&batch_id) {
            return Err(Error::new(Code::InvalidArgument, format!("unknown or already settled batch id {batch_id}")));
        }
        inner.settled(batch_id, delivered);
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
    /// fail with [`Code::Closed`]; the next engine on the same state starts
    /// a new stream that names this one as its predecessor.
    pub fn close(&self, now_unix_nano: u64) -> Result<Stamps, Error> {
        let mut inner = self.lock();
        if inner.closed {
            return Err(Error::new(Code::Closed, "the stream is already closed"));
        }
        let issued = inner.issue(&[], now_unix_nano, Call::Close)?;
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

    /// Books the fate of a batch. Delivered: the ranges its control records
    /// announced are announced for good. Not delivered (refused downstream,
    /// or its state could not be saved): its own range may be missing, so
    /// it is owed to the stream and a `gap` record will announce it.
    fn settled(&mut self, batch_id: u64, delivered: bool) {
        let Some(range) = self.in_flight.remove(&batch_id) else { return };
        state::remove_range(&mut self.stream.in_flight, range);
        let announced = self.announced.remove(&batch_id);
        if delivered {
            if let Some((mine, pred)) = announced {
                self.stream.unannounced = state::subtract(&self.stream.unannounced, &mine);
                self.stream.predecessor_unannounced = state::subtract(&self.stream.predecessor_unannounced, &pred);
            }
        } else {
            state::add_range(&mut self.stream.unannounced, range);
            self.gap_due = true;
        }
    }

    /// What follows an issue once state version `durable` is on disk:
    /// appending the checkpoints it made durable to the checkpoint file,
    /// and handing over the warnings.
    fn after_durable(&mut self, stamps: &mut Stamps, durable: u64) {
        if let Some(w) = self.flush_checkpoint_file(durable) {
            self.warnings.push(w);
        }
        if !self.warnings.is_empty() {
            stamps.warning = Some(std::mem::take(&mut self.warnings).join("; "));
        }
    }

    fn checkpoint_due(&self, now: u64) -> bool {
        self.signer.is_some()
            && (self.stream.records_since_checkpoint >= self.checkpoint_records
                || now.saturating_sub(self.stream.last_checkpoint_unix_nano) >= self.checkpoint_interval_ns)
    }

    /// A checkpoint over everything issued so far, as a control record.
    fn checkpoint_record(&self, signer: &NoteSigner, now: u64) -> ControlRecord {
        let cp = Checkpoint {
            origin: self.stream.stream_id.clone(),
            size: self.stream.next_sequence - 1,
            root: self.stream.head.unwrap_or([0; 32]),
            time_unix_nano: now,
            interval_seconds: interval_seconds(self.checkpoint_interval_ns),
        };
        ControlRecord::new(control::EVENT_CHECKPOINT, now, signer.sign(&cp.text()))
    }

    /// Issues links for the owed control records, then `hashes`, then the
    /// checkpoint or end record that is due, and builds the stamps. Returns
    /// them with the state version that must be made durable before they
    /// leave (0 when nothing was issued).
    fn issue(&mut self, hashes: &[Hash], now: u64, call: Call) -> Result<(Stamps, u64), Error> {
        if self.closed {
            return Err(Error::new(Code::Closed, "the stream was closed; no more records can join it"));
        }
        let first = self.stream.next_sequence;
        let epochs = self.epochs;
        // Control records with their links and end flags.
        let mut controls: Vec<(ControlRecord, Issued, bool)> = Vec::new();
        // Owed control records first: a stream starts with its start
        // record, a resumed one with its resume record, then a gap record
        // when ranges were refused. Each announces every range still owed.
        let mut pending = std::mem::take(&mut self.pending);
        if self.gap_due && !self.stream.unannounced.is_empty() && pending.is_empty() {
            pending.push(ControlRecord::new(
                control::EVENT_GAP,
                now,
                "stamped records were refused downstream or could not be saved; their senders were told to retry"
                    .into(),
            ));
        }
        self.gap_due = false;
        let mine = self.stream.unannounced.clone();
        let pred = self.stream.predecessor_unannounced.clone();
        let owes_any = !mine.is_empty() || !pred.is_empty();
        let announcing = !pending.is_empty() && owes_any;
        for mut rec in pending {
            if !mine.is_empty() {
                rec = rec.with(control::UNCONFIRMED, CtlValue::StrArray(state::range_strings(&mine)));
            }
            if !pred.is_empty() {
                rec = rec.with(control::PREDECESSOR_UNCONFIRMED, CtlValue::StrArray(state::range_strings(&pred)));
            }
            let link = self.stream.issue(&control::record_hash(&rec), false, now, epochs);
            controls.push((rec, link, false));
        }
        let mut builder = StampsBuilder::new(&self.stream.stream_id, self.stream.algorithm, hashes.len());
        for h in hashes {
            let link = self.stream.issue(h, false, now, epochs);
            builder.stamped(&link);
        }
        // Then the checkpoint or the end: (record, is it a checkpoint, does
        // it end the stream).
        let last_record = match (call, &self.signer) {
            (Call::Close, Some(signer)) => Some((self.checkpoint_record(signer, now), true, true)),
            (Call::Close, None) => {
                let id = &self.stream.stream_id;
                let why = format!("auditchain stream {id} ended: the collector shut down cleanly");
                Some((ControlRecord::new(control::EVENT_END, now, why), false, true))
            }
            (_, Some(signer)) if self.checkpoint_due(now) => Some((self.checkpoint_record(signer, now), true, false)),
            _ => None,
        };
        let mut checkpoint_line = None;
        if let Some((rec, checkpoint, end)) = last_record {
            let link = self.stream.issue(&control::record_hash(&rec), end, now, epochs);
            if checkpoint {
                self.stream.last_checkpoint_unix_nano = now;
                self.stream.records_since_checkpoint = 0;
                let line = serde_json::json!({ "stream_id": self.stream.stream_id, "sequence": link.sequence, "note": rec.body });
                checkpoint_line = Some(line.to_string());
            }
            controls.push((rec, link, end));
        }
        let last = self.stream.next_sequence - 1;
        let mut stamps = builder.finish();
        if last < first {
            return Ok((stamps, 0));
        }
        if !controls.is_empty() {
            let recs: Vec<_> = controls
                .iter()
                .map(|(rec, link, end)| {
                    let stamp = ControlStamp {
                        stream_id: &self.stream.stream_id,
                        algorithm: self.stream.algorithm,
                        issued: link,
                        end: *end,
                    };
                    (rec, Some(stamp))
                })
                .collect();
            stamps.extra_logs = control::encode(&recs);
        }
        let batch_id = self.next_batch_id;
        self.stream.in_flight.push([first, last]);
        if call == Call::Close {
            self.stream.ended = true;
            self.stream.retire_key(now);
            self.closed = true;
        }
        // Issued: these numbers are never issued again, whatever happens
        // next (the caller makes them durable or announces them as a gap).
        let version = self.changed();
        if let Some(line) = checkpoint_line {
            if self.checkpoint_file.is_some() {
                self.stream.checkpoint_backlog.push(line);
                self.backlog_versions.push(version);
            }
        }
        self.next_batch_id += 1;
        self.in_flight.insert(batch_id, [first, last]);
        if announcing {
            self.announced.insert(batch_id, (mine, pred));
        }
        stamps.batch_id = batch_id;
        stamps.first_sequence = first;
        stamps.last_sequence = last;
        Ok((stamps, version))
    }

    /// Appends owed checkpoint lines whose state version `durable` covers
    /// to the checkpoint file (lines of later issues wait for their own
    /// save). A failure does not fail the batch (its records are durable
    /// and stamped): the lines stay in the state, are retried with the next
    /// call or at the next start, and the caller is warned. A crash between
    /// appending and the next save can append a line twice, which verifiers
    /// ignore.
    fn flush_checkpoint_file(&mut self, durable: u64) -> Option<String> {
        let path = self.checkpoint_file.as_ref()?;
        let ready = self.backlog_versions.iter().take_while(|&&v| v <= durable).count();
        if ready == 0 {
            return None;
        }
        let text: String = self.stream.checkpoint_backlog[..ready].iter().map(|l| format!("{l}\n")).collect();
        let write = || -> std::io::Result<()> {
            let mut f = std::fs::OpenOptions::new().create(true).append(true).open(path)?;
            f.write_all(text.as_bytes())?;
            f.sync_data()
        };
        match write() {
            Ok(()) => {
                self.stream.checkpoint_backlog.drain(..ready);
                self.backlog_versions.drain(..ready);
                None
            }
            Err(e) => Some(format!(
                "checkpoint.file: cannot append to {}: {e} ({} checkpoints kept in the stream state, retried with the next checkpoint or at the next start)",
                path.display(),
                self.stream.checkpoint_backlog.len()
            )),
        }
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
        let (mut stamps, version) = e.lock().issue(&[], 2, Call::Close).unwrap();
        let earlier = version - 1;
        e.lock().after_durable(&mut stamps, earlier);
        assert!(!file.exists(), "nothing is appended before the issue is durable");
        e.make_durable(version).unwrap();
        e.lock().after_durable(&mut stamps, version);
        assert_eq!(std::fs::read_to_string(&file).unwrap().lines().count(), 1);
    }
}
