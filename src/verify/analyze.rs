//! The verifier's rules for one stream (docs/SPEC.md §8): check every link
//! (with the stream's keys when it is keyed), order by sequence number,
//! separate benign duplicates from forks, find gaps, check the start and
//! the end, check the signed checkpoints and their heartbeat, and tell
//! announced gaps from deletions.

use super::Options;
use super::ingest::{Entry, ExternalCheckpoint, Ingested};
use super::report::{Finding, Kind, Location, Severity, StreamReport, Verdict};
use crate::core::chain::{self, Algorithm, Hash};
use crate::core::note::{Checkpoint, parse_note};
use crate::core::time;
use crate::engine::control;
use crate::engine::state::{SeqRange, covered, lineage_key, range_strings};
use std::collections::BTreeMap;

/// A predecessor as a start record names it: its id, its last sequence
/// number and that record's link.
pub type Predecessor = (String, u64, Option<Hash>);

/// The per-stream facts later rules (lineage) need.
pub struct Analyzed {
    pub report: StreamReport,
    /// Representative value per present sequence number.
    pub values: BTreeMap<u64, Hash>,
    /// `(predecessor id, its last sequence, its last value)` from the start record.
    pub predecessor: Option<Predecessor>,
    /// The predecessor's ranges this stream announced as possibly missing.
    pub predecessor_announced: Vec<SeqRange>,
}

/// Epoch keys of a keyed stream, derived on demand and cached.
struct EpochKeys {
    keys: BTreeMap<u64, Hash>,
}

impl EpochKeys {
    fn get(&mut self, epoch: u64) -> Hash {
        let (&from, &key) = self.keys.range(..=epoch).next_back().expect("epoch 0 is always present");
        let mut k = key;
        for e in from + 1..=epoch {
            k = chain::evolve_key(&k, e);
        }
        self.keys.insert(epoch, k);
        k
    }
}

/// Finds the stream's epoch 0 key from its start record and the chain keys
/// given, or says why it cannot.
fn stream_keys(stream_id: &str, entries: &[Entry], options: &Options) -> Result<EpochKeys, String> {
    let starts: Vec<&Entry> =
        entries.iter().filter(|e| e.sequence == 1 && e.event() == Some(control::EVENT_START)).collect();
    if starts.is_empty() {
        return Err("its start record (record 1), which says how its key derives, is missing".into());
    }
    let mut why = String::new();
    for e in starts {
        let c = e.control.as_deref().expect("start records are control records");
        let Some(id) = &c.chain_key_id else {
            why = "its start record names no chain key".into();
            continue;
        };
        let Some(key) = options.chain_keys.iter().find(|k| k.id() == *id) else {
            why = if options.chain_keys.is_empty() {
                format!("it is keyed with chain key {id}: pass --key with that key to verify its records")
            } else {
                format!("it is keyed with chain key {id}, which is not among the --key files given")
            };
            continue;
        };
        let k0 = match lineage_key(key.secret(), &c.key_lineage, stream_id) {
            Ok(k) => k,
            Err(e) => {
                why = format!("its start record's key lineage is invalid: {e}");
                continue;
            }
        };
        let mut keys = EpochKeys { keys: BTreeMap::from([(0, k0)]) };
        if e.link_inputs(stream_id).hmac(&keys.get(e.key_epoch.unwrap_or(0))) == e.value {
            return Ok(keys);
        }
        why =
            format!("its start record does not verify under chain key {id}: the record or its key lineage was altered");
    }
    Err(why)
}

fn finding(severity: Severity, kind: Kind, message: impl Into<String>) -> Finding {
    Finding::new(severity, kind, message)
}

/// A checkpoint found in the stream or in a checkpoint file.
struct FoundCheckpoint {
    note: String,
    /// The sequence number of the record carrying it, when known.
    carrier: Option<u64>,
    location: Location,
}

