//! Rule 7, checkpoints (docs/SPEC.md §8.7): each signed note must verify
//! under a given public key, matched by key id (`bad_checkpoint` when it
//! does not, `unknown_signer` when no given key matches); its origin must be
//! the stream (`bad_checkpoint`: spliced); it must be carried by record
//! `size+1` (`checkpoint_mismatch`: replayed); its root must equal record
//! `size`'s link (`checkpoint_mismatch`: records rewritten). Findings carry
//! the number of the record carrying the checkpoint.
//!
//! A format version 2 stream's checkpoints are of its log (SPEC §5.5): the
//! origin must be the log's, the size the carrier's own leaf index (base +
//! carrier − 1; `checkpoint_mismatch`: replayed); copies of one checkpoint
//! (the checkpoint record, the cosigned notes of the checkpoint file) are
//! merged by body. Their roots are the log rules' (§8.15). For the rules of
//! the stream, a valid one covers the records before its carrier.

use super::leaves::StreamLog;
use super::{Slots, finding};
use crate::core::hex::to_hex;
use crate::core::note::{Checkpoint, Note, parse_note};
use crate::core::vocab::event;
use crate::verify::Options;
use crate::verify::records::{Collected, ExternalCheckpoint};
use crate::verify::report::{Finding, Kind, Location, Severity};
use std::collections::{BTreeSet, HashMap};

/// A checkpoint found in the stream or in a checkpoint file.
struct Found {
    note: String,
    /// The sequence number of the record carrying it, when known.
    carrier: Option<u64>,
    /// It is the final checkpoint of a stream that ended cleanly (its
    /// record carries `audit.sequence.end`, or its line says `end`).
    end: bool,
    location: Location,
}

/// A checkpoint whose signature verified and that agrees with the records.
pub struct Valid {
    pub cp: Checkpoint,
    pub carrier: Option<u64>,
    pub end: bool,
}

pub struct Checked {
    /// How many checkpoints were found (in band and in checkpoint files).
    pub found: usize,
    /// The valid ones, oldest first.
    pub valid: Vec<Valid>,
    /// Checkpoints that could not be checked for want of a public key.
    pub unverifiable: u64,
    pub signers: BTreeSet<String>,
    /// The highest record a valid checkpoint covers (0 when none).
    pub anchored: u64,
    /// The highest record a valid checkpoint proves existed: the one it
    /// covers or the one carrying it.
    pub proven: u64,
    /// The record a valid final checkpoint says ended the stream.
    pub ended_at: Option<u64>,
}

/// Whether a note of this origin is a log checkpoint (format version 2):
/// in a v2 stream, any origin but the stream id (a foreign one is then
/// spliced); in a stream none of whose records is present, any origin but
/// the stream id (its lines are all there is).
fn is_log_note(origin: &str, stream_id: &str, log: Option<&StreamLog>, has_records: bool) -> bool {
    origin != stream_id && (log.is_some() || !has_records)
}

/// Merges the signature lines of `other` into the note `into` (same body).
pub fn merge_notes(into: &str, other: &str) -> String {
    let (Ok(mut a), Ok(b)) = (parse_note(into), parse_note(other)) else { return into.to_string() };
    for sig in b.signatures {
        if !a.signatures.iter().any(|x| x.line() == sig.line()) {
            a.signatures.push(sig);
        }
    }
    let mut s = format!("{}\n", a.text);
    for sig in &a.signatures {
        s.push_str(&sig.line());
    }
    s
}

