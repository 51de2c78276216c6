//! Rule 11, content hash (docs/SPEC.md §8.11): a log record whose
//! `audit.content_hash` does not match its body (SPEC §4.6) is reported:
//! an error when nothing recorded the mismatch at ingest, a warning when
//! the processor marked the record (`audit.integrity.content_hash_check`),
//! and a warning for a record outside any stream.

use super::{Slots, finding};
use crate::verify::read::ContentHashRead;
use crate::verify::records::Collected;
use crate::verify::report::{Finding, Kind, Severity};

fn message(h: &ContentHashRead) -> String {
    format!(
        "audit.content_hash does not match the body: {} (the record changed between the application and the collector, or the application hashed something else)",
        h.mismatch.as_deref().unwrap_or("")
    )
}

/// The finding for a record without a stamp.
pub fn unstamped(h: &ContentHashRead) -> Finding {
    finding(Severity::Warning, Kind::ContentHashMismatch, message(h))
}

pub fn check(c: &Collected, slots: &Slots<'_>, findings: &mut Vec<Finding>) {
    for (&seq, e) in slots {
        let Some(h) = &e.content_mismatch else { continue };
        let (severity, note) = if h.marked {
            (Severity::Warning, "; the processor found and marked it when stamping")
        } else {
            (Severity::Error, "; nothing recorded it when the record was stamped")
        };
        findings.push(
            finding(severity, Kind::ContentHashMismatch, format!("{}{note}", message(h)))
                .at(seq)
                .located(c.location(e.loc)),
        );
    }
}
