//! The transparency logs of format version 2 (docs/SPEC.md §5.5, §8.14–
//! §8.18), across streams: each log's leaves from the streams whose records
//! they are (rule 14, `leaves`), its checkpoints from every place one is
//! found (checkpoint and cosignature records, checkpoint-file lines,
//! `--witness-checkpoint` notes) merged by body, then the rules of the log:
//! roots and ranges (`log_roots`, §8.15), consistency (`consistency`,
//! §8.16), witnessing (`witnessing`, §8.17) and missing leaves
//! (`missing_leaves`, §8.18).

use super::{Analyzed, checkpoints::merge_notes, consistency, finding, log_roots, missing_leaves, witnessing};
use crate::core::chain::Hash;
use crate::core::note::{self, NoteVerifier, parse_note};
use crate::core::time;
use crate::core::tlog::{self, CheckpointError, SignedCheckpoint};
use crate::verify::Options;
use crate::verify::leaf_store::StreamLeaves;
use crate::verify::records::{Collected, ExternalCheckpoint, LogControl};
use crate::verify::report::{Finding, Kind, Location, LogCheckpoint, LogReport, Severity, Verdict};
use base64::Engine as _;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

/// A cosigned checkpoint note given on the command line
/// (`--witness-checkpoint`): where it came from, and the note.
#[derive(Clone, Debug)]
pub struct WitnessNote {
    pub file: String,
    pub note: String,
}

/// Where a copy of a checkpoint was found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Source {
    /// A checkpoint record: stream and carrier number.
    Record(String, u64),
    /// A cosignature record.
    Cosignature(String, u64),
    /// A checkpoint-file line: stream and carrier number.
    Line(String, u64),
    /// `--witness-checkpoint`.
    Witness(String),
}

/// How a checkpoint's root compares with the records (§8.15).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Root {
    /// The records present do not reach its size from any known range.
    Unknown,
    /// The records give its root; the number is the run of leaves (from
    /// the empty tree or from a carried range) it was computed in.
    Matches(usize),
    /// The records, in that run, give another root.
    Mismatch(usize, Hash),
}

/// One checkpoint of a log: every copy of one body, merged.
#[derive(Clone, Debug)]
pub struct Cp {
    pub body: String,
    /// The note with the union of every copy's signature lines.
    pub note: String,
    pub size: u64,
    pub root: Hash,
    pub time: Option<u64>,
    pub sources: Vec<Source>,
    pub locations: Vec<Location>,
    /// `audit.log.range` of its checkpoint record.
    pub range: Option<Vec<Hash>>,
    /// `audit.log.previous_size` and `audit.log.consistency`.
    pub proof: Option<(u64, Vec<Hash>)>,
    /// Its log signature verified.
    pub valid: bool,
    pub root_state: Root,
    /// Policy witnesses whose cosignature verified.
    pub cosigned: Vec<String>,
    /// Whether they meet the policy's quorum (None: no policy).
    pub quorum: Option<bool>,
}

impl Cp {
    pub fn from_witness(&self) -> bool {
        self.sources.iter().any(|s| matches!(s, Source::Witness(_)))
    }

    /// A finding about this checkpoint: its size, where it was found.
    pub fn finding(&self, severity: Severity, kind: Kind, message: String) -> Finding {
        let mut f = finding(severity, kind, message).sized(self.size);
        for l in self.locations.iter().take(4) {
            f = f.located(l.clone());
        }
        f
    }

    pub fn what(&self) -> String {
        let from = match self.sources.first() {
            Some(Source::Record(s, n)) => format!(" (record {n} of {s})"),
            Some(Source::Cosignature(s, n)) => format!(" (cosigned, record {n} of {s})"),
            Some(Source::Line(s, n)) => format!(" (checkpoint line of {s} record {n})"),
            Some(Source::Witness(f)) => format!(" (--witness-checkpoint {f})"),
            None => String::new(),
        };
        format!("the checkpoint of size {}{from}", self.size)
    }
}

