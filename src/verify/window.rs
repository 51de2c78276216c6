//! Periods and partial copies (docs/SPEC.md §8.19): `--since`, `--until`
//! and `--stream` select what is verified, and each stream is anchored at
//! its newest valid checkpoint at or before the window's start. Records
//! before the anchor are not required; what the anchor is, and through
//! what the stream was verified, is reported per stream (and per log).
//!
//! The time that places records in a window is the `time` of the signed
//! checkpoints (§5.3, §5.5): the only time every stream carries that the
//! signer vouches for and that grows along the stream. A record's own
//! timestamps are its source's, neither ordered nor vouched for.

use super::records::{Collected, Entry, ExternalCheckpoint};
use super::report::{Finding, InputError, Kind, Severity, StreamWindow};
use super::rules::checkpoints::{Signature, signature};
use super::{Options, time};
use crate::core::note::{Checkpoint, parse_note};
use crate::core::vocab::event;
use std::collections::BTreeMap;

/// What the auditor asked to verify.
#[derive(Clone, Debug, Default)]
pub struct Window {
    /// Unix ns: the window starts at the newest valid checkpoint at or
    /// before it.
    pub since: Option<u64>,
    /// Unix ns: the window ends at the first valid checkpoint at or after
    /// it; heartbeats are judged as of it.
    pub until: Option<u64>,
    /// Only these streams (a partial copy), when not empty.
    pub streams: Vec<String>,
}

impl Window {
    pub fn is_set(&self) -> bool {
        self.since.is_some() || self.until.is_some() || !self.streams.is_empty()
    }
}

/// A validly signed checkpoint of a stream, as the window sees it.
#[derive(Clone, Debug)]
struct Mark {
    /// The record carrying it.
    carrier: u64,
    /// The records it covers: 1..=covered (a log checkpoint: those before
    /// its carrier).
    covered: u64,
    /// Its size as signed (a log checkpoint: the log's size).
    size: u64,
    time: u64,
    signer: String,
    log: bool,
}

/// The valid checkpoints of a stream, oldest first.
fn marks(stream_id: &str, entries: &[Entry], lines: &[ExternalCheckpoint], options: &Options) -> Vec<Mark> {
    let in_band = entries
        .iter()
        .filter(|e| e.event() == Some(event::CHECKPOINT))
        .map(|e| (e.sequence, e.control.as_deref().map(|c| c.body.as_str()).unwrap_or_default()));
    let lines = lines.iter().map(|l| (l.sequence, l.note.as_str()));
    let mut marks: Vec<Mark> = Vec::new();
    for (carrier, note) in in_band.chain(lines) {
        let Ok(n) = parse_note(note) else { continue };
        let Ok(cp) = Checkpoint::parse(&n.text) else { continue };
        let Signature::Valid(signer) = signature(&n, options) else { continue };
        let log = cp.origin != stream_id;
        if !log && carrier != cp.size + 1 {
            continue; // replayed: the checkpoint rule reports it
        }
        let covered = if log { carrier.saturating_sub(1) } else { cp.size };
        marks.push(Mark { carrier, covered, size: cp.size, time: cp.time_unix_nano, signer, log });
    }
    marks.sort_by_key(|m| (m.time, m.carrier));
    marks.dedup_by_key(|m| (m.time, m.carrier));
    marks
}

/// Keeps only the streams asked for; a stream asked for that is not among
/// the inputs is an input error.
pub fn select_streams(c: &mut Collected, window: &Window, errors: &mut Vec<InputError>) {
    if window.streams.is_empty() {
        return;
    }
    let keep = |id: &String| window.streams.contains(id);
    for id in &window.streams {
        if !c.streams.contains_key(id)
            && !c.spilled.contains_key(id)
            && !c.checkpoints.contains_key(id)
            && !c.stream_findings.contains_key(id)
        {
            errors.push(InputError {
                file: "--stream".into(),
                line: None,
                message: format!("stream {id}: no record or checkpoint line of it among the inputs"),
            });
        }
    }
    c.streams.retain(|id, _| keep(id));
    c.spilled.retain(|id, _| keep(id));
    c.checkpoints.retain(|id, _| keep(id));
    c.stream_findings.retain(|id, _| keep(id));
}

/// Where one stream's window was cut.
pub struct Cut {
    /// Records 1..=floor are before the window: not required, not checked.
    pub floor: u64,
    /// Records after it are after the window (the carrier of the first
    /// checkpoint at or after its end).
    pub ceiling: Option<u64>,
    pub report: StreamWindow,
    pub finding: Option<Finding>,
    /// The key lineage of its start record, when the window cut it: a
    /// candidate for its key (§8.1: tried on its records, never trusted).
    pub start_lineage: Option<Vec<String>>,
}

