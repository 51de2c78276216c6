//! Rule 9, lineage (docs/SPEC.md §8.9): a `start` record naming a
//! predecessor must agree with the predecessor's last record
//! (`lineage_mismatch`); when the predecessor is among the inputs, its
//! records up to the recorded last number must exist. A successor that
//! records its predecessor's last link thus anchors the predecessor's tail.

use super::{Analyzed, Predecessor, finding};
use crate::core::hex::to_hex;
use crate::core::ranges::{SeqRange, covered, range_string};
use crate::verify::report::{Kind, Severity};
use std::collections::BTreeMap;

/// Checks each stream's start record against the predecessor it names.
/// A successor that records its predecessor's last link also anchors the
/// predecessor's tail: records missing from its end are detected here.
pub fn check(streams: &mut BTreeMap<String, Analyzed>) {
    let links: Vec<(String, Predecessor, Vec<SeqRange>)> = streams
        .iter()
        .filter_map(|(id, a)| a.predecessor.clone().map(|p| (id.clone(), p, a.predecessor_announced.clone())))
        .collect();
    for (successor, (pred_id, pred_last, pred_hash), excused) in links {
        let Some(pred) = streams.get_mut(&pred_id) else {
            if let Some(s) = streams.get_mut(&successor) {
                s.report.findings.push(finding(
                    Severity::Info,
                    Kind::Lineage,
                    format!("continues stream {pred_id} (ended at record {pred_last}), which is not among the inputs"),
                ));
            }
            continue;
        };
        let mut problems = Vec::new();
        if pred.report.last_sequence < pred_last {
            let (a, b) = (pred.report.last_sequence + 1, pred_last);
            pred.report.missing.push([a, b]);
            pred.report.findings.push(
                finding(
                    Severity::Error,
                    Kind::MissingRecords,
                    format!(
                        "records {}: missing from the end of the stream; its successor {successor} records that it ended at {pred_last}",
                        range_string([a, b])
                    ),
                )
                .range(a, b),
            );
            pred.report.last_sequence = pred_last;
        } else if pred.report.last_sequence > pred_last {
            problems.push(format!("{pred_id} has records after {pred_last}, where {successor} says it ended"));
        }
        // Ranges of the predecessor that its successor announced as
        // possibly undelivered are explained, not deleted.
        for f in pred.report.findings.iter_mut() {
            if let (Kind::MissingRecords, Severity::Error, Some(a), Some(b)) = (f.kind, f.severity, f.first, f.last)
                && covered([a, b], &excused)
            {
                f.severity = Severity::Warning;
                f.message = format!(
                    "records {}: missing, as announced by its successor {successor}: they were stamped but never confirmed accepted downstream",
                    range_string([a, b])
                );
            }
        }
        if let (Some(h), Some(v)) = (pred_hash, pred.values.get(&pred_last))
            && h != *v
        {
            problems.push(format!(
                "{pred_id}'s record {pred_last} has audit.integrity.value {}, but {successor} recorded {}",
                to_hex(v),
                to_hex(&h)
            ));
        }
        if let Some(s) = streams.get_mut(&successor) {
            if problems.is_empty() {
                s.report.findings.push(finding(
                    Severity::Info,
                    Kind::Lineage,
                    format!("continues stream {pred_id}, which ended cleanly at record {pred_last}"),
                ));
            }
            for p in problems {
                s.report.findings.push(finding(Severity::Error, Kind::LineageMismatch, p).at(1));
            }
        }
    }
}
