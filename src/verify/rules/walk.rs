//! The one pass over a stream's records in number order (all copies of a
//! number together): the rules that judge a record by itself and its
//! neighbour run here — content (§8.1), copies (§8.2), links (§8.4),
//! epochs (§8.5), the algorithm (§8.1), content hashes (§8.12), the
//! signal (§8.13) — and what the stream-wide rules need is kept: the
//! present numbers as ranges, the leaves of a version 2 stream, and only
//! those representatives a later rule looks at (control records, the
//! first and the last, records that end the stream, the numbers a
//! checkpoint or a successor names). Memory grows with those, not with
//! the records: the records themselves may come from disk
//! ([`crate::verify::spill`]).

use super::content::{self, Checker, LineageHints};
use super::keys::KeyCache;
use super::signal::Signals;
use super::{copies, epochs, leaves, links, stamps};
use crate::core::canonical::Signal;
use crate::core::chain::{Algorithm, Hash};
use crate::core::ranges::SeqRange;
use crate::verify::Options;
use crate::verify::leaf_store;
use crate::verify::records::{Collected, Entry};
use crate::verify::report::Finding;
use crate::verify::shares::Shares;
use std::collections::BTreeSet;
use std::sync::mpsc;

/// Which representatives the pass keeps besides control records, end
/// records, the first and the last.
pub enum Keep<'a> {
    /// Every copy of every record (`auditchain prove` looks records up).
    All,
    /// These numbers (checkpoint sizes and carriers, predecessors' last
    /// records named by successors).
    Numbers(&'a BTreeSet<u64>),
}

/// What the pass found and kept, with its findings per rule, in the order
/// the rules apply (SPEC §8).
#[derive(Default)]
pub struct Walked {
    /// The representatives kept, in number order (with `Keep::All`, every
    /// copy).
    pub kept: Vec<Entry>,
    pub present: Vec<SeqRange>,
    /// Present numbers, and identical copies beyond the first.
    pub records: u64,
    pub duplicates: u64,
    pub algorithm: Option<Algorithm>,
    pub chain_key_id: Option<String>,
    pub signal: Signal,
    /// The leaf hash of each representative, when the stream may be of
    /// format version 2.
    pub leaves: Option<leaf_store::StreamLeaves>,
    /// Why the leaves could not be kept, if they could not.
    pub error: Option<String>,
    /// Records outside the window (§8.19): before its floor, after its
    /// ceiling.
    pub before: u64,
    pub after: u64,
    pub findings: Findings,
}

/// Findings of the pass, by rule.
#[derive(Default)]
pub struct Findings {
    pub derive: Vec<Finding>,
    pub content: Vec<Finding>,
    pub algorithm: Vec<Finding>,
    pub copies: Vec<Finding>,
    pub epochs: Vec<Finding>,
    pub links: Vec<Finding>,
    pub content_hash: Vec<Finding>,
    pub signal: Vec<Finding>,
}

/// What the pass is given about a stream besides its records.
pub struct Plan<'a> {
    pub stream_id: &'a str,
    pub keep: Keep<'a>,
    /// Some record of the stream is keyed (§8.1, without record 1).
    pub keyed: bool,
    pub leaves: bool,
    /// Leaves held in memory before they go to a temporary file.
    pub spill_after: Option<usize>,
    /// Records `inside(n)` only: the window's cut (§8.19).
    pub floor: u64,
    pub ceiling: Option<u64>,
    /// Threads that hash records ahead of the pass (`--threads`).
    pub threads: usize,
}

/// Records inside the window (§8.19), counting those before its floor and
/// after its ceiling.
struct Inside<I> {
    records: I,
    floor: u64,
    ceiling: Option<u64>,
    before: u64,
    after: u64,
}

impl<I: Iterator<Item = Entry>> Iterator for Inside<I> {
    type Item = Entry;
    fn next(&mut self) -> Option<Entry> {
        loop {
            let e = self.records.next()?;
            let (before, after) = (e.sequence <= self.floor, self.ceiling.is_some_and(|n| e.sequence > n));
            self.before += u64::from(before);
            self.after += u64::from(after);
            if !before && !after {
                return Some(e);
            }
        }
    }
}