fn found(
    c: &Collected,
    stream_id: &str,
    slots: &Slots<'_>,
    external: &[ExternalCheckpoint],
    log: Option<&StreamLog>,
) -> Vec<Found> {
    let mut found: Vec<Found> = Vec::new();
    for (&seq, &e) in slots {
        if e.event() == Some(event::CHECKPOINT) {
            let note = e.control.as_deref().map(|c| c.body.clone()).unwrap_or_default();
            found.push(Found { note, carrier: Some(seq), end: e.end, location: c.location(e.loc) });
        }
    }
    for x in external {
        let location = Location { file: c.files[x.file as usize].clone(), line: x.line, record: 0 };
        found.push(Found { note: x.note.clone(), carrier: Some(x.sequence), end: x.end, location });
    }
    // The same checkpoint in band and in a file, or twice in a file (a
    // restart can append a line again, SPEC §5.3), once; a log
    // checkpoint's copies (cosigned later) merged by body (§5.5).
    let has_records = !slots.is_empty();
    let mut seen: HashMap<(String, Option<u64>), usize> = HashMap::new();
    let mut unique: Vec<Found> = Vec::new();
    for f in found {
        let key = match parse_note(&f.note) {
            Ok(n)
                if Checkpoint::parse(&n.text).is_ok_and(|cp| is_log_note(&cp.origin, stream_id, log, has_records)) =>
            {
                n.text
            }
            _ => f.note.clone(),
        };
        match seen.get(&(key.clone(), f.carrier)) {
            Some(&i) => {
                unique[i].end |= f.end;
                if unique[i].note != f.note {
                    unique[i].note = merge_notes(&unique[i].note, &f.note);
                }
            }
            None => {
                seen.insert((key, f.carrier), unique.len());
                unique.push(f);
            }
        }
    }
    unique
}

/// What checking one checkpoint's signatures gave.
pub(crate) enum Signature {
    Valid(String),
    Forged(String),
    /// No public key was given at all.
    Unverifiable,
    /// Keys were given, none of them signed it.
    Unknown(Vec<String>),
}

pub(crate) fn signature(note: &Note, options: &Options) -> Signature {
    let mut verified = None;
    for sig in &note.signatures {
        if let Some(v) = options.verifiers.iter().find(|v| v.id == sig.id) {
            if !v.verify(&note.text, &sig.signature) {
                return Signature::Forged(sig.id.to_string());
            }
            verified = Some(sig.id.to_string());
        }
    }
    match verified {
        Some(id) => Signature::Valid(id),
        None if options.verifiers.is_empty() => Signature::Unverifiable,
        None => Signature::Unknown(note.signatures.iter().map(|s| s.id.to_string()).collect()),
    }
}

/// The record a final checkpoint says ended the stream (SPEC §5.3): its
/// line's `end`, which the carrier record, when present, must confirm.
fn final_checkpoint(slots: &Slots<'_>, f: &Found) -> Result<Option<u64>, String> {
    let Some(n) = f.carrier.filter(|_| f.end) else { return Ok(None) };
    if slots.get(&n).is_some_and(|e| !e.end) {
        return Err(format!(
            "its checkpoint line says it ended the stream, but record {n} does not carry audit.sequence.end"
        ));
    }
    Ok(Some(n))
}

/// A validly signed log checkpoint (format version 2) in a stream: of the
/// stream's log, carried by its own leaf; the record it says ended the
/// stream, if it is a final one.
fn log_checkpoint(
    slots: &Slots<'_>,
    f: &Found,
    cp: &Checkpoint,
    log: Option<&StreamLog>,
    what: &str,
) -> Result<Option<u64>, (Kind, String)> {
    if let Some(l) = log.filter(|l| l.origin != cp.origin) {
        return Err((
            Kind::BadCheckpoint,
            format!(
                "{what} is of log {}, not of this stream's log {}: records of two logs were spliced",
                cp.origin, l.origin
            ),
        ));
    }
    let carrier = f.carrier.unwrap_or(1);
    if let Some(base) = log.and_then(|l| l.base)
        && base + carrier - 1 != cp.size
    {
        return Err((
            Kind::CheckpointMismatch,
            format!(
                "{what} is of log size {}, but it is carried by leaf {} of the log (a checkpoint of size n is leaf n): an old checkpoint was replayed",
                cp.size,
                base + carrier - 1
            ),
        ));
    }
    final_checkpoint(slots, f).map_err(|why| (Kind::CheckpointMismatch, format!("{what}: {why}")))
}

