//! Faults of the processor's surroundings (issue 13), each run on a real
//! engine with real files: an older state.json put back (a rollback), a
//! state whose numbers would overflow, a checkpoint file that cannot be
//! written, an outage of the state directory, steps of the wall clock.
//! Times are injected (wall time per call, a manual monotonic clock), so
//! nothing here sleeps.

mod support;

use auditchain::core::keys;
use auditchain::engine::Engine;
use auditchain::engine::clock::ManualMonotonic;
use auditchain::engine::config::{CheckpointConfig, EngineConfig, KeyEpochConfig, LogConfig, StateConfig};
use auditchain::engine::error::ErrorKind;
use auditchain::verify::report::{Kind, Report, Severity};
use auditchain::verify::{Options, verify};
use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use prost::Message;
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use support::*;

type Keys = KeyFiles;

fn keys(name: &str) -> Keys {
    KeyFiles::new(name)
}

/// Keyed and signed; checkpoints every 3 records or 10 s, epochs every 4
/// records or 10 s.
fn config(k: &Keys, state: &Path, checkpoint_file: Option<PathBuf>) -> EngineConfig {
    EngineConfig {
        state: StateConfig { directory: Some(state.to_path_buf()), new_stream: false },
        key_file: Some(k.chain.clone()),
        signing_key_file: Some(k.sign.clone()),
        key_epoch: KeyEpochConfig { records: 4, interval: 10 * SEC },
        checkpoint: CheckpointConfig { interval: 10 * SEC, records: 3, file: checkpoint_file },
        // Version 1 streams (chain-head checkpoints, SPEC §5.3): these
        // tests keep the format that archives already written use.
        log: LogConfig { format_version: 1, ..LogConfig::default() },
        ..EngineConfig::new("robust")
    }
}

fn options(k: &Keys, as_of: u64) -> Options {
    Options {
        chain_keys: vec![keys::load_chain_key(&k.chain, "--key").unwrap()],
        verifiers: vec![keys::load_verifier_key(&k.public).unwrap()],
        as_of_unix_nano: as_of,
        max_delay_ns: 5 * SEC,
        ..Options::default()
    }
}

fn batch(i: u64) -> ExportLogsServiceRequest {
    request([audit_record(2 * i), audit_record(2 * i + 1)])
}

fn verify_lines(reqs: &[ExportLogsServiceRequest], k: &Keys, as_of: u64) -> Report {
    let out = tempfile::tempdir().unwrap();
    std::fs::write(out.path().join("audit.jsonl"), json_lines(reqs)).unwrap();
    verify(&[out.path().to_path_buf()], &options(k, as_of))
}

fn state_file(state: &Path) -> PathBuf {
    state.join("robust/state.json")
}

/// Rewrites the saved state through `f`, with a valid checksum: what
/// anyone with the file can do.
fn edit_state(state: &Path, f: impl FnOnce(&mut Value)) {
    let path = state_file(state);
    let mut doc: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    f(&mut doc["state"]);
    let inner = doc["state"].to_string();
    let sum: String = Sha256::digest(inner.as_bytes()).iter().map(|b| format!("{b:02x}")).collect();
    let text = format!("{{\"format\":\"auditchain-state-v1\",\"state\":{inner},\"sha256\":\"{sum}\"}}\n");
    std::fs::write(&path, text).unwrap();
}

