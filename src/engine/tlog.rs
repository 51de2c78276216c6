//! The engine's transparency log (docs/SPEC.md §5.5, format version 2):
//! every record the engine issues is a leaf, in issue order, across its
//! streams and restarts. The durable part lives in the stream state
//! ([`LogState`], carried from a stream to its successor); appending a leaf
//! costs one leaf hash and, amortised, one node hash per live range.

use crate::core::chain::Hash;
use crate::core::merkle::{CompactRange, Extension};
use serde::{Deserialize, Serialize};

/// Sizes sent to one witness whose answer is unknown (a timeout: it may or
/// may not hold them) that the log keeps proving from; past it the oldest
/// is dropped (counted), and a witness that answers 409 with it cannot be
/// proven to.
pub const MAX_PENDING: usize = 8;

/// The log's durable state.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogState {
    /// The origin: the first line of every checkpoint; never changes.
    pub origin: String,
    /// The leaf index of the current stream's record 1.
    pub base: u64,
    /// The compact range of the whole log, `[0, size)`.
    pub range: CompactRange,
    /// The newest signed checkpoint.
    #[serde(default)]
    pub last_checkpoint: Option<LastCheckpoint>,
    /// Extensions from the older sizes the log may have to prove
    /// consistency from: its last checkpoint's, every size a witness
    /// acknowledged or may hold. One per size, sorted by size.
    #[serde(default)]
    pub extensions: Vec<Extension>,
    /// The witnesses, in the order of the configuration.
    #[serde(default)]
    pub witnesses: Vec<WitnessState>,
}

/// The newest checkpoint of the log.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LastCheckpoint {
    pub size: u64,
    /// The note as signed by the log.
    pub note: String,
    /// The note with every cosignature collected for it so far.
    pub cosigned: String,
    /// The record that carries it: stream id and sequence number.
    pub stream_id: String,
    pub sequence: u64,
}

/// What the log knows of one witness.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WitnessState {
    /// Its cosignature verifier key (vkey).
    pub key: String,
    /// The size it acknowledged (cosigned) last; 0: none.
    pub acked: u64,
    /// Sizes sent whose answer is unknown, oldest first.
    #[serde(default)]
    pub pending: Vec<u64>,
}

/// What a checkpoint record of the log at its current size carries.
pub struct CheckpointParts {
    pub size: u64,
    pub root: Hash,
    /// The compact range at `size`.
    pub range: Vec<Hash>,
    /// The previous checkpoint's size and the consistency proof from it.
    pub previous: Option<(u64, Vec<Hash>)>,
}

impl LogState {
    pub fn new(origin: String) -> LogState {
        LogState {
            origin,
            base: 0,
            range: CompactRange::new(0),
            last_checkpoint: None,
            extensions: Vec::new(),
            witnesses: Vec::new(),
        }
    }

    /// The number of leaves.
    pub fn size(&self) -> u64 {
        self.range.end()
    }

    /// Appends the leaf of a record just issued.
    pub fn append(&mut self, stream_id: &str, sequence: u64, record_hash: &Hash, link: &Hash) {
        let leaf = leaf_hash(stream_id, sequence, record_hash, link);
        // A range fails to append only past 2^64 leaves.
        self.range.append(&leaf).expect("the log has room for another leaf");
        for e in &mut self.extensions {
            e.append(&leaf).expect("the log has room for another leaf");
        }
    }

    pub fn extension(&self, old: u64) -> Option<&Extension> {
        self.extensions.iter().find(|e| e.old_size() == old)
    }

    /// The parts of a checkpoint at the current size.
    pub fn checkpoint_parts(&self) -> CheckpointParts {
        let size = self.size();
        let previous = self.last_checkpoint.as_ref().map(|c| {
            let proof = match self.extension(c.size) {
                Some(e) if c.size > 0 && c.size < size => e.consistency_proof().unwrap_or_default(),
                _ => Vec::new(),
            };
            (c.size, proof)
        });
        CheckpointParts {
            size,
            root: self.range.root().expect("the log's range starts at leaf 0"),
            range: self.range.hashes().to_vec(),
            previous,
        }
    }

