//! Shards (docs/SPEC.md §11): `auditchain verify --summary-out S FILES…`
//! reads one shard of an archive and writes what the rules need of it —
//! per record its stamp and hashes (base64), never its content; control
//! records' facts; checkpoint lines; findings of the read; input errors —
//! as versioned JSON lines. `auditchain verify --merge S…` reads the
//! summaries back into one collection, in the order one run over every
//! shard's files would have read them, and applies the rules: the same
//! verdict and findings as that run.

use super::read::ContentHashRead;
use super::records::{Collected, Control, Entry, ExternalCheckpoint, Loc};
use super::report::{Finding, InputError, Report};
use super::{Options, Read, analyze_read, as_of_until, read_inputs, report};
use crate::core::canonical::Signal;
use crate::core::chain::{Algorithm, Hash};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};
use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};

/// The summary format's version (the header's `auditchain_summary`).
pub const SUMMARY_VERSION: u32 = 1;

#[derive(Serialize, Deserialize)]
struct Header {
    auditchain_summary: u32,
    /// `<crate version> (spec N, otlp-jcs-v1)`, for the record.
    generator: String,
    /// The shard's inputs, as read: index = `file` of the lines below.
    files: Vec<String>,
    /// Files and objects read.
    inputs: u64,
}

/// One admitted record.
#[derive(Serialize, Deserialize)]
struct SEntry {
    stream: String,
    n: u64,
    /// `audit.integrity.value`, base64.
    v: String,
    /// `audit.sequence.previous_hash`, base64 (absent: none, or compact).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    p: Option<String>,
    /// The record hash (§2.7), base64.
    h: String,
    a: Algorithm,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    k: Option<u64>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    end: bool,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    compact: bool,
    /// `[file, line, record]`.
    at: [u64; 3],
    signal: Signal,
    /// The content-hash mismatch (§4.6): why, and whether it was marked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    content_mismatch: Option<(String, bool)>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    control: Option<Box<Control>>,
}

#[derive(Serialize, Deserialize)]
struct SLine {
    stream: String,
    sequence: u64,
    note: String,
    end: bool,
    file: u32,
    line: u64,
}

#[derive(Serialize, Deserialize, Default)]
struct Counts {
    requests: u64,
    records: u64,
    checkpoint_lines: u64,
    unreadable: u64,
}

/// One line of a summary after the header.
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum Item {
    Entry(SEntry),
    CheckpointLine(SLine),
    /// An unstamped record: `[file, line, record]`.
    Unstamped([u64; 3]),
    /// A finding of the read outside any stream.
    Finding(Finding),
    /// A finding of the read about a record of a stream.
    StreamFinding {
        stream: String,
        finding: Finding,
    },
    Error(InputError),
    /// The last line: the shard's counts. A summary without it was cut.
    End(Counts),
}

fn b64(h: &Hash) -> String {
    B64.encode(h)
}

fn hash(s: &str, what: &str) -> Result<Hash, String> {
    let v = B64.decode(s).map_err(|e| format!("{what}: not base64: {e}"))?;
    v.try_into().map_err(|_| format!("{what}: not 32 bytes"))
}

/// What writing a summary did.
pub struct Written {
    pub files: u64,
    pub records: u64,
    pub errors: u64,
}

