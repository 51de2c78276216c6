//! The online checker of `mode: verify` (docs/SPEC.md §12) on batches the
//! engine really stamped, delivered as protobuf: in order, resent, out of
//! order, with an edited body, a deleted record, a swapped pair, forged
//! checkpoints; across a restart; logs and traces; both stamp forms.

mod support;

use auditchain::core::canonical::Signal;
use auditchain::core::keys::{self, KeySet};
use auditchain::core::note::NoteSigner;
use auditchain::core::stamp::StampForm;
use auditchain::engine::Engine;
use auditchain::engine::config::{CheckpointConfig, EngineConfig, KeyEpochConfig, StateConfig};
use auditchain::gate::verdict::{EventKind, Outcome, Reason, Verdicts};
use auditchain::gate::{Checker, CheckerConfig};
use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::logs::v1::LogRecord;
use prost::Message;
use std::path::Path;
use support::*;

struct Keyed {
    dir: tempfile::TempDir,
    set: KeySet,
}

fn keyed() -> Keyed {
    let dir = tempfile::tempdir().unwrap();
    let set = KeySet::generate("gate-host").unwrap();
    keys::write_new_file(&dir.path().join("chain.key"), &set.chain.to_file_string(), 0o600).unwrap();
    keys::write_new_file(&dir.path().join("sign.key"), &set.signer.private_key_string(), 0o600).unwrap();
    Keyed { dir, set }
}

fn engine_config(k: &Keyed, state: &Path, form: StampForm) -> EngineConfig {
    EngineConfig {
        state: StateConfig { directory: Some(state.to_path_buf()), new_stream: false },
        stamp: form,
        key_file: Some(k.dir.path().join("chain.key")),
        signing_key_file: Some(k.dir.path().join("sign.key")),
        key_epoch: KeyEpochConfig { records: 4, interval: 60 * SEC },
        checkpoint: CheckpointConfig { interval: 60 * SEC, records: 5, file: None },
        ..EngineConfig::new("gate-host")
    }
}

/// Batches of 3 records the engine stamped (the first batch carries the
/// start record after them, as the shim appends it), then the close.
fn batches(k: &Keyed, form: StampForm, n: u64) -> Vec<ExportLogsServiceRequest> {
    batches_of_version(k, form, n, 2)
}

/// As `batches`, of stream format `version` (1: chain-head checkpoints,
/// SPEC §5.3; 2: the transparency log, §5.5).
fn batches_of_version(k: &Keyed, form: StampForm, n: u64, version: u8) -> Vec<ExportLogsServiceRequest> {
    let state = tempfile::tempdir().unwrap();
    let mut config = engine_config(k, state.path(), form);
    config.log.format_version = version;
    let e = Engine::new(config, T0).unwrap();
    let mut out = Vec::new();
    for b in 0..n {
        out.push(deliver(&e, request((b * 3..b * 3 + 3).map(audit_record)), T0 + (b + 1) * SEC));
    }
    out.push(close_delivered(&e, T0 + (n + 1) * SEC));
    out
}

fn checker(k: &Keyed, state: &Path, window: u64) -> Checker {
    let config = serde_json::json!({
        "state_directory": state,
        "key_file": k.dir.path().join("chain.key"),
        "public_keys": [k.set.signer.verifier().public_key_string()],
        "reorder_window": window,
        "reorder_timeout_seconds": 5,
        "heartbeat_grace_seconds": 10,
    });
    Checker::new(CheckerConfig::from_json(config.to_string().as_bytes()).unwrap()).unwrap()
}

fn check(c: &Checker, req: &ExportLogsServiceRequest) -> Verdicts {
    c.check(Signal::Logs, &req.encode_to_vec(), T0 + 10 * SEC).unwrap()
}

fn outcomes(v: &Verdicts) -> Vec<(Outcome, Reason)> {
    v.records.clone()
}

fn all_ok(v: &Verdicts) -> bool {
    v.records.iter().all(|r| *r == (Outcome::Ok, Reason::None))
}

fn records_mut(req: &mut ExportLogsServiceRequest) -> Vec<&mut LogRecord> {
    req.resource_logs.iter_mut().flat_map(|r| r.scope_logs.iter_mut()).flat_map(|s| s.log_records.iter_mut()).collect()
}

fn events(v: &Verdicts, kind: EventKind) -> Vec<(u64, u64, Outcome, Reason)> {
    v.events.iter().filter(|e| e.kind == kind).map(|e| (e.sequence, e.count, e.outcome, e.reason)).collect()
}

