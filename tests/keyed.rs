//! The keyed, forward-secure chain and signed checkpoints against the
//! attacks they exist for, each performed on files the engine really
//! stamped: someone who can rewrite the store, who deletes the newest
//! records, who replays or forges checkpoints, who splices streams, who
//! stole the collector's current state.

mod support;

use auditchain::core::keys;
use auditchain::engine::Engine;
use auditchain::engine::config::{CheckpointConfig, EngineConfig, KeyEpochConfig, LogConfig, StateConfig};
use auditchain::verify::report::{Kind, Report, Severity, Status, Verdict};
use auditchain::verify::{Options, verify};
use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use prost::Message;
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use support::*;

type Keys = KeyFiles;

fn keys(name: &str) -> Keys {
    KeyFiles::new(name)
}

fn config(k: &Keys, state: &Path, checkpoint_file: Option<PathBuf>) -> EngineConfig {
    EngineConfig {
        state: StateConfig { directory: Some(state.to_path_buf()), new_stream: false },
        key_file: Some(k.chain.clone()),
        signing_key_file: Some(k.sign.clone()),
        key_epoch: KeyEpochConfig { records: 4, interval: 60 * SEC },
        checkpoint: CheckpointConfig { interval: 60 * SEC, records: 3, file: checkpoint_file },
        // Version 1 streams (chain-head checkpoints, SPEC §5.3): these
        // tests keep the format that archives already written use.
        log: LogConfig { format_version: 1, ..LogConfig::default() },
        ..EngineConfig::new("keyed-host")
    }
}

/// Runs `batches` batches of 2 records, one second apart, then closes
/// when `close`. Returns the exported requests and the time of the last.
fn run(e: &Engine, t: &mut u64, batches: u64, close: bool) -> Vec<ExportLogsServiceRequest> {
    let mut out = Vec::new();
    for b in 0..batches {
        *t += SEC;
        out.push(deliver(e, request((0..2).map(|i| audit_record(b * 2 + i))), *t));
    }
    if close {
        *t += SEC;
        out.push(close_delivered(e, *t));
    }
    out
}

fn options(k: &[&Keys], as_of: u64) -> Options {
    Options {
        chain_keys: k.iter().map(|k| keys::load_chain_key(&k.chain, "--key").unwrap()).collect(),
        verifiers: k.iter().map(|k| keys::load_verifier_key(&k.public).unwrap()).collect(),
        as_of_unix_nano: as_of,
        max_delay_ns: 10 * SEC,
        ..Options::default()
    }
}

fn seq(r: &Value) -> u64 {
    sequence_of(r).unwrap()
}

/// Writes the given records as one request (their resource and scope do
/// not matter to these tests... except that they are part of the hash, so
/// they are rebuilt from the original requests instead).
fn write_records(dir: &Path, original: &[Value], keep: impl Fn(&Value) -> Option<Value>) {
    let mut out = Vec::new();
    for line in original {
        let mut line = line.clone();
        for rl in line["resourceLogs"].as_array_mut().unwrap() {
            for sl in rl["scopeLogs"].as_array_mut().unwrap() {
                let recs: Vec<Value> = sl["logRecords"].as_array().unwrap().iter().filter_map(&keep).collect();
                sl["logRecords"] = Value::Array(recs);
            }
        }
        out.push(line);
    }
    write_lines(dir, "audit.jsonl", &out);
}

struct Scenario {
    keys: Keys,
    _state: tempfile::TempDir,
    out: tempfile::TempDir,
    lines: Vec<Value>,
    t_end: u64,
}

/// A keyed, signed stream of 10 batches, closed cleanly.
fn scenario() -> Scenario {
    let k = keys("ops");
    let state = tempfile::tempdir().unwrap();
    let mut t = T0;
    let e = Engine::new(config(&k, state.path(), None), t).unwrap();
    let reqs = run(&e, &mut t, 10, true);
    Scenario { keys: k, _state: state, out: tempfile::tempdir().unwrap(), lines: lines(&reqs), t_end: t }
}

impl Scenario {
    fn verify(&self, as_of: u64) -> Report {
        verify(&[self.out.path().to_path_buf()], &options(&[&self.keys], as_of))
    }
}

#[test]
fn a_clean_keyed_stream_verifies_with_its_keys_and_fails_without() {
    let s = scenario();
    write_lines(s.out.path(), "audit.jsonl", &s.lines);
    let r = s.verify(s.t_end + 3600 * SEC);
    assert_eq!(r.verdict, Verdict::Pass, "{:#?}", r.streams[0].findings);
    let st = &r.streams[0];
    assert_eq!(st.algorithm.as_deref(), Some("hmac-sha256-chain-v1"));
    assert!(st.ended && st.checkpoints >= 5, "{} checkpoints", st.checkpoints);
    assert_eq!(st.anchored_through, st.last_sequence - 1, "the final checkpoint covers everything before it");
    let epochs: Vec<u64> = records(&s.lines)
        .iter()
        .filter_map(|r| attr(r, "audit.integrity.key_epoch").map(|v| v["intValue"].as_str().unwrap().parse().unwrap()))
        .collect();
    assert!(epochs.iter().max().unwrap() >= &5, "keys evolved: {epochs:?}");
    // Without the keys nothing can vouch for it: never a pass.
    let r = verify(&[s.out.path().to_path_buf()], &Options { as_of_unix_nano: s.t_end, ..Options::default() });
    assert_eq!(r.status(), Status::Failed);
    assert!(error_kinds(&r).contains(&Kind::KeyRequired), "{:?}", error_kinds(&r));
}

#[test]
fn truncating_the_newest_records_is_detected_by_the_heartbeat() {
    let s = scenario();
    // Drop the last 5 records: the end record (the final checkpoint) and
    // the newest regular checkpoint among them.
    let all = records(&s.lines);
    let last = all.iter().map(seq).max().unwrap();
    write_records(s.out.path(), &s.lines, |r| (seq(r) <= last - 5).then(|| r.clone()));
    let r = s.verify(s.t_end + 120 * SEC);
    assert_eq!(r.status(), Status::Failed);
    let st = &r.streams[0];
    assert!(!st.ended);
    assert!(error_kinds(&r).contains(&Kind::HeartbeatMissing), "{:?}", error_kinds(&r));
    // Checked right after the files were written, the cut is not yet
    // visible as a missed heartbeat: the newest records are just unanchored.
    let r = s.verify(st.newest_checkpoint.as_deref().map(|_| s.t_end).unwrap());
    assert_eq!(r.verdict, Verdict::Pass, "{:?}", error_kinds(&r));
}

