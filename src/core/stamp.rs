//! A record's stamp (docs/SPEC.md §4.1): the one place that says which
//! attributes a stamp has, in which order and of which type. The engine
//! writes every stamp (client records and its own control records alike)
//! through [`Stamp::write`]; the verifier reads stamps by [`StampKey`].

use super::canonical::CANONICALIZATION;
use super::chain::{Algorithm, Hash};
use super::vocab::StampKey;

/// The value of one stamp attribute.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StampValue<'a> {
    Str(&'a str),
    /// A hash, written as 64 lowercase hex digits.
    Hash(&'a Hash),
    /// An OTLP int (always non-negative here).
    Int(u64),
    Bool(bool),
}

/// Everything a stamp says about its record.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Stamp<'a> {
    pub stream_id: &'a str,
    pub sequence: u64,
    /// The previous record's link; `None` on record 1.
    pub previous: Option<&'a Hash>,
    /// The record's link.
    pub value: &'a Hash,
    pub algorithm: Algorithm,
    /// The key epoch of a keyed chain.
    pub key_epoch: Option<u64>,
    /// The record ends its stream.
    pub end: bool,
}

impl Stamp<'_> {
    /// Hands each attribute of the stamp to `put`, in the order they are
    /// written on a record. Absent attributes (the previous hash of record
    /// 1, `end` unless true, the epoch of a plain chain) are not handed.
    pub fn write(&self, mut put: impl FnMut(StampKey, StampValue<'_>)) {
        put(StampKey::StreamId, StampValue::Str(self.stream_id));
        put(StampKey::SequenceNumber, StampValue::Int(self.sequence));
        if let Some(p) = self.previous {
            put(StampKey::PreviousHash, StampValue::Hash(p));
        }
        if self.end {
            put(StampKey::SequenceEnd, StampValue::Bool(true));
        }
        put(StampKey::IntegrityValue, StampValue::Hash(self.value));
        put(StampKey::IntegrityAlgorithm, StampValue::Str(self.algorithm.name()));
        put(StampKey::IntegrityCanonicalization, StampValue::Str(CANONICALIZATION));
        if let Some(e) = self.key_epoch {
            put(StampKey::KeyEpoch, StampValue::Int(e));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stamp_writes_only_what_it_has() {
        let (prev, value) = ([1; 32], [2; 32]);
        let mut keys = Vec::new();
        let genesis = Stamp {
            stream_id: "s",
            sequence: 1,
            previous: None,
            value: &value,
            algorithm: Algorithm::Sha256,
            key_epoch: None,
            end: false,
        };
        genesis.write(|k, _| keys.push(k));
        assert!(!keys.contains(&StampKey::PreviousHash) && !keys.contains(&StampKey::KeyEpoch));
        assert!(!keys.contains(&StampKey::SequenceEnd));
        keys.clear();
        let last =
            Stamp { previous: Some(&prev), key_epoch: Some(3), end: true, algorithm: Algorithm::HmacSha256, ..genesis };
        last.write(|k, _| keys.push(k));
        assert_eq!(keys.len(), StampKey::ALL.len(), "every attribute once: {keys:?}");
    }
}
