//! Spans as audit records (SPEC §2.8, §5.4): a traces engine stamps the
//! selected spans of a batch and emits its own records as control spans;
//! the exported OTLP/JSON trace files verify, also mixed with log files in
//! one run, each stream naming its signal; tampered files fail.

mod support;

use auditchain::core::canonical::Signal;
use auditchain::core::keys::KeySet;
use auditchain::engine::Engine;
use auditchain::engine::config::EngineConfig;
use auditchain::engine::error::ErrorKind;
use auditchain::verify::report::{Kind, Report, Severity, Status as Verdicts, Verdict};
use auditchain::verify::{Options, verify};
use opentelemetry_proto::tonic::common::v1::InstrumentationScope;
use opentelemetry_proto::tonic::resource::v1::Resource;
use prost::Message;
use serde_json::Value;
use std::path::Path;
use support::spans::*;
use support::*;

fn traces_engine(name: &str, configure: impl FnOnce(&mut EngineConfig)) -> Engine {
    let mut config = EngineConfig::new(name);
    config.signal = Signal::Traces;
    configure(&mut config);
    Engine::new(config, T0).unwrap()
}

/// Seed 002's span: who changed whose role.
fn role_update(i: u64) -> Span {
    Span {
        trace_id: (i as u128 + 1).to_be_bytes().to_vec(),
        span_id: (i + 1).to_be_bytes().to_vec(),
        name: "user.role.update".into(),
        kind: 2,
        start_time_unix_nano: T0 + i,
        end_time_unix_nano: T0 + i + 1000,
        attributes: vec![
            kv("enduser.id", s(&format!("admin-{i}"))),
            kv("enduser.role", s("admin")),
            kv("audit.action", s("role_update")),
            kv("audit.target_user", s(&format!("user-{i}"))),
            kv("audit.old_value", s("viewer")),
            kv("audit.new_value", s("editor")),
        ],
        status: Some(Status { code: 1, message: String::new() }),
        ..Default::default()
    }
}

/// A span no audit rule selects.
fn health_check(i: u64) -> Span {
    Span { name: "GET /healthz".into(), span_id: (1000 + i).to_be_bytes().to_vec(), ..Default::default() }
}

fn batch(service: &str, spans: Vec<Span>) -> ExportTraceServiceRequest {
    traces(
        Some(Resource { attributes: vec![kv("service.name", s(service))], ..Default::default() }),
        Some(InstrumentationScope { name: "audit-service".into(), ..Default::default() }),
        spans,
    )
}

fn write(dir: &Path, name: &str, reqs: &[ExportTraceServiceRequest]) {
    let text: String = reqs.iter().map(|r| format!("{}\n", traces_json(r))).collect();
    std::fs::write(dir.join(name), text).unwrap();
}

fn check(dir: &Path, allow_unstamped: bool) -> Report {
    verify(&[dir.to_path_buf()], &Options { allow_unstamped, ..Options::default() })
}

/// Three batches of a traces stream, closed: 2 role updates per batch.
fn traces_stream(e: &Engine) -> Vec<ExportTraceServiceRequest> {
    let mut out: Vec<_> = (0..3)
        .map(|b| deliver_spans(e, batch("iam", vec![role_update(2 * b), role_update(2 * b + 1)]), T0, None))
        .collect();
    out.push(close_spans(e, T0 + SEC));
    out
}

#[test]
fn a_traces_stream_verifies_beside_a_logs_stream_each_naming_its_signal() {
    let d = tempfile::tempdir().unwrap();
    write(d.path(), "traces.jsonl", &traces_stream(&traces_engine("iam-traces", |_| {})));
    let logs = Engine::new(EngineConfig::new("iam-logs"), T0).unwrap();
    let log_reqs = vec![deliver(&logs, request([audit_record(1), audit_record(2)]), T0), close_delivered(&logs, T0)];
    std::fs::write(d.path().join("logs.jsonl"), json_lines(&log_reqs)).unwrap();

    let r = check(d.path(), false);
    assert_eq!(r.status(), Verdicts::Verified, "{r:#?}");
    let mut signals: Vec<_> = r.streams.iter().map(|s| (s.signal, s.records, s.ended)).collect();
    signals.sort();
    // 6 spans + start + end; 2 log records + start + end.
    assert_eq!(signals, vec![(Signal::Logs, 4, true), (Signal::Traces, 8, true)]);
    let json = serde_json::to_value(&r).unwrap();
    let mut named: Vec<&str> =
        json["streams"].as_array().unwrap().iter().map(|s| s["signal"].as_str().unwrap()).collect();
    named.sort();
    assert_eq!(named, ["logs", "traces"]);
}

