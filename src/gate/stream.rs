//! One stream's online check (SPEC §12): the head (the newest number
//! judged and its link), the key of the newest verified epoch, the recent
//! numbers (for duplicates), the records held for their predecessor, and
//! the newest checkpoint (for the heartbeat).

use super::record::{ControlFacts, ReadStamp};
use super::verdict::{Event, EventKind, Outcome, Reason};
use crate::core::chain::{self, Algorithm, Hash, Link};
use crate::core::keys::ChainKey;
use crate::core::note::{Checkpoint, NoteVerifier, parse_note};
use std::collections::{BTreeMap, HashMap};

/// The most epochs one record may make the checker derive (a forged epoch
/// costs a verdict, not hours).
const MAX_EPOCH_STEPS: u64 = 1 << 20;

#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct EpochKey {
    pub epoch: u64,
    /// The number of the record this key last verified.
    pub sequence: u64,
    pub key: Hash,
}

/// What is remembered of a judged number, for duplicates: a digest of the
/// record (its link, record hash, epoch and end flag), of the previous link
/// it was judged with, and the reason it failed, if it did. Digests keep
/// the saved state small (the newest `reorder_window` numbers are kept).
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct Seen {
    #[serde(rename = "d")]
    pub digest: String,
    #[serde(rename = "p", default, skip_serializing_if = "Option::is_none")]
    pub previous: Option<String>,
    #[serde(rename = "r", default, skip_serializing_if = "is_none")]
    pub reason: Reason,
}

fn is_none(r: &Reason) -> bool {
    *r == Reason::None
}

impl Seen {
    fn of(s: &ReadStamp, record_hash: &Hash, previous: Option<Hash>, reason: Reason) -> Seen {
        use sha2::Digest;
        let mut h = sha2::Sha256::new();
        h.update(b"auditchain.gate.seen.v1\0");
        h.update(s.link);
        h.update(record_hash);
        h.update(s.key_epoch.to_be_bytes());
        h.update([u8::from(s.end)]);
        let d: Hash = h.finalize().into();
        Seen {
            digest: crate::core::hex::to_hex(&d)[..32].to_string(),
            previous: previous.map(|p| crate::core::hex::to_hex(&p)[..32].to_string()),
            reason,
        }
    }
}

#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct Rec {
    pub stamp: ReadStamp,
    pub record_hash: Hash,
    pub control: Option<Box<ControlFacts>>,
    /// When it was held (Unix ns).
    pub held_at: u64,
}

#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct CheckpointInfo {
    pub sequence: u64,
    pub time_unix_nano: u64,
    pub interval_seconds: u64,
}

#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct StreamState {
    pub stream_id: String,
    pub algorithm: Option<Algorithm>,
    pub head_sequence: u64,
    pub head_link: Option<Hash>,
    pub key: Option<EpochKey>,
    pub recent: BTreeMap<u64, Seen>,
    pub pending: BTreeMap<u64, Rec>,
    pub checkpoint: Option<CheckpointInfo>,
    pub silent_reported: bool,
    pub ended: bool,
}

impl StreamState {
    pub fn new(stream_id: &str) -> StreamState {
        StreamState {
            stream_id: stream_id.to_string(),
            algorithm: None,
            head_sequence: 0,
            head_link: None,
            key: None,
            recent: BTreeMap::new(),
            pending: BTreeMap::new(),
            checkpoint: None,
            silent_reported: false,
            ended: false,
        }
    }
}

/// What judging needs besides the stream: keys, bounds, and where verdicts
/// of held records go.
pub struct Ctx<'a> {
    pub chain_key: Option<&'a ChainKey>,
    pub verifiers: &'a [NoteVerifier],
    pub window: u64,
    pub now: u64,
    /// Records of the current batch that were held: (sequence) → index of
    /// their verdict, so that one judged within the same call gets its
    /// verdict directly instead of an event.
    pub held_here: HashMap<u64, usize>,
    pub records: &'a mut Vec<(Outcome, Reason)>,
    pub events: &'a mut Vec<Event>,
}

