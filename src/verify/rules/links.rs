//! Rule 4, links (docs/SPEC.md §8.4): record n's
//! `audit.sequence.previous_hash` must equal record n−1's link
//! (`broken_link`); record 1 must have none and be a `start` record
//! (`bad_genesis`). A compact stamp gives no previous link: it is record
//! n−1's, and without that record the link cannot be checked
//! (`unchecked_record`, §4.1.1).

use super::finding;
use crate::core::chain::Hash;
use crate::core::vocab::event;
use crate::verify::records::{Collected, Entry};
use crate::verify::report::{Finding, Kind, Severity};

/// Gives each compact-stamped copy of one number (`copies`) its
/// predecessor's link: `before`, the number and link of the first copy of
/// the number before them, when present; reports those whose predecessor
/// is missing.
pub fn derive_previous(c: &Collected, copies: &mut [Entry], before: Option<(u64, Hash)>, findings: &mut Vec<Finding>) {
    for e in copies.iter_mut() {
        let seq = e.sequence;
        if !e.compact || seq == 1 {
            continue;
        }
        let previous = before.filter(|(n, _)| *n == seq - 1).map(|(_, v)| v);
        e.previous = previous;
        if previous.is_none() {
            let f = finding(
                Severity::Error,
                Kind::UncheckedRecord,
                format!(
                    "record {seq}: its stamp is compact and record {} is missing, so its link and its content cannot be checked",
                    seq - 1
                ),
            );
            findings.push(f.at(seq).located(c.location(e.loc)));
        }
    }
}

/// Checks the representative `e` of number `seq` against `prev`, the
/// number and link of the representative before it.
pub fn check(c: &Collected, seq: u64, e: &Entry, prev: Option<(u64, Hash)>, findings: &mut Vec<Finding>) {
    let here = |f: Finding| f.at(seq).located(c.location(e.loc));
    if seq == 1 {
        if e.previous.is_some() {
            findings.push(here(finding(
                Severity::Error,
                Kind::BadGenesis,
                "record 1 carries audit.sequence.previous_hash; the first record of a stream has none",
            )));
        }
        if e.event() != Some(event::START) {
            findings.push(here(finding(
                Severity::Error,
                Kind::BadGenesis,
                "record 1 is not the stream's start record (audit.stream.event = start)",
            )));
        }
        return;
    }
    let Some((_, prev_value)) = prev.filter(|p| p.0 == seq - 1) else { return };
    if e.compact {
        return; // its previous link is prev's by construction
    }
    match &e.previous {
        Some(p) if *p == prev_value => {}
        Some(_) => findings.push(here(finding(
            Severity::Error,
            Kind::BrokenLink,
            format!(
                "record {seq}: audit.sequence.previous_hash does not match record {}'s audit.integrity.value",
                seq - 1
            ),
        ))),
        None => findings.push(here(finding(
            Severity::Error,
            Kind::BrokenLink,
            format!("record {seq}: audit.sequence.previous_hash is missing"),
        ))),
    }
}