/// The leaves of a log by leaf index: runs of consecutive leaves, each
/// of one stream's records, read from that stream's leaf store.
#[derive(Default)]
pub struct Leaves {
    /// First leaf index → how many, the stream (its index among all) and
    /// the number of its record at the first.
    segments: BTreeMap<u64, (u64, usize, u64)>,
    stores: BTreeMap<usize, Arc<StreamLeaves>>,
}

/// Leaves read back at a time.
const BLOCK: u64 = 4096;

impl Leaves {
    pub fn len(&self) -> u64 {
        self.segments.values().map(|s| s.0).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.segments.is_empty()
    }

    pub fn first(&self) -> Option<u64> {
        self.segments.keys().next().copied()
    }

    /// The present leaf indices as ascending ranges.
    pub fn ranges(&self) -> Vec<[u64; 2]> {
        let mut out: Vec<[u64; 2]> = Vec::new();
        for (&start, &(len, _, _)) in &self.segments {
            match out.last_mut() {
                Some(r) if r[1] + 1 == start => r[1] = start + len - 1,
                _ => out.push([start, start + len - 1]),
            }
        }
        out
    }

    /// The segment holding leaf `index`: its first index and what it is.
    fn segment(&self, index: u64) -> Option<(u64, (u64, usize, u64))> {
        let (&start, &seg) = self.segments.range(..=index).next_back()?;
        (index - start < seg.0).then_some((start, seg))
    }

    /// Up to `n` leaves from `index` on, within one segment, with the
    /// segment's stream and the number of the record at `index`.
    fn read(&self, index: u64, n: u64) -> Result<Option<(Vec<Hash>, usize, u64)>, String> {
        let Some((start, (len, k, seq0))) = self.segment(index) else { return Ok(None) };
        let seq = seq0 + (index - start);
        let n = n.min(start + len - index) as usize;
        Ok(Some((self.stores[&k].read(seq, n)?, k, seq)))
    }

    /// Leaf `index`: its hash, stream and number.
    pub fn get(&self, index: u64) -> Result<Option<(Hash, usize, u64)>, String> {
        Ok(self.read(index, 1)?.and_then(|(h, k, seq)| Some((*h.first()?, k, seq))))
    }

    pub fn cursor(&self) -> LeafCursor<'_> {
        LeafCursor { leaves: self, first: 0, block: Vec::new(), error: None }
    }

    /// One stream's leaves from leaf 0 on (for tests).
    #[cfg(test)]
    pub fn of_one(leaves: StreamLeaves) -> Leaves {
        let mut l = Leaves::default();
        l.add(0, &Arc::new(leaves), 0, &mut |_, _, _, _| {}).expect("in memory");
        l
    }

    /// Places stream `k`'s leaves from leaf `base` on; where another
    /// stream's leaf is already placed and differs, `fork(index, number,
    /// other stream, its number)`.
    fn add(
        &mut self,
        k: usize,
        leaves: &Arc<StreamLeaves>,
        base: u64,
        fork: &mut dyn FnMut(u64, u64, usize, u64),
    ) -> Result<(), String> {
        self.stores.insert(k, leaves.clone());
        for [a, b] in leaves.runs() {
            let (mut i, end) = (base + a - 1, base + b - 1);
            while i <= end {
                let stop = match self.segment(i) {
                    Some((start, (len, other, oseq))) => {
                        let stop = end.min(start + len - 1);
                        self.compare(leaves, [i, stop], base, (other, oseq + (i - start)), fork)?;
                        stop
                    }
                    None => {
                        let next = self.segments.range(i..).next().map(|(&s, _)| s);
                        let stop = end.min(next.map_or(u64::MAX, |n| n - 1));
                        self.segments.insert(i, (stop - i + 1, k, i - base + 1));
                        stop
                    }
                };
                i = stop + 1;
            }
        }
        Ok(())
    }

    /// Compares leaves `[from, to]` of a stream placed at `base` with those
    /// another stream placed there first (from its number `oseq` on).
    fn compare(
        &self,
        leaves: &StreamLeaves,
        [from, to]: [u64; 2],
        base: u64,
        (other, oseq): (usize, u64),
        fork: &mut dyn FnMut(u64, u64, usize, u64),
    ) -> Result<(), String> {
        let mut i = from;
        while i <= to {
            let n = (to - i + 1).min(BLOCK);
            let mine = leaves.read(i - base + 1, n as usize)?;
            let theirs = self.stores[&other].read(oseq + (i - from), n as usize)?;
            for (j, (x, y)) in mine.iter().zip(&theirs).enumerate() {
                if x != y {
                    let j = j as u64;
                    fork(i + j, i + j - base + 1, other, oseq + (i - from) + j);
                }
            }
            i += n;
        }
        Ok(())
    }
}