impl Ctx<'_> {
    fn resolve(&mut self, st: &StreamState, sequence: u64, verdict: (Outcome, Reason)) {
        if let Some(&i) = self.held_here.get(&sequence) {
            self.records[i] = verdict;
            return;
        }
        let what = match verdict.0 {
            Outcome::Ok => "verified".to_string(),
            _ => format!("failed ({})", verdict.1.name()),
        };
        self.events.push(Event {
            kind: EventKind::Resolved,
            stream_id: st.stream_id.clone(),
            sequence,
            count: 1,
            outcome: verdict.0,
            reason: verdict.1,
            message: format!("stream {}: record {sequence}, held for its predecessor, {what}", st.stream_id),
        });
    }
}

fn failed(reason: Reason) -> (Outcome, Reason) {
    (Outcome::Failed, reason)
}

/// Admits one stamped record of the batch at verdict index `index`.
pub fn admit(st: &mut StreamState, rec: Rec, index: usize, ctx: &mut Ctx<'_>) -> (Outcome, Reason) {
    let s = &rec.stamp;
    match st.algorithm {
        None => st.algorithm = Some(s.algorithm),
        Some(a) if a != s.algorithm => return failed(Reason::Downgrade),
        Some(_) => {}
    }
    if ctx.chain_key.is_some() && s.algorithm == Algorithm::Sha256 {
        return failed(Reason::UnkeyedStream);
    }
    let n = s.sequence;
    if n <= st.head_sequence {
        return match st.recent.get(&n) {
            Some(seen) if same(seen, &rec) => match seen.reason {
                Reason::None => (Outcome::Duplicate, Reason::None),
                r => failed(r),
            },
            Some(_) => failed(Reason::ConflictingCopy),
            None => failed(Reason::OutOfWindow),
        };
    }
    if let Some(p) = st.pending.get(&n) {
        return if p.stamp == rec.stamp && p.record_hash == rec.record_hash {
            (Outcome::Duplicate, Reason::None)
        } else {
            failed(Reason::ConflictingCopy)
        };
    }
    if n == st.head_sequence + 1 {
        let v = judge(st, &rec, st.head_link, ctx);
        drain(st, ctx);
        enforce_window(st, ctx);
        return v;
    }
    st.pending.insert(n, Rec { held_at: ctx.now, ..rec });
    ctx.held_here.insert(n, index);
    ctx.records[index] = (Outcome::Held, Reason::None);
    enforce_window(st, ctx);
    // Judged already when the window made the checker give up a gap.
    ctx.records[index]
}

fn same(seen: &Seen, rec: &Rec) -> bool {
    let s = &rec.stamp;
    let copy = Seen::of(s, &rec.record_hash, s.previous, Reason::None);
    copy.digest == seen.digest && (s.compact || copy.previous == seen.previous)
}

/// Judges the record that follows the head, with `previous` as its
/// previous link, and makes it the head.
fn judge(st: &mut StreamState, rec: &Rec, previous: Option<Hash>, ctx: &mut Ctx<'_>) -> (Outcome, Reason) {
    let reason = evaluate(st, rec, previous, ctx).err().unwrap_or(Reason::None);
    let s = &rec.stamp;
    st.recent.insert(s.sequence, Seen::of(s, &rec.record_hash, if s.compact { previous } else { s.previous }, reason));
    while st.recent.len() as u64 > ctx.window {
        st.recent.pop_first();
    }
    st.head_sequence = s.sequence;
    st.head_link = Some(s.link);
    st.ended |= s.end && reason == Reason::None;
    match reason {
        Reason::None => (Outcome::Ok, Reason::None),
        r => failed(r),
    }
}

fn evaluate(st: &mut StreamState, rec: &Rec, previous: Option<Hash>, ctx: &mut Ctx<'_>) -> Result<(), Reason> {
    let s = &rec.stamp;
    let n = s.sequence;
    if !s.compact && s.previous != previous {
        return Err(if n == 1 { Reason::BadGenesis } else { Reason::BrokenLink });
    }
    if n == 1 && (previous.is_some() || rec.control.as_ref().is_none_or(|c| c.event != "start")) {
        return Err(Reason::BadGenesis);
    }
    if let Some(c) = rec.control.as_deref().filter(|c| c.event == "checkpoint") {
        check_checkpoint(st, n, c, previous, ctx)?;
    }
    let link = Link {
        stream_id: &s.stream_id,
        sequence: n,
        key_epoch: s.key_epoch,
        end: s.end,
        previous: previous.as_ref(),
        record_hash: &rec.record_hash,
    };
    let (computed, key) = match s.algorithm {
        Algorithm::Sha256 => (link.sha256(), None),
        Algorithm::HmacSha256 => {
            let key = epoch_key(st, rec, ctx)?;
            (link.hmac(&key), Some(key))
        }
    };
    if computed != s.link {
        return Err(Reason::ContentMismatch);
    }
    if let Some(key) = key {
        st.key = Some(EpochKey { epoch: s.key_epoch, sequence: n, key });
    }
    Ok(())
}