#[test]
fn control_spans_carry_the_stream_and_are_verified_like_any_span() {
    let d = tempfile::tempdir().unwrap();
    let keys = d.path().join("keys");
    std::fs::create_dir(&keys).unwrap();
    let ks = KeySet::generate("traces").unwrap();
    let sign = keys.join("sign.key");
    auditchain::core::keys::write_new_file(&sign, &ks.signer.private_key_string(), 0o600).unwrap();
    let e = traces_engine("signed-traces", |c| {
        c.signing_key_file = Some(sign.clone());
        c.log.format_version = 1; // a version 1 stream (SPEC §5.3)
    });
    let reqs = traces_stream(&e);
    let data = d.path().join("data");
    std::fs::create_dir(&data).unwrap();
    write(&data, "traces.jsonl", &reqs);
    let mut lines: Vec<Value> = reqs.iter().map(traces_json).collect();
    let controls: Vec<Value> = json_spans_mut(&mut lines).filter(|s| event(s).is_some()).map(|s| s.clone()).collect();
    assert_eq!(controls.len(), 2, "a start span and the final checkpoint span");
    let (start, last) = (&controls[0], &controls[1]);
    assert_eq!(start["name"], "auditchain.start");
    assert_eq!(last["name"], "auditchain.checkpoint");
    assert_eq!((start["kind"].as_i64(), start["spanId"].as_str()), (Some(1), Some("0000000000000001")));
    assert_eq!(last["parentSpanId"], "0000000000000001");
    assert_eq!(start["traceId"], last["traceId"], "one control trace per stream");
    assert!(attr(last, "audit.stream.body").unwrap()["stringValue"].as_str().unwrap().contains("\n\n— traces "));

    let opts = Options { verifiers: vec![ks.signer.verifier()], ..Options::default() };
    let r = verify(std::slice::from_ref(&data), &opts);
    assert_eq!(r.status(), Verdicts::Verified, "{r:#?}");
    assert_eq!((r.streams[0].checkpoints, r.streams[0].anchored_through), (1, 7));

    // The checkpoint span's note, edited, no longer verifies.
    let cp = json_spans_mut(&mut lines).find(|s| event(s) == Some("checkpoint")).unwrap();
    let note = attr_mut(cp, "audit.stream.body");
    note["stringValue"] = Value::String(note["stringValue"].as_str().unwrap().replacen("\n7\n", "\n6\n", 1));
    write_lines(&data, "traces.jsonl", &lines);
    let r = verify(&[data], &opts);
    assert_eq!(r.status(), Verdicts::Failed);
    assert!(error_kinds(&r).contains(&Kind::ContentMismatch), "{r:#?}");
}

#[test]
fn only_selected_spans_join_the_stream() {
    let d = tempfile::tempdir().unwrap();
    let e = traces_engine("selected", |_| {});
    let req = batch("iam", vec![health_check(0), role_update(1), health_check(2), role_update(3)]);
    let out = deliver_spans(&e, req, T0, Some(&[0, 1, 0, 1]));
    let spans: Vec<&Span> = out.resource_spans[0].scope_spans[0].spans.iter().collect();
    assert!(spans[0].attributes.is_empty() && spans[2].attributes.is_empty(), "passed through untouched");
    let numbers: Vec<i64> = [spans[1], spans[3]]
        .iter()
        .map(|s| {
            let kv = s.attributes.iter().find(|kv| kv.key == "audit.sequence.number").unwrap();
            match kv.value.as_ref().unwrap().value {
                Some(opentelemetry_proto::tonic::common::v1::any_value::Value::IntValue(n)) => n,
                _ => panic!("not an int"),
            }
        })
        .collect();
    assert_eq!(numbers, vec![2, 3], "record 1 is the start span");
    write(d.path(), "traces.jsonl", &[out, close_spans(&e, T0)]);

    // The unselected spans are unstamped records: a failure unless allowed.
    let strict = check(d.path(), false);
    assert_eq!(error_kinds(&strict), vec![Kind::UnstampedRecords]);
    assert_eq!(strict.unstamped_records, 2);
    let r = check(d.path(), true);
    assert_eq!(r.status(), Verdicts::Verified, "{r:#?}");
    assert_eq!((r.streams[0].records, r.streams[0].signal), (4, Signal::Traces));

    // A selection that does not cover the batch is refused, issuing nothing.
    let err = e.stamp(Signal::Traces, &batch("iam", vec![role_update(9)]).encode_to_vec(), Some(&[1, 1]), T0);
    assert!(err.is_err(), "the engine is closed or the selection is wrong");
    let e = traces_engine("selected-2", |_| {});
    let err =
        e.stamp(Signal::Traces, &batch("iam", vec![role_update(9)]).encode_to_vec(), Some(&[1, 1]), T0).unwrap_err();
    assert_eq!(err.kind, ErrorKind::InvalidArgument);
    assert!(err.message.contains("2 entries for a batch of 1"), "{}", err.message);
    let s = e.stamp(Signal::Traces, &batch("iam", vec![role_update(9)]).encode_to_vec(), Some(&[1]), T0).unwrap();
    assert_eq!((s.first_sequence, s.last_sequence), (1, 2), "nothing was issued by the refused call");
}