/// A validly signed chain-head checkpoint (format version 1, SPEC §5.3):
/// of this stream, carried by record size + 1, its root the link of record
/// size; the record it says ended the stream, if it is a final one.
fn chain_checkpoint(
    slots: &Slots<'_>,
    f: &Found,
    cp: &Checkpoint,
    stream_id: &str,
    log: Option<&StreamLog>,
    what: &str,
) -> Result<Option<u64>, (Kind, String)> {
    if log.is_some() {
        return Err((
            Kind::BadCheckpoint,
            format!("{what} is a version 1 checkpoint (its origin is the stream id) in a version 2 stream"),
        ));
    }
    if cp.origin != stream_id {
        return Err((
            Kind::BadCheckpoint,
            format!("{what} belongs to stream {}, not to this one: records of two streams were spliced", cp.origin),
        ));
    }
    if f.carrier.is_some_and(|n| n != cp.size + 1) {
        return Err((
            Kind::CheckpointMismatch,
            format!(
                "{what} covers records up to {}, but a checkpoint always directly follows the last record it covers: an old checkpoint was replayed",
                cp.size
            ),
        ));
    }
    let covered = slots.get(&cp.size).map(|e| e.value).or_else(|| slots.get(&(cp.size + 1)).and_then(|e| e.previous));
    if let Some(v) = covered.filter(|v| *v != cp.root) {
        return Err((
            Kind::CheckpointMismatch,
            format!(
                "{what} signs {} as the hash of record {}, but the records say {}: records up to {} were rewritten",
                to_hex(&cp.root),
                cp.size,
                to_hex(&v),
                cp.size
            ),
        ));
    }
    final_checkpoint(slots, f).map_err(|why| (Kind::CheckpointMismatch, format!("{what}: {why}")))
}

pub fn check(
    c: &Collected,
    stream_id: &str,
    slots: &Slots<'_>,
    external: &[ExternalCheckpoint],
    log: Option<&StreamLog>,
    options: &Options,
    findings: &mut Vec<Finding>,
) -> Checked {
    let found = found(c, stream_id, slots, external, log);
    let has_records = !slots.is_empty();
    let mut checked = Checked {
        found: found.len(),
        valid: Vec::new(),
        unverifiable: 0,
        signers: BTreeSet::new(),
        anchored: 0,
        proven: 0,
        ended_at: None,
    };
    for f in &found {
        let what = match f.carrier {
            Some(s) => format!("checkpoint in record {s}"),
            None => "checkpoint".to_string(),
        };
        // Findings about a checkpoint point where it was found and carry the
        // number of the record carrying it.
        let mut report = |kind: Kind, message: String| {
            let fd = finding(Severity::Error, kind, message).located(f.location.clone());
            findings.push(match f.carrier {
                Some(n) => fd.at(n),
                None => fd,
            });
        };
        let (note, mut cp) = match parse_note(&f.note).and_then(|n| Checkpoint::parse(&n.text).map(|c| (n, c))) {
            Ok(x) => x,
            Err(e) => {
                report(Kind::BadCheckpoint, format!("{what} is malformed: {e}"));
                continue;
            }
        };
        let id = match signature(&note, options) {
            Signature::Valid(id) => id,
            Signature::Forged(id) => {
                report(
                    Kind::BadCheckpoint,
                    format!("{what}: its signature by {id} does not verify: the checkpoint was forged or altered"),
                );
                continue;
            }
            Signature::Unverifiable => {
                checked.unverifiable += 1;
                continue;
            }
            Signature::Unknown(names) => {
                report(
                    Kind::UnknownSigner,
                    format!("{what} is signed by {}, which is not among the --public-key keys given", names.join(", ")),
                );
                continue;
            }
        };
        let is_log = is_log_note(&cp.origin, stream_id, log, has_records);
        if (is_log && log.is_none_or(|l| l.origin == cp.origin)) || (!is_log && log.is_none() && cp.origin == stream_id)
        {
            checked.signers.insert(id);
        }
        let judged = if is_log {
            log_checkpoint(slots, f, &cp, log, &what)
        } else {
            chain_checkpoint(slots, f, &cp, stream_id, log, &what)
        };
        match judged {
            Ok(ended) => {
                checked.ended_at = ended.or(checked.ended_at);
                if is_log {
                    // For the stream's rules it covers the records before its carrier.
                    cp.size = f.carrier.unwrap_or(1) - 1;
                }
                checked.valid.push(Valid { cp, carrier: f.carrier, end: f.end });
            }
            Err((kind, message)) => report(kind, message),
        }
    }
    checked.valid.sort_by_key(|v| (v.cp.time_unix_nano, v.cp.size));
    checked.anchored = checked.valid.iter().map(|v| v.cp.size).max().unwrap_or(0);
    checked.proven = checked.valid.iter().map(|v| v.carrier.unwrap_or(v.cp.size).max(v.cp.size)).max().unwrap_or(0);
    checked
}
