//! Proof verification, after transparency-dev/merkle's proof/verify.go
//! (RFC 9162 §2.1.3.2 and §2.1.4.2 by bit arithmetic on the leaf index):
//! an inclusion or consistency proof is decomposed into its "inner" part,
//! below the level where the paths to the proven leaf and to the tree's
//! last leaf diverge, and its "border" part, the left siblings above it.
//!
//! Every size and index is accepted as input (they come from files and
//! witnesses): no arithmetic here can overflow or panic, and a proof that
//! does not verify is always an `Err`.

use super::Hash;
use super::error::ProofError;
use super::hash::node_hash;

/// Checks that `leaf` (a leaf hash) is leaf `index` of the tree of `size`
/// leaves whose root is `root`. Requires `index < size`.
pub fn verify_inclusion(index: u64, size: u64, leaf: &Hash, proof: &[Hash], root: &Hash) -> Result<(), ProofError> {
    let calculated = root_from_inclusion_proof(index, size, leaf, proof)?;
    matches(root, calculated)
}

/// The root an inclusion proof leads to. Requires `index < size`.
pub fn root_from_inclusion_proof(index: u64, size: u64, leaf: &Hash, proof: &[Hash]) -> Result<Hash, ProofError> {
    if index >= size {
        return Err(ProofError::IndexBeyondSize { index, size });
    }
    let (inner, border) = decompose_inclusion(index, size);
    if proof.len() != inner + border {
        return Err(ProofError::WrongLength { got: proof.len(), want: inner + border });
    }
    let h = chain_inner(*leaf, &proof[..inner], index);
    Ok(chain_border_right(h, &proof[inner..]))
}

/// Checks that the tree of `size2` leaves with root `root2` extends the
/// tree of `size1` leaves with root `root1`. Requires `0 < size1 <= size2`;
/// equal sizes take an empty proof and equal roots.
pub fn verify_consistency(
    size1: u64,
    size2: u64,
    proof: &[Hash],
    root1: &Hash,
    root2: &Hash,
) -> Result<(), ProofError> {
    let calculated = root_from_consistency_proof(size1, size2, proof, root1)?;
    matches(root2, calculated)
}

/// The second root a consistency proof leads to, having checked that it
/// also leads to `root1`. Requires `0 < size1 <= size2`.
pub fn root_from_consistency_proof(size1: u64, size2: u64, proof: &[Hash], root1: &Hash) -> Result<Hash, ProofError> {
    if size2 < size1 {
        return Err(ProofError::SizeDecreases { size1, size2 });
    }
    if size1 == 0 {
        return Err(ProofError::FromEmptyTree);
    }
    if size1 == size2 {
        return if proof.is_empty() { Ok(*root1) } else { Err(ProofError::UnexpectedProof { len: proof.len() }) };
    }
    if proof.is_empty() {
        return Err(ProofError::EmptyProof);
    }
    // The paths to leaves size1-1 and size2-1 diverge at `inner`.
    let (inner, border) = decompose_inclusion(size1 - 1, size2);
    // The old tree's rightmost complete subtree, at level `shift`: the proof
    // starts from it, or from root1 itself when the old tree is complete.
    let shift = (size1.trailing_zeros() as usize).min(inner);
    let inner = inner - shift;
    let (seed, rest) = if size1 == 1 << shift { (*root1, proof) } else { (proof[0], &proof[1..]) };
    if rest.len() != inner + border {
        let want = inner + border + usize::from(size1 != 1 << shift);
        return Err(ProofError::WrongLength { got: proof.len(), want });
    }
    let mask = (size1 - 1) >> shift;
    let old = chain_border_right(chain_inner_right(seed, &rest[..inner], mask), &rest[inner..]);
    if old != *root1 {
        return Err(ProofError::OldRootMismatch { expected: *root1, calculated: old });
    }
    Ok(chain_border_right(chain_inner(seed, &rest[..inner], mask), &rest[inner..]))
}

fn matches(expected: &Hash, calculated: Hash) -> Result<(), ProofError> {
    if calculated == *expected { Ok(()) } else { Err(ProofError::RootMismatch { expected: *expected, calculated }) }
}

/// Lengths of the inner and border parts of the inclusion proof of leaf
/// `index` in a tree of `size` leaves. Precondition: `index < size`.
fn decompose_inclusion(index: u64, size: u64) -> (usize, usize) {
    let inner = (64 - (index ^ (size - 1)).leading_zeros()) as usize;
    let border = shr(index, inner).count_ones() as usize;
    (inner, border)
}

/// `x >> n`, 0 for n >= 64.
fn shr(x: u64, n: usize) -> u64 {
    u32::try_from(n).ok().and_then(|n| x.checked_shr(n)).unwrap_or(0)
}

/// The hash of the node on or below the tree's right border that `seed`
/// (the node at `index` on its level) rises to, with proof hashes ordered
/// from lower levels up: left or right sibling by the index's bits.
fn chain_inner(seed: Hash, proof: &[Hash], index: u64) -> Hash {
    proof.iter().enumerate().fold(
        seed,
        |acc, (i, h)| {
            if shr(index, i) & 1 == 0 { node_hash(&acc, h) } else { node_hash(h, &acc) }
        },
    )
}

/// Like [`chain_inner`], using only the left siblings: the hash of the
/// same subtree as it was in the older tree.
fn chain_inner_right(seed: Hash, proof: &[Hash], index: u64) -> Hash {
    proof.iter().enumerate().fold(seed, |acc, (i, h)| if shr(index, i) & 1 == 1 { node_hash(h, &acc) } else { acc })
}

/// Chains left siblings along the right border up to the root.
fn chain_border_right(seed: Hash, proof: &[Hash]) -> Hash {
    proof.iter().fold(seed, |acc, h| node_hash(h, &acc))
}
