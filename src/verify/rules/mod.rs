//! The verification rules of docs/SPEC.md §8, one module per rule, each
//! citing its section. [`stream`] applies them to one stream in order;
//! [`lineage::check`] then relates streams to their predecessors.

pub mod checkpoints;
pub mod content;
pub mod content_hash;
pub mod copies;
pub mod end;
pub mod epochs;
pub mod expectations;
pub mod facts;
pub mod gaps;
pub mod heartbeat;
pub mod lineage;
pub mod links;
pub mod signal;
pub mod stamps;

use super::Options;
use super::records::{Collected, Entry, ExternalCheckpoint};
use super::report::{Finding, Kind, Severity, StreamReport, Verdict};
use crate::core::chain::Hash;
use crate::core::ranges::SeqRange;
use crate::core::time;
use std::collections::BTreeMap;

/// One representative record per present sequence number.
pub type Slots<'e> = BTreeMap<u64, &'e Entry>;

/// A predecessor as a start record names it: its id, its last sequence
/// number and that record's link.
pub type Predecessor = (String, u64, Option<Hash>);

/// The per-stream facts later rules (lineage) need.
pub struct Analyzed {
    pub report: StreamReport,
    /// Representative value per present sequence number.
    pub values: BTreeMap<u64, Hash>,
    pub predecessor: Option<Predecessor>,
    /// The predecessor's ranges this stream announced as possibly missing.
    pub predecessor_announced: Vec<SeqRange>,
}

fn finding(severity: Severity, kind: Kind, message: impl Into<String>) -> Finding {
    Finding::new(severity, kind, message)
}

/// Applies rules 1–8 and 10–12 to one stream's records (`entries`, in any
/// order) and the checkpoint-file lines of that stream.
pub fn stream(
    c: &Collected,
    stream_id: &str,
    entries: &mut [Entry],
    external: &[ExternalCheckpoint],
    options: &Options,
) -> Analyzed {
    entries.sort_by_key(|e| (e.sequence, e.loc));
    let mut findings = Vec::new();
    let algorithm = stamps::stream_algorithm(entries);
    content::check(stream_id, entries, algorithm, options, &mut findings);
    let chain_key_id = content::chain_key_id(entries);
    let grouped = copies::group(c, entries, &mut findings);
    let slots = &grouped.slots;
    stamps::check_algorithm(c, slots, algorithm, &mut findings);
    epochs::check(c, slots, &mut findings);
    let facts = facts::read(slots, &mut findings);
    let checked = checkpoints::check(c, stream_id, slots, external, options, &mut findings);
    let gaps = gaps::check(slots, checked.proven, &facts, &mut findings);
    links::check(c, slots, &mut findings);
    let ended = end::check(c, slots, checked.anchored, gaps.last_sequence, &mut findings);
    heartbeat::check(slots, &checked, &facts, ended, options, &mut findings);
    expectations::check(algorithm, !checked.valid.is_empty(), options, &mut findings);
    content_hash::check(c, slots, &mut findings);
    let signal = signal::check(c, slots, &mut findings);

    let report = StreamReport {
        stream_id: stream_id.to_string(),
        signal,
        verdict: Verdict::Pass,
        algorithm: algorithm.name().to_string(),
        chain_key_id,
        records: slots.len() as u64,
        duplicates: grouped.duplicates,
        first_sequence: slots.keys().next().copied().unwrap_or(0),
        last_sequence: gaps.last_sequence,
        ended,
        missing: gaps.missing,
        checkpoints: checked.valid.len() as u64,
        anchored_through: checked.anchored,
        newest_checkpoint: checked.valid.last().map(|v| time::rfc3339(v.cp.time_unix_nano)),
        signers: checked.signers.into_iter().collect(),
        findings,
    };
    let values = slots.iter().map(|(&s, e)| (s, e.value)).collect();
    Analyzed { report, values, predecessor: facts.predecessor, predecessor_announced: facts.predecessor_announced }
}

/// Sets each stream's verdict from its findings and sorts them.
pub fn conclude(report: &mut StreamReport) {
    report.missing.sort_unstable();
    report.findings.sort_by(|a, b| {
        b.severity.cmp(&a.severity).then_with(|| {
            // Findings about records in stream order; stream-wide ones last.
            let (x, y) = (a.sequence.or(a.first), b.sequence.or(b.first));
            (x.is_none(), x).cmp(&(y.is_none(), y))
        })
    });
    report.verdict =
        if report.findings.iter().any(|f| f.severity == Severity::Error) { Verdict::Fail } else { Verdict::Pass };
}
