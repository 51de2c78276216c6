//! The verifier against streams stamped by the real engine and written as
//! the fileexporter writes them, then tampered with, file by file.

mod support;

use auditchain::engine::Engine;
use auditchain::engine::config::{EngineConfig, StateConfig};
use auditchain::verify::report::{Kind, Report, Severity, Status, Verdict};
use auditchain::verify::{Options, verify};
use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use prost::Message;
use serde_json::Value;
use std::path::{Path, PathBuf};
use support::*;

fn engine(state: Option<&Path>) -> Engine {
    let config = EngineConfig {
        state: StateConfig { directory: state.map(Path::to_path_buf), new_stream: false },
        ..EngineConfig::new("test-host")
    };
    Engine::new(config, T0).unwrap()
}

/// Stamps `batches` batches of `per_batch` records, delivering each, and
/// closes the stream when `close`. Returns the exported requests.
fn stream(e: &Engine, batches: u64, per_batch: u64, close: bool) -> Vec<ExportLogsServiceRequest> {
    let mut out = Vec::new();
    for b in 0..batches {
        out.push(deliver(e, request((0..per_batch).map(|i| audit_record(b * per_batch + i))), T0));
    }
    if close {
        out.push(close_delivered(e, T0));
    }
    out
}

fn write(dir: &Path, name: &str, reqs: &[ExportLogsServiceRequest]) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, json_lines(reqs)).unwrap();
    p
}

fn check(dir: &Path) -> Report {
    verify(&[dir.to_path_buf()], &Options::default())
}

#[test]
fn a_clean_stream_verifies_and_counts_every_record() {
    let d = tempfile::tempdir().unwrap();
    let e = engine(None);
    write(d.path(), "audit.jsonl", &stream(&e, 3, 4, true));
    let r = check(d.path());
    assert_eq!(r.verdict, Verdict::Pass, "{:#?}", r);
    assert_eq!(r.status(), Status::Verified);
    assert_eq!(r.streams.len(), 1);
    let s = &r.streams[0];
    // 12 audit records + the start record + the end record.
    assert_eq!((s.records, s.first_sequence, s.last_sequence, s.duplicates), (14, 1, 14, 0));
    assert!(s.ended);
    assert!(s.missing.is_empty());
    assert_eq!(kinds(&r, Severity::Error), vec![]);
    assert_eq!(kinds(&r, Severity::Warning), vec![(Kind::PlainChain, None, None)]);
    assert_eq!(r.inputs.records, 14);
}

#[test]
fn a_changed_body_is_a_content_mismatch_on_that_record() {
    let d = tempfile::tempdir().unwrap();
    let mut l = lines(&stream(&engine(None), 2, 3, true));
    // Record 1 is the stream's start record; the first batch holds 2..4.
    let body = &mut record_mut(&mut l, 5)["body"]["stringValue"];
    *body = Value::String(body.as_str().unwrap().replacen("delete", "deleta", 1));
    write_lines(d.path(), "audit.jsonl", &l);
    let r = check(d.path());
    assert_eq!(r.status(), Status::Failed);
    assert_eq!(kinds(&r, Severity::Error), vec![(Kind::ContentMismatch, Some(5), None)]);
    let f = &r.streams[0].findings[0];
    assert_eq!((f.locations[0].line, f.locations[0].record), (2, 0), "the second batch holds record 5 first");
}

#[test]
fn a_changed_attribute_is_a_content_mismatch() {
    let d = tempfile::tempdir().unwrap();
    let mut l = lines(&stream(&engine(None), 2, 3, true));
    *attr_mut(record_mut(&mut l, 3), "audit.actor") = serde_json::json!({"stringValue": "mallory"});
    write_lines(d.path(), "audit.jsonl", &l);
    let r = check(d.path());
    assert_eq!(kinds(&r, Severity::Error), vec![(Kind::ContentMismatch, Some(3), None)]);
}