#[test]
fn an_older_state_json_put_back_is_refused_at_start_and_the_message_advises_no_fork() {
    let k = keys("ops");
    let state = tempfile::tempdir().unwrap();
    let cp = state.path().join("checkpoints.jsonl");
    let mut t = T0;
    let e = Engine::new(config(&k, state.path(), Some(cp.clone())), t).unwrap();
    for i in 0..2 {
        t += SEC;
        deliver(&e, batch(i), t);
    }
    drop(e); // a crash: the stream did not end
    let backup = std::fs::read(state_file(state.path())).unwrap();
    let e = Engine::new(config(&k, state.path(), Some(cp.clone())), t).unwrap();
    for i in 2..5 {
        t += SEC;
        deliver(&e, batch(i), t);
    }
    drop(e);
    assert!(std::fs::read_to_string(&cp).unwrap().lines().count() >= 2, "checkpoint lines were written");
    // The backup goes back in place: its checksum is valid.
    std::fs::write(state_file(state.path()), &backup).unwrap();
    let err = Engine::new(config(&k, state.path(), Some(cp.clone())), t).err().expect("a rolled-back state is refused");
    assert_eq!(err.kind, ErrorKind::State);
    let m = &err.message;
    assert!(m.contains("rollback refused") && m.contains("older than the stream"), "{m}");
    assert!(m.contains("checkpoints.jsonl") && m.contains("again with other content"), "{m}");
    assert!(!m.contains("from a backup to continue"), "never advise a restore that forks: {m}");
    assert!(m.contains("state.new_stream: true"), "{m}");
    // Starting a new stream on purpose is allowed.
    let mut cfg = config(&k, state.path(), Some(cp));
    cfg.state.new_stream = true;
    let e = Engine::new(cfg, t).unwrap();
    let stamps = e.tick(t + SEC).unwrap();
    let req = extra_only(&stamps);
    let start = &records(&lines(&[req]))[0];
    assert_eq!(attr(start, "audit.stream.reason").unwrap()["stringValue"], "state_reset");
}

#[test]
fn the_state_of_an_ended_stream_put_back_after_its_successor_ran_is_refused() {
    let k = keys("ops");
    let state = tempfile::tempdir().unwrap();
    let cp = state.path().join("checkpoints.jsonl");
    let mut t = T0;
    let e = Engine::new(config(&k, state.path(), Some(cp.clone())), t).unwrap();
    t += SEC;
    deliver(&e, batch(0), t);
    t += SEC;
    close_delivered(&e, t);
    drop(e);
    let ended = std::fs::read(state_file(state.path())).unwrap();
    // The successor starts (naming the ended stream) and runs.
    let e = Engine::new(config(&k, state.path(), Some(cp.clone())), t).unwrap();
    for i in 1..3 {
        t += SEC;
        deliver(&e, batch(i), t);
    }
    drop(e);
    // A clean restart of the successor is fine; putting back the ended
    // predecessor's state would start a second successor: a fork of the lineage.
    std::fs::write(state_file(state.path()), &ended).unwrap();
    let err = Engine::new(config(&k, state.path(), Some(cp)), t + SEC).err().expect("refused");
    assert!(err.message.contains("older than the newest stream of this name"), "{}", err.message);
}

#[test]
fn restarts_without_a_rollback_are_not_mistaken_for_one() {
    let k = keys("ops");
    let state = tempfile::tempdir().unwrap();
    let cp = state.path().join("checkpoints.jsonl");
    let mut t = T0;
    for round in 0..3 {
        let e = Engine::new(config(&k, state.path(), Some(cp.clone())), t).unwrap();
        t += SEC;
        deliver(&e, batch(round), t);
        if round == 1 {
            t += SEC;
            close_delivered(&e, t); // a clean end, then a successor
        }
    }
    // A torn last line (a crash while appending) is no evidence either way.
    let mut f = std::fs::OpenOptions::new().append(true).open(&cp).unwrap();
    std::io::Write::write_all(&mut f, b"{\"stream_id\":\"robust-2026").unwrap();
    Engine::new(config(&k, state.path(), Some(cp)), t).unwrap();
}

#[test]
fn a_state_whose_numbers_would_overflow_is_refused() {
    let k = keys("ops");
    type Edit = fn(&mut Value);
    let cases: [(&str, Edit); 4] = [
        ("next_sequence", |s| s["next_sequence"] = u64::MAX.into()),
        ("next_sequence", |s| s["next_sequence"] = (i64::MAX as u64 + 1).into()),
        ("key epoch", |s| s["key"]["epoch"] = (u64::MAX - 1).into()),
        ("outside the records issued", |s| s["in_flight"] = serde_json::json!([[5, u64::MAX]])),
    ];
    for (expect, f) in cases {
        let state = tempfile::tempdir().unwrap();
        let e = Engine::new(config(&k, state.path(), None), T0).unwrap();
        deliver(&e, batch(0), T0 + SEC);
        drop(e);
        edit_state(state.path(), f);
        let err = Engine::new(config(&k, state.path(), None), T0 + 2 * SEC).err().expect("refused");
        assert_eq!(err.kind, ErrorKind::State);
        assert!(err.message.contains("inconsistent") && err.message.contains(expect), "{expect}: {}", err.message);
    }
    // The highest number that is still possible: the stream refuses to
    // stamp before it runs out, and never wraps.
    let state = tempfile::tempdir().unwrap();
    let e = Engine::new(config(&k, state.path(), None), T0).unwrap();
    deliver(&e, batch(0), T0 + SEC);
    drop(e);
    edit_state(state.path(), |s| s["next_sequence"] = (i64::MAX as u64 - 5).into());
    let e = Engine::new(config(&k, state.path(), None), T0 + 2 * SEC).unwrap();
    let err = e.stamp_logs(&batch(1).encode_to_vec(), T0 + 3 * SEC).expect_err("no numbers left");
    assert!(err.message.contains("used up its sequence numbers"), "{}", err.message);
}

