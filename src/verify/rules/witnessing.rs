//! Rule 17, witnessing (docs/SPEC.md §8.17), with `--witness-policy`
//! (C2SP tlog-policy) or `--witness-checkpoint`: a checkpoint's copies are
//! merged by body, so its signature lines are the union of every copy's
//! (the checkpoint record, cosignature records, checkpoint-file lines). A
//! line of a policy witness's key that does not verify is a
//! `bad_cosignature`. A checkpoint is **witnessed** when the valid
//! cosignatures meet the policy's quorum; a `--witness-checkpoint` note is
//! witnessed when it carries a valid cosignature of a policy witness (or,
//! without a policy, because the auditor vouches for it). The **witnessed
//! size** is the largest witnessed checkpoint's. With a policy, every
//! valid checkpoint larger than the witnessed size is `unwitnessed`: only
//! the log key vouches for it, and whoever holds the key can rewrite and
//! re-sign unseen. An error once its time is more than the max delay
//! before `as_of` (cosignatures are recorded after the checkpoint, within
//! seconds), a warning before that.

use super::finding;
use super::logs::Log;
use crate::verify::Options;
use crate::verify::report::{Kind, Severity};

/// Whether a checkpoint counts as witnessed (judged already).
fn is_witnessed(cp: &super::logs::Cp, policy: bool) -> bool {
    cp.valid && (cp.quorum == Some(true) || (cp.from_witness() && (!policy || !cp.cosigned.is_empty())))
}

/// Returns the witnessed size and the newest witnessed checkpoint (an
/// index into `log.cps`), or `None` without a policy or witness note.
pub fn check(log: &mut Log, options: &Options) -> Option<(u64, Option<usize>)> {
    let policy = options.policy.as_ref();
    let has_witness = log.cps.iter().any(|c| c.from_witness());
    if policy.is_none() && !has_witness {
        return None;
    }
    let mut newest: Option<usize> = None;
    for i in 0..log.cps.len() {
        if !log.cps[i].valid {
            continue;
        }
        if let Some(p) = policy {
            match p.verify_checkpoint(&log.cps[i].note, &options.verifiers) {
                Ok(v) => {
                    let cp = &mut log.cps[i];
                    for (name, _) in &v.cosigned {
                        if !cp.cosigned.contains(name) {
                            cp.cosigned.push(name.clone());
                        }
                    }
                    cp.quorum = Some(v.quorum);
                    for (name, e) in &v.bad {
                        let f = cp.finding(
                            Severity::Error,
                            Kind::BadCosignature,
                            format!(
                                "{}: the cosignature line of witness {name} does not verify ({e}): it was forged, or the checkpoint altered after cosigning",
                                cp.what()
                            ),
                        );
                        log.findings.push(f);
                    }
                }
                Err(e) => {
                    let cp = &mut log.cps[i];
                    cp.quorum = Some(false);
                    let f = cp.finding(
                        Severity::Error,
                        Kind::Unwitnessed,
                        format!("{}: the witness policy cannot judge it: {e}", cp.what()),
                    );
                    log.findings.push(f);
                }
            }
        }
        let cp = &log.cps[i];
        let witnessed = is_witnessed(cp, policy.is_some());
        if cp.from_witness() && !witnessed {
            let f = cp.finding(
                Severity::Error,
                Kind::Unwitnessed,
                format!("{} carries no valid cosignature of a witness of the policy", cp.what()),
            );
            log.findings.push(f);
        }
        if witnessed && newest.is_none_or(|n| log.cps[n].size <= cp.size) {
            newest = Some(i);
        }
    }
    let size = newest.map_or(0, |n| log.cps[n].size);
    if policy.is_some() {
        unwitnessed(log, options, size, newest);
    }
    Some((size, newest))
}

/// With a policy: the valid checkpoints not covered by a witnessed one
/// (§8.17), errors once older than the max delay.
fn unwitnessed(log: &mut Log, options: &Options, size: u64, newest: Option<usize>) {
    let policy = options.policy.as_ref();
    let late = options.as_of_unix_nano.saturating_sub(options.max_delay_ns);
    let (mut old, mut young): (Vec<u64>, Vec<u64>) = (Vec::new(), Vec::new());
    // Covered: witnessed, or shown consistent (§8.16) with a witnessed
    // checkpoint at least as large.
    let mut largest: std::collections::HashMap<usize, u64> = std::collections::HashMap::new();
    for (i, cp) in log.cps.iter().enumerate().filter(|(_, c)| is_witnessed(c, policy.is_some())) {
        let class = log.classes.get(i).copied().unwrap_or(usize::MAX - i);
        let e = largest.entry(class).or_insert(cp.size);
        *e = (*e).max(cp.size);
    }
    let covered = |i: usize| {
        is_witnessed(&log.cps[i], policy.is_some())
            || log.classes.get(i).and_then(|c| largest.get(c)).is_some_and(|&w| w >= log.cps[i].size)
    };
    for (_, cp) in log.cps.iter().enumerate().filter(|&(i, c)| c.valid && !covered(i)) {
        if cp.time.is_some_and(|t| t > late) { young.push(cp.size) } else { old.push(cp.size) }
    }
    let since = match newest {
        Some(_) => format!("the newest witnessed one is of size {size}"),
        None => "none of its checkpoints meets the quorum".to_string(),
    };
    for (sizes, severity, why) in [
        (
            old,
            Severity::Error,
            "only the log key vouches for them: whoever holds it can rewrite and re-sign them unseen",
        ),
        (
            young,
            Severity::Warning,
            "they are recent (within --max-delay), and their cosignatures may still be on their way",
        ),
    ] {
        let (Some(&a), Some(&b)) = (sizes.first(), sizes.last()) else { continue };
        log.findings.push(
            finding(
                severity,
                Kind::Unwitnessed,
                format!(
                    "{} checkpoints of log {} (sizes {a}..{b}) lack the witness policy's quorum and are not shown consistent with a witnessed one at least as large ({since}): {why}",
                    sizes.len(),
                    log.origin
                ),
            )
            .range(a, b),
        );
    }
}