#[test]
fn a_deleted_record_is_missing() {
    let d = tempfile::tempdir().unwrap();
    let mut l = lines(&stream(&engine(None), 2, 3, true));
    let target = record_mut(&mut l, 5).clone();
    for line in &mut l {
        for rl in line["resourceLogs"].as_array_mut().unwrap() {
            for sl in rl["scopeLogs"].as_array_mut().unwrap() {
                sl["logRecords"].as_array_mut().unwrap().retain(|r| *r != target);
            }
        }
    }
    write_lines(d.path(), "audit.jsonl", &l);
    let r = check(d.path());
    assert_eq!(r.status(), Status::Failed);
    assert_eq!(kinds(&r, Severity::Error), vec![(Kind::MissingRecords, Some(5), Some(5))]);
    assert_eq!(r.streams[0].missing, vec![[5, 5]]);
}

#[test]
fn swapped_sequence_numbers_are_reported_on_both_records() {
    let d = tempfile::tempdir().unwrap();
    let mut l = lines(&stream(&engine(None), 2, 3, true));
    // 3 → a placeholder, 4 → 3, the placeholder → 4.
    for (from, to) in [(3, 999_999), (4, 3), (999_999, 4)] {
        *attr_mut(record_mut(&mut l, from), "audit.sequence.number") = serde_json::json!({"intValue": to.to_string()});
    }
    write_lines(d.path(), "audit.jsonl", &l);
    let r = check(d.path());
    assert_eq!(r.status(), Status::Failed);
    let errors = kinds(&r, Severity::Error);
    assert!(errors.contains(&(Kind::ContentMismatch, Some(3), None)), "{errors:?}");
    assert!(errors.contains(&(Kind::ContentMismatch, Some(4), None)), "{errors:?}");
}

#[test]
fn reordered_split_files_and_duplicated_batches_verify_clean() {
    let d = tempfile::tempdir().unwrap();
    let reqs = stream(&engine(None), 4, 3, true);
    // Reverse order across files named so that sorting puts them backwards,
    // and deliver batch 2 twice (at-least-once delivery).
    for (i, r) in reqs.iter().enumerate() {
        write(d.path(), &format!("part-{}.jsonl", 9 - i), std::slice::from_ref(r));
    }
    write(d.path(), "retry.jsonl", &reqs[1..2]);
    let r = check(d.path());
    assert_eq!(r.verdict, Verdict::Pass, "{:#?}", kinds(&r, Severity::Error));
    assert_eq!(r.streams[0].duplicates, 3);
    assert_eq!(r.streams[0].records, 14);
}

#[test]
fn a_rewritten_link_is_a_broken_link() {
    let d = tempfile::tempdir().unwrap();
    let mut l = lines(&stream(&engine(None), 2, 3, true));
    *attr_mut(record_mut(&mut l, 6), "audit.sequence.previous_hash") =
        serde_json::json!({"stringValue": "00".repeat(32)});
    write_lines(d.path(), "audit.jsonl", &l);
    let r = check(d.path());
    let errors = kinds(&r, Severity::Error);
    // The record's own hash covers its previous_hash, and the link breaks.
    assert!(errors.contains(&(Kind::ContentMismatch, Some(6), None)), "{errors:?}");
    assert!(errors.contains(&(Kind::BrokenLink, Some(6), None)), "{errors:?}");
}

#[test]
fn a_forged_copy_of_a_record_is_a_fork_or_mismatch() {
    let d = tempfile::tempdir().unwrap();
    let reqs = stream(&engine(None), 2, 3, true);
    let mut l = lines(&reqs);
    write_lines(d.path(), "a.jsonl", &l);
    // A second copy of batch 1 with record 2's body changed.
    let body = &mut record_mut(&mut l[..1], 2)["body"]["stringValue"];
    *body = Value::String("forged".into());
    write_lines(d.path(), "b.jsonl", &l[..1]);
    let r = check(d.path());
    assert_eq!(kinds(&r, Severity::Error), vec![(Kind::ContentMismatch, Some(2), None)]);
    assert_eq!(r.streams[0].findings[0].locations[0].file, d.path().join("b.jsonl").display().to_string());
}