    /// Records a checkpoint just signed at the current size, carried by
    /// record `sequence` of `stream_id`; from now on the log can prove
    /// consistency from it.
    pub fn checkpointed(&mut self, note: String, stream_id: &str, sequence: u64) {
        let size = self.size();
        self.last_checkpoint =
            Some(LastCheckpoint { size, cosigned: note.clone(), note, stream_id: stream_id.to_string(), sequence });
        self.keep_extension(size);
        self.prune();
    }

    /// Makes sure the log can prove from `size` (its current size).
    fn keep_extension(&mut self, size: u64) {
        if size == 0 || size != self.size() || self.extension(size).is_some() {
            return;
        }
        let e = Extension::new(self.range.clone()).expect("the log's range starts at leaf 0");
        let at = self.extensions.partition_point(|x| x.old_size() < size);
        self.extensions.insert(at, e);
    }

    /// Drops the extensions nobody needs any more.
    pub fn prune(&mut self) {
        let last = self.last_checkpoint.as_ref().map(|c| c.size);
        let witnesses = &self.witnesses;
        self.extensions.retain(|e| {
            let s = e.old_size();
            Some(s) == last || witnesses.iter().any(|w| w.acked == s || w.pending.contains(&s))
        });
    }

    /// Notes that checkpoint `size` was sent to witness `i` (its answer is
    /// unknown until it comes). Returns whether an older pending size was
    /// dropped.
    pub fn sent(&mut self, i: usize, size: u64) -> bool {
        let w = &mut self.witnesses[i];
        if w.pending.contains(&size) || size <= w.acked {
            return false;
        }
        w.pending.push(size);
        let dropped = w.pending.len() > MAX_PENDING;
        if dropped {
            w.pending.remove(0);
            self.prune();
        }
        dropped
    }

    /// Witness `i` holds `size` (it cosigned it, or said so in a 409):
    /// prove from there next. Returns false when the log cannot prove
    /// from that size (it keeps no range for it).
    pub fn holds(&mut self, i: usize, size: u64) -> bool {
        let provable = size == 0 || self.extension(size).is_some();
        if provable {
            let w = &mut self.witnesses[i];
            w.acked = size;
            w.pending.retain(|&p| p > size);
            self.prune();
        }
        provable
    }

    /// Aligns the witnesses with the configured keys: known ones keep their
    /// state, new ones start at size 0.
    pub fn set_witnesses(&mut self, keys: &[String]) {
        let old = std::mem::take(&mut self.witnesses);
        self.witnesses = keys
            .iter()
            .map(|k| {
                old.iter().find(|w| &w.key == k).cloned().unwrap_or(WitnessState {
                    key: k.clone(),
                    acked: 0,
                    pending: Vec::new(),
                })
            })
            .collect();
        self.prune();
    }

    /// Checks a loaded log against the stream that carries it.
    pub fn check(&self, next_sequence: u64) -> Result<(), String> {
        if self.range.begin() != 0 {
            return Err(format!("the log's range begins at {}, not 0", self.range.begin()));
        }
        if self.base.checked_add(next_sequence - 1) != Some(self.size()) {
            return Err(format!(
                "the log has {} leaves, but its stream starts at leaf {} and has issued {} records",
                self.size(),
                self.base,
                next_sequence - 1
            ));
        }
        if let Some(c) = &self.last_checkpoint
            && (c.size >= self.size() || self.extension(c.size).is_none() && c.size > 0)
        {
            return Err(format!("the log's last checkpoint (size {}) does not fit the log", c.size));
        }
        for e in &self.extensions {
            if e.size() != self.size() || e.range() != self.range {
                return Err(format!("the log's range from size {} does not extend to the log", e.old_size()));
            }
        }
        for w in &self.witnesses {
            if w.acked >= self.size() && w.acked > 0 {
                return Err(format!("witness {} acknowledged size {}, beyond the log", w.key, w.acked));
            }
        }
        Ok(())
    }
}

