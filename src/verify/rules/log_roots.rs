//! Rule 15, log roots (docs/SPEC.md §8.15): a log's leaves, in leaf index
//! order, are appended to a compact range from the empty tree; at each
//! valid checkpoint's size the range's root must be the checkpoint's root
//! (`checkpoint_mismatch`: records were rewritten, or the checkpoint was
//! signed over other leaves). A size-0 checkpoint must have the empty
//! tree's root. A checkpoint record's `audit.log.range` must be a compact
//! range [0, size) whose root is the checkpoint's (`checkpoint_mismatch`;
//! `log_mismatch` when it cannot be one). A missing leaf does not make a
//! mismatch: roots after it cannot be computed from the records, until a
//! checkpoint whose carried range checks out starts a new run of leaves
//! from there (a window of the log, or the leaves after a lost record).

use super::logs::{Log, Root};
use crate::core::merkle::{CompactRange, EMPTY_ROOT};
use crate::verify::report::{Kind, Severity};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;

pub fn check(log: &mut Log) {
    let mut cur: Option<CompactRange> = Some(CompactRange::new(0));
    let mut run = 0usize;
    log.runs = vec![CompactRange::new(0)];
    let mut sizes: Vec<u64> = log.cps.iter().filter(|c| c.valid).map(|c| c.size).collect();
    sizes.dedup();
    let mut leaves = log.leaves.cursor();
    for s in sizes {
        if let Some(r) = cur.as_mut() {
            while r.end() < s {
                let Some(leaf) = leaves.at(r.end()) else { break };
                if r.append(&leaf).is_err() {
                    break;
                }
            }
            if r.end() < s {
                cur = None;
            }
        }
        let records_root = cur.as_ref().and_then(|r| r.root().ok());
        let mut anchor: Option<CompactRange> = None;
        for cp in log.cps.iter_mut().filter(|c| c.valid && c.size == s) {
            if s == 0 && cp.root != EMPTY_ROOT {
                let f = cp.finding(
                    Severity::Error,
                    Kind::CheckpointMismatch,
                    format!("{} does not have the empty tree's root (SHA-256 of nothing)", cp.what()),
                );
                log.findings.push(f);
            }
            cp.root_state = match records_root {
                Some(rr) if rr == cp.root => Root::Matches(run),
                Some(rr) => {
                    let f = cp.finding(
                        Severity::Error,
                        Kind::CheckpointMismatch,
                        format!(
                            "{} signs root {}, but the records of log {} give {} at that size: leaves below {s} were rewritten, or the checkpoint was signed over other records",
                            cp.what(),
                            B64.encode(cp.root),
                            log.origin,
                            B64.encode(rr)
                        ),
                    );
                    log.findings.push(f);
                    Root::Mismatch(run, rr)
                }
                None => Root::Unknown,
            };
            let Some(hashes) = cp.range.clone() else { continue };
            match CompactRange::from_parts(0, s, hashes) {
                Err(e) => {
                    let f = cp.finding(
                        Severity::Error,
                        Kind::LogMismatch,
                        format!("{}: audit.log.range is not a compact range of [0, {s}): {e}", cp.what()),
                    );
                    log.findings.push(f);
                }
                Ok(range) => match range.root() {
                    Ok(root) if root == cp.root => {
                        if cp.root_state == Root::Unknown && anchor.is_none() {
                            anchor = Some(range);
                        }
                    }
                    Ok(root) => {
                        let f = cp.finding(
                            Severity::Error,
                            Kind::CheckpointMismatch,
                            format!(
                                "{}: its record's audit.log.range gives root {}, not the signed {}",
                                cp.what(),
                                B64.encode(root),
                                B64.encode(cp.root)
                            ),
                        );
                        log.findings.push(f);
                    }
                    Err(e) => {
                        let f = cp.finding(Severity::Error, Kind::LogMismatch, format!("{}: {e}", cp.what()));
                        log.findings.push(f);
                    }
                },
            }
        }
        // No run reaches this size: the checkpoint's own range starts one.
        if cur.is_none()
            && let Some(range) = anchor
        {
            run += 1;
            log.runs.push(range.clone());
            let root = range.root().ok();
            for cp in log.cps.iter_mut().filter(|c| c.valid && c.size == s && Some(c.root) == root) {
                cp.root_state = Root::Matches(run);
            }
            cur = Some(range);
        }
    }
    if let Some(why) = leaves.error {
        log.findings.push(super::logs::unreadable_leaves(&log.origin, &why));
    }
}