#[test]
fn records_after_the_end_are_reported() {
    let d = tempfile::tempdir().unwrap();
    let e = engine(None);
    let reqs = stream(&e, 1, 2, true);
    // Mark record 2 as the end of the stream, as an attacker hiding the
    // records after it would.
    let mut l = lines(&reqs);
    let rec = record_mut(&mut l, 2);
    rec["attributes"]
        .as_array_mut()
        .unwrap()
        .push(serde_json::json!({"key": "audit.sequence.end", "value": {"boolValue": true}}));
    write_lines(d.path(), "audit.jsonl", &l);
    let r = check(d.path());
    let errors = kinds(&r, Severity::Error);
    // The end flag is part of the link, so adding it breaks the record's
    // hash, and the records after it are flagged too.
    assert!(errors.contains(&(Kind::ContentMismatch, Some(2), None)), "{errors:?}");
    assert!(errors.contains(&(Kind::RecordsAfterEnd, Some(3), Some(4))), "{errors:?}");
}

#[test]
fn a_missing_start_is_reported() {
    let d = tempfile::tempdir().unwrap();
    let reqs = stream(&engine(None), 2, 2, true);
    // The start record travels in the first batch's extra records.
    let mut first = reqs[0].clone();
    first.resource_logs.retain(|rl| rl.scope_logs[0].scope.as_ref().unwrap().name != "auditchain");
    write(d.path(), "audit.jsonl", &[first, reqs[1].clone(), reqs[2].clone()]);
    let r = check(d.path());
    assert_eq!(kinds(&r, Severity::Error), vec![(Kind::MissingRecords, Some(1), Some(1))]);
}

#[test]
fn unstamped_and_unreadable_records_fail_unless_allowed() {
    let d = tempfile::tempdir().unwrap();
    let mut reqs = stream(&engine(None), 1, 2, true);
    reqs.push(request([audit_record(99)]));
    write(d.path(), "audit.jsonl", &reqs);
    let r = check(d.path());
    assert_eq!(r.unstamped_records, 1);
    assert_eq!(kinds(&r, Severity::Error), vec![(Kind::UnstampedRecords, None, None)]);
    let r = verify(&[d.path().to_path_buf()], &Options { allow_unstamped: true, ..Options::default() });
    assert_eq!(r.verdict, Verdict::Pass);
    // A record whose stamp is garbled.
    let mut l = lines(&reqs[..2]);
    *attr_mut(record_mut(&mut l, 2), "audit.integrity.value") = serde_json::json!({"stringValue": "xyz"});
    write_lines(d.path(), "audit.jsonl", &l);
    let r = check(d.path());
    let errors = kinds(&r, Severity::Error);
    // Its stream id and number are readable: the finding is that stream's
    // (SPEC §9), and the record counts as not present.
    assert!(errors.contains(&(Kind::MalformedStamp, Some(2), None)), "{errors:?}");
    assert!(r.streams[0].findings.iter().any(|f| f.kind == Kind::MalformedStamp), "{:?}", r.streams[0].findings);
    assert!(errors.contains(&(Kind::MissingRecords, Some(2), Some(2))), "{errors:?}");
}

#[test]
fn input_errors_exit_2_and_empty_inputs_are_not_a_pass() {
    let d = tempfile::tempdir().unwrap();
    let r = check(d.path());
    assert_eq!(r.status(), Status::Incomplete);
    assert!(r.errors[0].message.contains("no log records"), "{:?}", r.errors);
    std::fs::write(d.path().join("bad.jsonl"), "{not json\n").unwrap();
    let r = check(d.path());
    assert_eq!(r.status(), Status::Incomplete);
    assert_eq!(r.errors[0].line, Some(1));
    let r = verify(&[d.path().join("nope")], &Options::default());
    assert_eq!(r.status(), Status::Incomplete);
}