/// Reads a log's leaves in ascending index a block at a time.
pub struct LeafCursor<'l> {
    leaves: &'l Leaves,
    first: u64,
    block: Vec<Hash>,
    /// Why leaves could not be read back, if they could not.
    pub error: Option<String>,
}

impl LeafCursor<'_> {
    /// Leaf `index`, when present and readable.
    pub fn at(&mut self, index: u64) -> Option<Hash> {
        if index < self.first || index - self.first >= self.block.len() as u64 {
            match self.leaves.read(index, BLOCK) {
                Ok(Some((b, _, _))) => (self.first, self.block) = (index, b),
                Ok(None) => return None,
                Err(e) => {
                    self.error = Some(e);
                    return None;
                }
            }
        }
        self.block.get((index - self.first) as usize).copied()
    }
}

/// One log, gathered.
pub struct Log {
    pub origin: String,
    pub streams: Vec<String>,
    pub leaves: Leaves,
    /// Leaf ranges the streams present span (their own gap rule reports
    /// what is missing inside them, §8.3).
    pub spans: Vec<[u64; 2]>,
    pub cps: Vec<Cp>,
    /// The compact range each run of leaves starts from (§8.15): run 0 the
    /// empty tree, each later one a checkpoint's carried range.
    pub runs: Vec<crate::core::merkle::CompactRange>,
    pub findings: Vec<Finding>,
    /// The witnessed size and the newest witnessed checkpoint (§8.17).
    pub witnessed: Option<(u64, Option<usize>)>,
    /// Per checkpoint, its class of checkpoints shown consistent (§8.16).
    pub classes: Vec<usize>,
    /// Checkpoint bodies → index in `cps` while gathering.
    by_body: std::collections::HashMap<String, usize>,
}

fn log_attributes(log: &LogControl, what: &str, findings: &mut Vec<Finding>, at: &Location) -> LogAttrs {
    let mut bad = |why: String| {
        findings.push(finding(Severity::Error, Kind::LogMismatch, format!("{what}: {why}")).located(at.clone()))
    };
    let range = match &log.range {
        Some(Ok(r)) => Some(r.clone()),
        Some(Err(why)) => {
            bad(why.clone());
            None
        }
        None => None,
    };
    let proof = match (&log.previous_size, &log.consistency) {
        (Some(Ok(p)), Some(Ok(h))) => Some((*p, h.clone())),
        (None, None) => None,
        (Some(Err(why)), _) | (_, Some(Err(why))) => {
            bad(why.clone());
            None
        }
        _ => {
            bad("audit.log.previous_size and audit.log.consistency come together".into());
            None
        }
    };
    LogAttrs { range, proof }
}

struct LogAttrs {
    range: Option<Vec<Hash>>,
    proof: Option<(u64, Vec<Hash>)>,
}

/// A note's body and origin, when it is a checkpoint.
fn body_of(note: &str) -> Option<(String, tlog::Checkpoint)> {
    let n = parse_note(note).ok()?;
    let cp = tlog::Checkpoint::parse(&n.text).ok()?;
    Some((n.text, cp))
}

