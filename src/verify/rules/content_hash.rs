//! Rule 12, content hash (docs/SPEC.md §8.12): a log record whose
//! `audit.content_hash` does not match its body (SPEC §4.6) is reported as
//! a warning, saying whether the processor found and marked it when
//! stamping (`audit.integrity.content_hash_check`). A warning, not an
//! error: the stream's own integrity is not in question (a mark removed or
//! added breaks the record's link), and archives stamped before processors
//! checked content hashes keep verifying.

use super::finding;
use crate::verify::read::ContentHashRead;
use crate::verify::records::{Collected, Entry};
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

/// Checks the representative `e` of number `seq`.
pub fn check(c: &Collected, seq: u64, e: &Entry, findings: &mut Vec<Finding>) {
    {
        let Some(h) = &e.content_mismatch else { return };
        let note = if h.marked {
            "; the processor found and marked it when stamping"
        } else {
            "; nothing recorded it when the record was stamped (content_hash.check was off)"
        };
        findings.push(
            finding(Severity::Warning, Kind::ContentHashMismatch, format!("{}{note}", message(h)))
                .at(seq)
                .located(c.location(e.loc)),
        );
    }
}