/// Reads one shard's inputs and writes its summary to `out`.
pub fn write(paths: &[PathBuf], options: &Options, out: &Path) -> Result<Written, String> {
    let mut read = read_inputs(paths, options);
    let streams = std::mem::take(&mut read.collected.streams);
    let mut spilled = std::mem::take(&mut read.collected.spilled);
    let file = std::fs::File::create(out).map_err(|e| format!("{}: {e}", out.display()))?;
    let mut w = std::io::BufWriter::new(file);
    let err = |e: std::io::Error| format!("{}: {e}", out.display());
    let c = &read.collected;
    let header = Header {
        auditchain_summary: SUMMARY_VERSION,
        generator: format!("auditchain {} (spec {})", env!("CARGO_PKG_VERSION"), crate::core::SPEC_VERSION),
        files: c.files.clone(),
        inputs: read.inputs,
    };
    let line = |w: &mut std::io::BufWriter<std::fs::File>, v: &dyn erased::Ser| -> Result<(), String> {
        v.write_line(w).map_err(err)
    };
    line(&mut w, &header)?;
    for (id, entries) in streams {
        // In number order, from memory and the sorted runs on disk.
        let mut sorted = super::spill::sorted(entries, spilled.remove(&id).unwrap_or_default());
        for e in &mut sorted {
            let s = SEntry {
                stream: id.clone(),
                n: e.sequence,
                v: b64(&e.value),
                p: e.previous.as_ref().map(b64),
                h: b64(&e.record_hash),
                a: e.algorithm,
                k: e.key_epoch,
                end: e.end,
                compact: e.compact,
                at: [u64::from(e.loc.file), e.loc.line, u64::from(e.loc.record)],
                signal: e.signal,
                content_mismatch: e
                    .content_mismatch
                    .as_deref()
                    .map(|m| (m.mismatch.clone().unwrap_or_default(), m.marked)),
                control: e.control.clone(),
            };
            line(&mut w, &Item::Entry(s))?;
        }
        if let Some(why) = sorted.error() {
            return Err(format!("stream {id}: {why}"));
        }
    }
    for (id, lines) in &c.checkpoints {
        for l in lines {
            let s = SLine {
                stream: id.clone(),
                sequence: l.sequence,
                note: l.note.clone(),
                end: l.end,
                file: l.file,
                line: l.line,
            };
            line(&mut w, &Item::CheckpointLine(s))?;
        }
    }
    for u in &c.unstamped {
        line(&mut w, &Item::Unstamped([u64::from(u.file), u.line, u64::from(u.record)]))?;
    }
    for f in &c.findings {
        line(&mut w, &Item::Finding(f.clone()))?;
    }
    for (id, fs) in &c.stream_findings {
        for f in fs {
            line(&mut w, &Item::StreamFinding { stream: id.clone(), finding: f.clone() })?;
        }
    }
    for e in &read.errors {
        line(&mut w, &Item::Error(e.clone()))?;
    }
    let counts = Counts {
        requests: c.requests,
        records: c.records,
        checkpoint_lines: c.checkpoint_lines,
        unreadable: c.unreadable,
    };
    line(&mut w, &Item::End(counts))?;
    w.flush().map_err(err)?;
    w.into_inner().map_err(|e| err(e.into_error()))?.sync_all().map_err(err)?;
    Ok(Written { files: read.inputs, records: c.records, errors: read.errors.len() as u64 })
}

mod erased {
    /// Writes any serializable value as one JSON line.
    pub trait Ser {
        fn write_line(&self, w: &mut dyn std::io::Write) -> std::io::Result<()>;
    }
    impl<T: serde::Serialize> Ser for T {
        fn write_line(&self, w: &mut dyn std::io::Write) -> std::io::Result<()> {
            serde_json::to_writer(&mut *w, self)?;
            w.write_all(b"\n")
        }
    }
}

/// One summary, read back.
struct Shard {
    files: Vec<String>,
    inputs: u64,
    c: Collected,
    errors: Vec<InputError>,
}

