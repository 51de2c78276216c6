//! Stamp rules (docs/SPEC.md §4.1, §8): a record's stamp must name a known
//! algorithm and the canonicalisation `otlp-jcs-v1`, number the record from
//! 1, and carry a key epoch exactly when its chain is keyed
//! (`malformed_stamp` otherwise); and every record of a stream must use the
//! stream's algorithm (`downgrade` otherwise, §8.1).

use super::finding;
use crate::core::canonical::CANONICALIZATION;
use crate::core::chain::{Algorithm, Hash};
use crate::core::vocab::StampKey;
use crate::verify::read::stamp::StampRead;
use crate::verify::records::{Collected, Entry};
use crate::verify::report::{Finding, Kind, Severity};

/// A stamp that passed the stamp rule.
pub struct Admitted {
    pub sequence: u64,
    pub previous: Option<Hash>,
    pub value: Hash,
    pub algorithm: Algorithm,
    pub key_epoch: Option<u64>,
    pub end: bool,
    pub compact: bool,
}

/// Admits a stamp as read, or says why it is malformed.
pub fn admit(s: &StampRead<'_>) -> Result<Admitted, String> {
    let sequence = u64::try_from(s.sequence)
        .ok()
        .filter(|&n| n >= 1)
        .ok_or_else(|| format!("{} must be at least 1, not {}", StampKey::SequenceNumber.name(), s.sequence))?;
    let algorithm = Algorithm::from_name(s.algorithm)
        .ok_or_else(|| format!("{} {:?} is not a known algorithm", StampKey::IntegrityAlgorithm.name(), s.algorithm))?;
    if s.canonicalization != CANONICALIZATION {
        return Err(format!(
            "{} {:?} is not {CANONICALIZATION:?}",
            StampKey::IntegrityCanonicalization.name(),
            s.canonicalization
        ));
    }
    let epoch = StampKey::KeyEpoch.name();
    let key_epoch = match (s.key_epoch, algorithm) {
        (Some(e), Algorithm::HmacSha256) => {
            Some(u64::try_from(e).map_err(|_| format!("{epoch} must not be negative"))?)
        }
        (None, Algorithm::HmacSha256) => return Err(format!("stamp attribute {epoch} is missing on a keyed chain")),
        (Some(_), Algorithm::Sha256) => return Err(format!("{epoch} on an unkeyed chain")),
        (None, Algorithm::Sha256) => None,
    };
    Ok(Admitted {
        sequence,
        previous: s.previous,
        value: s.value,
        algorithm,
        key_epoch,
        end: s.end,
        compact: s.compact,
    })
}

/// The stream's algorithm (SPEC §8.1): record 1's; when record 1 is
/// missing, keyed if any record is (a keyed link cannot be made without
/// the key, a plain one by anyone). `first`: the stream's first record in
/// number order (its first copy); `keyed`: whether any record is keyed.
pub fn stream_algorithm(first: Option<&Entry>, keyed: bool) -> Algorithm {
    match first.filter(|e| e.sequence == 1) {
        Some(e) => e.algorithm,
        None if keyed => Algorithm::HmacSha256,
        None => Algorithm::Sha256,
    }
}

/// Every record, every copy, must use the stream's algorithm.
pub fn check_algorithm(c: &Collected, e: &Entry, algorithm: Algorithm, findings: &mut Vec<Finding>) {
    if e.algorithm != algorithm {
        let seq = e.sequence;
        let why = if algorithm == Algorithm::HmacSha256 {
            "a keyed stream's record rewritten as an unkeyed chain, which anyone can compute"
        } else {
            "an unkeyed stream cannot hold keyed records"
        };
        findings.push(
            finding(
                Severity::Error,
                Kind::Downgrade,
                format!(
                    "record {seq}: algorithm {} differs from the stream's {}: {why}; it is not checked",
                    e.algorithm.name(),
                    algorithm.name()
                ),
            )
            .at(seq)
            .located(c.location(e.loc)),
        );
    }
}
