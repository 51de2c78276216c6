//! The transparency log of a processor instance, in the C2SP formats
//! (docs/SPEC.md §5.5; docs/MERKLE-NOTES.md says how the engine and the
//! verifier are to use it). Pure functions over bytes, no I/O: the HTTP
//! exchange with witnesses belongs to the caller (the Go shim), the
//! protocol's bytes and decisions live here.
//!
//! - [`leaf`]: the auditchain leaf (SPEC §5.5), recomputable from a record.
//! - [`checkpoint`]: C2SP tlog-checkpoint bodies, signed and opened as
//!   signed notes (with [`crate::core::note`]).
//! - [`vkey`]: signed-note verifier keys of any signature type.
//! - [`cosignature`]: C2SP tlog-cosignature v1 (Ed25519, type 0x04).
//! - [`policy`]: C2SP tlog-policy files: logs, witnesses, groups, quorum.
//! - [`proof`]: C2SP tlog-proof (`c2sp.org/tlog-proof@v1`).
//! - [`consistency`]: auditchain's consistency proof file (two checkpoints
//!   and the proof between them).
//! - [`witness`]: C2SP tlog-witness add-checkpoint requests and answers.

pub mod checkpoint;
pub mod consistency;
pub mod cosignature;
pub mod error;
pub mod leaf;
pub mod policy;
pub mod proof;
pub mod vkey;
pub mod witness;

pub use checkpoint::{Checkpoint, SignedCheckpoint};
pub use consistency::ConsistencyProof;
pub use cosignature::{CosignatureSigner, CosignatureVerifier};
pub use error::{
    CheckpointError, CosignatureError, PolicyError, PolicyErrorKind, ProofFormatError, VkeyError, WitnessError,
};
pub use leaf::Leaf;
pub use policy::{Policy, Verdict};
pub use proof::TlogProof;
pub use vkey::VerifierKey;
pub use witness::{AddCheckpoint, Answer, Resync, cosign, on_conflict, parse_answer};
