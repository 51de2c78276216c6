//! auditchain's consistency proof file (docs/SPEC.md §5.5): two signed
//! checkpoints of one log and the RFC 9162 §2.1.4 proof between them,
//! verifiable offline with the log's public key and, for cosignatures, a
//! witness policy.
//!
//! ```text
//! auditchain.tlog-consistency@v1
//! old <M>
//! new <N>
//! <base64 hash>             zero or more: the consistency proof from M to N
//!
//! <the size-M signed checkpoint, verbatim, with any cosignatures>
//!
//! <the size-N signed checkpoint, verbatim, with any cosignatures>
//! ```
//!
//! A checkpoint body has no empty line and its signature lines are not
//! empty, so the first checkpoint ends at the second empty line after the
//! proof.

use super::checkpoint::{decode_hash, parse_decimal};
use super::policy::{Policy, Verdict};
use crate::core::chain::Hash;
use crate::core::merkle::verify_consistency;
use crate::core::note::NoteVerifier;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use std::fmt;

pub const HEADER: &str = "auditchain.tlog-consistency@v1";

/// A consistency proof between two trees has at most 2·64 hashes.
const MAX_HASHES: usize = 128;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConsistencyProof {
    pub old_size: u64,
    pub new_size: u64,
    pub hashes: Vec<Hash>,
    /// The signed checkpoint notes, verbatim.
    pub old_checkpoint: String,
    pub new_checkpoint: String,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ConsistencyFileError {
    /// Not the layout above (what is wrong).
    Format(String),
    /// A checkpoint that does not open (which one, why).
    Checkpoint(&'static str, String),
    /// The two checkpoints are of different logs.
    Origins(String, String),
    /// A checkpoint's size is not the one the header states.
    Size(&'static str, u64, u64),
    BadCosignature(&'static str, String),
    /// The new checkpoint lacks the policy's quorum.
    NoQuorum,
    /// The proof does not lead from one root to the other.
    Inconsistent(String),
}

impl fmt::Display for ConsistencyFileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConsistencyFileError::Format(m) => write!(f, "not a consistency proof file: {m}"),
            ConsistencyFileError::Checkpoint(which, e) => write!(f, "the {which} checkpoint: {e}"),
            ConsistencyFileError::Origins(a, b) => write!(f, "the checkpoints are of two logs, {a:?} and {b:?}"),
            ConsistencyFileError::Size(which, said, is) => {
                write!(f, "the {which} checkpoint is of size {is}, the proof says {said}")
            }
            ConsistencyFileError::BadCosignature(which, m) => write!(f, "the {which} checkpoint: bad cosignature: {m}"),
            ConsistencyFileError::NoQuorum => write!(f, "the new checkpoint lacks the witness quorum of the policy"),
            ConsistencyFileError::Inconsistent(m) => write!(f, "the checkpoints are not consistent: {m}"),
        }
    }
}

impl std::error::Error for ConsistencyFileError {}

impl ConsistencyProof {
    pub fn format(&self) -> String {
        let mut s = format!("{HEADER}\nold {}\nnew {}\n", self.old_size, self.new_size);
        for h in &self.hashes {
            s.push_str(&B64.encode(h));
            s.push('\n');
        }
        s.push('\n');
        s.push_str(&self.old_checkpoint);
        s.push('\n');
        s.push_str(&self.new_checkpoint);
        s
    }

    pub fn parse(text: &str) -> Result<ConsistencyProof, ConsistencyFileError> {
        let bad = |m: &str| ConsistencyFileError::Format(m.to_string());
        let (head, notes) = text.split_once("\n\n").ok_or_else(|| bad("no empty line after the proof"))?;
        let mut lines = head.split('\n');
        if lines.next() != Some(HEADER) {
            return Err(bad(&format!("the first line must be {HEADER}")));
        }
        let size = |line: Option<&str>, key: &str| {
            line.and_then(|l| l.strip_prefix(key)).and_then(parse_decimal).ok_or_else(|| bad(&format!("no {key}line")))
        };
        let old_size = size(lines.next(), "old ")?;
        let new_size = size(lines.next(), "new ")?;
        let mut hashes = Vec::new();
        for (i, l) in lines.enumerate() {
            if hashes.len() == MAX_HASHES {
                return Err(bad("too many proof hashes"));
            }
            hashes.push(decode_hash(l).ok_or_else(|| bad(&format!("proof line {} is not base64 of 32 bytes", i + 1)))?);
        }
        // The old checkpoint: its body, an empty line, its signature lines,
        // an empty line.
        let body_end = notes.find("\n\n").ok_or_else(|| bad("the old checkpoint has no signature"))?;
        let sigs_end = notes[body_end + 2..]
            .find("\n\n")
            .map(|i| body_end + 2 + i)
            .ok_or_else(|| bad("no empty line between the two checkpoints"))?;
        let old_checkpoint = notes[..sigs_end + 1].to_string();
        let new_checkpoint = notes[sigs_end + 2..].to_string();
        if new_checkpoint.is_empty() {
            return Err(bad("no new checkpoint"));
        }
        Ok(ConsistencyProof { old_size, new_size, hashes, old_checkpoint, new_checkpoint })
    }

    /// Verifies both checkpoints (signed by a log of `policy` or of
    /// `also_logs`, every cosignature line of a policy witness valid, the
    /// new one with the quorum) and the proof between their roots. A proof
    /// from size 0 is empty and proves nothing beyond the signatures.
    pub fn verify(
        &self,
        policy: &Policy,
        also_logs: &[NoteVerifier],
    ) -> Result<(Verdict, Verdict), ConsistencyFileError> {
        let open = |which: &'static str, note: &str, size: u64| {
            let v = policy
                .verify_checkpoint(note, also_logs)
                .map_err(|e| ConsistencyFileError::Checkpoint(which, e.to_string()))?;
            if let Some((name, e)) = v.bad.first() {
                return Err(ConsistencyFileError::BadCosignature(which, format!("{name}: {e}")));
            }
            let is = v.checkpoint.checkpoint().size;
            if is != size {
                return Err(ConsistencyFileError::Size(which, size, is));
            }
            Ok(v)
        };
        let old = open("old", &self.old_checkpoint, self.old_size)?;
        let new = open("new", &self.new_checkpoint, self.new_size)?;
        let (a, b) = (old.checkpoint.checkpoint(), new.checkpoint.checkpoint());
        if a.origin != b.origin {
            return Err(ConsistencyFileError::Origins(a.origin.clone(), b.origin.clone()));
        }
        if !new.quorum {
            return Err(ConsistencyFileError::NoQuorum);
        }
        let inconsistent = |m: String| Err(ConsistencyFileError::Inconsistent(m));
        if a.size == 0 {
            if !self.hashes.is_empty() {
                return inconsistent("a proof from the empty tree has no hashes".into());
            }
        } else if let Err(e) = verify_consistency(a.size, b.size, &self.hashes, &a.root, &b.root) {
            return inconsistent(e.to_string());
        }
        Ok((old, new))
    }
}
