//! The typed errors of the tlog formats. Each names what is wrong with the
//! bytes; none of them can be mistaken for a pass.

use crate::core::merkle::ProofError;
use std::fmt;

/// A malformed or unusable verifier key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum VkeyError {
    /// Not `<name>+<8 hex digits>+<base64>`.
    Malformed,
    /// A key name must be non-empty, without spaces or '+'.
    BadName(String),
    NotBase64,
    /// The key ID does not match the name and key.
    KeyIdMismatch,
    /// A key of another signature type than the role needs.
    WrongType {
        want: u8,
        got: u8,
    },
    /// Not a valid Ed25519 public key.
    BadKey,
}

impl fmt::Display for VkeyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            VkeyError::Malformed => write!(f, "not a verifier key (expected <name>+<8 hex digits>+<base64 key>)"),
            VkeyError::BadName(n) => write!(f, "invalid key name {n:?}: use no spaces and no '+'"),
            VkeyError::NotBase64 => write!(f, "verifier key data is not base64"),
            VkeyError::KeyIdMismatch => write!(f, "verifier key ID does not match its name and key"),
            VkeyError::WrongType { want, got } => {
                write!(f, "verifier key has signature type 0x{got:02x}, this role needs 0x{want:02x}")
            }
            VkeyError::BadKey => write!(f, "verifier key is not a valid Ed25519 public key"),
        }
    }
}

impl std::error::Error for VkeyError {}

/// A checkpoint body or signed checkpoint that cannot be used.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CheckpointError {
    /// The body must be newline-terminated lines.
    NotLines,
    /// Origin, size and root are required.
    TooFewLines,
    NoOrigin,
    /// Size: ASCII decimal without leading zeros.
    BadSize,
    /// Root: standard base64 of 32 bytes.
    BadRoot,
    /// Extension lines must not be empty.
    EmptyExtension,
    /// The signed note does not parse (its own message).
    Note(String),
    /// More signature lines than a verifier reads.
    TooManySignatures(usize),
    /// No signature by a given log key.
    NoLogSignature,
    /// A line names a given log key but its signature does not verify.
    BadLogSignature(String),
}

impl fmt::Display for CheckpointError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CheckpointError::NotLines => write!(f, "checkpoint must be newline-terminated lines"),
            CheckpointError::TooFewLines => write!(f, "checkpoint needs an origin, a size and a root line"),
            CheckpointError::NoOrigin => write!(f, "checkpoint origin line is empty"),
            CheckpointError::BadSize => write!(f, "checkpoint size is not a decimal number without leading zeros"),
            CheckpointError::BadRoot => write!(f, "checkpoint root is not base64 of a 32-byte hash"),
            CheckpointError::EmptyExtension => write!(f, "checkpoint has an empty extension line"),
            CheckpointError::Note(m) => write!(f, "checkpoint note: {m}"),
            CheckpointError::TooManySignatures(n) => write!(f, "checkpoint note has {n} signature lines, too many"),
            CheckpointError::NoLogSignature => write!(f, "checkpoint is not signed by a known log key"),
            CheckpointError::BadLogSignature(k) => write!(f, "checkpoint signature by log key {k} does not verify"),
        }
    }
}

impl std::error::Error for CheckpointError {}

/// Why a cosignature line does not count.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CosignatureError {
    /// The line's key name or ID is not this witness's.
    OtherKey,
    /// A cosignature is 8 bytes of timestamp and 64 of signature.
    BadLength(usize),
    /// The timestamp must be set (tlog-witness) and at most 2^63 − 1.
    BadTimestamp(u64),
    BadSignature,
}

impl fmt::Display for CosignatureError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CosignatureError::OtherKey => write!(f, "cosignature is by another key"),
            CosignatureError::BadLength(n) => write!(f, "cosignature has {n} bytes, want 72 (timestamp, Ed25519)"),
            CosignatureError::BadTimestamp(t) => write!(f, "cosignature timestamp {t} is 0 or above 2^63-1"),
            CosignatureError::BadSignature => write!(f, "cosignature does not verify"),
        }
    }
}

impl std::error::Error for CosignatureError {}

/// What is wrong with a policy file, and on which line (1-based).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PolicyError {
    pub line: usize,
    pub kind: PolicyErrorKind,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PolicyErrorKind {
    /// Only tab, newline, 0x20–0x7E and bytes >= 0x80 are allowed.
    BadCharacter(u8),
    UnknownKeyword(String),
    /// Too few or too many items on the line.
    Arity,
    Vkey(VkeyError),
    /// A log needs an Ed25519 note key (0x01), a witness an Ed25519
    /// cosignature key (0x04); others (ML-DSA-44) are not supported.
    UnsupportedKeyType(u8),
    /// Two logs, or two witnesses, with the same public key.
    DuplicateKey,
    /// A witness or group name defined twice, or the reserved `none`.
    DuplicateName(String),
    /// A name used before it is defined.
    UnknownName(String),
    /// A group lists a member twice, or `none`.
    BadMember(String),
    /// Threshold: `all`, `any` or a decimal 1 <= k <= members.
    BadThreshold(String),
    /// Exactly one quorum line.
    SecondQuorum,
    NoQuorum,
}