#[test]
fn rewriting_a_record_and_recomputing_every_later_hash_is_detected() {
    let s = scenario();
    let mut l = s.lines.clone();
    for line in &mut l {
        for rl in line["resourceLogs"].as_array_mut().unwrap() {
            for sl in rl["scopeLogs"].as_array_mut().unwrap() {
                for r in sl["logRecords"].as_array_mut().unwrap() {
                    if seq(r) == 5 {
                        r["body"] = json!({"stringValue": "{\"actor\":\"nobody\"}"});
                    }
                }
            }
        }
    }
    recompute_plain_links(&mut l, 5);
    write_lines(s.out.path(), "audit.jsonl", &l);
    let r = s.verify(s.t_end);
    assert_eq!(r.status(), Status::Failed);
    let e = error_kinds(&r);
    // The recomputed links are internally consistent, but they are not the
    // stream's algorithm (a downgrade, SPEC §8.1), and every signed
    // checkpoint after record 5 signs the original hashes.
    assert!(e.contains(&Kind::Downgrade), "{e:?}");
    assert!(!e.contains(&Kind::MalformedStamp), "{e:?}");
    assert!(e.contains(&Kind::CheckpointMismatch), "{e:?}");
    assert!(!e.contains(&Kind::BrokenLink), "the attacker's links are consistent: {e:?}");

    // The same attack on an unkeyed stream with signed checkpoints: the
    // checkpoints still catch it.
    let k = keys("ops");
    let state = tempfile::tempdir().unwrap();
    let mut t = T0;
    let cfg = EngineConfig { key_file: None, ..config(&k, state.path(), None) };
    let mut l = lines(&run(&Engine::new(cfg, t).unwrap(), &mut t, 6, true));
    recompute_plain_links(&mut l, 5);
    write_lines(s.out.path(), "audit.jsonl", &l);
    let mut opts = options(&[&k], t);
    opts.chain_keys.clear();
    let r = verify(&[s.out.path().to_path_buf()], &opts);
    assert_eq!(error_kinds(&r), vec![], "recomputing unchanged records changes nothing");
    for line in &mut l {
        for rl in line["resourceLogs"].as_array_mut().unwrap() {
            for sl in rl["scopeLogs"].as_array_mut().unwrap() {
                for r in sl["logRecords"].as_array_mut().unwrap() {
                    if seq(r) == 5 {
                        r["body"] = json!({"stringValue": "rewritten"});
                    }
                }
            }
        }
    }
    recompute_plain_links(&mut l, 5);
    write_lines(s.out.path(), "audit.jsonl", &l);
    let r = verify(&[s.out.path().to_path_buf()], &opts);
    assert_eq!(error_kinds(&r), vec![Kind::CheckpointMismatch], "only the checkpoints can tell");
}

#[test]
fn a_replayed_old_checkpoint_is_detected() {
    let s = scenario();
    let all = records(&s.lines);
    let old = all.iter().find(|r| event(r) == Some("checkpoint")).unwrap().clone();
    let target = all.iter().filter(|r| event(r) == Some("checkpoint")).nth(3).map(seq).unwrap();
    write_records(s.out.path(), &s.lines, |r| {
        if seq(r) == target {
            // Put the old checkpoint in place of a newer one.
            let mut replay = old.clone();
            *attr_mut(&mut replay, "audit.sequence.number") = json!({"intValue": target.to_string()});
            Some(replay)
        } else {
            Some(r.clone())
        }
    });
    let r = s.verify(s.t_end);
    let e = error_kinds(&r);
    assert!(e.contains(&Kind::CheckpointMismatch), "{e:?}");
    assert!(e.contains(&Kind::ContentMismatch), "{e:?}");
}

#[test]
fn a_forged_checkpoint_is_detected() {
    let s = scenario();
    let target = records(&s.lines).iter().filter(|r| event(r) == Some("checkpoint")).nth(2).map(seq).unwrap();
    write_records(s.out.path(), &s.lines, |r| {
        let mut r = r.clone();
        if seq(&r) == target {
            let note = r["body"]["stringValue"].as_str().unwrap().to_string();
            let mut lines: Vec<&str> = note.split('\n').collect();
            let bumped = (lines[1].parse::<u64>().unwrap() + 1).to_string();
            lines[1] = &bumped;
            r["body"] = json!({"stringValue": lines.join("\n")});
        }
        Some(r)
    });
    let r = s.verify(s.t_end);
    let e = error_kinds(&r);
    assert!(e.contains(&Kind::BadCheckpoint), "{e:?}");
}

#[test]
fn two_spliced_streams_are_detected() {
    let s = scenario();
    // A second collector with the same keys writes its own stream.
    let state = tempfile::tempdir().unwrap();
    let mut t = T0;
    let cfg = EngineConfig { stream_name: "other-host".into(), ..config(&s.keys, state.path(), None) };
    let other = lines(&run(&Engine::new(cfg, t).unwrap(), &mut t, 4, true));
    let our_id = attr(&records(&s.lines)[0], "audit.sequence.stream_id").unwrap().clone();
    // Splice: the other stream's records 3..6 replace ours, relabelled.
    let theirs: Vec<Value> = records(&other).into_iter().filter(|r| (3..=6).contains(&seq(r))).collect();
    write_records(s.out.path(), &s.lines, |r| {
        if (3..=6).contains(&seq(r)) {
            let mut x = theirs.iter().find(|t| seq(t) == seq(r)).unwrap().clone();
            *attr_mut(&mut x, "audit.sequence.stream_id") = our_id.clone();
            Some(x)
        } else {
            Some(r.clone())
        }
    });
    let r = s.verify(s.t_end);
    assert_eq!(r.status(), Status::Failed);
    let e = error_kinds(&r);
    assert!(e.contains(&Kind::ContentMismatch), "{e:?}");
}

