//! A log's tree: its compact range (the durable O(log n) frontier) and a
//! node store (what proofs need), kept in step.

use super::Hash;
use super::compact::CompactRange;
use super::error::{RangeError, TreeError};
use super::node::{NodeId, decompose};
use super::prove;
use super::store::NodeStore;

/// An append-only RFC 6962 tree. Invariant: `range` starts at leaf 0 and
/// `store` holds every node of the tree of `range.end()` leaves that its
/// pruning keeps, and nothing beyond it.
#[derive(Debug)]
pub struct Tree<S: NodeStore> {
    range: CompactRange,
    store: S,
}

impl<S: NodeStore> Tree<S> {
    /// An empty tree over an empty store.
    pub fn new(store: S) -> Result<Tree<S>, TreeError> {
        Tree::open(CompactRange::new(0), store)
    }

    /// A tree from its durable parts: the compact range saved in the state
    /// and the store. Nodes the store holds beyond the range (written before
    /// a crash, never counted by the state) are dropped; a store that lacks
    /// or contradicts a node of the range is an error.
    pub fn open(range: CompactRange, mut store: S) -> Result<Tree<S>, TreeError> {
        if range.begin() != 0 {
            return Err(RangeError::NotAPrefix { begin: range.begin() }.into());
        }
        if range.end() < store.kept_from() {
            return Err(TreeError::Pruned { asked: range.end(), kept_from: store.kept_from() });
        }
        store.truncate(range.end())?;
        for (id, h) in range.nodes().into_iter().zip(range.hashes()) {
            match store.get(id)? {
                None => return Err(TreeError::MissingNode(id)),
                Some(stored) if stored != *h => return Err(TreeError::Diverges(id)),
                Some(_) => {}
            }
        }
        Ok(Tree { range, store })
    }

    /// Number of leaves.
    pub fn size(&self) -> u64 {
        self.range.end()
    }

    /// The frontier: what the durable state keeps.
    pub fn range(&self) -> &CompactRange {
        &self.range
    }

    pub fn store(&self) -> &S {
        &self.store
    }

    pub fn into_parts(self) -> (CompactRange, S) {
        (self.range, self.store)
    }

    /// Appends a leaf hash. The store is written first: if it fails, the
    /// tree is unchanged (and the store cut back to it).
    pub fn append(&mut self, leaf: &Hash) -> Result<(), TreeError> {
        let mut next = self.range.clone();
        let mut nodes: Vec<(NodeId, Hash)> = Vec::with_capacity(8);
        next.append_visit(leaf, |id, h| nodes.push((id, *h)))?;
        for (id, h) in &nodes {
            if let Err(e) = self.store.put(*id, h) {
                let _ = self.store.truncate(self.range.end());
                return Err(e.into());
            }
        }
        self.range = next;
        Ok(())
    }

    /// The current root (the empty tree's when there are no leaves).
    pub fn root(&self) -> Hash {
        self.range.root().expect("a tree's range starts at leaf 0")
    }

    /// The root of the tree of the first `size` leaves.
    pub fn root_at(&self, size: u64) -> Result<Hash, TreeError> {
        self.within(size)?;
        if size == self.size() {
            return Ok(self.root());
        }
        self.kept(size)?;
        prove::root_at(&self.store, size)
    }

    /// The compact range of the first `size` leaves.
    pub fn range_at(&self, size: u64) -> Result<CompactRange, TreeError> {
        self.within(size)?;
        self.kept(size)?;
        let hashes = decompose(0, size)
            .into_iter()
            .map(|id| self.store.get(id)?.ok_or(TreeError::MissingNode(id)))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(CompactRange::from_parts(0, size, hashes)?)
    }

    /// The hash of leaf `index`, when the store still holds it.
    pub fn leaf(&self, index: u64) -> Result<Hash, TreeError> {
        if index >= self.size() {
            return Err(TreeError::IndexBeyondSize { index, size: self.size() });
        }
        self.kept(index)?;
        self.store.get(NodeId::leaf(index))?.ok_or(TreeError::MissingNode(NodeId::leaf(index)))
    }

    /// The inclusion proof of leaf `index` in the tree of `size` leaves.
    pub fn inclusion_proof(&self, index: u64, size: u64) -> Result<Vec<Hash>, TreeError> {
        self.within(size)?;
        if index >= size {
            return Err(TreeError::IndexBeyondSize { index, size });
        }
        self.kept(index)?;
        prove::inclusion_proof(&self.store, index, size)
    }