fn new_log(origin: &str) -> Log {
    Log {
        origin: origin.to_string(),
        streams: Vec::new(),
        leaves: Leaves::default(),
        spans: Vec::new(),
        cps: Vec::new(),
        runs: Vec::new(),
        findings: Vec::new(),
        witnessed: None,
        classes: Vec::new(),
        by_body: std::collections::HashMap::new(),
    }
}

/// Adds one copy of a checkpoint to its log, merged by body.
fn add_note(
    logs: &mut BTreeMap<String, Log>,
    note: &str,
    source: Source,
    at: Location,
    attrs: Option<LogAttrs>,
    expect_origin: Option<&str>,
) {
    let Some((body, cp)) = body_of(note) else {
        // In-band checkpoints and lines are reported by the stream's
        // rule (§8.7); a cosignature record's or a witness's note here.
        if matches!(source, Source::Cosignature(..) | Source::Witness(_)) {
            let origin = expect_origin.unwrap_or_default();
            let log = logs.entry(origin.to_string()).or_insert_with(|| new_log(origin));
            log.findings.push(
                finding(Severity::Error, Kind::BadCheckpoint, format!("{source:?}: not a signed checkpoint note"))
                    .located(at),
            );
        }
        return;
    };
    if let Some(o) = expect_origin.filter(|o| *o != cp.origin) {
        let log = logs.entry(o.to_string()).or_insert_with(|| new_log(o));
        log.findings.push(
            finding(
                Severity::Error,
                Kind::BadCheckpoint,
                format!("a cosigned note of log {:?} in a stream of log {o:?}: spliced", cp.origin),
            )
            .located(at),
        );
        return;
    }
    let log = logs.entry(cp.origin.clone()).or_insert_with(|| new_log(&cp.origin));
    let i = match log.by_body.get(&body) {
        Some(&i) => i,
        None => {
            log.by_body.insert(body.clone(), log.cps.len());
            let time = note::Checkpoint::parse(&body).ok().map(|n| n.time_unix_nano).filter(|&t| t > 0);
            log.cps.push(Cp {
                body: body.clone(),
                note: note.to_string(),
                size: cp.size,
                root: cp.root,
                time,
                sources: Vec::new(),
                locations: Vec::new(),
                range: None,
                proof: None,
                valid: false,
                root_state: Root::Unknown,
                cosigned: Vec::new(),
                quorum: None,
            });
            log.cps.len() - 1
        }
    };
    let x = &mut log.cps[i];
    if x.note != note {
        x.note = merge_notes(&x.note, note);
    }
    if !x.sources.contains(&source) {
        x.sources.push(source);
        x.locations.push(at);
    }
    if let Some(a) = attrs {
        x.range = x.range.take().or(a.range);
        x.proof = x.proof.take().or(a.proof);
    }
}

/// The finding when leaves written to a temporary file cannot be read
/// back: the roots they give were not checked (never a pass).
pub fn unreadable_leaves(origin: &str, why: &str) -> Finding {
    finding(
        Severity::Error,
        Kind::LogMismatch,
        format!("log {origin}: its leaves could not be read back ({why}): its roots were not checked"),
    )
}

