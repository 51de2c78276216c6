//! Rule 4, links (docs/SPEC.md §8.4): record n's
//! `audit.sequence.previous_hash` must equal record n−1's link
//! (`broken_link`); record 1 must have none and be a `start` record
//! (`bad_genesis`). A compact stamp gives no previous link: it is record
//! n−1's, and without that record the link cannot be checked
//! (`unchecked_record`, §4.1.1).

use super::{Slots, finding};
use crate::core::vocab::event;
use crate::verify::records::{Collected, Entry};
use crate::verify::report::{Finding, Kind, Severity};

/// Gives each compact-stamped record its predecessor's link (`entries`
/// sorted by number; of several copies, the first), and reports those
/// whose predecessor is missing.
pub fn derive_previous(c: &Collected, entries: &mut [Entry], findings: &mut Vec<Finding>) {
    for i in 0..entries.len() {
        let seq = entries[i].sequence;
        if !entries[i].compact || seq == 1 {
            continue;
        }
        let at = entries[..i].partition_point(|e| e.sequence < seq - 1);
        let previous = entries.get(at).filter(|e| e.sequence == seq - 1).map(|e| e.value);
        entries[i].previous = previous;
        if previous.is_none() {
            let f = finding(
                Severity::Error,
                Kind::UncheckedRecord,
                format!(
                    "record {seq}: its stamp is compact and record {} is missing, so its link and its content cannot be checked",
                    seq - 1
                ),
            );
            findings.push(f.at(seq).located(c.location(entries[i].loc)));
        }
    }
}

pub fn check(c: &Collected, slots: &Slots<'_>, findings: &mut Vec<Finding>) {
    for (&seq, &e) in slots {
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
            continue;
        }
        let Some(prev) = slots.get(&(seq - 1)) else { continue };
        if e.compact {
            continue; // its previous link is prev's by construction
        }
        match &e.previous {
            Some(p) if *p == prev.value => {}
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
}