#[test]
fn checkpoint_file_in_a_missing_directory_or_naming_a_directory_is_refused_at_start() {
    let k = keys("ops");
    let state = tempfile::tempdir().unwrap();
    let missing = state.path().join("no/such/dir/checkpoints.jsonl");
    let err = Engine::new(config(&k, state.path(), Some(missing)), T0).err().unwrap();
    assert_eq!(err.kind, ErrorKind::InvalidConfig);
    assert!(err.message.starts_with("checkpoint.file: ") && err.message.contains("does not exist"), "{}", err.message);
    let err = Engine::new(config(&k, state.path(), Some(state.path().to_path_buf())), T0).err().unwrap();
    assert!(err.message.starts_with("checkpoint.file: ") && err.message.contains("is a directory"), "{}", err.message);
    assert!(!state.path().join("robust").exists(), "a refused start leaves no stream behind");
}

#[test]
fn the_checkpoint_backlog_in_the_state_is_bounded() {
    let k = keys("ops");
    let state = tempfile::tempdir().unwrap();
    let cp = state.path().join("checkpoints.jsonl");
    let mut cfg = config(&k, state.path(), Some(cp.clone()));
    cfg.checkpoint.records = 1;
    let e = Engine::new(cfg, T0).unwrap();
    // The file becomes unwritable while the collector runs.
    std::fs::remove_file(&cp).unwrap();
    std::fs::create_dir(&cp).unwrap();
    let mut t = T0;
    let mut dropped = None;
    for i in 0..150 {
        t += SEC;
        let stamps = e.stamp_logs(&request([audit_record(i)]).encode_to_vec(), t).unwrap();
        e.settle(stamps.batch_id, true).unwrap();
        if let Some(w) = stamps.warning.filter(|w| w.contains("dropped")) {
            dropped.get_or_insert(w);
        }
    }
    let w = dropped.expect("dropping is reported");
    assert!(w.contains("keeps only the newest 100"), "{w}");
    let saved: Value = serde_json::from_str(&std::fs::read_to_string(state_file(state.path())).unwrap()).unwrap();
    let backlog = saved["state"]["checkpoint_backlog"].as_array().unwrap();
    assert_eq!(backlog.len(), 100, "the newest 100 lines are kept");
    let newest: Value = serde_json::from_str(backlog.last().unwrap().as_str().unwrap()).unwrap();
    // Record i+1 is the batch's, the checkpoint follows: the last checkpoint record.
    assert!(newest["sequence"].as_u64().unwrap() > 290, "{newest}");
}

/// A keyed, signed stream on a manual monotonic clock: `steps` are (after
/// batch, wall-clock step in seconds).
fn stepped_stream(k: &Keys, steps: &[(u64, i64)]) -> (Vec<ExportLogsServiceRequest>, Engine, u64) {
    let state = tempfile::tempdir().unwrap();
    let mono = ManualMonotonic::default();
    let mut wall = T0;
    let mut cfg = config(k, state.path(), None);
    // Only time paces checkpoints and epochs here.
    cfg.checkpoint.records = 1000;
    cfg.key_epoch.records = 1000;
    let e = Engine::with_clock(cfg, wall, Box::new(mono.clone())).unwrap();
    let mut out = Vec::new();
    for i in 0..14 {
        // One call every 4 s of real time, alternating batches and idle ticks.
        mono.advance(4 * SEC);
        wall += 4 * SEC;
        if let Some(&(_, s)) = steps.iter().find(|(after, _)| *after == i) {
            wall = wall.checked_add_signed(s * SEC as i64).unwrap();
        }
        if i % 2 == 0 {
            out.push(deliver(&e, batch(i), wall));
        } else {
            let stamps = e.tick(wall).unwrap();
            if stamps.batch_id != 0 {
                e.settle(stamps.batch_id, true).unwrap();
                out.push(extra_only(&stamps));
            }
        }
    }
    std::mem::forget(state);
    (out, e, wall)
}