/// Gathers the logs: per origin, its streams' leaves and every copy of
/// its checkpoints.
fn gather(
    c: &Collected,
    streams: &BTreeMap<String, Analyzed>,
    lines: &BTreeMap<String, Vec<ExternalCheckpoint>>,
    witness: &[WitnessNote],
) -> BTreeMap<String, Log> {
    let mut logs: BTreeMap<String, Log> = BTreeMap::new();
    for (k, (id, a)) in streams.iter().enumerate() {
        let Some(sl) = &a.log else { continue };
        let log = logs.entry(sl.origin.clone()).or_insert_with(|| new_log(&sl.origin));
        log.streams.push(id.clone());
        match sl.base {
            Some(base) => {
                let names: Vec<&String> = streams.keys().collect();
                let mut forks = Vec::new();
                let placed = log.leaves.add(k, &sl.leaves, base, &mut |index, seq, other, oseq| {
                    forks.push(
                        finding(
                            Severity::Error,
                            Kind::Fork,
                            format!(
                                "leaf {index} is record {seq} of {id} and record {oseq} of {}: two different records at one place of the log",
                                names[other]
                            ),
                        )
                        .range(index, index),
                    );
                });
                log.findings.extend(forks);
                if let Err(why) = placed {
                    log.findings.push(unreadable_leaves(&sl.origin, &why));
                }
                if sl.last_sequence > 0 {
                    log.spans.push([base, base + sl.last_sequence - 1]);
                }
            }
            None => log.findings.push(finding(
                Severity::Warning,
                Kind::LogMismatch,
                format!(
                    "the records of {id} cannot be placed in log {}: no trusted control record of it gives its leaf index",
                    sl.origin
                ),
            )),
        }
        let mut attr_findings = Vec::new();
        for n in &sl.notes {
            let (source, attrs) = if n.cosignature {
                (Source::Cosignature(id.clone(), n.sequence), None)
            } else {
                let what = format!("record {} of {id}", n.sequence);
                (
                    Source::Record(id.clone(), n.sequence),
                    Some(log_attributes(&n.log, &what, &mut attr_findings, &n.location)),
                )
            };
            add_note(&mut logs, &n.note, source, n.location.clone(), attrs, Some(&sl.origin));
        }
        if let Some(log) = logs.get_mut(&sl.origin) {
            log.findings.extend(attr_findings);
        }
    }
    for (id, ls) in lines {
        let stream_log = streams.get(id).and_then(|a| a.log.as_ref());
        let has_records = streams.get(id).is_some_and(|a| a.report.records > 0);
        for l in ls {
            let Some((_, cp)) = body_of(&l.note) else { continue };
            // A version 1 line (its origin is its stream), or a foreign one
            // in a v2 stream (the stream's rule reports it as spliced).
            if cp.origin == *id || (has_records && stream_log.is_none_or(|sl| sl.origin != cp.origin)) {
                continue;
            }
            let at = Location { file: c.files[l.file as usize].clone(), line: l.line, record: 0 };
            add_note(&mut logs, &l.note, Source::Line(id.clone(), l.sequence), at, None, None);
            if !has_records
                && let Some(log) = logs.get_mut(&cp.origin)
                && !log.streams.contains(id)
            {
                log.streams.push(id.clone());
            }
        }
    }
    for w in witness {
        let at = Location { file: w.file.clone(), line: 1, record: 0 };
        let origin = body_of(&w.note).map(|(_, cp)| cp.origin);
        add_note(&mut logs, &w.note, Source::Witness(w.file.clone()), at, None, origin.as_deref().or(Some("")));
    }
    logs
}

/// The log keys a checkpoint of `origin` may be signed with: the public
/// keys given, and the policy's logs of that name (C2SP tlog-policy).
pub fn log_keys(origin: &str, options: &Options) -> Vec<NoteVerifier> {
    let mut keys = options.verifiers.clone();
    if let Some(p) = &options.policy {
        keys.extend(p.logs.iter().map(|l| l.key.clone()).filter(|k| k.id.name == origin));
    }
    keys
}