#[test]
fn a_crash_resumes_the_stream_and_explains_the_lost_batch() {
    let state = tempfile::tempdir().unwrap();
    let d = tempfile::tempdir().unwrap();
    let mut exported;
    {
        let e = engine(Some(state.path()));
        exported = stream(&e, 2, 2, false);
        // A batch stamped, durable in the state, then the process dies
        // before the exporter accepted it.
        let lost = request([audit_record(50), audit_record(51)]);
        let stamps = e.stamp_logs(&lost.encode_to_vec(), T0).unwrap();
        assert_eq!((stamps.first_sequence, stamps.last_sequence), (6, 7));
    }
    let e = engine(Some(state.path()));
    exported.extend(stream(&e, 1, 2, true));
    write(d.path(), "audit.jsonl", &exported);
    let r = check(d.path());
    assert_eq!(r.verdict, Verdict::Pass, "{:#?}", kinds(&r, Severity::Error));
    assert_eq!(r.streams.len(), 1, "a restart continues the stream");
    let s = &r.streams[0];
    assert_eq!(s.missing, vec![[6, 7]]);
    assert_eq!(kinds(&r, Severity::Warning)[0], (Kind::MissingRecords, Some(6), Some(7)));
    assert!(kinds(&r, Severity::Info).contains(&(Kind::Restart, Some(8), None)));
    // Deleting a record that was delivered is still an error.
    let mut l = lines(&exported);
    *attr_mut(record_mut(&mut l, 3), "audit.actor") = serde_json::json!({"stringValue": "x"});
    write_lines(d.path(), "audit.jsonl", &l);
    assert_eq!(check(d.path()).status(), Status::Failed);
}

#[test]
fn a_refused_batch_is_announced_as_a_gap() {
    let d = tempfile::tempdir().unwrap();
    let e = engine(None);
    let mut exported = stream(&e, 1, 2, false);
    let refused = request([audit_record(7)]);
    let stamps = e.stamp_logs(&refused.encode_to_vec(), T0).unwrap();
    e.settle(stamps.batch_id, false).unwrap();
    exported.extend(stream(&e, 1, 1, true));
    write(d.path(), "audit.jsonl", &exported);
    let r = check(d.path());
    assert_eq!(r.verdict, Verdict::Pass, "{:#?}", kinds(&r, Severity::Error));
    assert_eq!(r.streams[0].missing, vec![[4, 4]]);
    assert_eq!(kinds(&r, Severity::Warning)[0], (Kind::MissingRecords, Some(4), Some(4)));
}

#[test]
fn a_clean_restart_starts_a_successor_that_anchors_the_old_tail() {
    let state = tempfile::tempdir().unwrap();
    let d = tempfile::tempdir().unwrap();
    let first = stream(&engine(Some(state.path())), 2, 2, true);
    let second = stream(&engine(Some(state.path())), 1, 2, true);
    write(d.path(), "a.jsonl", &first);
    write(d.path(), "b.jsonl", &second);
    let r = check(d.path());
    assert_eq!(r.verdict, Verdict::Pass, "{:#?}", kinds(&r, Severity::Error));
    assert_eq!(r.streams.len(), 2);
    assert!(kinds(&r, Severity::Info).iter().any(|k| k.0 == Kind::Lineage));
    // Drop the old stream's last batch and its end record: without the
    // successor that would be undetectable in a plain chain.
    write(d.path(), "a.jsonl", &first[..1]);
    let r = check(d.path());
    assert_eq!(r.status(), Status::Failed);
    let errors = kinds(&r, Severity::Error);
    assert_eq!(errors, vec![(Kind::MissingRecords, Some(4), Some(6))], "{errors:?}");
}

