//! The stamping engine behind the processor: one stream, its durable state,
//! and the control records it owes the stream.
//!
//! Concurrency: records are canonicalised and hashed outside the lock, so
//! concurrent batches hash in parallel; only issuing sequence numbers and
//! saving the state happen under it, which keeps numbers gap-free and
//! unique across concurrent callers.

use crate::canonical::{proto, RecordHasher, Scratch};
use crate::chain::{Algorithm, Hash};
use crate::config::EngineConfig;
use crate::control::{self, ControlRecord, ControlStamp, CtlValue};
use crate::error::{Code, Error};
use crate::stamps::{Issued, Stamps, StampsBuilder};
use crate::state::{Loaded, StateStore};
use crate::stream::{self, SeqRange, StreamState};
use std::collections::BTreeMap;
use std::sync::{Mutex, MutexGuard};

pub struct Engine {
    inner: Mutex<Inner>,
}

struct Inner {
    stream: StreamState,
    store: Option<StateStore>,
    /// Control records owed to the stream, emitted with the next call.
    pending: Vec<ControlRecord>,
    next_batch_id: u64,
    /// Issued ranges by batch id, until the caller settles them.
    in_flight: BTreeMap<u64, SeqRange>,
    closed: bool,
}

/// Collects a batch's record hashes.
struct HashSink {
    hasher: RecordHasher,
    hashes: Vec<Hash>,
}

impl<'a> proto::RecordSink<'a> for HashSink {
    fn envelope(&mut self, envelope: &crate::canonical::Envelope) {
        self.hasher.set_envelope(envelope);
    }
    fn record(&mut self, canonical: &[u8], _stamp: &[proto::StampAttr<'a>]) {
        self.hashes.push(self.hasher.hash(canonical));
    }
}

/// Hashes every log record of a request, refusing records that already
/// carry auditchain attributes.
pub fn hash_log_records(request: &[u8]) -> Result<Vec<Hash>, Error> {
    let mut sink = HashSink { hasher: RecordHasher::default(), hashes: Vec::new() };
    proto::walk_logs(request, proto::StampPolicy::Reject, &mut Scratch::new(), &mut sink)?;
    Ok(sink.hashes)
}

impl Engine {
    /// Opens the stream: continues the saved one, or starts a new one and
    /// says why in its first record.
    pub fn new(config: EngineConfig, now_unix_nano: u64) -> Result<Engine, Error> {
        config.validate()?;
        let name = config.stream_name.as_str();
        let (store, loaded) = match &config.state.directory {
            Some(dir) => {
                let (store, loaded) = StateStore::open(dir, name, config.state.new_stream)?;
                (Some(store), loaded)
            }
            None => (None, Loaded::FirstStart),
        };
        let genesis = || StreamState::genesis(name, Algorithm::Sha256, now_unix_nano);
        let start = |s: &StreamState, reason: &str, why: String| {
            ControlRecord::new(control::EVENT_START, now_unix_nano, format!("auditchain stream {} started: {why}", s.stream_id))
                .with(control::NAME, CtlValue::Str(name.to_string()))
                .with(control::REASON, CtlValue::Str(reason.to_string()))
        };
        let (stream, first) = match loaded {
            Loaded::FirstStart => {
                let s = genesis();
                let rec = start(&s, control::REASON_FIRST_START, "first start".into());
                (s, rec)
            }
            Loaded::Reset(problem) => {
                let s = genesis();
                let rec = start(&s, control::REASON_STATE_RESET, format!("state.new_stream is set and {problem}"));
                (s, rec)
            }
            Loaded::Saved(old) if old.ended => {
                let s = genesis();
                let mut rec = start(&s, control::REASON_PREVIOUS_ENDED, format!("stream {} ended cleanly", old.stream_id))
                    .with(control::PREDECESSOR_ID, CtlValue::Str(old.stream_id.clone()))
                    .with(control::PREDECESSOR_SEQUENCE, CtlValue::Int((old.next_sequence - 1) as i64));
                if let Some(h) = &old.head {
                    rec = rec.with(control::PREDECESSOR_HASH, CtlValue::Str(crate::chain::to_hex(h)));
                }
                if !old.in_flight.is_empty() {
                    rec = rec.with(control::UNCONFIRMED, CtlValue::StrArray(stream::range_strings(&old.in_flight)));
                }
                (s, rec)
            }
            Loaded::Saved(mut s) => {
                let unconfirmed = std::mem::take(&mut s.in_flight);
                let mut rec = ControlRecord::new(
                    control::EVENT_RESUME,
                    now_unix_nano,
                    format!("auditchain stream {} resumed at {} after an unclean stop", s.stream_id, s.next_sequence),
                );
                if !unconfirmed.is_empty() {
                    rec = rec.with(control::UNCONFIRMED, CtlValue::StrArray(stream::range_strings(&unconfirmed)));
                }
                (s, rec)
            }
        };
        let inner = Inner {
            stream,
            store,
            pending: vec![first],
            next_batch_id: 1,
            in_flight: BTreeMap::new(),
            closed: false,
        };
        // The new or resumed state is durable before anything is stamped.
        inner.save()?;
        Ok(Engine { inner: Mutex::new(inner) })
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic while holding the lock cannot leave a half-issued batch
        // behind (issuing is rolled back on every error path), so the state
        // is usable even if the mutex was poisoned.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn stream_id(&self) -> String {
        self.lock().stream.stream_id.clone()
    }