/// Groups records (in number order) into the copies of one number, in
/// vectors given back once judged (most numbers have one copy, and a fresh
/// vector for each was a malloc and a free per record), and gives
/// compact-stamped copies their predecessor's link (§8.4). Owns all it
/// needs, so that on several threads it gathers on one of its own.
struct Groups<'c, I: Iterator<Item = Entry>> {
    c: &'c Collected,
    records: Inside<I>,
    /// The record read past the last number taken.
    peeked: Option<Entry>,
    spare: Vec<Vec<Entry>>,
    /// The number and link of the first copy of the previous number.
    before: Option<(u64, Hash)>,
    /// What deriving found (§8.4), in number order.
    derive: Vec<Finding>,
}

impl<I: Iterator<Item = Entry>> Groups<'_, I> {
    /// The next number's copies, their previous links derived.
    fn next_group(&mut self) -> Option<Vec<Entry>> {
        let first = self.peeked.take().or_else(|| self.records.next())?;
        let seq = first.sequence;
        let mut group = self.spare.pop().unwrap_or_default();
        group.push(first);
        for e in self.records.by_ref() {
            if e.sequence != seq {
                self.peeked = Some(e);
                break;
            }
            group.push(e);
        }
        links::derive_previous(self.c, &mut group, self.before, &mut self.derive);
        self.before = Some((seq, group[0].value));
        Some(group)
    }

    /// The next numbers, about [`AHEAD`] records.
    fn next_batch(&mut self) -> Option<Batch> {
        let mut batch = Vec::new();
        let mut records = 0;
        while records < AHEAD {
            let Some(g) = self.next_group() else { break };
            records += g.len();
            batch.push(g);
        }
        (!batch.is_empty()).then_some(batch)
    }

    /// Records before the window's floor and after its ceiling (all of
    /// them once every group was taken).
    fn outside(&self) -> (u64, u64) {
        (self.records.before, self.records.after)
    }
}

/// Numbers in order, each with its copies.
type Batch = Vec<Vec<Entry>>;

/// The state carried from one number to the next.
struct Pass<'p, 'a> {
    c: &'a Collected,
    plan: &'p Plan<'a>,
    checker: Checker,
    epochs: epochs::Epochs,
    signals: Signals,
    /// The previous number's representative: its number and link.
    prev: Option<(u64, Hash)>,
    /// The last representative, when it is not kept yet.
    last: Option<Entry>,
    leaves: Option<leaf_store::Writer>,
    walked: Walked,
}

/// Runs the pass over `records` (a stream's, in (number, location)
/// order).
pub fn walk(
    c: &Collected,
    plan: &Plan<'_>,
    records: impl Iterator<Item = Entry> + Send,
    hints: &LineageHints,
    keys: &mut KeyCache,
    options: &Options,
) -> Walked {
    let inside = Inside { records, floor: plan.floor, ceiling: plan.ceiling, before: 0, after: 0 };
    let mut groups = Groups { c, records: inside, peeked: None, spare: Vec::new(), before: None, derive: Vec::new() };
    // The head: enough of the first records to tell the stream's algorithm
    // and find a keyed stream's keys (§8.1).
    let mut head: Vec<Vec<Entry>> = Vec::new();
    let mut findings = Findings::default();
    while let Some(g) = groups.next_group() {
        head.push(g);
        let algorithm = stamps::stream_algorithm(head[0].first(), plan.keyed);
        if algorithm == Algorithm::Sha256 || !Checker::wants_more(head.iter().flatten()) {
            break;
        }
    }
    let first = head.first().and_then(|h| h.first());
    let algorithm = stamps::stream_algorithm(first, plan.keyed);
    let checker = Checker::new(plan.stream_id, &head.concat(), algorithm, hints, keys, options, &mut findings.content);
    let walked = Walked { algorithm: first.is_some().then_some(algorithm), findings, ..Walked::default() };
    let mut pass = Pass {
        c,
        plan,
        checker,
        epochs: epochs::Epochs::default(),
        signals: Signals::default(),
        prev: None,
        last: None,
        leaves: plan.leaves.then(|| leaf_store::Writer::new(plan.spill_after)),
        walked,
    };
    let head = (!head.is_empty()).then_some(head);
    if plan.threads > 1 {
        pass.overlapped(&mut groups, head, keys);
    } else {
        let mut next = head;
        while let Some(batch) = next {
            let todo = pass.ahead(&batch, keys);
            let hashed = hash(plan.stream_id, pass.leaves.is_some(), &todo);
            pass.judge(batch, &hashed, keys, &mut groups.spare);
            next = groups.next_batch();
        }
    }
    pass.walked.findings.derive = std::mem::take(&mut groups.derive);
    pass.finish(groups.outside())
}

/// Records hashed ahead of the pass at a time.
const AHEAD: usize = 8192;

