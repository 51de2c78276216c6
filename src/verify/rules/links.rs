//! Rule 4, links (docs/SPEC.md §8.4): record n's
//! `audit.sequence.previous_hash` must equal record n−1's link
//! (`broken_link`); record 1 must have none and be a `start` record
//! (`bad_genesis`).

use super::{Slots, finding};
use crate::core::vocab::event;
use crate::verify::records::Collected;
use crate::verify::report::{Finding, Kind, Severity};

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
