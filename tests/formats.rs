//! What the exporters write, read by the verifier (SPEC §8.0): the
//! fileexporter's json and proto formats, its zstd compression (per
//! message and per file), gzip, rotated files, the awss3exporter's object
//! layout (otlp_json, otlp_proto), standard input; logs and traces mixed.
//! Protobuf records hash exactly as their OTLP/JSON copies; damaged frames
//! are reported with their byte offsets and reading goes on.

mod support;

use auditchain::core::canonical::Signal;
use auditchain::engine::Engine;
use auditchain::engine::config::EngineConfig;
use auditchain::verify::report::{Kind, Report, Severity, Status, Verdict};
use auditchain::verify::{Options, verify};
use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::common::v1::InstrumentationScope;
use opentelemetry_proto::tonic::resource::v1::Resource;
use prost::Message;
use ruzstd::encoding::{CompressionLevel, compress_to_vec};
use std::io::Write;
use std::path::Path;
use support::spans::*;
use support::*;

/// A closed logs stream of `batches` batches of 3 records.
fn logs_stream(name: &str, batches: u64) -> Vec<ExportLogsServiceRequest> {
    let e = Engine::new(EngineConfig::new(name), T0).unwrap();
    let mut reqs: Vec<_> =
        (0..batches).map(|b| deliver(&e, request((0..3).map(|i| audit_record(b * 3 + i))), T0)).collect();
    reqs.push(close_delivered(&e, T0));
    reqs
}

fn span(i: u64) -> Span {
    Span {
        trace_id: vec![7; 16],
        span_id: (i + 1).to_be_bytes().to_vec(),
        name: "iam.role.update".into(),
        kind: 2,
        start_time_unix_nano: T0 + i,
        end_time_unix_nano: T0 + i + 1000,
        attributes: vec![kv("audit.actor", s(&format!("admin-{i}"))), kv("audit.action", s("role.update"))],
        ..Default::default()
    }
}

/// A closed traces stream of 3 batches of 2 spans.
fn traces_stream(name: &str) -> Vec<ExportTraceServiceRequest> {
    let mut config = EngineConfig::new(name);
    config.signal = Signal::Traces;
    let e = Engine::new(config, T0).unwrap();
    let mut out: Vec<_> = (0..3)
        .map(|b| {
            let req = traces(
                Some(Resource { attributes: vec![kv("service.name", s("iam"))], ..Default::default() }),
                Some(InstrumentationScope { name: "iam".into(), ..Default::default() }),
                vec![span(2 * b), span(2 * b + 1)],
            );
            deliver_spans(&e, req, T0, None)
        })
        .collect();
    out.push(close_spans(&e, T0 + SEC));
    out
}

/// The fileexporter's `format: proto` framing: each message preceded by
/// its length, 4 bytes big-endian.
fn framed<'a>(messages: impl IntoIterator<Item = &'a Vec<u8>>) -> Vec<u8> {
    let mut out = Vec::new();
    for m in messages {
        out.extend_from_slice(&(m.len() as u32).to_be_bytes());
        out.extend_from_slice(m);
    }
    out
}

fn encoded(reqs: &[ExportLogsServiceRequest]) -> Vec<Vec<u8>> {
    reqs.iter().map(Message::encode_to_vec).collect()
}

fn zstd(bytes: &[u8]) -> Vec<u8> {
    compress_to_vec(bytes, CompressionLevel::Fastest)
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    enc.write_all(bytes).unwrap();
    enc.finish().unwrap()
}

fn check(paths: &[&Path]) -> Report {
    verify(&paths.iter().map(|p| p.to_path_buf()).collect::<Vec<_>>(), &Options::default())
}

fn records_of(r: &Report) -> Vec<(Signal, u64, bool)> {
    let mut v: Vec<_> = r.streams.iter().map(|s| (s.signal, s.records, s.ended)).collect();
    v.sort();
    v
}

