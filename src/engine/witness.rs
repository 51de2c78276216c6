//! The witness client's protocol half (docs/SPEC.md §5.5, MERKLE-NOTES §4):
//! the engine builds every add-checkpoint body and takes every decision;
//! the processor only POSTs the bodies (`<url>/add-checkpoint`), off the
//! hot path, and hands back what each witness answered. Stamping never
//! waits for a witness.

use super::config::{EngineConfig, WitnessConfig};
use super::tlog::{LogState, merge_notes};
use crate::core::note::NoteVerifier;
use crate::core::tlog::{AddCheckpoint, Answer, CosignatureVerifier, Resync, SignedCheckpoint, cosign, on_conflict};
use std::collections::{BTreeMap, BTreeSet};

/// One add-checkpoint request for the processor to POST.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Job {
    /// Names the request in [`Witnesses::answer`].
    pub id: u64,
    /// The witness, by its index in `witnesses:`.
    pub witness: usize,
    pub url: String,
    /// The request body (C2SP tlog-witness).
    pub body: String,
    /// The configured timeout, nanoseconds (0: the processor's default).
    pub timeout_ns: u64,
    /// The check at start: the saved checkpoint, sent again.
    pub start: bool,
    /// The checkpoint's size.
    pub size: u64,
}

/// What a witness's answer was, as counted and reported.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AnswerKind {
    /// 200 with a valid cosignature of the witness's key.
    Cosigned = 0,
    /// 409: the witness holds another size (resynced, or refused at start).
    Conflict = 1,
    /// 422: the witness holds a tree this checkpoint does not extend.
    Inconsistent = 2,
    /// 403 or 404: the origin or the log key is not registered with it.
    NotAccepted = 3,
    /// 400: it could not parse the request.
    Rejected = 4,
    /// 429 or 5xx: try later.
    RetryLater = 5,
    /// No answer: connection refused, a timeout (status 0).
    Unreachable = 6,
    /// An answer that breaks the protocol (a 200 without signature lines,
    /// a 409 without its size, an unexpected status).
    BadAnswer = 7,
    /// 200 with a cosignature that does not verify under the witness key.
    BadCosignature = 8,
}

/// Counters of the witness client, for the processor's metrics.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct WitnessCounters {
    /// Requests handed to the processor.
    pub sent: u64,
    /// Answers by kind, indexed by [`AnswerKind`].
    pub answers: [u64; 9],
    /// Checkpoints whose cosignatures reached `witness_quorum`.
    pub witnessed: u64,
    /// Pending sizes dropped (more than `tlog::MAX_PENDING` unanswered).
    pub pending_dropped: u64,
}

/// A request handed out, until its answer.
struct Sent {
    witness: usize,
    size: u64,
    /// The checkpoint as signed by the log.
    note: String,
    start: bool,
    /// The record that carries the checkpoint (stream id, sequence).
    carrier: (String, u64),
}

/// What an answer produced.
pub struct Outcome {
    pub kind: AnswerKind,
    /// Something to log.
    pub warning: Option<String>,
    /// At start: why the engine must not run (a rolled-back state).
    pub refusal: Option<String>,
    /// A checkpoint that got new cosignatures: its size, the note with
    /// every cosignature collected, the record that carries it.
    pub cosigned: Option<(u64, String, (String, u64))>,
}

impl Outcome {
    fn of(kind: AnswerKind) -> Outcome {
        Outcome { kind, warning: None, refusal: None, cosigned: None }
    }

    fn warn(kind: AnswerKind, w: String) -> Outcome {
        Outcome { warning: Some(w), ..Outcome::of(kind) }
    }
}

/// Cosigned notes of older checkpoints kept for late answers.
const KEEP_NOTES: usize = 16;

