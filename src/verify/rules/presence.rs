//! Rule 11, expected streams (docs/SPEC.md §8.11): deleting a whole stream
//! leaves no gap in any other, so only the auditor can say what must be
//! there. For each name given with `--expect-stream-name`, a stream of
//! that name must be among the inputs (`expected_stream_missing`), and the
//! newest must not have ended unless the name is declared retired
//! (`expected_stream_ended`: its successor was deleted, or the copy is
//! older than a restart); whether a newest stream that has not ended is
//! recent is the heartbeat rule's (§8.8), which needs signed checkpoints.

use super::{Analyzed, finding};
use crate::verify::Options;
use crate::verify::report::{Finding, Kind, Severity};
use std::collections::{BTreeMap, BTreeSet};

/// Gives a stream without a readable start record the name of its
/// successor (a successor continues its predecessor's name, SPEC §6.2).
fn propagate_names(streams: &mut BTreeMap<String, Analyzed>) {
    loop {
        let inherit: Vec<(String, String)> = streams
            .values()
            .filter_map(|a| Some((a.predecessor.as_ref()?.0.clone(), a.report.stream_name.clone()?)))
            .filter(|(pred, _)| streams.get(pred).is_some_and(|p| p.report.stream_name.is_none()))
            .collect();
        if inherit.is_empty() {
            return;
        }
        for (pred, name) in inherit {
            if let Some(p) = streams.get_mut(&pred) {
                p.report.stream_name = Some(name);
            }
        }
    }
}

pub fn check(streams: &mut BTreeMap<String, Analyzed>, options: &Options, findings: &mut Vec<Finding>) {
    propagate_names(streams);
    if options.expected_names.is_empty() {
        return;
    }
    let predecessors: BTreeSet<String> =
        streams.values().filter_map(|a| a.predecessor.as_ref().map(|p| p.0.clone())).collect();
    for name in &options.expected_names {
        let retired = options.retired.contains(name);
        // The newest: not succeeded by another stream, started last.
        let newest = streams
            .iter()
            .filter(|(_, a)| a.report.stream_name.as_deref() == Some(name))
            .max_by_key(|(id, a)| (!predecessors.contains(*id), a.started, (*id).clone()))
            .map(|(id, _)| id.clone());
        let Some(id) = newest else {
            findings.push(finding(
                Severity::Error,
                Kind::ExpectedStreamMissing,
                format!(
                    "no stream named {name} is among the inputs (--expect-stream-name): its records were deleted, with any checkpoint lines, or it never ran"
                ),
            ));
            continue;
        };
        let a = streams.get_mut(&id).expect("present");
        let r = &mut a.report;
        match (r.ended, retired) {
            (true, true) => r.findings.push(finding(
                Severity::Info,
                Kind::Lineage,
                format!("the newest stream of {name}, which is declared retired (--retired), ended cleanly"),
            )),
            (true, false) => r.findings.push(finding(
                Severity::Error,
                Kind::ExpectedStreamEnded,
                format!(
                    "the newest stream of {name} ended cleanly at record {}, and no successor is among the inputs: the successor's records (and checkpoint lines) were deleted, or these files are older than a restart, or the collector was retired (then pass --retired {name})",
                    r.last_sequence
                ),
            )),
            (false, _) if r.checkpoints == 0 => r.findings.push(finding(
                Severity::Warning,
                Kind::NoCheckpoint,
                format!(
                    "the newest stream of {name} has no valid signed checkpoint, so nothing says whether it is recent: the deletion of its newest records, or of a successor, would not show (configure signing_key_file)"
                ),
            )),
            (false, true) => r.findings.push(finding(
                Severity::Warning,
                Kind::Lineage,
                format!(
                    "{name} is declared retired (--retired), but its newest stream did not end cleanly (newest checkpoint {})",
                    r.newest_checkpoint.clone().unwrap_or_default()
                ),
            )),
            (false, false) => {}
        }
    }
}
