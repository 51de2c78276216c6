//! Rule 13, signal (docs/SPEC.md §8.13): a stream's records are all of one
//! signal, log records or spans. The stream takes the signal of its
//! records; records of the other signal are a `mixed_signals` warning
//! (a stream name reused across pipelines): each still verifies, but a
//! reader of one signal's exports misses the others.

use super::finding;
use crate::core::canonical::Signal;
use crate::verify::records::{Collected, Entry, Loc};
use crate::verify::report::{Finding, Kind, Severity};

/// The rule over a stream's representatives in number order.
#[derive(Default)]
pub struct Signals {
    /// The stream's signal: that of its first record.
    signal: Option<Signal>,
    /// Records of the other signal, and the first of them.
    other: u64,
    first_other: Option<(u64, Loc, Signal)>,
}

impl Signals {
    pub fn next(&mut self, seq: u64, e: &Entry) {
        let signal = *self.signal.get_or_insert(e.signal);
        if e.signal != signal {
            self.other += 1;
            self.first_other.get_or_insert((seq, e.loc, e.signal));
        }
    }

    /// The stream's signal, with the finding when records of the other one
    /// were among its records.
    pub fn finish(self, c: &Collected, findings: &mut Vec<Finding>) -> Signal {
        let Some(signal) = self.signal else { return Signal::Logs };
        if let Some((first, loc, other)) = self.first_other {
            findings.push(
            finding(
                Severity::Warning,
                Kind::MixedSignals,
                format!(
                    "{} records of this {} stream are {}, from record {first} on: one stream name is used by pipelines of both signals",
                    self.other,
                    signal.name(),
                    other.name(),
                ),
            )
            .at(first)
            .located(c.location(loc)),
        );
        }
        signal
    }
}