#[test]
fn a_thief_of_the_current_state_cannot_forge_earlier_records() {
    let k = keys("ops");
    let state = tempfile::tempdir().unwrap();
    let mut t = T0;
    let e = Engine::new(config(&k, state.path(), None), t).unwrap();
    let reqs = run(&e, &mut t, 10, false);
    // The thief reads the live state: the current epoch and its key.
    let file = std::fs::read_to_string(state.path().join("keyed-host/state.json")).unwrap();
    let doc: Value = serde_json::from_str(&file).unwrap();
    let epoch = doc["state"]["key"]["epoch"].as_u64().unwrap();
    let stolen = auditchain::core::hex::from_hex(doc["state"]["key"]["key"].as_str().unwrap()).unwrap();
    assert!(epoch >= 4, "epoch {epoch}");
    drop(e);
    let out = tempfile::tempdir().unwrap();
    let l = lines(&reqs);
    let stream_id =
        attr(&records(&l)[0], "audit.sequence.stream_id").unwrap()["stringValue"].as_str().unwrap().to_string();
    // Forge record 3 (an early epoch): new content, link computed with the
    // stolen key, labelled either with its true epoch or the stolen one.
    for relabel in [false, true] {
        write_records(out.path(), &l, |r| {
            let mut r = r.clone();
            if seq(&r) == 3 {
                r["body"] = json!({"stringValue": "forged"});
                let rec_hash = {
                    let mut stripped = r.clone();
                    stripped["attributes"].as_array_mut().unwrap().retain(|kv| {
                        !kv["key"].as_str().unwrap().starts_with("audit.sequence.")
                            && !kv["key"].as_str().unwrap().starts_with("audit.integrity.")
                    });
                    let req = json!({"resourceLogs":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"audit.service"}}]},"scopeLogs":[{"scope":{"name":"audit.service"},"logRecords":[stripped]}]}]});
                    let c = auditchain::core::canonical::log_records_from_json(&req).unwrap();
                    <sha2::Sha256 as sha2::Digest>::digest(&c[0])
                };
                let prev = auditchain::core::hex::from_hex(
                    attr(&r, "audit.sequence.previous_hash").unwrap()["stringValue"].as_str().unwrap(),
                )
                .unwrap();
                let true_epoch: u64 =
                    attr(&r, "audit.integrity.key_epoch").unwrap()["intValue"].as_str().unwrap().parse().unwrap();
                let label = if relabel { epoch } else { true_epoch };
                let link = auditchain::core::chain::Link {
                    stream_id: &stream_id,
                    sequence: 3,
                    key_epoch: label,
                    end: false,
                    previous: Some(&prev),
                    record_hash: &rec_hash.into(),
                };
                *attr_mut(&mut r, "audit.integrity.value") =
                    json!({"stringValue": auditchain::core::hex::to_hex(&link.hmac(&stolen))});
                *attr_mut(&mut r, "audit.integrity.key_epoch") = json!({"intValue": label.to_string()});
            }
            Some(r)
        });
        let r = verify(&[out.path().to_path_buf()], &options(&[&k], t));
        let e = error_kinds(&r);
        let expected = if relabel { Kind::KeyEpochOutOfOrder } else { Kind::ContentMismatch };
        assert!(e.contains(&expected), "relabel={relabel}: {e:?}");
    }
}

#[test]
fn a_rotated_signing_key_verifies_by_key_id_in_one_run() {
    let k1 = keys("ops-2026a");
    let k2 = keys("ops-2026b");
    let state = tempfile::tempdir().unwrap();
    let out = tempfile::tempdir().unwrap();
    let mut t = T0;
    let first = run(&Engine::new(config(&k1, state.path(), None), t).unwrap(), &mut t, 3, true);
    // Restart with a new signing key (the chain key stays).
    let cfg = EngineConfig { signing_key_file: Some(k2.sign.clone()), ..config(&k1, state.path(), None) };
    let second = run(&Engine::new(cfg, t).unwrap(), &mut t, 3, true);
    std::fs::write(out.path().join("a.jsonl"), json_lines(&first)).unwrap();
    std::fs::write(out.path().join("b.jsonl"), json_lines(&second)).unwrap();
    let mut opts = options(&[&k1], t);
    opts.verifiers.push(keys::load_verifier_key(&k2.public).unwrap());
    let r = verify(&[out.path().to_path_buf()], &opts);
    assert_eq!(r.verdict, Verdict::Pass, "{:?}", error_kinds(&r));
    assert_eq!(r.streams.len(), 2);
    // With only the old key, the new stream's checkpoints are unknown.
    let r = verify(&[out.path().to_path_buf()], &options(&[&k1], t));
    assert!(error_kinds(&r).contains(&Kind::UnknownSigner), "{:?}", error_kinds(&r));
}

#[test]
fn the_checkpoint_file_reveals_a_truncated_tail() {
    let k = keys("ops");
    let state = tempfile::tempdir().unwrap();
    let store = tempfile::tempdir().unwrap();
    let cp_file = store.path().join("checkpoints.jsonl");
    let mut t = T0;
    let e = Engine::new(config(&k, state.path(), Some(cp_file.clone())), t).unwrap();
    let reqs = run(&e, &mut t, 6, false);
    let text = std::fs::read_to_string(&cp_file).unwrap();
    assert_eq!(text.lines().count(), 3, "{text}");
    let out = tempfile::tempdir().unwrap();
    let l = lines(&reqs);
    // The bucket loses its newest 4 records, checkpoint included; the
    // separate checkpoint store still has that checkpoint.
    let last = records(&l).iter().map(seq).max().unwrap();
    write_records(out.path(), &l, |r| (seq(r) + 4 <= last).then(|| r.clone()));
    std::fs::copy(&cp_file, out.path().join("checkpoints.jsonl")).unwrap();
    let r = verify(&[out.path().to_path_buf()], &options(&[&k], t));
    assert_eq!(r.status(), Status::Failed);
    let st = &r.streams[0];
    // Records 13.. are gone; the checkpoint at 14 (covering 13) survives in
    // the separate store, so records 13 and 14 are known to be missing.
    assert_eq!(st.missing, vec![[last - 3, last - 2]], "{:?}", st.missing);
    assert!(error_kinds(&r).contains(&Kind::MissingRecords), "{:?}", error_kinds(&r));
}

#[test]
fn keys_are_refused_when_missing_or_readable_by_others() {
    let k = keys("ops");
    let state = tempfile::tempdir().unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&k.sign, std::fs::Permissions::from_mode(0o644)).unwrap();
    let e = Engine::new(config(&k, state.path(), None), T0).err().unwrap();
    assert_eq!(e.kind, auditchain::engine::error::ErrorKind::Key);
    assert!(e.message.starts_with("signing_key_file:") && e.message.contains("chmod 600"), "{}", e.message);
    std::fs::set_permissions(&k.sign, std::fs::Permissions::from_mode(0o600)).unwrap();
    let cfg = EngineConfig { key_file: Some(k.chain.with_extension("missing")), ..config(&k, state.path(), None) };
    let e = Engine::new(cfg, T0).err().unwrap();
    assert!(e.message.starts_with("key_file: cannot read"), "{}", e.message);
    // Once the keyed stream exists, the chain key can leave the host: a
    // restart resumes from the evolved key in the state.
    let mut t = T0;
    let e = Engine::new(config(&k, state.path(), None), t).unwrap();
    run(&e, &mut t, 1, false);
    drop(e);
    std::fs::remove_file(&k.chain).unwrap();
    assert!(Engine::new(config(&k, state.path(), None), t).is_ok());
}

#[test]
fn a_plain_stream_fails_when_signed_checkpoints_are_expected() {
    let k = keys("ops");
    let out = tempfile::tempdir().unwrap();
    let e = Engine::new(EngineConfig::new("plain-host"), T0).unwrap();
    let mut t = T0;
    std::fs::write(out.path().join("a.jsonl"), json_lines(&run(&e, &mut t, 2, true))).unwrap();
    let r = verify(&[out.path().to_path_buf()], &options(&[&k], t));
    let e = error_kinds(&r);
    assert!(e.contains(&Kind::NoCheckpoint) && e.contains(&Kind::UnkeyedStream), "{e:?}");
}

