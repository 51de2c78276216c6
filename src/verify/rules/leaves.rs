//! Rule 14, log leaves (docs/SPEC.md §5.5, §8.14): a stream is format
//! version 2 when its control records carry `audit.log.origin`. Every
//! control record of such a stream must name the same origin and carry its
//! own leaf index (`audit.log.index`), and all of them must agree on the
//! stream's **base** (the leaf index of its record 1: index − sequence + 1):
//! otherwise `log_mismatch`. Records whose link failed are not relied on.
//! The stream's records are then the leaves base + sequence − 1 of its log,
//! each `Leaf { stream id, sequence, record hash, link }.hash()`.

use super::{Slots, finding};
use crate::core::chain::Hash;
use crate::verify::leaf_store::StreamLeaves;
use crate::verify::records::{Collected, LogControl};
use crate::verify::report::{Finding, Kind, Location, Severity};

/// A format version 2 stream as a part of its log.
#[derive(Clone, Debug)]
pub struct StreamLog {
    pub origin: String,
    /// The leaf index of record 1, when a trusted control record says it.
    pub base: Option<u64>,
    /// The leaf hash of each present number's representative.
    pub leaves: std::sync::Arc<StreamLeaves>,
    /// Checkpoint and cosignature records' notes, for the log rules.
    pub notes: Vec<StreamNote>,
    /// The highest number the stream is known to have reached (§8.3), set
    /// once the gap rule ran.
    pub last_sequence: u64,
}

/// A note found in a v2 stream's records.
#[derive(Clone, Debug)]
pub struct StreamNote {
    pub note: String,
    pub sequence: u64,
    pub cosignature: bool,
    /// The checkpoint's own leaf index (a checkpoint record's index, a
    /// cosignature record's `audit.log.checkpoint_index`).
    pub checkpoint_index: Option<u64>,
    pub log: LogControl,
    pub location: Location,
}

/// Whether a stream may be of format version 2: a control record of it
/// names a log. Only then are its leaves computed.
pub fn may_have_log(entries: &[crate::verify::records::Entry]) -> bool {
    entries.iter().any(|e| e.control.as_deref().is_some_and(|c| c.log.is_some()))
}

/// The leaf hash of a stream's record (SPEC §5.5).
pub fn leaf(stream_id: &str, e: &crate::verify::records::Entry) -> Hash {
    crate::core::tlog::Leaf { stream_id, sequence: e.sequence, record_hash: &e.record_hash, link: &e.value }.hash()
}

/// `slots`: the stream's control records among others; `leaves`: the leaf
/// hash of each present number's representative, from the pass over the
/// stream's records (`rules::walk`).
pub fn read(
    c: &Collected,
    slots: &Slots<'_>,
    leaves: Option<StreamLeaves>,
    findings: &mut Vec<Finding>,
) -> Option<StreamLog> {
    let origin = slots
        .values()
        .filter(|e| e.link_ok != Some(false))
        .find_map(|e| e.control.as_deref()?.log.as_deref().map(|l| l.origin.clone()))?;
    let mut base: Option<(u64, u64)> = None; // (base, the record that says it)
    let mut notes = Vec::new();
    for (&seq, &e) in slots {
        let Some(ctl) = e.control.as_deref().filter(|_| e.link_ok != Some(false)) else { continue };
        let mut report = |message: String| {
            findings.push(
                finding(Severity::Error, Kind::LogMismatch, format!("record {seq}: {message}"))
                    .at(seq)
                    .located(c.location(e.loc)),
            )
        };
        let Some(log) = ctl.log.as_deref() else {
            report(format!(
                "a control record ({}) without audit.log.origin in a stream of log {origin} (format version 2): its log attributes were removed",
                ctl.event
            ));
            continue;
        };
        if log.origin != origin {
            report(format!("names log {:?}, but the stream's records are leaves of log {origin:?}", log.origin));
            continue;
        }
        let index = match &log.index {
            Some(Ok(i)) => *i,
            Some(Err(why)) => {
                report(why.clone());
                continue;
            }
            None => {
                report("a control record of a version 2 stream without audit.log.index".into());
                continue;
            }
        };
        let Some(b) = (index + 1).checked_sub(seq) else {
            report(format!("leaf index {index} is below its own sequence number: no stream base can give it"));
            continue;
        };
        match base {
            None => base = Some((b, seq)),
            Some((b0, by)) if b0 != b => {
                report(format!(
                    "its leaf index {index} puts record 1 at leaf {b}, but record {by} puts it at leaf {b0}: a stream's records are consecutive leaves"
                ));
                continue;
            }
            Some(_) => {}
        }
        let cosignature = ctl.event == crate::core::vocab::event::COSIGNATURE;
        if ctl.event == crate::core::vocab::event::CHECKPOINT || cosignature {
            let checkpoint_index = if cosignature {
                match &log.checkpoint_index {
                    Some(Ok(n)) => Some(*n),
                    Some(Err(why)) => {
                        report(why.clone());
                        None
                    }
                    None => None,
                }
            } else {
                Some(index)
            };
            notes.push(StreamNote {
                note: ctl.body.clone(),
                sequence: seq,
                cosignature,
                checkpoint_index,
                log: log.clone(),
                location: c.location(e.loc),
            });
        }
    }
    // With no leaves (they could not be kept: an input error says so),
    // the stream is placed in its log with none.
    let leaves = std::sync::Arc::new(leaves.unwrap_or_else(StreamLeaves::none));
    Some(StreamLog { origin, base: base.map(|(b, _)| b), leaves, notes, last_sequence: 0 })
}