#[test]
fn every_format_the_fileexporter_writes_verifies() {
    let d = tempfile::tempdir().unwrap();
    let reqs = logs_stream("formats", 3);
    let pb = encoded(&reqs);
    let json: Vec<Vec<u8>> = lines(&reqs).iter().map(|v| v.to_string().into_bytes()).collect();
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("json", json_lines(&reqs).into_bytes()),
        ("proto", framed(&pb)),
        // compression: zstd (per message, the collector's default).
        ("proto+zstd", framed(&pb.iter().map(|m| zstd(m)).collect::<Vec<_>>())),
        ("json+zstd", framed(&json.iter().map(|m| zstd(m)).collect::<Vec<_>>())),
        // The exporter.file.nativeCompression gate: the whole file, one
        // frame per flush.
        (
            "native-json",
            [zstd(&json_lines(&reqs[..2]).into_bytes()), zstd(&json_lines(&reqs[2..]).into_bytes())].concat(),
        ),
        ("native-proto", zstd(&framed(&pb))),
        ("proto.gz", gzip(&framed(&pb))),
        ("json.gz", gzip(json_lines(&reqs).as_bytes())),
    ];
    for (name, bytes) in cases {
        let dir = d.path().join(name);
        std::fs::create_dir(&dir).unwrap();
        // Names say nothing: the content tells.
        std::fs::write(dir.join("audit.out"), bytes).unwrap();
        let r = check(&[&dir]);
        assert_eq!(r.status(), Status::Verified, "{name}: {r:#?}");
        assert_eq!(records_of(&r), vec![(Signal::Logs, 11, true)], "{name}");
        assert_eq!(r.inputs.requests, 4, "{name}");
    }
}

#[test]
fn a_protobuf_record_hashes_as_its_json_copy() {
    // Half the stream as proto, half as JSON lines: one chain.
    let d = tempfile::tempdir().unwrap();
    let reqs = logs_stream("halves", 4);
    std::fs::write(d.path().join("a.binpb"), framed(&encoded(&reqs[..2]))).unwrap();
    std::fs::write(d.path().join("b.json"), json_lines(&reqs[2..])).unwrap();
    let r = check(&[d.path()]);
    assert_eq!(r.status(), Status::Verified, "{r:#?}");
    assert_eq!(records_of(&r), vec![(Signal::Logs, 14, true)]);
}

#[test]
fn logs_and_spans_mixed_in_one_proto_file_verify() {
    let d = tempfile::tempdir().unwrap();
    let logs = encoded(&logs_stream("mixed-logs", 2));
    let spans: Vec<Vec<u8>> = traces_stream("mixed-traces").iter().map(Message::encode_to_vec).collect();
    let mut all = Vec::new();
    for i in 0..logs.len().max(spans.len()) {
        all.extend(logs.get(i).cloned());
        all.extend(spans.get(i).cloned());
    }
    std::fs::write(d.path().join("audit.pb"), framed(&all)).unwrap();
    let r = check(&[d.path()]);
    assert_eq!(r.status(), Status::Verified, "{r:#?}");
    assert_eq!(records_of(&r), vec![(Signal::Logs, 8, true), (Signal::Traces, 8, true)]);
}

/// The offset of `needle` in `hay`.
fn find(hay: &[u8], needle: &[u8]) -> usize {
    hay.windows(needle.len()).position(|w| w == needle).expect("present")
}

#[test]
fn one_changed_byte_of_a_body_in_a_proto_file_fails() {
    let d = tempfile::tempdir().unwrap();
    let mut bytes = framed(&encoded(&logs_stream("tamper", 3)));
    let at = find(&bytes, b"\"actor\":\"user-4\"") + 14;
    bytes[at] = b'5';
    std::fs::write(d.path().join("audit.pb"), bytes).unwrap();
    let r = check(&[d.path()]);
    assert_eq!(r.verdict, Verdict::Fail);
    assert_eq!(kinds(&r, Severity::Error), vec![(Kind::ContentMismatch, Some(6), None)], "{r:#?}");
}

#[test]
fn a_torn_last_frame_is_reported_with_its_offset() {
    let d = tempfile::tempdir().unwrap();
    let pb = encoded(&logs_stream("torn", 3));
    let whole = framed(&pb);
    let last = whole.len() - pb[3].len() - 4;
    std::fs::write(d.path().join("audit.pb"), &whole[..whole.len() - 7]).unwrap();
    let r = check(&[d.path()]);
    assert_eq!(r.verdict, Verdict::Incomplete, "{r:#?}");
    assert_eq!(r.inputs.unreadable, 1);
    let e = &r.errors[0];
    assert_eq!(e.line, Some(4));
    assert!(e.message.starts_with(&format!("frame at byte offset {last}: torn")), "{}", e.message);
    // Everything before it was read.
    assert_eq!(r.streams[0].records, 10);
}

