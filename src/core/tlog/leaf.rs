//! The auditchain leaf (docs/SPEC.md §5.5, version 2 format): what the log
//! commits to for one stamped record, recomputable by anyone holding the
//! record (its canonical form and its stamp) without the chain key.

use crate::core::chain::Hash;
use crate::core::merkle;

/// Domain separation of leaf data from every other message of the format.
pub const LEAF_DOMAIN: &[u8] = b"auditchain.leaf.v1\0";

/// One record as the log sees it: its place in its stream, its content,
/// and its link.
#[derive(Clone, Copy, Debug)]
pub struct Leaf<'a> {
    /// `audit.sequence.stream_id`. Precondition: shorter than 2^32 bytes
    /// (stream ids are at most 128 + 23 bytes, SPEC §4.4).
    pub stream_id: &'a str,
    /// `audit.sequence.number`.
    pub sequence: u64,
    /// SHA-256 of the record's canonical form (SPEC §2.7).
    pub record_hash: &'a Hash,
    /// `audit.integrity.value`: the link (SPEC §3), taken as given.
    pub link: &'a Hash,
}

impl Leaf<'_> {
    /// The leaf data: domain ‖ u32be(len(stream id)) ‖ stream id ‖
    /// u64be(sequence) ‖ record hash ‖ link.
    pub fn data(&self) -> Vec<u8> {
        let id = self.stream_id.as_bytes();
        debug_assert!(u32::try_from(id.len()).is_ok());
        let mut d = Vec::with_capacity(LEAF_DOMAIN.len() + 4 + id.len() + 8 + 64);
        d.extend_from_slice(LEAF_DOMAIN);
        d.extend_from_slice(&(id.len() as u32).to_be_bytes());
        d.extend_from_slice(id);
        d.extend_from_slice(&self.sequence.to_be_bytes());
        d.extend_from_slice(self.record_hash);
        d.extend_from_slice(self.link);
        d
    }

    /// The RFC 6962 leaf hash: SHA-256(0x00 ‖ leaf data).
    pub fn hash(&self) -> Hash {
        merkle::leaf_hash(&self.data())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_field_changes_the_leaf() {
        let (r, l) = ([1; 32], [2; 32]);
        let base = Leaf { stream_id: "s-1", sequence: 7, record_hash: &r, link: &l };
        let h = base.hash();
        assert_ne!(Leaf { stream_id: "s-2", ..base }.hash(), h);
        assert_ne!(Leaf { sequence: 8, ..base }.hash(), h);
        assert_ne!(Leaf { record_hash: &[3; 32], ..base }.hash(), h);
        assert_ne!(Leaf { link: &[3; 32], ..base }.hash(), h);
        // The length prefix: no two (stream id, sequence) pairs share bytes.
        let d = base.data();
        assert_eq!(d.len(), 19 + 4 + 3 + 8 + 64);
        assert_eq!(&d[19..23], &[0, 0, 0, 3]);
        assert_eq!(merkle::leaf_hash(&d), h);
    }
}