#[test]
fn a_batch_whose_state_cannot_be_saved_is_refused_and_announced_as_a_gap() {
    let state = tempfile::tempdir().unwrap();
    let d = tempfile::tempdir().unwrap();
    let e = engine(Some(state.path()));
    let mut exported = stream(&e, 1, 2, false);
    // The state directory disappears (a failed disk, an unmounted volume).
    let dir = state.path().join("test-host");
    std::fs::rename(&dir, state.path().join("elsewhere")).unwrap();
    let req = request([audit_record(10), audit_record(11)]);
    let err = e.stamp_logs(&req.encode_to_vec(), T0).unwrap_err();
    assert_eq!(err.kind, auditchain::engine::error::ErrorKind::State, "{err:?}");
    assert!(err.message.contains("cannot save stream state"), "{}", err.message);
    std::fs::rename(state.path().join("elsewhere"), &dir).unwrap();
    // Numbers are never reissued: the refused batch's are announced.
    exported.extend(stream(&e, 1, 2, true));
    write(d.path(), "audit.jsonl", &exported);
    let r = check(d.path());
    assert_eq!(r.verdict, Verdict::Pass, "{:#?}", kinds(&r, Severity::Error));
    assert_eq!(r.streams[0].missing, vec![[4, 5]]);
    assert_eq!(kinds(&r, Severity::Warning)[0], (Kind::MissingRecords, Some(4), Some(5)));
}

#[test]
fn concurrent_batches_get_unique_gap_free_numbers() {
    let state = tempfile::tempdir().unwrap();
    let e = std::sync::Arc::new(engine(Some(state.path())));
    let threads: Vec<_> = (0..8)
        .map(|t| {
            let e = e.clone();
            std::thread::spawn(move || {
                let mut seqs = Vec::new();
                for b in 0..25 {
                    let req = request((0..3).map(|i| audit_record(t * 1000 + b * 3 + i)));
                    let s = e.stamp_logs(&req.encode_to_vec(), T0).unwrap();
                    e.settle(s.batch_id, true).unwrap();
                    seqs.extend(s.records.iter().flatten().map(|r| r.sequence));
                }
                seqs
            })
        })
        .collect();
    let mut all: Vec<u64> = threads.into_iter().flat_map(|t| t.join().unwrap()).collect();
    all.sort_unstable();
    // Record 1 is the start record; the 600 batch records follow without a gap.
    assert_eq!(all, (2..=601).collect::<Vec<_>>());
    // One write at start, then at most one per batch (fewer when batches
    // shared a write).
    let writes = e.counters().state_writes;
    assert!((2..=201).contains(&writes), "{writes} state writes");
    drop(e);
    let e = engine(Some(state.path()));
    let s = e.tick(T0).unwrap();
    assert_eq!(s.first_sequence, 602, "a restart continues after the last durable number");
}

#[test]
fn large_files_are_read_in_parallel_with_the_same_findings_and_lines() {
    let d = tempfile::tempdir().unwrap();
    let reqs = stream(&engine(None), 40, 250, true);
    let mut l = lines(&reqs);
    // Record 5000 sits in batch 20 (record 1 is the start record).
    let body = &mut record_mut(&mut l, 5000)["body"]["stringValue"];
    *body = Value::String("tampered".into());
    write_lines(d.path(), "audit.jsonl", &l);
    assert!(
        std::fs::metadata(d.path().join("audit.jsonl")).unwrap().len() > 4 << 20,
        "large enough for the parallel reader"
    );
    let r = check(d.path());
    assert_eq!(r.inputs.records, 10_002);
    assert_eq!(kinds(&r, Severity::Error), vec![(Kind::ContentMismatch, Some(5000), None)]);
    let loc = &r.streams[0].findings[0].locations[0];
    assert_eq!(loc.line, 20, "{loc:?}");
    // Pretty-printed values span lines: the parallel cut fails, the
    // sequential reader takes over, and the result is the same.
    let pretty: String = l.iter().map(|v| serde_json::to_string_pretty(v).unwrap() + "\n").collect();
    std::fs::write(d.path().join("audit.jsonl"), pretty).unwrap();
    let r = check(d.path());
    assert_eq!(r.inputs.records, 10_002);
    assert_eq!(kinds(&r, Severity::Error).len(), 1);
}

