//! `auditchain verify`: reads exported files and checks every stream found
//! in them (docs/SPEC.md §8 gives the rules, §9 the report).
//!
//! files → [`read`] (readers that only read) → [`collect`] (records kept
//! per stream as compact [`records::Entry`]s) → [`rules`] (one module per
//! SPEC rule, per stream, then lineage and expected streams across
//! streams) → [`report`].

mod collect;
pub mod read;
pub mod records;
pub mod report;
pub mod rules;

pub use collect::Limits;

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
    /// Stream names whose newest stream must be present (SPEC §8.11).
    pub expected_names: Vec<String>,
    /// Expected names whose newest stream may have ended for good.
    pub retired: Vec<String>,
    /// Key derivations allowed beyond twice the stamped records (§8.5).
    pub key_derivation_slack: u64,
    /// Bounds on what one value and one file may take (§8.0).
    pub limits: Limits,
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
            expected_names: Vec::new(),
            retired: Vec::new(),
            key_derivation_slack: rules::keys::DERIVATION_SLACK,
            limits: Limits::default(),
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

/// Verifies everything under `paths`.
pub fn verify(paths: &[PathBuf], options: &Options) -> Report {
    let (files, walk_errors) = read::files::discover(paths);
    let mut errors: Vec<InputError> = walk_errors
        .into_iter()
        .map(|(p, e)| InputError { file: p.display().to_string(), line: None, message: e })
        .collect();
    let (mut ing, read_errors) = collect::collect(&files, options.limits);
    errors.extend(read_errors);
    let all_paths = || paths.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(" ");
    if ing.records == 0 && ing.checkpoints.is_empty() && errors.is_empty() {
        errors.push(InputError {
            file: all_paths(),
            line: None,
            message: "no log records found: nothing was verified".into(),
        });
    }

    let mut analyzed = BTreeMap::new();
    let mut streams = std::mem::take(&mut ing.streams);
    let checkpoints = std::mem::take(&mut ing.checkpoints);
    for id in checkpoints.keys().chain(ing.stream_findings.keys()) {
        // Checkpoints of a stream with no record at all still count: they
        // prove the stream existed and how far it went.
        streams.entry(id.clone()).or_default();
    }
    let hints = rules::content::lineage_hints(streams.values());
    let stamped = streams.values().map(|e| e.len() as u64).sum();
    let mut keys = rules::keys::KeyCache::new(stamped, options.key_derivation_slack);
    let mut cx = rules::Context { collected: &ing, hints: &hints, keys: &mut keys };
    for (id, entries) in streams.iter_mut() {
        let external = checkpoints.get(id).map(Vec::as_slice).unwrap_or(&[]);
        analyzed.insert(id.clone(), rules::stream(&mut cx, id, entries, external, options));
    }
    rules::lineage::check(&mut analyzed);
    let mut findings = std::mem::take(&mut ing.findings);
    rules::presence::check(&mut analyzed, options, &mut findings);
    if !ing.unstamped.is_empty() {
        findings.push(unstamped_finding(&ing, options));
    }
    // Evidence newer than the verification time: the time is wrong, and
    // the heartbeat rule cannot judge with it (SPEC §8.8).
    let newest = analyzed.values().map(|a| a.newest_evidence).max().unwrap_or(0);
    if newest > options.as_of_unix_nano.saturating_add(options.max_delay_ns) {
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
        || findings.iter().any(|f| f.severity == Severity::Error);
    let verdict = match (failed, errors.is_empty()) {
        (true, _) => Verdict::Fail,
        (false, false) => Verdict::Incomplete,
        (false, true) => Verdict::Pass,
    };
    Report {
        version: REPORT_VERSION,
        verdict,
        as_of: time::rfc3339(options.as_of_unix_nano),
        inputs: Inputs {
            files: files.len() as u64,
            requests: ing.requests,
            records: ing.records,
            checkpoint_lines: ing.checkpoint_lines,
            unreadable: ing.unreadable,
        },
        unstamped_records: ing.unstamped.len() as u64,
        streams: stream_reports,
        findings,
        errors,
    }
}
