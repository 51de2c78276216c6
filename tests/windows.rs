//! Periods and partial copies (SPEC §8.19): a keyed, signed stream the
//! engine really stamped, split over 31 "daily" files; the auditor
//! verifies only the newest 10, from the checkpoint at or before their
//! start, and still finds an edit or a deletion inside the window.

mod support;

use auditchain::core::keys::{self, KeySet};
use auditchain::engine::Engine;
use auditchain::engine::config::{CheckpointConfig, EngineConfig, KeyEpochConfig, LogConfig, StateConfig};
use auditchain::verify::report::{Kind, Report, Verdict};
use auditchain::verify::window::Window;
use auditchain::verify::{Options, verify};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use support::*;

pub struct Keys {
    _dir: tempfile::TempDir,
    pub chain: PathBuf,
    pub sign: PathBuf,
    pub public: String,
}

pub fn keys(name: &str) -> Keys {
    let dir = tempfile::tempdir().unwrap();
    let set = KeySet::generate(name).unwrap();
    let chain = dir.path().join("chain.key");
    let sign = dir.path().join("sign.key");
    keys::write_new_file(&chain, &set.chain.to_file_string(), 0o600).unwrap();
    keys::write_new_file(&sign, &set.signer.private_key_string(), 0o600).unwrap();
    Keys { public: set.signer.verifier().public_key_string(), chain, sign, _dir: dir }
}

const DAYS: usize = 31;
const BATCHES_PER_DAY: u64 = 5;

/// 31 files of one keyed, signed stream (5 batches of 2 records each, 1 s
/// apart; a checkpoint every 3 records), and the time of the last batch.
pub struct Archive {
    pub keys: Keys,
    _state: tempfile::TempDir,
    pub days: Vec<Vec<Value>>,
    pub t_end: u64,
}

/// A format version 2 archive (the engine's default: the records are
/// leaves of its log).
pub fn archive() -> Archive {
    archive_of(2)
}

/// The archive in stream format `version` (1: chain-head checkpoints).
pub fn archive_of(version: u8) -> Archive {
    let k = keys("ops");
    let state = tempfile::tempdir().unwrap();
    let cfg = EngineConfig {
        state: StateConfig { directory: Some(state.path().to_path_buf()), new_stream: false },
        key_file: Some(k.chain.clone()),
        signing_key_file: Some(k.sign.clone()),
        key_epoch: KeyEpochConfig { records: 4, interval: 60 * SEC },
        checkpoint: CheckpointConfig { interval: 60 * SEC, records: 3, file: None },
        log: LogConfig { format_version: version, ..LogConfig::default() },
        ..EngineConfig::new("daily-host")
    };
    let mut t = T0;
    let e = Engine::new(cfg, t).unwrap();
    let mut days = Vec::new();
    let mut n = 0;
    for _ in 0..DAYS {
        let mut reqs = Vec::new();
        for _ in 0..BATCHES_PER_DAY {
            t += SEC;
            reqs.push(deliver(&e, request((0..2).map(|i| audit_record(n + i))), t));
            n += 2;
        }
        days.push(lines(&reqs));
    }
    Archive { keys: k, _state: state, days, t_end: t }
}

impl Archive {
    /// Writes days `from..` (0-based) as day-NN.jsonl into `dir`.
    pub fn write(&self, dir: &Path, from: usize) {
        for (i, day) in self.days.iter().enumerate().skip(from) {
            write_lines(dir, &format!("day-{:02}.jsonl", i + 1), day);
        }
    }

    pub fn options(&self, window: Window) -> Options {
        Options {
            chain_keys: vec![keys::load_chain_key(&self.keys.chain, "--key").unwrap()],
            verifiers: vec![keys::load_verifier_key(&self.keys.public).unwrap()],
            as_of_unix_nano: self.t_end,
            max_delay_ns: 10 * SEC,
            window,
            ..Options::default()
        }
    }
}

/// The `time` of the first checkpoint record among `lines`, and its record.
pub fn first_checkpoint(lines: &[Value]) -> (u64, u64) {
    let r = records(lines).into_iter().find(|r| event(r) == Some("checkpoint")).expect("a checkpoint that day");
    let body = r["body"]["stringValue"].as_str().unwrap();
    let t = body.lines().find_map(|l| l.strip_prefix("time ")).unwrap().parse().unwrap();
    (t, sequence_of(&r).unwrap())
}

fn run(dir: &Path, options: &Options) -> Report {
    verify(&[dir.to_path_buf()], options)
}

fn since(t: u64) -> Window {
    Window { since: Some(t), ..Window::default() }
}

#[test]
fn the_newest_10_of_31_daily_files_fail_as_missing_records_without_a_window() {
    for v in [1, 2] {
        the_newest_10_of_31_daily_files_fail_as_missing_records_without_a_window_in(v);
    }
}