/// A record's hashes computed ahead of the pass, when they could be: its
/// recomputed link ([`Checker::ahead`]) and its leaf hash. Pure functions
/// of the record (and of an epoch key derived already), so that the pass
/// judges as it would have had it computed them itself.
#[derive(Clone, Copy)]
struct Hashed {
    link: Option<Hash>,
    leaf: Option<Hash>,
}

/// A record with how its link can be recomputed ahead, if it can.
type Todo<'e> = (&'e Entry, Option<content::Ahead>);

/// The hashes of `todo`, in order.
fn hash(stream_id: &str, leaves: bool, todo: &[Todo<'_>]) -> Vec<Hashed> {
    let mut mac = None;
    let hashed = todo.iter().map(|&(e, how)| Hashed {
        link: how.map(|how| content::link_ahead(stream_id, e, how, &mut mac)),
        leaf: leaves.then(|| leaves::leaf(stream_id, e)),
    });
    hashed.collect()
}

/// Records per share of a batch's hashing: small enough to even out the
/// threads, large enough that taking one costs nothing next to hashing it.
const SHARE: usize = 512;

impl Pass<'_, '_> {
    /// Every record of `batch`, with how its link can be hashed ahead
    /// under the keys derived so far.
    fn ahead<'e>(&self, batch: &'e [Vec<Entry>], keys: &KeyCache) -> Vec<Todo<'e>> {
        batch.iter().flatten().map(|e| (e, self.checker.ahead(keys, e))).collect()
    }

    /// Several threads: while this one judges batch k, the others hash
    /// batch k+1 and one more thread gathers the batches after it (reads
    /// the sorted runs, groups copies, derives links), so that the pass's
    /// serial work overlaps its hashing and its reading. The verdicts are
    /// those of one thread: gathering depends on the records alone, a
    /// batch is hashed under the keys derived before the batch before it
    /// was judged, and a link not hashed ahead for want of a key is hashed
    /// when judged, as on one thread.
    fn overlapped<I: Iterator<Item = Entry> + Send>(
        &mut self,
        groups: &mut Groups<'_, I>,
        head: Option<Batch>,
        keys: &mut KeyCache,
    ) {
        let (stream_id, leaves) = (self.plan.stream_id, self.leaves.is_some());
        let helpers = self.plan.threads - 1;
        std::thread::scope(|s| {
            // One batch gathered ahead at most (and one being gathered):
            // the memory of the pass stays a few batches.
            let (batch_tx, batches) = mpsc::sync_channel::<Batch>(1);
            // The judged batches' emptied vectors, for the next ones.
            let (spare_tx, spare) = mpsc::channel::<Vec<Vec<Entry>>>();
            s.spawn(move || {
                loop {
                    groups.spare.extend(spare.try_iter().flatten());
                    let Some(batch) = groups.next_batch() else { break };
                    if batch_tx.send(batch).is_err() {
                        break;
                    }
                }
            });
            let mut judged: Option<(Batch, Vec<Hashed>)> = None;
            let mut next = head;
            while let Some(batch) = next.take() {
                let todo = self.ahead(&batch, keys);
                // Shared by whichever threads are free: the helpers from the
                // start, this one once it has judged the batch before.
                let parts: Vec<&[Todo<'_>]> = todo.chunks(SHARE).collect();
                let shares = Shares::new(parts.len());
                let share = |i: usize| hash(stream_id, leaves, parts[i]);
                std::thread::scope(|s| {
                    for _ in 0..helpers {
                        s.spawn(|| shares.work(share));
                    }
                    if let Some((b, h)) = judged.take() {
                        let mut emptied = Vec::with_capacity(b.len());
                        self.judge(b, &h, keys, &mut emptied);
                        // The gatherer gone (it ends only at the end) is no loss.
                        let _ = spare_tx.send(emptied);
                    }
                    next = batches.recv().ok();
                    shares.work(share);
                });
                let hashed = shares.into_results().concat();
                judged = Some((batch, hashed));
            }
            if let Some((b, h)) = judged {
                self.judge(b, &h, keys, &mut Vec::new());
            }
        });
    }

    /// Judges a batch in order, with its hashes computed ahead; the emptied
    /// vectors of its numbers go to `spare`.
    fn judge(&mut self, batch: Batch, hashed: &[Hashed], keys: &mut KeyCache, spare: &mut Vec<Vec<Entry>>) {
        let mut at = 0;
        for mut g in batch {
            let n = g.len();
            self.group(&mut g, &hashed[at..at + n], keys);
            at += n;
            spare.push(g);
        }
    }

    /// One number's copies (their previous links derived) with their
    /// hashes computed ahead.
    /// `copies` is left empty.
    fn group(&mut self, copies: &mut Vec<Entry>, hashed: &[Hashed], keys: &mut KeyCache) {
        let (c, stream_id) = (self.c, self.plan.stream_id);
        let f = &mut self.walked.findings;
        let algorithm = self.walked.algorithm.unwrap_or_default();
        for (e, h) in copies.iter_mut().zip(hashed) {
            self.checker.check(stream_id, keys, e, h.link);
            stamps::check_algorithm(c, e, algorithm, &mut f.algorithm);
        }
        let grouped = copies::group(c, copies, &mut f.copies);
        let seq = copies[0].sequence;
        self.walked.records += 1;
        self.walked.duplicates += grouped.duplicates;
        match self.walked.present.last_mut() {
            Some(r) if r[1] + 1 == seq => r[1] = seq,
            _ => self.walked.present.push([seq, seq]),
        }
        let rep = &copies[grouped.representative];
        let f = &mut self.walked.findings;
        self.epochs.next(c, seq, rep, &mut f.epochs);
        links::check(c, seq, rep, self.prev, &mut f.links);
        super::content_hash::check(c, seq, rep, &mut f.content_hash);
        self.signals.next(seq, rep);
        if let Some(w) = &mut self.leaves
            && let leaf = hashed[grouped.representative].leaf.unwrap_or_else(|| leaves::leaf(stream_id, rep))
            && let Err(why) = w.push(seq, leaf)
        {
            self.walked.error.get_or_insert(why);
        }
        let first = self.walked.records == 1;
        let keep = match self.plan.keep {
            Keep::All => true,
            Keep::Numbers(n) => first || rep.control.is_some() || rep.end || n.contains(&seq),
        };
        self.last = None;
        self.prev = Some((seq, rep.value));
        let rep = copies.remove(grouped.representative);
        if matches!(self.plan.keep, Keep::All) {
            self.walked.kept.push(rep);
            self.walked.kept.append(copies);
        } else if keep {
            self.walked.kept.push(rep);
        } else {
            self.last = Some(rep);
        }
        copies.clear();
    }

    fn finish(mut self, outside: (u64, u64)) -> Walked {
        self.walked.kept.extend(self.last.take());
        match self.leaves.take().map(leaf_store::Writer::finish) {
            Some(Ok(l)) => self.walked.leaves = Some(l),
            Some(Err(why)) => {
                self.walked.error.get_or_insert(why);
            }
            None => {}
        }
        let f = &mut self.walked.findings;
        self.walked.chain_key_id = self.checker.finish(&mut f.content);
        self.walked.signal = self.signals.finish(self.c, &mut f.signal);
        (self.walked.before, self.walked.after) = outside;
        self.walked
    }
}