    /// The consistency proof from `size1` leaves to `size2` leaves (empty
    /// for equal sizes). Requires `0 < size1 <= size2 <= size()`.
    pub fn consistency_proof(&self, size1: u64, size2: u64) -> Result<Vec<Hash>, TreeError> {
        self.within(size2)?;
        if size1 > size2 {
            return Err(TreeError::SizeDecreases { size1, size2 });
        }
        if size1 == 0 {
            return Err(TreeError::FromEmptyTree);
        }
        self.kept(size1)?;
        prove::consistency_proof(&self.store, size1, size2)
    }

    /// Keeps only what proofs from `size` on need (see
    /// [`store`](super::store)): afterwards inclusion proofs of leaves
    /// below `size` and consistency proofs from sizes below it fail with
    /// [`TreeError::Pruned`].
    pub fn prune(&mut self, size: u64) -> Result<(), TreeError> {
        if size <= self.store.kept_from() {
            return Ok(());
        }
        let frontier = self.range_at(size)?;
        Ok(self.store.prune(&frontier)?)
    }

    fn within(&self, size: u64) -> Result<(), TreeError> {
        if size > self.size() {
            return Err(TreeError::SizeBeyondTree { size, tree_size: self.size() });
        }
        Ok(())
    }

    fn kept(&self, from: u64) -> Result<(), TreeError> {
        let kept_from = self.store.kept_from();
        if from < kept_from {
            return Err(TreeError::Pruned { asked: from, kept_from });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::merkle::error::StoreError;
    use crate::core::merkle::hash::{leaf_hash, root_of};
    use crate::core::merkle::store::{MemoryStore, NodeReader};
    use crate::core::merkle::verify::{verify_consistency, verify_inclusion};

    fn leaves(n: u64) -> Vec<Hash> {
        (0..n).map(|i| leaf_hash(format!("leaf {i}").as_bytes())).collect()
    }

    fn tree(ls: &[Hash]) -> Tree<MemoryStore> {
        let mut t = Tree::new(MemoryStore::new()).unwrap();
        for l in ls {
            t.append(l).unwrap();
        }
        t
    }

    #[test]
    fn every_proof_of_small_trees_verifies() {
        let ls = leaves(33);
        let t = tree(&ls);
        for n in 1..=33u64 {
            let root = root_of(&ls[..n as usize]);
            assert_eq!(t.root_at(n).unwrap(), root);
            for i in 0..n {
                let p = t.inclusion_proof(i, n).unwrap();
                verify_inclusion(i, n, &ls[i as usize], &p, &root).unwrap();
            }
            for m in 1..=n {
                let p = t.consistency_proof(m, n).unwrap();
                verify_consistency(m, n, &p, &root_of(&ls[..m as usize]), &root).unwrap();
            }
        }
        // Complete nodes of a tree of n leaves: 2n − popcount(n).
        assert_eq!(t.store().len(), 2 * 33 - 2);
    }

    #[test]
    fn pruning_keeps_what_later_proofs_need() {
        let ls = leaves(100);
        for cut in [1, 2, 5, 8, 31, 32, 33, 64, 99, 100] {
            let mut t = tree(&ls);
            t.prune(cut).unwrap();
            let full = tree(&ls);
            for n in cut..=100 {
                for m in cut.max(1)..=n {
                    assert_eq!(t.consistency_proof(m, n).unwrap(), full.consistency_proof(m, n).unwrap());
                }
                for i in cut..n {
                    assert_eq!(t.inclusion_proof(i, n).unwrap(), full.inclusion_proof(i, n).unwrap());
                }
                assert_eq!(t.root_at(n).unwrap(), full.root_at(n).unwrap());
            }
            if cut > 1 {
                assert_eq!(
                    t.consistency_proof(cut - 1, 100),
                    Err(TreeError::Pruned { asked: cut - 1, kept_from: cut })
                );
                assert_eq!(t.inclusion_proof(cut - 1, 100), Err(TreeError::Pruned { asked: cut - 1, kept_from: cut }));
            }
            // About 2·(n − cut) hashes, plus the cut's compact range.
            assert!(t.store().len() <= 2 * (100 - cut as usize) + 64, "cut {cut}: {}", t.store().len());
            // The tree grows on after pruning, and proves from the cut.
            let more = leaves(140);
            for l in &more[100..] {
                t.append(l).unwrap();
            }
            let p = t.consistency_proof(cut, 140).unwrap();
            verify_consistency(cut, 140, &p, &root_of(&ls[..cut as usize]), &root_of(&more)).unwrap();
        }
    }

    #[test]
    fn open_drops_nodes_beyond_the_state_and_refuses_a_bad_store() {
        let ls = leaves(20);
        let t = tree(&ls);
        let at13 = t.range_at(13).unwrap();
        let (_, store) = t.into_parts();
        // The store ran ahead of the state (a crash between the two writes).
        let mut t = Tree::open(at13.clone(), store).unwrap();
        assert_eq!(t.size(), 13);
        assert_eq!(t.root(), root_of(&ls[..13]));
        t.append(&ls[13]).unwrap();
        assert_eq!(t.root(), root_of(&ls[..14]));
        // A store that lacks or contradicts the state's nodes.
        assert_eq!(
            Tree::open(at13.clone(), MemoryStore::new()).unwrap_err(),
            TreeError::MissingNode(NodeId::new(3, 0))
        );
        let other = tree(&leaves(21)[1..]);
        let (_, store) = other.into_parts();
        assert_eq!(Tree::open(at13, store).unwrap_err(), TreeError::Diverges(NodeId::new(3, 0)));
        assert!(matches!(Tree::open(CompactRange::new(3), MemoryStore::new()), Err(TreeError::Range(_))));
    }

    #[test]
    fn sizes_beyond_the_tree_are_refused() {
        let t = tree(&leaves(5));
        assert_eq!(t.root_at(6), Err(TreeError::SizeBeyondTree { size: 6, tree_size: 5 }));
        assert_eq!(t.inclusion_proof(5, 5), Err(TreeError::IndexBeyondSize { index: 5, size: 5 }));
        assert_eq!(t.consistency_proof(0, 5), Err(TreeError::FromEmptyTree));
        assert_eq!(t.consistency_proof(4, 3), Err(TreeError::SizeDecreases { size1: 4, size2: 3 }));
        assert_eq!(t.consistency_proof(5, 5).unwrap(), Vec::<Hash>::new());
        assert_eq!(t.leaf(2).unwrap(), leaves(5)[2]);
        assert_eq!(tree(&[]).root(), crate::core::merkle::EMPTY_ROOT);
    }

    /// A store whose medium fails after a number of writes.
    struct Failing {
        inner: MemoryStore,
        writes_left: usize,
    }

    impl NodeReader for Failing {
        fn get(&self, id: NodeId) -> Result<Option<Hash>, StoreError> {
            self.inner.get(id)
        }
    }

    impl NodeStore for Failing {
        fn put(&mut self, id: NodeId, hash: &Hash) -> Result<(), StoreError> {
            if self.writes_left == 0 {
                return Err(StoreError::Backend("disk full".into()));
            }
            self.writes_left -= 1;
            self.inner.put(id, hash)
        }
        fn kept_from(&self) -> u64 {
            self.inner.kept_from()
        }
        fn prune(&mut self, frontier: &CompactRange) -> Result<(), StoreError> {
            self.inner.prune(frontier)
        }
        fn truncate(&mut self, size: u64) -> Result<(), StoreError> {
            self.inner.truncate(size)
        }
    }

    #[test]
    fn a_failing_store_leaves_the_tree_unchanged() {
        let ls = leaves(8);
        // Leaves 0..3 take 1 + 2 + 1 = 4 writes; leaf 3 needs 3 more (leaf, level 1, level 2).
        let mut t = Tree::new(Failing { inner: MemoryStore::new(), writes_left: 5 }).unwrap();
        for l in &ls[..3] {
            t.append(l).unwrap();
        }
        assert_eq!(t.append(&ls[3]), Err(TreeError::Store(StoreError::Backend("disk full".into()))));
        assert_eq!(t.size(), 3);
        assert_eq!(t.root(), root_of(&ls[..3]));
        let (range, mut store) = t.into_parts();
        store.writes_left = 100;
        let mut t = Tree::open(range, store).unwrap();
        for l in &ls[3..] {
            t.append(l).unwrap();
        }
        assert_eq!(t.root(), root_of(&ls));
        assert_eq!(t.inclusion_proof(3, 8).unwrap(), tree(&ls).inclusion_proof(3, 8).unwrap());
    }
}
