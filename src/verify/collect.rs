//! Collecting the inputs: every file is read (large JSON-lines files on all
//! cores), every record admitted to its stream by the stamp rule, and only
//! compact facts per record kept.

use super::read::{self, Item, json};
use super::records::{Collected, Entry, ExternalCheckpoint, Loc};
use super::report::{Finding, InputError, Kind, Severity};
use super::rules;
use crate::core::canonical::Scratch;

/// Files smaller than this are read by one thread.
const PARALLEL_MIN_BYTES: usize = 4 << 20;

/// Reads every input into one [`Collected`], with the errors of inputs and
/// lines that could not be read at all. The inputs are named (a file's path, an object's s3:// URL) and each is
/// read only when its turn comes (`read::files::read`, `read::s3`).
pub fn collect_inputs(inputs: impl Iterator<Item = (String, Result<Vec<u8>, String>)>) -> (Collected, Vec<InputError>) {
    let mut c = Collected::default();
    let mut errors = Vec::new();
    let mut scratch = Scratch::new();
    for (i, (name, read)) in inputs.enumerate() {
        c.files.push(name.clone());
        match read {
            Ok(bytes) => collect_file(&mut c, &mut errors, &mut scratch, i as u32, &name, &bytes),
            Err(message) => errors.push(InputError { file: name, line: None, message }),
        }
    }
    (c, errors)
}

/// Reads one file into `c`. A large file of JSON lines is cut at line
/// boundaries and its parts are parsed and hashed on all cores; if any
/// part does not parse (a value spanning lines, or a damaged line), the
/// whole file is read again by one thread, whose errors are authoritative.
fn collect_file(
    c: &mut Collected,
    errors: &mut Vec<InputError>,
    scratch: &mut Scratch,
    file: u32,
    name: &str,
    bytes: &[u8],
) {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get()).min(8);
    if threads > 1 && bytes.len() >= PARALLEL_MIN_BYTES {
        let cuts = line_cuts(bytes, threads);
        let parts: Vec<(Collected, Vec<InputError>, bool)> = std::thread::scope(|s| {
            let handles: Vec<_> = cuts
                .iter()
                .enumerate()
                .map(|(k, &(start, first_line))| {
                    let end = cuts.get(k + 1).map_or(bytes.len(), |c| c.0);
                    let files = c.files.clone();
                    s.spawn(move || {
                        let mut part = Collected { files, ..Default::default() };
                        let mut part_errors = Vec::new();
                        let chunk = &bytes[start..end];
                        let parsed = collect_values(
                            &mut part,
                            &mut part_errors,
                            &mut Scratch::new(),
                            file,
                            name,
                            chunk,
                            first_line,
                        );
                        (part, part_errors, parsed)
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().expect("verifier thread panicked")).collect()
        });
        if parts.iter().all(|(_, _, parsed)| *parsed) {
            for (part, part_errors, _) in parts {
                c.merge(part);
                errors.extend(part_errors);
            }
            return;
        }
    }
    collect_values(c, errors, scratch, file, name, bytes, 1);
}

/// Cut points just after a newline, about evenly spaced, each with the
/// line number it starts.
fn line_cuts(bytes: &[u8], parts: usize) -> Vec<(usize, u64)> {
    let mut cuts = vec![(0usize, 1u64)];
    let mut line = 1u64;
    let mut last = 0usize;
    for k in 1..parts {
        let target = (bytes.len() * k / parts).max(last);
        let Some(nl) = bytes[target..].iter().position(|&b| b == b'\n') else { break };
        let at = target + nl + 1;
        line += bytes[last..at].iter().filter(|&&b| b == b'\n').count() as u64;
        cuts.push((at, line));
        last = at;
    }
    cuts.dedup_by_key(|c| c.0);
    cuts
}

/// Reads the JSON values of `bytes`, whose first line is `first_line` of
/// the file, into `c`. Returns false when a value did not parse (reading
/// stops there; the error is recorded like every other).
fn collect_values(
    c: &mut Collected,
    errors: &mut Vec<InputError>,
    scratch: &mut Scratch,
    file: u32,
    name: &str,
    bytes: &[u8],
    first_line: u64,
) -> bool {
    let mut parsed = true;
    json::for_each_json_value(bytes, |line, value| {
        let line = line + first_line - 1;
        let result = match value {
            Ok(v) => read::read_value(&v, scratch, &mut |item| admit(c, file, line, item)).map_err(|e| e.to_string()),
            Err(e) => {
                parsed = false;
                Err(e)
            }
        };
        if let Err(message) = result {
            errors.push(InputError { file: name.to_string(), line: Some(line), message });
        }
    });
    parsed
}

/// Keeps what one item says: a checkpoint line, a request, or a record
/// admitted to its stream by the stamp rule (SPEC §4.1).
fn admit(c: &mut Collected, file: u32, line: u64, item: Item<'_>) {
    match item {
        Item::CheckpointLine { stream_id, sequence, note } => {
            let cp = ExternalCheckpoint { sequence, note: note.to_string(), file, line };
            c.checkpoints.entry(stream_id.to_string()).or_default().push(cp);
        }
        Item::Request => c.requests += 1,
        Item::Record { index, record } => {
            c.records += 1;
            let loc = Loc { file, line, record: index };
            let record = match record {
                Ok(r) => r,
                Err(e) => {
                    let f = Finding::new(
                        Severity::Error,
                        Kind::UnreadableRecord,
                        format!("record cannot be verified: {e}"),
                    );
                    c.findings.push(f.located(c.location(loc)));
                    return;
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
            match stamp.and_then(|s| rules::stamps::admit(&s).map(|a| (s.stream_id, a))) {
                Ok((stream_id, a)) => {
                    let entry = Entry {
                        sequence: a.sequence,
                        value: a.value,
                        previous: a.previous,
                        record_hash: record.record_hash,
                        algorithm: a.algorithm,
                        key_epoch: a.key_epoch,
                        end: a.end,
                        loc,
                        signal: record.signal,
                        content_mismatch,
                        control: record.control,
                        link_ok: None,
                    };
                    c.streams.entry(stream_id.to_string()).or_default().push(entry);
                }
                Err(why) => {
                    let f = Finding::new(Severity::Error, Kind::MalformedStamp, why);
                    c.findings.push(f.located(c.location(loc)));
                }
            }
        }
    }
}
