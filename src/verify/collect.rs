//! Collecting the inputs: every file is read as a stream of JSON values
//! (large runs of JSON lines on all cores, [`pipeline`]), every record
//! admitted to its stream by the stamp rule, and only compact facts per
//! record kept.

use super::read::input::{self, Content};
use super::read::{self, Item, files, json, protobuf};
use super::records::{Collected, Entry, ExternalCheckpoint, Loc};
use super::report::{Finding, InputError, Kind, Severity};
use super::rules;
use crate::core::canonical::Scratch;

mod pipeline;

/// Limits of reading (SPEC §8.0).
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    pub max_value_bytes: usize,
    pub max_decompressed_bytes: u64,
    /// Records held in memory before they spill to sorted runs on disk
    /// (`None`: never; `--spill-after`).
    pub spill_after: Option<usize>,
    /// Threads that read (`--threads`; by default one per CPU the process
    /// may use, at most 8). One reads everything on the calling thread.
    pub threads: usize,
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
            threads: default_threads(),
        }
    }
}

/// One reading thread per CPU the process may use (its affinity mask, as
/// `taskset` sets it), at most 8.
pub fn default_threads() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get()).min(8)
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
    let read_all = |mut flow: Option<&mut pipeline::Flow<'_>>| {
        // The window read into, kept for the next file: a fresh one is
        // faulted in page by page.
        let mut window = Vec::new();
        for (i, (name, read)) in inputs.enumerate() {
            c.files.push(name.clone());
            let mut keep = Keep { c: &mut c, errors: &mut errors, scratch: &mut scratch, file: i as u32, name: &name };
            let content = read.and_then(|reader| input::classify(reader, limits.max_value_bytes));
            if let (Ok(Content::Json(_)), Some(flow)) = (&content, flow.as_deref_mut()) {
                let Ok(Content::Json(reader)) = content else { unreachable!() };
                flow.read_file(&mut keep, reader);
                continue;
            }
            if let (Ok(Content::Framed(_) | Content::Message(_)), Some(flow)) = (&content, flow.as_deref_mut()) {
                let mut messages = match content {
                    Ok(Content::Framed(reader)) => protobuf::Messages::framed(reader, limits.max_value_bytes),
                    Ok(Content::Message(reader)) => protobuf::Messages::whole(reader, limits.max_value_bytes),
                    _ => unreachable!(),
                };
                flow.read_messages(&mut keep, &mut messages);
                continue;
            }
            // What the workers hold of the files before is kept first.
            if let Some(flow) = flow.as_deref_mut() {
                flow.drain(&mut keep);
            }
            match content {
                Ok(Content::Json(reader)) => {
                    let room = std::mem::take(&mut window);
                    let mut values = json::Values::with_limit(reader, 1, limits.max_value_bytes).with_room(room);
                    while let Some((line, value)) = values.next_value() {
                        keep.take(line, value);
                    }
                    window = values.into_room();
                }
                Ok(Content::Framed(reader)) => {
                    let mut messages = protobuf::Messages::framed(reader, limits.max_value_bytes);
                    collect_messages(&mut keep, &mut messages, limits);
                }
                Ok(Content::Message(reader)) => {
                    let mut messages = protobuf::Messages::whole(reader, limits.max_value_bytes);
                    collect_messages(&mut keep, &mut messages, limits);
                }
                Err(message) => keep.errors.push(InputError { file: name.clone(), line: None, message }),
            }
        }
        if let Some(flow) = flow {
            let name = String::new();
            flow.drain(&mut Keep {
                c: &mut c,
                errors: &mut errors,
                scratch: &mut scratch,
                file: u32::MAX,
                name: &name,
            });
        }
    };
    if limits.threads > 1 {
        pipeline::with_workers(limits, |flow| read_all(Some(flow)));
    } else {
        read_all(None);
    }
    (c, errors)
}

/// Where the calling thread keeps what it reads of a file: the whole
/// run's collection and errors, its scratch, and the file's number and
/// name.
struct Keep<'a> {
    c: &'a mut Collected,
    errors: &'a mut Vec<InputError>,
    scratch: &'a mut Scratch,
    file: u32,
    name: &'a str,
}

impl Keep<'_> {
    /// Keeps one value read on this thread.
    fn take(&mut self, line: u64, value: Result<read::node::Node<'_>, String>) {
        take(self.c, self.errors, self.scratch, self.file, self.name, line, value);
    }
}

/// Gives back to the system what the threads of a parallel run freed: each
/// run's threads allocate in their own malloc arenas, which otherwise keep
/// the memory of the parsed lines, and the verifier's peak RSS would grow
/// with the runs read rather than stay bounded (issue 11).
pub(super) fn release_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only returns free memory of the arenas to the
    // system; it touches no live allocation.
    unsafe {
        libc::malloc_trim(0);
    }
}

/// Reads the protobuf messages of one file into `keep`; the number of a
/// message in its file stands where a JSON value's line does (SPEC §9).
fn collect_messages<R: std::io::Read>(keep: &mut Keep<'_>, messages: &mut protobuf::Messages<R>, limits: Limits) {
    while let Some(m) = messages.next() {
        let Keep { c, errors, scratch, file, name } = keep;
        take_message(c, errors, scratch, *file, name, (m.number, m.offset), m.bytes, limits.max_value_bytes);
    }
}

/// Keeps one protobuf message (`at`: its number in its file and its byte
/// offset), or why it cannot be read (counted as unreadable, SPEC §9).
#[allow(clippy::too_many_arguments)]
fn take_message(
    c: &mut Collected,
    errors: &mut Vec<InputError>,
    scratch: &mut Scratch,
    file: u32,
    name: &str,
    (number, offset): (u64, u64),
    bytes: Result<&[u8], String>,
    max_value_bytes: usize,
) {
    let result = bytes.and_then(|bytes| {
        protobuf::read_message(bytes, max_value_bytes, scratch, &mut |item| admit(c, file, name, number, item))
            .map_err(|e| format!("message at byte offset {offset}: {e}"))
    });
    if let Err(message) = result {
        c.unreadable += 1;
        errors.push(InputError { file: name.to_string(), line: Some(number), message });
    }
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
    let result = value.and_then(|v| read::read_value(&v, scratch, &mut |item| admit(c, file, name, line, item)));
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
/// admitted to its stream by the stamp rule (SPEC §4.1). Findings name the
/// file (`name`, not looked up by number: a worker's part has no file table).
fn admit(c: &mut Collected, file: u32, name: &str, line: u64, item: Item<'_>) {
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
                    let f = f.located(at(name, loc));
                    return record_finding(c, u.stream_id, u.sequence, f);
                }
            };
            let content_mismatch = record.content_hash.filter(|h| h.mismatch.is_some()).map(Box::new);
            let Some(stamp) = record.stamp else {
                if let Some(h) = &content_mismatch {
                    c.findings.push(rules::content_hash::unstamped(h).located(at(name, loc)));
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
                    let f = Finding::new(Severity::Error, Kind::MalformedStamp, m.why).located(at(name, loc));
                    record_finding(c, m.stream_id, m.sequence, f);
                }
            }
        }
    }
}

/// Where a record read from file `name` is.
fn at(name: &str, loc: Loc) -> crate::verify::report::Location {
    crate::verify::report::Location { file: name.to_string(), line: loc.line, record: u64::from(loc.record) }
}