/// Reads one summary whole and checks it; its records go to `entry` (the
/// stream, the record), everything else into the shard.
fn read_shard(path: &Path, entry: &mut dyn FnMut(String, Entry)) -> Result<Shard, String> {
    let f = std::fs::File::open(path).map_err(|e| e.to_string())?;
    let mut lines = std::io::BufReader::new(f).lines();
    let first = lines.next().ok_or("empty: not a shard summary")?.map_err(|e| e.to_string())?;
    let header: Header = serde_json::from_str(&first)
        .map_err(|e| format!("not a shard summary (auditchain verify --summary-out): {e}"))?;
    if header.auditchain_summary != SUMMARY_VERSION {
        return Err(format!(
            "summary version {} (by {}); this verifier reads version {SUMMARY_VERSION}",
            header.auditchain_summary, header.generator
        ));
    }
    let nfiles = header.files.len() as u64;
    let mut c = Collected { files: header.files.clone(), ..Collected::default() };
    let mut errors = Vec::new();
    let mut ended = false;
    for (i, l) in lines.enumerate() {
        let n = i + 2;
        let l = l.map_err(|e| format!("line {n}: {e}"))?;
        if ended {
            return Err(format!("line {n}: after the summary's end line"));
        }
        let item: Item = serde_json::from_str(&l).map_err(|e| format!("line {n}: {e}"))?;
        let at = |a: [u64; 3]| -> Result<Loc, String> {
            if a[0] >= nfiles {
                return Err(format!("line {n}: file index {} beyond the header's {nfiles} files", a[0]));
            }
            Ok(Loc { file: a[0] as u32, line: a[1], record: u32::try_from(a[2]).map_err(|e| e.to_string())? })
        };
        match item {
            Item::Entry(s) => {
                let what = |f: &str| format!("line {n}: {f}");
                let e = Entry {
                    sequence: s.n,
                    value: hash(&s.v, &what("v"))?,
                    previous: s.p.as_deref().map(|p| hash(p, &what("p"))).transpose()?,
                    record_hash: hash(&s.h, &what("h"))?,
                    algorithm: s.a,
                    key_epoch: s.k,
                    end: s.end,
                    compact: s.compact,
                    loc: at(s.at)?,
                    signal: s.signal,
                    content_mismatch: s
                        .content_mismatch
                        .map(|(why, marked)| Box::new(ContentHashRead { mismatch: Some(why), marked })),
                    control: s.control,
                    link_ok: None,
                };
                entry(s.stream, e);
            }
            Item::CheckpointLine(s) => {
                at([u64::from(s.file), s.line, 0])?;
                let cp =
                    ExternalCheckpoint { sequence: s.sequence, note: s.note, end: s.end, file: s.file, line: s.line };
                c.checkpoints.entry(s.stream).or_default().push(cp);
            }
            Item::Unstamped(a) => c.unstamped.push(at(a)?),
            Item::Finding(f) => c.findings.push(f),
            Item::StreamFinding { stream, finding } => c.stream_findings.entry(stream).or_default().push(finding),
            Item::Error(e) => errors.push(e),
            Item::End(k) => {
                c.requests = k.requests;
                c.records = k.records;
                c.checkpoint_lines = k.checkpoint_lines;
                c.unreadable = k.unreadable;
                ended = true;
            }
        }
    }
    if !ended {
        return Err("it has no end line: the summary was cut (its shard's run did not finish writing it)".into());
    }
    Ok(Shard { files: header.files, inputs: header.inputs, c, errors })
}

/// The order one run reads its inputs in: standard input, local files in
/// path order, then S3 objects (§8: "standard input first, then files in
/// byte order of their paths").
fn input_order(a: &str, b: &str) -> std::cmp::Ordering {
    let class = |x: &str| match x {
        "-" => 0,
        _ if x.starts_with("s3://") => 2,
        _ => 1,
    };
    (class(a), Path::new(a)).cmp(&(class(b), Path::new(b)))
}