#[test]
fn a_stamped_stream_verifies_in_order_full_and_compact() {
    let k = keyed();
    for form in [StampForm::Full, StampForm::Compact] {
        let state = tempfile::tempdir().unwrap();
        let c = checker(&k, state.path(), 100);
        let mut checkpoints = 0;
        for req in batches(&k, form, 4) {
            let v = check(&c, &req);
            assert!(all_ok(&v), "{form:?}: {:?}", v.records);
            checkpoints += events(&v, EventKind::Checkpoint).len();
        }
        assert!(checkpoints >= 3, "{form:?}: the checkpoints were verified ({checkpoints})");
        // The saved state keeps a digest per remembered number, not the records.
        let files: Vec<_> =
            std::fs::read_dir(state.path().join("streams")).unwrap().map(|e| e.unwrap().path()).collect();
        assert_eq!(files.len(), 1);
        let text = std::fs::read_to_string(&files[0]).unwrap();
        let remembered = text.matches("\"d\":").count() as u64;
        assert!(remembered >= 12, "{text}");
        assert!((text.len() as u64) < 1500 + 110 * remembered, "{} bytes for {remembered} numbers", text.len());
    }
}

#[test]
fn a_resent_batch_is_duplicates_and_batches_out_of_order_pass() {
    let k = keyed();
    for form in [StampForm::Full, StampForm::Compact] {
        let b = batches(&k, form, 4);
        let state = tempfile::tempdir().unwrap();
        let c = checker(&k, state.path(), 100);
        assert!(all_ok(&check(&c, &b[0])));
        let again = check(&c, &b[0]);
        assert!(again.records.iter().all(|r| r.0 == Outcome::Duplicate), "{:?}", again.records);
        // Batch 2 before batch 1: held, then judged when 1 arrives.
        let early = check(&c, &b[2]);
        assert!(early.records.iter().all(|r| r.0 == Outcome::Held), "{:?}", early.records);
        let late = check(&c, &b[1]);
        assert!(all_ok(&late), "{:?}", late.records);
        let resolved = events(&late, EventKind::Resolved);
        assert!(resolved.len() >= 3 && resolved.iter().all(|r| r.2 == Outcome::Ok), "{resolved:?}");
        // A held record resent while held is a duplicate too.
        let held = check(&c, &b[4]);
        assert!(held.records.iter().all(|r| r.0 == Outcome::Held), "{:?}", held.records);
        assert!(check(&c, &b[4]).records.iter().all(|r| r.0 == Outcome::Duplicate));
        assert!(all_ok(&check(&c, &b[3])));
    }
}

#[test]
fn an_edited_body_fails_alone() {
    let k = keyed();
    for form in [StampForm::Full, StampForm::Compact] {
        let mut b = batches(&k, form, 3);
        records_mut(&mut b[1])[1].body = Some(s("nothing happened"));
        let state = tempfile::tempdir().unwrap();
        let c = checker(&k, state.path(), 100);
        assert!(all_ok(&check(&c, &b[0])));
        let v = check(&c, &b[1]);
        assert_eq!(v.records[1], (Outcome::Failed, Reason::ContentMismatch), "{form:?}");
        assert_eq!(v.records[0], (Outcome::Ok, Reason::None));
        assert_eq!(v.records[2], (Outcome::Ok, Reason::None), "{form:?}: the next record still chains");
        assert!(all_ok(&check(&c, &b[2])));
    }
}

#[test]
fn a_deleted_record_holds_its_successors_then_reports_them() {
    let k = keyed();
    let mut b = batches(&k, StampForm::Compact, 4);
    b[1].resource_logs[0].scope_logs[0].log_records.remove(0);
    let state = tempfile::tempdir().unwrap();
    let c = checker(&k, state.path(), 4);
    assert!(all_ok(&check(&c, &b[0])));
    let v = check(&c, &b[1]);
    assert!(v.records.iter().all(|r| r.0 == Outcome::Held), "{:?}", v.records);
    let v = check(&c, &b[2]);
    let missing = events(&v, EventKind::Missing);
    assert_eq!(missing.len(), 1, "{:?}", v.events);
    let deleted = missing[0].0;
    assert_eq!((deleted, missing[0].1), (5, 1));
    let resolved = events(&v, EventKind::Resolved);
    assert!(resolved.contains(&(deleted + 1, 1, Outcome::Failed, Reason::UncheckedRecord)), "{resolved:?}");
    assert!(resolved.iter().filter(|r| r.0 > deleted + 1).all(|r| r.2 == Outcome::Ok), "{resolved:?}");
    assert!(v.records.iter().all(|r| r.0 == Outcome::Ok), "{:?}", v.records);
    // Past the timeout, a tick gives up on a gap too.
    let state = tempfile::tempdir().unwrap();
    let c = checker(&k, state.path(), 100);
    assert!(all_ok(&check(&c, &b[0])));
    check(&c, &b[1]);
    assert!(events(&c.tick(T0 + 12 * SEC).unwrap(), EventKind::Missing).is_empty(), "not before the timeout");
    let t = c.tick(T0 + 20 * SEC).unwrap();
    assert_eq!(events(&t, EventKind::Missing).len(), 1, "{:?}", t.events);
    assert!(all_ok(&check(&c, &b[2])));
}

