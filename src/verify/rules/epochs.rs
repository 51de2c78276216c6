//! Rule 5, epochs (docs/SPEC.md §8.5): epoch keys evolve only after being
//! used, so consecutive records are in the same epoch or the next; a larger
//! step, or a step back, means records were relabelled (for example by
//! someone holding a later key trying to forge earlier records):
//! `key_epoch_out_of_order`.

use super::finding;
use crate::verify::records::{Collected, Entry};
use crate::verify::report::{Finding, Kind, Severity};

/// The rule over a stream's representatives in number order.
#[derive(Default)]
pub struct Epochs {
    /// The number and epoch of the last record that set one. A stream
    /// starts in epoch 0 (record 1), whether or not record 1 is present:
    /// record n is at most in epoch n - 1.
    prev_epoch: Option<(u64, u64)>,
}

impl Epochs {
    pub fn next(&mut self, c: &Collected, seq: u64, e: &Entry, findings: &mut Vec<Finding>) {
        let prev_epoch = self.prev_epoch;
        // A record whose link failed is already reported; its epoch label
        // says nothing, and must not make its intact neighbour look wrong.
        let Some(epoch) = e.key_epoch.filter(|_| e.link_ok != Some(false)) else { return };
        let (pseq, pepoch) = prev_epoch.unwrap_or((1, 0));
        let most = pepoch.saturating_add(seq.saturating_sub(pseq));
        if epoch < pepoch || epoch > most {
            let message = match prev_epoch {
                None => format!(
                    "record {seq}: key epoch {epoch}, but a stream starts in epoch 0 and advances at most one epoch per record (at most {most} here)"
                ),
                Some(_) => {
                    let why = if epoch < pepoch {
                        "epochs only move forward"
                    } else {
                        "epochs advance at most one per record"
                    };
                    format!("record {seq}: key epoch {epoch} follows epoch {pepoch} of record {pseq}; {why}")
                }
            };
            findings
                .push(finding(Severity::Error, Kind::KeyEpochOutOfOrder, message).at(seq).located(c.location(e.loc)));
            // An impossible epoch is no reference for the next record.
            return;
        }
        self.prev_epoch = Some((seq, epoch));
    }
}