/// A checkpoint whose signature verified.
struct ValidCheckpoint {
    cp: Checkpoint,
    carrier: Option<u64>,
}

pub fn stream(
    ing: &Ingested,
    stream_id: &str,
    entries: &mut [Entry],
    external: &[ExternalCheckpoint],
    options: &Options,
) -> Analyzed {
    entries.sort_by_key(|e| (e.sequence, e.loc));
    let mut findings = Vec::new();
    let algorithm =
        entries.iter().find(|e| e.sequence == 1).or(entries.first()).map(|e| e.algorithm).unwrap_or(Algorithm::Sha256);

    // ---- Links: recompute every record's audit.integrity.value ----
    let mut keys = None;
    if algorithm == Algorithm::HmacSha256 {
        match stream_keys(stream_id, entries, options) {
            Ok(k) => keys = Some(k),
            Err(why) => findings.push(finding(
                Severity::Error,
                Kind::KeyRequired,
                format!("the contents of this keyed stream cannot be verified: {why}"),
            )),
        }
    }
    let mut chain_key_id = None;
    for e in entries.iter_mut() {
        if let Some(c) = e.control.as_deref() {
            if e.sequence == 1 && chain_key_id.is_none() {
                chain_key_id = c.chain_key_id.clone();
            }
        }
        e.link_ok = match (e.algorithm, &mut keys) {
            (Algorithm::Sha256, _) => Some(e.link_inputs(stream_id).sha256() == e.value),
            (Algorithm::HmacSha256, Some(k)) => {
                Some(e.link_inputs(stream_id).hmac(&k.get(e.key_epoch.unwrap_or(0))) == e.value)
            }
            (Algorithm::HmacSha256, None) => None,
        };
    }

    // ---- Group copies by sequence number ----
    let mut duplicates = 0u64;
    // The representative of each present sequence number: its first valid
    // (or unverifiable) copy, or its first copy when none is valid.
    let mut slots: BTreeMap<u64, &Entry> = BTreeMap::new();
    let mut i = 0;
    while i < entries.len() {
        let seq = entries[i].sequence;
        let mut j = i;
        while j < entries.len() && entries[j].sequence == seq {
            j += 1;
        }
        let mut variants: Vec<Vec<&Entry>> = Vec::new();
        for e in &entries[i..j] {
            match variants.iter_mut().find(|v| v[0].same_record(e)) {
                Some(v) => v.push(e),
                None => variants.push(vec![e]),
            }
        }
        duplicates += variants.iter().map(|v| v.len() as u64 - 1).sum::<u64>();
        let valid: Vec<&Vec<&Entry>> = variants.iter().filter(|v| v[0].link_ok != Some(false)).collect();
        for v in variants.iter().filter(|v| v[0].link_ok == Some(false)) {
            let mut f = finding(
                Severity::Error,
                Kind::ContentMismatch,
                format!("record {seq}: its content or position no longer matches its audit.integrity.value (edited after stamping)"),
            )
            .at(seq);
            for e in v {
                f = f.located(ing.location(e.loc));
            }
            findings.push(f);
        }
        if valid.len() > 1 {
            let mut f = finding(
                Severity::Error,
                Kind::Fork,
                format!("record {seq}: {} different records carry this sequence number and each matches its own hash; the stream was forked", valid.len()),
            )
            .at(seq);
            for v in &valid {
                f = f.located(ing.location(v[0].loc));
            }
            findings.push(f);
        }
        slots.insert(seq, valid.first().map(|v| v[0]).unwrap_or(variants[0][0]));
        i = j;
    }
    let trusted = |e: &Entry| e.link_ok == Some(true);

    let first_sequence = slots.keys().next().copied().unwrap_or(0);
    let mut last_sequence = slots.keys().next_back().copied().unwrap_or(0);

    // ---- Stamps that disagree with the stream ----
    // Epoch keys evolve only after being used, so consecutive records are
    // in the same epoch or the next; a larger step, or a step back, means
    // records were relabelled (for example by someone holding a later key
    // trying to forge earlier records).
    let mut prev_epoch: Option<(u64, u64)> = None;
    for (&seq, &e) in &slots {
        if e.algorithm != algorithm {
            findings.push(
                finding(
                    Severity::Error,
                    Kind::MalformedStamp,
                    format!(
                        "record {seq}: algorithm {} differs from the stream's {}",
                        e.algorithm.name(),
                        algorithm.name()
                    ),
                )
                .at(seq)
                .located(ing.location(e.loc)),
            );
        }
        // A record whose link failed is already reported; its epoch label
        // says nothing, and must not make its intact neighbour look wrong.
        let Some(epoch) = e.key_epoch.filter(|_| e.link_ok != Some(false)) else { continue };
        let (pseq, pepoch) = prev_epoch.unwrap_or((0, 0));
        let most = pepoch + (seq - pseq);
        if epoch < pepoch || epoch > most {
            let why = if epoch < pepoch { "epochs only move forward" } else { "epochs advance at most one per record" };
            findings.push(
                finding(
                    Severity::Error,
                    Kind::KeyEpochOutOfOrder,
                    format!("record {seq}: key epoch {epoch} follows epoch {pepoch} of record {pseq}; {why}"),
                )
                .at(seq)
                .located(ing.location(e.loc)),
            );
        }
        prev_epoch = Some((seq, epoch));
    }

    // ---- What the engine's control records say ----
    let mut announced: Vec<(SeqRange, u64)> = Vec::new();
    let mut predecessor_announced: Vec<SeqRange> = Vec::new();
    let mut predecessor = None;
    let mut restarts: Vec<u64> = Vec::new();
    let mut declared_signer = None;
    for (&seq, &e) in &slots {
        let Some(c) = e.control.as_deref().filter(|_| trusted(e)) else { continue };
        for r in &c.announced {
            announced.push((*r, seq));
        }
        predecessor_announced.extend(c.predecessor_announced.iter().copied());
        if c.signer.is_some() {
            declared_signer = c.signer.clone();
        }
        match c.event.as_str() {
            control::EVENT_RESUME => {
                restarts.push(c.time_unix_nano);
                let detail = if c.announced.is_empty() {
                    String::new()
                } else {
                    format!("; records {} were in flight and may be missing", range_strings(&c.announced).join(", "))
                };
                findings.push(
                    finding(
                        Severity::Info,
                        Kind::Restart,
                        format!(
                            "record {seq}: the collector restarted after an unclean stop and resumed the stream{detail}"
                        ),
                    )
                    .at(seq),
                );
            }
            control::EVENT_START if seq == 1 => {
                restarts.push(c.time_unix_nano);
                predecessor = c.predecessor.clone();
            }
            _ => {}
        }
    }

    // ---- Checkpoints ----
    let mut found: Vec<FoundCheckpoint> = Vec::new();
    for (&seq, &e) in &slots {
        if e.event() == Some(control::EVENT_CHECKPOINT) {
            let note = e.control.as_deref().map(|c| c.body.clone()).unwrap_or_default();
            found.push(FoundCheckpoint { note, carrier: Some(seq), location: ing.location(e.loc) });
        }
    }
    for x in external {
        let location = Location { file: ing.files[x.file as usize].clone(), line: x.line, record: 0 };
        found.push(FoundCheckpoint { note: x.note.clone(), carrier: x.sequence, location });
    }
    let mut seen_notes = std::collections::HashSet::new();
    found.retain(|f| seen_notes.insert((f.note.clone(), f.carrier)));
    let mut valid_cps: Vec<ValidCheckpoint> = Vec::new();
    let mut unverifiable = 0u64;
    let mut signers = std::collections::BTreeSet::new();
    for f in &found {
        let what = match f.carrier {
            Some(s) => format!("checkpoint in record {s}"),
            None => "checkpoint".to_string(),
        };
        // Findings about a checkpoint point where it was found and carry the
        // number of the record carrying it.
        let at = |fd: Finding| {
            let fd = fd.located(f.location.clone());
            match f.carrier {
                Some(c) => fd.at(c),
                None => fd,
            }
        };
        let (note, cp) = match parse_note(&f.note).and_then(|n| Checkpoint::parse(&n.text).map(|c| (n, c))) {
            Ok(x) => x,
            Err(e) => {
                findings.push(at(finding(Severity::Error, Kind::BadCheckpoint, format!("{what} is malformed: {e}"))));
                continue;
            }
        };
        let mut verified = None;
        let mut forged = None;
        for sig in &note.signatures {
            if let Some(v) = options.verifiers.iter().find(|v| v.id == sig.id) {
                if v.verify(&note.text, &sig.signature) {
                    verified = Some(sig.id.clone());
                } else {
                    forged = Some(sig.id.clone());
                }
            }
        }
        if let Some(id) = forged {
            findings.push(at(finding(
                Severity::Error,
                Kind::BadCheckpoint,
                format!("{what}: its signature by {id} does not verify: the checkpoint was forged or altered"),
            )));
            continue;
        }
        let Some(id) = verified else {
            if options.verifiers.is_empty() {
                unverifiable += 1;
            } else {
                let names: Vec<String> = note.signatures.iter().map(|s| s.id.to_string()).collect();
                findings.push(at(finding(
                    Severity::Error,
                    Kind::UnknownSigner,
                    format!("{what} is signed by {}, which is not among the --public-key keys given", names.join(", ")),
                )));
            }
            continue;
        };
        if cp.origin != stream_id {
            findings.push(at(finding(
                Severity::Error,
                Kind::BadCheckpoint,
                format!("{what} belongs to stream {}, not to this one: records of two streams were spliced", cp.origin),
            )));
            continue;
        }
        signers.insert(id.to_string());
        if f.carrier.is_some_and(|c| c != cp.size + 1) {
            findings.push(at(finding(
                Severity::Error,
                Kind::CheckpointMismatch,
                format!("{what} covers records up to {}, but a checkpoint always directly follows the last record it covers: an old checkpoint was replayed", cp.size),
            )));
            continue;
        }
        let covered =
            slots.get(&cp.size).map(|e| e.value).or_else(|| slots.get(&(cp.size + 1)).and_then(|e| e.previous));
        if let Some(v) = covered {
            if v != cp.root {
                findings.push(at(finding(
                    Severity::Error,
                    Kind::CheckpointMismatch,
                    format!(
                        "{what} signs {} as the hash of record {}, but the records say {}: records up to {} were rewritten",
                        chain::to_hex(&cp.root),
                        cp.size,
                        chain::to_hex(&v),
                        cp.size
                    ),
                )));
                continue;
            }
        }
        valid_cps.push(ValidCheckpoint { cp, carrier: f.carrier });
    }
    valid_cps.sort_by_key(|c| (c.cp.time_unix_nano, c.cp.size));
    let anchored = valid_cps.iter().map(|c| c.cp.size).max().unwrap_or(0);
    // A valid checkpoint also proves that the record carrying it existed.
    let proven = valid_cps.iter().map(|c| c.carrier.unwrap_or(c.cp.size).max(c.cp.size)).max().unwrap_or(0);

    // ---- Gaps ----
    let mut missing: Vec<SeqRange> = Vec::new();
    let mut expect = 1u64;
    for &seq in slots.keys() {
        if seq > expect {
            missing.push([expect, seq - 1]);
        }
        expect = seq + 1;
    }
    if proven > last_sequence {
        // A checkpoint vouches for records that are gone: the tail was cut.
        missing.push([last_sequence + 1, proven]);
        last_sequence = proven;
    }
    let announced_union: Vec<SeqRange> = announced.iter().map(|(r, _)| *r).collect();
    for &[a, b] in &missing {
        let r = &range_strings(&[[a, b]])[0];
        let f = match covered([a, b], &announced_union) {
            true => {
                // The records that announced (part of) this range.
                let mut by: Vec<u64> =
                    announced.iter().filter(|([x, y], _)| *x <= b && a <= *y).map(|(_, seq)| *seq).collect();
                by.sort_unstable();
                by.dedup();
                let by: Vec<String> = by.iter().map(u64::to_string).collect();
                finding(
                    Severity::Warning,
                    Kind::MissingRecords,
                    format!(
                        "records {r}: missing, as announced by record {}: they were stamped but never confirmed accepted downstream (a restart or a refusing exporter); their senders were not acknowledged and resent them",
                        by.join(", ")
                    ),
                )
            }
            false if b <= proven => finding(
                Severity::Error,
                Kind::MissingRecords,
                format!(
                    "records {r}: missing, though a signed checkpoint (through record {proven}) vouches that they existed"
                ),
            ),
            false => finding(Severity::Error, Kind::MissingRecords, format!("records {r}: missing")),
        };
        findings.push(f.range(a, b));
    }

    // ---- Links between neighbours, and the start ----
    for (&seq, &e) in &slots {
        if seq == 1 {
            if e.previous.is_some() {
                findings.push(
                    finding(
                        Severity::Error,
                        Kind::BadGenesis,
                        "record 1 carries audit.sequence.previous_hash; the first record of a stream has none",
                    )
                    .at(1)
                    .located(ing.location(e.loc)),
                );
            }
            if e.event() != Some(control::EVENT_START) {
                findings.push(
                    finding(
                        Severity::Error,
                        Kind::BadGenesis,
                        "record 1 is not the stream's start record (audit.stream.event = start)",
                    )
                    .at(1)
                    .located(ing.location(e.loc)),
                );
            }
            continue;
        }
        let Some(prev) = slots.get(&(seq - 1)) else { continue };
        match &e.previous {
            Some(p) if *p == prev.value => {}
            Some(_) => findings.push(
                finding(
                    Severity::Error,
                    Kind::BrokenLink,
                    format!(
                        "record {seq}: audit.sequence.previous_hash does not match record {}'s audit.integrity.value",
                        seq - 1
                    ),
                )
                .at(seq)
                .located(ing.location(e.loc)),
            ),
            None => findings.push(
                finding(
                    Severity::Error,
                    Kind::BrokenLink,
                    format!("record {seq}: audit.sequence.previous_hash is missing"),
                )
                .at(seq)
                .located(ing.location(e.loc)),
            ),
        }
    }

    // ---- The end ----
    let present_last = slots.keys().next_back().copied().unwrap_or(0);
    let mut ended = false;
    if let Some((&end_seq, e)) = slots.iter().find(|(_, e)| e.end) {
        if end_seq == present_last && end_seq >= anchored {
            ended = true;
        } else {
            findings.push(
                finding(
                    Severity::Error,
                    Kind::RecordsAfterEnd,
                    format!("records {}..{last_sequence} come after record {end_seq}, which ended the stream (audit.sequence.end)", end_seq + 1),
                )
                .range(end_seq + 1, last_sequence)
                .located(ing.location(e.loc)),
            );
        }
    }

    // ---- Anchoring and heartbeat ----
    let expects_checkpoints = !options.verifiers.is_empty() || declared_signer.is_some() || !found.is_empty();
    if unverifiable > 0 && options.verifiers.is_empty() {
        findings.push(finding(
            Severity::Error,
            Kind::KeyRequired,
            format!(
                "{unverifiable} signed checkpoints cannot be verified: pass --public-key{}",
                declared_signer.as_deref().map(|s| format!(" with the key of {s}")).unwrap_or_default()
            ),
        ));
    }
    // Checkpoints present but unchecked (no public key) are key_required
    // above, not "no checkpoint".
    if expects_checkpoints && valid_cps.is_empty() && !(options.verifiers.is_empty() && unverifiable > 0) {
        findings.push(finding(
            Severity::Error,
            Kind::NoCheckpoint,
            "no valid signed checkpoint: nothing vouches for this stream's records or for its newest ones (a stream that signs checkpoints emits one every interval)",
        ));
    }
    if !valid_cps.is_empty() {
        let mut tail_start = anchored + 1;
        if slots.get(&tail_start).and_then(|e| e.event()) == Some(control::EVENT_CHECKPOINT) {
            tail_start += 1; // the newest checkpoint's own record
        }
        if present_last >= tail_start {
            findings.push(
                finding(
                    Severity::Warning,
                    Kind::UnanchoredTail,
                    format!("records {tail_start}..{present_last} come after the newest checkpoint (through record {anchored}); no signature vouches for them yet"),
                )
                .range(tail_start, present_last),
            );
        }
        let allowed =
            |c: &Checkpoint| c.interval_seconds.saturating_mul(1_000_000_000).saturating_add(options.max_delay_ns);
        for w in valid_cps.windows(2) {
            let (a, b) = (&w[0].cp, &w[1].cp);
            let gap = b.time_unix_nano.saturating_sub(a.time_unix_nano);
            let restarted = restarts.iter().any(|&t| a.time_unix_nano < t && t <= b.time_unix_nano);
            if gap > allowed(a) && !restarted {
                findings.push(
                    finding(
                        Severity::Error,
                        Kind::HeartbeatMissing,
                        format!(
                            "no checkpoint between {} and {} although one is due every {}s: checkpoints were deleted, or the collector was stopped and its records rewritten",
                            time::rfc3339(a.time_unix_nano),
                            time::rfc3339(b.time_unix_nano),
                            a.interval_seconds
                        ),
                    )
                    .range(a.size, b.size),
                );
            }
        }
        let newest = &valid_cps.last().expect("not empty").cp;
        if !ended && options.as_of_unix_nano.saturating_sub(newest.time_unix_nano) > allowed(newest) {
            findings.push(finding(
                Severity::Error,
                Kind::HeartbeatMissing,
                format!(
                    "the newest checkpoint is from {} and one is due every {}s, but none followed by {}: the stream's newest records were deleted, or the collector stopped without a clean shutdown",
                    time::rfc3339(newest.time_unix_nano),
                    newest.interval_seconds,
                    time::rfc3339(options.as_of_unix_nano)
                ),
            ));
        }
    }
    if !options.chain_keys.is_empty() && algorithm == Algorithm::Sha256 {
        findings.push(finding(
            Severity::Error,
            Kind::UnkeyedStream,
            "chain keys were given, but this stream is not keyed: anyone able to rewrite the store can recompute its hashes",
        ));
    }
    if algorithm == Algorithm::Sha256 {
        findings.push(finding(
            Severity::Warning,
            Kind::PlainChain,
            if valid_cps.is_empty() {
                "unkeyed SHA-256 chain without checkpoints: detects edits, deletions and reordering inside the stream, but not a rewrite by someone who can rewrite the whole store nor the deletion of its newest records; configure key_file and signing_key_file for that"
            } else {
                "unkeyed SHA-256 chain: signed checkpoints protect the records they cover, but records after the newest checkpoint can be rewritten by anyone able to rewrite the store; configure key_file for that"
            },
        ));
    }

    let values = slots.iter().map(|(&s, e)| (s, e.value)).collect();
    let report = StreamReport {
        stream_id: stream_id.to_string(),
        verdict: Verdict::Pass,
        algorithm: algorithm.name().to_string(),
        chain_key_id,
        records: slots.len() as u64,
        duplicates,
        first_sequence,
        last_sequence,
        ended,
        missing,
        checkpoints: valid_cps.len() as u64,
        anchored_through: anchored,
        newest_checkpoint: valid_cps.last().map(|c| time::rfc3339(c.cp.time_unix_nano)),
        signers: signers.into_iter().collect(),
        findings,
    };
    Analyzed { report, values, predecessor, predecessor_announced }
}

