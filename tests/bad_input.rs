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
use serde_json::json;
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
    // Its stamp is readable: the finding is its stream's, at its number
    // (SPEC §9).
    let f = r.streams[0].findings.iter().find(|f| f.kind == Kind::UnreadableRecord).expect("an unreadable record");
    assert_eq!(f.severity, Severity::Error);
    assert_eq!(f.sequence, Some(2));
    assert!(f.message.contains("\"smuggled\""), "{}", f.message);
    assert_eq!((f.locations[0].line, f.locations[0].record), (1, 0));
    // And its sequence number is missing from the stream.
    assert_eq!(r.streams[0].missing, vec![[2, 2]]);
}

// ---- Hostile and damaged files for the verifier (SPEC §8, "Inputs") ----

/// A closed stream of `batches` batches of 3 records, as JSON lines.
fn exported(name: &str, batches: u64) -> Vec<serde_json::Value> {
    let e = Engine::new(EngineConfig::new(name), T0).unwrap();
    let mut reqs: Vec<_> =
        (0..batches).map(|b| deliver(&e, request((0..3).map(|i| audit_record(b * 3 + i))), T0)).collect();
    reqs.push(close_delivered(&e, T0));
    lines(&reqs)
}

fn text_of(lines: &[serde_json::Value]) -> String {
    lines.iter().map(|v| format!("{v}\n")).collect()
}

fn verified(dir: &std::path::Path) -> auditchain::verify::report::Report {
    verify(&[dir.to_path_buf()], &Options::default())
}

#[test]
fn a_line_torn_by_sigkill_is_reported_and_never_passes() {
    let d = tempfile::tempdir().unwrap();
    let text = text_of(&exported("torn", 4));
    let src = d.path().join("full");
    std::fs::write(&src, &text).unwrap();
    let out = tempfile::tempdir().unwrap();
    let dst = out.path().join("audit.jsonl");
    // A real writer, killed with SIGKILL halfway through its last line.
    let last_start = text[..text.len() - 1].rfind('\n').unwrap() + 1;
    let cut = last_start + (text.len() - last_start) / 2;
    let mut writer = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!("head -c {cut} {} >> {}; exec sleep 600", src.display(), dst.display()))
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while std::fs::metadata(&dst).map_or(0, |m| m.len()) < cut as u64 {
        assert!(std::time::Instant::now() < deadline, "the writer never wrote");
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    writer.kill().unwrap();
    let status = writer.wait().unwrap();
    assert_eq!(std::os::unix::process::ExitStatusExt::signal(&status), Some(9), "killed by SIGKILL");
    let r = verified(out.path());
    // Before: "verdict: pass" (the torn line was the end of what was read).
    assert_eq!(r.status(), Status::Incomplete, "{:#?}", r.errors);
    assert_eq!(r.verdict, Verdict::Incomplete);
    assert_eq!(r.inputs.unreadable, 1);
    assert_eq!(r.errors[0].line, Some(5), "{:?}", r.errors);
    assert!(r.errors[0].message.contains("torn"), "{}", r.errors[0].message);
    // Everything before the tear was verified.
    assert_eq!(r.streams[0].records, 1 + 4 * 3);
    let json = serde_json::to_value(&r).unwrap();
    assert_eq!(json["verdict"], "incomplete");
    assert_eq!(json["version"], 2);
}

#[test]
fn an_inserted_garbage_line_hides_no_tampering_after_it() {
    let d = tempfile::tempdir().unwrap();
    let mut l = exported("garbage", 4);
    let body = &mut record_mut(&mut l, 9)["body"]["stringValue"];
    *body = serde_json::Value::String("tampered".into());
    let mut text = text_of(&l);
    // An unclosed bracket and a bare value, before the tampered line.
    let second = text.find('\n').unwrap() + 1;
    text.insert_str(second, "{\"resourceLogs\":[\n7\n");
    std::fs::write(d.path().join("audit.jsonl"), text).unwrap();
    let r = verified(d.path());
    // Before: the garbage ended the file; "pass", exit 2.
    assert_eq!(r.verdict, Verdict::Fail);
    assert_eq!(kinds(&r, Severity::Error), vec![(Kind::ContentMismatch, Some(9), None)]);
    assert_eq!(r.inputs.unreadable, 2, "{:?}", r.errors);
    let lines: Vec<Option<u64>> = r.errors.iter().map(|e| e.line).collect();
    assert_eq!(lines, vec![Some(2), Some(3)]);
    assert_eq!(r.streams[0].records, 1 + 4 * 3 + 1, "every other record was read");
}