#[test]
fn checkpoint_lines_survive_an_unwritable_file_and_a_restart() {
    let k = keys("ops");
    let state = tempfile::tempdir().unwrap();
    let store = tempfile::tempdir().unwrap();
    let cp_file = store.path().join("checkpoints.jsonl");
    let mut t = T0;
    let e = Engine::new(config(&k, state.path(), Some(cp_file.clone())), t).unwrap();
    // The file becomes unwritable while the collector runs (a directory in
    // its place; a missing directory is refused at start).
    std::fs::remove_file(&cp_file).unwrap();
    std::fs::create_dir(&cp_file).unwrap();
    t += SEC;
    let req = request([audit_record(1), audit_record(2), audit_record(3)]);
    let stamps = e.stamp_logs(&req.encode_to_vec(), t).unwrap();
    let w = stamps.warning.clone().expect("the failed append is reported");
    assert!(w.starts_with("checkpoint.file: cannot append") && w.contains("kept in the stream state"), "{w}");
    // Closing fails to append too; the lines wait in the saved state.
    t += SEC;
    assert!(e.close(t).unwrap().warning.is_some());
    drop(e);
    std::fs::remove_dir(&cp_file).unwrap();
    let e = Engine::new(config(&k, state.path(), Some(cp_file.clone())), t).unwrap();
    let stamps = e.tick(t).unwrap();
    assert!(stamps.warning.is_none(), "{:?}", stamps.warning);
    let lines: Vec<Value> =
        std::fs::read_to_string(&cp_file).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    // The checkpoint after the batch, and the final one at close.
    assert_eq!(lines.len(), 2, "{lines:?}");
    assert!(lines.iter().all(|l| l["note"].as_str().unwrap().contains("\ninterval 60\n")));
}

#[test]
fn checkpoint_intervals_are_announced_in_whole_seconds_rounded_up() {
    let k = keys("ops");
    let state = tempfile::tempdir().unwrap();
    let mut cfg = config(&k, state.path(), None);
    cfg.checkpoint.interval = 1_500_000_000;
    let e = Engine::new(cfg, T0).unwrap();
    let stamps = e.close(T0 + SEC).unwrap();
    let req = extra_only(&stamps);
    let l = request_json(&req);
    let rec = records(&[l]).pop().unwrap();
    assert!(rec["body"]["stringValue"].as_str().unwrap().contains("\ninterval 2\n"));
}

#[test]
fn a_different_chain_key_on_a_continuing_lineage_is_reported_not_silently_ignored() {
    let k = keys("ops");
    let other = keys("rotated");
    let state = tempfile::tempdir().unwrap();
    let mut t = T0;
    run(&Engine::new(config(&k, state.path(), None), t).unwrap(), &mut t, 1, true);
    let cfg = EngineConfig { key_file: Some(other.chain.clone()), ..config(&k, state.path(), None) };
    let e = Engine::new(cfg, t).unwrap();
    let w = e.tick(t).unwrap().warning.expect("a warning");
    assert!(
        w.starts_with("key_file:") && w.contains("takes effect only when a stream starts without a keyed predecessor"),
        "{w}"
    );
}

// ---- Issue 8 and 13: keys without a start record, bounds, expectations ----

/// The record hash of record `n` as the verifier computes it.
fn record_hash_of(lines: &[Value], n: u64) -> [u8; 32] {
    use sha2::Digest;
    for line in lines {
        let canon = auditchain::core::canonical::log_records_from_json(line).unwrap();
        let recs = records(std::slice::from_ref(line));
        if let Some(i) = recs.iter().position(|r| seq(r) == n) {
            return sha2::Sha256::digest(&canon[i]).into();
        }
    }
    panic!("no record {n}");
}

fn stream_id_of(lines: &[Value]) -> String {
    attr(&records(lines)[0], "audit.sequence.stream_id").unwrap()["stringValue"].as_str().unwrap().to_string()
}

fn without(lines: &[Value], gone: impl Fn(u64) -> bool) -> Vec<Value> {
    let mut out = lines.to_vec();
    for line in &mut out {
        for rl in line["resourceLogs"].as_array_mut().unwrap() {
            for sl in rl["scopeLogs"].as_array_mut().unwrap() {
                sl["logRecords"].as_array_mut().unwrap().retain(|r| !gone(seq(r)));
            }
        }
    }
    out
}

fn edit_body(lines: &mut [Value], n: u64) {
    record_mut(lines, n)["body"] = json!({"stringValue": "edited"});
}

#[test]
fn a_keyed_stream_whose_start_record_was_deleted_is_still_checked() {
    let s = scenario();
    let mut l = without(&s.lines, |n| n == 1);
    write_lines(s.out.path(), "audit.jsonl", &l);
    let r = s.verify(s.t_end);
    // Before: key_required, and nothing else of the stream was checked.
    assert_eq!(error_kinds(&r), vec![Kind::MissingRecords], "{:#?}", r.streams[0].findings);
    assert_eq!(r.streams[0].missing, vec![[1, 1]]);
    assert_eq!(
        r.streams[0].chain_key_id.as_deref(),
        Some(keys::load_chain_key(&s.keys.chain, "k").unwrap().id().as_str())
    );
    assert!(r.streams[0].findings.iter().any(|f| f.message.contains("derived from the chain key and its stream id")));
    edit_body(&mut l, 6);
    write_lines(s.out.path(), "audit.jsonl", &l);
    let r = s.verify(s.t_end);
    assert!(
        kinds(&r, Severity::Error).contains(&(Kind::ContentMismatch, Some(6), None)),
        "{:?}",
        kinds(&r, Severity::Error)
    );
}

/// Three streams of one collector, each ended cleanly and succeeded.
fn three_generations(k: &Keys) -> (Vec<Vec<Value>>, u64) {
    let state = tempfile::tempdir().unwrap();
    let mut t = T0;
    let mut out = Vec::new();
    for _ in 0..3 {
        let e = Engine::new(config(k, state.path(), None), t).unwrap();
        out.push(lines(&run(&e, &mut t, 4, true)));
    }
    (out, t)
}

#[test]
fn a_successor_whose_start_record_was_deleted_is_checked_with_the_next_ones_lineage() {
    let k = keys("ops");
    let (g, t) = three_generations(&k);
    let out = tempfile::tempdir().unwrap();
    let mut middle = without(&g[1], |n| n == 1);
    let plain = records(&middle).iter().find(|r| event(r).is_none()).map(seq).unwrap();
    edit_body(&mut middle, plain);
    write_lines(out.path(), "a.jsonl", &g[0]);
    write_lines(out.path(), "b.jsonl", &middle);
    write_lines(out.path(), "c.jsonl", &g[2]);
    let r = verify(&[out.path().to_path_buf()], &options(&[&k], t));
    let middle_id = stream_id_of(&g[1]);
    let st = r.streams.iter().find(|s| s.stream_id == middle_id).unwrap();
    let errors: Vec<Kind> = st.findings.iter().filter(|f| f.severity == Severity::Error).map(|f| f.kind).collect();
    // Its key derives from the lineage its successor's start record gives.
    assert_eq!(errors, vec![Kind::MissingRecords, Kind::ContentMismatch], "{:#?}", st.findings);
    assert!(st.findings.iter().any(|f| f.message.contains("the key lineage its successor records")));
}

