//! Rollback detection at start (docs/SPEC.md §6.2). A state.json restored
//! from an older copy has a valid checksum, and continuing from it would
//! issue numbers that were already issued, with other content: a fork.
//! The engine cannot see the store, but it can see evidence it left
//! outside the state: the newest checkpoint it signed for this stream
//! name. A state that is older than that evidence is refused.

use super::state::StreamState;
use crate::core::note::{Checkpoint, NoteVerifier, Sign, parse_note};
use crate::core::time;
use std::io::{Read, Seek, SeekFrom};
use std::path::Path;

/// How much of the end of the checkpoint file is searched for the stream
/// name's newest line (several processors may share one file).
const TAIL_BYTES: u64 = 4 << 20;

/// The newest checkpoint of a stream name found outside the state,
/// verified under the stream's signing key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Evidence {
    pub stream_id: String,
    /// The sequence number of the record that carries the checkpoint.
    pub sequence: u64,
    /// The signed size: the records 1..=size it vouches for.
    pub size: u64,
    pub time_unix_nano: u64,
    /// Where it was found, for the message.
    pub source: String,
}

/// The newest evidence for `stream_name` from every source the engine has,
/// whatever signs its checkpoints (a key file or a PKCS#11 token).
/// Sources: the checkpoint file. Witnesses (a later issue) add a source
/// here: the newest checkpoint a witness cosigned for this log, fetched at
/// start, is evidence of the same kind and is compared the same way.
pub fn newest(checkpoint_file: Option<&Path>, signer: Option<&dyn Sign>, stream_name: &str) -> Option<Evidence> {
    let verifier = signer?.note_verifier();
    let sources = [checkpoint_file.and_then(|p| from_checkpoint_file(p, &verifier, stream_name))];
    sources.into_iter().flatten().max_by_key(|e| e.time_unix_nano)
}

/// The stream name of a stream id `<name>-<time>-<random>`.
fn stream_name_of(stream_id: &str) -> Option<&str> {
    let mut parts = stream_id.rsplitn(3, '-');
    let (_rnd, _time, name) = (parts.next()?, parts.next()?, parts.next()?);
    Some(name)
}

/// The last line of the checkpoint file for `stream_name` whose note the
/// signer's key verifies. Lines that do not parse (a line torn by a crash)
/// or do not verify are no evidence and are skipped.
fn from_checkpoint_file(path: &Path, verifier: &NoteVerifier, stream_name: &str) -> Option<Evidence> {
    let mut f = std::fs::File::open(path).ok()?;
    let len = f.metadata().ok()?.len();
    let from = len.saturating_sub(TAIL_BYTES);
    f.seek(SeekFrom::Start(from)).ok()?;
    let mut tail = Vec::new();
    f.take(TAIL_BYTES).read_to_end(&mut tail).ok()?;
    let text = String::from_utf8_lossy(&tail);
    let mut lines: Vec<&str> = text.split('\n').collect();
    if from > 0 {
        lines.remove(0); // starts inside a line
    }
    lines.iter().rev().filter(|l| !l.trim().is_empty()).enumerate().find_map(|(back, line)| {
        let v: serde_json::Value = serde_json::from_str(line).ok()?;
        let stream_id = v.get("stream_id")?.as_str()?;
        if stream_name_of(stream_id) != Some(stream_name) {
            return None;
        }
        let note = parse_note(v.get("note")?.as_str()?).ok()?;
        let sig = note.signatures.iter().find(|s| s.id == verifier.id)?;
        if !verifier.verify(&note.text, &sig.signature) {
            return None;
        }
        let cp = Checkpoint::parse(&note.text).ok()?;
        let sequence = v.get("sequence")?.as_u64()?;
        // A version 1 checkpoint's origin is its stream id and its size the
        // stream's records; a version 2 checkpoint is of the log (SPEC
        // §5.5) and vouches, in this stream, for the records before it.
        let size = if cp.origin == stream_id { cp.size } else { sequence.checked_sub(1)? };
        Some(Evidence {
            stream_id: stream_id.to_string(),
            sequence,
            size,
            time_unix_nano: cp.time_unix_nano,
            source: match back {
                0 => format!("checkpoint.file {} (its last line)", path.display()),
                n => format!("checkpoint.file {} (the line {n} before its last)", path.display()),
            },
        })
    })
}

/// Whether `state` is older than `evidence`; the text says how.
pub fn check(state: &StreamState, evidence: &Evidence) -> Result<(), String> {
    let e = evidence;
    let id = &state.stream_id;
    if e.stream_id == *id {
        let newest = e.sequence.max(e.size + 1);
        if newest >= state.next_sequence {
            return Err(format!(
                "the saved state of stream {id} continues at record {}, but {} holds a checkpoint of that stream signed at {} \
                 for records 1..{} and carried by record {}: this state.json is older than the stream (a backup or a rolled-back \
                 disk), and continuing from it would issue records {}..{} again with other content",
                state.next_sequence,
                e.source,
                time::rfc3339(e.time_unix_nano),
                e.size,
                e.sequence,
                state.next_sequence,
                newest
            ));
        }
        return Ok(());
    }
    // Another stream of this name: older ones are this stream's
    // predecessors; one made after this stream began is its successor (or
    // a stream started after a reset), so this state is older than it.
    if state.predecessor_id.as_deref() == Some(e.stream_id.as_str()) || e.time_unix_nano <= state.created_unix_nano {
        return Ok(());
    }
    Err(format!(
        "the saved state is of stream {id} (started {}), but {} holds a checkpoint of stream {} signed later, at {}: \
         this state.json is older than the newest stream of this name (a backup or a rolled-back disk), and continuing \
         from it would fork the streams' lineage",
        time::rfc3339(state.created_unix_nano),
        e.source,
        e.stream_id,
        time::rfc3339(e.time_unix_nano)
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stream_names_come_from_stream_ids() {
        assert_eq!(stream_name_of("host-1-20261122T041100Z-7f3a"), Some("host-1"));
        assert_eq!(stream_name_of("a-b"), None);
    }
}