/// Reads the summaries and combines them into what one run over every
/// shard's inputs would have collected. Each summary is read twice: once
/// to check it whole (a cut one counts for nothing) and to learn its
/// files, then for its records, which go to the collection as a run's
/// would (spilling to disk past `limits.spill_after`): the merge's memory
/// does not grow with the records either.
fn combine(summaries: &[PathBuf], limits: super::Limits) -> Read {
    let mut errors = Vec::new();
    let mut shards = Vec::new();
    for p in summaries {
        match read_shard(p, &mut |_, _| {}) {
            Ok(s) => shards.push((p.display().to_string(), s)),
            Err(message) => errors.push(InputError { file: p.display().to_string(), line: None, message }),
        }
    }
    // The run's file table, in its order; a file in two shards is read once.
    let mut owner: HashMap<String, usize> = HashMap::new();
    for (k, (name, s)) in shards.iter().enumerate() {
        for f in &s.files {
            if let Some(&first) = owner.get(f) {
                errors.push(InputError {
                    file: name.clone(),
                    line: None,
                    message: format!("{f} is in the summary {} too: it counts once (the first)", shards[first].0),
                });
            } else {
                owner.insert(f.clone(), k);
            }
        }
    }
    let mut files: Vec<String> = owner.keys().cloned().collect();
    files.sort_by(|a, b| input_order(a, b));
    let index: HashMap<&str, u32> = files.iter().enumerate().map(|(i, f)| (f.as_str(), i as u32)).collect();
    let mut c = Collected { files: files.clone(), ..Collected::default() };
    c.spill_after(limits.spill_after);
    let mut read_errors = Vec::new();
    let mut inputs = 0;
    for (k, (name, s)) in shards.into_iter().enumerate() {
        // Indices of this shard's files in the run's table (None: another
        // shard's copy counts).
        let map: Vec<Option<u32>> =
            s.files.iter().map(|f| (owner.get(f) == Some(&k)).then(|| index[f.as_str()])).collect();
        inputs += s.inputs.saturating_sub(map.iter().filter(|m| m.is_none()).count() as u64);
        let remap = |loc: Loc| map[loc.file as usize].map(|file| Loc { file, ..loc });
        let mine = |f: &Finding| f.locations.first().is_none_or(|l| owner.get(&l.file) == Some(&k));
        let Shard { c: sc, errors: se, .. } = s;
        let reread = read_shard(Path::new(&name), &mut |id, e| {
            if let Some(loc) = remap(e.loc) {
                c.hold(&id, Entry { loc, ..e });
            }
        });
        if let Err(message) = reread {
            // It changed since it was checked: what it gave is not to be
            // trusted, and the run is not a pass.
            errors.push(InputError { file: name.clone(), line: None, message: format!("read again: {message}") });
        }
        for (id, lines) in sc.checkpoints {
            let kept =
                lines.into_iter().filter_map(|l| map[l.file as usize].map(|file| ExternalCheckpoint { file, ..l }));
            c.checkpoints.entry(id).or_default().extend(kept);
        }
        c.unstamped.extend(sc.unstamped.into_iter().filter_map(remap));
        c.findings.extend(sc.findings.into_iter().filter(mine));
        for (id, fs) in sc.stream_findings {
            c.stream_findings.entry(id).or_default().extend(fs.into_iter().filter(mine));
        }
        c.requests += sc.requests;
        c.records += sc.records;
        c.checkpoint_lines += sc.checkpoint_lines;
        c.unreadable += sc.unreadable;
        for e in se {
            match index.get(e.file.as_str()) {
                Some(_) if owner.get(&e.file) != Some(&k) => {}
                Some(_) => read_errors.push(e),
                None => errors.push(e), // a path or listing error of the shard
            }
        }
    }
    // One run appends what it reads file by file, each file in order: so
    // does the merge (the sorts are stable; only the file order changes).
    let file_of = |name: &str| index.get(name).copied().unwrap_or(u32::MAX);
    let key = |f: &Finding| f.locations.first().map(|l| (file_of(&l.file), l.line, l.record));
    for entries in c.streams.values_mut() {
        entries.sort_by_key(|e| e.loc);
    }
    for lines in c.checkpoints.values_mut() {
        lines.sort_by_key(|l| (l.file, l.line));
    }
    c.unstamped.sort();
    c.findings.sort_by_key(key);
    for fs in c.stream_findings.values_mut() {
        fs.sort_by_key(key);
    }
    read_errors.sort_by_key(|e| (file_of(&e.file), e.line));
    errors.extend(read_errors);
    Read { collected: c, errors, inputs, retention: Vec::new() }
}

/// Verifies as one run over every shard's inputs (`--merge`).
pub fn merge(summaries: &[PathBuf], options: &Options) -> Report {
    let options = &as_of_until(options);
    let read = combine(summaries, options.limits);
    let analysis = analyze_read(read, summaries, options);
    report(analysis, summaries, options)
}

/// Per stream, how many entries a summary holds (tests, diagnostics).
pub fn entries_per_stream(summary: &Path) -> Result<BTreeMap<String, u64>, String> {
    let mut counts = BTreeMap::new();
    read_shard(summary, &mut |id, _| *counts.entry(id).or_insert(0) += 1)?;
    Ok(counts)
}
