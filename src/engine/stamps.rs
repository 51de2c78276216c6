//! What a stamping call returns: the link issued for every record of the
//! batch, and the records the engine emits itself with their links. How
//! the links become attributes is [`crate::core::stamp`]'s business; how
//! they cross the C ABI is `ffi::stamps`'.

use crate::core::canonical::Signal;
use crate::core::chain::{Algorithm, Hash};
use crate::core::stamp::{Stamp, StampForm};

/// One link the engine issued.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Issued {
    pub sequence: u64,
    pub previous: Option<Hash>,
    pub value: Hash,
    /// The key epoch of a keyed chain.
    pub key_epoch: Option<u64>,
    /// The record ends the stream.
    pub end: bool,
}

/// The result of one stamping call.
#[derive(Debug, Default)]
pub struct Stamps {
    /// Identifies the call for `settle` (0 when nothing was issued).
    pub batch_id: u64,
    pub stream_id: String,
    pub algorithm: Algorithm,
    /// The form of the batch records' stamps (control records' are full).
    pub form: StampForm,
    /// The signal of the stream: of the batch's records and of `controls`.
    pub signal: Signal,
    /// One entry per record of the batch, in request order (resource →
    /// scope → record): its link, or `None` for a record the selection
    /// passed through unstamped.
    pub records: Vec<Option<Issued>>,
    /// Indices into `records` of stamped records whose `audit.content_hash`
    /// did not match their body: they also get the mark attribute
    /// (SPEC §4.6), which their record hash already includes.
    pub content_mismatched: Vec<usize>,
    /// Stamped records whose `audit.content_hash` matched their body.
    pub content_matched: u32,
    /// Records the engine emits itself, as an OTLP protobuf export request
    /// of `signal` without their stamps (empty when none).
    pub controls: Vec<u8>,
    /// The links of `controls`' records, in their request order.
    pub control_links: Vec<Issued>,
    /// How many of the control records are checkpoints.
    pub checkpoints: u32,
    /// Sequence numbers issued by this call, control records included
    /// (both 0 when none).
    pub first_sequence: u64,
    pub last_sequence: u64,
    /// Something the caller should log (the records are stamped anyway).
    pub warning: Option<String>,
    /// With `on_bad_record: drop_record`: the records of the batch that
    /// cannot be stamped (no canonical form, or a reserved name on a record
    /// the selection passed over), by index in request order (ascending),
    /// and why. Their entries in `records` are `None`; the caller must not
    /// forward them.
    pub rejected: Vec<Rejected>,
}

/// A record of the batch that was not stamped: its index in request order,
/// and why.
pub type Rejected = (usize, String);

impl Stamps {
    /// The stamp of a link this call issued.
    pub fn stamp<'a>(&'a self, link: &'a Issued) -> Stamp<'a> {
        Stamp {
            stream_id: &self.stream_id,
            sequence: link.sequence,
            previous: link.previous.as_ref(),
            value: &link.value,
            algorithm: self.algorithm,
            key_epoch: link.key_epoch,
            end: link.end,
        }
    }
}