#[test]
fn reordering_passes_swapped_bodies_fail_and_a_window_too_small_reports_a_gap() {
    let k = keyed();
    let b = batches(&k, StampForm::Compact, 3);
    let state = tempfile::tempdir().unwrap();
    let c = checker(&k, state.path(), 100);
    let mut swapped = b[1].clone();
    swapped.resource_logs[0].scope_logs[0].log_records.swap(0, 1);
    assert!(all_ok(&check(&c, &b[0])));
    let v = check(&c, &swapped);
    assert!(all_ok(&v), "records moved within a batch keep their links: {:?}", v.records);
    // Two records' contents exchanged: both fail.
    let state = tempfile::tempdir().unwrap();
    let c = checker(&k, state.path(), 100);
    let mut bodies = b[1].clone();
    let recs = &mut bodies.resource_logs[0].scope_logs[0].log_records;
    let body0 = recs[0].body.clone();
    recs[0].body = recs[1].body.clone();
    recs[1].body = body0;
    assert!(all_ok(&check(&c, &b[0])));
    let v = check(&c, &bodies);
    assert_eq!(v.records[..2], [(Outcome::Failed, Reason::ContentMismatch); 2]);
    // Window 1: batch 2 ahead of batch 1 cannot wait; the gap is reported
    // and batch 1 comes too late.
    let state = tempfile::tempdir().unwrap();
    let c = checker(&k, state.path(), 1);
    assert!(all_ok(&check(&c, &b[0])));
    let v = check(&c, &b[2]);
    assert_eq!(events(&v, EventKind::Missing).len(), 1, "{:?}", v.events);
    assert!(v.records.contains(&(Outcome::Failed, Reason::UncheckedRecord)), "{:?}", v.records);
    let late = check(&c, &b[1]);
    assert!(late.records.iter().all(|r| r.1 == Reason::OutOfWindow), "{:?}", late.records);
}

#[test]
fn forged_checkpoints_fail() {
    let k = keyed();
    for version in [1, 2] {
        forged_checkpoints_fail_in(&k, version);
    }
}

fn forged_checkpoints_fail_in(k: &Keyed, version: u8) {
    let b = batches_of_version(k, StampForm::Full, 4, version);
    // The close's final checkpoint.
    let last = b.len() - 1;
    let find_cp = |req: &ExportLogsServiceRequest| {
        req.resource_logs
            .iter()
            .flat_map(|r| r.scope_logs.iter())
            .flat_map(|s| s.log_records.iter())
            .position(|r| {
                r.attributes.iter().any(|a| {
                    a.key == "audit.stream.event" && any_json(a.value.as_ref().unwrap())["stringValue"] == "checkpoint"
                })
            })
            .unwrap()
    };
    let cp = find_cp(&b[last]);
    let body = |r: &LogRecord| any_json(r.body.as_ref().unwrap())["stringValue"].as_str().unwrap().to_string();
    let note = body(records_mut(&mut b[last].clone())[cp]);
    let text = &note[..note.find("\n\n").unwrap() + 1];
    let other = NoteSigner::parse(&KeySet::generate("gate-host").unwrap().signer.private_key_string()).unwrap();
    let bigger = text.replacen(&format!("\n{}\n", text.lines().nth(1).unwrap()), "\n999\n", 1);
    for (forged, reason) in [
        (other.sign(text), Reason::UnknownSigner),
        (k.set.signer.sign(&bigger), Reason::CheckpointMismatch),
        (note.replace("\n\u{2014} gate-host ", "\n\u{2014} gate-host A"), Reason::BadCheckpoint),
    ] {
        let mut b = b.clone();
        records_mut(&mut b[last])[cp].body = Some(s(&forged));
        let state = tempfile::tempdir().unwrap();
        let c = checker(k, state.path(), 100);
        for req in &b[..last] {
            assert!(all_ok(&check(&c, req)));
        }
        let v = check(&c, &b[last]);
        assert_eq!(v.records[cp], (Outcome::Failed, reason), "version {version}: {forged}");
    }
}

