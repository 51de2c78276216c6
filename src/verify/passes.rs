//! The streams' passes ([`rules::stream`] over each stream's records, read
//! back from memory and sorted runs): one after another, or, with several
//! threads and several streams, side by side.
//!
//! Side by side, each stream holding no more than a thread's share of the
//! records is passed on one thread of its own (no batch handed between
//! threads, no pipeline filled and drained per stream); a larger one is
//! passed alone on all threads first, as one after another. The verdicts
//! are those of the passes one after another in stream order, which share
//! one key cache and its work bound (SPEC §8.5): side by side, each stream
//! has a cache of its own with the whole bound, and the outcome is kept
//! only when no derivation was refused and the derivations of all the
//! streams together stay within the bound. Keys are the same whoever
//! derives them, and one shared cache derives no more than the private
//! ones together, so no pass one after another would have been refused
//! either. Otherwise the streams are passed again one after another.

use super::records::{Collected, Entry, ExternalCheckpoint};
use super::rules::{self, content::LineageHints, keys::KeyCache, walk};
use super::spill::{self, Spilled};
use super::{Options, collect, shares};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Mutex;

/// One stream to pass: its records in memory and on disk, and its window's
/// cut (§8.19).
pub(super) struct Stream {
    pub id: String,
    pub entries: Vec<Entry>,
    pub on_disk: Spilled,
    pub floor: u64,
    pub ceiling: Option<u64>,
}

impl Stream {
    fn records(&self) -> u64 {
        self.entries.len() as u64 + self.on_disk.count
    }
}

/// What a stream's pass found, and why part of it could not be checked
/// (a sorted run or the leaf store could not be read or written).
pub(super) struct Passed {
    pub analyzed: rules::Analyzed,
    pub walked: walk::Walked,
    pub error: Option<String>,
}

/// What every stream's pass reads and none changes.
pub(super) struct Shared<'a> {
    pub collected: &'a Collected,
    pub hints: &'a LineageHints,
    /// Per stream, the numbers the later rules look at (`walk::numbers`).
    pub numbers: &'a BTreeMap<String, BTreeSet<u64>>,
    pub checkpoints: &'a BTreeMap<String, Vec<ExternalCheckpoint>>,
    pub options: &'a Options,
}

/// Passes every stream, in order; the results in the same order.
pub(super) fn run(shared: &Shared<'_>, streams: Vec<Stream>, keys: &mut KeyCache) -> Vec<Passed> {
    let threads = shared.options.limits.threads;
    // Copies are kept for passing again, so only when the records held in
    // memory are bounded (they spill).
    if threads < 2 || streams.len() < 2 || shared.options.limits.spill_after.is_none() {
        return one_after_another(shared, streams, keys);
    }
    let again: Vec<Stream> = streams
        .iter()
        .map(|s| Stream {
            id: s.id.clone(),
            entries: s.entries.clone(),
            on_disk: s.on_disk.clone(),
            floor: s.floor,
            ceiling: s.ceiling,
        })
        .collect();
    let (passed, spent, refused) = side_by_side(shared, streams, keys.budget);
    if !refused && spent <= keys.budget {
        keys.spent = spent;
        return passed;
    }
    drop(passed);
    one_after_another(shared, again, keys)
}

/// Each stream passed in turn on all threads, sharing `keys`.
fn one_after_another(shared: &Shared<'_>, streams: Vec<Stream>, keys: &mut KeyCache) -> Vec<Passed> {
    let threads = shared.options.limits.threads;
    streams.into_iter().map(|s| pass(shared, s, keys, threads)).collect()
}

/// The streams passed side by side, each with a key cache of its own
/// bounded by `budget`; with the derivations of all of them, and whether
/// one was refused.
fn side_by_side(shared: &Shared<'_>, streams: Vec<Stream>, budget: u64) -> (Vec<Passed>, u64, bool) {
    let threads = shared.options.limits.threads;
    let total: u64 = streams.iter().map(Stream::records).sum();
    let share = total.div_ceil(threads as u64);
    let mut done: Vec<Option<(Passed, u64, bool)>> = (0..streams.len()).map(|_| None).collect();
    let mut small = Vec::new();
    for (i, s) in streams.into_iter().enumerate() {
        if s.records() > share {
            done[i] = Some(alone(shared, s, budget, threads));
        } else {
            small.push((i, Mutex::new(Some(s))));
        }
    }
    let results = shares::map(small.len(), threads, |k| {
        let s = small[k].1.lock().ok().and_then(|mut s| s.take()).expect("each stream is taken once");
        Mutex::new(Some(alone(shared, s, budget, 1)))
    });
    for ((i, _), r) in small.iter().zip(results) {
        done[*i] = r.into_inner().ok().flatten();
    }
    let mut spent = 0u64;
    let mut refused = false;
    let passed = done
        .into_iter()
        .map(|d| {
            let (p, s, r) = d.expect("every stream was passed");
            spent = spent.saturating_add(s);
            refused |= r;
            p
        })
        .collect();
    (passed, spent, refused)
}

/// One stream passed on `threads` threads with a key cache of its own:
/// what it found, what its keys took and whether one was refused.
fn alone(shared: &Shared<'_>, s: Stream, budget: u64, threads: usize) -> (Passed, u64, bool) {
    let mut keys = KeyCache::with_budget(budget);
    let passed = pass(shared, s, &mut keys, threads);
    (passed, keys.spent, keys.refused)
}

/// One stream's pass on `threads` threads.
fn pass(shared: &Shared<'_>, s: Stream, keys: &mut KeyCache, threads: usize) -> Passed {
    let options = shared.options;
    let no_numbers = BTreeSet::new();
    let plan = walk::Plan {
        stream_id: &s.id,
        keep: if options.keep_records {
            walk::Keep::All
        } else {
            walk::Keep::Numbers(shared.numbers.get(&s.id).unwrap_or(&no_numbers))
        },
        keyed: s.on_disk.keyed || s.entries.iter().any(|e| e.algorithm == crate::core::chain::Algorithm::HmacSha256),
        leaves: rules::leaves::may_have_log(&s.entries),
        spill_after: options.limits.spill_after,
        floor: s.floor,
        ceiling: s.ceiling,
        threads,
    };
    let external = shared.checkpoints.get(&s.id).map(Vec::as_slice).unwrap_or(&[]);
    let mut cx = rules::Context { collected: shared.collected, hints: shared.hints, keys, floor: s.floor };
    let on_disk_runs = s.on_disk.count > 0;
    let mut records = spill::sorted(s.entries, s.on_disk);
    let (analyzed, walked) = rules::stream(&mut cx, &plan, &mut records, external, options);
    let error = records.error().or(walked.error.as_deref()).map(str::to_string);
    // The threads that read the sorted runs did so into their own malloc
    // arenas, which keep what was freed there: given back after each
    // stream read from disk, the peak does not grow with the stream's
    // records (issue 11).
    drop(records);
    if options.limits.threads > 1 && on_disk_runs {
        collect::release_freed_memory();
    }
    Passed { analyzed, walked, error }
}