#[test]
fn a_write_glued_to_a_torn_one_after_a_restart_is_read() {
    // SIGKILL tears a line; the restarted exporter appends the next batch
    // right after the fragment, on the same line.
    let d = tempfile::tempdir().unwrap();
    let l = exported("glued", 3);
    let torn = l[1].to_string();
    let text = format!("{}\n{}{}\n{}\n{}\n", l[0], &torn[..torn.len() / 2], l[2], l[3], l[1]);
    std::fs::write(d.path().join("audit.jsonl"), text).unwrap();
    let r = verified(d.path());
    assert_eq!(r.inputs.unreadable, 1, "{:?}", r.errors);
    assert_eq!(r.errors[0].line, Some(2));
    assert_eq!(r.streams[0].missing, Vec::<[u64; 2]>::new(), "the glued batch was read");
    assert_eq!(r.verdict, Verdict::Incomplete);
}

#[test]
fn bare_json_values_are_read_in_linear_time() {
    // 160,000 lines of two bytes took 25 s (each scan ran to the end).
    let d = tempfile::tempdir().unwrap();
    let mut text = text_of(&exported("bare", 1));
    text.push_str(&"1\n".repeat(160_000));
    std::fs::write(d.path().join("audit.jsonl"), text).unwrap();
    let r = verified(d.path());
    assert_eq!(r.inputs.unreadable, 160_000);
    assert_eq!(r.errors.len(), 160_000);
    assert!(r.errors[0].message.contains("expected a JSON object"), "{}", r.errors[0].message);
    assert_eq!(r.streams[0].records, 5);
    assert_eq!(r.verdict, Verdict::Incomplete);
}

#[test]
fn a_value_past_the_bound_is_refused_clearly_and_the_next_line_read() {
    assert_eq!(auditchain::verify::read::json::MAX_VALUE_BYTES, 64 << 20, "the documented bound");
    let d = tempfile::tempdir().unwrap();
    let e = engine();
    let mut rec = audit_record(1);
    rec.body = Some(s(&"x".repeat(3 << 20)));
    let mut big = request([rec]);
    let stamps = e.stamp_logs(&big.encode_to_vec(), 2).unwrap();
    apply(&mut big, &stamps);
    let mut small = request([audit_record(2)]);
    let stamps = e.stamp_logs(&small.encode_to_vec(), 2).unwrap();
    apply(&mut small, &stamps);
    std::fs::write(d.path().join("audit.jsonl"), json_lines(&[big, small])).unwrap();
    let mut options = Options::default();
    options.limits.max_value_bytes = 1 << 20;
    let r = verify(&[d.path().to_path_buf()], &options);
    assert_eq!(r.inputs.unreadable, 1);
    assert!(r.errors[0].message.contains("value longer than 1 MiB"), "{}", r.errors[0].message);
    assert_eq!(r.errors[0].line, Some(1));
    // Line 1 held records 1 (start) and 2: missing; line 2's record read.
    assert_eq!(r.streams[0].records, 1);
    assert_eq!(r.streams[0].missing, vec![[1, 2]]);
}

#[test]
fn a_gzip_bomb_is_refused_clearly() {
    use std::io::Write;
    let d = tempfile::tempdir().unwrap();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(text_of(&exported("bomb", 2)).as_bytes()).unwrap();
    // Then 16 MiB of spaces: 16 KiB compressed.
    gz.write_all(&vec![b' '; 16 << 20]).unwrap();
    std::fs::write(d.path().join("audit.jsonl.gz"), gz.finish().unwrap()).unwrap();
    assert_eq!(auditchain::verify::read::files::MAX_DECOMPRESSED_BYTES, 16 << 30, "the documented bound");
    let mut options = Options::default();
    options.limits.max_decompressed_bytes = 4 << 20;
    let r = verify(&[d.path().to_path_buf()], &options);
    assert_eq!(r.verdict, Verdict::Incomplete, "{:#?}", r);
    assert!(r.errors[0].message.contains("expands to more than 4 MiB"), "{:?}", r.errors);
    assert_eq!(r.streams[0].records, 8, "what came before the bound was read");
}

