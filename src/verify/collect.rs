//! Collecting the inputs: every file is read as a stream of JSON values
//! (large runs of JSON lines on all cores), every record admitted to its
//! stream by the stamp rule, and only compact facts per record kept.

use super::read::input::{self, Content};
use super::read::{self, Item, files, json, protobuf};
use super::records::{Collected, Entry, ExternalCheckpoint, Loc};
use super::report::{Finding, InputError, Kind, Severity};
use super::rules;
use crate::core::canonical::Scratch;

/// Runs of complete lines shorter than this are read by one thread.
const PARALLEL_MIN_BYTES: usize = 4 << 20;

/// How much of a file is looked at, at most, to be read in parallel.
const WINDOW_BYTES: usize = 32 << 20;

/// Limits of reading (SPEC §8.0).
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    pub max_value_bytes: usize,
    pub max_decompressed_bytes: u64,
    /// Records held in memory before they spill to sorted runs on disk
    /// (`None`: never; `--spill-after`).
    pub spill_after: Option<usize>,
}

/// Records held in memory before they spill (about 20 MB with the copies
/// made while they are sorted).
pub const SPILL_AFTER: usize = 1 << 15;

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_value_bytes: json::MAX_VALUE_BYTES,
            max_decompressed_bytes: files::MAX_DECOMPRESSED_BYTES,
            spill_after: Some(SPILL_AFTER),
        }
    }
}

/// An input, opened: a file or standard input (`read::files`: gzip and
/// zstd taken off, bounded) or an object read from S3 (`read::s3`).
pub type Opened = Result<Box<dyn std::io::Read + Send>, String>;

/// Reads every input into one [`Collected`], with the errors of inputs and
/// values that could not be read. The inputs are named (a file's path, an
/// object's s3:// URL) and each is opened only when its turn comes.
pub fn collect_inputs(inputs: impl Iterator<Item = (String, Opened)>, limits: Limits) -> (Collected, Vec<InputError>) {
    let mut c = Collected::default();
    c.spill_after(limits.spill_after);
    let mut errors = Vec::new();
    let mut scratch = Scratch::new();
    for (i, (name, read)) in inputs.enumerate() {
        c.files.push(name.clone());
        match read.and_then(|reader| input::classify(reader, limits.max_value_bytes)) {
            Ok(Content::Json(reader)) => {
                let mut values = json::Values::with_limit(reader, 1, limits.max_value_bytes);
                collect_file(&mut c, &mut errors, &mut scratch, i as u32, &name, &mut values, limits);
            }
            Ok(Content::Framed(reader)) => {
                let mut messages = protobuf::Messages::framed(reader, limits.max_value_bytes);
                collect_messages(&mut c, &mut errors, &mut scratch, i as u32, &name, &mut messages, limits);
            }
            Ok(Content::Message(reader)) => {
                let mut messages = protobuf::Messages::whole(reader, limits.max_value_bytes);
                collect_messages(&mut c, &mut errors, &mut scratch, i as u32, &name, &mut messages, limits);
            }
            Err(message) => errors.push(InputError { file: name, line: None, message }),
        }
    }
    (c, errors)
}

/// Reads one file into `c`. Runs of complete lines are cut at line
/// boundaries and their parts parsed and hashed on all cores; if any part
/// has a value that cannot be read (a value spanning lines, or a damaged
/// line), the run is read again by one thread, whose results are
/// authoritative.
fn collect_file<R: std::io::Read>(
    c: &mut Collected,
    errors: &mut Vec<InputError>,
    scratch: &mut Scratch,
    file: u32,
    name: &str,
    values: &mut json::Values<R>,
    limits: Limits,
) {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get()).min(8);
    loop {
        values.fill_to(WINDOW_BYTES);
        let run = values.lines_at_hand().filter(|(run, _)| threads > 1 && run.len() >= PARALLEL_MIN_BYTES);
        let stop = match run {
            Some((run, first_line)) => {
                let len = run.len();
                if let Some(parts) = in_parallel(c, run, first_line, threads, file, name, limits) {
                    for (part, part_errors) in parts {
                        c.merge(part);
                        errors.extend(part_errors);
                    }
                    release_freed_memory();
                    values.skip(len);
                    continue;
                }
                values.offset() + len as u64
            }
            None => values.offset() + WINDOW_BYTES as u64,
        };
        while values.offset() < stop {
            let Some((line, value)) = values.next_value() else { return };
            take(c, errors, scratch, file, name, line, value);
        }
    }
}

/// Gives back to the system what the threads of a parallel run freed: each
/// run's threads allocate in their own malloc arenas, which otherwise keep
/// the memory of the parsed lines, and the verifier's peak RSS would grow
/// with the runs read rather than stay bounded (issue 11).
fn release_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only returns free memory of the arenas to the
    // system; it touches no live allocation.
    unsafe {
        libc::malloc_trim(0);
    }
}

/// Reads the protobuf messages of one file into `c`; the number of a
/// message in its file stands where a JSON value's line does (SPEC §9).
fn collect_messages<R: std::io::Read>(
    c: &mut Collected,
    errors: &mut Vec<InputError>,
    scratch: &mut Scratch,
    file: u32,
    name: &str,
    messages: &mut protobuf::Messages<R>,
    limits: Limits,
) {
    while let Some(m) = messages.next() {
        let (number, offset) = (m.number, m.offset);
        let result = m.bytes.and_then(|bytes| {
            protobuf::read_message(bytes, limits.max_value_bytes, scratch, &mut |item| admit(c, file, number, item))
                .map_err(|e| format!("message at byte offset {offset}: {e}"))
        });
        if let Err(message) = result {
            c.unreadable += 1;
            errors.push(InputError { file: name.to_string(), line: Some(number), message });
        }
    }
}