/// Runs `verify` in a thread, failing when it does not end in 5 minutes.
fn verify_bounded(dir: &Path, options: Options) -> Report {
    let (tx, rx) = std::sync::mpsc::channel();
    let dir = dir.to_path_buf();
    std::thread::spawn(move || tx.send(verify(&[dir], &options)).unwrap());
    rx.recv_timeout(std::time::Duration::from_secs(300)).expect("verify --key must not hang")
}

#[test]
fn an_absurd_key_epoch_or_lineage_step_costs_a_finding_not_a_hang() {
    let s = scenario();
    // A key epoch of 10^12 on record 4.
    let mut l = s.lines.clone();
    *attr_mut(record_mut(&mut l, 4), "audit.integrity.key_epoch") = json!({"intValue": "1000000000000"});
    write_lines(s.out.path(), "audit.jsonl", &l);
    let r = verify_bounded(s.out.path(), options(&[&s.keys], s.t_end));
    assert!(
        kinds(&r, Severity::Error).contains(&(Kind::KeyEpochOutOfOrder, Some(4), None)),
        "{:?}",
        kinds(&r, Severity::Error)
    );
    // And numbered 2·10^12, so that the epoch rule alone allows it: the
    // derivation bound refuses it.
    *attr_mut(record_mut(&mut l, 4), "audit.sequence.number") = json!({"intValue": "2000000000000"});
    write_lines(s.out.path(), "audit.jsonl", &l);
    let r = verify_bounded(s.out.path(), options(&[&s.keys], s.t_end));
    let f = r.streams[0].findings.iter().find(|f| f.kind == Kind::KeyEpochOutOfOrder).expect("reported");
    assert_eq!(f.first, Some(2_000_000_000_000), "{:#?}", r.streams[0].findings);
    assert!(f.message.contains("beyond what the stream justifies"), "{}", f.message);
    // A lineage step "1000000000000:<id>" in a successor's start record.
    let k = keys("ops");
    let (g, t) = three_generations(&k);
    let out = tempfile::tempdir().unwrap();
    let mut second = g[1].clone();
    let lineage = attr_mut(record_mut(&mut second, 1), "audit.stream.key_lineage");
    let id = stream_id_of(&g[1]);
    lineage["arrayValue"]["values"][1] = json!({"stringValue": format!("1000000000000:{id}")});
    write_lines(out.path(), "b.jsonl", &second);
    let r = verify_bounded(out.path(), options(&[&k], t));
    let f = r.streams[0].findings.iter().find(|f| f.kind == Kind::KeyEpochOutOfOrder).expect("reported");
    assert_eq!(f.sequence, Some(1));
    assert!(f.message.contains("it would take 1000000000000 key derivations"), "{}", f.message);
}

#[test]
fn a_stream_starts_in_epoch_0() {
    let s = scenario();
    let mut l = s.lines.clone();
    // Record 1 relinked by the key holder in epoch 1: its link verifies,
    // but a stream starts in epoch 0.
    let id = stream_id_of(&l);
    let ck = keys::load_chain_key(&s.keys.chain, "k").unwrap();
    let k1 = auditchain::core::chain::evolve_key(&auditchain::core::chain::root_stream_key(ck.secret(), &id), 1);
    let rh = record_hash_of(&l, 1);
    let link = auditchain::core::chain::Link {
        stream_id: &id,
        sequence: 1,
        key_epoch: 1,
        end: false,
        previous: None,
        record_hash: &rh,
    };
    let rec = record_mut(&mut l, 1);
    *attr_mut(rec, "audit.integrity.key_epoch") = json!({"intValue": "1"});
    *attr_mut(rec, "audit.integrity.value") = json!({"stringValue": auditchain::core::hex::to_hex(&link.hmac(&k1))});
    write_lines(s.out.path(), "audit.jsonl", &l);
    let r = s.verify(s.t_end);
    let f = r.streams[0].findings.iter().find(|f| f.kind == Kind::KeyEpochOutOfOrder).expect("reported");
    assert_eq!(f.sequence, Some(1));
    assert!(f.message.contains("a stream starts in epoch 0"), "{}", f.message);
}

#[test]
fn a_forged_plain_announcement_does_not_excuse_deleted_records() {
    let s = scenario();
    // Records 5 and 6 deleted; record 7 rewritten as a gap record that
    // announces them, linked with the public unkeyed algorithm.
    let mut l = without(&s.lines, |n| n == 5 || n == 6);
    let rec = record_mut(&mut l, 7);
    let attrs = rec["attributes"].as_array_mut().unwrap();
    attrs.push(json!({"key": "audit.stream.event", "value": {"stringValue": "gap"}}));
    attrs.push(
        json!({"key": "audit.stream.unconfirmed", "value": {"arrayValue": {"values": [{"stringValue": "5-6"}]}}}),
    );
    recompute_plain_links(&mut l, 7);
    write_lines(s.out.path(), "audit.jsonl", &l);
    let r = s.verify(s.t_end);
    let missing = r.streams[0].findings.iter().find(|f| f.kind == Kind::MissingRecords).unwrap();
    // Before: a warning, "as announced by record 7".
    assert_eq!(
        (missing.severity, missing.first, missing.last),
        (Severity::Error, Some(5), Some(6)),
        "{}",
        missing.message
    );
    assert!(error_kinds(&r).contains(&Kind::Downgrade));
}

#[test]
fn a_stream_known_only_from_checkpoint_lines_is_not_called_unkeyed() {
    let k = keys("ops");
    let state = tempfile::tempdir().unwrap();
    let store = tempfile::tempdir().unwrap();
    let cp_file = store.path().join("checkpoints.jsonl");
    let mut t = T0;
    let e = Engine::new(config(&k, state.path(), Some(cp_file.clone())), t).unwrap();
    run(&e, &mut t, 6, false);
    // Every record deleted; the separate checkpoint store is intact.
    let out = tempfile::tempdir().unwrap();
    std::fs::copy(&cp_file, out.path().join("checkpoints.jsonl")).unwrap();
    let r = verify(&[out.path().to_path_buf()], &options(&[&k], t));
    let st = &r.streams[0];
    // Before: unkeyed_stream ("this stream is not keyed") and plain_chain.
    assert_eq!(st.algorithm, None);
    assert_eq!(error_kinds(&r), vec![Kind::MissingRecords], "{:#?}", st.findings);
    assert!(!st.findings.iter().any(|f| matches!(f.kind, Kind::UnkeyedStream | Kind::PlainChain)));
    let carriers = std::fs::read_to_string(&cp_file)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap()["sequence"].as_u64().unwrap())
        .max();
    assert_eq!((st.last_present, Some(st.last_sequence)), (0, carriers));
}

