//! The typed errors of the Merkle module: why a proof fails to verify
//! ([`ProofError`]), why a compact range cannot be built or grown
//! ([`RangeError`]), what a node store reports ([`StoreError`]), and why a
//! tree cannot give a proof ([`TreeError`]).

use super::{Hash, NodeId};
use crate::core::hex::to_hex;
use std::fmt;

/// Why an inclusion or consistency proof does not verify. Every variant is
/// a failure: no input makes a verification pass by erring.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ProofError {
    /// Inclusion: the leaf index is not below the tree size.
    IndexBeyondSize { index: u64, size: u64 },
    /// Consistency: the second tree is smaller than the first.
    SizeDecreases { size1: u64, size2: u64 },
    /// Consistency from the empty tree, which RFC 6962 leaves undefined
    /// (every tree extends it). A protocol that accepts it, as tlog-witness
    /// does for `old 0`, decides so before calling.
    FromEmptyTree,
    /// Consistency between equal sizes takes an empty proof.
    UnexpectedProof { len: usize },
    /// Consistency between different sizes needs a proof.
    EmptyProof,
    /// The proof does not have the length the sizes and index dictate.
    WrongLength { got: usize, want: usize },
    /// Consistency: the proof does not lead to the first tree's root.
    OldRootMismatch { expected: Hash, calculated: Hash },
    /// The proof leads to another root than the one given.
    RootMismatch { expected: Hash, calculated: Hash },
}

impl fmt::Display for ProofError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ProofError::IndexBeyondSize { index, size } => {
                write!(f, "leaf index {index} is not below tree size {size}")
            }
            ProofError::SizeDecreases { size1, size2 } => write!(f, "tree size {size2} is smaller than {size1}"),
            ProofError::FromEmptyTree => write!(f, "a consistency proof from the empty tree is meaningless"),
            ProofError::UnexpectedProof { len } => {
                write!(f, "equal tree sizes take an empty consistency proof, got {len} hashes")
            }
            ProofError::EmptyProof => write!(f, "empty consistency proof between different tree sizes"),
            ProofError::WrongLength { got, want } => write!(f, "proof has {got} hashes, want {want}"),
            ProofError::OldRootMismatch { expected, calculated } => {
                write!(f, "consistency proof gives old root {}, expected {}", to_hex(calculated), to_hex(expected))
            }
            ProofError::RootMismatch { expected, calculated } => {
                write!(f, "proof gives root {}, expected {}", to_hex(calculated), to_hex(expected))
            }
        }
    }
}

impl std::error::Error for ProofError {}

/// Why a compact range cannot be built, grown or rooted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RangeError {
    /// `end` is below `begin`.
    Reversed { begin: u64, end: u64 },
    /// A range `[begin, end)` has exactly one hash per node of its
    /// decomposition.
    WrongHashCount { begin: u64, end: u64, got: usize, want: usize },
    /// Merging needs the right range to start where the left one ends.
    NotAdjacent { end: u64, next_begin: u64 },
    /// Only a range starting at leaf 0 has a tree root.
    NotAPrefix { begin: u64 },
    /// No range grows past u64::MAX leaves.
    Full,
}

impl fmt::Display for RangeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RangeError::Reversed { begin, end } => write!(f, "compact range ends ({end}) before it begins ({begin})"),
            RangeError::WrongHashCount { begin, end, got, want } => {
                write!(f, "compact range {begin}..{end} needs {want} hashes, got {got}")
            }
            RangeError::NotAdjacent { end, next_begin } => {
                write!(f, "cannot append a range starting at {next_begin} to one ending at {end}")
            }
            RangeError::NotAPrefix { begin } => {
                write!(f, "compact range starts at {begin}, not 0: it has no tree root")
            }
            RangeError::Full => write!(f, "the tree is full (u64::MAX leaves)"),
        }
    }
}

impl std::error::Error for RangeError {}

/// What a node store reports.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StoreError {
    /// Nodes of a level are stored in order, without holes.
    OutOfOrder { id: NodeId, next: u64 },
    /// The store's medium failed (I/O, corruption), in its own words.
    Backend(String),
}

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StoreError::OutOfOrder { id, next } => {
                write!(f, "{id} stored out of order: the next node of level {} is {next}", id.level)
            }
            StoreError::Backend(m) => write!(f, "node store: {m}"),
        }
    }
}

impl std::error::Error for StoreError {}

/// Why a tree cannot give a root or a proof, or cannot be opened.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TreeError {
    /// Inclusion: the leaf index is not below the size asked for.
    IndexBeyondSize {
        index: u64,
        size: u64,
    },
    /// A size beyond the leaves the tree holds.
    SizeBeyondTree {
        size: u64,
        tree_size: u64,
    },
    /// Consistency: the second size is smaller than the first.
    SizeDecreases {
        size1: u64,
        size2: u64,
    },
    /// Consistency from size 0 (see [`ProofError::FromEmptyTree`]).
    FromEmptyTree,
    /// The store was pruned: it proves only from `kept_from` on.
    Pruned {
        asked: u64,
        kept_from: u64,
    },
    /// The store lacks a node it should hold (lost or never written).
    MissingNode(NodeId),
    /// The store's hash of a node differs from the compact range's.
    Diverges(NodeId),
    Range(RangeError),
    Store(StoreError),
}

impl fmt::Display for TreeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TreeError::IndexBeyondSize { index, size } => write!(f, "leaf index {index} is not below tree size {size}"),
            TreeError::SizeBeyondTree { size, tree_size } => {
                write!(f, "tree size {size} asked of a tree of {tree_size} leaves")
            }
            TreeError::SizeDecreases { size1, size2 } => write!(f, "tree size {size2} is smaller than {size1}"),
            TreeError::FromEmptyTree => write!(f, "a consistency proof from the empty tree is meaningless"),
            TreeError::Pruned { asked, kept_from } => {
                write!(
                    f,
                    "proof from {asked} asked, but the node store keeps only what proofs from {kept_from} on need"
                )
            }
            TreeError::MissingNode(id) => write!(f, "the node store lacks {id}"),
            TreeError::Diverges(id) => write!(f, "the node store's hash of {id} differs from the compact range's"),
            TreeError::Range(e) => e.fmt(f),
            TreeError::Store(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for TreeError {}

impl From<RangeError> for TreeError {
    fn from(e: RangeError) -> TreeError {
        TreeError::Range(e)
    }
}

impl From<StoreError> for TreeError {
    fn from(e: StoreError) -> TreeError {
        TreeError::Store(e)
    }
}