fn control_events(reqs: &[ExportLogsServiceRequest]) -> Vec<String> {
    records(&lines(reqs)).iter().filter_map(|r| event(r).map(str::to_string)).collect()
}

#[test]
fn a_forward_clock_step_is_announced_and_does_not_read_as_deleted_checkpoints() {
    let k = keys("ops");
    let (reqs, e, wall) = stepped_stream(&k, &[(5, 3600)]);
    assert_eq!(e.counters().clock_steps, 1);
    let events = control_events(&reqs);
    assert_eq!(events.iter().filter(|e| *e == "clock_step").count(), 1, "{events:?}");
    let r = verify_lines(&reqs, &k, wall);
    assert!(error_kinds(&r).is_empty(), "{:#?}", r.streams[0].findings);
    let info = kinds(&r, Severity::Info);
    assert!(info.iter().any(|(k, _, _)| *k == Kind::ClockStep), "{info:?}");
    // Without the announcement the same gap is tampering: the verifier
    // honours only what the stream itself says.
    let mut ls = lines(&reqs);
    for l in &mut ls {
        for rl in l["resourceLogs"].as_array_mut().unwrap() {
            for sl in rl["scopeLogs"].as_array_mut().unwrap() {
                for r in sl["logRecords"].as_array_mut().unwrap() {
                    if event(r) == Some("clock_step") {
                        *attr_mut(r, "audit.stream.clock_step") = serde_json::json!({"intValue": "0"});
                    }
                }
            }
        }
    }
    let out = tempfile::tempdir().unwrap();
    write_lines(out.path(), "audit.jsonl", &ls);
    let r = verify(&[out.path().to_path_buf()], &options(&k, wall));
    assert!(error_kinds(&r).contains(&Kind::ContentMismatch), "an edited announcement fails its link");
}

#[test]
fn a_backward_clock_step_keeps_checkpoints_and_key_epochs_going() {
    let k = keys("ops");
    let (reqs, e, wall) = stepped_stream(&k, &[(3, -3600)]);
    assert_eq!(e.counters().clock_steps, 1);
    let recs = records(&lines(&reqs));
    let step_at = recs.iter().position(|r| event(r) == Some("clock_step")).expect("announced");
    // After the step, heartbeats still come every 10 s of monotonic time
    // (the wall clock reads an hour earlier than before).
    let later_checkpoints = recs[step_at..].iter().filter(|r| event(r) == Some("checkpoint")).count();
    assert!(later_checkpoints >= 3, "{later_checkpoints} checkpoints after the step");
    let epoch = |r: &Value| attr(r, "audit.integrity.key_epoch").map(|v| v["intValue"].as_str().unwrap().to_string());
    let (before, after) = (epoch(&recs[step_at - 1]), epoch(recs.last().unwrap()));
    assert_ne!(before, after, "key epochs keep evolving after a backward step");
    let r = verify_lines(&reqs, &k, wall);
    assert!(error_kinds(&r).is_empty(), "{:#?}", r.streams[0].findings);
}