#[test]
fn a_fifo_is_refused_without_blocking() {
    let d = tempfile::tempdir().unwrap();
    std::fs::write(d.path().join("audit.jsonl"), text_of(&exported("fifo", 1))).unwrap();
    let fifo = d.path().join("pipe.jsonl");
    let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
    // Nobody ever writes to it: reading it would block forever.
    let (tx, rx) = std::sync::mpsc::channel();
    let (dir, path) = (d.path().to_path_buf(), fifo.clone());
    std::thread::spawn(move || tx.send((verified(&dir), verified(&path))).unwrap());
    let (in_dir, given) = rx.recv_timeout(std::time::Duration::from_secs(300)).expect("verify must not hang on a FIFO");
    for r in [&in_dir, &given] {
        assert_eq!(r.verdict, Verdict::Incomplete);
        assert!(r.errors[0].message.starts_with("a FIFO"), "{:?}", r.errors);
        assert_eq!(r.errors[0].file, fifo.display().to_string());
    }
    assert_eq!(in_dir.streams[0].records, 5, "the regular file beside it was read");
}

#[test]
fn symbolic_link_loops_and_dangling_links_are_reported() {
    let d = tempfile::tempdir().unwrap();
    std::fs::write(d.path().join("audit.jsonl"), text_of(&exported("links", 1))).unwrap();
    std::os::unix::fs::symlink(d.path(), d.path().join("back")).unwrap();
    std::os::unix::fs::symlink("self", d.path().join("self")).unwrap();
    std::os::unix::fs::symlink("nowhere", d.path().join("dangling")).unwrap();
    let r = verified(d.path());
    let errors: Vec<(String, &str)> = r
        .errors
        .iter()
        .map(|e| {
            (std::path::Path::new(&e.file).file_name().unwrap().to_string_lossy().into_owned(), e.message.as_str())
        })
        .collect();
    assert_eq!(errors.len(), 3, "{errors:?}");
    assert!(errors[0].0 == "back" && errors[0].1.starts_with("symbolic link loop"), "{errors:?}");
    assert!(errors[1].0 == "dangling" && errors[1].1 == "dangling symbolic link to nowhere", "{errors:?}");
    assert!(errors[2].0 == "self" && errors[2].1.starts_with("symbolic link loop"), "{errors:?}");
    assert_eq!(r.verdict, Verdict::Incomplete);
    assert_eq!((r.inputs.files, r.streams[0].records), (1, 5), "the file was read once");
}

// ---- One reading of OTLP/JSON (SPEC §2.6): duplicates and spellings ----

#[test]
fn a_member_given_twice_makes_its_line_unreadable_not_its_last_value_verified() {
    let d = tempfile::tempdir().unwrap();
    let l = exported("dup", 3);
    let line2 = l[1].to_string();
    // Two "body" members: one reader keeping the last, another the first,
    // would show different records. Escaped, the name is the same one.
    let forged = line2.replacen("\"body\":{", "\"body\":{\"stringValue\":\"forged\"},\"b\\u006fdy\":{", 1);
    assert_ne!(forged, line2);
    let text = format!("{}\n{forged}\n{}\n{}\n", l[0], l[2], l[3]);
    std::fs::write(d.path().join("audit.jsonl"), text).unwrap();
    let r = verified(d.path());
    // Before: the line passed, verified with the last "body".
    assert_eq!(r.verdict, Verdict::Fail);
    assert_eq!(r.inputs.unreadable, 1);
    let e = &r.errors[0];
    assert_eq!(e.line, Some(2));
    assert!(e.message.contains("member \"body\" appears twice in one object at line 1 column"), "{}", e.message);
    // Its records are not present: batch 2 holds records 5..7.
    assert_eq!(kinds(&r, Severity::Error), vec![(Kind::MissingRecords, Some(5), Some(7))]);
}

#[test]
fn a_field_under_both_of_its_names_makes_the_record_unreadable() {
    let d = tempfile::tempdir().unwrap();
    let mut l = exported("twice", 2);
    let rec = record_mut(&mut l, 3);
    rec["severity_text"] = json!("FATAL");
    std::fs::write(d.path().join("audit.jsonl"), text_of(&l)).unwrap();
    let r = verified(d.path());
    assert_eq!(r.verdict, Verdict::Fail);
    let errors = kinds(&r, Severity::Error);
    assert_eq!(errors, vec![(Kind::UnreadableRecord, Some(3), None), (Kind::MissingRecords, Some(3), Some(3))]);
    let f = &r.streams[0].findings[0];
    assert!(
        f.message.contains("\"severity_text\" is given twice, under its lowerCamelCase and its original name"),
        "{}",
        f.message
    );
    assert!(f.message.contains("resourceLogs[0].scopeLogs[0].logRecords[1]:"), "{}", f.message);
}