/// The key of the record's epoch (SPEC §5.2): evolved from the newest
/// verified epoch's, or from epoch 0's (the start record's lineage, else
/// the root derivation), within §8 rule 5's bound.
fn epoch_key(st: &StreamState, rec: &Rec, ctx: &Ctx<'_>) -> Result<Hash, Reason> {
    let chain_key = ctx.chain_key.ok_or(Reason::KeyRequired)?;
    let s = &rec.stamp;
    let (epoch, sequence, mut key) = match &st.key {
        Some(k) => (k.epoch, k.sequence, k.key),
        None => {
            let lineage = rec.control.as_deref().filter(|c| c.event == "start" && !c.key_lineage.is_empty());
            let k0 = match lineage {
                Some(c) => {
                    if c.chain_key_id.as_deref().is_some_and(|id| id != chain_key.id()) {
                        return Err(Reason::KeyRequired);
                    }
                    chain::lineage_key(chain_key.secret(), &c.key_lineage, &s.stream_id)
                        .map_err(|_| Reason::KeyRequired)?
                }
                None => chain::root_stream_key(chain_key.secret(), &s.stream_id),
            };
            (0, 1, k0)
        }
    };
    if s.key_epoch < epoch || s.key_epoch - epoch > s.sequence.saturating_sub(sequence) {
        return Err(Reason::KeyEpochOutOfOrder);
    }
    if s.key_epoch - epoch > MAX_EPOCH_STEPS {
        return Err(Reason::KeyEpochOutOfOrder);
    }
    for e in epoch + 1..=s.key_epoch {
        key = chain::evolve_key(&key, e);
    }
    Ok(key)
}

/// §8 rule 7 for a checkpoint carried by record `n` whose previous link is
/// `previous`: signature under a given key, origin, size, root. Without
/// public keys configured checkpoints are not checked.
fn check_checkpoint(
    st: &mut StreamState,
    n: u64,
    c: &ControlFacts,
    previous: Option<Hash>,
    ctx: &mut Ctx<'_>,
) -> Result<(), Reason> {
    if ctx.verifiers.is_empty() {
        return Ok(());
    }
    let text = c.note.as_deref().ok_or(Reason::BadCheckpoint)?;
    let note = parse_note(text).map_err(|_| Reason::BadCheckpoint)?;
    let mut known = false;
    let mut valid = false;
    for sig in &note.signatures {
        if let Some(v) = ctx.verifiers.iter().find(|v| v.id == sig.id) {
            known = true;
            valid |= v.verify(&note.text, &sig.signature);
        }
    }
    if !known {
        return Err(Reason::UnknownSigner);
    }
    if !valid {
        return Err(Reason::BadCheckpoint);
    }
    let cp = Checkpoint::parse(&note.text).map_err(|_| Reason::BadCheckpoint)?;
    match &c.log_origin {
        None => {
            // Format version 1 (§5.3): the root is the chain head.
            if cp.origin != st.stream_id {
                return Err(Reason::BadCheckpoint);
            }
            if cp.size + 1 != n || Some(cp.root) != previous {
                return Err(Reason::CheckpointMismatch);
            }
        }
        Some(origin) => {
            // Format version 2 (§5.5): of the stream's log, of the size of
            // its carrier's own leaf index. The Merkle root is not (yet)
            // recomputed online; `auditchain verify` checks it.
            if cp.origin != *origin {
                return Err(Reason::BadCheckpoint);
            }
            if Some(cp.size) != c.log_index {
                return Err(Reason::CheckpointMismatch);
            }
        }
    }
    st.checkpoint =
        Some(CheckpointInfo { sequence: n, time_unix_nano: cp.time_unix_nano, interval_seconds: cp.interval_seconds });
    st.silent_reported = false;
    ctx.events.push(Event {
        kind: EventKind::Checkpoint,
        stream_id: st.stream_id.clone(),
        sequence: n,
        count: cp.size,
        outcome: Outcome::Ok,
        reason: Reason::None,
        message: format!("stream {}: checkpoint at size {} signed by {}", st.stream_id, cp.size, note.signatures[0].id),
    });
    Ok(())
}

