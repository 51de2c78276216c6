//! Compact ranges: the root hashes of the minimal complete subtrees that
//! cover a range of leaves `[begin, end)` (see transparency-dev/merkle's
//! docs/compact_ranges.md). A range from leaf 0 is the frontier a log
//! keeps: O(log n) hashes that take the next leaf and give the root. Two
//! adjacent ranges merge, so that parts of a log hashed apart (shards of
//! an archive) combine into the whole.

use super::Hash;
use super::error::RangeError;
use super::hash::{EMPTY_ROOT, node_hash};
use super::node::{NodeId, decompose};
use crate::core::hex::{from_hex, to_hex};
use serde::{Deserialize, Serialize};

/// The compact range of leaves `[begin, end)`: one hash per node of
/// `decompose(begin, end)`, left to right. Serialised as
/// `{"begin":B,"end":E,"hashes":["<64 hex>",…]}`; deserialising checks the
/// hash count (not the hashes: that takes the leaves or a signed root).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "Repr", into = "Repr")]
pub struct CompactRange {
    begin: u64,
    end: u64,
    hashes: Vec<Hash>,
}

impl CompactRange {
    /// The empty range at `begin`, to grow from there.
    pub fn new(begin: u64) -> CompactRange {
        CompactRange { begin, end: begin, hashes: Vec::new() }
    }

    /// A range from its parts, as stored or carried by a checkpoint.
    pub fn from_parts(begin: u64, end: u64, hashes: Vec<Hash>) -> Result<CompactRange, RangeError> {
        if end < begin {
            return Err(RangeError::Reversed { begin, end });
        }
        let want = decompose(begin, end).len();
        if hashes.len() != want {
            return Err(RangeError::WrongHashCount { begin, end, got: hashes.len(), want });
        }
        Ok(CompactRange { begin, end, hashes })
    }

    /// The frontier of a list of leaf hashes (leaves `[0, len)`).
    pub fn from_leaves<'a>(leaves: impl IntoIterator<Item = &'a Hash>) -> Result<CompactRange, RangeError> {
        let mut r = CompactRange::new(0);
        for l in leaves {
            r.append(l)?;
        }
        Ok(r)
    }

    pub fn begin(&self) -> u64 {
        self.begin
    }

    pub fn end(&self) -> u64 {
        self.end
    }

    /// Number of leaves covered.
    pub fn len(&self) -> u64 {
        self.end - self.begin
    }

    pub fn is_empty(&self) -> bool {
        self.begin == self.end
    }

    pub fn hashes(&self) -> &[Hash] {
        &self.hashes
    }

    /// The nodes the hashes belong to, left to right.
    pub fn nodes(&self) -> Vec<NodeId> {
        decompose(self.begin, self.end)
    }

    /// Appends one leaf hash.
    pub fn append(&mut self, leaf: &Hash) -> Result<(), RangeError> {
        self.append_visit(leaf, |_, _| {})
    }

    /// Appends one leaf hash, calling `visit` with the leaf's node and every
    /// complete node that it completes (in order, each after its
    /// children): what a [`NodeStore`](super::NodeStore) records.
    pub fn append_visit(&mut self, leaf: &Hash, mut visit: impl FnMut(NodeId, &Hash)) -> Result<(), RangeError> {
        if self.end == u64::MAX {
            return Err(RangeError::Full);
        }
        visit(NodeId::leaf(self.end), leaf);
        self.push(0, *leaf, &mut visit);
        Ok(())
    }

    /// Merges `other`, which must start where this range ends, into this
    /// range; `visit` sees every node the merge completes.
    pub fn append_range(
        &mut self,
        other: &CompactRange,
        mut visit: impl FnMut(NodeId, &Hash),
    ) -> Result<(), RangeError> {
        if other.begin != self.end {
            return Err(RangeError::NotAdjacent { end: self.end, next_begin: other.begin });
        }
        for (id, h) in other.nodes().into_iter().zip(&other.hashes) {
            self.push(id.level, *h, &mut visit);
        }
        Ok(())
    }

    /// Pushes the complete node of `level` that starts at `self.end`
    /// (precondition: `self.end` is a multiple of 2^level and the node
    /// fits), merging it with its left siblings while they are in the range.
    fn push(&mut self, level: u8, hash: Hash, visit: &mut impl FnMut(NodeId, &Hash)) {
        let mut id = NodeId::new(level, self.end >> level);
        debug_assert_eq!(id.begin(), self.end);
        self.end = id.end();
        let mut h = hash;
        // A right child whose left sibling lies inside the range: that
        // sibling is the range's last node (nothing else can end there).
        while id.index & 1 == 1 && ((id.index - 1) << id.level) >= self.begin {
            let left = self.hashes.pop().expect("a sibling inside the range is its last node");
            h = node_hash(&left, &h);
            id = NodeId::new(id.level + 1, id.index >> 1);
            visit(id, &h);
        }
        self.hashes.push(h);
    }

    /// The tree root of leaves `[0, end)`; the empty tree's for no leaves.
    pub fn root(&self) -> Result<Hash, RangeError> {
        if self.begin != 0 {
            return Err(RangeError::NotAPrefix { begin: self.begin });
        }
        Ok(fold_right(&self.hashes))
    }
}

