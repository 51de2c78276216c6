//! C2SP tlog-checkpoint: the note text `<origin>\n<size>\n<base64 root>\n`
//! followed by optional extension lines, signed by the log as a C2SP
//! signed note (golang.org/x/mod/sumdb/note's format, [`crate::core::note`]).

use super::error::CheckpointError;
use crate::core::chain::Hash;
use crate::core::note::{KeyId, Note, NoteSigner, NoteVerifier, parse_note};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;

/// Signature lines a verifier reads at most (signed-note asks for at least
/// 16): the log's, the witnesses', and room to spare.
pub const MAX_SIGNATURES: usize = 100;

/// A checkpoint body.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Checkpoint {
    /// The log's identity; non-empty, no newline or control character.
    pub origin: String,
    /// Number of leaves.
    pub size: u64,
    /// RFC 6962 root of the tree of `size` leaves.
    pub root: Hash,
    /// Optional, opaque, non-empty lines; cosigned with the rest.
    pub extensions: Vec<String>,
}

impl Checkpoint {
    /// The note text.
    pub fn body(&self) -> String {
        let mut b = format!("{}\n{}\n{}\n", self.origin, self.size, B64.encode(self.root));
        for e in &self.extensions {
            b.push_str(e);
            b.push('\n');
        }
        b
    }

    /// Parses a note text strictly (C2SP tlog-checkpoint).
    pub fn parse(body: &str) -> Result<Checkpoint, CheckpointError> {
        if body.chars().any(|c| c < ' ' && c != '\n') {
            return Err(CheckpointError::NotLines);
        }
        let lines: Vec<&str> = body.strip_suffix('\n').ok_or(CheckpointError::NotLines)?.split('\n').collect();
        let [origin, size, root, extensions @ ..] = &lines[..] else {
            return Err(CheckpointError::TooFewLines);
        };
        if origin.is_empty() {
            return Err(CheckpointError::NoOrigin);
        }
        if extensions.iter().any(|e| e.is_empty()) {
            return Err(CheckpointError::EmptyExtension);
        }
        Ok(Checkpoint {
            origin: origin.to_string(),
            size: parse_decimal(size).ok_or(CheckpointError::BadSize)?,
            root: decode_hash(root).ok_or(CheckpointError::BadRoot)?,
            extensions: extensions.iter().map(|e| e.to_string()).collect(),
        })
    }

    /// The signed note. Fails, signing nothing, when the body would not
    /// parse back to this checkpoint (an origin or extension line that is
    /// empty or holds a newline).
    pub fn sign(&self, signer: &NoteSigner) -> Result<String, CheckpointError> {
        let body = self.body();
        if Checkpoint::parse(&body)? != *self {
            return Err(CheckpointError::NotLines);
        }
        Ok(signer.sign(&body))
    }
}

/// A checkpoint whose log signature verified, with its note (and so every
/// other signature line, e.g. cosignatures, still to be checked). Only
/// [`SignedCheckpoint::open`] makes one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignedCheckpoint {
    checkpoint: Checkpoint,
    note: Note,
    log_key: KeyId,
}

impl SignedCheckpoint {
    /// Opens a signed checkpoint with the log keys given: at least one must
    /// have signed it, and every signature line that names one of them must
    /// verify (signed-note: such a note is malformed otherwise). Lines of
    /// other keys are kept, unverified.
    pub fn open(note: &str, logs: &[NoteVerifier]) -> Result<SignedCheckpoint, CheckpointError> {
        let note = parse_note(note).map_err(CheckpointError::Note)?;
        if note.signatures.len() > MAX_SIGNATURES {
            return Err(CheckpointError::TooManySignatures(note.signatures.len()));
        }
        let checkpoint = Checkpoint::parse(&note.text)?;
        let mut signed_by = None;
        for sig in &note.signatures {
            for key in logs.iter().filter(|k| k.id == sig.id) {
                if !key.verify(&note.text, &sig.signature) {
                    return Err(CheckpointError::BadLogSignature(key.id.to_string()));
                }
                signed_by.get_or_insert_with(|| key.id.clone());
            }
        }
        let log_key = signed_by.ok_or(CheckpointError::NoLogSignature)?;
        Ok(SignedCheckpoint { checkpoint, note, log_key })
    }

    pub fn checkpoint(&self) -> &Checkpoint {
        &self.checkpoint
    }