impl fmt::Display for PolicyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "policy line {}: ", self.line)?;
        match &self.kind {
            PolicyErrorKind::BadCharacter(b) => write!(f, "control character 0x{b:02x}"),
            PolicyErrorKind::UnknownKeyword(k) => write!(f, "unknown keyword {k:?} (log, witness, group, quorum)"),
            PolicyErrorKind::Arity => write!(f, "wrong number of items"),
            PolicyErrorKind::Vkey(e) => e.fmt(f),
            PolicyErrorKind::UnsupportedKeyType(t) => write!(f, "unsupported key type 0x{t:02x}"),
            PolicyErrorKind::DuplicateKey => write!(f, "this public key is listed twice"),
            PolicyErrorKind::DuplicateName(n) => write!(f, "name {n:?} is already defined (or reserved)"),
            PolicyErrorKind::UnknownName(n) => write!(f, "name {n:?} is not defined on a line before"),
            PolicyErrorKind::BadMember(n) => write!(f, "group member {n:?} is listed twice or reserved"),
            PolicyErrorKind::BadThreshold(t) => write!(f, "threshold {t:?} is not all, any or 1..=members"),
            PolicyErrorKind::SecondQuorum => write!(f, "a second quorum line"),
            PolicyErrorKind::NoQuorum => write!(f, "no quorum line"),
        }
    }
}

impl std::error::Error for PolicyError {}

/// A malformed tlog-proof, or one that does not verify.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ProofFormatError {
    /// The first line must be `c2sp.org/tlog-proof@v1`.
    BadHeader,
    BadExtra,
    /// `index <decimal without leading zeros>`.
    BadIndex,
    /// A proof line (1-based line number) that is not base64 of 32 bytes.
    BadHash(usize),
    /// More hashes than a tree of 2^64 leaves needs.
    TooManyHashes,
    /// No empty line before the checkpoint.
    NoCheckpoint,
    Checkpoint(CheckpointError),
    /// A cosignature line of a policy witness's key that does not verify.
    BadCosignature(String),
    /// The policy's quorum of cosignatures is not met.
    NoQuorum,
    Inclusion(ProofError),
}

impl fmt::Display for ProofFormatError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ProofFormatError::BadHeader => write!(f, "not a tlog proof (first line must be c2sp.org/tlog-proof@v1)"),
            ProofFormatError::BadExtra => write!(f, "tlog proof extra line is not base64"),
            ProofFormatError::BadIndex => write!(f, "tlog proof has no valid index line"),
            ProofFormatError::BadHash(l) => write!(f, "tlog proof line {l} is not base64 of a 32-byte hash"),
            ProofFormatError::TooManyHashes => write!(f, "tlog proof has more than 64 inclusion hashes"),
            ProofFormatError::NoCheckpoint => write!(f, "tlog proof has no empty line and checkpoint"),
            ProofFormatError::Checkpoint(e) => e.fmt(f),
            ProofFormatError::BadCosignature(m) => write!(f, "bad cosignature: {m}"),
            ProofFormatError::NoQuorum => write!(f, "the checkpoint lacks the witness quorum of the policy"),
            ProofFormatError::Inclusion(e) => write!(f, "inclusion proof: {e}"),
        }
    }
}

impl std::error::Error for ProofFormatError {}

/// An add-checkpoint request that must not be sent, or an answer that
/// does not follow tlog-witness.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum WitnessError {
    /// The old size exceeds the checkpoint's.
    OldBeyondSize {
        old: u64,
        size: u64,
    },
    /// No proof goes with old size 0 or with the checkpoint's own size.
    UnexpectedProof,
    /// A proof is needed from 0 < old < size.
    MissingProof,
    /// Clients send at most 63 proof lines.
    TooManyProofLines(usize),
    Checkpoint(CheckpointError),
    /// A request body that does not parse.
    BadRequest(&'static str),
    /// A 200 whose body is not signature lines.
    BadCosignatures(String),
    /// A 409 without a `text/x.tlog.size` body of a decimal and a newline.
    BadConflict,
    /// An answer body larger than any witness sends.
    TooLarge(usize),
}

impl fmt::Display for WitnessError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WitnessError::OldBeyondSize { old, size } => write!(f, "old size {old} exceeds the checkpoint size {size}"),
            WitnessError::UnexpectedProof => write!(f, "no consistency proof goes with old size 0 or the same size"),
            WitnessError::MissingProof => write!(f, "a consistency proof is needed from the old size"),
            WitnessError::TooManyProofLines(n) => write!(f, "{n} consistency proof lines, at most 63 may be sent"),
            WitnessError::Checkpoint(e) => e.fmt(f),
            WitnessError::BadRequest(m) => write!(f, "add-checkpoint body: {m}"),
            WitnessError::BadCosignatures(m) => write!(f, "witness answered 200 without cosignature lines: {m}"),
            WitnessError::BadConflict => write!(f, "witness answered 409 without a text/x.tlog.size body"),
            WitnessError::TooLarge(n) => write!(f, "witness answer of {n} bytes is too large"),
        }
    }
}

impl std::error::Error for WitnessError {}

impl From<CheckpointError> for WitnessError {
    fn from(e: CheckpointError) -> WitnessError {
        WitnessError::Checkpoint(e)
    }
}

impl From<CheckpointError> for ProofFormatError {
    fn from(e: CheckpointError) -> ProofFormatError {
        ProofFormatError::Checkpoint(e)
    }
}