#[test]
fn a_damaged_length_or_a_garbage_frame_hides_nothing_after_it() {
    let d = tempfile::tempdir().unwrap();
    let mut reqs = logs_stream("garbage", 4);
    // Tamper with a record after the damage: it must still be caught.
    reqs[3].resource_logs[0].scope_logs[0].log_records[1].body = Some(s("tampered"));
    let pb = encoded(&reqs);
    let mut bytes = framed(&pb[..1]);
    let garbage_at = bytes.len();
    bytes.extend_from_slice(b"\xff\xff\xff\x00 not a frame at all, inserted");
    let second_at = bytes.len();
    bytes.extend(framed(&pb[1..2]));
    let damaged_at = bytes.len();
    // A frame whose length was damaged (one byte more).
    let mut f = framed(&pb[2..3]);
    f[3] += 1;
    bytes.extend(f);
    let next = bytes.len();
    bytes.extend(framed(&pb[3..]));
    std::fs::write(d.path().join("audit.pb"), bytes).unwrap();
    let r = check(&[d.path()]);
    assert_eq!(r.verdict, Verdict::Fail);
    let messages: Vec<&str> = r.errors.iter().map(|e| e.message.as_str()).collect();
    assert_eq!(r.inputs.unreadable, 2, "{messages:#?}");
    assert!(messages[0].starts_with(&format!("frame at byte offset {garbage_at}: its length says")), "{}", messages[0]);
    assert!(messages[0].contains(&format!("reading resumes at byte offset {second_at}")), "{}", messages[0]);
    assert!(messages[1].starts_with(&format!("frame at byte offset {damaged_at}: its ")), "{}", messages[1]);
    assert!(messages[1].contains("are no export request"), "{}", messages[1]);
    assert!(messages[1].contains(&format!("reading resumes at byte offset {next}")), "{}", messages[1]);
    let mut found = kinds(&r, Severity::Error);
    found.sort_by_key(|k| k.1);
    // Batch 3 (records 8-10) is lost with its frame; record 12 was changed.
    let want = vec![(Kind::MissingRecords, Some(8), Some(10)), (Kind::ContentMismatch, Some(12), None)];
    assert_eq!(found, want, "{r:#?}");
}

#[test]
fn bad_gzip_bad_zstd_and_unknown_files_are_input_errors_by_name() {
    let d = tempfile::tempdir().unwrap();
    let good = framed(&encoded(&logs_stream("bad-files", 1)));
    let mut gz = gzip(&good);
    let n = gz.len();
    gz.truncate(n - 12);
    std::fs::write(d.path().join("a.pb.gz"), gz).unwrap();
    let mut z = zstd(&good);
    let n = z.len();
    z[n / 2] ^= 0xff;
    z.truncate(n - 3);
    std::fs::write(d.path().join("b.pb.zst"), z).unwrap();
    std::fs::write(d.path().join("c.png"), b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR").unwrap();
    std::fs::write(d.path().join("d.txt"), "just some notes\n").unwrap();
    // A message whose zstd frame is damaged, inside intact framing.
    let mut inner = zstd(&encoded(&logs_stream("bad-frame", 1))[0]);
    inner.truncate(inner.len() - 5);
    std::fs::write(d.path().join("e.pb"), framed(&[inner])).unwrap();
    let r = check(&[d.path()]);
    assert_eq!(r.verdict, Verdict::Incomplete, "{r:#?}");
    let by_file: Vec<(String, &str)> = r
        .errors
        .iter()
        .map(|e| (Path::new(&e.file).file_name().unwrap().to_string_lossy().into_owned(), e.message.as_str()))
        .collect();
    let files: Vec<&str> = by_file.iter().map(|(f, _)| f.as_str()).collect();
    assert_eq!(files, ["a.pb.gz", "b.pb.zst", "c.png", "d.txt", "e.pb"], "{by_file:#?}");
    // What came before the damage was read; the damage is said, where it is.
    assert!(by_file[0].1.starts_with("frame at byte offset ") && by_file[0].1.contains(": gzip: "), "{}", by_file[0].1);
    assert!(by_file[1].1.contains("zstd: "), "{}", by_file[1].1);
    assert!(r.inputs.records > 0);
    assert!(by_file[2].1.starts_with("not a file the exporters write"), "{}", by_file[2].1);
    assert!(by_file[3].1.starts_with("not a file the exporters write"), "{}", by_file[3].1);
    assert!(by_file[4].1.starts_with("message at byte offset 0: zstd:"), "{}", by_file[4].1);
}

#[test]
fn rotated_files_and_an_awss3_tree_verify_recursively() {
    let d = tempfile::tempdir().unwrap();
    // Rotated by the fileexporter (lumberjack names), older ones gzipped.
    let reqs = logs_stream("rotated", 4);
    let rot = d.path().join("rotated");
    std::fs::create_dir(&rot).unwrap();
    std::fs::write(rot.join("audit-2026-12-01T10-00-00.000.json.gz"), gzip(json_lines(&reqs[..2]).as_bytes())).unwrap();
    std::fs::write(rot.join("audit-2026-12-01T11-00-00.000.json"), json_lines(&reqs[2..4])).unwrap();
    std::fs::write(rot.join("audit.json"), json_lines(&reqs[4..])).unwrap();
    // awss3exporter: one export request per object, under time prefixes.
    let s3 = d.path().join("bucket/audit");
    let logs = logs_stream("s3-logs", 3);
    let spans = traces_stream("s3-traces");
    for (i, r) in logs.iter().enumerate() {
        let dir = s3.join(format!("year=2026/month=12/day=01/hour=10/minute={i:02}"));
        std::fs::create_dir_all(&dir).unwrap();
        if i % 2 == 0 {
            std::fs::write(dir.join(format!("logs_{i}8f3a.binpb.gz")), gzip(&r.encode_to_vec())).unwrap();
        } else {
            std::fs::write(dir.join(format!("logs_{i}8f3a.json.gz")), gzip(request_json(r).to_string().as_bytes()))
                .unwrap();
        }
    }
    for (i, r) in spans.iter().enumerate() {
        let dir = s3.join(format!("year=2026/month=12/day=01/hour=11/minute={i:02}"));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(format!("traces_{i}c0de.binpb")), r.encode_to_vec()).unwrap();
    }
    let r = check(&[d.path()]);
    assert_eq!(r.status(), Status::Verified, "{r:#?}");
    assert_eq!(records_of(&r), vec![(Signal::Logs, 11, true), (Signal::Logs, 14, true), (Signal::Traces, 8, true)]);
    assert_eq!(r.inputs.files, 3 + 4 + 4);
}