#[test]
fn announcements_survive_a_crash_before_they_were_delivered() {
    let state = tempfile::tempdir().unwrap();
    let d = tempfile::tempdir().unwrap();
    let mut exported;
    {
        let e = engine(Some(state.path()));
        exported = stream(&e, 1, 2, false);
        // Two batches in flight when the process dies (adjacent ranges).
        for i in 0..2 {
            let lost = request([audit_record(50 + i)]);
            e.stamp_logs(&lost.encode_to_vec(), T0).unwrap();
        }
    }
    {
        // The restart owes a resume record announcing 4..5, but dies
        // before anything leaves.
        let _e = engine(Some(state.path()));
    }
    {
        // Again: this time the resume record is stamped but refused.
        let e = engine(Some(state.path()));
        let s = e.tick(T0).unwrap();
        e.settle(s.batch_id, false).unwrap();
        // The gap record that follows announces everything still owed,
        // including the refused resume record itself; it is lost in a crash.
        let s = e.tick(T0).unwrap();
        assert!(s.batch_id != 0);
    }
    let e = engine(Some(state.path()));
    exported.extend(stream(&e, 1, 2, true));
    write(d.path(), "audit.jsonl", &exported);
    let r = check(d.path());
    assert_eq!(r.verdict, Verdict::Pass, "{:#?}", kinds(&r, Severity::Error));
    let s = &r.streams[0];
    // 4-5: the lost batches; 6: the refused resume; 7: the lost gap record.
    assert_eq!(s.missing, vec![[4, 7]], "{:?}", s.missing);
    assert!(kinds(&r, Severity::Warning).contains(&(Kind::MissingRecords, Some(4), Some(7))));
}

#[test]
fn a_missing_range_announced_in_pieces_is_explained() {
    // Verifiers must accept announcements split over several ranges (and
    // records): build two refused batches settled separately.
    let d = tempfile::tempdir().unwrap();
    let e = engine(None);
    let mut exported = stream(&e, 1, 2, false);
    let a = e.stamp_logs(&request([audit_record(7)]).encode_to_vec(), T0).unwrap();
    e.settle(a.batch_id, false).unwrap();
    // The gap record for 4 is refused as well: 5 becomes owed too.
    let g = e.tick(T0).unwrap();
    e.settle(g.batch_id, false).unwrap();
    exported.extend(stream(&e, 1, 1, true));
    write(d.path(), "audit.jsonl", &exported);
    let r = check(d.path());
    assert_eq!(r.verdict, Verdict::Pass, "{:#?}", kinds(&r, Severity::Error));
    assert_eq!(r.streams[0].missing, vec![[4, 5]]);
}

#[test]
fn every_thread_count_reads_a_file_as_one_thread_does() {
    // A file of many parallel windows, with what the parallel reader
    // cannot read on its own: values spanning lines (pretty-printed), a
    // damaged line, a torn write with the next glued to it, and an edited
    // record. Each job that fails there is read again by the calling
    // thread, with the jobs after it; the report is the one thread's.
    let d = tempfile::tempdir().unwrap();
    let reqs = stream(&engine(None), 80, 250, true);
    let mut l = lines(&reqs);
    record_mut(&mut l, 9000)["body"]["stringValue"] = Value::String("tampered".into());
    let mut text = String::new();
    for (i, v) in l.iter().enumerate() {
        match i {
            // Pretty-printed values over more than a job's bytes: a job's
            // end falls inside one.
            10..20 => text += &(serde_json::to_string_pretty(v).unwrap() + "\n"),
            30 => text += "{\"resourceLogs\":[{\"scopeLogs\":[{\"logRecords\":[{\"body\":\n",
            50 => {
                let s = v.to_string();
                text += &s[..s.len() / 2];
                text += &(s + "\n");
            }
            _ => text += &(v.to_string() + "\n"),
        }
    }
    assert!(text.len() > 20 << 20, "several windows of the parallel reader: {} bytes", text.len());
    std::fs::write(d.path().join("audit.jsonl"), text).unwrap();
    let report = |threads: usize| report_on_threads(d.path(), threads);
    let one = report(1);
    // What one thread finds: the edited record, the two unreadable lines
    // (the damaged one, the torn one), and the value glued after it read.
    assert_eq!(one["verdict"], "fail", "{one:#}");
    assert_eq!(one["inputs"]["unreadable"], 2, "{:#}", one["inputs"]);
    let streams = one["streams"].as_array().unwrap();
    let kinds: Vec<&str> =
        streams[0]["findings"].as_array().unwrap().iter().map(|f| f["kind"].as_str().unwrap()).collect();
    assert!(kinds.contains(&"content_mismatch"), "{kinds:?}");
    for threads in [2, 3, 4] {
        assert_eq!(report(threads), one, "{threads} threads");
    }
}

