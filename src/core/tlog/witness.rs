//! C2SP tlog-witness add-checkpoint, without the HTTP: the request body a
//! log sends a witness, and what the witness's answer means. The caller
//! POSTs `body()` to `<witness prefix>/add-checkpoint` and hands the
//! status, Content-Type and body to [`parse_answer`]. The answers of the
//! pinned witnesses, deviations included, are in docs/WITNESSING-NOTES.md.

use super::checkpoint::{Checkpoint, MAX_SIGNATURES, SignedCheckpoint, decode_hash, parse_decimal};
use super::cosignature::CosignatureVerifier;
use super::error::{CosignatureError, WitnessError};
use crate::core::chain::Hash;
use crate::core::note::{NoteSignature, parse_note, parse_signature_line};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;

/// Clients send at most 63 consistency proof lines (tlog-witness).
pub const MAX_PROOF_LINES: usize = 63;

/// The largest answer body read (a witness sends a few signature lines).
pub const MAX_ANSWER_BYTES: usize = 64 * 1024;

/// The Content-Type of a 409's body.
pub const SIZE_CONTENT_TYPE: &str = "text/x.tlog.size";

/// An add-checkpoint request: the size the witness is believed to hold, the
/// consistency proof from it, and the signed checkpoint.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AddCheckpoint {
    pub old: u64,
    pub proof: Vec<Hash>,
    /// The signed checkpoint note.
    pub checkpoint: String,
}

impl AddCheckpoint {
    /// A request, checked as a witness would: `old <= size`, no proof from
    /// 0 or for the same size, a proof otherwise, at most 63 lines.
    pub fn new(old: u64, proof: Vec<Hash>, signed_checkpoint: &str) -> Result<AddCheckpoint, WitnessError> {
        let note =
            parse_note(signed_checkpoint).map_err(|e| WitnessError::Checkpoint(super::CheckpointError::Note(e)))?;
        let size = Checkpoint::parse(&note.text)?.size;
        if old > size {
            return Err(WitnessError::OldBeyondSize { old, size });
        }
        match (old == 0 || old == size, proof.is_empty()) {
            (true, false) => return Err(WitnessError::UnexpectedProof),
            (false, true) => return Err(WitnessError::MissingProof),
            _ => {}
        }
        if proof.len() > MAX_PROOF_LINES {
            return Err(WitnessError::TooManyProofLines(proof.len()));
        }
        Ok(AddCheckpoint { old, proof, checkpoint: signed_checkpoint.to_string() })
    }

    /// `old <size>\n`, one base64 hash per line, an empty line, the note.
    pub fn body(&self) -> String {
        let mut b = format!("old {}\n", self.old);
        for h in &self.proof {
            b.push_str(&B64.encode(h));
            b.push('\n');
        }
        b.push('\n');
        b.push_str(&self.checkpoint);
        b
    }

    /// Parses a request body (a witness's side; used by tests).
    pub fn parse(body: &str) -> Result<AddCheckpoint, WitnessError> {
        let (head, note) = body.split_once("\n\n").ok_or(WitnessError::BadRequest("no empty line"))?;
        let mut lines = head.split('\n');
        let old = lines
            .next()
            .and_then(|l| l.strip_prefix("old "))
            .and_then(parse_decimal)
            .ok_or(WitnessError::BadRequest("no old size line"))?;
        let proof =
            lines.map(decode_hash).collect::<Option<Vec<_>>>().ok_or(WitnessError::BadRequest("bad proof line"))?;
        AddCheckpoint::new(old, proof, note)
    }
}

/// What a witness's answer to add-checkpoint means.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Answer {
    /// 200: its signature lines, not yet verified (see [`cosign`]).
    Cosigned(Vec<NoteSignature>),
    /// 409: the size the witness holds for the origin (see [`on_conflict`]).
    Conflict(u64),
    /// 403 or 404: the origin or the log key is not registered with the
    /// witness (litewitness answers 403 for an unknown origin). Report.
    NotAccepted(u16),
    /// 422: the checkpoint does not extend the tree the witness holds (a
    /// fork, a rolled-back or replaced log) or the proof is wrong. Alarm.
    Inconsistent,
    /// 400: the witness cannot parse the request: a bug on our side.
    Rejected,
    /// 429 or 5xx: try again later, with backoff; report. (omniwitness
    /// answers 500 for an unknown origin or a bad log signature too.)
    RetryLater(u16),
    /// Any other status.
    Unexpected(u16),
}

