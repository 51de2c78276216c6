//! The verifier on format version 2 streams (docs/SPEC.md §5.5, §8.14–
//! §8.18): streams built record by record as the contract says the engine
//! writes them (tests/support/tlog.rs), written as the fileexporter writes
//! them, tampered with, and verified by the library and the real CLI.

mod support;

use auditchain::core::tlog::Policy;
use auditchain::verify::report::{Kind, Report, Severity, Verdict};
use auditchain::verify::rules::logs::WitnessNote;
use auditchain::verify::{Options, verify};
use serde_json::Value;
use std::path::Path;
use support::tlog::*;
use support::{SEC, T0};

fn options(log: &LogBuilder, policy: bool) -> Options {
    let mut o =
        Options { verifiers: vec![log.signer.verifier()], as_of_unix_nano: log.t + 5 * SEC, ..Options::default() };
    if policy {
        o.policy = Some(Policy::parse(&support::tlog::policy(&log.signer, &[&witness(1), &witness(2)], 2)).unwrap());
    }
    o
}

fn run(dir: &Path, o: &Options) -> Report {
    verify(&[dir.to_path_buf()], o)
}

/// (kind, severity) of every finding of the logs.
fn log_kinds(r: &Report) -> Vec<(Kind, Severity)> {
    r.logs.iter().flat_map(|l| &l.findings).map(|f| (f.kind, f.severity)).collect()
}

fn errors(r: &Report) -> Vec<Kind> {
    let mut k: Vec<Kind> = support::kinds(r, Severity::Error).into_iter().map(|(k, _, _)| k).collect();
    k.extend(r.logs.iter().flat_map(|l| &l.findings).filter(|f| f.severity == Severity::Error).map(|f| f.kind));
    k.sort_by_key(|k| format!("{k:?}"));
    k.dedup();
    k
}

#[test]
fn a_clean_v2_log_verifies_with_its_witnesses() {
    let d = tempfile::tempdir().unwrap();
    let log = two_streams(None, true);
    log.write(d.path(), true);
    let r = run(d.path(), &options(&log, true));
    assert_eq!(r.verdict, Verdict::Pass, "{:#?}", r);
    assert_eq!(r.logs.len(), 1);
    let l = &r.logs[0];
    assert_eq!(l.origin, ORIGIN);
    assert_eq!(l.leaves, log.size());
    assert_eq!(l.streams, vec![A.to_string(), B.to_string()]);
    let newest = l.newest_checkpoint.as_ref().unwrap();
    assert_eq!(newest.size, *log.checkpoints.keys().last().unwrap());
    assert_eq!(newest.cosigned_by, vec!["w0".to_string(), "w1".to_string()]);
    assert_eq!(newest.quorum, Some(true));
    assert_eq!(l.witnessed_size, Some(newest.size));
    assert!(l.missing_leaves.is_empty());
    assert_eq!(log_kinds(&r), vec![]);
    // The stream rules hold as for version 1: A ended, B is running.
    assert!(r.streams[0].ended && !r.streams[1].ended);
    assert_eq!(support::kinds(&r, Severity::Error), vec![]);
}

#[test]
fn a_policy_alone_gives_the_log_key() {
    let d = tempfile::tempdir().unwrap();
    let log = two_streams(None, true);
    log.write(d.path(), true);
    let mut o = options(&log, true);
    o.verifiers.clear();
    let r = run(d.path(), &o);
    assert_eq!(r.verdict, Verdict::Pass, "{:#?}", r);
    assert_eq!(r.streams[0].signers, vec![log.signer.id.to_string()]);
}

#[test]
fn without_a_policy_a_v2_log_verifies_on_its_log_key() {
    let d = tempfile::tempdir().unwrap();
    let log = two_streams(None, false);
    log.write(d.path(), false);
    let r = run(d.path(), &options(&log, false));
    assert_eq!(r.verdict, Verdict::Pass, "{:#?}", r);
    assert_eq!(r.logs[0].witnessed_size, None);
    assert_eq!(r.logs[0].checkpoints, 6);
}