#[test]
fn every_thread_count_reads_many_files_as_one_thread_does() {
    // The workers read the files one after another without stopping at a
    // file's end: the next file is read while they finish the last jobs
    // of the one before. Files whose last job cannot be read there (a
    // damaged line, a value spanning lines cut short, a torn last write), a small
    // file, a file that is not an export, a protobuf file, a gzip file
    // cut short (a read error after its values) and files after them: the
    // report is the one thread's, the findings in the same files and the
    // errors in the same order.
    let d = tempfile::tempdir().unwrap();
    let reqs = stream(&engine(None), 400, 250, true);
    let l = lines(&reqs);
    let chunk = l.len() / 8;
    let mut parts: Vec<Vec<String>> = l.chunks(chunk).map(|c| c.iter().map(Value::to_string).collect()).collect();
    let (a, b, c) = (parts[0].len() - 2, parts[1].len() - 1, parts[2].len() - 1);
    parts[0][a] = "{\"resourceLogs\":[{\"scopeLogs\":[{\"logRecords\":[{\"body\":".into();
    let pretty = serde_json::to_string_pretty(&l[chunk + b]).unwrap();
    parts[1][b] = pretty[..pretty.len() - 1].to_string();
    let torn = parts[2][c].clone();
    parts[2][c] = torn[..torn.len() / 2].to_string();
    let text = |p: &[String], newline_at_end: bool| {
        let mut t = p.join("\n");
        if newline_at_end {
            t.push('\n');
        }
        t
    };
    std::fs::write(d.path().join("f0.jsonl"), text(&parts[0], true)).unwrap();
    std::fs::write(d.path().join("f1.jsonl"), text(&parts[1], false)).unwrap();
    std::fs::write(d.path().join("f2.jsonl"), text(&parts[2], false)).unwrap();
    std::fs::write(d.path().join("f3.jsonl"), text(&parts[3][..3], true)).unwrap();
    std::fs::write(d.path().join("f4.jsonl"), text(&parts[3][3..], true)).unwrap();
    std::fs::write(d.path().join("f5.bin"), [0xffu8, 0, 1, 2, 3, 4]).unwrap();
    std::fs::write(d.path().join("f6.jsonl"), text(&parts[4], true)).unwrap();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    std::io::Write::write_all(&mut gz, text(&parts[5], true).as_bytes()).unwrap();
    let gz = gz.finish().unwrap();
    std::fs::write(d.path().join("f7.jsonl.gz"), &gz[..gz.len() - 100]).unwrap();
    std::fs::write(d.path().join("f8.jsonl"), text(&parts[6], true)).unwrap();
    let proto: Vec<u8> = reqs[reqs.len() * 7 / 8..]
        .iter()
        .flat_map(|r| {
            let b = r.encode_to_vec();
            let mut framed = (b.len() as u32).to_be_bytes().to_vec();
            framed.extend(b);
            framed
        })
        .collect();
    std::fs::write(d.path().join("f9.pb"), proto).unwrap();
    assert!(parts[0].iter().map(String::len).sum::<usize>() > 8 << 20, "more than a window per file");
    let report = |threads: usize| report_on_threads(d.path(), threads);
    let one = report(1);
    assert_eq!(one["verdict"], "fail", "{one:#}");
    let errors: Vec<String> = one["errors"].as_array().unwrap().iter().map(|e| e.to_string()).collect();
    let named = |f: &str| errors.iter().any(|e| e.contains(f));
    for f in ["f0.jsonl", "f1.jsonl", "f2.jsonl", "f5.bin", "f7.jsonl.gz"] {
        assert!(named(f), "{f} in {errors:#?}");
    }
    assert!(!named("f9.pb"), "{errors:#?}");
    for threads in [2, 3, 4] {
        assert_eq!(report(threads), one, "{threads} threads");
    }
}