#[test]
fn an_announced_outage_of_the_state_directory_is_a_warning_not_tampering() {
    let k = keys("ops");
    let state = tempfile::tempdir().unwrap();
    let mono = ManualMonotonic::default();
    let mut wall = T0;
    let mut cfg = config(&k, state.path(), None);
    cfg.checkpoint.records = 1000;
    cfg.checkpoint.interval = SEC;
    let e = Engine::with_clock(cfg, wall, Box::new(mono.clone())).unwrap();
    let mut out = Vec::new();
    let mut tick = |e: &Engine, out: &mut Vec<ExportLogsServiceRequest>, dir_ok: bool| {
        mono.advance(SEC);
        wall += SEC;
        match e.tick(wall) {
            Ok(stamps) if stamps.batch_id != 0 => {
                e.settle(stamps.batch_id, dir_ok).unwrap();
                out.push(extra_only(&stamps));
            }
            Ok(_) => {}
            Err(err) => assert_eq!(err.kind, ErrorKind::State, "{err}"),
        }
        wall
    };
    for _ in 0..3 {
        tick(&e, &mut out, true);
    }
    // 70 s outage: the state cannot be saved (a directory where the
    // temporary file goes), so every heartbeat checkpoint fails.
    let tmp = state.path().join("robust/state.json.tmp");
    std::fs::create_dir(&tmp).unwrap();
    for _ in 0..70 {
        tick(&e, &mut out, false);
    }
    std::fs::remove_dir(&tmp).unwrap();
    let mut last = 0;
    for _ in 0..3 {
        last = tick(&e, &mut out, true);
    }
    let recs = records(&lines(&out));
    let gap = recs.iter().find(|r| event(r) == Some("gap")).expect("the outage is announced");
    assert!(attr(gap, "audit.stream.outage.start").is_some() && attr(gap, "audit.stream.outage.end").is_some());
    let opts = Options { max_delay_ns: SEC, ..options(&k, last) };
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("audit.jsonl"), json_lines(&out)).unwrap();
    let r = verify(&[dir.path().to_path_buf()], &opts);
    assert!(error_kinds(&r).is_empty(), "{:#?}", r.streams[0].findings);
    let warnings = kinds(&r, Severity::Warning);
    assert!(warnings.iter().any(|(k, _, _)| *k == Kind::HeartbeatMissing), "{warnings:?}");
    assert!(warnings.iter().any(|(k, _, _)| *k == Kind::MissingRecords), "{warnings:?}");
}

#[test]
fn reserved_names_are_refused_in_resource_and_scope_attributes_too() {
    for (at, key) in [
        ("resource", "audit.sequence.number"),
        ("scope", "audit.stream.event"),
        ("resource", "audit.unstamped.removed"),
    ] {
        let mut req = batch(0);
        let rl = &mut req.resource_logs[0];
        match at {
            "resource" => rl.resource.as_mut().unwrap().attributes.push(kv(key, s("7"))),
            _ => rl.scope_logs[0].scope.as_mut().unwrap().attributes.push(kv(key, s("start"))),
        }
        let e = Engine::new(EngineConfig::new("reserved"), T0).unwrap();
        let err = e.stamp_logs(&req.encode_to_vec(), T0).expect_err("refused");
        assert_eq!(err.kind, ErrorKind::RejectedRecord);
        assert!(
            err.message.contains(&format!(
                "resourceLogs[0].{}",
                if at == "resource" { "resource" } else { "scopeLogs[0].scope" }
            )),
            "{}",
            err.message
        );
        assert!(err.message.contains(key) && err.message.contains("reserved"), "{}", err.message);
    }
}

#[test]
fn drop_record_stamps_the_good_records_and_names_the_bad_ones_in_order() {
    let mut cfg = EngineConfig::new("drop");
    cfg.on_bad_record = auditchain::engine::config::OnBadRecord::DropRecord;
    let e = Engine::new(cfg, T0).unwrap();
    let mut req = request((0..4).map(audit_record));
    req.resource_logs[0].scope_logs[0].log_records[1].attributes.push(kv("audit.integrity.value", s("00")));
    // A second resource whose name is reserved: both its records are bad.
    let mut other = batch(7).resource_logs.remove(0);
    other.resource.as_mut().unwrap().attributes.push(kv("audit.stream.name", s("x")));
    req.resource_logs.push(other);
    req.resource_logs.push(batch(9).resource_logs.remove(0));
    let stamps = e.stamp_logs(&req.encode_to_vec(), T0 + SEC).unwrap();
    let bad: Vec<usize> = stamps.rejected.iter().map(|(i, _)| *i).collect();
    assert_eq!(bad, vec![1, 4, 5]);
    assert!(stamps.rejected[1].1.contains("resourceLogs[1].resource"), "{:?}", stamps.rejected);
    assert_eq!(stamps.records.len(), 8, "one entry per record of the batch");
    let stamped: Vec<bool> = stamps.records.iter().map(Option::is_some).collect();
    assert_eq!(stamped, [true, false, true, true, false, false, true, true], "the other five are stamped");
    let flat = auditchain::ffi::stamps::FlatStamps::new(&stamps);
    let counts: Vec<u32> = flat.batch().iter().map(|r| r.count).collect();
    assert_eq!(
        counts.iter().map(|&c| c == 0).collect::<Vec<_>>(),
        [false, true, false, false, true, true, false, false]
    );
    assert_eq!(flat.rejected, [1, 4, 5]);
    // A batch of bad records only is refused as a whole.
    let mut all_bad = batch(0);
    all_bad.resource_logs[0].resource.as_mut().unwrap().attributes.push(kv("audit.stream.x", s("x")));
    assert_eq!(
        e.stamp_logs(&all_bad.encode_to_vec(), T0 + 2 * SEC).expect_err("refused").kind,
        ErrorKind::RejectedRecord
    );
}

