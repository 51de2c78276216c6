//! What the checker says about each record and what it reports besides
//! (SPEC §12). The numeric values cross the C ABI: they never change
//! meaning, new ones are appended.

/// A record's outcome.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Outcome {
    /// The record's link recomputes from its content and continues the
    /// stream's chain (and, for a checkpoint, its note checks out).
    Ok = 0,
    /// An identical copy of a record already checked.
    Duplicate = 1,
    /// Its predecessor has not arrived: held (within `reorder_window`) and
    /// judged when it arrives or when the window passes (an event then).
    Held = 2,
    /// The record fails; the reason says why.
    Failed = 3,
}

impl Outcome {
    pub const fn name(self) -> &'static str {
        match self {
            Outcome::Ok => "ok",
            Outcome::Duplicate => "duplicate",
            Outcome::Held => "held",
            Outcome::Failed => "failed",
        }
    }
}

/// Why a record failed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Reason {
    #[default]
    None = 0,
    /// No canonical form (§2).
    UnreadableRecord = 1,
    /// No stamp at all.
    Unstamped = 2,
    /// A stamp that is not one (§8.0).
    MalformedStamp = 3,
    /// The link does not recompute from the record's content and stamp:
    /// edited, moved or relabelled (§8 rule 1).
    ContentMismatch = 4,
    /// The previous link it names is not its predecessor's link (rule 4).
    BrokenLink = 5,
    /// Record 1 names a previous link or is no `start` record (rule 4).
    BadGenesis = 6,
    /// Another record with the same number was already checked (rule 2).
    ConflictingCopy = 7,
    /// Its predecessor never arrived within the window: its link (a
    /// compact stamp's) cannot be checked (rule 4, §4.1.1).
    UncheckedRecord = 8,
    /// A number already passed that is older than the remembered window.
    OutOfWindow = 9,
    /// A checkpoint whose note is not signed by a given key, or not of the
    /// stream (rule 7).
    BadCheckpoint = 10,
    /// A checkpoint whose size or root does not match the chain (rule 7).
    CheckpointMismatch = 11,
    /// A checkpoint signed by no given public key (rule 7).
    UnknownSigner = 12,
    /// A keyed record the checker has no key for (rule 1).
    KeyRequired = 13,
    /// A record of another algorithm than its stream's (rule 1).
    Downgrade = 14,
    /// An epoch the stream cannot have reached (rule 5).
    KeyEpochOutOfOrder = 15,
    /// An unkeyed stream while a chain key is configured (rule 10).
    UnkeyedStream = 16,
    /// More streams than `max_streams`.
    StreamLimit = 17,
}

impl Reason {
    pub const ALL: [Reason; 18] = [
        Reason::None,
        Reason::UnreadableRecord,
        Reason::Unstamped,
        Reason::MalformedStamp,
        Reason::ContentMismatch,
        Reason::BrokenLink,
        Reason::BadGenesis,
        Reason::ConflictingCopy,
        Reason::UncheckedRecord,
        Reason::OutOfWindow,
        Reason::BadCheckpoint,
        Reason::CheckpointMismatch,
        Reason::UnknownSigner,
        Reason::KeyRequired,
        Reason::Downgrade,
        Reason::KeyEpochOutOfOrder,
        Reason::UnkeyedStream,
        Reason::StreamLimit,
    ];

    pub const fn name(self) -> &'static str {
        match self {
            Reason::None => "",
            Reason::UnreadableRecord => "unreadable_record",
            Reason::Unstamped => "unstamped",
            Reason::MalformedStamp => "malformed_stamp",
            Reason::ContentMismatch => "content_mismatch",
            Reason::BrokenLink => "broken_link",
            Reason::BadGenesis => "bad_genesis",
            Reason::ConflictingCopy => "conflicting_copy",
            Reason::UncheckedRecord => "unchecked_record",
            Reason::OutOfWindow => "out_of_window",
            Reason::BadCheckpoint => "bad_checkpoint",
            Reason::CheckpointMismatch => "checkpoint_mismatch",
            Reason::UnknownSigner => "unknown_signer",
            Reason::KeyRequired => "key_required",
            Reason::Downgrade => "downgrade",
            Reason::KeyEpochOutOfOrder => "key_epoch_out_of_order",
            Reason::UnkeyedStream => "unkeyed_stream",
            Reason::StreamLimit => "stream_limit",
        }
    }

    pub fn from_u32(v: u32) -> Option<Reason> {
        Reason::ALL.get(v as usize).copied()
    }
}

/// What an event reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EventKind {
    /// A record held earlier (forwarded as held) was judged: `sequence`,
    /// `outcome`, `reason`.
    Resolved = 1,
    /// Records `sequence` .. `sequence + count - 1` never arrived within the
    /// reorder window (deleted, or lost before the gateway).
    Missing = 2,
    /// The stream's newest checkpoint is older than its interval plus the
    /// grace (`heartbeat_grace`): the stream went silent (rule 8).
    Silent = 3,
    /// A checkpoint was verified (`sequence`: its carrier).
    Checkpoint = 4,
}

/// Something the checker reports besides the verdict of a record of the
/// batch.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Event {
    pub kind: EventKind,
    pub stream_id: String,
    pub sequence: u64,
    pub count: u64,
    pub outcome: Outcome,
    pub reason: Reason,
    pub message: String,
}

/// The result of one batch (or tick): one verdict per record, in request
/// order, and the events.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Verdicts {
    pub records: Vec<(Outcome, Reason)>,
    pub events: Vec<Event>,
}
