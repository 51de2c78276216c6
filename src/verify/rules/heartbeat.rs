//! Rule 8, heartbeat (docs/SPEC.md §8.7, §8.8): a stream expected to be
//! signed must have a valid checkpoint (`no_checkpoint`; `key_required`
//! when its checkpoints could not be checked for want of a public key);
//! consecutive valid checkpoints must be at most `interval + max delay`
//! apart unless the collector restarted in between, and for a stream that
//! has not ended the newest must be at most that old at the verification
//! time (`heartbeat_missing`). Records after the newest checkpoint are an
//! `unanchored_tail` warning.

use super::checkpoints::Checked;
use super::facts::Facts;
use super::{Slots, finding};
use crate::core::note::Checkpoint;
use crate::core::time;
use crate::core::vocab::event;
use crate::verify::Options;
use crate::verify::report::{Finding, Kind, Severity};

pub fn check(
    slots: &Slots<'_>,
    checked: &Checked,
    facts: &Facts,
    ended: bool,
    options: &Options,
    findings: &mut Vec<Finding>,
) {
    let expects_checkpoints = !options.verifiers.is_empty() || facts.declared_signer.is_some() || checked.found > 0;
    if checked.unverifiable > 0 && options.verifiers.is_empty() {
        findings.push(finding(
            Severity::Error,
            Kind::KeyRequired,
            format!(
                "{} signed checkpoints cannot be verified: pass --public-key{}",
                checked.unverifiable,
                facts.declared_signer.as_deref().map(|s| format!(" with the key of {s}")).unwrap_or_default()
            ),
        ));
    }
    // Checkpoints present but unchecked (no public key) are key_required
    // above, not "no checkpoint".
    if expects_checkpoints && checked.valid.is_empty() && !(options.verifiers.is_empty() && checked.unverifiable > 0) {
        findings.push(finding(
            Severity::Error,
            Kind::NoCheckpoint,
            "no valid signed checkpoint: nothing vouches for this stream's records or for its newest ones (a stream that signs checkpoints emits one every interval)",
        ));
    }
    let Some(newest) = checked.valid.last().map(|v| &v.cp) else { return };
    unanchored_tail(slots, checked.anchored, findings);
    let allowed =
        |c: &Checkpoint| c.interval_seconds.saturating_mul(1_000_000_000).saturating_add(options.max_delay_ns);
    for w in checked.valid.windows(2) {
        let (a, b) = (&w[0].cp, &w[1].cp);
        let gap = b.time_unix_nano.saturating_sub(a.time_unix_nano);
        let restarted = facts.restarts.iter().any(|&t| a.time_unix_nano < t && t <= b.time_unix_nano);
        if gap > allowed(a) && !restarted {
            findings.push(
                finding(
                    Severity::Error,
                    Kind::HeartbeatMissing,
                    format!(
                        "no checkpoint between {} and {} although one is due every {}s: checkpoints were deleted, or the collector was stopped and its records rewritten",
                        time::rfc3339(a.time_unix_nano),
                        time::rfc3339(b.time_unix_nano),
                        a.interval_seconds
                    ),
                )
                .range(a.size, b.size),
            );
        }
    }
    if !ended && options.as_of_unix_nano.saturating_sub(newest.time_unix_nano) > allowed(newest) {
        findings.push(finding(
            Severity::Error,
            Kind::HeartbeatMissing,
            format!(
                "the newest checkpoint is from {} and one is due every {}s, but none followed by {}: the stream's newest records were deleted, or the collector stopped without a clean shutdown",
                time::rfc3339(newest.time_unix_nano),
                newest.interval_seconds,
                time::rfc3339(options.as_of_unix_nano)
            ),
        ));
    }
}

fn unanchored_tail(slots: &Slots<'_>, anchored: u64, findings: &mut Vec<Finding>) {
    let present_last = slots.keys().next_back().copied().unwrap_or(0);
    let mut tail_start = anchored + 1;
    if slots.get(&tail_start).and_then(|e| e.event()) == Some(event::CHECKPOINT) {
        tail_start += 1; // the newest checkpoint's own record
    }
    if present_last >= tail_start {
        findings.push(
            finding(
                Severity::Warning,
                Kind::UnanchoredTail,
                format!("records {tail_start}..{present_last} come after the newest checkpoint (through record {anchored}); no signature vouches for them yet"),
            )
            .range(tail_start, present_last),
        );
    }
}
