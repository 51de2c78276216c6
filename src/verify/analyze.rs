//! The verifier's rules for one stream (docs/SPEC.md §8): order by sequence
//! number, separate benign duplicates from forks, find gaps, check every
//! link, the start and the end, and tell announced gaps from deletions.

use super::ingest::{Entry, Ingested, LinkCheck};
use super::report::{Finding, Kind, Severity, StreamReport, Verdict};
use crate::chain::{self, Algorithm, Hash};
use crate::control;
use crate::stream::{range_strings, SeqRange};
use std::collections::BTreeMap;

/// The per-stream facts later rules (lineage) need.
pub struct Analyzed {
    pub report: StreamReport,
    /// Representative value per present sequence number.
    pub values: BTreeMap<u64, Hash>,
    /// `(predecessor id, its last sequence, its last value)` from the start record.
    pub predecessor: Option<(String, u64, Option<Hash>)>,
}

pub fn stream(ing: &Ingested, stream_id: &str, entries: &mut [Entry]) -> Analyzed {
    entries.sort_by_key(|e| (e.sequence, e.loc));
    let mut findings = Vec::new();
    let mut duplicates = 0u64;
    // The representative record of each present sequence number: its first
    // valid copy, or its first copy when none is valid.
    let mut slots: BTreeMap<u64, &Entry> = BTreeMap::new();

    // Group copies by sequence number.
    let mut i = 0;
    while i < entries.len() {
        let seq = entries[i].sequence;
        let mut j = i;
        while j < entries.len() && entries[j].sequence == seq {
            j += 1;
        }
        let group = &entries[i..j];
        // Distinct variants, in order of first appearance.
        let mut variants: Vec<Vec<&Entry>> = Vec::new();
        for e in group {
            match variants.iter_mut().find(|v| v[0].same_record(e)) {
                Some(v) => v.push(e),
                None => variants.push(vec![e]),
            }
        }
        duplicates += variants.iter().map(|v| v.len() as u64 - 1).sum::<u64>();
        let valid: Vec<&Vec<&Entry>> = variants.iter().filter(|v| v[0].link == LinkCheck::Ok).collect();
        for v in variants.iter().filter(|v| v[0].link != LinkCheck::Ok) {
            let mut f = Finding::new(
                Severity::Error,
                Kind::ContentMismatch,
                format!("record {seq}: its content or position no longer matches its audit.integrity.value (edited after stamping)"),
            )
            .at(seq);
            for e in v {
                f = f.located(ing.location(e.loc));
            }
            findings.push(f);
        }
        if valid.len() > 1 {
            let mut f = Finding::new(
                Severity::Error,
                Kind::Fork,
                format!("record {seq}: {} different records carry this sequence number and each matches its own hash; the stream was forked", valid.len()),
            )
            .at(seq);
            for v in &valid {
                f = f.located(ing.location(v[0].loc));
            }
            findings.push(f);
        }
        let rep = valid.first().map(|v| v[0]).unwrap_or(variants[0][0]);
        slots.insert(seq, rep);
        i = j;
    }

    let first_sequence = slots.keys().next().copied().unwrap_or(0);
    let last_sequence = slots.keys().next_back().copied().unwrap_or(0);
    let algorithm = slots.values().next().map(|e| e.algorithm).unwrap_or(Algorithm::Sha256);

    // Gaps, including a missing start.
    let mut missing: Vec<SeqRange> = Vec::new();
    let mut expect = 1u64;
    for &seq in slots.keys() {
        if seq > expect {
            missing.push([expect, seq - 1]);
        }
        expect = seq + 1;
    }

    // Announcements by trustworthy control records.
    let mut announced: Vec<(SeqRange, u64)> = Vec::new();
    let mut predecessor = None;
    for (&seq, &e) in &slots {
        if e.algorithm != algorithm {
            findings.push(
                Finding::new(
                    Severity::Error,
                    Kind::MalformedStamp,
                    format!("record {seq}: algorithm {} differs from the stream's {}", e.algorithm.name(), algorithm.name()),
                )
                .at(seq)
                .located(ing.location(e.loc)),
            );
        }
        let Some(c) = e.control.as_deref().filter(|_| e.link == LinkCheck::Ok) else { continue };
        for r in &c.announced {
            announced.push((*r, seq));
        }
        match c.event.as_str() {
            control::EVENT_RESUME => {
                let detail = if c.announced.is_empty() {
                    String::new()
                } else {
                    format!("; records {} were in flight and may be missing", range_strings(&c.announced).join(", "))
                };
                findings.push(
                    Finding::new(Severity::Info, Kind::Restart, format!("record {seq}: the collector restarted after an unclean stop and resumed the stream{detail}"))
                        .at(seq),
                );
            }
            control::EVENT_START if seq == 1 => predecessor = c.predecessor.clone(),
            _ => {}
        }
    }

    for &[a, b] in &missing {
        let covered = announced.iter().find(|([x, y], _)| *x <= a && b <= *y);
        let f = match covered {
            Some((_, by)) => Finding::new(
                Severity::Warning,
                Kind::MissingRecords,
                format!(
                    "records {}: missing, as announced by record {by}: they were stamped but never accepted downstream (a restart or a refusing exporter); their senders were not acknowledged and resent them",
                    range_strings(&[[a, b]])[0]
                ),
            ),
            None => Finding::new(Severity::Error, Kind::MissingRecords, format!("records {}: missing", range_strings(&[[a, b]])[0])),
        };
        findings.push(f.range(a, b));
    }

    // Links between neighbours, and the start.
    for (&seq, &e) in &slots {
        if seq == 1 {
            if e.previous.is_some() {
                findings.push(
                    Finding::new(Severity::Error, Kind::BadGenesis, "record 1 carries audit.sequence.previous_hash; the first record of a stream has none")
                        .at(1)
                        .located(ing.location(e.loc)),
                );
            }
            if e.control.as_ref().map(|c| c.event.as_str()) != Some(control::EVENT_START) {
                findings.push(
                    Finding::new(Severity::Error, Kind::BadGenesis, "record 1 is not the stream's start record (audit.stream.event = start)")
                        .at(1)
                        .located(ing.location(e.loc)),
                );
            }
            continue;
        }
        let Some(prev) = slots.get(&(seq - 1)) else { continue };
        match &e.previous {
            Some(p) if *p == prev.value => {}
            Some(_) => findings.push(
                Finding::new(
                    Severity::Error,
                    Kind::BrokenLink,
                    format!("record {seq}: audit.sequence.previous_hash does not match record {}'s audit.integrity.value", seq - 1),
                )
                .at(seq)
                .located(ing.location(e.loc)),
            ),
            None => findings.push(
                Finding::new(Severity::Error, Kind::BrokenLink, format!("record {seq}: audit.sequence.previous_hash is missing"))
                    .at(seq)
                    .located(ing.location(e.loc)),
            ),
        }
    }

    // The end.
    let mut ended = false;
    if let Some((&end_seq, slot)) = slots.iter().find(|(_, e)| e.end) {
        if end_seq == last_sequence {
            ended = true;
        } else {
            findings.push(
                Finding::new(
                    Severity::Error,
                    Kind::RecordsAfterEnd,
                    format!("records {}..{last_sequence} come after record {end_seq}, which ended the stream (audit.sequence.end)", end_seq + 1),
                )
                .range(end_seq + 1, last_sequence)
                .located(ing.location(slot.loc)),
            );
        }
    }

    if algorithm == Algorithm::Sha256 {
        findings.push(Finding::new(
            Severity::Warning,
            Kind::PlainChain,
            "unkeyed SHA-256 chain: detects edits, deletions and reordering inside the stream, but not a rewrite by someone who can rewrite the whole store (they can recompute every hash) nor the deletion of its newest records; configure key_file and signing_key_file for that",
        ));
    }

    let values = slots.iter().map(|(&s, e)| (s, e.value)).collect();
    let report = StreamReport {
        stream_id: stream_id.to_string(),
        verdict: Verdict::Pass,
        algorithm: algorithm.name().to_string(),
        records: slots.len() as u64,
        duplicates,
        first_sequence,
        last_sequence,
        ended,
        missing,
        findings,
    };
    Analyzed { report, values, predecessor }
}

