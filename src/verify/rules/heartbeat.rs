//! Rule 8, heartbeat (docs/SPEC.md §8.7, §8.8): a stream expected to be
//! signed must have a valid checkpoint (`no_checkpoint`; `key_required`
//! when its checkpoints could not be checked for want of a public key);
//! consecutive valid checkpoints must be at most `interval + max delay`
//! apart unless the collector restarted in between, and for a stream that
//! has not ended the newest must be at most that old at the verification
//! time (`heartbeat_missing`). Announcements of the stream itself are
//! honoured: announced clock steps are taken out of the gaps, and gaps
//! inside announced outages are warnings. Records after the newest
//! checkpoint are an `unanchored_tail` warning.

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
        findings.extend(window(&w[0].cp, &w[1].cp, facts, allowed(&w[0].cp)));
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

/// The heartbeat between two consecutive valid checkpoints. Announcements
/// the stream itself made are honoured (SPEC §8.8): a restart in between
/// excuses the gap; announced steps of the wall clock between the two are
/// taken out of it; and a gap whose missing checkpoints fall inside an
/// announced outage (records announced as possibly missing, issued in that
/// period) is a warning, not tampering.
fn window(a: &Checkpoint, b: &Checkpoint, facts: &Facts, allowed: u64) -> Option<Finding> {
    if facts.restarts.iter().any(|&t| a.time_unix_nano < t && t <= b.time_unix_nano) {
        return None;
    }
    let (a_seq, b_seq) = (a.size + 1, b.size + 1);
    let steps: i128 =
        facts.clock_steps.iter().filter(|&&(s, _)| a_seq < s && s < b_seq).map(|&(_, step)| i128::from(step)).sum();
    let gap = i128::from(b.time_unix_nano) - i128::from(a.time_unix_nano) - steps;
    if gap <= i128::from(allowed) {
        return None;
    }
    let (from, to) = (time::rfc3339(a.time_unix_nano), time::rfc3339(b.time_unix_nano));
    if let Some([start, end]) = outage_explains(a.time_unix_nano, b.time_unix_nano, &facts.outages, allowed) {
        return Some(
            finding(
                Severity::Warning,
                Kind::HeartbeatMissing,
                format!(
                    "no checkpoint between {from} and {to} although one is due every {}s, but the stream announced an outage from {} to {} \
                     (records issued then were refused downstream or could not be saved, and are announced as possibly missing): \
                     the missing checkpoints fall inside it",
                    a.interval_seconds,
                    time::rfc3339(start),
                    time::rfc3339(end)
                ),
            )
            .range(a.size, b.size),
        );
    }
    Some(
        finding(
            Severity::Error,
            Kind::HeartbeatMissing,
            format!(
                "no checkpoint between {from} and {to} although one is due every {}s: checkpoints were deleted, or the collector was stopped and its records rewritten",
                a.interval_seconds
            ),
        )
        .range(a.size, b.size),
    )
}

/// Whether announced outages cover the gap from `a` to `b`: every stretch
/// of the gap outside them is at most `allowed`. Returns the span of the
/// outages used.
fn outage_explains(a: u64, b: u64, outages: &[[u64; 2]], allowed: u64) -> Option<[u64; 2]> {
    let mut inside: Vec<[u64; 2]> = outages.iter().copied().filter(|&[s, e]| s <= b && e >= a).collect();
    inside.sort_unstable();
    let (first, last) = (inside.first()?[0], inside.iter().map(|o| o[1]).max()?);
    let mut cursor = a;
    for [s, e] in inside {
        if s.saturating_sub(cursor) > allowed {
            return None;
        }
        cursor = cursor.max(e);
    }
    (b.saturating_sub(cursor) <= allowed).then_some([first, last])
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
