//! Where complete node hashes are kept for proofs.
//!
//! A compact range alone proves nothing to a party that holds an older
//! tree: an inclusion or consistency proof names nodes anywhere left of the
//! tree's edge. A [`NodeStore`] keeps the complete nodes a tree reported
//! while it grew (level by level, in index order, as in tlog-tiles), and
//! can forget what proofs from sizes below a bound no longer need:
//!
//! *Pruning at size m keeps every node that ends after m, plus the m-leaf
//! tree's compact range.* That is exactly what inclusion proofs of leaves
//! `>= m` and consistency proofs from sizes `>= m` (to any later size) use:
//! their left siblings belong to the compact range of the size or index
//! proven from, whose nodes that end at or before m are nodes of the
//! compact range of m; every other node they use ends after m. So a log
//! keeps about 2·(n − m) hashes, where m is the smallest size a witness
//! it serves may still hold.
//!
//! [`MemoryStore`] is the in-memory store. A durable one (the engine's)
//! implements the same trait over files, e.g. one append-only file of
//! 32-byte hashes per level and span, dropped whole when pruned.

use super::Hash;
use super::compact::CompactRange;
use super::error::StoreError;
use super::node::NodeId;
use std::collections::{BTreeMap, VecDeque};

/// A fixed set of nodes (e.g. two compact ranges' nodes), read-only.
impl NodeReader for BTreeMap<NodeId, Hash> {
    fn get(&self, id: NodeId) -> Result<Option<Hash>, StoreError> {
        Ok(BTreeMap::get(self, &id).copied())
    }
}

/// Where proofs read complete node hashes from.
pub trait NodeReader {
    /// The hash of complete node `id`, or `None` when not held (never
    /// stored, pruned, or truncated away).
    fn get(&self, id: NodeId) -> Result<Option<Hash>, StoreError>;
}

/// Complete node hashes of one tree, kept as it grows.
pub trait NodeStore: NodeReader {
    /// Records a complete node. Precondition: the nodes of each level come
    /// in index order without holes, as [`CompactRange::append_visit`]
    /// reports them.
    fn put(&mut self, id: NodeId, hash: &Hash) -> Result<(), StoreError>;

    /// The smallest tree size proofs can be made from: 0 unless pruned.
    fn kept_from(&self) -> u64;

    /// Forgets what no proof from a size `>= frontier.end()` needs, keeping
    /// the nodes of `frontier`, the compact range of `[0, frontier.end())`
    /// (see the module documentation). Pruning below `kept_from` does
    /// nothing.
    fn prune(&mut self, frontier: &CompactRange) -> Result<(), StoreError>;

    /// Forgets every node that ends after leaf `size`: leaves the tree
    /// never issued (stored before a crash, before the state that counts
    /// them). Precondition: `size >= kept_from()`.
    fn truncate(&mut self, size: u64) -> Result<(), StoreError>;
}

/// A [`NodeStore`] in memory: per level, a run of consecutive nodes.
#[derive(Clone, Debug, Default)]
pub struct MemoryStore {
    levels: Vec<Level>,
    /// The compact range of `kept_from` (its nodes end at or before it).
    pinned: BTreeMap<NodeId, Hash>,
    kept_from: u64,
}

#[derive(Clone, Debug, Default)]
struct Level {
    /// Index of `hashes[0]`.
    first: u64,
    hashes: VecDeque<Hash>,
}

impl Level {
    fn next(&self) -> u64 {
        self.first + self.hashes.len() as u64
    }
}

impl MemoryStore {
    pub fn new() -> MemoryStore {
        MemoryStore::default()
    }

    /// Number of hashes held (for bounds and tests).
    pub fn len(&self) -> usize {
        self.pinned.len() + self.levels.iter().map(|l| l.hashes.len()).sum::<usize>()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Leaves the store holds nodes for: one past its last leaf.
    fn leaves(&self) -> u64 {
        self.levels.first().map_or(self.kept_from, Level::next)
    }
}

impl NodeReader for MemoryStore {
    fn get(&self, id: NodeId) -> Result<Option<Hash>, StoreError> {
        if let Some(h) = self.pinned.get(&id) {
            return Ok(Some(*h));
        }
        let Some(level) = self.levels.get(usize::from(id.level)) else { return Ok(None) };
        if id.index < level.first || id.index >= level.next() {
            return Ok(None);
        }
        Ok(level.hashes.get((id.index - level.first) as usize).copied())
    }
}

impl NodeStore for MemoryStore {
    fn put(&mut self, id: NodeId, hash: &Hash) -> Result<(), StoreError> {
        let at = usize::from(id.level);
        while self.levels.len() <= at {
            // A level first reached now starts where the pruned prefix ends.
            let first = self.kept_from >> self.levels.len();
            self.levels.push(Level { first, hashes: VecDeque::new() });
        }
        let level = &mut self.levels[at];
        if id.index != level.next() {
            return Err(StoreError::OutOfOrder { id, next: level.next() });
        }
        level.hashes.push_back(*hash);
        Ok(())
    }

    fn kept_from(&self) -> u64 {
        self.kept_from
    }

    fn prune(&mut self, frontier: &CompactRange) -> Result<(), StoreError> {
        let size = frontier.end();
        if frontier.begin() != 0 {
            return Err(StoreError::Backend(format!(
                "prune needs the compact range from leaf 0, not {}",
                frontier.begin()
            )));
        }
        if size <= self.kept_from {
            return Ok(());
        }
        if size > self.leaves() {
            return Err(StoreError::Backend(format!("prune at {size}, beyond the {} leaves held", self.leaves())));
        }
        for (l, level) in self.levels.iter_mut().enumerate() {
            let keep = size >> l;
            while level.first < keep && level.hashes.pop_front().is_some() {
                level.first += 1;
            }
            level.first = level.first.max(keep);
        }
        self.pinned = frontier.nodes().into_iter().zip(frontier.hashes().iter().copied()).collect();
        self.kept_from = size;
        Ok(())
    }

    fn truncate(&mut self, size: u64) -> Result<(), StoreError> {
        if size < self.kept_from {
            return Err(StoreError::Backend(format!("truncate at {size}, below the pruned size {}", self.kept_from)));
        }
        for (l, level) in self.levels.iter_mut().enumerate() {
            let keep = (size >> l).saturating_sub(level.first);
            level.hashes.truncate(keep as usize);
        }
        Ok(())
    }
}