#[test]
fn a_clean_end_proven_by_the_checkpoint_file_is_reported_as_a_cut_tail() {
    let k = keys("ops");
    let state = tempfile::tempdir().unwrap();
    let store = tempfile::tempdir().unwrap();
    let cp_file = store.path().join("checkpoints.jsonl");
    let mut t = T0;
    let e = Engine::new(config(&k, state.path(), Some(cp_file.clone())), t).unwrap();
    let l = lines(&run(&e, &mut t, 6, true));
    let last = records(&l).iter().map(seq).max().unwrap();
    let final_line: Value =
        serde_json::from_str(std::fs::read_to_string(&cp_file).unwrap().lines().last().unwrap()).unwrap();
    assert_eq!((final_line["sequence"].as_u64(), &final_line["end"]), (Some(last), &json!(true)));
    let out = tempfile::tempdir().unwrap();
    write_lines(out.path(), "audit.jsonl", &without(&l, |n| n + 3 > last));
    std::fs::copy(&cp_file, out.path().join("checkpoints.jsonl")).unwrap();
    let r = verify(&[out.path().to_path_buf()], &options(&[&k], t + 7 * 24 * 3600 * SEC));
    let st = &r.streams[0];
    // Before: heartbeat_missing, "or the collector stopped without a clean
    // shutdown", a week later.
    assert!(st.ended);
    assert_eq!(error_kinds(&r), vec![Kind::MissingRecords], "{:#?}", st.findings);
    let f = st.findings.iter().find(|f| f.kind == Kind::MissingRecords).unwrap();
    assert_eq!((f.first, f.last), (Some(last - 2), Some(last)));
    assert!(f.message.contains("which ended cleanly at record"), "{}", f.message);
}

#[test]
fn identical_checkpoint_lines_count_once_and_no_public_key_is_key_required_only() {
    let k = keys("ops");
    let state = tempfile::tempdir().unwrap();
    let store = tempfile::tempdir().unwrap();
    let cp_file = store.path().join("checkpoints.jsonl");
    let mut t = T0;
    let e = Engine::new(config(&k, state.path(), Some(cp_file.clone())), t).unwrap();
    let l = lines(&run(&e, &mut t, 6, true));
    let out = tempfile::tempdir().unwrap();
    write_lines(out.path(), "audit.jsonl", &l);
    // A restart can append a line twice.
    let text = std::fs::read_to_string(&cp_file).unwrap();
    let first = text.lines().next().unwrap();
    std::fs::write(out.path().join("checkpoints.jsonl"), format!("{text}{first}\n")).unwrap();
    let r = verify(&[out.path().to_path_buf()], &options(&[&k], t));
    assert_eq!(r.verdict, Verdict::Pass, "{:?}", error_kinds(&r));
    let in_band = records(&l).iter().filter(|r| event(r) == Some("checkpoint")).count() as u64;
    assert_eq!(r.streams[0].checkpoints, in_band, "in band and in the file: each once");
    // Without --public-key: the checkpoints cannot be checked, which is
    // key_required, not no_checkpoint (SPEC §8.7).
    let mut opts = options(&[&k], t);
    opts.verifiers.clear();
    let r = verify(&[out.path().to_path_buf()], &opts);
    assert_eq!(error_kinds(&r), vec![Kind::KeyRequired]);
}

#[test]
fn a_keyed_stream_in_a_symlinked_directory_is_verified() {
    let s = scenario();
    let elsewhere = tempfile::tempdir().unwrap();
    write_lines(elsewhere.path(), "audit.jsonl", &s.lines);
    std::os::unix::fs::symlink(elsewhere.path(), s.out.path().join("bucket")).unwrap();
    let r = s.verify(s.t_end);
    // Before: skipped silently ("no log records found").
    assert_eq!(r.verdict, Verdict::Pass, "{:?} {:?}", error_kinds(&r), r.errors);
    assert_eq!(r.streams.len(), 1);
    let mut l = s.lines.clone();
    edit_body(&mut l, 5);
    write_lines(elsewhere.path(), "audit.jsonl", &l);
    assert_eq!(error_kinds(&s.verify(s.t_end)), vec![Kind::ContentMismatch]);
}

#[test]
fn an_as_of_before_the_newest_checkpoint_is_not_a_pass() {
    let s = scenario();
    write_lines(s.out.path(), "audit.jsonl", &s.lines);
    let r = s.verify(0);
    // Before: pass, silently.
    assert_eq!(r.verdict, Verdict::Incomplete);
    assert_eq!(r.errors[0].file, "--as-of");
    assert!(
        r.errors[0].message.starts_with("1970-01-01T00:00:00Z is before the newest checkpoint"),
        "{}",
        r.errors[0].message
    );
}

// ---- Item 13.5: a whole stream deleted ----

/// A replica named `name` with its own state and checkpoint file in
/// `store`, running `batches` batches and closing when `close`.
fn replica(k: &Keys, name: &str, state: &Path, store: &Path, t: &mut u64, batches: u64, close: bool) -> Vec<Value> {
    let cfg = EngineConfig {
        stream_name: name.into(),
        ..config(k, state, Some(store.join(format!("{name}.checkpoints.jsonl"))))
    };
    lines(&run(&Engine::new(cfg, *t).unwrap(), t, batches, close))
}

fn expecting(k: &Keys, as_of: u64, names: &[&str], retired: &[&str]) -> Options {
    Options {
        expected_names: names.iter().map(|s| s.to_string()).collect(),
        retired: retired.iter().map(|s| s.to_string()).collect(),
        ..options(&[k], as_of)
    }
}

#[test]
fn a_replicas_stream_deleted_with_its_checkpoint_lines_is_found_missing_when_expected() {
    let k = keys("ops");
    let (sa, sb) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let store = tempfile::tempdir().unwrap();
    let mut t = T0;
    let a = replica(&k, "replica-a", sa.path(), store.path(), &mut t, 4, false);
    let mut tb = T0;
    replica(&k, "replica-b", sb.path(), store.path(), &mut tb, 4, false);
    // The bucket keeps replica-a only, and so does the checkpoint store.
    let out = tempfile::tempdir().unwrap();
    write_lines(out.path(), "a.jsonl", &a);
    std::fs::copy(store.path().join("replica-a.checkpoints.jsonl"), out.path().join("a.checkpoints.jsonl")).unwrap();
    let r = verify(&[out.path().to_path_buf()], &options(&[&k], t));
    assert_eq!(r.verdict, Verdict::Pass, "without expectations nothing tells: {:?}", error_kinds(&r));
    let r = verify(&[out.path().to_path_buf()], &expecting(&k, t, &["replica-a", "replica-b"], &[]));
    assert_eq!(error_kinds(&r), vec![Kind::ExpectedStreamMissing]);
    assert!(r.findings[0].message.starts_with("no stream named replica-b"), "{}", r.findings[0].message);
    assert_eq!(r.streams[0].stream_name.as_deref(), Some("replica-a"));
}