fn edited_record() -> opentelemetry_proto::tonic::logs::v1::LogRecord {
    let mut r = support::audit_record(5);
    r.body = Some(support::s(r#"{"actor":"user-5","action":"read","resource":"doc-5"}"#));
    r
}

#[test]
fn an_edited_record_with_recomputed_links_contradicts_the_signed_roots() {
    let d = tempfile::tempdir().unwrap();
    let mut log = two_streams(None, true);
    // Audit record 5 is record 7 of A (start, 4 records, checkpoint, cosignature, ...).
    let s = log.stream_mut(A);
    let seq = (1..)
        .find(|&q| support::attr(record_of(s, q), "audit.actor").is_some_and(|v| v["stringValue"] == "user-5"))
        .unwrap();
    let body = &mut record_of(s, seq)["body"]["stringValue"];
    *body = Value::String(body.as_str().unwrap().replace("delete", "read"));
    relink(s, seq);
    log.write(d.path(), true);
    let r = run(d.path(), &options(&log, true));
    assert_eq!(r.verdict, Verdict::Fail);
    // The chain alone no longer shows it (a plain chain relinked)...
    assert_eq!(support::kinds(&r, Severity::Error), vec![]);
    // ... the log does: every checkpoint from the edit on.
    assert_eq!(errors(&r), vec![Kind::CheckpointMismatch]);
    let sizes: Vec<u64> = r.logs[0].findings.iter().filter_map(|f| f.size).collect();
    let leaf = leaf_of(&log, A, seq);
    assert!(!sizes.is_empty() && sizes.iter().all(|&n| n > leaf), "{sizes:?} after leaf {leaf}");
    assert_eq!(sizes.len(), log.checkpoints.keys().filter(|&&n| n > leaf).count());
}

/// The key holder rewrites record 5 and re-signs every checkpoint, in the
/// store and in the checkpoint file: witnesses' cosignatures cannot be made.
#[test]
fn a_rewrite_resigned_with_the_real_key_is_unwitnessed_and_forks_from_the_witness() {
    let original = two_streams(None, true);
    let forged = two_streams(Some((5, edited_record())), false);
    let d = tempfile::tempdir().unwrap();
    forged.write(d.path(), true);
    // Without a policy it verifies: the key vouches for it.
    let r = run(d.path(), &options(&forged, false));
    assert_eq!(r.verdict, Verdict::Pass, "{:#?}", r.logs);
    // With the witness policy: nothing meets the quorum (and the
    // checkpoints are older than the max delay cosignatures take).
    let mut o = options(&forged, true);
    o.max_delay_ns = 2 * SEC;
    let r = run(d.path(), &o);
    assert_eq!(r.verdict, Verdict::Fail);
    assert_eq!(errors(&r), vec![Kind::Unwitnessed]);
    assert_eq!(r.logs[0].witnessed_size, Some(0));
    // The witness's own newest cosigned checkpoint: another tree.
    let newest = *original.checkpoints.keys().last().unwrap();
    let w = d.path().join("witness.note");
    std::fs::write(&w, original.cosigned_note(newest)).unwrap();
    let mut o = options(&forged, true);
    o.witness_checkpoints = vec![WitnessNote { file: w.display().to_string(), note: original.cosigned_note(newest) }];
    let r = run(d.path(), &o);
    assert!(errors(&r).contains(&Kind::Fork), "{:#?}", r.logs);
    assert!(errors(&r).contains(&Kind::CheckpointMismatch));
    // An older cosigned checkpoint of the witness, between the forged
    // ones: its root contradicts the records, which the newer re-signed
    // checkpoints confirm.
    let older = *original.checkpoints.keys().nth(3).unwrap();
    o.witness_checkpoints = vec![WitnessNote { file: "w".into(), note: original.cosigned_note(older) }];
    let r = run(d.path(), &o);
    let forks: Vec<_> = r.logs[0].findings.iter().filter(|f| f.kind == Kind::Fork).collect();
    assert_eq!(forks.len(), 1, "{:#?}", r.logs[0].findings);
    // The original checkpoint file beside the forged records: two roots
    // for one size, both validly signed.
    std::fs::write(
        d.path().join("checkpoints.jsonl"),
        original.lines.iter().map(|l| format!("{l}\n")).collect::<String>(),
    )
    .unwrap();
    let r = run(d.path(), &options(&forged, true));
    assert!(errors(&r).contains(&Kind::Fork), "{:#?}", r.logs);
}

#[test]
fn deleting_the_newest_stream_leaves_missing_leaves() {
    let log = two_streams(None, true);
    let d = tempfile::tempdir().unwrap();
    log.write(d.path(), true);
    std::fs::remove_file(d.path().join(format!("{B}.jsonl"))).unwrap();
    // The checkpoint file still has B's checkpoints: B is a stream known
    // from lines, and the log's leaves below its size are gone.
    let r = run(d.path(), &options(&log, true));
    assert_eq!(r.verdict, Verdict::Fail);
    let a_len = log.stream(A).requests.len() as u64;
    let newest = *log.checkpoints.keys().last().unwrap();
    assert_eq!(r.logs[0].missing_leaves, vec![[a_len, newest - 1]], "{:#?}", r.logs);
    assert!(errors(&r).contains(&Kind::MissingLeaves));
    // Without the checkpoint file, the witness's checkpoint says the same.
    std::fs::remove_file(d.path().join("checkpoints.jsonl")).unwrap();
    let mut o = options(&log, true);
    o.witness_checkpoints = vec![WitnessNote { file: "w".into(), note: log.cosigned_note(newest) }];
    let r = run(d.path(), &o);
    assert_eq!(r.logs[0].missing_leaves, vec![[a_len, newest - 1]], "{:#?}", r.logs);
    assert_eq!(errors(&r), vec![Kind::MissingLeaves]);
    // Without either, nothing shows it (B's deletion is what witnessing is for).
    let r = run(d.path(), &options(&log, true));
    assert_eq!(r.verdict, Verdict::Pass, "{:#?}", r.logs);
}

#[test]
fn a_cut_tail_is_found_from_the_witness_checkpoint() {
    let mut log = two_streams(None, true);
    let newest = *log.checkpoints.keys().last().unwrap();
    let s = log.stream_mut(B);
    let keep = s.requests.len() - 6;
    s.requests.truncate(keep);
    let d = tempfile::tempdir().unwrap();
    log.write(d.path(), false);
    let mut o = options(&log, true);
    o.witness_checkpoint_only(&log, newest);
    let r = run(d.path(), &o);
    assert_eq!(r.verdict, Verdict::Fail);
    let cut = leaf_of(&log, B, keep as u64 + 1);
    assert_eq!(r.logs[0].missing_leaves, vec![[cut, newest - 1]], "{:#?}", r.logs);
    // With the checkpoint file instead, B's own gap rule sees the cut.
    log.write(d.path(), true);
    let r = run(d.path(), &options(&log, true));
    assert!(support::error_kinds(&r).contains(&Kind::MissingRecords), "{:#?}", r);
}

trait WitnessOnly {
    fn witness_checkpoint_only(&mut self, log: &LogBuilder, size: u64);
}
impl WitnessOnly for Options {
    fn witness_checkpoint_only(&mut self, log: &LogBuilder, size: u64) {
        self.witness_checkpoints = vec![WitnessNote { file: "witness.note".into(), note: log.cosigned_note(size) }];
    }
}

/// One byte of a cosignature line's signature changed.
fn forge_cosignature(note: &str) -> String {
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::STANDARD;
    let mut out = String::new();
    for line in note.split_inclusive('\n') {
        if let Some(rest) = line.strip_prefix("\u{2014} witness1.example ") {
            let mut sig = b64.decode(rest.trim_end()).unwrap();
            let last = sig.len() - 1;
            sig[last] ^= 1;
            out.push_str(&format!("\u{2014} witness1.example {}\n", b64.encode(sig)));
        } else {
            out.push_str(line);
        }
    }
    assert_ne!(out, note);
    out
}

#[test]
fn a_forged_cosignature_is_a_bad_cosignature() {
    let mut log = two_streams(None, true);
    let d = tempfile::tempdir().unwrap();
    let i = log.lines.iter().rposition(|l| l["note"].as_str().unwrap().contains("witness1.example")).unwrap();
    let forged = forge_cosignature(log.lines[i]["note"].as_str().unwrap());
    log.lines[i]["note"] = Value::String(forged);
    log.write(d.path(), true);
    let r = run(d.path(), &options(&log, true));
    assert_eq!(errors(&r), vec![Kind::BadCosignature], "{:#?}", r.logs);
}

#[test]
fn a_control_record_at_the_wrong_leaf_is_a_log_mismatch() {
    let mut log = two_streams(None, false);
    let s = log.stream_mut(B);
    let r = record_of(s, 1);
    let idx = support::attr_mut(r, "audit.log.index");
    let n: u64 = idx["intValue"].as_str().unwrap().parse().unwrap();
    *idx = serde_json::json!({"intValue": (n + 1).to_string()});
    relink(s, 1);
    let d = tempfile::tempdir().unwrap();
    log.write(d.path(), false);
    let r = run(d.path(), &options(&log, false));
    assert!(support::error_kinds(&r).contains(&Kind::LogMismatch), "{:#?}", r);
}

#[test]
fn v2_time_stays_in_the_past() {
    assert!(T0 < two_streams(None, false).t);
}

/// The checkpoint record of a stream with the largest number.
fn last_checkpoint_seq(s: &mut Stream) -> u64 {
    (1..=s.requests.len() as u64).rev().find(|&q| support::event(record_of(s, q)) == Some("checkpoint")).unwrap()
}

#[test]
fn a_window_of_the_log_is_checked_from_its_first_checkpoint_range() {
    // Only B: its records' roots are recomputed from the range its first
    // checkpoint carries; A's leaves are missing below B's checkpoints.
    let d = tempfile::tempdir().unwrap();
    let mut log = two_streams(None, true);
    log.streams.retain(|s| s.id == B);
    log.write(d.path(), false);
    let r = run(d.path(), &options(&log, true));
    let a_len = leaf_of(&log, B, 1); // B is first now: 0
    assert_eq!(a_len, 0);
    let kinds = log_kinds(&r);
    assert_eq!(kinds, vec![(Kind::MissingLeaves, Severity::Error)], "{:#?}", r.logs);
    // An edit in the window is still found against the carried range.
    let s = log.stream_mut(B);
    let body = &mut record_of(s, 3)["body"]["stringValue"];
    *body = Value::String(body.as_str().unwrap().replace("delete", "read"));
    relink(s, 3);
    log.write(d.path(), false);
    let r = run(d.path(), &options(&log, true));
    assert!(errors(&r).contains(&Kind::CheckpointMismatch), "{:#?}", r.logs);
}

#[test]
fn a_missing_record_makes_roots_unknown_not_mismatched() {
    let d = tempfile::tempdir().unwrap();
    let mut log = two_streams(None, true);
    log.stream_mut(A).requests.remove(2); // record 3 of A
    log.write(d.path(), true);
    let r = run(d.path(), &options(&log, true));
    // The stream's gap rule reports it; the log has nothing to add: its
    // checkpoints are consistent by their carried proofs and ranges.
    assert_eq!(support::error_kinds(&r), vec![Kind::MissingRecords]);
    assert_eq!(log_kinds(&r), vec![], "{:#?}", r.logs);
    assert!(r.logs[0].missing_leaves.is_empty());
}

#[test]
fn a_changed_carried_range_or_proof_is_a_checkpoint_mismatch() {
    for attr in ["audit.log.range", "audit.log.consistency"] {
        let d = tempfile::tempdir().unwrap();
        let mut log = two_streams(None, true);
        let s = log.stream_mut(A);
        let seq = last_checkpoint_seq(s);
        let v = support::attr_mut(record_of(s, seq), attr);
        let first = v["arrayValue"]["values"][0]["stringValue"].as_str().unwrap().to_string();
        let changed = format!("{}{}", if first.starts_with('A') { "B" } else { "A" }, &first[1..]);
        v["arrayValue"]["values"][0]["stringValue"] = Value::String(changed);
        relink(s, seq);
        log.write(d.path(), true);
        let r = run(d.path(), &options(&log, true));
        assert_eq!(errors(&r), vec![Kind::CheckpointMismatch], "{attr}: {:#?}", r.logs);
    }
}

#[test]
fn a_replayed_v2_checkpoint_is_a_checkpoint_mismatch() {
    // An old checkpoint's note moved into a later checkpoint record.
    let d = tempfile::tempdir().unwrap();
    let mut log = two_streams(None, false);
    let first_note = log.checkpoints.values().next().unwrap().note.clone();
    let s = log.stream_mut(A);
    let seq = last_checkpoint_seq(s);
    record_of(s, seq)["body"]["stringValue"] = Value::String(first_note);
    relink(s, seq);
    log.write(d.path(), false);
    let r = run(d.path(), &options(&log, false));
    let k = support::kinds(&r, Severity::Error);
    assert!(k.contains(&(Kind::CheckpointMismatch, Some(seq), None)), "{k:?}");
}

#[test]
fn a_v2_traces_log_verifies_and_an_edit_is_found() {
    let mut b = LogBuilder::new(ORIGIN);
    b.traces = true;
    let log = two_streams_of(b, None, true);
    let d = tempfile::tempdir().unwrap();
    log.write(d.path(), true);
    let r = run(d.path(), &options(&log, true));
    assert_eq!(r.verdict, Verdict::Pass, "{:#?}", r);
    assert_eq!(r.streams[0].signal, auditchain::core::canonical::Signal::Traces);
    assert_eq!(r.logs[0].newest_checkpoint.as_ref().unwrap().quorum, Some(true));
    let mut log = log;
    let s = log.stream_mut(A);
    let span = record_of(s, 3);
    span["name"] = Value::String("audit.read".into());
    relink(s, 3);
    log.write(d.path(), true);
    let r = run(d.path(), &options(&log, true));
    assert_eq!(errors(&r), vec![Kind::CheckpointMismatch], "{:#?}", r.logs);
}

#[test]
fn a_long_log_with_many_checkpoints_verifies() {
    // 600 checkpoints, each cosigned: every rule of the log is linear in
    // them (no pass compares every checkpoint with every other).
    let w = witness(1);
    let w2 = witness(2);
    let mut log = LogBuilder::new(ORIGIN);
    log.start(A);
    for _ in 0..600 {
        log.records(3);
        let n = log.checkpoint();
        log.cosign(n, &[&w, &w2]);
    }
    log.end();
    let d = tempfile::tempdir().unwrap();
    log.write(d.path(), true);
    let t = std::time::Instant::now();
    let r = run(d.path(), &options(&log, true));
    assert_eq!(r.verdict, Verdict::Pass, "{:#?}", r.logs);
    assert_eq!(r.logs[0].checkpoints, 601);
    println!("{} leaves, 601 checkpoints verified in {:?}", log.size(), t.elapsed());
}

/// The `time` line of a checkpoint note.
fn note_time(note: &str) -> u64 {
    note.lines().find_map(|l| l.strip_prefix("time ")).unwrap().parse().unwrap()
}

#[test]
fn a_period_of_the_log_is_anchored_at_its_cosigned_checkpoint_and_still_checked() {
    // A partial copy: A's records before its second checkpoint are gone.
    let d = tempfile::tempdir().unwrap();
    let mut log = two_streams(None, true);
    let (size, anchor) =
        log.checkpoints.iter().filter(|(_, c)| c.stream == A).nth(1).map(|(s, c)| (*s, c.clone())).unwrap();
    let since = note_time(&anchor.note);
    let a = log.stream_mut(A);
    a.requests.retain(|r| {
        support::records(std::slice::from_ref(r)).iter().all(|x| support::sequence_of(x).unwrap() >= anchor.sequence)
    });
    log.write(d.path(), false);
    let r = run(d.path(), &options(&log, true));
    assert!(errors(&r).contains(&Kind::MissingRecords), "{:?}", errors(&r));
    let mut o = options(&log, true);
    o.window.since = Some(since);
    let r = run(d.path(), &o);
    assert_eq!(r.verdict, Verdict::Pass, "{:#?} {:#?}", r.streams, r.logs);
    let w = r.logs[0].window.as_ref().unwrap();
    assert_eq!(w.anchor_size, Some(size));
    assert_eq!(w.cosigned_by.len(), 2, "{w:?}");
    assert!(w.description.contains(", signed and cosigned by "), "{}", w.description);
    assert!(w.description.starts_with(&format!("from the checkpoint at size {size} of ")), "{}", w.description);
    let sa = r.streams.iter().find(|s| s.stream_id == A).unwrap().window.clone().unwrap();
    assert_eq!(
        (sa.anchor.as_str(), sa.size, sa.sequence, sa.log),
        ("checkpoint", Some(size), Some(anchor.sequence), true)
    );
    let sb = r.streams.iter().find(|s| s.stream_id == B).unwrap().window.clone().unwrap();
    assert_eq!(sb.anchor, "start");
    // An edit inside the window, relinked, is found against the carried range.
    let s = log.stream_mut(A);
    let seq = anchor.sequence + 2;
    let body = &mut record_of(s, seq)["body"]["stringValue"];
    *body = Value::String(body.as_str().unwrap().replace("delete", "read") + " (edited)");
    relink(s, seq);
    log.write(d.path(), false);
    let r = run(d.path(), &o);
    assert!(errors(&r).contains(&Kind::CheckpointMismatch), "{:?} {:#?}", errors(&r), r.logs);
    // A window starting before the copy's first checkpoint is unanchored.
    o.window.since = Some(since - 1);
    let r = run(d.path(), &o);
    assert!(errors(&r).contains(&Kind::UnanchoredWindow), "{:?}", errors(&r));
    assert!(
        !errors(&r).contains(&Kind::MissingRecords) && !errors(&r).contains(&Kind::MissingLeaves),
        "{:?}",
        errors(&r)
    );
}

#[test]
fn a_partial_copy_of_one_stream_of_a_log_verifies_from_its_start_with_since() {
    // Both streams' files are there; --stream B and --since A's final
    // checkpoint: B from its start record, the log from B's first leaf.
    let d = tempfile::tempdir().unwrap();
    let log = two_streams(None, true);
    log.write(d.path(), true);
    let end_of_a = log.checkpoints.values().rfind(|c| c.stream == A).unwrap().note.clone();
    let mut o = options(&log, true);
    o.window.streams = vec![B.to_string()];
    let r = run(d.path(), &o);
    assert_eq!(r.streams.len(), 1);
    // Without a start, the log's history before B is required: A's leaves.
    assert!(errors(&r).contains(&Kind::MissingLeaves), "{:?}", errors(&r));
    o.window.since = Some(note_time(&end_of_a));
    let r = run(d.path(), &o);
    assert_eq!(r.verdict, Verdict::Pass, "{:#?} {:#?}", r.streams, r.logs);
    assert_eq!(r.streams[0].window.as_ref().unwrap().anchor, "start");
    assert!(r.logs[0].window.as_ref().unwrap().description.starts_with("not anchored"), "{:?}", r.logs[0].window);
    assert_eq!(log_kinds(&r), vec![(Kind::UnanchoredWindow, Severity::Warning)], "{:#?}", r.logs);
}