/// Opens every checkpoint with the log keys; reports the copies only the
/// log rules see (cosignature records, witness notes).
fn validate(log: &mut Log, options: &Options) {
    let keys = log_keys(&log.origin, options);
    for cp in &mut log.cps {
        let others_only = cp.sources.iter().all(|s| matches!(s, Source::Cosignature(..) | Source::Witness(_)));
        match SignedCheckpoint::open(&cp.note, &keys) {
            Ok(_) => cp.valid = true,
            Err(CheckpointError::NoLogSignature) if keys.is_empty() => {
                if cp.from_witness() {
                    let f = cp.finding(
                        Severity::Error,
                        Kind::KeyRequired,
                        format!(
                            "{} cannot be checked: pass --public-key (or a --witness-policy naming the log)",
                            cp.what()
                        ),
                    );
                    log.findings.push(f);
                }
            }
            Err(CheckpointError::NoLogSignature) if others_only => {
                let f = cp.finding(
                    Severity::Error,
                    Kind::UnknownSigner,
                    format!("{} is signed by no log key given (--public-key, --witness-policy)", cp.what()),
                );
                log.findings.push(f);
            }
            Err(CheckpointError::NoLogSignature) => {} // the stream's rule said so (§8.7)
            Err(e) => {
                let f = cp.finding(
                    Severity::Error,
                    Kind::BadCheckpoint,
                    format!("{}: {e}: the checkpoint was forged or altered", cp.what()),
                );
                log.findings.push(f);
            }
        }
    }
    // Two valid checkpoints of one size with different roots.
    let valid: Vec<&Cp> = log.cps.iter().filter(|c| c.valid).collect();
    let mut by_size: BTreeMap<u64, BTreeSet<Hash>> = BTreeMap::new();
    for cp in &valid {
        by_size.entry(cp.size).or_default().insert(cp.root);
    }
    for (size, roots) in by_size.into_iter().filter(|(_, r)| r.len() > 1) {
        let roots: Vec<String> = roots.iter().map(|r| base64::engine::general_purpose::STANDARD.encode(r)).collect();
        let mut f = finding(
            Severity::Error,
            Kind::Fork,
            format!(
                "log {} has validly signed checkpoints of size {size} with {} different roots ({}): two histories of one log were signed",
                log.origin,
                roots.len(),
                roots.join(", ")
            ),
        )
        .sized(size);
        for cp in valid.iter().filter(|c| c.size == size) {
            if let Some(l) = cp.locations.first() {
                f = f.located(l.clone());
            }
        }
        log.findings.push(f);
    }
}

fn report_checkpoint(cp: &Cp) -> LogCheckpoint {
    LogCheckpoint {
        size: cp.size,
        root: base64::engine::general_purpose::STANDARD.encode(cp.root),
        time: cp.time.map(time::rfc3339),
        cosigned_by: cp.cosigned.clone(),
        quorum: cp.quorum,
    }
}

/// Gathers every log and applies rules 15–17 to it.
pub fn prepare(
    c: &Collected,
    streams: &BTreeMap<String, Analyzed>,
    lines: &BTreeMap<String, Vec<ExternalCheckpoint>>,
    options: &Options,
) -> Vec<Log> {
    let mut logs = Vec::new();
    for (_, mut log) in gather(c, streams, lines, &options.witness_checkpoints) {
        validate(&mut log, options);
        log.cps.sort_by(|a, b| (a.size, a.time, &a.body).cmp(&(b.size, b.time, &b.body)));
        log_roots::check(&mut log, options.limits.threads);
        consistency::check(&mut log);
        log.witnessed = witnessing::check(&mut log, options);
        logs.push(log);
    }
    logs
}