#[test]
fn a_proto_request_of_records_that_fit_either_signal_is_refused() {
    // One log record with only a severity text: its fields fit a Span too.
    let d = tempfile::tempdir().unwrap();
    let mut req = request([audit_record(1)]);
    let rec = &mut req.resource_logs[0].scope_logs[0].log_records[0];
    *rec = opentelemetry_proto::tonic::logs::v1::LogRecord { severity_text: "INFO".into(), ..Default::default() };
    std::fs::write(d.path().join("a.pb"), framed(&[req.encode_to_vec()])).unwrap();
    let r = check(&[d.path()]);
    assert_eq!(r.verdict, Verdict::Incomplete);
    assert!(r.errors[0].message.contains("cannot tell logs from spans"), "{:?}", r.errors);
}

#[test]
fn a_frame_torn_by_sigkill_then_appended_to_hides_nothing_after_it() {
    // `append: true`: a SIGKILL tears a frame; after the restart the queue
    // delivers that batch again and the next ones, appended to the torn
    // frame. Its length covers the start of the next frame.
    let d = tempfile::tempdir().unwrap();
    let pb = encoded(&logs_stream("append", 4));
    let mut bytes = framed(&pb[..2]);
    let torn_at = bytes.len();
    let f = framed(&pb[2..3]);
    bytes.extend_from_slice(&f[..f.len() / 2]);
    let resumed_at = bytes.len();
    bytes.extend(framed(&pb[2..]));
    std::fs::write(d.path().join("audit.pb"), bytes).unwrap();
    let r = check(&[d.path()]);
    assert_eq!(r.inputs.unreadable, 1, "{:?}", r.errors);
    let e = &r.errors[0].message;
    assert!(e.starts_with(&format!("frame at byte offset {torn_at}: its ")), "{e}");
    assert!(e.contains(&format!("reading resumes at byte offset {resumed_at}")), "{e}");
    assert_eq!(r.streams[0].missing, Vec::<[u64; 2]>::new(), "the batch delivered again was read");
    assert_eq!(r.streams[0].records, 14);
    assert_eq!(r.verdict, Verdict::Incomplete);
}

/// Writes a large stream as proto and as JSON lines for timing by hand:
/// `FORMATS_BENCH_DIR=/tmp/x cargo test --release --test formats -- --ignored`.
#[test]
#[ignore]
fn write_a_large_stream_for_timing() {
    let Ok(dir) = std::env::var("FORMATS_BENCH_DIR") else { return };
    let dir = Path::new(&dir);
    std::fs::create_dir_all(dir).unwrap();
    let e = Engine::new(EngineConfig::new("bench"), T0).unwrap();
    let mut reqs: Vec<_> =
        (0..1000).map(|b| deliver(&e, request((0..200).map(|i| audit_record(b * 200 + i))), T0)).collect();
    reqs.push(close_delivered(&e, T0));
    std::fs::write(dir.join("audit.binpb"), framed(&encoded(&reqs))).unwrap();
    std::fs::write(dir.join("audit.json"), json_lines(&reqs)).unwrap();
}
