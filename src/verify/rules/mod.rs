//! The verification rules of docs/SPEC.md §8, one module per rule, each
//! citing its section. [`stream`] applies them to one stream in order;
//! [`lineage::check`] then relates streams to their predecessors.

pub mod checkpoints;
pub mod consistency;
pub mod content;
pub mod content_hash;
pub mod copies;
pub mod end;
pub mod epochs;
pub mod expectations;
pub mod facts;
pub mod gaps;
pub mod heartbeat;
pub mod keys;
pub mod leaves;
pub mod lineage;
pub mod links;
pub mod log_roots;
pub mod logs;
pub mod missing_leaves;
pub mod presence;
pub mod signal;
pub mod stamps;
pub mod walk;
pub mod witnessing;

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

/// The per-stream facts later rules (lineage, presence) need.
pub struct Analyzed {
    pub report: StreamReport,
    /// Representative value of the numbers the pass kept (§8.9 looks up a
    /// predecessor's last).
    pub values: BTreeMap<u64, Hash>,
    pub predecessor: Option<Predecessor>,
    /// The predecessor's ranges this stream announced as possibly missing.
    pub predecessor_announced: Vec<SeqRange>,
    /// When its start record says it started.
    pub started: Option<u64>,
    /// The time of its newest valid checkpoint or trusted control record.
    pub newest_evidence: u64,
    /// Format version 2: the stream as part of its log (§8.14).
    pub log: Option<leaves::StreamLog>,
}

/// What rules need beyond one stream's records: the run's key cache and
/// the key lineages other streams record.
pub struct Context<'a> {
    pub collected: &'a Collected,
    pub hints: &'a content::LineageHints,
    pub keys: &'a mut keys::KeyCache,
    /// Records 1..=floor of the stream at hand are before its window
    /// (§8.19): not required.
    pub floor: u64,
}

fn finding(severity: Severity, kind: Kind, message: impl Into<String>) -> Finding {
    Finding::new(severity, kind, message)
}

/// Applies rules 1–8 and 10–13 to one stream's records (`records`, in
/// (number, location) order, in one pass: [`walk`]) and the checkpoint-file
/// lines of that stream. Returns the representatives the pass kept.
pub fn stream(
    cx: &mut Context<'_>,
    plan: &walk::Plan<'_>,
    records: impl Iterator<Item = Entry> + Send,
    external: &[ExternalCheckpoint],
    options: &Options,
) -> (Analyzed, walk::Walked) {
    let c = cx.collected;
    let stream_id = plan.stream_id;
    let mut walked = walk::walk(c, plan, records, cx.hints, cx.keys, options);
    let wf = std::mem::take(&mut walked.findings);
    let mut findings = c.stream_findings.get(stream_id).cloned().unwrap_or_default();
    for f in [wf.derive, wf.content, wf.algorithm, wf.copies, wf.epochs] {
        findings.extend(f);
    }
    let chain_key_id = walked.chain_key_id.clone().or_else(|| content::chain_key_id(&walked.kept));
    let mut slots = Slots::new();
    for e in &walked.kept {
        slots.entry(e.sequence).or_insert(e);
    }
    let slots = &slots;
    let facts = facts::read(slots, &mut findings);
    let mut log = leaves::read(c, slots, walked.leaves.take(), &mut findings);
    let checked = checkpoints::check(c, stream_id, slots, external, log.as_ref(), options, &mut findings);
    let gaps = gaps::check(&walked.present, cx.floor, checked.proven, checked.ended_at, &facts, &mut findings);
    if let Some(l) = log.as_mut() {
        l.last_sequence = gaps.last_sequence;
    }
    findings.extend(wf.links);
    let ended = end::check(c, slots, checked.anchored, gaps.last_sequence, checked.ended_at, &mut findings);
    heartbeat::check(slots, &checked, &facts, ended, options, &mut findings);
    // A stream known only from checkpoint lines has no algorithm to judge.
    if let Some(a) = walked.algorithm {
        expectations::check(a, !checked.valid.is_empty(), options, &mut findings);
    }
    findings.extend(wf.content_hash);
    findings.extend(wf.signal);
    let newest_checkpoint = checked.valid.last().map(|v| v.cp.time_unix_nano);

    let report = StreamReport {
        stream_id: stream_id.to_string(),
        signal: walked.signal,
        stream_name: facts.name.clone(),
        verdict: Verdict::Pass,
        algorithm: walked.algorithm.map(|a| a.name().to_string()),
        chain_key_id,
        records: walked.records,
        duplicates: walked.duplicates,
        first_sequence: walked.present.first().map_or(0, |r| r[0]),
        last_sequence: gaps.last_sequence,
        last_present: walked.present.last().map_or(0, |r| r[1]),
        ended,
        missing: gaps.missing,
        checkpoints: checked.valid.len() as u64,
        anchored_through: checked.anchored,
        newest_checkpoint: newest_checkpoint.map(time::rfc3339),
        signers: checked.signers.into_iter().collect(),
        window: None,
        findings,
    };
    let values = slots.iter().map(|(&s, e)| (s, e.value)).collect();
    let analyzed = Analyzed {
        report,
        values,
        predecessor: facts.predecessor,
        predecessor_announced: facts.predecessor_announced,
        started: facts.started,
        newest_evidence: newest_checkpoint.unwrap_or(0).max(facts.newest_control),
        log,
    };
    (analyzed, walked)
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
