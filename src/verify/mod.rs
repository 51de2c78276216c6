//! `auditchain verify`: reads exported files and checks every stream found
//! in them (docs/SPEC.md §8 gives the rules, §9 the report).

pub mod analyze;
pub mod ingest;
pub mod input;
pub mod report;

use crate::core::canonical::Scratch;
use crate::core::keys::ChainKey;
use crate::core::note::NoteVerifier;
use report::{Finding, InputError, Inputs, Kind, REPORT_VERSION, Report, Severity, Verdict};
use std::collections::BTreeMap;
use std::path::PathBuf;

#[derive(Clone, Debug)]
pub struct Options {
    /// Treat records without a stamp as a warning instead of a failure.
    pub allow_unstamped: bool,
    /// Chain keys, to verify keyed streams (matched by key id).
    pub chain_keys: Vec<ChainKey>,
    /// Public keys, to verify signed checkpoints (matched by key id).
    pub verifiers: Vec<NoteVerifier>,
    /// "Now" for the heartbeat rule: a stream that has not ended must have
    /// a checkpoint no older than its interval plus `max_delay_ns`.
    pub as_of_unix_nano: u64,
    /// How late a checkpoint may arrive (export delays) before it counts
    /// as missing.
    pub max_delay_ns: u64,
}

impl Default for Options {
    fn default() -> Self {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(0);
        Options {
            allow_unstamped: false,
            chain_keys: Vec::new(),
            verifiers: Vec::new(),
            as_of_unix_nano: now,
            max_delay_ns: 60_000_000_000,
        }
    }
}

/// Files smaller than this are read by one thread.
const PARALLEL_MIN_BYTES: usize = 4 << 20;

/// Reads one file into `ing`. A large file of JSON lines is cut at line
/// boundaries and its parts are parsed and hashed on all cores; if any
/// part does not parse (a value spanning lines, or a damaged line), the
/// whole file is read again by one thread, whose errors are authoritative.
fn ingest_file(
    ing: &mut ingest::Ingested,
    errors: &mut Vec<InputError>,
    scratch: &mut Scratch,
    file: u32,
    name: &str,
    bytes: &[u8],
) {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get()).min(8);
    if threads > 1 && bytes.len() >= PARALLEL_MIN_BYTES {
        // Cut points just after a newline, with the line number they start.
        let mut cuts = vec![(0usize, 1u64)];
        let mut line = 1u64;
        let mut last = 0usize;
        for k in 1..threads {
            let target = bytes.len() * k / threads;
            let Some(nl) = bytes[target.max(last)..].iter().position(|&b| b == b'\n') else { break };
            let at = target.max(last) + nl + 1;
            line += bytes[last..at].iter().filter(|&&b| b == b'\n').count() as u64;
            cuts.push((at, line));
            last = at;
        }
        cuts.dedup_by_key(|c| c.0);
        let parts: Vec<(ingest::Ingested, Vec<InputError>, bool)> = std::thread::scope(|s| {
            let handles: Vec<_> = cuts
                .iter()
                .enumerate()
                .map(|(k, &(start, first_line))| {
                    let end = cuts.get(k + 1).map_or(bytes.len(), |c| c.0);
                    let files = ing.files.clone();
                    s.spawn(move || {
                        let mut part = ingest::Ingested { files, ..Default::default() };
                        let mut part_errors = Vec::new();
                        let parsed = read_values(
                            &mut part,
                            &mut part_errors,
                            &mut Scratch::new(),
                            file,
                            name,
                            &bytes[start..end],
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
                ing.merge(part);
                errors.extend(part_errors);
            }
            return;
        }
    }
    read_values(ing, errors, scratch, file, name, bytes, 1);
}

/// Reads the JSON values of `bytes`, whose first line is `first_line` of
/// the file, into `ing`. Returns false when a value did not parse (reading
/// stops there; the error is recorded like every other).
fn read_values(
    ing: &mut ingest::Ingested,
    errors: &mut Vec<InputError>,
    scratch: &mut Scratch,
    file: u32,
    name: &str,
    bytes: &[u8],
    first_line: u64,
) -> bool {
    let mut parsed = true;
    input::for_each_json_value(bytes, |line, value| {
        let line = line + first_line - 1;
        let result = match value {
            Ok(v) => ing.value(file, line, &v, scratch),
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

/// Verifies everything under `paths`.
pub fn verify(paths: &[PathBuf], options: &Options) -> Report {
    let (files, walk_errors) = input::discover(paths);
    let mut errors: Vec<InputError> = walk_errors
        .into_iter()
        .map(|(p, e)| InputError { file: p.display().to_string(), line: None, message: e })
        .collect();
    let mut ing = ingest::Ingested::default();
    let mut scratch = Scratch::new();
    for (i, path) in files.iter().enumerate() {
        let name = path.display().to_string();
        ing.files.push(name.clone());
        let bytes = match input::read(path) {
            Ok(b) => b,
            Err(e) => {
                errors.push(InputError { file: name, line: None, message: e });
                continue;
            }
        };
        ingest_file(&mut ing, &mut errors, &mut scratch, i as u32, &name, &bytes);
    }

    if ing.records == 0 && ing.checkpoints.is_empty() && errors.is_empty() {
        errors.push(InputError {
            file: paths.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(" "),
            line: None,
            message: "no log records found: nothing was verified".into(),
        });
    }

    let mut analyzed = BTreeMap::new();
    let mut streams = std::mem::take(&mut ing.streams);
    let checkpoints = std::mem::take(&mut ing.checkpoints);
    for id in checkpoints.keys() {
        // Checkpoints of a stream with no record at all still count: they
        // prove the stream existed and how far it went.
        streams.entry(id.clone()).or_default();
    }
    for (id, entries) in streams.iter_mut() {
        let external = checkpoints.get(id).map(Vec::as_slice).unwrap_or(&[]);
        analyzed.insert(id.clone(), analyze::stream(&ing, id, entries, external, options));
    }
    analyze::lineage(&mut analyzed);

    let mut findings = std::mem::take(&mut ing.findings);
    if !ing.unstamped.is_empty() {
        let (severity, advice) = if options.allow_unstamped {
            (Severity::Warning, "")
        } else {
            (
                Severity::Error,
                "; every record of an audit pipeline should be stamped (pass --allow-unstamped when some are not on purpose)",
            )
        };
        let mut f = Finding::new(
            severity,
            Kind::UnstampedRecords,
            format!("{} records carry no auditchain stamp, so nothing vouches for them{advice}", ing.unstamped.len()),
        );
        for loc in ing.unstamped.iter().take(20) {
            f = f.located(ing.location(*loc));
        }
        findings.push(f);
    }

    let mut stream_reports: Vec<_> = analyzed.into_values().map(|a| a.report).collect();
    for r in &mut stream_reports {
        analyze::conclude(r);
    }
    let failed = stream_reports.iter().any(|s| s.verdict == Verdict::Fail)
        || findings.iter().any(|f| f.severity == Severity::Error);
    Report {
        version: REPORT_VERSION,
        verdict: if failed { Verdict::Fail } else { Verdict::Pass },
        as_of: crate::core::time::rfc3339(options.as_of_unix_nano),
        inputs: Inputs { files: files.len() as u64, requests: ing.requests, records: ing.records },
        unstamped_records: ing.unstamped.len() as u64,
        streams: stream_reports,
        findings,
        errors,
    }
}