#[test]
fn the_successor_deleted_after_a_clean_restart_is_found_when_expected() {
    let k = keys("ops");
    let state = tempfile::tempdir().unwrap();
    let store = tempfile::tempdir().unwrap();
    let mut t = T0;
    let first = replica(&k, "host", state.path(), store.path(), &mut t, 3, true);
    let cp_lines_after_first = std::fs::read_to_string(store.path().join("host.checkpoints.jsonl")).unwrap();
    // The successor runs on; then its records and its checkpoint lines go.
    replica(&k, "host", state.path(), store.path(), &mut t, 3, false);
    let out = tempfile::tempdir().unwrap();
    write_lines(out.path(), "a.jsonl", &first);
    std::fs::write(out.path().join("checkpoints.jsonl"), cp_lines_after_first).unwrap();
    let r = verify(&[out.path().to_path_buf()], &options(&[&k], t));
    assert_eq!(r.verdict, Verdict::Pass, "{:?}", error_kinds(&r));
    let r = verify(&[out.path().to_path_buf()], &expecting(&k, t, &["host"], &[]));
    assert_eq!(error_kinds(&r), vec![Kind::ExpectedStreamEnded]);
    let f = r.streams[0].findings.iter().find(|f| f.kind == Kind::ExpectedStreamEnded).unwrap();
    assert!(f.message.contains("no successor is among the inputs"), "{}", f.message);
    // Declared retired, an ended stream is what is expected.
    let r = verify(&[out.path().to_path_buf()], &expecting(&k, t, &["host"], &["host"]));
    assert_eq!(r.verdict, Verdict::Pass, "{:?}", error_kinds(&r));
}

#[test]
fn a_week_old_copy_whose_last_stream_ended_cleanly_is_stale_when_expected() {
    let k = keys("ops");
    let state = tempfile::tempdir().unwrap();
    let store = tempfile::tempdir().unwrap();
    let mut t = T0;
    let first = replica(&k, "host", state.path(), store.path(), &mut t, 3, true);
    let second = replica(&k, "host", state.path(), store.path(), &mut t, 3, true);
    let out = tempfile::tempdir().unwrap();
    write_lines(out.path(), "a.jsonl", &first);
    write_lines(out.path(), "b.jsonl", &second);
    let week = t + 7 * 24 * 3600 * SEC;
    assert_eq!(verify(&[out.path().to_path_buf()], &options(&[&k], week)).verdict, Verdict::Pass);
    let r = verify(&[out.path().to_path_buf()], &expecting(&k, week, &["host"], &[]));
    assert_eq!(error_kinds(&r), vec![Kind::ExpectedStreamEnded]);
    // It is the newest stream (the successor) that is judged.
    let newest = r.streams.iter().find(|s| s.findings.iter().any(|f| f.kind == Kind::ExpectedStreamEnded)).unwrap();
    assert_eq!(newest.stream_id, stream_id_of(&second));
    // A copy of a running stream a week old fails the heartbeat instead.
    let running = replica(&k, "host", state.path(), store.path(), &mut t, 3, false);
    write_lines(out.path(), "c.jsonl", &running);
    let r = verify(&[out.path().to_path_buf()], &expecting(&k, t + 7 * 24 * 3600 * SEC, &["host"], &[]));
    assert_eq!(error_kinds(&r), vec![Kind::HeartbeatMissing]);
}

// ---- SPEC §5.1, §8.8: key strings, heartbeat details ----

#[test]
fn key_strings_split_at_their_first_plus_signs_only() {
    use auditchain::core::keys::ChainKey;
    use auditchain::core::note::{NoteSigner, NoteVerifier};
    // 0xfb bytes are "+/v7" in base64: the key data holds '+' signs.
    let ck = ChainKey::from_secret("ops", [0xfb; 32]).unwrap();
    let file = ck.to_file_string();
    assert!(file.trim_end().rsplit_once('+').unwrap().1.contains('/') && file.matches('+').count() > 3, "{file}");
    assert_eq!(ChainKey::parse(&file).unwrap().secret(), &[0xfb; 32]);
    let seed = (0u8..=255).find(|&b| {
        let v = NoteSigner::from_seed("ops", &[b; 32]).unwrap().verifier().public_key_string();
        v.splitn(3, '+').nth(2).unwrap().contains('+')
    });
    let signer = NoteSigner::from_seed("ops", &[seed.expect("a public key with '+' in its data"); 32]).unwrap();
    let public = signer.verifier().public_key_string();
    assert_eq!(NoteVerifier::parse(&public).unwrap().id, signer.id);
    assert_eq!(NoteSigner::parse(&signer.private_key_string()).unwrap().id, signer.id);
    // Names: no '+', no white space (of any kind).
    for bad in ["a+b", "a b", "a\u{a0}b", ""] {
        assert!(ChainKey::from_secret(bad, [1; 32]).is_err(), "{bad:?}");
        assert!(NoteSigner::from_seed(bad, &[1; 32]).is_err(), "{bad:?}");
    }
    assert!(ChainKey::from_secret("ops-2026.a_é", [1; 32]).is_ok());
}

/// Verifies at `as_of` with a max delay of 10 s.
fn verify_at(dir: &Path, k: &Keys, as_of: u64) -> Report {
    verify(&[dir.to_path_buf()], &options(&[k], as_of))
}

#[test]
fn the_newest_checkpoint_may_be_exactly_interval_plus_max_delay_old() {
    let k = keys("ops");
    let state = tempfile::tempdir().unwrap();
    let mut t = T0;
    let e = Engine::new(config(&k, state.path(), None), t).unwrap();
    let l = lines(&run(&e, &mut t, 4, false));
    let out = tempfile::tempdir().unwrap();
    write_lines(out.path(), "audit.jsonl", &l);
    let newest = verify_at(out.path(), &k, t).streams[0].newest_checkpoint.clone().unwrap();
    let newest = auditchain::core::time::parse_rfc3339(&newest).unwrap();
    // Interval 60 s (the newest checkpoint's) + max delay 10 s: not more.
    let limit = newest + 70 * SEC;
    assert_eq!(verify_at(out.path(), &k, limit).verdict, Verdict::Pass);
    assert_eq!(error_kinds(&verify_at(out.path(), &k, limit + 1)), vec![Kind::HeartbeatMissing]);
}