/// Judges the held records that now follow the head.
fn drain(st: &mut StreamState, ctx: &mut Ctx<'_>) {
    while let Some(rec) = st.pending.remove(&(st.head_sequence + 1)) {
        let v = judge(st, &rec, st.head_link, ctx);
        ctx.resolve(st, rec.stamp.sequence, v);
    }
}

/// Gives up waiting for the numbers before the lowest held record while
/// more than `window` numbers separate the head from the highest held one
/// (or more than `window` are held).
fn enforce_window(st: &mut StreamState, ctx: &mut Ctx<'_>) {
    while let (Some((&high, _)), true) = (st.pending.last_key_value(), true) {
        if high - st.head_sequence <= ctx.window && (st.pending.len() as u64) <= ctx.window {
            break;
        }
        skip_gap(st, ctx);
    }
}

/// Declares the numbers between the head and the lowest held record
/// missing, judges that record without its predecessor (a full stamp
/// against the previous link it names; a compact one is unchecked) and
/// the held records that follow it.
pub fn skip_gap(st: &mut StreamState, ctx: &mut Ctx<'_>) {
    let Some((m, rec)) = st.pending.pop_first() else { return };
    let from = st.head_sequence + 1;
    ctx.events.push(Event {
        kind: EventKind::Missing,
        stream_id: st.stream_id.clone(),
        sequence: from,
        count: m - from,
        outcome: Outcome::Failed,
        reason: Reason::None,
        message: format!(
            "stream {}: records {} did not arrive within the reorder window (deleted, or lost before this gateway)",
            st.stream_id,
            if m - from == 1 { from.to_string() } else { format!("{from}-{}", m - 1) }
        ),
    });
    let v = if rec.stamp.compact {
        let s = &rec.stamp;
        st.recent.insert(m, Seen::of(s, &rec.record_hash, None, Reason::UncheckedRecord));
        st.head_sequence = m;
        st.head_link = Some(s.link);
        failed(Reason::UncheckedRecord)
    } else {
        judge(st, &rec, rec.stamp.previous, ctx)
    };
    ctx.resolve(st, m, v);
    drain(st, ctx);
}

/// Held records older than `timeout_nanos`: the window has passed in time.
pub fn expire(st: &mut StreamState, timeout_nanos: u64, ctx: &mut Ctx<'_>) -> bool {
    let mut changed = false;
    while st.pending.first_key_value().is_some_and(|(_, r)| r.held_at.saturating_add(timeout_nanos) <= ctx.now) {
        skip_gap(st, ctx);
        changed = true;
    }
    changed
}

/// Rule 8 online: a stream that has not ended whose newest checkpoint is
/// older than its interval plus `grace_nanos` is reported once.
pub fn heartbeat(st: &mut StreamState, grace_nanos: u64, ctx: &mut Ctx<'_>) -> bool {
    let Some(cp) = &st.checkpoint else { return false };
    if st.ended || st.silent_reported {
        return false;
    }
    let due =
        cp.time_unix_nano.saturating_add(cp.interval_seconds.saturating_mul(1_000_000_000)).saturating_add(grace_nanos);
    if ctx.now <= due {
        return false;
    }
    st.silent_reported = true;
    ctx.events.push(Event {
        kind: EventKind::Silent,
        stream_id: st.stream_id.clone(),
        sequence: cp.sequence,
        count: 0,
        outcome: Outcome::Failed,
        reason: Reason::None,
        message: format!(
            "stream {}: no checkpoint since the one carried by record {} ({} s ago; its interval is {} s): the stream went silent \
             (its newest records deleted, or its collector stopped without a clean shutdown)",
            st.stream_id,
            cp.sequence,
            (ctx.now - cp.time_unix_nano) / 1_000_000_000,
            cp.interval_seconds
        ),
    });
    true
}
