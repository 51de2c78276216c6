//! Rule 16, consistency (docs/SPEC.md §8.16): every two valid checkpoints
//! of one log must be consistent: the larger tree extends the smaller.
//! Checkpoints whose roots the same run of records gives are (§8.15); a
//! checkpoint record's carried proof (`audit.log.previous_size`,
//! `audit.log.consistency`, RFC 9162 §2.1.4) proves it consistent with the
//! checkpoint of that size. Two valid checkpoints shown **not** consistent
//! are a `fork`, even when both carry the real log signature: one whose
//! root the records contradict while a larger one's root they give, or a
//! carried proof that does not verify between them (a proof that fails
//! between two checkpoints the records prove consistent is a
//! `checkpoint_mismatch`). Consecutive checkpoints that nothing relates
//! (records missing, no carried proof) are a `consistency_unproven`
//! warning.

use super::finding;
use super::logs::{Log, Root};
use crate::core::merkle::verify_consistency;
use crate::verify::report::{Kind, Severity};
use std::collections::{BTreeMap, BTreeSet};

/// The valid checkpoints by size.
fn by_size(log: &Log, valid: &[usize]) -> BTreeMap<u64, Vec<usize>> {
    let mut m: BTreeMap<u64, Vec<usize>> = BTreeMap::new();
    for &i in valid {
        m.entry(log.cps[i].size).or_default().push(i);
    }
    m
}

fn find(parent: &mut [usize], mut i: usize) -> usize {
    while parent[i] != i {
        parent[i] = parent[parent[i]];
        i = parent[i];
    }
    i
}

fn union(parent: &mut [usize], a: usize, b: usize) {
    let (a, b) = (find(parent, a), find(parent, b));
    parent[a] = b;
}

pub fn check(log: &mut Log) {
    let n = log.cps.len();
    let mut parent: Vec<usize> = (0..n).collect();
    let valid: Vec<usize> = (0..n).filter(|&i| log.cps[i].valid).collect();
    // Same run of records.
    let mut first_of_run: BTreeMap<usize, usize> = BTreeMap::new();
    for &i in &valid {
        if let Root::Matches(run) = log.cps[i].root_state {
            let j = *first_of_run.entry(run).or_insert(i);
            union(&mut parent, i, j);
        }
    }
    let failed = carried_proofs(log, &valid, &mut parent);
    // Sizes with two roots are a fork already (§8.15): not again here.
    let twice: Vec<u64> = valid
        .windows(2)
        .filter(|w| log.cps[w[0]].size == log.cps[w[1]].size && log.cps[w[0]].root != log.cps[w[1]].root)
        .map(|w| log.cps[w[0]].size)
        .collect();
    let mut forked: Vec<(usize, usize)> = Vec::new();
    // A root the records contradict, below a root they give.
    for &a in &valid {
        let Root::Mismatch(run, _) = log.cps[a].root_state else { continue };
        if twice.contains(&log.cps[a].size) {
            continue;
        }
        let Some(&b) = valid
            .iter()
            .filter(|&&b| log.cps[b].root_state == Root::Matches(run) && log.cps[b].size > log.cps[a].size)
            .max_by_key(|&&b| log.cps[b].size)
        else {
            continue;
        };
        let (x, y) = (&log.cps[a], &log.cps[b]);
        let f = x.finding(
            Severity::Error,
            Kind::Fork,
            format!(
                "{} is not consistent with {}, which the records confirm: both carry a valid log signature, so two histories of log {} were signed (the records were rewritten and re-signed, or this one is another tree's)",
                x.what(),
                y.what(),
                log.origin
            ),
        );
        let f = y.locations.first().map_or(f.clone(), |l| f.located(l.clone()));
        log.findings.push(f);
        forked.push((a, b));
    }
    for (a, b, why) in failed {
        let (x, y) = (&log.cps[a], &log.cps[b]);
        if twice.contains(&x.size) || twice.contains(&y.size) {
            forked.push((a, b));
            continue;
        }
        if find(&mut parent, a) == find(&mut parent, b) {
            let f = y.finding(
                Severity::Error,
                Kind::CheckpointMismatch,
                format!(
                    "{}: its carried consistency proof from size {} does not verify ({why}), though the records show the two consistent",
                    y.what(),
                    x.size
                ),
            );
            log.findings.push(f);
        } else {
            let f = y.finding(
                Severity::Error,
                Kind::Fork,
                format!(
                    "{} and {} are not shown consistent: the carried consistency proof between them does not verify ({why}); both carry a valid log signature",
                    x.what(),
                    y.what()
                ),
            );
            log.findings.push(f);
            forked.push((a, b));
        }
    }
    unproven(log, &valid, &mut parent, &forked, &twice);
    log.classes = (0..n).map(|i| find(&mut parent, i)).collect();
}

/// Consecutive sizes that nothing relates: a warning.
fn unproven(log: &mut Log, valid: &[usize], parent: &mut [usize], forked: &[(usize, usize)], twice: &[u64]) {
    let mut unproven: Vec<(u64, u64)> = Vec::new();
    let by_size = by_size(log, valid);
    let forked: BTreeSet<usize> = forked.iter().flat_map(|&(x, y)| [x, y]).collect();
    for &b in valid {
        let size = log.cps[b].size;
        let Some((&prev, earlier)) = by_size.range(..size).next_back() else { continue };
        let related = earlier.iter().any(|&a| find(parent, a) == find(parent, b));
        let reported = forked.contains(&b) || twice.contains(&size) || twice.contains(&prev);
        if !related && !reported {
            unproven.push((prev, size));
        }
    }
    if let (Some(first), Some(last)) = (unproven.first(), unproven.last()) {
        let pairs: Vec<String> = unproven.iter().take(5).map(|(a, b)| format!("{a}→{b}")).collect();
        log.findings.push(
            finding(
                Severity::Warning,
                Kind::ConsistencyUnproven,
                format!(
                    "{} pairs of consecutive checkpoints of log {} cannot be shown consistent ({}{}): the records between them are missing and no checkpoint record carries a proof between them",
                    unproven.len(),
                    log.origin,
                    pairs.join(", "),
                    if unproven.len() > 5 { ", …" } else { "" }
                ),
            )
            .range(first.0, last.1),
        );
    }
}

/// Checks every carried consistency proof against the checkpoints of its
/// previous size; relates those it proves, returns those it does not.
fn carried_proofs(log: &mut Log, valid: &[usize], parent: &mut [usize]) -> Vec<(usize, usize, String)> {
    let mut failed: Vec<(usize, usize, String)> = Vec::new();
    let by_size = by_size(log, valid);
    for &b in valid {
        let Some((p, proof)) = log.cps[b].proof.clone() else { continue };
        let size = log.cps[b].size;
        if p >= size {
            let f = log.cps[b].finding(
                Severity::Error,
                Kind::LogMismatch,
                format!("{}: audit.log.previous_size {p} is not below its size", log.cps[b].what()),
            );
            log.findings.push(f);
            continue;
        }
        for &a in by_size.get(&p).into_iter().flatten() {
            match verify_consistency(p, size, &proof, &log.cps[a].root, &log.cps[b].root) {
                Ok(()) => union(parent, a, b),
                Err(e) => failed.push((a, b, e.to_string())),
            }
        }
    }
    failed
}