fn the_newest_10_of_31_daily_files_fail_as_missing_records_without_a_window_in(version: u8) {
    // The complaint, reproduced: records 1..N "missing".
    let a = archive_of(version);
    let d = tempfile::tempdir().unwrap();
    a.write(d.path(), DAYS - 10);
    let r = run(d.path(), &a.options(Window::default()));
    assert_eq!(r.verdict, Verdict::Fail);
    let first = r.streams[0].first_sequence;
    assert!(first > 100, "{first}");
    assert_eq!(r.streams[0].missing, vec![[1, first - 1]]);
    assert!(error_kinds(&r).contains(&Kind::MissingRecords), "{:?}", error_kinds(&r));
}

#[test]
fn the_newest_10_files_pass_from_the_checkpoint_at_the_start_of_their_window() {
    for v in [1, 2] {
        the_newest_10_files_pass_from_the_checkpoint_at_the_start_of_their_window_in(v);
    }
}

fn the_newest_10_files_pass_from_the_checkpoint_at_the_start_of_their_window_in(version: u8) {
    let a = archive_of(version);
    let d = tempfile::tempdir().unwrap();
    a.write(d.path(), DAYS - 10);
    let (t, carrier) = first_checkpoint(&a.days[DAYS - 10]);
    let r = run(d.path(), &a.options(since(t)));
    assert_eq!(r.verdict, Verdict::Pass, "{:#?}", r.streams[0].findings);
    let s = &r.streams[0];
    assert!(s.missing.is_empty());
    let w = s.window.as_ref().unwrap();
    assert_eq!(w.anchor, "checkpoint");
    assert_eq!(w.sequence, Some(carrier));
    assert_eq!(w.size, Some(carrier - 1));
    assert_eq!(w.from_sequence, carrier);
    assert_eq!(w.through_sequence, s.last_sequence);
    assert!(w.before > 0, "the day's records before its first checkpoint are outside the window");
    let what = if version == 2 { "log checkpoint" } else { "checkpoint" };
    let expected = format!("from {what} at size {} (record {carrier}), signed by ops+", carrier - 1);
    assert!(w.description.starts_with(&expected), "{}", w.description);
    assert_eq!(r.logs.len(), usize::from(version == 2));
    if version == 2 {
        let lw = r.logs[0].window.as_ref().unwrap();
        assert_eq!(lw.anchor_size, Some(carrier - 1), "{lw:?}");
        assert!(lw.description.starts_with(&format!("from the checkpoint at size {} of ", carrier - 1)), "{lw:?}");
    }
    let rw = r.window.as_ref().unwrap();
    assert_eq!(rw.time, "checkpoint");
    // With an offset: the same instant.
    let local = auditchain::core::time::rfc3339(t).replace('Z', "+00:00");
    assert_eq!(auditchain::core::time::parse_rfc3339(&local).unwrap(), t);

    // A later --since, inside the files, anchors at a later checkpoint.
    let (t2, c2) = first_checkpoint(&a.days[DAYS - 5]);
    let r = run(d.path(), &a.options(since(t2 + 500_000_000)));
    assert_eq!(r.verdict, Verdict::Pass, "{:#?}", r.streams[0].findings);
    assert!(r.streams[0].window.as_ref().unwrap().sequence.unwrap() >= c2);
}

#[test]
fn an_edit_or_a_deletion_inside_the_window_is_still_found() {
    for v in [1, 2] {
        an_edit_or_a_deletion_inside_the_window_is_still_found_in(v);
    }
}

fn an_edit_or_a_deletion_inside_the_window_is_still_found_in(version: u8) {
    let a = archive_of(version);
    let (t, carrier) = first_checkpoint(&a.days[DAYS - 10]);
    let original = a.days.clone();
    // An edited record, three days into the window.
    let d = tempfile::tempdir().unwrap();
    let mut days = a.days.clone();
    let target = records(&days[DAYS - 7]).iter().filter_map(sequence_of).nth(3).unwrap();
    record_mut(&mut days[DAYS - 7], target)["body"] = json!({"stringValue": "edited"});
    let edited = Archive { days, ..a };
    edited.write(d.path(), DAYS - 10);
    let r = run(d.path(), &edited.options(since(t)));
    assert_eq!(r.verdict, Verdict::Fail);
    assert!(
        kinds(&r, auditchain::verify::report::Severity::Error).contains(&(Kind::ContentMismatch, Some(target), None)),
        "{:?}",
        kinds(&r, auditchain::verify::report::Severity::Error)
    );
    // A deleted record, in the window.
    let a = edited;
    let d = tempfile::tempdir().unwrap();
    let mut days = original;
    let gone = carrier + 7;
    for day in days.iter_mut() {
        for line in day.iter_mut() {
            for rl in line["resourceLogs"].as_array_mut().unwrap() {
                for sl in rl["scopeLogs"].as_array_mut().unwrap() {
                    sl["logRecords"].as_array_mut().unwrap().retain(|r| sequence_of(r) != Some(gone));
                }
            }
        }
    }
    let deleted = Archive { days, ..a };
    deleted.write(d.path(), DAYS - 10);
    let r = run(d.path(), &deleted.options(since(t)));
    assert_eq!(r.verdict, Verdict::Fail);
    assert!(r.streams[0].missing.contains(&[gone, gone]), "{:?}", r.streams[0].missing);
    // Records before the anchor are not reported missing.
    assert!(r.streams[0].missing.iter().all(|m| m[0] >= carrier), "{:?}", r.streams[0].missing);
}

