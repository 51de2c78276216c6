//! The application's content hash (SPEC §4.6) against real Python: the
//! payloads of tests/python/content_hash_payloads.py (non-ASCII text,
//! escapes, lone surrogates, floats such as 0.1, 1e16 and -0.0, special
//! floats, big ints, nesting, random floats, decimals and text), each as
//! the bodies an application emits, hashed by Python's
//! `hashlib.sha256(json.dumps(payload, sort_keys=True).encode())`.
//! auditchain must produce the same bytes and accept the hash, from
//! protobuf (the processor) and from OTLP/JSON (the verifier).
//!
//! Needs Python 3 (`python3`, or the interpreter in AUDITCHAIN_PYTHON), as
//! the rest of `make test` does.

use auditchain::core::content_hash::{self, Outcome, Reason};
use auditchain::core::pyjson;
use serde_json::{Value, json};
use std::process::Command;

fn python_cases(seed: u32) -> Vec<Value> {
    let python = std::env::var("AUDITCHAIN_PYTHON").unwrap_or_else(|_| "python3".into());
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/python/content_hash_payloads.py");
    let out = Command::new(&python)
        .args([script, &seed.to_string()])
        .output()
        .unwrap_or_else(|e| panic!("cannot run {python} (Python 3 is needed by the tests): {e}"));
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let cases: Vec<Value> =
        String::from_utf8(out.stdout).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert!(cases.len() >= 14, "the script printed {} cases", cases.len());
    cases
}

/// A string AnyValue as protobuf: field 1, length-delimited.
fn pb_string(s: &str) -> Vec<u8> {
    let mut out = vec![0x0a];
    let mut n = s.len();
    while n >= 0x80 {
        out.push((n as u8) | 0x80);
        n >>= 7;
    }
    out.push(n as u8);
    out.extend_from_slice(s.as_bytes());
    out
}

fn record(body: &str, hash: &str) -> Value {
    json!({"body": {"stringValue": body}, "attributes": [{"key": "audit.content_hash", "value": {"stringValue": hash}}]})
}

#[test]
fn python_json_dumps_sort_keys_byte_for_byte() {
    for seed in [7, 8, 9] {
        for case in python_cases(seed) {
            let name = case["name"].as_str().unwrap();
            let sorted = case["sorted"].as_str().unwrap();
            let hash = case["content_hash"].as_str().unwrap();
            let bodies = case["bodies"].as_array().unwrap();
            assert!(!bodies.is_empty(), "{name}");
            for body in bodies {
                let body = body.as_str().unwrap();
                let ours = String::from_utf8(pyjson::dumps_text(body).unwrap()).unwrap();
                if ours != sorted {
                    let at = ours.bytes().zip(sorted.bytes()).position(|(a, b)| a != b).unwrap_or(0);
                    panic!(
                        "{name} (seed {seed}): differs from Python at byte {at}:\n ours:   {}\n python: {}",
                        &ours[at.saturating_sub(40)..(at + 40).min(ours.len())],
                        &sorted[at.saturating_sub(40)..(at + 40).min(sorted.len())]
                    );
                }
                assert_eq!(
                    content_hash::check_proto(Some(&pb_string(body)), &pb_string(hash)),
                    Outcome::Match,
                    "{name}"
                );
                assert_eq!(content_hash::check_json(&record(body, hash)), Some(Outcome::Match), "{name}");
            }
        }
    }
}

#[test]
fn a_changed_payload_no_longer_matches_its_python_hash() {
    let case = python_cases(7).into_iter().find(|c| c["name"] == "seed 000 event").unwrap();
    let body = case["bodies"][0].as_str().unwrap();
    let hash = case["content_hash"].as_str().unwrap();
    let changed = body.replace("\"attempt\": 2", "\"attempt\": 3");
    assert_ne!(changed, body);
    for outcome in [
        content_hash::check_proto(Some(&pb_string(&changed)), &pb_string(hash)),
        content_hash::check_json(&record(&changed, hash)).unwrap(),
    ] {
        assert!(matches!(outcome, Outcome::Mismatch(Reason::Differs { .. })), "{outcome:?}");
    }
    // Reformatting alone (whitespace, key order, escaping) changes nothing.
    let reformatted = serde_json::to_string_pretty(&serde_json::from_str::<Value>(body).unwrap()).unwrap();
    assert_eq!(content_hash::check_json(&record(&reformatted, hash)), Some(Outcome::Match));
    // A body that is not JSON, or no body, cannot match.
    assert!(matches!(
        content_hash::check_proto(Some(&pb_string("not json")), &pb_string(hash)),
        Outcome::Mismatch(Reason::NotJson(_))
    ));
    assert!(matches!(content_hash::check_proto(None, &pb_string(hash)), Outcome::Mismatch(Reason::Differs { .. })));
}

mod support;

use auditchain::core::canonical::Signal;
use auditchain::engine::Engine;
use auditchain::engine::config::{ContentHashConfig, EngineConfig, OnMismatch};
use auditchain::engine::error::ErrorKind;
use auditchain::verify::report::{Kind, Severity, Status};
use auditchain::verify::{Options, verify};
use opentelemetry_proto::tonic::logs::v1::LogRecord;
use prost::Message;
use support::*;