    /// Stamps every log record of an OTLP protobuf `ExportLogsServiceRequest`.
    /// The returned stamps are durable in the state before this returns.
    pub fn stamp_logs(&self, request: &[u8], _now_unix_nano: u64) -> Result<Stamps, Error> {
        let hashes = hash_log_records(request)?;
        let mut inner = self.lock();
        inner.issue(&hashes, false)
    }

    /// Emits the control records that are due even without traffic.
    pub fn tick(&self, _now_unix_nano: u64) -> Result<Stamps, Error> {
        let mut inner = self.lock();
        if inner.closed || inner.pending.is_empty() {
            return Ok(Stamps::default());
        }
        inner.issue(&[], false)
    }

    /// Reports whether a stamped batch was accepted downstream. A refused
    /// batch leaves a gap in the stream; the engine announces it in the next
    /// control record, so the verifier can tell it from a deletion.
    pub fn settle(&self, batch_id: u64, delivered: bool, now_unix_nano: u64) -> Result<(), Error> {
        let mut inner = self.lock();
        let Some(range) = inner.in_flight.remove(&batch_id) else {
            return Err(Error::new(Code::InvalidArgument, format!("unknown or already settled batch id {batch_id}")));
        };
        stream::remove_range(&mut inner.stream.in_flight, range);
        if inner.closed {
            // Nothing else will save the state; record that the final
            // records were delivered so the next stream need not flag them.
            if delivered {
                inner.save()?;
            }
            return Ok(());
        }
        if !delivered {
            inner.pending.push(
                ControlRecord::new(
                    control::EVENT_GAP,
                    now_unix_nano,
                    format!("records {} were stamped but refused downstream; their senders were told to retry", stream::range_strings(&[range])[0]),
                )
                .with(control::UNDELIVERED, CtlValue::StrArray(stream::range_strings(&[range]))),
            );
        }
        Ok(())
    }

    /// Ends the stream: the last record carries `audit.sequence.end`. Later
    /// calls fail with [`Code::Closed`]; the next engine on the same state
    /// starts a new stream that names this one as its predecessor.
    pub fn close(&self, now_unix_nano: u64) -> Result<Stamps, Error> {
        let mut inner = self.lock();
        if inner.closed {
            return Err(Error::new(Code::Closed, "the stream is already closed"));
        }
        let id = inner.stream.stream_id.clone();
        inner.pending.push(ControlRecord::new(
            control::EVENT_END,
            now_unix_nano,
            format!("auditchain stream {id} ended: the collector shut down cleanly"),
        ));
        inner.issue(&[], true)
    }
}

impl Inner {
    fn save(&self) -> Result<(), Error> {
        match &self.store {
            Some(store) => store.save(&self.stream),
            None => Ok(()),
        }
    }

    /// Issues links for `hashes` and for the pending control records, saves
    /// the state, and builds the stamps. On any error nothing is issued.
    fn issue(&mut self, hashes: &[Hash], end: bool) -> Result<Stamps, Error> {
        if self.closed {
            return Err(Error::new(Code::Closed, "the stream was closed; no more records can join it"));
        }
        let saved = (self.stream.clone(), self.pending.clone());
        let mut builder = StampsBuilder::new(&self.stream.stream_id, self.stream.algorithm, hashes.len());
        let first = self.stream.next_sequence;
        // Control records owed from before this call come first: a stream
        // starts with its start record, a resumed one with its resume
        // record. `close` passes no hashes, so its end record is last.
        let pending = std::mem::take(&mut self.pending);
        let n = pending.len();
        let controls: Vec<(ControlRecord, Issued)> = pending
            .into_iter()
            .enumerate()
            .map(|(i, rec)| {
                let link = self.stream.issue(&control::record_hash(&rec), end && i + 1 == n);
                (rec, link)
            })
            .collect();
        for h in hashes {
            let link = self.stream.issue(h, false);
            builder.stamped(&link);
        }
        let last = self.stream.next_sequence - 1;
        let mut stamps = builder.finish();
        if !controls.is_empty() {
            let n = controls.len();
            let recs: Vec<_> = controls
                .iter()
                .enumerate()
                .map(|(i, (rec, link))| {
                    let stamp = ControlStamp {
                        stream_id: &self.stream.stream_id,
                        algorithm: self.stream.algorithm,
                        issued: link,
                        end: end && i + 1 == n,
                    };
                    (rec, Some(stamp))
                })
                .collect();
            stamps.extra_logs = control::encode(&recs);
        }
        if last >= first {
            let batch_id = self.next_batch_id;
            self.stream.in_flight.push([first, last]);
            if end {
                self.stream.ended = true;
            }
            if let Err(e) = self.save() {
                (self.stream, self.pending) = saved;
                return Err(e);
            }
            self.next_batch_id += 1;
            self.in_flight.insert(batch_id, [first, last]);
            if end {
                self.closed = true;
            }
            stamps.batch_id = batch_id;
            stamps.first_sequence = first;
            stamps.last_sequence = last;
        }
        Ok(stamps)
    }
}