/// Reads a run of complete lines in `threads` parts at once; `None` when a
/// part has a value it cannot read.
fn in_parallel(
    c: &Collected,
    run: &[u8],
    first_line: u64,
    threads: usize,
    file: u32,
    name: &str,
    limits: Limits,
) -> Option<Vec<(Collected, Vec<InputError>)>> {
    let cuts = line_cuts(run, threads, first_line);
    let parts: Vec<(Collected, Vec<InputError>)> = std::thread::scope(|s| {
        let handles: Vec<_> = cuts
            .iter()
            .enumerate()
            .map(|(k, &(start, line))| {
                let end = cuts.get(k + 1).map_or(run.len(), |c| c.0);
                let files = c.files.clone();
                s.spawn(move || {
                    let mut part = Collected { files, ..Default::default() };
                    let mut part_errors = Vec::new();
                    let mut scratch = Scratch::new();
                    let mut values = json::Values::over(&run[start..end], line, limits.max_value_bytes);
                    while let Some((line, value)) = values.next_value() {
                        take(&mut part, &mut part_errors, &mut scratch, file, name, line, value);
                    }
                    (part, part_errors)
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().expect("verifier thread panicked")).collect()
    });
    parts.iter().all(|(part, _)| part.unreadable == 0).then_some(parts)
}

/// Cut points just after a newline, about evenly spaced, each with the
/// line number it starts.
fn line_cuts(bytes: &[u8], parts: usize, first_line: u64) -> Vec<(usize, u64)> {
    let mut cuts = vec![(0usize, first_line)];
    let mut line = first_line;
    let mut last = 0usize;
    for k in 1..parts {
        let target = (bytes.len() * k / parts).max(last);
        let Some(nl) = bytes[target..].iter().position(|&b| b == b'\n') else { break };
        let at = target + nl + 1;
        line += json::newlines(&bytes[last..at]);
        cuts.push((at, line));
        last = at;
    }
    cuts.dedup_by_key(|c| c.0);
    cuts.retain(|c| c.0 < bytes.len());
    cuts
}

/// Keeps one value read from a file: what it holds, or why it cannot be
/// read (counted as unreadable, SPEC §9).
fn take(
    c: &mut Collected,
    errors: &mut Vec<InputError>,
    scratch: &mut Scratch,
    file: u32,
    name: &str,
    line: u64,
    value: Result<read::node::Node<'_>, String>,
) {
    let result = value.and_then(|v| read::read_value(&v, scratch, &mut |item| admit(c, file, line, item)));
    if let Err(message) = result {
        c.unreadable += 1;
        errors.push(InputError { file: name.to_string(), line: Some(line), message });
    }
}

/// A finding about one record: in its stream when its stamp names one
/// (SPEC §9), else among the findings outside any stream.
fn record_finding(c: &mut Collected, stream_id: Option<&str>, sequence: Option<i64>, f: Finding) {
    match stream_id {
        Some(id) => {
            let f = match sequence.and_then(|n| u64::try_from(n).ok()) {
                Some(n) => f.at(n),
                None => f,
            };
            c.stream_findings.entry(id.to_string()).or_default().push(f);
        }
        None => c.findings.push(f),
    }
}

/// Keeps what one item says: a checkpoint line, a request, or a record
/// admitted to its stream by the stamp rule (SPEC §4.1).
fn admit(c: &mut Collected, file: u32, line: u64, item: Item<'_>) {
    match item {
        Item::CheckpointLine { stream_id, sequence, note, end } => {
            c.checkpoint_lines += 1;
            let cp = ExternalCheckpoint { sequence, note: note.to_string(), end, file, line };
            c.checkpoints.entry(stream_id.to_string()).or_default().push(cp);
        }
        Item::Request => c.requests += 1,
        Item::Record { index, record } => {
            c.records += 1;
            let loc = Loc { file, line, record: index };
            let record = match record {
                Ok(r) => r,
                Err(u) => {
                    let f = Finding::new(
                        Severity::Error,
                        Kind::UnreadableRecord,
                        format!("record cannot be verified: {}", u.error),
                    );
                    let f = f.located(c.location(loc));
                    return record_finding(c, u.stream_id, u.sequence, f);
                }
            };
            let content_mismatch = record.content_hash.filter(|h| h.mismatch.is_some()).map(Box::new);
            let Some(stamp) = record.stamp else {
                if let Some(h) = &content_mismatch {
                    c.findings.push(rules::content_hash::unstamped(h).located(c.location(loc)));
                }
                c.unstamped.push(loc);
                return;
            };
            let admitted = stamp.and_then(|s| {
                rules::stamps::admit(&s).map(|a| (s.stream_id, a)).map_err(|why| read::stamp::Malformed {
                    why,
                    stream_id: Some(s.stream_id),
                    sequence: Some(s.sequence),
                })
            });
            match admitted {
                Ok((stream_id, a)) => {
                    let entry = Entry {
                        sequence: a.sequence,
                        value: a.value,
                        previous: a.previous,
                        record_hash: record.record_hash,
                        algorithm: a.algorithm,
                        key_epoch: a.key_epoch,
                        end: a.end,
                        compact: a.compact,
                        loc,
                        signal: record.signal,
                        content_mismatch,
                        control: record.control,
                        link_ok: None,
                    };
                    c.hold(stream_id, entry);
                }
                Err(m) => {
                    let f = Finding::new(Severity::Error, Kind::MalformedStamp, m.why).located(c.location(loc));
                    record_finding(c, m.stream_id, m.sequence, f);
                }
            }
        }
    }
}