#[test]
fn a_store_re_encoded_with_original_field_names_verifies_the_same() {
    let d = tempfile::tempdir().unwrap();
    let l = exported("snake", 3);
    let snake: Vec<serde_json::Value> = l.iter().map(snake_case).collect();
    let text = text_of(&snake);
    assert!(text.contains("\"string_value\"") && text.contains("\"int_value\"") && text.contains("\"log_records\""));
    assert!(!text.contains("\"stringValue\"") && !text.contains("\"intValue\""));
    std::fs::write(d.path().join("audit.jsonl"), &text).unwrap();
    let r = verified(d.path());
    // Before: malformed_stamp on every record.
    assert_eq!(r.verdict, Verdict::Pass, "{:#?}", kinds(&r, Severity::Error));
    assert_eq!((r.streams[0].records, r.streams[0].ended), (11, true));
    // An edit is still an edit.
    std::fs::write(d.path().join("audit.jsonl"), text.replacen("user-4", "user-5", 1)).unwrap();
    assert_eq!(kinds(&verified(d.path()), Severity::Error), vec![(Kind::ContentMismatch, Some(6), None)]);
}

/// The canonical form of record 2 with its `audit.actor` value replaced.
fn canonical_with(value: serde_json::Value) -> Result<String, String> {
    let mut l = exported("grammar", 1);
    *attr_mut(record_mut(&mut l, 2), "audit.actor") = value;
    auditchain::core::canonical::log_records_from_json(&l[0])
        .map(|c| {
            let c = String::from_utf8(c[0].clone()).unwrap();
            let at = c.find("\"audit.actor\",\"value\":").unwrap() + 22;
            c[at..at + c[at..].find('}').unwrap() + 1].to_string()
        })
        .map_err(|e| e.to_string())
}

/// The verification of a stream whose record 3 has stamp attribute `key`
/// set to `value` (added when absent).
fn stamp_with(key: &str, value: serde_json::Value) -> auditchain::verify::report::Report {
    let d = tempfile::tempdir().unwrap();
    let mut l = exported("grammar", 1);
    let rec = record_mut(&mut l, 3);
    match rec["attributes"].as_array_mut().unwrap().iter_mut().find(|kv| kv["key"] == key) {
        Some(kv) => kv["value"] = value,
        None => rec["attributes"].as_array_mut().unwrap().push(json!({"key": key, "value": value})),
    }
    std::fs::write(d.path().join("audit.jsonl"), text_of(&l)).unwrap();
    verified(d.path())
}

#[test]
fn one_grammar_for_the_canonical_and_the_stamp_readers() {
    // Each row of the table in SPEC §2.6, on a record's own attribute
    // (the canonical reader) and on a stamp attribute (the stamp reader).
    for (value, canonical) in [
        (json!({"intValue": "3"}), Some("{\"intValue\":\"3\"}")),
        (json!({"intValue": 3}), Some("{\"intValue\":\"3\"}")),
        (json!({"int_value": "3"}), Some("{\"intValue\":\"3\"}")),
        (json!({"intValue": "+3"}), None),
        (json!({"intValue": "03"}), None),
        (json!({"intValue": "-0"}), None),
        (json!({"intValue": 3.0}), None),
        (json!({"intValue": 3e0}), None),
        (json!({"intValue": "3e0"}), None),
        (json!({"intValue": " 3"}), None),
        (json!({"intValue": "9223372036854775808"}), None),
    ] {
        assert_eq!(canonical_with(value.clone()).ok().as_deref(), canonical, "{value}");
        let r = stamp_with("audit.sequence.number", value.clone());
        let ok = r.verdict == Verdict::Pass;
        assert_eq!(ok, canonical.is_some(), "stamp {value}: {:?}", kinds(&r, Severity::Error));
        if !ok {
            assert!(
                kinds(&r, Severity::Error).contains(&(Kind::MalformedStamp, None, None))
                    || r.streams[0].findings.iter().any(|f| f.kind == Kind::MalformedStamp),
                "{value}"
            );
        }
    }
    for (value, canonical) in [
        (json!({"stringValue": "user-2"}), Some("{\"stringValue\":\"user-2\"}")),
        (json!({"string_value": "user-2"}), Some("{\"stringValue\":\"user-2\"}")),
        (json!({"stringValue": null}), Some("{}")),
        (json!({"stringValue": "user-2", "intValue": null}), None),
        (json!({"stringValue": 5}), None),
    ] {
        assert_eq!(canonical_with(value.clone()).ok().as_deref(), canonical, "{value}");
    }
    // A stamp string is a string: null (no value) is not one.
    let r = stamp_with("audit.integrity.canonicalization", json!({"stringValue": null}));
    assert!(r.streams[0].findings.iter().any(|f| f.kind == Kind::MalformedStamp), "{:?}", kinds(&r, Severity::Error));
    let r = stamp_with("audit.integrity.canonicalization", json!({"string_value": "otlp-jcs-v1"}));
    assert_eq!(r.verdict, Verdict::Pass);
    for (value, canonical) in [
        (json!({"bytesValue": "AQ=="}), Some("{\"bytesValue\":\"AQ==\"}")),
        (json!({"bytesValue": "AQ"}), Some("{\"bytesValue\":\"AQ==\"}")),
        (json!({"bytesValue": "-_8="}), Some("{\"bytesValue\":\"+/8=\"}")),
        (json!({"bytesValue": "AQ="}), None),
        (json!({"bytesValue": "AR=="}), None),
        (json!({"bytesValue": "+_8="}), None),
        (json!({"bytesValue": "AQ==\n"}), None),
        (json!({"doubleValue": "1.5"}), Some("{\"doubleValue\":1.5}")),
        (json!({"doubleValue": 1.5}), Some("{\"doubleValue\":1.5}")),
        (json!({"doubleValue": "NaN"}), Some("{\"doubleValue\":\"NaN\"}")),
        (json!({"doubleValue": "+1.5"}), None),
        (json!({"doubleValue": ".5"}), None),
        (json!({"doubleValue": "inf"}), None),
        (json!({"boolValue": true}), Some("{\"boolValue\":true}")),
        (json!({"boolValue": "true"}), None),
    ] {
        assert_eq!(canonical_with(value.clone()).ok().as_deref(), canonical, "{value}");
    }
    // audit.sequence.end: false is the same as absent; "true" is no bool.
    assert_eq!(stamp_with("audit.sequence.end", json!({"boolValue": false})).verdict, Verdict::Pass);
    let r = stamp_with("audit.sequence.end", json!({"boolValue": "true"}));
    assert!(r.streams[0].findings.iter().any(|f| f.kind == Kind::MalformedStamp));
}