pub struct Witnesses {
    configs: Vec<WitnessConfig>,
    keys: Vec<CosignatureVerifier>,
    quorum: u64,
    log_key: Option<NoteVerifier>,
    /// Built, waiting for the state version that records them (`u64::MAX`:
    /// not yet booked) to be durable.
    queued: Vec<(u64, Job, Sent)>,
    /// Durable, for the processor to take.
    ready: Vec<(Job, Sent)>,
    sent: BTreeMap<u64, Sent>,
    next_id: u64,
    /// Notes with cosignatures of checkpoints older than the last, by size.
    notes: BTreeMap<u64, String>,
    /// Which witnesses cosigned each recent checkpoint.
    cosigners: BTreeMap<u64, BTreeSet<usize>>,
    pub counters: WitnessCounters,
}

impl Witnesses {
    /// The witnesses of `config`; `log_key` verifies the log's own
    /// signatures. Keys were checked by `EngineConfig::validate`.
    pub fn new(config: &EngineConfig, log_key: Option<NoteVerifier>) -> Witnesses {
        Witnesses {
            keys: config
                .witnesses
                .iter()
                .map(|w| CosignatureVerifier::parse(&w.key).expect("witness keys are validated"))
                .collect(),
            configs: config.witnesses.clone(),
            quorum: config.quorum(),
            log_key,
            queued: Vec::new(),
            ready: Vec::new(),
            sent: BTreeMap::new(),
            next_id: 1,
            notes: BTreeMap::new(),
            cosigners: BTreeMap::new(),
            counters: WitnessCounters::default(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.configs.is_empty()
    }

    fn job(&mut self, witness: usize, size: u64, body: String, start: bool) -> Job {
        let id = self.next_id;
        self.next_id += 1;
        let c = &self.configs[witness];
        Job { id, witness, url: c.url.clone(), body, timeout_ns: c.timeout, start, size }
    }

    /// At start: the saved checkpoint goes to every witness again (old =
    /// its size, no proof). A witness holding a larger size, or another
    /// tree, reveals a rolled-back or replaced state.
    pub fn start(&mut self, log: &LogState) -> Vec<String> {
        let Some(last) = &log.last_checkpoint else { return Vec::new() };
        let mut warnings = Vec::new();
        for i in 0..self.configs.len() {
            match AddCheckpoint::new(last.size, Vec::new(), &last.note) {
                Ok(req) => {
                    let job = self.job(i, last.size, req.body(), true);
                    let sent = Sent {
                        witness: i,
                        size: last.size,
                        note: last.note.clone(),
                        start: true,
                        carrier: (last.stream_id.clone(), last.sequence),
                    };
                    self.ready.push((job, sent));
                }
                Err(e) => {
                    warnings.push(format!("witness {}: cannot send the saved checkpoint: {e}", self.configs[i].url))
                }
            }
        }
        warnings
    }

    /// After checkpoint `note` of the log at its current size was signed
    /// (and before any later leaf): one request per witness, proving from
    /// the size it acknowledged. Booked by [`Witnesses::book`].
    pub fn checkpoint(&mut self, log: &mut LogState, note: &str, carrier: (String, u64)) -> Vec<String> {
        let size = log.size();
        let mut warnings = Vec::new();
        for i in 0..self.configs.len() {
            let old = log.witnesses[i].acked;
            let proof = match (old, log.extension(old)) {
                (0, _) => Ok(Vec::new()),
                (_, Some(e)) => e.consistency_proof().map_err(|e| e.to_string()),
                (_, None) => Err(format!("no range kept from size {old}")),
            };
            let req = proof.and_then(|p| AddCheckpoint::new(old, p, note).map_err(|e| e.to_string()));
            match req {
                Ok(req) => {
                    let job = self.job(i, size, req.body(), false);
                    let sent =
                        Sent { witness: i, size, note: note.to_string(), start: false, carrier: carrier.clone() };
                    self.queued.push((u64::MAX, job, sent));
                    if log.sent(i, size) {
                        self.counters.pending_dropped += 1;
                    }
                }
                Err(e) => warnings.push(format!(
                    "witness {}: cannot prove checkpoint {size} from size {old}: {e}",
                    self.configs[i].url
                )),
            }
        }
        warnings
    }

    /// The requests built since the last booking are recorded by state
    /// version `version`.
    pub fn book(&mut self, version: u64) {
        for q in self.queued.iter_mut().filter(|q| q.0 == u64::MAX) {
            q.0 = version;
        }
    }

    /// State version `durable` is on disk: its requests may go.
    pub fn durable(&mut self, durable: u64) {
        let (go, wait): (Vec<_>, Vec<_>) = std::mem::take(&mut self.queued).into_iter().partition(|q| q.0 <= durable);
        self.queued = wait;
        self.ready.extend(go.into_iter().map(|(_, j, s)| (j, s)));
    }

    /// Hands out the requests ready to be sent.
    pub fn take(&mut self) -> Vec<Job> {
        let ready = std::mem::take(&mut self.ready);
        self.counters.sent += ready.len() as u64;
        ready
            .into_iter()
            .map(|(job, sent)| {
                self.sent.insert(job.id, sent);
                job
            })
            .collect()
    }

    pub fn knows(&self, id: u64) -> bool {
        self.sent.contains_key(&id)
    }

    /// The lag of witness `i`: leaves of the newest checkpoint it has not
    /// acknowledged.
    pub fn lag(log: &LogState, i: usize) -> Option<(u64, u64)> {
        let w = log.witnesses.get(i)?;
        let newest = log.last_checkpoint.as_ref().map_or(0, |c| c.size);
        Some((w.acked, newest.saturating_sub(w.acked)))
    }

    /// Handles the answer to request `id` (`status` 0: no answer, `body`
    /// then says why).
    pub fn answer(&mut self, log: &mut LogState, id: u64, status: u16, content_type: &str, body: &[u8]) -> Outcome {
        let Some(sent) = self.sent.remove(&id) else {
            return Outcome::warn(AnswerKind::BadAnswer, format!("no witness request {id} is waiting for an answer"));
        };
        let outcome = self.judge(log, &sent, status, content_type, body);
        self.counters.answers[outcome.kind as usize] += 1;
        outcome
    }

    fn judge(&mut self, log: &mut LogState, sent: &Sent, status: u16, content_type: &str, body: &[u8]) -> Outcome {
        let i = sent.witness;
        let url = self.configs[i].url.clone();
        let (origin, n) = (log.origin.clone(), sent.size);
        if status == 0 {
            let why = String::from_utf8_lossy(&body[..body.len().min(512)]).into_owned();
            let then =
                if sent.start { "its check at start is skipped" } else { "tried again with the next checkpoint" };
            return Outcome::warn(
                AnswerKind::Unreachable,
                format!("witness {url} did not answer for checkpoint {n} of log {origin}: {why}; {then}"),
            );
        }
        let answer = match crate::core::tlog::parse_answer(status, content_type, body) {
            Ok(a) => a,
            Err(e) => {
                return Outcome::warn(AnswerKind::BadAnswer, format!("witness {url}: bad answer (HTTP {status}): {e}"));
            }
        };
        match answer {
            Answer::Cosigned(lines) => self.cosigned(log, sent, &lines, &url),
            Answer::Conflict(theirs) => match on_conflict(theirs, n) {
                Resync::WitnessAhead { witness } => {
                    let m = format!(
                        "witness {url} holds a checkpoint of log {origin} at size {witness}, larger than this log's newest \
                         checkpoint (size {n}): the state was rolled back or replaced (an older copy of state.json, or \
                         another processor with this origin); continuing would fork the log"
                    );
                    if sent.start {
                        Outcome { refusal: Some(m), ..Outcome::of(AnswerKind::Conflict) }
                    } else {
                        Outcome::warn(AnswerKind::Conflict, m)
                    }
                }
                Resync::Resend { old } => {
                    if log.holds(i, old) {
                        Outcome::warn(
                            AnswerKind::Conflict,
                            format!(
                                "witness {url} holds size {old} of log {origin}, not the size sent; the next checkpoint proves from {old}"
                            ),
                        )
                    } else {
                        Outcome::warn(
                            AnswerKind::Conflict,
                            format!(
                                "witness {url} holds size {old} of log {origin}, from which this log keeps no range: it cannot \
                                 be proven to until it is reset to a checkpoint this log sent it"
                            ),
                        )
                    }
                }
            },
            Answer::Inconsistent => {
                let m = format!(
                    "witness {url} refused checkpoint {n} of log {origin} as inconsistent with the tree it holds for that \
                     origin (422; it holds a checkpoint this log's state does not extend: a rolled-back or replaced state, \
                     or another log with the same origin)"
                );
                if sent.start {
                    Outcome { refusal: Some(m), ..Outcome::of(AnswerKind::Inconsistent) }
                } else {
                    Outcome::warn(AnswerKind::Inconsistent, m)
                }
            }
            Answer::NotAccepted(s) => Outcome::warn(
                AnswerKind::NotAccepted,
                format!(
                    "witness {url} does not accept log {origin} (HTTP {s}): register the origin and the log's public key \
                     with it (e.g. witnessctl add-log / add-key)"
                ),
            ),
            Answer::Rejected => Outcome::warn(
                AnswerKind::Rejected,
                format!("witness {url} could not parse the add-checkpoint request for checkpoint {n} (HTTP 400)"),
            ),
            Answer::RetryLater(s) => Outcome::warn(
                AnswerKind::RetryLater,
                format!(
                    "witness {url} answered HTTP {s} for checkpoint {n} of log {origin}; tried again with the next checkpoint"
                ),
            ),
            Answer::Unexpected(s) => Outcome::warn(
                AnswerKind::BadAnswer,
                format!("witness {url} answered HTTP {s}, which tlog-witness does not define"),
            ),
        }
    }

    fn cosigned(
        &mut self,
        log: &mut LogState,
        sent: &Sent,
        lines: &[crate::core::note::NoteSignature],
        url: &str,
    ) -> Outcome {
        let i = sent.witness;
        let Some(log_key) = &self.log_key else { return Outcome::of(AnswerKind::BadAnswer) };
        let signed = match SignedCheckpoint::open(&sent.note, std::slice::from_ref(log_key)) {
            Ok(s) => s,
            Err(e) => {
                return Outcome::warn(AnswerKind::BadAnswer, format!("checkpoint {} does not open: {e}", sent.size));
            }
        };
        let note = match cosign(&signed, lines, &self.keys[i]) {
            Ok((note, _)) => note,
            Err(e) => {
                return Outcome::warn(
                    AnswerKind::BadCosignature,
                    format!(
                        "witness {url}: its cosignature of checkpoint {} does not verify under its key: {e}",
                        sent.size
                    ),
                );
            }
        };
        log.holds(i, sent.size);
        let n = sent.size;
        let newly = self.cosigners.entry(n).or_default().insert(i);
        if newly && self.cosigners[&n].len() as u64 == self.quorum {
            self.counters.witnessed += 1;
        }
        while self.cosigners.len() > KEEP_NOTES {
            self.cosigners.pop_first();
        }
        // Merge with what was collected for that checkpoint.
        let collected = match &log.last_checkpoint {
            Some(c) if c.size == n => c.cosigned.clone(),
            _ => self.notes.get(&n).cloned().unwrap_or_else(|| sent.note.clone()),
        };
        let merged = merge_notes(&collected, &note).unwrap_or(note);
        if merged == collected {
            return Outcome::of(AnswerKind::Cosigned);
        }
        match &mut log.last_checkpoint {
            Some(c) if c.size == n => c.cosigned = merged.clone(),
            _ => {
                self.notes.insert(n, merged.clone());
                while self.notes.len() > KEEP_NOTES {
                    self.notes.pop_first();
                }
            }
        }
        Outcome { cosigned: Some((n, merged, sent.carrier.clone())), ..Outcome::of(AnswerKind::Cosigned) }
    }
}