/// Combines node hashes of decreasing size from the right: the root of the
/// subtree they cover (RFC 6962's MTH). The empty root for none.
pub(crate) fn fold_right(hashes: &[Hash]) -> Hash {
    let Some((last, rest)) = hashes.split_last() else { return EMPTY_ROOT };
    rest.iter().rev().fold(*last, |acc, left| node_hash(left, &acc))
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Repr {
    begin: u64,
    end: u64,
    hashes: Vec<String>,
}

impl TryFrom<Repr> for CompactRange {
    type Error = String;

    fn try_from(r: Repr) -> Result<CompactRange, String> {
        let hashes = r
            .hashes
            .iter()
            .map(|h| from_hex(h).ok_or_else(|| format!("compact range hash {h:?} is not 64 hex digits")))
            .collect::<Result<Vec<_>, _>>()?;
        CompactRange::from_parts(r.begin, r.end, hashes).map_err(|e| e.to_string())
    }
}

impl From<CompactRange> for Repr {
    fn from(r: CompactRange) -> Repr {
        Repr { begin: r.begin, end: r.end, hashes: r.hashes.iter().map(to_hex).collect() }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::merkle::hash::{leaf_hash, root_of};

    fn leaves(n: u64) -> Vec<Hash> {
        (0..n).map(|i| leaf_hash(&i.to_be_bytes())).collect()
    }

    #[test]
    fn appending_gives_every_prefix_root() {
        let ls = leaves(70);
        let mut r = CompactRange::new(0);
        assert_eq!(r.root().unwrap(), EMPTY_ROOT);
        for (i, l) in ls.iter().enumerate() {
            r.append(l).unwrap();
            assert_eq!(r.root().unwrap(), root_of(&ls[..=i]), "size {}", i + 1);
            assert_eq!(r.hashes().len(), (i as u64 + 1).count_ones() as usize);
        }
    }

    #[test]
    fn visitor_sees_every_completed_node_once() {
        let mut seen = Vec::new();
        let mut r = CompactRange::new(0);
        for l in &leaves(8) {
            r.append_visit(l, |id, _| seen.push((id.level, id.index))).unwrap();
        }
        assert_eq!(seen.len(), 15);
        assert_eq!(&seen[..4], [(0, 0), (0, 1), (1, 0), (0, 2)]);
        assert_eq!(seen.last(), Some(&(3, 0)));
    }

    #[test]
    fn merging_adjacent_ranges_equals_appending() {
        let ls = leaves(40);
        for mid in 0..=40u64 {
            let mut left = CompactRange::from_leaves(&ls[..mid as usize]).unwrap();
            let mut right = CompactRange::new(mid);
            for l in &ls[mid as usize..] {
                right.append(l).unwrap();
            }
            left.append_range(&right, |_, _| {}).unwrap();
            assert_eq!(left.root().unwrap(), root_of(&ls), "split at {mid}");
            if mid > 0 {
                assert_eq!(right.root(), Err(RangeError::NotAPrefix { begin: mid }));
            }
        }
        let a = CompactRange::new(0);
        let mut b = CompactRange::new(0);
        assert_eq!(
            b.append_range(&CompactRange::new(3), |_, _| {}),
            Err(RangeError::NotAdjacent { end: 0, next_begin: 3 })
        );
        assert!(a.is_empty());
    }

    #[test]
    fn parts_are_checked_and_serde_round_trips() {
        assert_eq!(
            CompactRange::from_parts(0, 3, vec![[0; 32]]),
            Err(RangeError::WrongHashCount { begin: 0, end: 3, got: 1, want: 2 })
        );
        assert_eq!(CompactRange::from_parts(4, 3, vec![]), Err(RangeError::Reversed { begin: 4, end: 3 }));
        let r = CompactRange::from_leaves(&leaves(13)).unwrap();
        let json = serde_json::to_string(&r).unwrap();
        assert!(json.starts_with(r#"{"begin":0,"end":13,"hashes":[""#), "{json}");
        assert_eq!(serde_json::from_str::<CompactRange>(&json).unwrap(), r);
        let short = json.replacen(&to_hex(&r.hashes()[0]), "ab", 1);
        assert!(serde_json::from_str::<CompactRange>(&short).unwrap_err().to_string().contains("not 64 hex"));
        let fewer = r#"{"begin":0,"end":13,"hashes":[]}"#;
        assert!(serde_json::from_str::<CompactRange>(fewer).unwrap_err().to_string().contains("needs 3 hashes"));
        assert!(serde_json::from_str::<CompactRange>(r#"{"begin":0,"end":0,"hashes":[],"x":1}"#).is_err());
    }

    #[test]
    fn a_full_range_refuses_more() {
        let mut r = CompactRange::from_parts(u64::MAX - 1, u64::MAX, vec![[1; 32]]).unwrap();
        assert_eq!(r.append(&[2; 32]), Err(RangeError::Full));
    }
}
