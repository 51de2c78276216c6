//! C2SP tlog-proof: an offline-verifiable proof that an entry is in a log,
//! as a checkpoint, the entry's index and its inclusion proof:
//!
//! ```text
//! c2sp.org/tlog-proof@v1
//! extra <base64>            optional, not authenticated
//! index <N>
//! <base64 hash>             zero or more: the inclusion proof, leaf's sibling first
//!
//! <signed checkpoint, verbatim, with any cosignatures>
//! ```

use super::checkpoint::{decode_hash, parse_decimal};
use super::error::ProofFormatError;
use super::policy::{Policy, Verdict};
use crate::core::chain::Hash;
use crate::core::merkle::verify_inclusion;
use crate::core::note::NoteVerifier;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;

pub const HEADER: &str = "c2sp.org/tlog-proof@v1";

/// A tree of at most 2^64 leaves has inclusion proofs of at most 64 hashes.
const MAX_HASHES: usize = 64;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TlogProof {
    /// Opaque extra data; never trusted (the application says what it is).
    pub extra: Option<Vec<u8>>,
    /// Zero-based index of the entry.
    pub index: u64,
    /// The inclusion proof, from the leaf's sibling up.
    pub hashes: Vec<Hash>,
    /// The signed checkpoint note, verbatim.
    pub checkpoint: String,
}

impl TlogProof {
    pub fn format(&self) -> String {
        let mut s = format!("{HEADER}\n");
        if let Some(extra) = &self.extra {
            s.push_str(&format!("extra {}\n", B64.encode(extra)));
        }
        s.push_str(&format!("index {}\n", self.index));
        for h in &self.hashes {
            s.push_str(&B64.encode(h));
            s.push('\n');
        }
        s.push('\n');
        s.push_str(&self.checkpoint);
        s
    }

    /// Parses a proof (the checkpoint is checked by [`TlogProof::verify`]).
    pub fn parse(text: &str) -> Result<TlogProof, ProofFormatError> {
        let (head, checkpoint) = text.split_once("\n\n").ok_or(ProofFormatError::NoCheckpoint)?;
        let mut lines = head.split('\n').enumerate();
        if lines.next().map(|(_, l)| l) != Some(HEADER) {
            return Err(ProofFormatError::BadHeader);
        }
        let mut next = lines.next();
        let mut extra = None;
        if let Some(data) = next.and_then(|(_, l)| l.strip_prefix("extra ")) {
            extra = Some(B64.decode(data).map_err(|_| ProofFormatError::BadExtra)?);
            next = lines.next();
        }
        let index = next
            .and_then(|(_, l)| l.strip_prefix("index "))
            .and_then(parse_decimal)
            .ok_or(ProofFormatError::BadIndex)?;
        let mut hashes = Vec::new();
        for (i, l) in lines {
            if hashes.len() == MAX_HASHES {
                return Err(ProofFormatError::TooManyHashes);
            }
            hashes.push(decode_hash(l).ok_or(ProofFormatError::BadHash(i + 1))?);
        }
        if checkpoint.is_empty() {
            return Err(ProofFormatError::NoCheckpoint);
        }
        Ok(TlogProof { extra, index, hashes, checkpoint: checkpoint.to_string() })
    }

    /// Verifies the proof for the entry whose leaf hash is `leaf`: the
    /// checkpoint is signed by a log of `policy` (or of `also_logs`), every
    /// cosignature line of a policy witness verifies, they meet the quorum,
    /// and the inclusion proof leads from `leaf` at `index` to the
    /// checkpoint's root.
    pub fn verify(
        &self,
        leaf: &Hash,
        policy: &Policy,
        also_logs: &[NoteVerifier],
    ) -> Result<Verdict, ProofFormatError> {
        let verdict = policy.verify_checkpoint(&self.checkpoint, also_logs)?;
        if let Some((name, e)) = verdict.bad.first() {
            return Err(ProofFormatError::BadCosignature(format!("{name}: {e}")));
        }
        if !verdict.quorum {
            return Err(ProofFormatError::NoQuorum);
        }
        let c = verdict.checkpoint.checkpoint();
        verify_inclusion(self.index, c.size, leaf, &self.hashes, &c.root).map_err(ProofFormatError::Inclusion)?;
        Ok(verdict)
    }
}
