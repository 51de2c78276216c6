//! Rule 3, gaps (docs/SPEC.md §8.3): every number from 1 to the highest
//! present, or the highest a valid checkpoint proves, must be present. A
//! missing range is an error (`missing_records`) unless trusted control
//! records announced all of it (§6.3): then it is a warning.

use super::facts::Facts;
use super::finding;
use crate::core::ranges::{SeqRange, covered, range_string};
use crate::verify::report::{Finding, Kind, Severity};

pub struct Gaps {
    pub missing: Vec<SeqRange>,
    /// The highest number expected: present, or proven by a checkpoint.
    pub last_sequence: u64,
}

/// `ended_at`: the record a valid checkpoint line says ended the stream.
/// `floor`: records 1..=floor are before the verified window (§8.19).
/// `present`: the numbers present, as ascending ranges.
pub fn check(
    present: &[SeqRange],
    floor: u64,
    proven: u64,
    ended_at: Option<u64>,
    facts: &Facts,
    findings: &mut Vec<Finding>,
) -> Gaps {
    let mut missing: Vec<SeqRange> = Vec::new();
    let mut expect = floor + 1;
    for &[a, b] in present {
        if a > expect {
            missing.push([expect, a - 1]);
        }
        expect = b + 1;
    }
    let mut last_sequence = present.last().map_or(floor, |r| r[1]);
    if proven > last_sequence {
        // A checkpoint vouches for records that are gone: the tail was cut.
        missing.push([last_sequence + 1, proven]);
        last_sequence = proven;
    }
    let announced: Vec<SeqRange> = facts.announced.iter().map(|(r, _)| *r).collect();
    for &[a, b] in &missing {
        let r = range_string([a, b]);
        let f = if covered([a, b], &announced) {
            // The records that announced (part of) this range.
            let mut by: Vec<u64> =
                facts.announced.iter().filter(|([x, y], _)| *x <= b && a <= *y).map(|(_, seq)| *seq).collect();
            by.sort_unstable();
            by.dedup();
            let by: Vec<String> = by.iter().map(u64::to_string).collect();
            finding(
                Severity::Warning,
                Kind::MissingRecords,
                format!(
                    "records {r}: missing, as announced by record {}: they were stamped but never confirmed accepted downstream (a restart or a refusing exporter); their senders were not acknowledged and resent them",
                    by.join(", ")
                ),
            )
        } else if ended_at == Some(b) {
            finding(
                Severity::Error,
                Kind::MissingRecords,
                format!(
                    "records {r}: missing from the end of the stream, which ended cleanly at record {b} (its final checkpoint's line says so): its last records were cut"
                ),
            )
        } else if b <= proven {
            finding(
                Severity::Error,
                Kind::MissingRecords,
                format!(
                    "records {r}: missing, though a signed checkpoint (through record {proven}) vouches that they existed"
                ),
            )
        } else {
            finding(Severity::Error, Kind::MissingRecords, format!("records {r}: missing"))
        };
        findings.push(f.range(a, b));
    }
    Gaps { missing, last_sequence }
}