#[test]
fn a_window_starting_before_any_checkpoint_present_is_unanchored_not_missing() {
    for v in [1, 2] {
        a_window_starting_before_any_checkpoint_present_is_unanchored_not_missing_in(v);
    }
}

fn a_window_starting_before_any_checkpoint_present_is_unanchored_not_missing_in(version: u8) {
    let a = archive_of(version);
    let d = tempfile::tempdir().unwrap();
    a.write(d.path(), DAYS - 10);
    let (t, _) = first_checkpoint(&a.days[DAYS - 10]);
    let r = run(d.path(), &a.options(since(t - 60 * SEC)));
    assert_eq!(r.verdict, Verdict::Fail);
    assert_eq!(error_kinds(&r), vec![Kind::UnanchoredWindow], "{:#?}", r.streams[0].findings);
    assert!(r.streams[0].missing.is_empty());
    let w = r.streams[0].window.as_ref().unwrap();
    assert_eq!(w.anchor, "none");
    assert!(w.description.starts_with("not anchored"), "{}", w.description);
    // Given the file with the checkpoint before it, it is anchored.
    a.write(d.path(), DAYS - 11);
    let r = run(d.path(), &a.options(since(t - 5 * SEC)));
    assert_eq!(r.verdict, Verdict::Pass, "{:#?}", r.streams[0].findings);
    // The whole archive from its start needs no checkpoint before it.
    let d = tempfile::tempdir().unwrap();
    a.write(d.path(), 0);
    let r = run(d.path(), &a.options(since(T0 - 3600 * SEC)));
    assert_eq!(r.verdict, Verdict::Pass, "{:#?}", r.streams[0].findings);
    assert_eq!(r.streams[0].window.as_ref().unwrap().anchor, "start");
}

#[test]
fn until_ends_the_window_at_a_checkpoint_and_judges_heartbeats_as_of_it() {
    for v in [1, 2] {
        until_ends_the_window_at_a_checkpoint_and_judges_heartbeats_as_of_it_in(v);
    }
}

fn until_ends_the_window_at_a_checkpoint_and_judges_heartbeats_as_of_it_in(version: u8) {
    let a = archive_of(version);
    let d = tempfile::tempdir().unwrap();
    a.write(d.path(), DAYS - 10);
    let (t0, _) = first_checkpoint(&a.days[DAYS - 10]);
    let (t1, c1) = first_checkpoint(&a.days[DAYS - 4]);
    let w = Window { since: Some(t0), until: Some(t1), streams: Vec::new() };
    // As of long after the files: without --until the heartbeat fails.
    let mut o = a.options(w.clone());
    o.as_of_unix_nano = a.t_end + 3600 * SEC;
    let r = run(d.path(), &o);
    assert_eq!(r.verdict, Verdict::Pass, "{:#?}", r.streams[0].findings);
    let s = &r.streams[0];
    assert_eq!(s.last_sequence, c1);
    let sw = s.window.as_ref().unwrap();
    assert!(sw.after > 0 && sw.through_checkpoint.is_some(), "{sw:?}");
    assert_eq!(r.as_of, auditchain::core::time::rfc3339(t1));
    o.window.until = None;
    let r = run(d.path(), &o);
    assert!(error_kinds(&r).contains(&Kind::HeartbeatMissing), "{:?}", error_kinds(&r));
    // An edit after the window is not looked at; one inside is found.
    let mut days = a.days.clone();
    let late = records(&days[DAYS - 1]).iter().filter_map(sequence_of).nth(1).unwrap();
    record_mut(&mut days[DAYS - 1], late)["body"] = json!({"stringValue": "edited"});
    let b = Archive { days, ..a };
    b.write(d.path(), DAYS - 10);
    let mut o = b.options(w);
    o.as_of_unix_nano = b.t_end + 3600 * SEC;
    assert_eq!(run(d.path(), &o).verdict, Verdict::Pass);
}