/// Two services' streams, closed, as the exporter wrote them.
fn two_streams(d: &Path) -> Vec<Value> {
    let a = traces_engine("traces-svc-a", |_| {});
    let b = traces_engine("traces-svc-b", |_| {});
    let mut reqs = Vec::new();
    for i in 0..3 {
        reqs.push(deliver_spans(&a, batch("svc-a", vec![role_update(i)]), T0, None));
        reqs.push(deliver_spans(&b, batch("svc-b", vec![role_update(10 + i)]), T0, None));
    }
    reqs.push(close_spans(&a, T0));
    reqs.push(close_spans(&b, T0));
    let lines: Vec<Value> = reqs.iter().map(traces_json).collect();
    write_lines(d, "traces.jsonl", &lines);
    lines
}

fn stream_of<'a>(r: &'a Report, name: &str) -> &'a auditchain::verify::report::StreamReport {
    r.streams.iter().find(|s| s.stream_id.starts_with(name)).unwrap()
}

#[test]
fn a_changed_span_attribute_is_a_content_mismatch() {
    let d = tempfile::tempdir().unwrap();
    let mut lines = two_streams(d.path());
    assert_eq!(check(d.path(), false).status(), Verdicts::Verified);
    let span = json_spans_mut(&mut lines)
        .find(|s| attr(s, "audit.target_user").is_some_and(|v| v["stringValue"] == "user-1"))
        .unwrap();
    attr_mut(span, "audit.new_value")["stringValue"] = Value::String("admin".into());
    write_lines(d.path(), "traces.jsonl", &lines);
    let r = check(d.path(), false);
    assert_eq!(r.status(), Verdicts::Failed);
    assert_eq!(stream_of(&r, "traces-svc-a-").verdict, Verdict::Fail);
    assert_eq!(stream_of(&r, "traces-svc-b-").verdict, Verdict::Pass);
    assert_eq!(kinds(&r, Severity::Error), vec![(Kind::ContentMismatch, Some(3), None)]);
}

#[test]
fn a_deleted_span_is_missing() {
    let d = tempfile::tempdir().unwrap();
    let mut lines = two_streams(d.path());
    for line in &mut lines {
        for rs in line["resourceSpans"].as_array_mut().unwrap() {
            for ss in rs["scopeSpans"].as_array_mut().unwrap() {
                ss["spans"].as_array_mut().unwrap().retain(|s| {
                    sequence_of(s) != Some(3)
                        || !attr(s, "audit.sequence.stream_id").unwrap()["stringValue"]
                            .as_str()
                            .unwrap()
                            .starts_with("traces-svc-b-")
                });
            }
        }
    }
    write_lines(d.path(), "traces.jsonl", &lines);
    let r = check(d.path(), false);
    assert_eq!(r.status(), Verdicts::Failed);
    let b = stream_of(&r, "traces-svc-b-");
    assert_eq!(b.missing, vec![[3, 3]]);
    assert_eq!(kinds(&r, Severity::Error), vec![(Kind::MissingRecords, Some(3), Some(3))]);
}

