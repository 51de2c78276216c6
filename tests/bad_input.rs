//! Bad input, fed as real bytes: the stamper refuses what it cannot
//! protect (with a message that says where and why, and without issuing a
//! number), accepts what is merely large, and the verifier reports records
//! it cannot read instead of skipping them.

mod support;

use auditchain::engine::Engine;
use auditchain::engine::config::EngineConfig;
use auditchain::engine::error::ErrorKind;
use auditchain::verify::report::{Kind, Severity, Status, Verdict};
use auditchain::verify::{Options, verify};
use opentelemetry_proto::tonic::common::v1::{AnyValue, ArrayValue, any_value};
use prost::Message;
use support::*;

fn engine() -> Engine {
    Engine::new(EngineConfig::new("bad-input"), 1).unwrap()
}

/// Protobuf bytes of a request with one record whose body is `body_pb`
/// (an AnyValue message, encoded by hand).
fn request_with_raw_body(body_pb: &[u8]) -> Vec<u8> {
    // LogRecord { body (5): body_pb }
    let mut lr = vec![0x2a];
    push_len(&mut lr, body_pb.len());
    lr.extend_from_slice(body_pb);
    // ScopeLogs { log_records (2) }, ResourceLogs { scope_logs (2) }, request { resource_logs (1) }
    let sl = wrap(0x12, &lr);
    let rl = wrap(0x12, &sl);
    wrap(0x0a, &rl)
}

fn push_len(out: &mut Vec<u8>, mut n: usize) {
    while n >= 0x80 {
        out.push((n as u8) | 0x80);
        n >>= 7;
    }
    out.push(n as u8);
}

fn wrap(tag: u8, inner: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    push_len(&mut out, inner.len());
    out.extend_from_slice(inner);
    out
}

fn nested(depth: usize) -> AnyValue {
    let mut v = AnyValue { value: Some(any_value::Value::StringValue("leaf".into())) };
    for _ in 1..depth {
        v = AnyValue { value: Some(any_value::Value::ArrayValue(ArrayValue { values: vec![v] })) };
    }
    v
}

fn refused(e: &Engine, bytes: &[u8]) -> auditchain::engine::error::Error {
    let err = e.stamp_logs(bytes, 2).unwrap_err();
    // Nothing was issued: the next batch still gets the first numbers.
    let ok = e.stamp_logs(&request([audit_record(1)]).encode_to_vec(), 2).unwrap();
    assert_eq!(ok.first_sequence, 1, "a refused batch issues no number");
    err
}

#[test]
fn values_nested_deeper_than_32_levels_are_refused() {
    let mut rec = audit_record(1);
    rec.body = Some(nested(32));
    assert!(engine().stamp_logs(&request([rec.clone()]).encode_to_vec(), 2).is_ok(), "32 levels are fine");
    rec.body = Some(nested(33));
    let err = refused(&engine(), &request([rec]).encode_to_vec());
    assert_eq!(err.kind, ErrorKind::RejectedRecord);
    assert!(err.message.contains("resourceLogs[0].scopeLogs[0].logRecords[0].body"), "{}", err.message);
    assert!(err.message.contains("deeper than 32"), "{}", err.message);
}

#[test]
fn invalid_utf8_unknown_fields_and_bad_ids_are_refused() {
    // AnyValue { string_value (1): 0xff 0xfe }: not UTF-8.
    let err = refused(&engine(), &request_with_raw_body(&[0x0a, 0x02, 0xff, 0xfe]));
    assert_eq!(err.kind, ErrorKind::RejectedRecord);
    assert!(err.message.contains(".body: string is not valid UTF-8"), "{}", err.message);

    // AnyValue with field 9, which OTLP does not define.
    let err = refused(&engine(), &request_with_raw_body(&[0x48, 0x01]));
    assert_eq!(err.kind, ErrorKind::RejectedRecord);
    assert!(err.message.contains("unknown field 9 of AnyValue"), "{}", err.message);

    // A trace id of 5 bytes.
    let mut rec = audit_record(1);
    rec.trace_id = vec![1, 2, 3, 4, 5];
    let err = refused(&engine(), &request([rec]).encode_to_vec());
    assert!(err.message.contains(".traceId: id must be 16 bytes, not 5"), "{}", err.message);

    // Not protobuf at all.
    let err = refused(&engine(), b"{\"resourceLogs\":[]}");
    assert_eq!(err.kind, ErrorKind::MalformedBatch);
}

#[test]
fn a_huge_body_is_stamped_and_verifies() {
    let d = tempfile::tempdir().unwrap();
    let e = engine();
    let mut rec = audit_record(1);
    rec.body = Some(s(&"x".repeat(8 << 20)));
    let mut req = request([rec]);
    let stamps = e.stamp_logs(&req.encode_to_vec(), 2).unwrap();
    apply(&mut req, &stamps);
    std::fs::write(d.path().join("audit.jsonl"), json_lines(&[req])).unwrap();
    let r = verify(&[d.path().to_path_buf()], &Options::default());
    assert_eq!(r.verdict, Verdict::Pass);
    assert_eq!(r.inputs.records, 2);
}

#[test]
fn the_verifier_reports_records_it_cannot_read() {
    let d = tempfile::tempdir().unwrap();
    let e = engine();
    let mut req = request([audit_record(1), audit_record(2)]);
    let stamps = e.stamp_logs(&req.encode_to_vec(), 2).unwrap();
    apply(&mut req, &stamps);
    let mut line = request_json(&req);
    // A member OTLP/JSON does not have, added to the first record (number 2;
    // number 1 is the stream's start record, further down the line).
    line["resourceLogs"][0]["scopeLogs"][0]["logRecords"][0]["smuggled"] = serde_json::json!("x");
    std::fs::write(d.path().join("audit.jsonl"), format!("{line}\n")).unwrap();
    let r = verify(&[d.path().to_path_buf()], &Options::default());
    assert_eq!(r.status(), Status::Failed);
    let f = r.findings.iter().find(|f| f.kind == Kind::UnreadableRecord).expect("an unreadable record");
    assert_eq!(f.severity, Severity::Error);
    assert!(f.message.contains("\"smuggled\""), "{}", f.message);
    assert_eq!((f.locations[0].line, f.locations[0].record), (1, 0));
    // And its sequence number is missing from the stream.
    assert_eq!(r.streams[0].missing, vec![[2, 2]]);
}