/// Applies rules 15–18 to every log; returns their reports.
pub fn check(
    c: &Collected,
    streams: &BTreeMap<String, Analyzed>,
    lines: &BTreeMap<String, Vec<ExternalCheckpoint>>,
    options: &Options,
) -> Vec<LogReport> {
    let mut reports = Vec::new();
    for mut log in prepare(c, streams, lines, options) {
        let witnessed = log.witnessed;
        let size = log.cps.iter().filter(|c| c.valid).map(|c| c.size).max().unwrap_or(0);
        let window = options.window.since.map(|since| log_window(&log, since));
        let floor = window.as_ref().map_or(0, |(floor, _)| *floor);
        if let Some((_, w)) = window.as_ref().filter(|(f, w)| *f > 0 && w.anchor_size.is_none()) {
            // Leaves below the first present are not required, but nothing
            // says they were all issued before the window: with --stream
            // the other streams' leaves were not asked for (a warning).
            let severity = if options.window.streams.is_empty() { Severity::Error } else { Severity::Warning };
            log.findings.push(
                finding(
                    severity,
                    Kind::UnanchoredWindow,
                    format!(
                        "log {}: {}: leaves 0..{} are not required, but no checkpoint among the inputs says which of them were issued before the window's start (add the files or the checkpoint file holding a checkpoint of the log at or before it)",
                        log.origin,
                        w.description,
                        floor - 1
                    ),
                )
                .range(0, floor - 1),
            );
        }
        let missing = missing_leaves::check(&mut log, floor, size, witnessed.as_ref().map(|w| w.0));
        let mut findings = log.findings;
        findings.sort_by(|a, b| b.severity.cmp(&a.severity).then(a.size.or(a.first).cmp(&b.size.or(b.first))));
        // The log's own newest (from its records or checkpoint file); a
        // witness's note is shown as the newest witnessed.
        let own = |c: &&Cp| c.valid && c.sources.iter().any(|s| !matches!(s, Source::Witness(_)));
        let newest = log
            .cps
            .iter()
            .filter(own)
            .max_by_key(|c| (c.size, c.time))
            .or_else(|| log.cps.iter().filter(|c| c.valid).max_by_key(|c| (c.size, c.time)));
        let verdict =
            if findings.iter().any(|f| f.severity == Severity::Error) { Verdict::Fail } else { Verdict::Pass };
        reports.push(LogReport {
            origin: log.origin,
            verdict,
            size,
            leaves: log.leaves.len(),
            streams: log.streams,
            checkpoints: log.cps.iter().filter(|c| c.valid).count() as u64,
            newest_checkpoint: newest.map(report_checkpoint),
            witnessed_size: witnessed.as_ref().map(|w| w.0),
            newest_witnessed: witnessed.and_then(|w| w.1.map(|i| report_checkpoint(&log.cps[i]))),
            missing_leaves: missing,
            window: window.map(|(_, w)| w),
            findings,
        });
    }
    reports
}

/// A log's window (§8.19): leaves below its anchor — the newest valid
/// checkpoint at or before `since` — are not required; without one, those
/// below the first leaf present (the streams say they are unanchored).
fn log_window(log: &Log, since: u64) -> (u64, crate::verify::report::LogWindow) {
    let anchor = crate::verify::window::log_anchor(log.cps.iter().map(|c| (c.size, c.time, c.valid)), since);
    match anchor {
        Some((size, t)) => {
            let cosigned: Vec<String> = log
                .cps
                .iter()
                .filter(|c| c.valid && c.size == size && c.time == Some(t))
                .flat_map(|c| c.cosigned.iter().cloned())
                .collect();
            let how = if cosigned.is_empty() {
                "signed".to_string()
            } else {
                format!("signed and cosigned by {}", cosigned.join(", "))
            };
            let description = format!("from the checkpoint at size {size} of {}, {how}", time::rfc3339(t));
            let w = crate::verify::report::LogWindow {
                anchor_size: Some(size),
                anchor_time: Some(time::rfc3339(t)),
                cosigned_by: cosigned,
                description,
            };
            (size, w)
        }
        None => {
            let first = log.leaves.first().into_iter().chain(log.spans.iter().map(|s| s[0])).min();
            let floor = first.unwrap_or(0);
            let w = crate::verify::report::LogWindow {
                anchor_size: None,
                anchor_time: None,
                cosigned_by: Vec::new(),
                description: format!(
                    "not anchored: no valid checkpoint of the log at or before {}; from leaf {floor} as present",
                    time::rfc3339(since)
                ),
            };
            (floor, w)
        }
    }
}