/// Cuts one stream's checkpoint lines to the window and says where its
/// records are cut (the pass over them, `rules::walk`, leaves out and
/// counts those outside); `None` when no time bound was given. `entries`:
/// the records in memory, among them every control record;
/// `first_present`: the lowest number among all its records.
pub fn cut(
    stream_id: &str,
    entries: &[Entry],
    first_present: Option<u64>,
    lines: &mut Vec<ExternalCheckpoint>,
    window: &Window,
    options: &Options,
) -> Option<Cut> {
    if window.since.is_none() && window.until.is_none() {
        return None;
    }
    let marks = marks(stream_id, entries, lines, options);
    let has_start = entries.iter().any(|e| e.sequence == 1 && e.event() == Some(event::START));
    let mut report = StreamWindow::default();
    let mut finding = None;
    let mut floor = 0u64;
    match window.since {
        None => {
            report.anchor = "start".into();
        }
        Some(since) => match marks.iter().rev().find(|m| m.time <= since) {
            Some(m) => {
                floor = m.covered;
                report.anchor = "checkpoint".into();
                report.size = Some(m.size);
                report.sequence = Some(m.carrier);
                report.time = Some(time::rfc3339(m.time));
                report.signer = Some(m.signer.clone());
                report.log = m.log;
            }
            None if has_start => report.anchor = "start".into(),
            None => {
                report.anchor = "none".into();
                let first = first_present.unwrap_or(1);
                floor = first.saturating_sub(1);
                let why = match marks.first() {
                    Some(m) => format!(
                        "its first valid checkpoint among the inputs is at {} (record {}), after the window's start {}",
                        time::rfc3339(m.time),
                        m.carrier,
                        time::rfc3339(since)
                    ),
                    None => "no valid checkpoint of it is among the inputs".to_string(),
                };
                finding = Some(
                    Finding::new(
                        Severity::Error,
                        Kind::UnanchoredWindow,
                        format!(
                            "the window cannot be anchored: no valid checkpoint at or before {} among the inputs and its start record is not among them ({why}); records before {first} are not required, but nothing vouches that records {first}.. continue the stream's history: add the files (or the checkpoint file) holding a checkpoint at or before the window's start",
                            time::rfc3339(since)
                        ),
                    )
                    .range(first, first),
                );
            }
        },
    }
    let ceiling = window.until.and_then(|until| marks.iter().find(|m| m.time >= until && m.carrier > floor));
    if let Some(m) = ceiling {
        report.through_checkpoint = Some(time::rfc3339(m.time));
    }
    let ceiling = ceiling.map(|m| m.carrier);
    let inside = |n: u64| n > floor && ceiling.is_none_or(|c| n <= c);
    let start_lineage = entries
        .iter()
        .find(|e| e.sequence == 1 && floor >= 1 && e.event() == Some(event::START))
        .and_then(|e| e.control.as_deref())
        .map(|c| c.key_lineage.clone())
        .filter(|l| !l.is_empty());
    lines.retain(|l| inside(l.sequence));
    report.from_sequence = floor + 1;
    Some(Cut { floor, ceiling, report, finding, start_lineage })
}

/// The sentence a report gives for a stream's window.
pub fn describe(w: &StreamWindow, through: u64) -> String {
    let from = match w.anchor.as_str() {
        "checkpoint" => {
            let what = if w.log { "log checkpoint at size" } else { "checkpoint at size" };
            format!(
                "from {what} {} (record {}), signed by {} at {}",
                w.size.unwrap_or(0),
                w.sequence.unwrap_or(0),
                w.signer.as_deref().unwrap_or("?"),
                w.time.as_deref().unwrap_or("?")
            )
        }
        "start" => "from its start record".to_string(),
        _ => format!("not anchored: from record {} as present", w.from_sequence),
    };
    let to = match &w.through_checkpoint {
        Some(t) => format!("through record {through} (the checkpoint at {t})"),
        None => format!("through record {through}"),
    };
    format!("{from}, {to}")
}

/// Per log (format version 2): the newest valid log checkpoint at or
/// before the window's start, among the checkpoints `(size, time, valid)`.
pub fn log_anchor(cps: impl Iterator<Item = (u64, Option<u64>, bool)>, since: u64) -> Option<(u64, u64)> {
    cps.filter(|(_, t, valid)| *valid && t.is_some_and(|t| t <= since))
        .map(|(s, t, _)| (s, t.unwrap_or(0)))
        .max_by_key(|&(s, t)| (t, s))
}

/// The window as the report states it.
pub fn report(window: &Window) -> Option<super::report::WindowReport> {
    window.is_set().then(|| super::report::WindowReport {
        since: window.since.map(time::rfc3339),
        until: window.until.map(time::rfc3339),
        streams: window.streams.clone(),
        time: "checkpoint".into(),
    })
}

/// Per stream, the window's cut, for later rules.
pub type Cuts = BTreeMap<String, u64>;