#[test]
fn stream_selects_a_partial_copy_and_an_absent_one_is_an_input_error() {
    let a = archive();
    let d = tempfile::tempdir().unwrap();
    a.write(d.path(), 0);
    let id = a.days[0]
        .iter()
        .flat_map(|l| records(std::slice::from_ref(l)))
        .find_map(|r| attr(&r, "audit.sequence.stream_id").map(|v| v["stringValue"].as_str().unwrap().to_string()))
        .unwrap();
    let w = Window { streams: vec![id.clone()], ..Window::default() };
    let r = run(d.path(), &a.options(w));
    assert_eq!(r.verdict, Verdict::Pass, "{:#?}", r.streams[0].findings);
    assert_eq!(r.streams.len(), 1);
    let w = Window { streams: vec!["no-such-stream".into()], ..Window::default() };
    let r = run(d.path(), &a.options(w));
    assert_eq!(r.verdict, Verdict::Incomplete);
    assert!(r.streams.is_empty());
    assert!(r.errors.iter().any(|e| e.file == "--stream" && e.message.contains("no-such-stream")), "{:?}", r.errors);
}

#[test]
fn the_cli_verifies_a_period_with_offsets() {
    let a = archive();
    let d = tempfile::tempdir().unwrap();
    a.write(d.path(), DAYS - 10);
    let (t, carrier) = first_checkpoint(&a.days[DAYS - 10]);
    // The same instant, written with a +02:00 offset.
    let utc = auditchain::core::time::rfc3339(t);
    let shifted = auditchain::core::time::rfc3339(t + 2 * 3600 * SEC).replace('Z', "+02:00");
    assert_eq!(auditchain::core::time::parse_rfc3339(&shifted).unwrap(), t, "{utc} {shifted}");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_auditchain"))
        .args(["verify", "--key"])
        .arg(&a.keys.chain)
        .args(["--public-key", &a.keys.public])
        .args(["--as-of", &auditchain::core::time::rfc3339(a.t_end), "--since", &shifted])
        .arg(d.path())
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{text}{}", String::from_utf8_lossy(&out.stderr));
    assert!(
        text.contains(&format!("window: from log checkpoint at size {} (record {carrier})", carrier - 1)),
        "{text}"
    );
    assert!(text.contains(&format!("window: from the checkpoint at size {} of ", carrier - 1)), "{text}");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_auditchain"))
        .args(["verify", "--since", "yesterday"])
        .arg(d.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--since"), "{}", String::from_utf8_lossy(&out.stderr));
}

#[test]
fn a_window_inside_a_restarted_keyed_stream_finds_its_key_without_its_start_record() {
    // Two generations (a clean restart); all files given, --since inside
    // the second: its start record is before the window, its key is still
    // found (from the lineage its start record names, tried on its records).
    let k = keys("ops");
    let state = tempfile::tempdir().unwrap();
    let cfg = || EngineConfig {
        state: StateConfig { directory: Some(state.path().to_path_buf()), new_stream: false },
        key_file: Some(k.chain.clone()),
        signing_key_file: Some(k.sign.clone()),
        key_epoch: KeyEpochConfig { records: 4, interval: 60 * SEC },
        checkpoint: CheckpointConfig { interval: 60 * SEC, records: 3, file: None },
        ..EngineConfig::new("daily-host")
    };
    let mut t = T0;
    let mut days = Vec::new();
    let mut n = 0;
    for generation in 0..2 {
        let e = Engine::new(cfg(), t).unwrap();
        for day in 0..4 {
            let mut reqs = Vec::new();
            for _ in 0..BATCHES_PER_DAY {
                t += SEC;
                reqs.push(deliver(&e, request((0..2).map(|i| audit_record(n + i))), t));
                n += 2;
            }
            if generation == 0 && day == 3 {
                t += SEC;
                reqs.push(close_delivered(&e, t));
            }
            days.push(lines(&reqs));
        }
        t += SEC;
    }
    let a = Archive { keys: k, _state: state, days, t_end: t };
    let d = tempfile::tempdir().unwrap();
    a.write(d.path(), 0);
    let (since_t, _) = first_checkpoint(&a.days[6]);
    let r = run(d.path(), &a.options(since(since_t)));
    assert_eq!(r.verdict, Verdict::Pass, "{:#?}", r.streams);
    let second = r.streams.iter().find(|s| s.window.as_ref().unwrap().anchor == "checkpoint").unwrap();
    assert!(second.window.as_ref().unwrap().before > 0);
    // And an edit in the window of the second generation is found.
    let mut days = a.days.clone();
    let target = records(&days[7]).iter().filter_map(sequence_of).nth(2).unwrap();
    record_mut(&mut days[7], target)["body"] = json!({"stringValue": "edited"});
    let b = Archive { days, ..a };
    b.write(d.path(), 0);
    let r = run(d.path(), &b.options(since(since_t)));
    assert!(error_kinds(&r).contains(&Kind::ContentMismatch), "{:?}", error_kinds(&r));
}
