//! What a stream's trusted control records say (docs/SPEC.md §5, §6.3,
//! §8.3): the ranges they announce as possibly missing, when the collector
//! restarted, the predecessor a start record names, the signer it declares.
//! A control record is trusted once its link verified under the stream's
//! algorithm; on a plain chain that means anyone able to rewrite the store
//! could write one. Only `start`, `resume` and `gap` records announce, and
//! only numbers below their own.

use super::{Predecessor, Slots, finding};
use crate::core::ranges::{SeqRange, range_strings};
use crate::core::vocab::event;
use crate::verify::report::{Finding, Kind, Severity};

#[derive(Default)]
pub struct Facts {
    /// Announced ranges of this stream, each with the record announcing it.
    pub announced: Vec<(SeqRange, u64)>,
    /// Announced ranges of the predecessor.
    pub predecessor_announced: Vec<SeqRange>,
    pub predecessor: Option<Predecessor>,
    /// When the collector started or resumed the stream.
    pub restarts: Vec<u64>,
    /// The signing key id a start or resume record declares.
    pub declared_signer: Option<String>,
    /// The stream name its start record gives, and when it started.
    pub name: Option<String>,
    pub started: Option<u64>,
    /// The time of the newest trusted control record.
    pub newest_control: u64,
    /// Announced outages: when the records announced as possibly missing
    /// were issued (SPEC §5, `audit.stream.outage.*`).
    pub outages: Vec<[u64; 2]>,
    /// Announced steps of the wall clock: the `clock_step` record's
    /// sequence number and the step in ns (SPEC §5.6).
    pub clock_steps: Vec<(u64, i64)>,
}

/// Reads the trusted control records; reports each resumption (`restart`).
pub fn read(slots: &Slots<'_>, findings: &mut Vec<Finding>) -> Facts {
    let mut facts = Facts::default();
    for (&seq, &e) in slots {
        let Some(c) = e.control.as_deref().filter(|_| e.link_ok == Some(true)) else { continue };
        if matches!(c.event.as_str(), event::START | event::RESUME | event::GAP) {
            // A range reaching the announcing record or past it is cut there.
            let below = c.announced.iter().filter(|r| r[0] < seq).map(|&[a, b]| ([a, b.min(seq - 1)], seq));
            facts.announced.extend(below);
            facts.predecessor_announced.extend(c.predecessor_announced.iter().copied());
        }
        if c.event == event::START && seq == 1 {
            facts.name = c.name.clone();
            facts.started = Some(c.time_unix_nano);
        }
        facts.newest_control = facts.newest_control.max(c.time_unix_nano);
        if c.signer.is_some() {
            facts.declared_signer = c.signer.clone();
        }
        facts.outages.extend(c.outage);
        if let (event::CLOCK_STEP, Some(step)) = (c.event.as_str(), c.clock_step) {
            facts.clock_steps.push((seq, step));
            findings.push(
                finding(
                    Severity::Info,
                    Kind::ClockStep,
                    format!("record {seq}: the collector's wall clock stepped by {:+.3}s; checkpoint times before and after it differ by that much more", step as f64 / 1e9),
                )
                .at(seq),
            );
        }
        match c.event.as_str() {
            event::RESUME => {
                facts.restarts.push(c.time_unix_nano);
                let detail = if c.announced.is_empty() {
                    String::new()
                } else {
                    format!("; records {} were in flight and may be missing", range_strings(&c.announced).join(", "))
                };
                findings.push(
                    finding(
                        Severity::Info,
                        Kind::Restart,
                        format!(
                            "record {seq}: the collector restarted after an unclean stop and resumed the stream{detail}"
                        ),
                    )
                    .at(seq),
                );
            }
            event::START if seq == 1 => {
                facts.restarts.push(c.time_unix_nano);
                facts.predecessor = c.predecessor.clone();
            }
            _ => {}
        }
    }
    facts
}
