//! Rule 6, end (docs/SPEC.md §8.6): `audit.sequence.end` only on the last
//! record (`records_after_end` otherwise).

use super::{Slots, finding};
use crate::verify::records::Collected;
use crate::verify::report::{Finding, Kind, Severity};

/// Whether the stream ended cleanly: its last record, also the last a
/// checkpoint covers, carries the end flag; or, when its last records are
/// gone, a valid checkpoint line says that record `ended_at` ended it.
pub fn check(
    c: &Collected,
    slots: &Slots<'_>,
    anchored: u64,
    last_sequence: u64,
    ended_at: Option<u64>,
    findings: &mut Vec<Finding>,
) -> bool {
    let present_last = slots.keys().next_back().copied().unwrap_or(0);
    let Some((&end_seq, e)) = slots.iter().find(|(_, e)| e.end) else {
        return ended_at.is_some_and(|n| n > present_last);
    };
    if end_seq == present_last && end_seq >= anchored {
        return true;
    }
    findings.push(
        finding(
            Severity::Error,
            Kind::RecordsAfterEnd,
            format!(
                "records {}..{last_sequence} come after record {end_seq}, which ended the stream (audit.sequence.end)",
                end_seq + 1
            ),
        )
        .range(end_seq + 1, last_sequence)
        .located(c.location(e.loc)),
    );
    false
}