/// Checks each stream's start record against the predecessor it names.
/// A successor that records its predecessor's last link also anchors the
/// predecessor's tail: records missing from its end are detected here.
pub fn lineage(streams: &mut BTreeMap<String, Analyzed>) {
    let links: Vec<(String, (String, u64, Option<Hash>))> = streams
        .iter()
        .filter_map(|(id, a)| a.predecessor.clone().map(|p| (id.clone(), p)))
        .collect();
    for (successor, (pred_id, pred_last, pred_hash)) in links {
        let Some(pred) = streams.get_mut(&pred_id) else {
            if let Some(s) = streams.get_mut(&successor) {
                s.report.findings.push(Finding::new(
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
                Finding::new(
                    Severity::Error,
                    Kind::MissingRecords,
                    format!("records {}: missing from the end of the stream; its successor {successor} records that it ended at {pred_last}", range_strings(&[[a, b]])[0]),
                )
                .range(a, b),
            );
        } else if pred.report.last_sequence > pred_last {
            problems.push(format!("{pred_id} has records after {pred_last}, where {successor} says it ended"));
        }
        if let (Some(h), Some(v)) = (pred_hash, pred.values.get(&pred_last)) {
            if h != *v {
                problems.push(format!(
                    "{pred_id}'s record {pred_last} has audit.integrity.value {}, but {successor} recorded {}",
                    chain::to_hex(v),
                    chain::to_hex(&h)
                ));
            }
        }
        if let Some(s) = streams.get_mut(&successor) {
            if problems.is_empty() {
                s.report.findings.push(Finding::new(
                    Severity::Info,
                    Kind::Lineage,
                    format!("continues stream {pred_id}, which ended cleanly at record {pred_last}"),
                ));
            }
            for p in problems {
                s.report.findings.push(Finding::new(Severity::Error, Kind::LineageMismatch, p).at(1));
            }
        }
    }
}

/// Sets each stream's verdict from its findings and sorts them.
pub fn conclude(report: &mut StreamReport) {
    report.missing.sort_unstable();
    report.findings.sort_by(|a, b| {
        b.severity
            .cmp(&a.severity)
            .then_with(|| {
                // Findings about records in stream order; stream-wide ones last.
                let (x, y) = (a.sequence.or(a.first), b.sequence.or(b.first));
                (x.is_none(), x).cmp(&(y.is_none(), y))
            })
    });
    report.verdict = if report.findings.iter().any(|f| f.severity == Severity::Error) { Verdict::Fail } else { Verdict::Pass };
}
