//! `auditchain verify`: reads exported files and checks every stream found
//! in them (docs/SPEC.md §8 gives the rules, §9 the report).
//!
//! files → [`read`] (readers that only read) → [`collect`] (records kept
//! per stream as compact [`records::Entry`]s) → [`rules`] (one module per
//! SPEC rule, per stream, then lineage and expected streams across
//! streams) → [`report`].

mod collect;
mod leaf_store;
mod passes;
pub mod prove;
pub mod read;
pub mod records;
pub mod report;
pub mod rules;
mod shares;
mod spill;
pub mod summary;
pub mod window;

pub use collect::{Limits, SPILL_AFTER};

use crate::core::keys::ChainKey;
use crate::core::note::NoteVerifier;
use crate::core::time;
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
    /// How `s3://` inputs are read.
    pub s3: read::s3::Config,
    /// Stream names whose newest stream must be present (SPEC §8.11).
    pub expected_names: Vec<String>,
    /// Expected names whose newest stream may have ended for good.
    pub retired: Vec<String>,
    /// Key derivations allowed beyond twice the stamped records (§8.5).
    pub key_derivation_slack: u64,
    /// Bounds on what one value and one file may take (§8.0).
    pub limits: Limits,
    /// A C2SP tlog-policy: the witnesses whose cosignatures count and the
    /// quorum a log checkpoint needs (§8.17).
    pub policy: Option<crate::core::tlog::Policy>,
    /// Witnesses' cosigned checkpoints (`--witness-checkpoint`, §8.17).
    pub witness_checkpoints: Vec<rules::logs::WitnessNote>,
    /// `--since`, `--until`, `--stream`: a period, a partial copy (§8.19).
    pub window: window::Window,
    /// Keep every record's stamp after the rules ran (`auditchain prove`
    /// looks records up); otherwise only those later rules need.
    pub keep_records: bool,
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
            s3: read::s3::Config::default(),
            expected_names: Vec::new(),
            retired: Vec::new(),
            key_derivation_slack: rules::keys::DERIVATION_SLACK,
            limits: Limits::default(),
            policy: None,
            witness_checkpoints: Vec::new(),
            window: window::Window::default(),
            keep_records: false,
        }
    }
}

/// The finding about records that carry no stamp (SPEC §8.10).
fn unstamped_finding(ing: &records::Collected, options: &Options) -> Finding {
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
    f
}

/// Everything read from the inputs, with what could not be read.
struct Read {
    collected: records::Collected,
    errors: Vec<InputError>,
    /// Files and objects read.
    inputs: u64,
    /// The Object Lock state of S3 objects, when asked for.
    retention: Vec<report::ObjectRetention>,
}

/// Reads standard input (`-`), local files and directories, and `s3://`
/// locations.
fn read_inputs(paths: &[PathBuf], options: &Options) -> Read {
    let (urls, local): (Vec<&PathBuf>, Vec<&PathBuf>) =
        paths.iter().partition(|p| p.to_string_lossy().starts_with("s3://"));
    let (stdin, local): (Vec<&PathBuf>, Vec<&PathBuf>) = local.into_iter().partition(|p| p.as_os_str() == "-");
    let local: Vec<PathBuf> = local.into_iter().cloned().collect();
    let (files, walk_errors) = read::files::discover(&local);
    let mut errors: Vec<InputError> = walk_errors
        .into_iter()
        .map(|(p, e)| InputError { file: p.display().to_string(), line: None, message: e })
        .collect();
    if stdin.len() > 1 {
        let message = "standard input is given more than once: it is read once".into();
        errors.push(InputError { file: "-".into(), line: None, message });
    }
    for f in &files {
        read::progress::add_total(std::fs::metadata(f).map_or(0, |m| m.len()));
    }
    let env = |k: &str| std::env::var(k).ok();
    let (objects, list_errors) = s3_objects(&urls, &options.s3, &env);
    errors.extend(list_errors);
    let mut retention = Vec::new();
    let limits = options.limits;
    for (_, o) in &objects {
        read::progress::add_total(o.size);
    }
    // Standard input first: it is read while it is being written.
    let stdin_input = stdin.first().map(|_| ("-".to_string(), read::files::stdin(limits.max_decompressed_bytes)));
    let local_inputs =
        files.iter().map(|p| (p.display().to_string(), read::files::open(p, limits.max_decompressed_bytes)));
    let s3_inputs = objects.iter().map(|(b, o)| {
        let opened = b.read(&o.key, options.s3.retention).and_then(|obj| {
            if let Some(r) = obj.retention {
                retention.push(report::ObjectRetention { object: b.url(&o.key), bytes: o.size, retention: r });
            }
            read::progress::add_bytes(o.size);
            read::files::decompress(Box::new(std::io::Cursor::new(obj.bytes)), limits.max_decompressed_bytes)
        });
        (b.url(&o.key), opened)
    });
    let inputs = stdin_input.iter().count() + files.len() + objects.len();
    let (collected, read_errors) =
        collect::collect_inputs(stdin_input.into_iter().chain(local_inputs).chain(s3_inputs), limits);
    errors.extend(read_errors);
    Read { collected, errors, inputs: inputs as u64, retention }
}