#[test]
fn a_span_moved_to_another_stream_is_caught_in_both() {
    let d = tempfile::tempdir().unwrap();
    let mut lines = two_streams(d.path());
    let b_id = json_spans_mut(&mut lines)
        .find_map(|s| {
            let id = attr(s, "audit.sequence.stream_id")?["stringValue"].as_str()?.to_string();
            id.starts_with("traces-svc-b-").then_some(id)
        })
        .unwrap();
    // svc-a's record 3 relabelled as svc-b's record 3, whose original is deleted.
    for line in &mut lines {
        for rs in line["resourceSpans"].as_array_mut().unwrap() {
            for ss in rs["scopeSpans"].as_array_mut().unwrap() {
                ss["spans"].as_array_mut().unwrap().retain(|s| {
                    sequence_of(s) != Some(3)
                        || attr(s, "audit.sequence.stream_id").unwrap()["stringValue"] != b_id.as_str()
                });
            }
        }
    }
    let moved = json_spans_mut(&mut lines)
        .find(|s| {
            sequence_of(s) == Some(3)
                && attr(s, "audit.sequence.stream_id").unwrap()["stringValue"]
                    .as_str()
                    .unwrap()
                    .starts_with("traces-svc-a-")
        })
        .unwrap();
    attr_mut(moved, "audit.sequence.stream_id")["stringValue"] = Value::String(b_id);
    write_lines(d.path(), "traces.jsonl", &lines);
    let r = check(d.path(), false);
    assert_eq!(r.status(), Verdicts::Failed);
    let (a, b) = (stream_of(&r, "traces-svc-a-"), stream_of(&r, "traces-svc-b-"));
    assert_eq!(a.missing, vec![[3, 3]], "{a:#?}");
    assert!(b.findings.iter().any(|f| f.kind == Kind::ContentMismatch && f.sequence == Some(3)), "{b:#?}");
}

#[test]
fn spans_that_cannot_be_protected_are_refused() {
    let e = traces_engine("refuse", |_| {});
    let stamp = |req: &ExportTraceServiceRequest| e.stamp(Signal::Traces, &req.encode_to_vec(), None, T0);
    let mut stamped = role_update(1);
    stamped.attributes.push(kv("audit.sequence.number", s("1")));
    let err = stamp(&batch("iam", vec![stamped.clone()])).unwrap_err();
    assert_eq!(err.kind, ErrorKind::RejectedRecord);
    assert!(err.message.contains("resourceSpans[0].scopeSpans[0].spans[0]"), "{}", err.message);
    // Also when the selection passes it over: nothing upstream may pass a
    // span off as stamped.
    let err = e.stamp(Signal::Traces, &batch("iam", vec![stamped]).encode_to_vec(), Some(&[0]), T0).unwrap_err();
    assert_eq!(err.kind, ErrorKind::RejectedRecord, "{}", err.message);
    let mut bad = role_update(2);
    bad.parent_span_id = vec![1, 2, 3];
    let err = stamp(&batch("iam", vec![bad])).unwrap_err();
    assert!(err.message.contains("parentSpanId: id must be 8 bytes"), "{}", err.message);
    let mut bytes = batch("iam", vec![role_update(3)]).encode_to_vec();
    bytes.truncate(bytes.len() - 2);
    assert_eq!(stamp_raw(&e, &bytes).unwrap_err().kind, ErrorKind::MalformedBatch);
    // A logs batch for a traces engine, and the other way round.
    let err = e.stamp(Signal::Logs, &request([audit_record(1)]).encode_to_vec(), None, T0).unwrap_err();
    assert_eq!(err.kind, ErrorKind::InvalidArgument);
    let logs = Engine::new(EngineConfig::new("logs"), T0).unwrap();
    assert_eq!(
        stamp_raw(&logs, &batch("iam", vec![role_update(1)]).encode_to_vec()).unwrap_err().kind,
        ErrorKind::InvalidArgument
    );
    // None of that issued a number.
    let s = stamp(&batch("iam", vec![role_update(4)])).unwrap();
    assert_eq!((s.first_sequence, s.last_sequence), (1, 2));
}

fn stamp_raw(e: &Engine, bytes: &[u8]) -> Result<auditchain::engine::stamps::Stamps, auditchain::engine::error::Error> {
    e.stamp(Signal::Traces, bytes, None, T0)
}