#[test]
fn record_fields_follow_the_same_grammar() {
    let field = |name: &str, value: serde_json::Value| {
        let mut l = exported("fields", 1);
        record_mut(&mut l, 2)[name] = value;
        auditchain::core::canonical::log_records_from_json(&l[0]).map_err(|e| e.to_string())
    };
    assert!(field("severityNumber", json!("SEVERITY_NUMBER_INFO")).is_ok());
    assert!(field("severity_number", json!(9)).is_err(), "given under both names");
    assert!(field("severityNumber", json!("9")).unwrap_err().contains("not a severity number"));
    assert!(field("timeUnixNano", json!(1795320660000000002u64)).is_ok());
    assert!(field("timeUnixNano", json!("1.7e18")).is_err());
    assert!(field("body", serde_json::Value::Null).is_ok(), "null is absent");
    // schemaUrl and schema_url: null are one field given twice.
    let mut l = exported("fields", 1);
    l[0]["resourceLogs"][0]["schemaUrl"] = json!("https://example.com/s");
    l[0]["resourceLogs"][0]["schema_url"] = serde_json::Value::Null;
    let e = auditchain::core::canonical::log_records_from_json(&l[0]).unwrap_err().to_string();
    assert!(e.contains("given twice"), "{e}");
    // A null resource or scope is an absent one.
    let mut l = exported("fields", 1);
    l[0]["resourceLogs"][0]["resource"] = serde_json::Value::Null;
    assert!(auditchain::core::canonical::log_records_from_json(&l[0]).is_ok());
}

#[test]
fn an_object_with_a_stream_id_is_a_checkpoint_line_or_unreadable() {
    let d = tempfile::tempdir().unwrap();
    let mut text = text_of(&exported("lines", 1));
    for bad in [
        r#"{"stream_id":5,"sequence":2,"note":"x"}"#,
        r#"{"stream_id":"s","note":"x"}"#,
        r#"{"stream_id":"s","sequence":2,"note":"x","end":false}"#,
        r#"{"stream_id":"s","sequence":2,"note":"x","resourceLogs":[]}"#,
    ] {
        text.push_str(bad);
        text.push('\n');
    }
    std::fs::write(d.path().join("audit.jsonl"), text).unwrap();
    let r = verified(d.path());
    let messages: Vec<&str> = r.errors.iter().map(|e| e.message.as_str()).collect();
    assert_eq!(r.inputs.unreadable, 4, "{messages:?}");
    assert!(messages.iter().all(|m| m.starts_with("not a checkpoint line")), "{messages:?}");
    assert_eq!(r.inputs.checkpoint_lines, 0);
    assert_eq!(r.verdict, Verdict::Incomplete);
}
