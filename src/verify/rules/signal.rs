//! Rule 13, signal (docs/SPEC.md §8.13): a stream's records are all of one
//! signal, log records or spans. The stream takes the signal of its
//! records; records of the other signal are a `mixed_signals` warning
//! (a stream name reused across pipelines): each still verifies, but a
//! reader of one signal's exports misses the others.

use super::{Slots, finding};
use crate::core::canonical::Signal;
use crate::verify::records::Collected;
use crate::verify::report::{Finding, Kind, Severity};

/// The stream's signal: that of its first record.
pub fn check(c: &Collected, slots: &Slots<'_>, findings: &mut Vec<Finding>) -> Signal {
    let Some(signal) = slots.values().next().map(|e| e.signal) else { return Signal::Logs };
    let other: Vec<_> = slots.iter().filter(|(_, e)| e.signal != signal).collect();
    if let Some(&(&first, e)) = other.first() {
        findings.push(
            finding(
                Severity::Warning,
                Kind::MixedSignals,
                format!(
                    "{} records of this {} stream are {}, from record {first} on: one stream name is used by pipelines of both signals",
                    other.len(),
                    signal.name(),
                    e.signal.name(),
                ),
            )
            .at(first)
            .located(c.location(e.loc)),
        );
    }
    signal
}