/// [`Leaf::hash`] without building the leaf data: the hot path's one
/// leaf hash per record, with no allocation.
pub fn leaf_hash(stream_id: &str, sequence: u64, record_hash: &Hash, link: &Hash) -> Hash {
    use sha2::Digest;
    let mut h = sha2::Sha256::new();
    h.update([0u8]);
    h.update(crate::core::tlog::leaf::LEAF_DOMAIN);
    h.update((stream_id.len() as u32).to_be_bytes());
    h.update(stream_id.as_bytes());
    h.update(sequence.to_be_bytes());
    h.update(record_hash);
    h.update(link);
    h.finalize().into()
}

/// Merges the signature lines of `more` (a note with the same body) into
/// `note`: the union, in order of first appearance. `None` when the bodies
/// differ or a note does not parse.
pub fn merge_notes(note: &str, more: &str) -> Option<String> {
    use crate::core::note::parse_note;
    let (a, b) = (parse_note(note).ok()?, parse_note(more).ok()?);
    if a.text != b.text {
        return None;
    }
    let mut out = format!("{}\n", a.text);
    let mut seen = Vec::new();
    for s in a.signatures.iter().chain(&b.signatures) {
        if !seen.contains(&s) {
            out.push_str(&s.line());
            seen.push(s);
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::merkle;
    use crate::core::tlog::Leaf;

    #[test]
    fn the_hot_paths_leaf_hash_is_the_leaf_hash() {
        for (id, seq) in [("s-1", 1), ("", 0), ("a-much-longer-stream-id-20261201T200000Z-ab12", u64::MAX)] {
            let (r, l) = ([seq as u8; 32], [7; 32]);
            assert_eq!(
                leaf_hash(id, seq, &r, &l),
                Leaf { stream_id: id, sequence: seq, record_hash: &r, link: &l }.hash()
            );
        }
    }

    #[test]
    fn checkpoints_prove_consistency_and_witness_ranges_follow_the_log() {
        let mut log = LogState::new("o".into());
        log.set_witnesses(&["w".into()]);
        let mut leaves = Vec::new();
        for i in 0..5u64 {
            log.append("s", i + 1, &[i as u8; 32], &[1; 32]);
            leaves.push(Leaf { stream_id: "s", sequence: i + 1, record_hash: &[i as u8; 32], link: &[1; 32] }.hash());
        }
        let p = log.checkpoint_parts();
        assert_eq!((p.size, p.root, p.previous.is_none()), (5, merkle::root_of(&leaves), true));
        log.checkpointed("n5".into(), "s", 6);
        assert!(!log.sent(0, 5));
        for i in 5..9u64 {
            log.append("s", i + 1, &[i as u8; 32], &[1; 32]);
            leaves.push(Leaf { stream_id: "s", sequence: i + 1, record_hash: &[i as u8; 32], link: &[1; 32] }.hash());
        }
        let p = log.checkpoint_parts();
        let (prev, proof) = p.previous.unwrap();
        assert_eq!(prev, 5);
        assert!(merkle::verify_consistency(5, 9, &proof, &merkle::root_of(&leaves[..5]), &p.root).is_ok());
        log.checkpointed("n9".into(), "s", 10);
        // The witness may hold 5 (pending): its range is kept.
        assert!(log.extension(5).is_some() && log.extension(9).is_some());
        assert!(log.holds(0, 9));
        assert!(log.extension(5).is_none(), "nobody needs size 5 any more");
        assert!(!log.holds(0, 7), "no range kept for size 7");
        log.append("s", 10, &[10; 32], &[1; 32]);
        assert!(log.check(11).is_ok());
        assert!(log.check(12).is_err());
        assert!(log.check(10).is_err(), "checkpoint 9 is leaf 9: the log must hold it");
    }
}