#[test]
fn a_pause_between_checkpoints_is_excused_only_by_a_restart_in_between() {
    let k = keys("ops");
    let out = tempfile::tempdir().unwrap();
    // An engine that nobody calls for five minutes: no heartbeat in between.
    // (Its monotonic clock moves with the wall clock: a wall clock that
    // jumped alone would be a clock step, announced and taken out of the
    // gap, SPEC §5.6.)
    let state = tempfile::tempdir().unwrap();
    let mut t = T0;
    let mono = auditchain::engine::clock::ManualMonotonic::default();
    let e = Engine::with_clock(config(&k, state.path(), None), t, Box::new(mono.clone())).unwrap();
    let mut reqs = run(&e, &mut t, 2, false);
    t += 300 * SEC;
    mono.advance(300 * SEC);
    reqs.extend(run(&e, &mut t, 2, true));
    write_lines(out.path(), "audit.jsonl", &lines(&reqs));
    let r = verify_at(out.path(), &k, t);
    assert_eq!(error_kinds(&r), vec![Kind::HeartbeatMissing]);
    let f = r.streams[0].findings.iter().find(|f| f.kind == Kind::HeartbeatMissing).unwrap();
    assert!(f.first.is_some() && f.last.is_some(), "between two checkpoints: {f:?}");
    // The same pause across a crash and restart: the resume record, made
    // between the two checkpoints, explains it.
    let state = tempfile::tempdir().unwrap();
    let mut t = T0;
    let e = Engine::new(config(&k, state.path(), None), t).unwrap();
    let mut reqs = run(&e, &mut t, 2, false);
    drop(e);
    t += 300 * SEC;
    let e = Engine::new(config(&k, state.path(), None), t).unwrap();
    reqs.extend(run(&e, &mut t, 2, true));
    write_lines(out.path(), "audit.jsonl", &lines(&reqs));
    let r = verify_at(out.path(), &k, t);
    assert_eq!(r.verdict, Verdict::Pass, "{:?}", error_kinds(&r));
    assert!(r.streams[0].findings.iter().any(|f| f.kind == Kind::Restart));
}

#[test]
fn every_thread_count_judges_a_long_keyed_stream_as_one_thread_does() {
    // Longer than three batches of the pass (8192 records each), its key
    // evolving every 7 records: with several threads each batch's links
    // are hashed while the batch before it is judged, under the epoch
    // keys derived so far. An edited record, a deleted one and a record
    // whose epoch was relabelled, in later batches, are found alike.
    let k = keys("long");
    let state = tempfile::tempdir().unwrap();
    let mut t = T0;
    let mut c = config(&k, state.path(), None);
    c.key_epoch = KeyEpochConfig { records: 7, interval: 3600 * SEC };
    c.checkpoint = CheckpointConfig { interval: 3600 * SEC, records: 5000, file: None };
    let e = Engine::new(c, t).unwrap();
    let mut reqs = Vec::new();
    for b in 0..260u64 {
        t += SEC / 10;
        reqs.push(deliver(&e, request((0..100).map(|i| audit_record(b * 100 + i))), t));
    }
    t += SEC;
    reqs.push(close_delivered(&e, t));
    let mut l = without(&lines(&reqs), |n| n == 17_001);
    edit_body(&mut l, 12_345);
    *attr_mut(record_mut(&mut l, 23_456), "audit.integrity.key_epoch") = json!({"intValue": "1"});
    let out = tempfile::tempdir().unwrap();
    write_lines(out.path(), "audit.jsonl", &l);
    let run = |threads: usize| {
        let mut o = options(&[&k], t + SEC);
        o.limits.threads = threads;
        verify(&[out.path().to_path_buf()], &o)
    };
    let report = |threads: usize| {
        let mut v = serde_json::to_value(run(threads)).unwrap();
        v.as_object_mut().unwrap().remove("as_of");
        v
    };
    let r = run(1);
    let one = report(1);
    assert!(r.streams[0].records > 3 * 8192, "{} records", r.streams[0].records);
    assert_eq!(r.streams[0].missing, vec![[17_001, 17_001]]);
    let errors = kinds(&r, Severity::Error);
    assert!(errors.iter().any(|e| e.0 == Kind::ContentMismatch && e.1 == Some(12_345)), "{errors:?}");
    assert!(errors.iter().any(|e| e.1 == Some(23_456)), "{errors:?}");
    for threads in [2, 3] {
        assert_eq!(report(threads), one, "{threads} threads");
    }
}

#[test]
fn streams_passed_side_by_side_share_the_work_bound_as_one_after_another_do() {
    // Two streams, each with a record whose key epoch (3000, numbered so
    // that the epoch rule allows it) takes 3000 derivations. Within a bound
    // of 2·R + 4000 either fits alone and not both: passed one after
    // another the second is refused, and passed side by side on several
    // threads (a key cache each) it must be refused all the same. With a
    // larger bound neither is.
    let k = keys("ops");
    let out = tempfile::tempdir().unwrap();
    let mut t = T0;
    let mut ids = Vec::new();
    let states: Vec<_> = (0..2).map(|_| tempfile::tempdir().unwrap()).collect();
    for (i, state) in states.iter().enumerate() {
        let e = Engine::new(config(&k, state.path(), None), t).unwrap();
        let mut l = lines(&run(&e, &mut t, 10, true));
        let r = record_mut(&mut l, 4);
        *attr_mut(r, "audit.integrity.key_epoch") = json!({"intValue": "3000"});
        *attr_mut(r, "audit.sequence.number") = json!({"intValue": "6000"});
        ids.push(stream_id_of(&l));
        write_lines(out.path(), &format!("s{i}.jsonl"), &l);
    }
    ids.sort();
    let report = |slack: u64, threads: usize| {
        let mut o = options(&[&k], t + SEC);
        o.key_derivation_slack = slack;
        o.limits.threads = threads;
        let r = verify(&[out.path().to_path_buf()], &o);
        let beyond: Vec<String> = r
            .streams
            .iter()
            .filter(|s| s.findings.iter().any(|f| f.message.contains("beyond what the stream justifies")))
            .map(|s| s.stream_id.clone())
            .collect();
        let mut v = serde_json::to_value(r).unwrap();
        v.as_object_mut().unwrap().remove("as_of");
        (v, beyond)
    };
    let (one, beyond) = report(4000, 1);
    assert_eq!(beyond, vec![ids[1].clone()], "only the second stream is refused");
    for threads in [2, 3] {
        assert_eq!(report(4000, threads).0, one, "{threads} threads");
    }
    let (one, beyond) = report(10_000, 1);
    assert!(beyond.is_empty(), "{beyond:?}");
    for threads in [2, 3] {
        assert_eq!(report(10_000, threads).0, one, "{threads} threads");
    }
}