#[test]
fn a_restart_continues_from_the_saved_state_and_the_state_is_locked() {
    let k = keyed();
    let b = batches(&k, StampForm::Compact, 4);
    let state = tempfile::tempdir().unwrap();
    {
        let c = checker(&k, state.path(), 100);
        assert!(all_ok(&check(&c, &b[0])));
        check(&c, &b[2]);
        let config = serde_json::json!({"state_directory": state.path()});
        let second = Checker::new(CheckerConfig::from_json(config.to_string().as_bytes()).unwrap());
        assert!(second.err().unwrap().message.contains("locked"));
    }
    let c = checker(&k, state.path(), 100);
    assert_eq!(c.streams(), 1);
    let v = check(&c, &b[1]);
    assert!(all_ok(&v), "{:?}", v.records);
    assert!(events(&v, EventKind::Resolved).iter().all(|r| r.2 == Outcome::Ok));
    assert!(check(&c, &b[0]).records.iter().all(|r| r.0 == Outcome::Duplicate));
}

#[test]
fn a_silent_stream_is_reported_once() {
    let k = keyed();
    let b = batches(&k, StampForm::Full, 2);
    let state = tempfile::tempdir().unwrap();
    let c = checker(&k, state.path(), 100);
    for req in &b[..b.len() - 1] {
        check(&c, req);
    }
    assert!(events(&c.tick(T0 + 30 * SEC).unwrap(), EventKind::Silent).is_empty());
    let t = c.tick(T0 + 200 * SEC).unwrap();
    assert_eq!(events(&t, EventKind::Silent).len(), 1, "{:?}", t.events);
    assert!(events(&c.tick(T0 + 300 * SEC).unwrap(), EventKind::Silent).is_empty());
    // An ended stream is not silent.
    check(&c, &b[b.len() - 1]);
    let state = tempfile::tempdir().unwrap();
    let c = checker(&k, state.path(), 100);
    for req in &b {
        check(&c, req);
    }
    assert!(events(&c.tick(T0 + 300 * SEC).unwrap(), EventKind::Silent).is_empty());
}

#[test]
fn unstamped_and_forged_records_fail_and_garbage_is_an_error() {
    let k = keyed();
    let state = tempfile::tempdir().unwrap();
    let c = checker(&k, state.path(), 100);
    let v = check(&c, &request((0..2).map(audit_record)));
    assert_eq!(outcomes(&v), vec![(Outcome::Failed, Reason::Unstamped); 2]);
    let mut forged = request((0..1).map(audit_record));
    forged.resource_logs[0].scope_logs[0].log_records[0]
        .attributes
        .push(kv("audit.integrity.stamp", s(&format!("c1 gate-host-x 1 0 {}", "ab".repeat(32)))));
    assert_eq!(check(&c, &forged).records[0], (Outcome::Failed, Reason::BadGenesis));
    forged.resource_logs[0].scope_logs[0].log_records[0].attributes.pop();
    forged.resource_logs[0].scope_logs[0].log_records[0].attributes.push(kv("audit.integrity.stamp", s("c1 x")));
    assert_eq!(check(&c, &forged).records[0], (Outcome::Failed, Reason::MalformedStamp));
    assert!(c.check(Signal::Logs, b"\xff\xff\xff", T0).is_err());
}

#[test]
fn spans_verify_and_an_edited_span_fails() {
    use support::spans::{close_spans, deliver_spans, traces};
    let k = keyed();
    let st = tempfile::tempdir().unwrap();
    let mut cfg = engine_config(&k, st.path(), StampForm::Compact);
    cfg.signal = Signal::Traces;
    let e = Engine::new(cfg, T0).unwrap();
    let span = |i: u8| support::spans::Span {
        trace_id: vec![i; 16],
        span_id: vec![i; 8],
        name: format!("op-{i}"),
        start_time_unix_nano: T0,
        end_time_unix_nano: T0 + 1,
        ..Default::default()
    };
    let mut reqs = Vec::new();
    for b in 0..3u8 {
        reqs.push(deliver_spans(&e, traces(None, None, (b * 3..b * 3 + 3).map(span).collect()), T0 + SEC, None));
    }
    reqs.push(close_spans(&e, T0 + 5 * SEC));
    let state = tempfile::tempdir().unwrap();
    let c = checker(&k, state.path(), 100);
    reqs[1].resource_spans[0].scope_spans[0].spans[1].name = "renamed".into();
    for (i, r) in reqs.iter().enumerate() {
        let v = c.check(Signal::Traces, &r.encode_to_vec(), T0 + 10 * SEC).unwrap();
        if i == 1 {
            assert_eq!(v.records[1], (Outcome::Failed, Reason::ContentMismatch));
            assert_eq!(v.records[0], (Outcome::Ok, Reason::None));
        } else {
            assert!(all_ok(&v), "{i}: {:?}", v.records);
        }
    }
}