#[test]
fn every_thread_count_reads_protobuf_files_as_one_thread_does() {
    // Protobuf files are cut into their messages on the calling thread and
    // read by the workers: a framed file of more than a window with an
    // unreadable message, a damaged frame and a torn last frame; JSON lines
    // after it; single messages (awss3exporter objects), one of them not
    // protobuf. The report is the one thread's, the errors in order.
    let d = tempfile::tempdir().unwrap();
    let reqs = stream(&engine(None), 400, 250, true);
    let frame = |b: &[u8]| [&(b.len() as u32).to_be_bytes()[..], b].concat();
    let n = reqs.len();
    let mut framed = Vec::new();
    for (i, r) in reqs[..n * 3 / 4].iter().enumerate() {
        framed.extend(frame(&r.encode_to_vec()));
        if i == 40 {
            // A frame of JSON cut short: read (and refused) by a worker.
            framed.extend(frame(b"{\"resourceLogs\":[{"));
        }
        if i == 200 {
            framed.extend([0xff, 0xff, 0xff, 0xf0, 0x0a, 0x01]);
        }
    }
    framed.extend(&frame(&reqs[n * 3 / 4].encode_to_vec())[..100]);
    assert!(framed.len() > 8 << 20, "more than a window: {}", framed.len());
    std::fs::write(d.path().join("p0.pb"), framed).unwrap();
    let l = lines(&reqs[n * 3 / 4..n * 7 / 8]);
    std::fs::write(d.path().join("p1.jsonl"), l.iter().map(|v| format!("{v}\n")).collect::<String>()).unwrap();
    for (i, r) in reqs[n * 7 / 8..].iter().enumerate() {
        std::fs::write(d.path().join(format!("p2-{i:03}.binpb")), r.encode_to_vec()).unwrap();
    }
    std::fs::write(d.path().join("p2-050.binpb"), [0x0a, 0x10, 0x01]).unwrap();
    let one = report_on_threads(d.path(), 1);
    assert_eq!(one["verdict"], "incomplete", "{one:#}");
    let errors: Vec<String> = one["errors"].as_array().unwrap().iter().map(|e| e.to_string()).collect();
    assert_eq!(errors.iter().filter(|e| e.contains("p0.pb")).count(), 3, "{errors:#?}");
    assert!(errors[0].contains("message at byte offset"), "{errors:#?}");
    assert_eq!(errors.iter().filter(|e| e.contains("p2-050.binpb")).count(), 1, "{errors:#?}");
    assert_eq!(errors.len(), 4, "{errors:#?}");
    for threads in [2, 3, 4] {
        assert_eq!(report_on_threads(d.path(), threads), one, "{threads} threads");
    }
}

/// The JSON report of verifying `dir` on `threads` threads, but for the
/// time it was made.
fn report_on_threads(dir: &Path, threads: usize) -> Value {
    let mut o = Options::default();
    o.limits.threads = threads;
    let mut v = serde_json::to_value(verify(&[dir.to_path_buf()], &o)).unwrap();
    v.as_object_mut().unwrap().remove("as_of");
    v
}
