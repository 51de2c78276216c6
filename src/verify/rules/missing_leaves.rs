//! Rule 18, missing leaves (docs/SPEC.md §8.18): a valid checkpoint of
//! size n proves that leaves 0..n−1 of its log were issued. Every such
//! leaf must be a record among the inputs, or lie inside the span of a
//! stream present (whose own gap rule, §8.3, judges what is missing there,
//! announcements included): otherwise `missing_leaves`, with the leaf
//! index range. This finds what no rule of one stream can: a deleted
//! stream of the log (its successor's base is past the last leaf before
//! it), a cut tail whose checkpoints survive elsewhere (the checkpoint
//! file, a cosignature, a witness's checkpoint).

use super::finding;
use super::logs::Log;
use crate::verify::report::{Kind, Severity};

/// `floor`: leaves below it are before the verified window (§8.19).
pub fn check(log: &mut Log, floor: u64, size: u64, witnessed: Option<u64>) -> Vec<[u64; 2]> {
    // Covered intervals: runs of present leaves, and the streams' spans.
    let mut covered: Vec<[u64; 2]> = log.spans.clone();
    if floor > 0 {
        covered.push([0, floor - 1]);
    }
    covered.extend(log.leaves.ranges());
    covered.sort_unstable();
    let mut missing = Vec::new();
    let mut next = 0u64;
    for [a, b] in covered {
        if a > next && next < size {
            missing.push([next, (a - 1).min(size - 1)]);
        }
        next = next.max(b.saturating_add(1));
    }
    if next < size {
        missing.push([next, size - 1]);
    }
    let proof = match witnessed {
        Some(w) if w >= size && w > 0 => format!("the witnessed checkpoint of size {w}"),
        _ => format!("a checkpoint of size {size} signed by the log key"),
    };
    for &[a, b] in &missing {
        log.findings.push(
            finding(
                Severity::Error,
                Kind::MissingLeaves,
                format!(
                    "leaves {a}..{b} of log {} are missing: {proof} proves they were issued, and no record among the inputs is one of them (a stream of the log, or a stream's newest records, were deleted)",
                    log.origin
                ),
            )
            .range(a, b),
        );
    }
    missing
}