    /// The note: its text and every signature line (verified or not).
    pub fn note(&self) -> &Note {
        &self.note
    }

    /// The log key that signed it.
    pub fn log_key(&self) -> &KeyId {
        &self.log_key
    }

    /// The checkpoint body (what cosignatures sign after their header).
    pub fn body(&self) -> &str {
        &self.note.text
    }

    /// The whole note: body, blank line, every signature line.
    pub fn to_note(&self) -> String {
        let mut s = format!("{}\n", self.note.text);
        for sig in &self.note.signatures {
            s.push_str(&sig.line());
        }
        s
    }
}

/// ASCII decimal without leading zeros (`0` itself allowed), as u64.
pub(crate) fn parse_decimal(s: &str) -> Option<u64> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) || (s.len() > 1 && s.starts_with('0')) {
        return None;
    }
    s.parse().ok()
}

/// Standard base64 (padded, canonical) of exactly 32 bytes.
pub(crate) fn decode_hash(s: &str) -> Option<Hash> {
    B64.decode(s).ok()?.try_into().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cp() -> Checkpoint {
        Checkpoint { origin: "example.com/log".into(), size: 13, root: [7; 32], extensions: vec!["time 5".into()] }
    }

    #[test]
    fn body_round_trips_and_strict_parsing() {
        let c = cp();
        assert_eq!(c.body(), "example.com/log\n13\nBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwc=\ntime 5\n");
        assert_eq!(Checkpoint::parse(&c.body()).unwrap(), c);
        let root = B64.encode([7; 32]);
        let bad = [
            ("o\n1\n", CheckpointError::TooFewLines),
            (&format!("o\n1\n{root}"), CheckpointError::NotLines),
            (&format!("\n1\n{root}\n"), CheckpointError::NoOrigin),
            (&format!("o\n01\n{root}\n"), CheckpointError::BadSize),
            (&format!("o\n+1\n{root}\n"), CheckpointError::BadSize),
            (&format!("o\n18446744073709551616\n{root}\n"), CheckpointError::BadSize),
            ("o\n1\nBwcH\n", CheckpointError::BadRoot),
            (&format!("o\n1\n{}\n", root.trim_end_matches('=')), CheckpointError::BadRoot),
            (&format!("o\n1\n{root}\n\n"), CheckpointError::EmptyExtension),
            (&format!("o\r\n1\n{root}\n"), CheckpointError::NotLines),
        ];
        for (text, e) in bad {
            assert_eq!(Checkpoint::parse(text), Err(e), "{text:?}");
        }
        assert_eq!(Checkpoint::parse(&format!("o\n0\n{root}\n")).unwrap().size, 0);
    }

    #[test]
    fn signing_and_opening() {
        let log = NoteSigner::from_seed("example.com/log", &[1; 32]).unwrap();
        let other = NoteSigner::from_seed("other", &[2; 32]).unwrap();
        let note = cp().sign(&log).unwrap();
        let opened = SignedCheckpoint::open(&note, &[log.verifier()]).unwrap();
        assert_eq!(opened.checkpoint(), &cp());
        assert_eq!(opened.log_key(), &log.id);
        assert_eq!(opened.to_note(), note);
        assert_eq!(SignedCheckpoint::open(&note, &[other.verifier()]), Err(CheckpointError::NoLogSignature));
        // An unknown second signature is kept, unverified.
        let extra = format!("{note}\u{2014} other AAAAAAAAAAAAAA==\n");
        assert_eq!(SignedCheckpoint::open(&extra, &[log.verifier()]).unwrap().note().signatures.len(), 2);
        // A body changed after signing.
        let changed = note.replacen("\n13\n", "\n14\n", 1);
        assert!(matches!(
            SignedCheckpoint::open(&changed, &[log.verifier()]),
            Err(CheckpointError::BadLogSignature(_))
        ));
        let bad_origin = Checkpoint { origin: "a\nb".into(), ..cp() };
        assert!(bad_origin.sign(&log).is_err());
        let many = format!("{note}{}", "\u{2014} other AAAAAAAAAAAAAA==\n".repeat(MAX_SIGNATURES));
        assert_eq!(SignedCheckpoint::open(&many, &[log.verifier()]), Err(CheckpointError::TooManySignatures(101)));
    }
}
