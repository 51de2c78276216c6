//! RFC 6962 / RFC 9162 Merkle trees: the hashes, compact ranges (the
//! frontier a log keeps), proof generation over stored node hashes, and
//! proof verification.
//!
//! Leaf and node hashes are domain-separated SHA-256 (RFC 6962 §2.1):
//! `leaf = SHA-256(0x00 ‖ data)`, `node = SHA-256(0x01 ‖ left ‖ right)`; the
//! empty tree's root is `SHA-256("")`. A tree of `n` leaves is split at the
//! largest power of two smaller than `n`, so every complete subtree is a
//! node `(level, index)` covering leaves `[index·2^level, (index+1)·2^level)`
//! ([`NodeId`]).
//!
//! - [`hash`]: leaf and node hashes, the reference root of a list of leaves.
//! - [`compact`]: [`CompactRange`], the O(log n) hashes that let a log append
//!   leaves and compute its root; serialisable for durable state.
//! - [`store`]: [`NodeStore`], where complete node hashes are kept for proofs
//!   (in memory: [`MemoryStore`]), prunable below a size.
//! - [`prove`]: inclusion and consistency proofs from a store (RFC 9162
//!   §2.1.3.1, §2.1.4.1).
//! - [`verify`]: checking them (RFC 9162 §2.1.3.2, §2.1.4.2), after
//!   transparency-dev/merkle's proof/verify.go.
//! - [`tree`]: [`Tree`], a compact range and a store kept in step: every
//!   proof of a tree held whole (a verifier's, a prover's).
//! - [`extension`]: [`Extension`], what a log keeps to prove consistency
//!   from one older size to its current one in O(log n) hashes: what the
//!   engine holds per witness, instead of a node store.

pub mod compact;
pub mod error;
pub mod extension;
pub mod hash;
pub mod node;
pub mod prove;
pub mod store;
pub mod tree;
pub mod verify;

pub use compact::CompactRange;
pub use error::{ProofError, RangeError, StoreError, TreeError};
pub use extension::Extension;
pub use hash::{EMPTY_ROOT, leaf_hash, node_hash, root_of};
pub use node::NodeId;
pub use store::{MemoryStore, NodeReader, NodeStore};
pub use tree::Tree;
pub use verify::{root_from_consistency_proof, root_from_inclusion_proof, verify_consistency, verify_inclusion};

/// A SHA-256 hash: every leaf, node and root.
pub type Hash = crate::core::chain::Hash;