/// Reads an answer. A 200 must carry signature lines, a 409 its size as
/// `text/x.tlog.size`; other statuses are classified by status alone (the
/// pinned witnesses' error bodies differ).
pub fn parse_answer(status: u16, content_type: &str, body: &[u8]) -> Result<Answer, WitnessError> {
    if body.len() > MAX_ANSWER_BYTES {
        return Err(WitnessError::TooLarge(body.len()));
    }
    Ok(match status {
        200 => Answer::Cosigned(signature_lines(body)?),
        409 => Answer::Conflict(conflict_size(content_type, body)?),
        403 | 404 => Answer::NotAccepted(status),
        422 => Answer::Inconsistent,
        400 => Answer::Rejected,
        429 | 500..=599 => Answer::RetryLater(status),
        other => Answer::Unexpected(other),
    })
}

fn signature_lines(body: &[u8]) -> Result<Vec<NoteSignature>, WitnessError> {
    let bad = |m: &str| WitnessError::BadCosignatures(m.to_string());
    let text = std::str::from_utf8(body).map_err(|_| bad("not UTF-8"))?;
    let text = text.strip_suffix('\n').ok_or_else(|| bad("does not end in a newline"))?;
    let lines: Vec<&str> = text.split('\n').collect();
    if lines.len() > MAX_SIGNATURES {
        return Err(bad("too many lines"));
    }
    lines.into_iter().map(|l| parse_signature_line(l).map_err(|e| bad(&e))).collect()
}

fn conflict_size(content_type: &str, body: &[u8]) -> Result<u64, WitnessError> {
    let media = content_type.split(';').next().unwrap_or("").trim();
    if !media.eq_ignore_ascii_case(SIZE_CONTENT_TYPE) {
        return Err(WitnessError::BadConflict);
    }
    std::str::from_utf8(body)
        .ok()
        .and_then(|t| t.strip_suffix('\n'))
        .and_then(parse_decimal)
        .ok_or(WitnessError::BadConflict)
}

/// What to do after a 409 for a checkpoint of `size` leaves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Resync {
    /// Send again with `old` = the witness's size and the proof from it
    /// (the log must still be able to prove from there).
    Resend { old: u64 },
    /// The witness has cosigned a larger tree of this origin than the log
    /// holds: the log's state was rolled back or replaced. Refuse to go on.
    WitnessAhead { witness: u64 },
}

pub fn on_conflict(witness_size: u64, size: u64) -> Resync {
    if witness_size > size {
        Resync::WitnessAhead { witness: witness_size }
    } else {
        Resync::Resend { old: witness_size }
    }
}

/// Adds a witness's cosignature lines to the checkpoint: the lines of
/// `witness`'s key must verify (at least one; lines of other keys are
/// dropped). Returns the note with them appended (once each) and the
/// newest timestamp.
pub fn cosign(
    checkpoint: &SignedCheckpoint,
    lines: &[NoteSignature],
    witness: &CosignatureVerifier,
) -> Result<(String, u64), CosignatureError> {
    let mut note = checkpoint.to_note();
    let mut newest = None;
    let mut added: Vec<&NoteSignature> = Vec::new();
    for sig in lines.iter().filter(|s| s.id == witness.id) {
        let t = witness.verify(checkpoint.body(), sig)?;
        newest = newest.max(Some(t));
        if !checkpoint.note().signatures.contains(sig) && !added.contains(&sig) {
            note.push_str(&sig.line());
            added.push(sig);
        }
    }
    Ok((note, newest.ok_or(CosignatureError::OtherKey)?))
}