/// The inputs read and every stream's rules applied, before the report.
pub(crate) struct Analysis {
    pub ing: records::Collected,
    pub errors: Vec<InputError>,
    pub inputs: u64,
    pub retention: Vec<report::ObjectRetention>,
    /// Every stream's records the rules kept (all of them with
    /// `Options::keep_records`), sorted by number.
    pub streams: BTreeMap<String, Vec<records::Entry>>,
    pub checkpoints: BTreeMap<String, Vec<records::ExternalCheckpoint>>,
    pub analyzed: BTreeMap<String, rules::Analyzed>,
}

/// Reads the inputs and applies the rules of each stream and across
/// streams (SPEC §8.1–§8.10).
pub(crate) fn analyze(paths: &[PathBuf], options: &Options) -> Analysis {
    let read = read_inputs(paths, options);
    analyze_read(read, paths, options)
}

/// Applies the rules to what was read (from the files, or from shard
/// summaries, §11).
fn analyze_read(read: Read, paths: &[PathBuf], options: &Options) -> Analysis {
    // A witness policy's logs are public keys too (C2SP tlog-policy).
    let merged;
    let options = match &options.policy {
        Some(p) if p.logs.iter().any(|l| !options.verifiers.iter().any(|v| v.id == l.key.id)) => {
            let mut o = options.clone();
            o.verifiers.extend(
                p.logs.iter().map(|l| l.key.clone()).filter(|k| !options.verifiers.iter().any(|v| v.id == k.id)),
            );
            merged = o;
            &merged
        }
        _ => options,
    };
    let Read { collected: mut ing, mut errors, inputs, retention } = read;
    let all_paths = || paths.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(" ");
    if ing.records == 0 && ing.checkpoints.is_empty() && errors.is_empty() {
        errors.push(InputError {
            file: all_paths(),
            line: None,
            message: "no log records found: nothing was verified".into(),
        });
    }

    window::select_streams(&mut ing, &options.window, &mut errors);
    let mut streams = std::mem::take(&mut ing.streams);
    let mut spilled = std::mem::take(&mut ing.spilled);
    let mut checkpoints = std::mem::take(&mut ing.checkpoints);
    for id in checkpoints.keys().chain(ing.stream_findings.keys()).chain(spilled.keys()) {
        // Checkpoints of a stream with no record at all still count: they
        // prove the stream existed and how far it went.
        streams.entry(id.clone()).or_default();
    }
    // Lineages from every start record, also those a window cuts (§8.19).
    let mut hints = rules::content::lineage_hints(streams.values());
    let numbers = rules::walk::numbers(&streams, &checkpoints);
    let stamped = streams.iter().map(|(id, e)| e.len() as u64 + spilled.get(id).map_or(0, |s| s.count)).sum();
    let mut cuts = BTreeMap::new();
    for (id, entries) in &streams {
        let mut none = Vec::new();
        let lines = checkpoints.get_mut(id).unwrap_or(&mut none);
        let first_present =
            entries.iter().map(|e| e.sequence).chain(spilled.get(id).and_then(|s| s.min_sequence)).min();
        if let Some(cut) = window::cut(id, entries, first_present, lines, &options.window, options) {
            if let Some(l) = &cut.start_lineage {
                let known = hints.entry(id.clone()).or_default();
                if !known.contains(l) {
                    known.push(l.clone());
                }
            }
            cuts.insert(id.clone(), cut);
        }
    }
    let mut keys = rules::keys::KeyCache::new(stamped, options.key_derivation_slack);
    let to_pass: Vec<passes::Stream> = streams
        .into_iter()
        .map(|(id, entries)| {
            let cut = cuts.get(&id);
            passes::Stream {
                on_disk: spilled.remove(&id).unwrap_or_default(),
                floor: cut.map_or(0, |c| c.floor),
                ceiling: cut.and_then(|c| c.ceiling),
                id,
                entries,
            }
        })
        .collect();
    let ids: Vec<String> = to_pass.iter().map(|s| s.id.clone()).collect();
    let shared =
        passes::Shared { collected: &ing, hints: &hints, numbers: &numbers, checkpoints: &checkpoints, options };
    let passed = passes::run(&shared, to_pass, &mut keys);
    let mut analyzed = BTreeMap::new();
    let mut kept = BTreeMap::new();
    for (id, p) in ids.into_iter().zip(passed) {
        let passes::Passed { analyzed: mut a, walked, error } = p;
        if let Some(why) = error {
            errors.push(InputError {
                file: std::env::temp_dir().display().to_string(),
                line: None,
                message: format!("stream {id}: {why}: its records from there on were not checked"),
            });
        }
        if let Some(mut cut) = cuts.remove(&id) {
            cut.report.before = walked.before;
            cut.report.after = walked.after;
            cut.report.through_sequence = a.report.last_sequence;
            cut.report.description = window::describe(&cut.report, a.report.last_sequence);
            a.report.findings.extend(cut.finding);
            a.report.window = Some(cut.report);
        }
        analyzed.insert(id.clone(), a);
        kept.insert(id, walked.kept);
    }
    let streams = kept;
    rules::lineage::check(&mut analyzed);
    Analysis { ing, errors, inputs, retention, streams, checkpoints, analyzed }
}

