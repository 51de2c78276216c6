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

use super::logs::{Leaves, Log, Root};
use crate::core::merkle::{CompactRange, EMPTY_ROOT};
use crate::verify::report::{Kind, Severity};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;

/// Applies rule 15 to `log`. The leaves between two sizes are appended on
/// `threads` threads, in pieces ([`Ahead`]); the ranges are those of
/// appending them one by one.
pub fn check(log: &mut Log, threads: usize) {
    let mut cur: Option<CompactRange> = Some(CompactRange::new(0));
    let mut run = 0usize;
    log.runs = vec![CompactRange::new(0)];
    let mut sizes: Vec<u64> = log.cps.iter().filter(|c| c.valid).map(|c| c.size).collect();
    sizes.dedup();
    let mut ahead = Ahead::new(&log.leaves, &sizes, threads, [PIECE, ROUND]);
    for (i, &s) in sizes.iter().enumerate() {
        if let Some(r) = cur.as_mut() {
            ahead.extend(r, i);
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
    if let Some(why) = ahead.error {
        log.findings.push(super::logs::unreadable_leaves(&log.origin, &why));
    }
}

/// Leaves one thread appends at a time.
const PIECE: u64 = 1 << 15;

/// Leaves whose ranges are computed at a time, ahead of their use: bounds
/// the ranges held (and the work done past a leaf found missing).
const ROUND: u64 = 1 << 20;

/// The compact ranges of the leaves between consecutive sizes (interval
/// `i` is `[sizes[i-1], sizes[i])`, interval 0 starts at 0), computed in
/// pieces of at most [`PIECE`] leaves on several threads, a round of
/// intervals at a time.
struct Ahead<'l> {
    leaves: &'l Leaves,
    sizes: &'l [u64],
    threads: usize,
    /// [`PIECE`] and [`ROUND`] (smaller in tests).
    piece: u64,
    round: u64,
    /// The pieces computed and not used yet, with their interval.
    ready: std::collections::VecDeque<(usize, Piece)>,
    /// Intervals below this one are computed (or were passed over).
    computed: usize,
    /// Why leaves could not be read back, if they could not.
    error: Option<String>,
}

/// Leaves `[a, b)` appended from the empty range at `a`, until one is
/// missing or unreadable.
struct Piece {
    range: CompactRange,
    whole: bool,
    error: Option<String>,
}

fn piece(leaves: &Leaves, [a, b]: [u64; 2]) -> Piece {
    let mut range = CompactRange::new(a);
    let mut cursor = leaves.cursor();
    while range.end() < b {
        let Some(leaf) = cursor.at(range.end()) else { break };
        if range.append(&leaf).is_err() {
            break;
        }
    }
    Piece { whole: range.end() == b, error: cursor.error, range }
}

impl<'l> Ahead<'l> {
    fn new(leaves: &'l Leaves, sizes: &'l [u64], threads: usize, [piece, round]: [u64; 2]) -> Self {
        let threads = threads.max(1);
        Ahead { leaves, sizes, threads, piece, round, ready: Default::default(), computed: 0, error: None }
    }

    fn interval(&self, i: usize) -> [u64; 2] {
        [i.checked_sub(1).map_or(0, |p| self.sizes[p]), self.sizes[i]]
    }

    /// Appends interval `i`'s leaves to `r` (precondition: `r` ends where
    /// the interval begins), up to the first missing or unreadable one.
    fn extend(&mut self, r: &mut CompactRange, i: usize) {
        if i >= self.computed {
            self.compute_from(i);
        }
        while self.ready.front().is_some_and(|(k, _)| *k < i) {
            self.ready.pop_front();
        }
        while self.ready.front().is_some_and(|(k, _)| *k == i) {
            let Some((_, p)) = self.ready.pop_front() else { break };
            if p.range.begin() != r.end() || r.append_range(&p.range, |_, _| {}).is_err() {
                break;
            }
            if let Some(why) = p.error {
                self.error.get_or_insert(why);
            }
            if !p.whole {
                break;
            }
        }
    }

    /// Computes intervals `i..` until about [`ROUND`] leaves (interval `i`
    /// whole, however long).
    fn compute_from(&mut self, i: usize) {
        self.ready.clear();
        let mut pieces: Vec<(usize, [u64; 2])> = Vec::new();
        let (mut k, mut leaves) = (i, 0u64);
        while k < self.sizes.len() && (k == i || leaves < self.round) {
            let [mut a, b] = self.interval(k);
            leaves += b.saturating_sub(a);
            while a < b {
                let end = b.min(a.saturating_add(self.piece));
                pieces.push((k, [a, end]));
                a = end;
            }
            k += 1;
        }
        self.computed = k;
        let done = crate::verify::shares::map(pieces.len(), self.threads, |p| piece(self.leaves, pieces[p].1));
        self.ready.extend(pieces.iter().map(|(k, _)| *k).zip(done));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::chain::Hash;
    use crate::verify::leaf_store::Writer;

    fn leaf(n: u64) -> Hash {
        crate::core::merkle::hash::leaf_hash(&n.to_le_bytes())
    }

    /// The range at each size, as rule 15 walks them: `extend(r, i, s)`
    /// appends interval `i`'s leaves (up to size `s`) to `r`; a run broken
    /// by a missing leaf restarts at the sizes in `restart`, as from a
    /// checkpoint's carried range.
    fn ranges(
        sizes: &[u64],
        restart: &[u64],
        mut extend: impl FnMut(&mut CompactRange, usize, u64),
    ) -> Vec<Option<(u64, Hash)>> {
        let mut cur = Some(CompactRange::new(0));
        let mut out = Vec::new();
        for (i, &s) in sizes.iter().enumerate() {
            if let Some(r) = cur.as_mut() {
                extend(r, i, s);
                if r.end() < s {
                    cur = None;
                }
            }
            out.push(cur.as_ref().map(|r| (r.end(), r.root().unwrap())));
            if cur.is_none() && restart.contains(&s) {
                cur = Some(CompactRange::from_leaves(&(0..s).map(|n| leaf(n + 1)).collect::<Vec<_>>()).unwrap());
            }
        }
        out
    }

    /// The reference for [`Ahead`]: one leaf at a time.
    fn one_by_one(leaves: &Leaves, sizes: &[u64], restart: &[u64]) -> Vec<Option<(u64, Hash)>> {
        let mut cursor = leaves.cursor();
        ranges(sizes, restart, |r, _, s| {
            while r.end() < s {
                let Some(l) = cursor.at(r.end()) else { break };
                r.append(&l).unwrap();
            }
        })
    }

    fn ahead(
        leaves: &Leaves,
        sizes: &[u64],
        restart: &[u64],
        threads: usize,
        sizing: [u64; 2],
    ) -> Vec<Option<(u64, Hash)>> {
        let mut a = Ahead::new(leaves, sizes, threads, sizing);
        let out = ranges(sizes, restart, |r, i, _| a.extend(r, i));
        assert!(a.error.is_none());
        out
    }

    #[test]
    fn ranges_computed_ahead_in_pieces_are_those_of_one_leaf_at_a_time() {
        // Numbers 1..=3000 (leaf index n-1), some missing; checkpoint
        // sizes before, at and after the gaps, and a restart after one (a
        // checkpoint's carried range).
        let mut rng = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = |m: u64| {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            rng % m
        };
        for case in 0..40 {
            let missing: Vec<u64> = (0..case % 4).map(|_| 1 + next(3000)).collect();
            let mut w = Writer::new(None);
            for n in (1..=3000).filter(|n| !missing.contains(n)) {
                w.push(n, leaf(n)).unwrap();
            }
            let leaves = Leaves::of_one(w.finish().unwrap());
            let mut sizes: Vec<u64> = (0..1 + next(30)).map(|_| next(3100)).collect();
            sizes.extend(missing.iter().flat_map(|&m| [m - 1, m, m + 1]));
            sizes.sort_unstable();
            sizes.dedup();
            let restart: Vec<u64> = sizes.iter().copied().filter(|_| next(3) == 0).collect();
            let want = one_by_one(&leaves, &sizes, &restart);
            for threads in [1, 2, 3] {
                for sizing in [[1, 1], [7, 50], [64, 1000], [PIECE, ROUND]] {
                    let got = ahead(&leaves, &sizes, &restart, threads, sizing);
                    assert_eq!(got, want, "case {case}, {threads} threads, pieces and rounds {sizing:?}");
                }
            }
        }
    }
}
