//! Node addresses: a complete subtree by its level and index.

use std::fmt;

/// The complete subtree at `level` (0 = a leaf) and horizontal `index`,
/// covering leaves `[index·2^level, (index+1)·2^level)`. Valid ids have
/// `level <= 63` and a range that fits in u64.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct NodeId {
    pub level: u8,
    pub index: u64,
}

impl NodeId {
    pub const fn new(level: u8, index: u64) -> NodeId {
        NodeId { level, index }
    }

    pub const fn leaf(index: u64) -> NodeId {
        NodeId { level: 0, index }
    }

    /// First leaf covered.
    pub const fn begin(self) -> u64 {
        self.index << self.level
    }

    /// One past the last leaf covered (saturating at u64::MAX, which no
    /// tree this crate builds reaches).
    pub fn end(self) -> u64 {
        u64::try_from((u128::from(self.index) + 1) << self.level).unwrap_or(u64::MAX)
    }
}

impl fmt::Display for NodeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "node {}.{} (leaves {}..{})", self.level, self.index, self.begin(), self.end())
    }
}

/// The minimal list of complete subtrees covering `[begin, end)`, left to
/// right: sizes grow, then shrink (RFC 9162 calls the prefix case the
/// tree's "compact range"). Precondition: `begin <= end`.
pub fn decompose(begin: u64, end: u64) -> Vec<NodeId> {
    debug_assert!(begin <= end);
    let mut out = Vec::new();
    let mut at = begin;
    while at < end {
        let aligned = if at == 0 { 63 } else { at.trailing_zeros() };
        let fits = 63 - (end - at).leading_zeros();
        let level = aligned.min(fits);
        out.push(NodeId::new(level as u8, at >> level));
        at += 1 << level;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_of_nodes() {
        let n = NodeId::new(2, 3);
        assert_eq!((n.begin(), n.end()), (12, 16));
        assert_eq!(NodeId::leaf(7).end(), 8);
        assert_eq!(n.to_string(), "node 2.3 (leaves 12..16)");
    }

    #[test]
    fn decomposition_is_minimal_and_ordered() {
        let ids = |b, e| decompose(b, e).iter().map(|n| (n.level, n.index)).collect::<Vec<_>>();
        assert_eq!(ids(0, 0), []);
        assert_eq!(ids(0, 7), [(2, 0), (1, 2), (0, 6)]);
        assert_eq!(ids(0, 8), [(3, 0)]);
        // The example of transparency-dev/merkle's compact.Decompose: sizes 2,8; 8,4,1.
        assert_eq!(ids(0b110, 0b11101), [(1, 3), (3, 1), (3, 2), (2, 6), (0, 28)]);
        assert_eq!(ids(5, 6), [(0, 5)]);
        assert_eq!(decompose(0, u64::MAX).len(), 64);
    }
}