/// Seed 000's record, with the body and hash Python produced (`good`) or
/// with a body changed after hashing.
fn seed000(good: bool) -> LogRecord {
    let case = python_cases(7).into_iter().find(|c| c["name"] == "seed 000 event").unwrap();
    let body = case["bodies"][0].as_str().unwrap().to_string();
    let body = if good { body } else { body.replace("role.update", "role.delete") };
    let mut r = audit_record(1);
    r.body = Some(s(&body));
    r.attributes.push(kv("audit.content_hash", s(case["content_hash"].as_str().unwrap())));
    r
}

fn checking(on_mismatch: Option<OnMismatch>) -> Engine {
    let mut config = EngineConfig::new("content");
    if let Some(on_mismatch) = on_mismatch {
        config.content_hash = ContentHashConfig { check: true, on_mismatch };
    }
    Engine::new(config, T0).unwrap()
}

fn verified(
    reqs: &[opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest],
) -> auditchain::verify::report::Report {
    let d = tempfile::tempdir().unwrap();
    std::fs::write(d.path().join("audit.jsonl"), json_lines(reqs)).unwrap();
    verify(&[d.path().to_path_buf()], &Options { allow_unstamped: true, ..Options::default() })
}

#[test]
fn the_processor_marks_a_mismatch_and_the_verifier_reports_it() {
    let e = checking(Some(OnMismatch::Mark));
    let mut req = request([seed000(true), seed000(false), audit_record(3)]);
    let stamps = e.stamp(Signal::Logs, &req.encode_to_vec(), None, T0).unwrap();
    assert_eq!(
        (stamps.content_matched, stamps.content_mismatched.clone()),
        (1, vec![1]),
        "the third has no content hash"
    );
    apply(&mut req, &stamps);
    e.settle(stamps.batch_id, true).unwrap();
    let marks: Vec<bool> = req.resource_logs[0].scope_logs[0]
        .log_records
        .iter()
        .map(|r| r.attributes.iter().any(|kv| kv.key == "audit.integrity.content_hash_check"))
        .collect();
    assert_eq!(marks, vec![false, true, false]);
    let reqs = vec![req, close_delivered(&e, T0)];
    // The mark is hashed with the record: the stream verifies, and the
    // mismatch is reported as found at ingest.
    let r = verified(&reqs);
    assert_eq!(r.status(), Status::Verified, "{r:#?}");
    assert_eq!(
        kinds(&r, Severity::Warning).into_iter().filter(|k| k.0 == Kind::ContentHashMismatch).collect::<Vec<_>>(),
        vec![(Kind::ContentHashMismatch, Some(3), None)]
    );
    // Removing the mark is tampering.
    let mut l = lines(&reqs);
    let marked = record_mut(&mut l, 3);
    marked["attributes"].as_array_mut().unwrap().retain(|kv| kv["key"] != "audit.integrity.content_hash_check");
    let d = tempfile::tempdir().unwrap();
    write_lines(d.path(), "audit.jsonl", &l);
    let r = verify(&[d.path().to_path_buf()], &Options::default());
    assert_eq!(error_kinds(&r), vec![Kind::ContentMismatch], "{r:#?}");
    let unmarked = r.streams[0].findings.iter().find(|f| f.kind == Kind::ContentHashMismatch).unwrap();
    assert!(unmarked.message.contains("nothing recorded it"), "{}", unmarked.message);
}

#[test]
fn reject_refuses_the_batch_and_issues_nothing() {
    let e = checking(Some(OnMismatch::Reject));
    let bad = request([seed000(true), seed000(false)]).encode_to_vec();
    let err = e.stamp(Signal::Logs, &bad, None, T0).unwrap_err();
    assert_eq!(err.kind, ErrorKind::ContentHashMismatch);
    assert!(
        err.message.contains("logRecords[1]") && err.message.contains("does not match the body"),
        "{}",
        err.message
    );
    // A record the selection passes over is not checked.
    let s = e.stamp(Signal::Logs, &bad, Some(&[1, 0]), T0).unwrap();
    assert_eq!((s.first_sequence, s.last_sequence, s.content_matched), (1, 2, 1), "start record, then the good one");
}

#[test]
fn without_the_check_the_verifier_still_finds_the_mismatch() {
    let e = checking(None);
    let reqs = vec![deliver(&e, request([seed000(true), seed000(false)]), T0), close_delivered(&e, T0)];
    let r = verified(&reqs);
    // The stream verifies (as an archive stamped before processors checked
    // content hashes must), and the mismatch is reported.
    assert_eq!(r.status(), Status::Verified, "{r:#?}");
    let found: Vec<_> = kinds(&r, Severity::Warning).into_iter().filter(|k| k.0 == Kind::ContentHashMismatch).collect();
    assert_eq!(found, vec![(Kind::ContentHashMismatch, Some(3), None)]);
    // An unstamped record's mismatch is a warning outside any stream.
    let mut unstamped = request([seed000(false)]);
    unstamped.resource_logs[0].scope_logs[0].log_records[0].attributes.push(kv("x", s("y")));
    let r = verified(&[unstamped]);
    assert_eq!(
        r.findings.iter().filter(|f| f.kind == Kind::ContentHashMismatch && f.severity == Severity::Warning).count(),
        1,
        "{r:#?}"
    );
}