/// The numbers each stream's pass keeps (`Keep::Numbers`): every size a
/// checkpoint of it names and the record after (§8.7, §8.8), every
/// checkpoint line's carrier, and the last record a successor's start
/// record names (§8.9). A superset does no harm: a kept record is only
/// looked at.
pub fn numbers(
    streams: &std::collections::BTreeMap<String, Vec<Entry>>,
    lines: &std::collections::BTreeMap<String, Vec<crate::verify::records::ExternalCheckpoint>>,
) -> std::collections::BTreeMap<String, BTreeSet<u64>> {
    use crate::core::note::{Checkpoint, parse_note};
    let size = |note: &str| parse_note(note).ok().and_then(|n| Checkpoint::parse(&n.text).ok()).map(|cp| cp.size);
    let mut numbers: std::collections::BTreeMap<String, BTreeSet<u64>> = Default::default();
    for (id, entries) in streams {
        for ctl in entries.iter().filter_map(|e| e.control.as_deref()) {
            if let Some(s) = size(&ctl.body) {
                numbers.entry(id.clone()).or_default().extend([s, s.saturating_add(1)]);
            }
            if let Some((pred, last, _)) = &ctl.predecessor {
                numbers.entry(pred.clone()).or_default().insert(*last);
            }
        }
    }
    for (id, ls) in lines {
        let set = numbers.entry(id.clone()).or_default();
        for l in ls {
            set.insert(l.sequence);
            if let Some(s) = size(&l.note) {
                set.extend([s, s.saturating_add(1)]);
            }
        }
    }
    numbers
}