/// Verifies everything under `paths`: local files and directories, and
/// `s3://bucket/prefix` locations (listed, then read object by object).
pub fn verify(paths: &[PathBuf], options: &Options) -> Report {
    let options = &as_of_until(options);
    let analysis = analyze(paths, options);
    report(analysis, paths, options)
}

/// With `--until`, heartbeats are judged as of the window's end (§8.19).
fn as_of_until(options: &Options) -> Options {
    let mut o = options.clone();
    if let Some(until) = options.window.until {
        o.as_of_unix_nano = until;
    }
    o
}

/// The report of an analysis.
fn report(analysis: Analysis, paths: &[PathBuf], options: &Options) -> Report {
    let Analysis { mut ing, mut errors, inputs, retention, checkpoints, mut analyzed, .. } = analysis;
    let all_paths = || paths.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(" ");
    let logs = rules::logs::check(&ing, &analyzed, &checkpoints, options);
    let mut findings = std::mem::take(&mut ing.findings);
    rules::presence::check(&mut analyzed, options, &mut findings);
    if !ing.unstamped.is_empty() {
        findings.push(unstamped_finding(&ing, options));
    }
    // Evidence newer than the verification time: the time is wrong, and
    // the heartbeat rule cannot judge with it (SPEC §8.8).
    let newest = analyzed.values().map(|a| a.newest_evidence).max().unwrap_or(0);
    // With --until the window's end is the time, and the checkpoint that
    // closes the window may be later than it (§8.19).
    if options.window.until.is_none() && newest > options.as_of_unix_nano.saturating_add(options.max_delay_ns) {
        errors.push(InputError {
            file: "--as-of".into(),
            line: None,
            message: format!(
                "{} is before the newest checkpoint or control record ({}): the heartbeat rule cannot judge as of then; give the time the files were copied",
                time::rfc3339(options.as_of_unix_nano),
                time::rfc3339(newest)
            ),
        });
    }

    let mut stream_reports: Vec<_> = analyzed.into_values().map(|a| a.report).collect();
    for r in &mut stream_reports {
        rules::conclude(r);
    }
    if stream_reports.is_empty() && errors.is_empty() {
        errors.push(InputError {
            file: all_paths(),
            line: None,
            message: "no stamped records found: nothing was verified".into(),
        });
    }
    let failed = stream_reports.iter().any(|s| s.verdict == Verdict::Fail)
        || logs.iter().any(|l| l.verdict == Verdict::Fail)
        || findings.iter().any(|f| f.severity == Severity::Error);
    let verdict = match (failed, errors.is_empty()) {
        (true, _) => Verdict::Fail,
        (false, false) => Verdict::Incomplete,
        (false, true) => Verdict::Pass,
    };
    Report {
        version: REPORT_VERSION,
        verdict,
        window: window::report(&options.window),
        as_of: time::rfc3339(options.as_of_unix_nano),
        inputs: Inputs {
            files: inputs,
            requests: ing.requests,
            records: ing.records,
            checkpoint_lines: ing.checkpoint_lines,
            unreadable: ing.unreadable,
        },
        unstamped_records: ing.unstamped.len() as u64,
        streams: stream_reports,
        logs,
        findings,
        errors,
        objects: retention,
    }
}

/// The objects under each `s3://` URL, with the client that reads them;
/// a location that cannot be listed is an input error (never a pass).
fn s3_objects(
    urls: &[&PathBuf],
    config: &read::s3::Config,
    env: read::s3::credentials::Env,
) -> (Vec<(std::rc::Rc<read::s3::Bucket>, read::s3::Listed)>, Vec<InputError>) {
    let mut objects = Vec::new();
    let mut errors = Vec::new();
    for url in urls {
        let url = url.to_string_lossy();
        let listed = read::s3::Location::parse(&url)
            .and_then(|l| read::s3::Bucket::new(l, config, env))
            .and_then(|b| b.list(config.max_keys).map(|l| (std::rc::Rc::new(b), l)));
        match listed {
            Ok((b, list)) => objects.extend(list.into_iter().map(|o| (b.clone(), o))),
            Err(message) => errors.push(InputError { file: url.into_owned(), line: None, message }),
        }
    }
    (objects, errors)
}
