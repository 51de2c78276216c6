//! Proof generation from stored node hashes: RFC 9162 §2.1.3.1 (PATH, the
//! inclusion proof) and §2.1.4.1 (SUBPROOF, the consistency proof), walked
//! from the root down. Every subtree hash they name is the fold of at most
//! log n stored complete nodes, so a proof costs O(log² n) store reads in
//! the worst case and O(log n) hashes to send.
//!
//! These functions check their arguments against each other, not against
//! the tree's size: [`Tree`](super::Tree) does that, and reports sizes the
//! store was pruned below.

use super::Hash;
use super::compact::fold_right;
use super::error::TreeError;
use super::hash::split;
use super::node::decompose;
use super::store::NodeReader;

/// MTH(D[begin:end]) from stored nodes. Precondition: `begin` is a
/// multiple of the smallest power of two >= `end - begin` (every range
/// the RFC's recursion visits is), so the covering nodes shrink left to
/// right and fold into the subtree's hash.
pub fn subtree_hash(store: &impl NodeReader, begin: u64, end: u64) -> Result<Hash, TreeError> {
    let nodes = decompose(begin, end);
    debug_assert!(nodes.windows(2).all(|w| w[0].level > w[1].level), "{begin}..{end} is not left-aligned");
    let hashes =
        nodes.into_iter().map(|id| store.get(id)?.ok_or(TreeError::MissingNode(id))).collect::<Result<Vec<_>, _>>()?;
    Ok(fold_right(&hashes))
}

/// The root of the tree of the first `size` leaves.
pub fn root_at(store: &impl NodeReader, size: u64) -> Result<Hash, TreeError> {
    subtree_hash(store, 0, size)
}

/// The inclusion proof of leaf `index` in the tree of `size` leaves, from
/// the leaf's sibling up to the root's child. Precondition: the store holds
/// the tree of `size` leaves.
pub fn inclusion_proof(store: &impl NodeReader, index: u64, size: u64) -> Result<Vec<Hash>, TreeError> {
    if index >= size {
        return Err(TreeError::IndexBeyondSize { index, size });
    }
    let (mut begin, mut end) = (0, size);
    let mut proof = Vec::new();
    while end - begin > 1 {
        let k = split(end - begin);
        if index - begin < k {
            proof.push(subtree_hash(store, begin + k, end)?);
            end = begin + k;
        } else {
            proof.push(subtree_hash(store, begin, begin + k)?);
            begin += k;
        }
    }
    proof.reverse();
    Ok(proof)
}

/// The consistency proof from the tree of `size1` leaves to the tree of
/// `size2` leaves (empty when they are equal). Preconditions: `0 < size1
/// <= size2`, and the store holds the tree of `size2` leaves.
pub fn consistency_proof(store: &impl NodeReader, size1: u64, size2: u64) -> Result<Vec<Hash>, TreeError> {
    if size1 > size2 {
        return Err(TreeError::SizeDecreases { size1, size2 });
    }
    if size1 == 0 {
        return Err(TreeError::FromEmptyTree);
    }
    // SUBPROOF(m, D[begin:end], b): `whole` is b, "the old tree is this
    // very subtree", whose hash the verifier already has.
    let (mut begin, mut end, mut m, mut whole) = (0, size2, size1, true);
    let mut proof = Vec::new();
    loop {
        let n = end - begin;
        if m == n {
            if !whole {
                proof.push(subtree_hash(store, begin, end)?);
            }
            break;
        }
        let k = split(n);
        if m <= k {
            proof.push(subtree_hash(store, begin + k, end)?);
            end = begin + k;
        } else {
            proof.push(subtree_hash(store, begin, begin + k)?);
            begin += k;
            m -= k;
            whole = false;
        }
    }
    proof.reverse();
    Ok(proof)
}