#[test]
fn drop_record_under_a_selection_rejects_what_must_not_leave_and_skips_the_rest() {
    let mut cfg = EngineConfig::new("drop-selected");
    cfg.on_bad_record = auditchain::engine::config::OnBadRecord::DropRecord;
    let e = Engine::new(cfg, T0).unwrap();
    let mut req = request((0..4).map(audit_record));
    let records = &mut req.resource_logs[0].scope_logs[0].log_records;
    // Selected and bad; not selected and carrying a forged stamp; not
    // selected with a body that has no canonical form (never read).
    records[0].attributes.push(kv("audit.sequence.number", s("1")));
    records[1].attributes.push(kv("audit.integrity.value", s("00")));
    records[2].trace_id = vec![1, 2, 3];
    let mut bytes = req.encode_to_vec();
    let selection = [1u8, 0, 0, 1];
    let stamps = e.stamp(auditchain::core::canonical::Signal::Logs, &bytes, Some(&selection), T0 + SEC).unwrap();
    let bad: Vec<usize> = stamps.rejected.iter().map(|(i, _)| *i).collect();
    assert_eq!(bad, vec![0, 1], "{:?}", stamps.rejected);
    assert!(stamps.rejected[1].1.contains("logRecords[1].attributes"), "{:?}", stamps.rejected);
    let stamped: Vec<bool> = stamps.records.iter().map(Option::is_some).collect();
    assert_eq!(stamped, [false, false, false, true]);
    // A batch none of whose records can leave is refused whole.
    bytes = request([audit_record(9)]).encode_to_vec();
    let mut forged = request([audit_record(9)]);
    forged.resource_logs[0].scope_logs[0].log_records[0].attributes.push(kv("audit.stream.event", s("start")));
    let err = e.stamp(auditchain::core::canonical::Signal::Logs, &forged.encode_to_vec(), Some(&[0]), T0 + 2 * SEC);
    assert_eq!(err.expect_err("refused").kind, ErrorKind::RejectedRecord);
    let ok = e.stamp(auditchain::core::canonical::Signal::Logs, &bytes, Some(&[0]), T0 + 2 * SEC).unwrap();
    assert!(ok.rejected.is_empty() && ok.records == [None], "an unselected good record is only skipped");
}