/// Checks each stream's start record against the predecessor it names.
/// A successor that records its predecessor's last link also anchors the
/// predecessor's tail: records missing from its end are detected here.
pub fn lineage(streams: &mut BTreeMap<String, Analyzed>) {
    let links: Vec<(String, Predecessor, Vec<SeqRange>)> = streams
        .iter()
        .filter_map(|(id, a)| a.predecessor.clone().map(|p| (id.clone(), p, a.predecessor_announced.clone())))
        .collect();
    for (successor, (pred_id, pred_last, pred_hash), excused) in links {
        let Some(pred) = streams.get_mut(&pred_id) else {
            if let Some(s) = streams.get_mut(&successor) {
                s.report.findings.push(finding(
                    Severity::Info,
                    Kind::Lineage,
                    format!("continues stream {pred_id} (ended at record {pred_last}), which is not among the inputs"),
                ));
            }
            continue;
        };
        let mut problems = Vec::new();
        if pred.report.last_sequence < pred_last {
            let (a, b) = (pred.report.last_sequence + 1, pred_last);
            pred.report.missing.push([a, b]);
            pred.report.findings.push(
                finding(
                    Severity::Error,
                    Kind::MissingRecords,
                    format!(
                        "records {}: missing from the end of the stream; its successor {successor} records that it ended at {pred_last}",
                        range_strings(&[[a, b]])[0]
                    ),
                )
                .range(a, b),
            );
            pred.report.last_sequence = pred_last;
        } else if pred.report.last_sequence > pred_last {
            problems.push(format!("{pred_id} has records after {pred_last}, where {successor} says it ended"));
        }
        // Ranges of the predecessor that its successor announced as
        // possibly undelivered are explained, not deleted.
        for f in pred.report.findings.iter_mut() {
            if let (Kind::MissingRecords, Severity::Error, Some(a), Some(b)) = (f.kind, f.severity, f.first, f.last) {
                if covered([a, b], &excused) {
                    f.severity = Severity::Warning;
                    f.message = format!(
                        "records {}: missing, as announced by its successor {successor}: they were stamped but never confirmed accepted downstream",
                        range_strings(&[[a, b]])[0]
                    );
                }
            }
        }
        if let (Some(h), Some(v)) = (pred_hash, pred.values.get(&pred_last)) {
            if h != *v {
                problems.push(format!(
                    "{pred_id}'s record {pred_last} has audit.integrity.value {}, but {successor} recorded {}",
                    chain::to_hex(v),
                    chain::to_hex(&h)
                ));
            }
        }
        if let Some(s) = streams.get_mut(&successor) {
            if problems.is_empty() {
                s.report.findings.push(finding(
                    Severity::Info,
                    Kind::Lineage,
                    format!("continues stream {pred_id}, which ended cleanly at record {pred_last}"),
                ));
            }
            for p in problems {
                s.report.findings.push(finding(Severity::Error, Kind::LineageMismatch, p).at(1));
            }
        }
    }
}

/// Sets each stream's verdict from its findings and sorts them.
pub fn conclude(report: &mut StreamReport) {
    report.missing.sort_unstable();
    report.findings.sort_by(|a, b| {
        b.severity.cmp(&a.severity).then_with(|| {
            // Findings about records in stream order; stream-wide ones last.
            let (x, y) = (a.sequence.or(a.first), b.sequence.or(b.first));
            (x.is_none(), x).cmp(&(y.is_none(), y))
        })
    });
    report.verdict =
        if report.findings.iter().any(|f| f.severity == Severity::Error) { Verdict::Fail } else { Verdict::Pass };
}