#[test]
fn drop_record_works_for_spans_and_names_them_by_the_traces_paths() {
    use auditchain::core::canonical::Signal;
    use opentelemetry_proto::tonic::common::v1::InstrumentationScope;
    use opentelemetry_proto::tonic::resource::v1::Resource;
    use support::spans::{Span, traces};
    let mut cfg = EngineConfig::new("drop-spans");
    cfg.signal = Signal::Traces;
    cfg.on_bad_record = auditchain::engine::config::OnBadRecord::DropRecord;
    let e = Engine::new(cfg, T0).unwrap();
    let span = |i: u64| Span {
        trace_id: (u128::from(i) + 1).to_be_bytes().to_vec(),
        span_id: (i + 1).to_be_bytes().to_vec(),
        name: format!("op-{i}"),
        start_time_unix_nano: T0 + i,
        end_time_unix_nano: T0 + i + 1,
        ..Default::default()
    };
    let mut bad = span(1);
    bad.span_id = vec![1, 2, 3]; // an id of the wrong length
    let resource = Some(Resource { attributes: vec![kv("service.name", s("svc"))], ..Default::default() });
    let scope = Some(InstrumentationScope { name: "audit".into(), ..Default::default() });
    let mut req = traces(resource.clone(), scope.clone(), vec![span(0), bad, span(2)]);
    let mut forged = traces(resource, scope, vec![span(3)]).resource_spans.remove(0);
    forged.scope_spans[0].scope.as_mut().unwrap().attributes.push(kv("audit.sequence.stream_id", s("x")));
    req.resource_spans.push(forged);
    let stamps = e.stamp(Signal::Traces, &req.encode_to_vec(), None, T0 + SEC).unwrap();
    let bad: Vec<usize> = stamps.rejected.iter().map(|(i, _)| *i).collect();
    assert_eq!(bad, vec![1, 3]);
    assert!(
        stamps.rejected[0].1.starts_with("resourceSpans[0].scopeSpans[0].spans[1].spanId"),
        "{:?}",
        stamps.rejected
    );
    assert!(
        stamps.rejected[1].1.starts_with("resourceSpans[1].scopeSpans[0].scope.attributes"),
        "{:?}",
        stamps.rejected
    );
    let stamped: Vec<bool> = stamps.records.iter().map(Option::is_some).collect();
    assert_eq!(stamped, [true, false, true, false]);
    // Without drop_record the same batch is refused, naming the first.
    let strict = traces_engine_strict();
    let err = strict.stamp(Signal::Traces, &req.encode_to_vec(), None, T0 + SEC).expect_err("refused");
    assert!(err.message.contains("resourceSpans[0].scopeSpans[0].spans[1].spanId"), "{}", err.message);
}

fn traces_engine_strict() -> Engine {
    let mut cfg = EngineConfig::new("strict-spans");
    cfg.signal = auditchain::core::canonical::Signal::Traces;
    Engine::new(cfg, T0).unwrap()
}

#[test]
fn a_traces_stream_announces_a_clock_step_in_a_control_span_the_verifier_honours() {
    use auditchain::core::canonical::Signal;
    use support::spans::{ExportTraceServiceRequest, Span, apply_spans, deliver_spans, traces, traces_json};
    let k = keys("ops");
    let state = tempfile::tempdir().unwrap();
    let mono = ManualMonotonic::default();
    let mut cfg = config(&k, state.path(), None);
    cfg.signal = Signal::Traces;
    cfg.checkpoint.records = 1000;
    let mut wall = T0;
    let e = Engine::with_clock(cfg, wall, Box::new(mono.clone())).unwrap();
    let mut out = Vec::new();
    for i in 0..10u64 {
        mono.advance(4 * SEC);
        wall += 4 * SEC;
        if i == 4 {
            wall += 3600 * SEC;
        }
        let span = Span {
            trace_id: (u128::from(i) + 1).to_be_bytes().to_vec(),
            span_id: (i + 1).to_be_bytes().to_vec(),
            name: format!("op-{i}"),
            start_time_unix_nano: wall,
            end_time_unix_nano: wall + 1,
            ..Default::default()
        };
        if i % 2 == 0 {
            out.push(deliver_spans(&e, traces(None, None, vec![span]), wall, None));
        } else {
            let stamps = e.tick(wall).unwrap();
            if stamps.batch_id != 0 {
                e.settle(stamps.batch_id, true).unwrap();
                let mut own = ExportTraceServiceRequest::default();
                apply_spans(&mut own, &stamps);
                out.push(own);
            }
        }
    }
    assert_eq!(e.counters().clock_steps, 1);
    let lines: Vec<Value> = out.iter().map(traces_json).collect();
    let step = lines
        .iter()
        .flat_map(|l| l["resourceSpans"].as_array().unwrap())
        .flat_map(|rs| rs["scopeSpans"].as_array().unwrap())
        .flat_map(|ss| ss["spans"].as_array().unwrap())
        .find(|s| s["name"] == "auditchain.clock_step")
        .expect("a control span announces the step");
    assert!(attr(step, "audit.stream.clock_step").is_some() && attr(step, "audit.stream.body").is_some(), "{step}");
    let dir = tempfile::tempdir().unwrap();
    write_lines(dir.path(), "traces.jsonl", &lines);
    let r = verify(&[dir.path().to_path_buf()], &options(&k, wall));
    assert!(error_kinds(&r).is_empty(), "{:#?}", r.streams[0].findings);
    assert!(kinds(&r, Severity::Info).iter().any(|(k, _, _)| *k == Kind::ClockStep));
}
